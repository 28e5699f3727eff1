"""Stage one driver: corpus → vocabulary → SGNS epochs on every core → vectors.bin and metrics.

Skip-gram with negative sampling (Mikolov et al. 2013), the model gensim's `Word2Vec(sg=1, negative=k)`
trains. The driver owns everything around the jitted kernels: the config, reading and caching the corpus
(`corpus.py`), the sampling tables (`sampling.py`), the learning-rate schedule (linear from `alpha` to
`min_alpha` by words processed over all epochs), progress, checkpoints, Ctrl-C and the outputs.

    pipeline train-embeddings --config configs/embeddings.yaml [--set train.epochs=1] [--resume]

The corpus is trained in chunks of about `train.chunk_words` words. With T workers it is first cut into T
contiguous parts and thread t walks part t through each epoch, one piece of it per chunk (`chunk_plan`), as
word2vec.c's threads and gensim's corpus_file workers each read their own share of the file; with one worker
the chunks simply follow one another. Between chunks the driver updates the
progress bar, honours Ctrl-C / SIGTERM (checkpoint, then exit) and checks the loss for NaN. A checkpoint
(`checkpoint.npz`: both weight matrices, the per-thread RNG states and the schedule position) is also
written at every epoch end, so a killed run loses at most one epoch; `--resume` continues from it and, with
one worker, ends with exactly the bytes an uninterrupted run writes.
"""
from __future__ import annotations

import time
from pathlib import Path

import numba
import numpy as np

from .. import progress
from ..config import save_config, to_dict, resolve_workers
from ..errors import (Interrupted, StopFlag, UserError, atomic_savez, atomic_write_json,
                      remove_stale_temps)
from ..text import Tokenizer
from ..vectors import WordVectors, save_vectors
from .corpus import encode_corpus
from .kernels import init_vectors, seed_rng_states, sgns_train_parallel
from .sampling import alias_table, keep_probabilities, keep_thresholds, noise_probabilities

CHECKPOINT = "checkpoint.npz"


