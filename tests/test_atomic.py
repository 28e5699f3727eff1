"""Atomic outputs: a process killed with SIGKILL while it writes leaves the previous file intact."""
import random
import signal
import subprocess
import sys
import time

import numpy as np

from pipeline.vectors import load_vectors

# Rewrites a 20k x 100 vectors file (8 MB) and a checkpoint over and over, alternating two contents.
WRITER = """
import sys, numpy as np
from pipeline.atomicio import savez_deterministic
from pipeline.vectors import WordVectors, save_vectors
out = sys.argv[1]
words = [f"w{i}" for i in range(20000)]
for i in range(10**6):
    value = np.float32(i % 2)
    save_vectors(out + "/vectors.bin", WordVectors(words, np.full((20000, 100), value, np.float32)))
    savez_deterministic(out + "/checkpoint.npz", {"W": np.full((500, 500), value, np.float32)})
    print(i, flush=True)
"""


def test_sigkill_while_writing_keeps_a_whole_file(tmp_path):
    rng = random.Random(0)
    for trial in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()                     # at least one complete write exists
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        wv = load_vectors(tmp_path / "vectors.bin")
        assert len(wv) == 20000 and wv.dim == 100
        assert np.all(wv.vectors == wv.vectors[0, 0]) and wv.vectors[0, 0] in (0.0, 1.0)
        with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as z:
            W = z["W"]
            assert W.shape == (500, 500) and np.all(W == W[0, 0])
        # temporary files of the killed write may remain (hidden, .tmp); they never replace outputs
        assert {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")} == \
            {"vectors.bin", "checkpoint.npz"}
