"""Atomic outputs: a process killed (SIGKILL) while it writes leaves the previous file whole.

The kill comes from inside the writing process at a chosen moment, not after a random sleep: WRITER first
writes a vectors file and a checkpoint holding zeros, then rewrites both with ones, and sends SIGKILL to
itself when the write it is told to stop reaches the point it is told to stop at: part-way through the
data, once the temporary file is complete (at its fsync), just before the rename, or just after it.
"""
import signal
import subprocess
import sys

import numpy as np
import pytest

from pipeline.vectors import load_vectors

WRITER = """
import os, signal, sys
import numpy as np
import pipeline.vectors
from pipeline.atomicio import savez_deterministic
from pipeline.vectors import WordVectors, save_vectors

out, target, moment = sys.argv[1:4]
words = [f"w{i}" for i in range(5000)]


def write(value):
    save_vectors(out + "/vectors.bin", WordVectors(words, np.full((5000, 100), value, np.float32)))
    savez_deterministic(out + "/checkpoint.npz", {"W": np.full((500, 500), value, np.float32)})


def die():
    os.kill(os.getpid(), signal.SIGKILL)


write(0.0)
armed = [False]


class KillingFile:
    # vectors.py's file: dies once 0.5 MB of the 2 MB are written
    def __init__(self, f):
        self.f, self.written = f, 0
    def write(self, data):
        self.written += self.f.write(data)
        if armed[0] and self.written > 2**19:
            die()
        return len(data)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.f.__exit__(*exc)


real_fsync, real_replace = os.fsync, os.replace


def fsync(fd):
    if armed[0] and moment == "complete":
        die()
    real_fsync(fd)


def replace(src, dst):
    if armed[0] and moment == "before-rename":
        die()
    real_replace(src, dst)
    if armed[0] and moment == "after-rename":
        die()


if moment == "mid-data":
    pipeline.vectors.open = lambda *a, **k: KillingFile(open(*a, **k))
os.fsync, os.replace = fsync, replace
armed[0] = target == "vectors"
save_vectors(out + "/vectors.bin", WordVectors(words, np.full((5000, 100), 1.0, np.float32)))
armed[0] = target == "checkpoint"
savez_deterministic(out + "/checkpoint.npz", {"W": np.full((500, 500), 1.0, np.float32)})
"""


@pytest.mark.parametrize("target, moment, expected", [
    ("vectors", "mid-data", (0.0, 0.0)),
    ("vectors", "complete", (0.0, 0.0)),
    ("vectors", "before-rename", (0.0, 0.0)),
    ("vectors", "after-rename", (1.0, 0.0)),
    ("checkpoint", "before-rename", (1.0, 0.0)),
    ("checkpoint", "after-rename", (1.0, 1.0)),
])
def test_sigkill_while_writing_keeps_a_whole_file(tmp_path, target, moment, expected):
    proc = subprocess.run([sys.executable, "-c", WRITER, str(tmp_path), target, moment], timeout=120)
    assert proc.returncode == -signal.SIGKILL                 # it died where it was told to
    wv = load_vectors(tmp_path / "vectors.bin")
    assert len(wv) == 5000 and wv.dim == 100
    assert np.all(wv.vectors == expected[0])
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as z:
        assert z["W"].shape == (500, 500) and np.all(z["W"] == expected[1])
    # temporary files of the killed write may remain (hidden, .tmp); they never replace outputs
    assert {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")} == {"vectors.bin", "checkpoint.npz"}
