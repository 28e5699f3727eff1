"""Stage one driver: corpus → vocabulary → SGNS epochs on every core → vectors.bin and metrics.

Skip-gram with negative sampling (Mikolov et al. 2013), the model gensim's `Word2Vec(sg=1, negative=k)`
trains. The driver owns everything around the jitted kernels: the config, reading and caching the corpus
(`corpus.py`), the sampling tables (`sampling.py`), the learning-rate schedule (linear from `alpha` to
`min_alpha` by words processed over all epochs), progress, checkpoints, Ctrl-C and the outputs.

    pipeline train-embeddings --config configs/embeddings.yaml [--set train.epochs=1] [--resume]

The corpus is trained in chunks of about `train.chunk_words` words; between chunks the driver updates the
progress bar, honours Ctrl-C / SIGTERM (checkpoint, then exit) and checks the loss for NaN. A checkpoint
(`checkpoint.npz`, pipeline/checkpoint.py: both weight matrices, the per-thread RNG states and the schedule
position) is also written at every epoch end, so a killed run loses at most one epoch; `--resume` continues
from it and, with one worker, ends with exactly the bytes an uninterrupted run writes.

`train_embeddings` reads as setup -> resume -> epoch loop -> finish and returns an EmbeddingsRun (run
directory, vectors, metrics); it prints progress only (silenced by --quiet), the CLI prints the summary.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from .. import progress
from ..atomicio import atomic_write_json, remove_stale_temps
from ..checkpoint import Checkpoint, config_key
from ..config import resolve_workers, save_config
from ..errors import UserError
from ..signals import StopFlag
from ..text import Tokenizer
from ..vectors import WordVectors, save_vectors
from .corpus import encode_corpus
from .kernels import init_vectors, seed_rng_states, sgns_train_parallel
from .sampling import alias_table, keep_probabilities, keep_thresholds, noise_probabilities


def chunk_bounds(offsets: np.ndarray, chunk_words: int) -> np.ndarray:
    """Sentence ids cutting the corpus into chunks of about `chunk_words` tokens (whole sentences)."""
    n = int(offsets[-1])
    targets = np.arange(chunk_words, n, chunk_words, dtype=np.int64)
    cuts = np.searchsorted(offsets, targets)
    return np.unique(np.concatenate(([0], cuts, [len(offsets) - 1]))).astype(np.int64)


def memory_estimate_mb(V, D, N, S) -> float:
    weights = 2 * V * D * 4            # W_in and W_out, float32
    tables = V * (4 + 8 + 4 + 8)       # keep thresholds, alias table, counts
    corpus = N * 4 + S * 8             # memory-mapped token array and sentence offsets
    return (weights * 2 + tables + corpus) / 2**20   # x2: the checkpoint copy while saving


@dataclass
class _Run:
    """What every chunk of one run reads and never changes (the state that changes is _State)."""
    cfg: object
    corpus: object                  # EncodedCorpus
    workers: int
    keep_threshold: np.ndarray      # uint32[V], sub-sampling (sampling.keep_thresholds)
    noise_prob: np.ndarray          # float64[V] and int32[V]: the noise distribution's alias table
    noise_index: np.ndarray
    bounds: np.ndarray              # sentence ids cutting the corpus into chunks
    chunk_buf: np.ndarray           # int32 scratch for one chunk's tokens
    ckpt: Checkpoint
    # per-thread loss, raw words and pairs of the last chunk (float64, int64, int64), written by the kernel
    loss_t: np.ndarray = field(init=False)
    words_t: np.ndarray = field(init=False)
    pairs_t: np.ndarray = field(init=False)

    def __post_init__(self):
        self.loss_t = np.zeros(self.workers, np.float64)
        self.words_t = np.zeros(self.workers, np.int64)
        self.pairs_t = np.zeros(self.workers, np.int64)

    @property
    def steps(self) -> int:
        """Chunks per epoch."""
        return len(self.bounds) - 1


@dataclass
class _State:
    """Everything needed to continue training exactly where it stopped: what a checkpoint holds."""
    W_in: np.ndarray                # (V, D) float32, word2vec.c's syn0: the vectors written at the end
    W_out: np.ndarray               # (V, D) float32, syn1neg
    rng_states: np.ndarray          # uint64[workers], one splitmix64 state per thread
    epoch: int = 0
    chunk: int = 0                  # chunks of this epoch done
    words_done: int = 0             # raw words trained over all epochs: the learning-rate schedule's position
    loss_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))          # float64 per epoch
    pairs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # trained pairs per epoch
    words: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # raw words per epoch

    ARRAYS = ("W_in", "W_out", "rng_states", "loss_sum", "pairs", "words")
    META = ("epoch", "chunk", "words_done")

    def save(self, ckpt: Checkpoint) -> None:
        ckpt.save({k: getattr(self, k) for k in self.ARRAYS}, {k: getattr(self, k) for k in self.META})

    def start_epoch(self) -> None:
        """Open this epoch's slot in the per-epoch sums (a resumed epoch has one already)."""
        if len(self.loss_sum) <= self.epoch:
            self.loss_sum = np.append(self.loss_sum, 0.0)
            self.pairs = np.append(self.pairs, 0).astype(np.int64)
            self.words = np.append(self.words, 0).astype(np.int64)

    def epoch_loss(self, epoch: int) -> float:
        """Mean negative log-likelihood per trained pair of `epoch` (so far)."""
        return float(self.loss_sum[epoch] / max(self.pairs[epoch], 1))


