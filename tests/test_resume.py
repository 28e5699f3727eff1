"""Interrupt and resume: SIGINT / SIGTERM at random points, then --resume, gives the same bytes."""
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


def interrupt_and_resume(make_cmd, out, marker, output, seconds, rng):
    """Run `make_cmd(*extra)` and signal it at random moments until it finishes, resuming each time;
    then make sure the run is complete. `marker` is a file the run writes just before training."""
    # The first signal lands well inside the run, so it must stop cleanly with a checkpoint (130).
    # Later ones (after --resume, with less work left) land anywhere: during training (130), or
    # after the run finished its work, while the interpreter exits (then the default action may
    # kill it: -SIGINT / -SIGTERM); the bytes at the end are what matters.
    for attempt in range(4):
        started = time.perf_counter()
        proc = subprocess.Popen(make_cmd(*(["--resume"] if attempt else [])), stderr=subprocess.PIPE, text=True)
        if attempt == 0:
            while not (out / marker).exists() and proc.poll() is None:
                time.sleep(0.02)
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
    if not (out / output).exists() or (out / "checkpoint.npz").exists():
        subprocess.run(make_cmd("--resume"), check=True, timeout=300)
    assert not (out / "checkpoint.npz").exists()
    return (out / output).read_bytes()


TRIALS = [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)]


@pytest.mark.parametrize("trial", TRIALS)
def test_interrupted_then_resumed_run_is_byte_identical(reference, trial):
    base, expected, seconds = reference
    out = base / f"run{trial}"
    got = interrupt_and_resume(lambda *extra: command(out, base / "cache", *extra), out, "vocab.tsv",
                               "vectors.bin", seconds, random.Random(trial))   # vocab.tsv: just before training
    assert got == expected


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


# ---------------------------------------------------------------------------------------------------
# Stage two: the same with train-rnn (batch boundaries)
# ---------------------------------------------------------------------------------------------------
def rnn_command(base, out, *extra):
    cmd = [sys.executable, "-m", "pipeline", "--quiet", "train-rnn"]
    sets = [f"vectors.path={base / 'v.bin'}", "data.name=null", f"data.train=[{base / 'train.tsv'}]",
            "data.format=tsv", "train.epochs=6", "train.workers=1", "model.hidden_size=48",
            "model.dropout=0.3", f"output.dir={out}", *extra]
    for s in sets:
        cmd += [s] if s.startswith("--") else ["--set", s]
    return cmd


@pytest.fixture(scope="module")
def rnn_reference(tmp_path_factory):
    import numpy as np

    from pipeline.vectors import WordVectors, save_vectors
    base = tmp_path_factory.mktemp("rnn-resume")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    save_vectors(base / "v.bin", WordVectors(words, rng.standard_normal((300, 32)).astype(np.float32)))
    lines = []
    for i in range(1500):
        label = i % 3
        toks = rng.choice(300, size=rng.integers(5, 40))
        toks[0] = label                                  # the first word decides the class
        lines.append(f"c{label}\t" + " ".join(words[t] for t in toks) + "\n")
    (base / "train.tsv").write_text("".join(lines))
    subprocess.run(rnn_command(base, base / "warm-up", "train.epochs=1"), check=True, timeout=300)
    start = time.perf_counter()
    subprocess.run(rnn_command(base, base / "reference"), check=True, timeout=300)
    return base, (base / "reference" / "model.npz").read_bytes(), time.perf_counter() - start


@pytest.mark.parametrize("trial", TRIALS)
def test_rnn_interrupted_then_resumed_is_byte_identical(rnn_reference, trial):
    base, expected, seconds = rnn_reference
    out = base / f"run{trial}"
    got = interrupt_and_resume(lambda *extra: rnn_command(base, out, *extra), out, "config.yaml",
                               "model.npz", seconds, random.Random(100 + trial))  # config.yaml: before training
    assert got == expected
