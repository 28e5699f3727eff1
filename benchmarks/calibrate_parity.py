"""Calibrate the quality tolerance of tests/test_parity.py::test_quality_no_worse_than_gensim.

Trains ours and gensim with the test's settings (tests/test_parity.py QUALITY: gensim's Wikipedia sample plus
the Lee corpus, dim 50, 5 epochs, 1 worker) for several seeds and prints each side's WordSim-353 Spearman and
analogy accuracy, their means and standard deviations, and those of the per-seed difference ours - gensim.
The test's tolerance is about 3 standard deviations of that difference.

    .venv/bin/python benchmarks/calibrate_parity.py 1 2 3 4 5      # seeds; takes a few minutes
"""
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_parity import quality_pair  # noqa: E402

KEYS = ("wordsim353", "simlex999", "analogy")


def main(seeds):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            ours, theirs = quality_pair(Path(tmp), seed)
            rows.append({"seed": seed, **{f"ours_{k}": ours[k] for k in KEYS},
                         **{f"gensim_{k}": theirs[k] for k in KEYS}})
            print(json.dumps(rows[-1]), flush=True)
    for k in KEYS:
        o = [r[f"ours_{k}"] for r in rows]
        g = [r[f"gensim_{k}"] for r in rows]
        d = [a - b for a, b in zip(o, g)]
        sd = statistics.stdev if len(rows) > 1 else (lambda v: 0.0)
        print(f"{k}: ours {statistics.mean(o):.4f} +- {sd(o):.4f}; gensim {statistics.mean(g):.4f} +- "
              f"{sd(g):.4f}; ours - gensim {statistics.mean(d):+.4f} +- {sd(d):.4f}")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [1, 2, 3, 4, 5])