@dataclass
class EmbeddingsRun:
    """What train_embeddings returns: the run directory, the vectors written there and its metrics."""
    out: Path
    vectors: WordVectors
    metrics: dict


def train_embeddings(cfg, resume: bool = False) -> EmbeddingsRun:
    """Train stage one as `cfg` says: setup, resume, epochs, outputs (see the module docstring)."""
    if cfg.cluster.address is not None:          # on a Dask cluster: distributed.py (Dask is imported there only)
        from .distributed import train_on_cluster
        return train_on_cluster(cfg, resume)
    t_start = time.perf_counter()
    corpus = encode_corpus(cfg.corpus, Tokenizer.from_config(cfg.tokenizer), cfg.vocab)
    try:
        StopFlag.check("reading the corpus")
        t_encoded = time.perf_counter()
        run = _setup(cfg, corpus)
        st = _resume(run, resume)
        return _train_and_finish(run, st, _train_chunk, t_start, t_encoded)
    finally:
        corpus.close()


def _train_and_finish(run, st: "_State", step, t_start: float, t_encoded: float) -> "EmbeddingsRun":
    """Write the run files, train epochs of `step`s from the state's position, write the outputs (shared with
    the cluster driver, distributed.py, whose step is a round)."""
    _write_run_files(run)
    t_train, words_before = time.perf_counter(), st.words_done
    with StopFlag() as stop:
        _epochs(run, st, stop, step)
    train_seconds = time.perf_counter() - t_train
    speed = (st.words_done - words_before) / max(train_seconds, 1e-9)
    return _finish(run, st, {"words_per_second": speed, "train_seconds": train_seconds,
                             "encode_seconds": t_encoded - t_start}, t_start)


def _setup(cfg, corpus) -> _Run:
    """Threads, sampling tables and chunks of this corpus; says what will be trained."""
    if corpus.replaced_lines:
        progress.say(f"note: {corpus.replaced_lines} lines held bytes that are not {cfg.corpus.encoding}; "
                     f"they were replaced by U+FFFD (corpus.errors: replace)")
    vocab, tc = corpus.vocab, cfg.train
    V, D, N, S = len(vocab), tc.vector_size, corpus.n_tokens, len(corpus.offsets) - 1
    workers = resolve_workers(tc.workers)
    numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
    noise_prob, noise_index = alias_table(noise_probabilities(vocab.counts, tc.ns_exponent))
    bounds = chunk_bounds(corpus.offsets, tc.chunk_words)
    progress.say(f"corpus: {corpus.corpus_words:,} words, {S:,} sentences{' (cached)' if corpus.cached else ''}; "
                 f"vocabulary: {V:,} words (min_count {cfg.vocab.min_count}); training {N:,} words x "
                 f"{tc.epochs} epochs on {workers} threads; memory needed about "
                 f"{memory_estimate_mb(V, D, N, S):,.0f} MB")
    return _Run(cfg, corpus, workers, keep_thresholds(keep_probabilities(vocab.counts, tc.sample)),
                noise_prob, noise_index, bounds,
                np.empty(int(np.diff(corpus.offsets[bounds]).max()), np.int32),
                Checkpoint(cfg.output.dir, config_key(cfg, workers, ignore=("corpus.cache_dir",))))


def _resume(run: _Run, resume: bool) -> _State:
    """The checkpoint's state with --resume (when there is one), else fresh vectors and RNG states."""
    tc, V = run.cfg.train, len(run.corpus.vocab)
    found = run.ckpt.resume(resume, shapes={"W_in": (V, tc.vector_size), "W_out": (V, tc.vector_size),
                                            "rng_states": (run.workers,)})
    if found is None:
        return _State(init_vectors(V, tc.vector_size, tc.seed), np.zeros((V, tc.vector_size), np.float32),
                      seed_rng_states(tc.seed, run.workers))
    arrays, meta = found
    st = _State(**{k: arrays[k] for k in _State.ARRAYS}, **{k: int(meta[k]) for k in _State.META})
    progress.say(f"resuming from {run.ckpt.path}: epoch {st.epoch + 1}, chunk {st.chunk}")
    return st


