"""Bounded memory of stage one: peak RSS on a 1x and a 10x synthetic Zipf corpus.

Stage one keeps the encoded corpus on disk (int32, memory-mapped) and reads text in blocks, so its peak
memory should not grow with corpus length beyond that token array. This benchmark writes two synthetic
corpora with the same Zipf vocabulary (the second ten times longer), trains one epoch on each in a child
process, and reports each child's peak resident set size (ru_maxrss).

    .venv/bin/python benchmarks/bench_memory.py [--tokens 1000000] [--json PATH]

Appends a dated row to benchmarks/RESULTS.md (results.py: date, machine, versions, load first); `--no-results`
leaves it alone.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import results

HERE = Path(__file__).resolve().parent
SECTION = "## Stage one memory (bench_memory.py)"
SECTION_TEXT = SECTION + """

Peak RSS of `train-embeddings` (1 epoch) on a synthetic Zipf corpus (50k-word vocabulary) and on one ten times longer.

""" + results.header("1x peak MB", "10x peak MB", "growth", "command")
MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


def write_zipf_corpus(path: Path, n_tokens: int, vocab: int = 50_000, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab + 1)
    p = 1.0 / ranks
    p /= p.sum()
    words = np.array([f"w{i}" for i in range(vocab)])
    with open(path, "w") as f:
        done = 0
        while done < n_tokens:
            n = min(1_000_000, n_tokens - done)
            ids = rng.choice(vocab, size=n, p=p)
            lengths = rng.integers(5, 36, size=n // 10 + 2)
            cuts = np.cumsum(lengths)
            cuts = cuts[cuts < n]
            for sent in np.split(words[ids], cuts):
                f.write(" ".join(sent) + "\n")
            done += n


def peak_rss_mb(corpus: Path, out: Path) -> float:
    cmd = [sys.executable, "-c", MEASURE, sys.executable, "-m", "pipeline", "--quiet", "train-embeddings",
           "--set", f"corpus.paths=[{corpus}]", "--set", f"output.dir={out}",
           "--set", f"corpus.cache_dir={out / 'cache'}", "--set", "train.epochs=1",
           "--set", "output.evaluate=false"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return int(res.stdout.strip().splitlines()[-1]) / 1024   # KiB on Linux


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=1_000_000, help="tokens of the 1x corpus")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--no-results", action="store_true")
    args = ap.parse_args(argv)
    load = results.Load()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for scale in (1, 10):
            corpus = tmp / f"zipf{scale}x.txt"
            write_zipf_corpus(corpus, args.tokens * scale)
            rows[scale] = peak_rss_mb(corpus, tmp / f"run{scale}")
            corpus.unlink()
    growth = rows[10] / rows[1] - 1
    token_array_mb = args.tokens * 10 * 4 / 2**20
    print(f"{'corpus':<10}{'tokens':>14}{'peak RSS MB':>14}")
    for scale in (1, 10):
        print(f"{scale}x{'':<8}{args.tokens * scale:>14,}{rows[scale]:>14.1f}")
    print(f"growth 1x -> 10x: {growth:+.1%} (the 10x token array itself is {token_array_mb:.0f} MB on disk)")
    result = {"peak_rss_mb_1x": rows[1], "peak_rss_mb_10x": rows[10], "growth": growth,
              "tokens_1x": args.tokens}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if not args.no_results:
        command = f"`.venv/bin/python benchmarks/bench_memory.py --tokens {args.tokens}`"
        row = results.prefix(load) + [f"{rows[1]:.0f}", f"{rows[10]:.0f}", f"{growth:+.1%}", command]
        print(f"appended a row to {results.append(SECTION, SECTION_TEXT, [results.row(row)])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
