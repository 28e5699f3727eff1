"""Why stage one gains less than gensim from a second thread: the same kernel on 1 thread, on 2 threads sharing
one model (Hogwild, as training runs), and on 2 threads each with a private copy of the model (no row is shared,
so no cache line moves between the cores). If the private copies scale and the shared model does not, the cost
is the shared rows; if neither scales, it is the machine (memory, the VM's cores).

    .venv/bin/python benchmarks/sgns_scaling.py --config configs/bench-en-mixed.yaml \\
        --set 'corpus.paths=[../shared/data/corpora/en-mixed-7.7m.txt.gz]' [--words 3000000] [--repeats 3]

Prints words per second of each mode (median of the repeats, modes alternating) and the scaling against one
thread; checks the load before each run. Reads the corpus through the project's cache (data/cache).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import results  # noqa: E402
from pipeline.config import EmbeddingsConfig, load_config  # noqa: E402
from pipeline.embeddings.corpus import encode_corpus  # noqa: E402
from pipeline.embeddings.kernels import init_vectors, seed_rng_states, sgns_train_chunk, sgns_train_parallel  # noqa: E402
from pipeline.embeddings.sampling import alias_table, keep_probabilities, keep_thresholds, noise_probabilities  # noqa: E402
from pipeline.embeddings.train import chunk_plan, read_chunk  # noqa: E402
from pipeline.text import Tokenizer  # noqa: E402


@njit(parallel=True)
def train_private(W_in, W_out, tokens, starts, keep, noise_prob, noise_index, bounds, window, negative, a0, a1,
                  states):
    """sgns_train_parallel with thread t on its own model copy W_in[t], W_out[t] (T, V, D)."""
    for t in prange(states.shape[0]):
        _, _, _, states[t] = sgns_train_chunk(W_in[t], W_out[t], tokens, starts, keep, noise_prob, noise_index,
                                              bounds[t], bounds[t + 1], window, True, negative, a0, a1, states[t])


def trained_like(V, D):
    """A W_out whose every page is written (np.zeros leaves untouched rows on the kernel's shared zero page, which
    every read hits in cache: a fresh model's noise rows cost nothing to fetch, a trained one's do)."""
    return init_vectors(V, D, 2) * np.float32(D * 0.1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--words", type=int, default=3_000_000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    cfg = load_config(EmbeddingsConfig, args.config, args.set)
    tc = cfg.train
    corpus = encode_corpus(cfg.corpus, Tokenizer.from_config(cfg.tokenizer), cfg.vocab)
    V, D = len(corpus.vocab), tc.vector_size
    keep = keep_thresholds(keep_probabilities(corpus.vocab.counts, tc.sample))
    noise_prob, noise_index = alias_table(noise_probabilities(corpus.vocab.counts, tc.ns_exponent))
    S = int(np.searchsorted(corpus.offsets, min(args.words, corpus.n_tokens)))
    buf = np.empty(int(corpus.offsets[S]) + 1, np.int32)
    sub = type("Sub", (), {"offsets": corpus.offsets[:S + 1], "read_tokens": corpus.read_tokens})()
    load = results.Load()
    speeds = {"1 thread": [], "2 threads, one shared model": [], "2 threads, private models": []}
    for rep in range(args.repeats + 1):                       # the first pass compiles and warms: not kept
        for mode in speeds:
            T = 1 if mode == "1 thread" else 2
            tokens, starts, bounds = read_chunk(sub, chunk_plan(sub.offsets, 10**12, T)[0], buf)
            numba.set_num_threads(T)
            states = seed_rng_states(1, T)
            if rep:
                load.check(f"{mode}, repeat {rep}")
            if mode.endswith("private models"):
                W_in = np.stack([init_vectors(V, D, 1)] * T)
                W_out = np.stack([trained_like(V, D)] * T)
                t0 = time.perf_counter()
                train_private(W_in, W_out, tokens, starts, keep, noise_prob, noise_index, bounds, tc.window,
                              tc.negative, tc.alpha, tc.alpha, states)
            else:
                W_in, W_out = init_vectors(V, D, 1), trained_like(V, D)
                z = np.zeros(T)
                t0 = time.perf_counter()
                sgns_train_parallel(W_in, W_out, z, z.astype(np.int64), z.astype(np.int64), tokens, starts, keep,
                                    noise_prob, noise_index, bounds, tc.window, True, tc.negative, tc.alpha,
                                    tc.alpha, states)
            seconds = time.perf_counter() - t0
            if rep:
                speeds[mode].append(len(tokens) / seconds)
                print(f"  repeat {rep}, {mode}: {len(tokens) / seconds:,.0f} words/s", flush=True)
    base = statistics.median(speeds["1 thread"])
    print(f"sgns_scaling: {len(tokens):,} words of {', '.join(cfg.corpus.paths)}, V = {V:,}, D = {D}; load "
          f"{load.text()} on {results.cores()} cores")
    for mode, v in speeds.items():
        print(f"  {mode:<30} {statistics.median(v):>12,.0f} words/s   x{statistics.median(v) / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
