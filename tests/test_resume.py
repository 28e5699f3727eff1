"""Interrupt and resume through the real CLI: SIGINT / SIGTERM mid-run, then --resume, gives the same bytes.

The signal comes from inside the run: with PIPELINE_TEST_INTERRUPT=N[:TERM] the N-th safe point of the process
(end of a chunk in stage one, of a batch in stage two) sends the signal to the process itself (signals.py),
and it then takes the path of a user's Ctrl-C: checkpoint, one line on stderr, exit 130. No sleeping, so
every run stops where the test says.
"""
import os
import random
import subprocess
import sys

import pytest

from pipeline.signals import TEST_HOOK

# 3 epochs of 17 chunks (about 3,000 words each): 51 safe points
ARGS = ["corpus.paths=[gensim:lee_background.cor]", "vocab.min_count=3", "train.epochs=3",
        "train.vector_size=32", "train.workers=1", "train.chunk_words=3000", "output.evaluate=false"]


def command(out, cache, *extra):
    """The CLI call; `extra` holds further key=value settings and flags such as --resume."""
    cmd = [sys.executable, "-m", "pipeline", "--quiet", "train-embeddings"]
    for s in ARGS + [f"output.dir={out}", f"corpus.cache_dir={cache}", *extra]:
        cmd += [s] if s.startswith("--") else ["--set", s]
    return cmd


def run(cmd, interrupt_at=None):
    env = dict(os.environ)
    env.pop(TEST_HOOK, None)
    if interrupt_at is not None:
        env[TEST_HOOK] = interrupt_at
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def interrupt_and_resume(make_cmd, out, output, stops):
    """Run `make_cmd(*extra)` stopped by its own signal at each of `stops` ("N" or "N:TERM": the N-th safe
    point of that process), resuming after each; then resume to the end. Returns the output's bytes."""
    for k, at in enumerate(stops):
        res = run(make_cmd(*(["--resume"] if k else [])), at)
        assert res.returncode == 130, res.stderr
        assert "Traceback" not in res.stderr and "--resume" in res.stderr.strip().splitlines()[-1]
        assert (out / "checkpoint.npz").is_file() and not (out / output).exists()
    res = run(make_cmd("--resume"))
    assert res.returncode == 0, res.stderr
    assert not (out / "checkpoint.npz").exists()
    return (out / output).read_bytes()


def random_stops(seed, total, n=3):
    """n stops at random distinct safe points of the whole run (1..total - 1), as counted by each resumed
    process from its own start; signal SIGINT or SIGTERM."""
    rng = random.Random(seed)
    points = sorted(rng.sample(range(1, total), n))
    return [f"{b - a}{rng.choice(['', ':TERM'])}" for a, b in zip([0] + points, points)]


# Stage one: 3 epochs of 17 chunks; stage two: 3 epochs of 38 batches (32 of the 1,215 training sentences).
# The fast trial stops stage one at chunk 7 (SIGINT), then 20 chunks into the resumed run (SIGTERM); stage two
# at the last batch of epoch 1, then 45 batches into the resumed run.
CHUNKS, BATCHES = 3 * 17, 3 * 38
TRIALS = [("fast", (["7", "20:TERM"], ["38:TERM", "45"])),
          pytest.param("random-1", (random_stops(1, CHUNKS), random_stops(101, BATCHES)), marks=pytest.mark.slow),
          pytest.param("random-2", (random_stops(2, CHUNKS), random_stops(102, BATCHES)), marks=pytest.mark.slow)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    base = tmp_path_factory.mktemp("resume")
    out = base / "reference"
    subprocess.run(command(out, base / "cache"), check=True, timeout=300)
    return base, (out / "vectors.bin").read_bytes()


def same_history(out, reference, timed):
    """history.csv equal to the uninterrupted run's but for its `timed` columns: a resumed run keeps the
    epochs it did before the stop."""
    from pipeline.history import read_history
    strip = lambda rows: [{k: v for k, v in row.items() if k not in timed} for row in rows]  # noqa: E731
    assert strip(read_history(out / "history.csv")) == strip(read_history(reference / "history.csv"))


@pytest.mark.parametrize("name, stops", TRIALS)
def test_interrupted_then_resumed_run_is_byte_identical(reference, name, stops):
    base, expected = reference
    out = base / f"run-{name}"
    got = interrupt_and_resume(lambda *extra: command(out, base / "cache", *extra), out, "vectors.bin", stops[0])
    assert got == expected
    same_history(out, base / "reference", ("words_per_second", "seconds"))


def test_resume_refuses_a_checkpoint_of_other_settings(reference, tmp_path):
    base, _ = reference
    out = tmp_path / "other"
    assert run(command(out, base / "cache"), "1").returncode == 130
    res = run(command(out, base / "cache", "train.window=3", "--resume"))
    assert res.returncode == 2 and "other settings" in res.stderr and len(res.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------------
# Stage two: the same with train-rnn (batch boundaries, dropout RNG, optimiser state)
# ---------------------------------------------------------------------------------------------------
def rnn_command(base, out, *extra):
    cmd = [sys.executable, "-m", "pipeline", "--quiet", "train-rnn"]
    sets = [f"vectors.path={base / 'v.bin'}", "data.name=null", f"data.train=[{base / 'train.tsv'}]",
            "data.format=tsv", "train.epochs=3", "train.workers=1", "model.hidden_size=48",
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
    subprocess.run(rnn_command(base, base / "reference"), check=True, timeout=300)
    return base, (base / "reference" / "model.npz").read_bytes()


@pytest.mark.parametrize("name, stops", TRIALS)
def test_rnn_interrupted_then_resumed_is_byte_identical(rnn_reference, name, stops):
    base, expected = rnn_reference
    out = base / f"run-{name}"
    got = interrupt_and_resume(lambda *extra: rnn_command(base, out, *extra), out, "model.npz", stops[1])
    assert got == expected
    same_history(out, base / "reference", ("seconds",))