def chunk_plan(offsets: np.ndarray, chunk_words: int, parts: int) -> np.ndarray:
    """Which sentences each kernel call gives each thread: plan[k, t] = (lo, hi), int64 (chunks, parts, 2).

    The corpus is cut into `parts` contiguous parts of about equal tokens, and thread t walks part t
    through the epoch in pieces of about chunk_words / parts tokens (whole sentences; a shorter part
    ends with empty pieces), as word2vec.c's and gensim's corpus_file threads each read their own share
    of the file. So with T threads the model sees T distant places of the corpus at once; with one the
    chunks are consecutive. On a corpus whose sources follow one another that order changes the vectors:
    it was stage one's last quality gap to gensim with 2 workers (benchmarks/RESULTS.md, "Stage one vs
    gensim: the quality gap").
    """
    n, S = int(offsets[-1]), len(offsets) - 1
    part_cuts = np.searchsorted(offsets, n * np.arange(parts + 1, dtype=np.int64) // parts)
    part_cuts[0], part_cuts[-1] = 0, S
    step = max(chunk_words // parts, 1)
    n_chunks = max(1, -(-int(np.diff(offsets[part_cuts]).max()) // step))
    plan = np.empty((n_chunks, parts, 2), np.int64)
    for t in range(parts):
        lo, hi = part_cuts[t], part_cuts[t + 1]
        cuts = np.searchsorted(offsets, offsets[lo] + step * np.arange(1, n_chunks, dtype=np.int64))
        edges = np.concatenate(([lo], np.clip(cuts, lo, hi), [hi]))
        plan[:, t, 0], plan[:, t, 1] = edges[:-1], edges[1:]
    return plan


def read_chunk(corpus, pieces: np.ndarray, buf: np.ndarray):
    """The tokens of one chunk's pieces (T, 2) one after the other in `buf`, as the kernel takes them:
    (tokens (n,) int32, sentence starts (S'+1,) int64, thread_bounds (T+1,) int64)."""
    offsets = corpus.offsets
    starts, thread_bounds, at = [np.zeros(1, np.int64)], [0], 0
    for lo, hi in pieces:
        first, last = int(offsets[lo]), int(offsets[hi])
        corpus.read_tokens(first, last, buf[at:])
        starts.append(offsets[lo + 1:hi + 1] - first + at)
        thread_bounds.append(thread_bounds[-1] + int(hi - lo))
        at += last - first
    return buf[:at], np.concatenate(starts), np.array(thread_bounds, np.int64)


def memory_estimate_mb(V, D, N, S) -> float:
    weights = 2 * V * D * 4            # W_in and W_out, float32
    tables = V * (4 + 8 + 4 + 8)       # keep thresholds, alias table, counts
    corpus = N * 4 + S * 8             # memory-mapped token array and sentence offsets
    return (weights * 2 + tables + corpus) / 2**20   # x2: the checkpoint copy while saving


class _State:
    """Everything needed to continue training exactly where it stopped."""

    def __init__(self, W_in, W_out, rng_states, epoch=0, chunk=0, words_done=0,
                 loss_sum=None, pairs=None, words=None):
        self.W_in, self.W_out, self.rng_states = W_in, W_out, rng_states
        self.epoch, self.chunk, self.words_done = epoch, chunk, words_done
        self.loss_sum = np.zeros(0) if loss_sum is None else loss_sum      # float64 per epoch
        self.pairs = np.zeros(0, np.int64) if pairs is None else pairs
        self.words = np.zeros(0, np.int64) if words is None else words

    def save(self, path, config_key):
        atomic_savez(path, W_in=self.W_in, W_out=self.W_out, rng_states=self.rng_states,
                     position=np.array([self.epoch, self.chunk, self.words_done], np.int64),
                     loss_sum=self.loss_sum, pairs=self.pairs, words=self.words,
                     config_key=np.array(config_key))

    @classmethod
    def load(cls, path, config_key, V, D, workers):
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["config_key"]) != config_key:
                    raise UserError(f"{path} was written by a run with other settings; resume with the same "
                                    f"config or start afresh without --resume")
                epoch, chunk, words_done = (int(x) for x in z["position"])
                st = cls(z["W_in"], z["W_out"], z["rng_states"], epoch, chunk, words_done,
                         z["loss_sum"], z["pairs"], z["words"])
        except (OSError, KeyError, ValueError) as exc:
            raise UserError(f"cannot resume from {path}: {exc}; start afresh without --resume") from None
        if st.W_in.shape != (V, D) or len(st.rng_states) != workers:
            raise UserError(f"{path} does not match this run (vocabulary, vector_size or workers changed); "
                            f"start afresh without --resume")
        return st


def _config_key(cfg, workers) -> str:
    d = to_dict(cfg)
    d.pop("output")
    d["corpus"].pop("cache_dir")
    d["train"]["workers"] = workers
    return repr(d)


def train_embeddings(cfg, resume: bool = False) -> Path:
    """Train stage one as `cfg` says; returns the run directory (see the module docstring)."""
    t_start = time.perf_counter()
    corpus = encode_corpus(cfg.corpus, Tokenizer.from_config(cfg.tokenizer), cfg.vocab)
    try:
        StopFlag.check("reading the corpus")
        return _train(cfg, corpus, resume, t_start, time.perf_counter())
    finally:
        corpus.close()


def _train(cfg, corpus, resume, t_start, t_encoded) -> Path:
    out = Path(cfg.output.dir)
    if corpus.replaced_lines:
        progress.say(f"note: {corpus.replaced_lines} lines held bytes that are not {cfg.corpus.encoding}; "
                     f"they were replaced by U+FFFD (corpus.errors: replace)")
    vocab, tc = corpus.vocab, cfg.train
    V, D, N, S = len(vocab), tc.vector_size, corpus.n_tokens, len(corpus.offsets) - 1
    workers = resolve_workers(tc.workers)
    numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
    keep_threshold = keep_thresholds(keep_probabilities(vocab.counts, tc.sample))
    noise_prob, noise_index = alias_table(noise_probabilities(vocab.counts, tc.ns_exponent))
    plan = chunk_plan(corpus.offsets, tc.chunk_words, workers)                  # (chunks, workers, 2)
    chunk_words = (corpus.offsets[plan[:, :, 1]] - corpus.offsets[plan[:, :, 0]]).sum(axis=1)
    chunk_buf = np.empty(max(int(chunk_words.max()), 1), np.int32)              # one chunk's tokens
    total_words = N * tc.epochs
    progress.say(f"corpus: {corpus.corpus_words:,} words, {S:,} sentences{' (cached)' if corpus.cached else ''}; "
                 f"vocabulary: {V:,} words (min_count {cfg.vocab.min_count}); training {N:,} words x "
                 f"{tc.epochs} epochs on {workers} threads; memory needed about "
                 f"{memory_estimate_mb(V, D, N, S):,.0f} MB")

    key = _config_key(cfg, workers)
    ckpt = out / CHECKPOINT
    if resume and ckpt.is_file():
        st = _State.load(ckpt, key, V, D, workers)
        progress.say(f"resuming from {ckpt}: epoch {st.epoch + 1}, chunk {st.chunk}")
    else:
        if resume:
            progress.say(f"no checkpoint at {ckpt}; starting afresh")
        st = _State(init_vectors(V, D, tc.seed), np.zeros((V, D), np.float32),
                    seed_rng_states(tc.seed, workers))
    remove_stale_temps(out)
    save_config(cfg, out / "config.yaml")
    vocab.save(out / "vocab.tsv")

    loss_t = np.zeros(workers, np.float64)
    words_t = np.zeros(workers, np.int64)
    pairs_t = np.zeros(workers, np.int64)
    t_train = time.perf_counter()
    words_at_start = st.words_done
    with StopFlag() as stop, progress.bar(total=total_words, unit="w", desc="training") as pbar:
        pbar.update(st.words_done)
        while st.epoch < tc.epochs:
            if len(st.loss_sum) <= st.epoch:
                st.loss_sum = np.append(st.loss_sum, 0.0)
                st.pairs = np.append(st.pairs, 0).astype(np.int64)
                st.words = np.append(st.words, 0).astype(np.int64)
            while st.chunk < len(plan):
                tokens, starts, thread_bounds = read_chunk(corpus, plan[st.chunk], chunk_buf)
                n_words = len(tokens)
                a0 = _alpha(tc, st.epoch, st.words_done - st.epoch * N, N, workers)
                a1 = _alpha(tc, st.epoch, st.words_done + n_words - st.epoch * N, N, workers)
                sgns_train_parallel(st.W_in, st.W_out, loss_t, words_t, pairs_t, tokens, starts,
                                    keep_threshold, noise_prob, noise_index, thread_bounds,
                                    tc.window, tc.shrink_windows, tc.negative, a0, a1, st.rng_states)
                if not np.isfinite(loss_t).all():
                    raise UserError(f"the loss became NaN in epoch {st.epoch + 1}; lower train.alpha "
                                    f"(now {tc.alpha}) and retrain; the last good checkpoint is {ckpt}"
                                    if ckpt.is_file() else
                                    f"the loss became NaN in epoch {st.epoch + 1}; lower train.alpha "
                                    f"(now {tc.alpha}) and retrain")
                st.loss_sum[st.epoch] += loss_t.sum()
                st.pairs[st.epoch] += pairs_t.sum()
                st.words[st.epoch] += words_t.sum()
                st.words_done += n_words
                st.chunk += 1
                pbar.update(n_words)
                if pbar.n:
                    pbar.set_postfix(loss=f"{st.loss_sum[st.epoch] / max(st.pairs[st.epoch], 1):.4f}",
                                     refresh=False)
                if stop.requested:
                    st.save(ckpt, key)
                    raise Interrupted(f"interrupted; checkpoint saved in {ckpt}; continue with the same "
                                      f"command plus --resume")
            st.epoch += 1
            st.chunk = 0
            progress.say(f"epoch {st.epoch}/{tc.epochs}: loss {st.loss_sum[st.epoch - 1] / max(st.pairs[st.epoch - 1], 1):.5f}")
            if st.epoch < tc.epochs:
                st.save(ckpt, key)
    train_seconds = time.perf_counter() - t_train

    wv = WordVectors(vocab.words, st.W_in, vocab.counts)
    save_vectors(out / "vectors.bin", wv, binary=True)
    if cfg.output.write_text:
        save_vectors(out / "vectors.txt", wv, binary=False)
    metrics = {
        "vocab_size": V,
        "corpus_words": corpus.corpus_words,
        "trained_words": N,
        "sentences": S,
        "epochs": tc.epochs,
        "workers": workers,
        "loss": [float(l / max(p, 1)) for l, p in zip(st.loss_sum, st.pairs)],
        "pairs": [int(p) for p in st.pairs],
        "words_per_second": (st.words_done - words_at_start) / max(train_seconds, 1e-9),
        "train_seconds": train_seconds,
        "encode_seconds": t_encoded - t_start,
        "corpus_cached": corpus.cached,
        "replaced_lines": corpus.replaced_lines,
    }
    if cfg.output.evaluate:
        from .evaluate import evaluate_all
        scores = evaluate_all(wv.words, wv.vectors)
        metrics.update({k: scores[k] for k in ("wordsim353", "simlex999", "analogy")})
        metrics["evaluation"] = scores.get("details", {})
        progress.say(f"WordSim-353 {scores['wordsim353']:.3f}  SimLex-999 {scores['simlex999']:.3f}  "
                     f"analogy {scores['analogy']:.3f}")
    metrics["seconds"] = time.perf_counter() - t_start
    atomic_write_json(out / "metrics.json", metrics)
    if ckpt.is_file():
        ckpt.unlink()
    return out


def _alpha(tc, epoch: int, epoch_words: int, words_per_epoch: int, workers: int) -> float:
    """The learning rate after `epoch_words` words of epoch `epoch` (0-based), as `tc.alpha_schedule` says.

    linear: alpha -> min_alpha over all epochs' words (word2vec.c). gensim: gensim 4's corpus_file
    mode, where each of the `workers` threads measures its progress as its own words over the whole
    epoch's, so an epoch advances the line by only 1/workers of an epoch (word2vec_corpusfile.pyx,
    get_next_alpha); with one worker the two are the same.
    """
    fraction = epoch_words / words_per_epoch
    if tc.alpha_schedule == "gensim":
        fraction /= workers
    progress = (epoch + fraction) / tc.epochs
    return max(tc.min_alpha, tc.alpha - (tc.alpha - tc.min_alpha) * progress)
