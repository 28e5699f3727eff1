"""Stage one's corpus reader: the white-space fast path (a Numba kernel, pipeline/embeddings/wordids.py) against
str.split() and a dict, on the same file, alternating, without the corpus cache; checks that both give the same
tokens, sentences and vocabulary.

    .venv/bin/python benchmarks/bench_reader.py --config configs/bench-en-mixed.yaml [--set k=v] [--repeats 3]

The config's tokenizer must split on white space (`tokenizer.pattern: null`). Prints the seconds of
`encode_corpus` (reading, decompressing, decoding, tokenising, counting, writing tokens.npy) of each path,
medians of the repeats, after one untimed call of each (Numba's cache, the page cache).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import numpy as np  # noqa: E402
import results  # noqa: E402
from pipeline import progress  # noqa: E402
from pipeline.config import EmbeddingsConfig, load_config  # noqa: E402
from pipeline.embeddings import corpus as corpus_module  # noqa: E402
from pipeline.text import Tokenizer  # noqa: E402


def encode(cfg, fast: bool):
    corpus_module.FAST_SPLIT = fast
    t0 = time.perf_counter()
    enc = corpus_module.encode_corpus(cfg.corpus, Tokenizer.from_config(cfg.tokenizer), cfg.vocab)
    seconds = time.perf_counter() - t0
    out = (np.array(enc.tokens), enc.offsets.copy(), enc.vocab.words, enc.n_tokens)
    enc.close()
    return seconds, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    cfg = load_config(EmbeddingsConfig, args.config, args.set + ["corpus.cache_dir=null"])
    if cfg.tokenizer.pattern is not None:
        print("error: the fast path is for white-space tokenizers; set tokenizer.pattern=null", file=sys.stderr)
        return 2
    progress.QUIET = True
    _, fast_out = encode(cfg, True)                 # untimed: compiles or loads the kernel, fills the page cache
    _, slow_out = encode(cfg, False)
    same = all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in zip(fast_out, slow_out))
    load = results.Load()
    seconds = {True: [], False: []}
    for rep in range(args.repeats):
        for fast in (True, False) if rep % 2 == 0 else (False, True):
            load.check(f"repeat {rep + 1}, {'kernel' if fast else 'str.split'}")
            seconds[fast].append(encode(cfg, fast)[0])
    a, b = statistics.median(seconds[True]), statistics.median(seconds[False])
    print(f"bench_reader: {', '.join(map(str, cfg.corpus.paths))}, {fast_out[3]:,} tokens kept; load {load.text()}")
    print(f"  kernel (wordids.py)   {a:6.2f} s")
    print(f"  str.split() + dict    {b:6.2f} s   ({b / a:.1f}x the kernel's time)")
    print(f"  same tokens, sentences and vocabulary: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
