"""Interrupt and resume: SIGINT / SIGTERM at random points, then --resume, gives the same bytes."""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

ARGS = ["corpus.paths=[gensim:lee_background.cor]", "vocab.min_count=3", "train.epochs=12",
        "train.vector_size=32", "train.workers=1", "train.chunk_words=3000", "output.evaluate=false"]


def command(out, cache, *extra):
    """The CLI call; `extra` holds further key=value settings and flags such as --resume."""
    cmd = [sys.executable, "-m", "pipeline", "--quiet", "train-embeddings"]
    for s in ARGS + [f"output.dir={out}", f"corpus.cache_dir={cache}", *extra]:
        cmd += [s] if s.startswith("--") else ["--set", s]
    return cmd


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    base = tmp_path_factory.mktemp("resume")
    subprocess.run(command(base / "warm-up", base / "cache"), check=True, timeout=300)  # cache, compile
    out = base / "reference"
    start = time.perf_counter()
    subprocess.run(command(out, base / "cache"), check=True, timeout=300)
    return base, (out / "vectors.bin").read_bytes(), time.perf_counter() - start


@pytest.mark.parametrize("trial", range(2))
def test_interrupted_then_resumed_run_is_byte_identical(reference, trial):
    base, expected, seconds = reference
    rng = random.Random(trial)
    out = base / f"run{trial}"
    # The first signal lands well inside the run, so it must stop cleanly with a checkpoint (130).
    # Later ones (after --resume, with less work left) land anywhere: during training (130), or
    # after the run finished its work, while the interpreter exits (then the default action may
    # kill it: -SIGINT / -SIGTERM); the bytes at the end are what matters.
    for attempt in range(4):
        extra = ["--resume"] if attempt else []
        started = time.perf_counter()
        proc = subprocess.Popen(command(out, base / "cache", *extra), stderr=subprocess.PIPE, text=True)
        if attempt == 0:
            while not (out / "vocab.tsv").exists() and proc.poll() is None:
                time.sleep(0.02)                    # vocab.tsv is written just before training
            left = seconds - (time.perf_counter() - started)
            time.sleep(rng.uniform(0.05, max(0.1, 0.5 * left)))
        else:
            time.sleep(rng.uniform(0.5, seconds))
        proc.send_signal(rng.choice([signal.SIGINT, signal.SIGTERM]))
        _, err = proc.communicate(timeout=300)
        assert "Traceback" not in err
        if attempt == 0:
            assert proc.returncode == 130, err
            assert "--resume" in err
        elif proc.returncode != 130:
            assert proc.returncode in (0, -signal.SIGINT, -signal.SIGTERM), err
            break
    if not (out / "vectors.bin").exists() or (out / "checkpoint.npz").exists():
        subprocess.run(command(out, base / "cache", "--resume"), check=True, timeout=300)
    assert (out / "vectors.bin").read_bytes() == expected
    assert not (out / "checkpoint.npz").exists()


def test_resume_refuses_a_checkpoint_of_other_settings(reference, tmp_path):
    base, _, seconds = reference
    out = tmp_path / "other"
    proc = subprocess.Popen(command(out, base / "cache"), stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if (out / "checkpoint.npz").exists():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=300)
    if not (out / "checkpoint.npz").exists():
        pytest.fail("no checkpoint was written before the run ended; lengthen the run")
    res = subprocess.run(command(out, base / "cache", "train.window=3", "--resume"),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "other settings" in res.stderr
