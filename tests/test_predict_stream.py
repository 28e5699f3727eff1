"""`pipeline predict` streams stdin: 10x more lines do not grow its peak memory."""
import random
import subprocess
import sys

import numpy as np

from pipeline.cli import main
from pipeline.vectors import WordVectors, save_vectors

WORDS = "a the film movie good bad boring great dull fun plot acting script".split()


def peak_rss_mb(cmd, stdin_path):
    """Peak RSS of a child run in a fresh measuring process (RUSAGE_CHILDREN is per waiting process)."""
    code = ("import resource, subprocess, sys; "
            "r = subprocess.run(sys.argv[2:], stdin=open(sys.argv[1]), stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    out = subprocess.run([sys.executable, "-c", code, str(stdin_path), *cmd], capture_output=True, text=True,
                         check=True, timeout=600)
    return int(out.stdout.split()[-1]) / 1024


def test_predict_streams_many_lines(tmp_path):
    rng = np.random.default_rng(0)
    save_vectors(tmp_path / "v.bin", WordVectors(WORDS, rng.standard_normal((len(WORDS), 8)).astype(np.float32)))
    train = tmp_path / "train.tsv"
    train.write_text("".join(f"{'pos' if i % 2 else 'neg'}\t{'good great fun' if i % 2 else 'bad dull boring'}\n"
                             for i in range(40)))
    assert main(["--quiet", "train-rnn", "--set", f"vectors.path={tmp_path / 'v.bin'}", "--set", "data.name=null",
                 "--set", f"data.train=[{train}]", "--set", "data.format=tsv", "--set", "train.epochs=1",
                 "--set", "model.hidden_size=8", "--set", f"output.dir={tmp_path / 'rnn'}"]) == 0
    r = random.Random(0)
    peaks = {}
    for n in (2_000, 20_000):
        lines = tmp_path / f"in{n}.txt"
        lines.write_text("".join(" ".join(r.choice(WORDS) for _ in range(r.randint(3, 40))) + "\n"
                                 for _ in range(n)))
        cmd = [sys.executable, "-m", "pipeline", "--quiet", "predict", "--model", str(tmp_path / "rnn" / "model.npz")]
        peaks[n] = peak_rss_mb(cmd, lines)
    assert peaks[20_000] < peaks[2_000] * 1.1, peaks