def _write_run_files(run: _Run) -> None:
    """Clear what a killed run left, write the resolved config and the vocabulary: before training, so a
    run directory always says what it is training."""
    out = Path(run.cfg.output.dir)
    remove_stale_temps(out)
    save_config(run.cfg, out / "config.yaml")
    run.corpus.vocab.save(out / "vocab.tsv")


def _epochs(run: _Run, st: _State, stop, step) -> None:
    """The epoch loop, `step(run, st)` by step (a chunk; on a cluster a round) from the state's position;
    checkpoint at every epoch end but the last, and on a stop request (then Interrupted)."""
    tc = run.cfg.train
    with progress.bar(total=run.corpus.n_tokens * tc.epochs, unit="w", desc="training") as pbar:
        pbar.update(st.words_done)
        while st.epoch < tc.epochs:
            st.start_epoch()
            while st.chunk < run.steps:
                pbar.update(step(run, st))
                pbar.set_postfix(loss=f"{st.epoch_loss(st.epoch):.4f}", refresh=False)
                if stop.safe_point():
                    st.save(run.ckpt)
                    raise run.ckpt.interrupted()
            st.epoch, st.chunk = st.epoch + 1, 0
            progress.say(f"epoch {st.epoch}/{tc.epochs}: loss {st.epoch_loss(st.epoch - 1):.5f}")
            if st.epoch < tc.epochs:
                st.save(run.ckpt)


def _train_chunk(run: _Run, st: _State) -> int:
    """Train the state's next chunk on every thread, add its sums; returns its raw word count."""
    tc, corpus, N = run.cfg.train, run.corpus, run.corpus.n_tokens
    lo, hi = run.bounds[st.chunk], run.bounds[st.chunk + 1]
    first, last = int(corpus.offsets[lo]), int(corpus.offsets[hi])
    n_words = last - first
    a0 = _alpha(tc, st.epoch, st.words_done - st.epoch * N, N, run.workers)
    a1 = _alpha(tc, st.epoch, st.words_done + n_words - st.epoch * N, N, run.workers)
    tokens = corpus.read_tokens(first, last, run.chunk_buf)           # (n_words,) int32
    starts = corpus.offsets[lo:hi + 1] - first                        # (sentences + 1,) int64
    sgns_train_parallel(st.W_in, st.W_out, run.loss_t, run.words_t, run.pairs_t, tokens, starts,
                        run.keep_threshold, run.noise_prob, run.noise_index, 0, hi - lo,
                        tc.window, tc.shrink_windows, tc.negative, a0, a1, st.rng_states)
    if not np.isfinite(run.loss_t).all():
        kept = f"; the last good checkpoint is {run.ckpt.path}" if run.ckpt.exists() else ""
        raise UserError(f"the loss became NaN in epoch {st.epoch + 1}; lower train.alpha (now {tc.alpha}) "
                        f"and retrain{kept}")
    st.loss_sum[st.epoch] += run.loss_t.sum()
    st.pairs[st.epoch] += run.pairs_t.sum()
    st.words[st.epoch] += run.words_t.sum()
    st.words_done += n_words
    st.chunk += 1
    return n_words


def _finish(run: _Run, st: _State, timing: dict, t_start: float) -> EmbeddingsRun:
    """Write the vectors (and their evaluation) and metrics.json, remove the checkpoint."""
    cfg, corpus, out = run.cfg, run.corpus, Path(run.cfg.output.dir)
    wv = WordVectors(corpus.vocab.words, st.W_in, corpus.vocab.counts)
    save_vectors(out / "vectors.bin", wv, binary=True)
    if cfg.output.write_text:
        save_vectors(out / "vectors.txt", wv, binary=False)
    metrics = {
        "vocab_size": len(corpus.vocab),
        "corpus_words": corpus.corpus_words,
        "trained_words": corpus.n_tokens,
        "sentences": len(corpus.offsets) - 1,
        "epochs": cfg.train.epochs,
        "workers": run.workers,
        "loss": [st.epoch_loss(e) for e in range(len(st.loss_sum))],
        "pairs": [int(p) for p in st.pairs],
        "words_per_second": timing["words_per_second"],
        "train_seconds": timing["train_seconds"],
        "encode_seconds": timing["encode_seconds"],
        "corpus_cached": corpus.cached,
        "replaced_lines": corpus.replaced_lines,
    }
    if cfg.output.evaluate:
        from .evaluate import evaluate_all
        scores = evaluate_all(wv.words, wv.vectors)
        metrics.update({k: scores[k] for k in ("wordsim353", "simlex999", "analogy")})
        metrics["evaluation"] = scores.get("details", {})
    metrics["seconds"] = time.perf_counter() - t_start
    atomic_write_json(out / "metrics.json", metrics)
    run.ckpt.remove()
    return EmbeddingsRun(out, wv, metrics)


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
