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
(`checkpoint.npz`, pipeline/checkpoint.py: both weight matrices, the per-thread RNG states and the schedule
position) is also written at every epoch end, so a killed run loses at most one epoch; `--resume` continues
from it and, with one worker, ends with exactly the bytes an uninterrupted run writes.

Outputs, in output.dir: vectors.bin (and vectors.txt), vocab.tsv, config.yaml, metrics.json, history.csv (one
row per epoch, HISTORY_COLUMNS) and two figures (pipeline/figures.py): loss.png and words_pca.png (the most
frequent words on the first two principal axes of their vectors).

`train_embeddings` reads as setup -> resume -> epoch loop -> finish and returns an EmbeddingsRun (run
directory, vectors, metrics); it prints progress only (silenced by --quiet), the CLI prints the summary.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from .. import figures, kernelcache, progress
from ..atomicio import atomic_write_json, remove_stale_temps
from ..checkpoint import Checkpoint, config_key
from ..config import resolve_workers, save_config
from ..errors import UserError
from ..history import NAME as HISTORY, write_history
from ..signals import StopFlag
from ..text import Tokenizer
from ..vectors import WordVectors, save_vectors
from .corpus import encode_corpus
from .kernels import init_vectors, seed_rng_states, sgns_train_parallel
from .sampling import alias_table, keep_probabilities, keep_thresholds, noise_probabilities

# What compiling sgns_train_parallel from a cold cache takes (the first run's message says "about N s"):
# `_warm_up` took 16.7 and 18.9 s with NUMBA_CACHE_DIR pointing at an empty folder (pipeline train-embeddings on a
# 10k-word corpus), 2 cores, load 7-8.5 (other jobs), 2026-12-02.
COMPILE_SECONDS = 20
# history.csv (pipeline/history.py): one row per epoch (see _history)
HISTORY_COLUMNS = ("epoch", "loss", "words_per_second", "alpha_start", "alpha_end", "seconds")
WORD_MAP_WORDS = 60     # words in words_pca.png: more and their labels overlap


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


@dataclass
class _Run:
    """What every chunk of one run reads and never changes (the state that changes is _State)."""
    cfg: object
    corpus: object                  # EncodedCorpus
    workers: int
    keep_threshold: np.ndarray      # uint32[V], sub-sampling (sampling.keep_thresholds)
    noise_prob: np.ndarray          # float64[V] and int32[V]: the noise distribution's alias table
    noise_index: np.ndarray
    plan: np.ndarray                # (chunks, workers, 2) sentence ranges of each thread (chunk_plan)
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
        return len(self.plan)


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
    epoch_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))    # float64 training seconds per epoch

    ARRAYS = ("W_in", "W_out", "rng_states", "loss_sum", "pairs", "words", "epoch_seconds")
    META = ("epoch", "chunk", "words_done")

    def save(self, ckpt: Checkpoint) -> None:
        ckpt.save({k: getattr(self, k) for k in self.ARRAYS}, {k: getattr(self, k) for k in self.META})

    def start_epoch(self) -> None:
        """Open this epoch's slot in the per-epoch sums (a resumed epoch has one already)."""
        if len(self.loss_sum) <= self.epoch:
            self.loss_sum = np.append(self.loss_sum, 0.0)
            self.pairs = np.append(self.pairs, 0).astype(np.int64)
            self.words = np.append(self.words, 0).astype(np.int64)
        if len(self.epoch_seconds) <= self.epoch:     # (a checkpoint from before epoch_seconds existed)
            self.epoch_seconds = np.append(self.epoch_seconds, np.zeros(self.epoch + 1 - len(self.epoch_seconds)))

    def epoch_loss(self, epoch: int) -> float:
        """Mean negative log-likelihood per trained pair of `epoch` (so far)."""
        return float(self.loss_sum[epoch] / max(self.pairs[epoch], 1))


@dataclass
class EmbeddingsRun:
    """What train_embeddings returns: the run directory, the vectors written there and its metrics."""
    out: Path
    vectors: WordVectors
    metrics: dict


def train_embeddings(cfg, resume: bool = False, sentences=None) -> EmbeddingsRun:
    """Train stage one as `cfg` says: setup, resume, epochs, outputs (see the module docstring). The corpus is
    `cfg.corpus.paths`, or the token lists `sentences` when given (read once; see corpus.py)."""
    if cfg.cluster.address is not None:          # on a Dask cluster: distributed.py (Dask is imported there only)
        from .distributed import train_on_cluster
        return train_on_cluster(cfg, resume)
    t_start = time.perf_counter()
    corpus = encode_corpus(cfg.corpus, Tokenizer.from_config(cfg.tokenizer), cfg.vocab, sentences)
    try:
        StopFlag.check("reading the corpus")
        t_encoded = time.perf_counter()
        run = _setup(cfg, corpus)
        st = _resume(run, resume)
        _warm_up(run)
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
    plan = chunk_plan(corpus.offsets, tc.chunk_words, workers)                  # (chunks, workers, 2)
    chunk_words = (corpus.offsets[plan[:, :, 1]] - corpus.offsets[plan[:, :, 0]]).sum(axis=1)
    progress.say(f"corpus: {corpus.corpus_words:,} words, {S:,} sentences{' (cached)' if corpus.cached else ''}; "
                 f"vocabulary: {V:,} words (min_count {cfg.vocab.min_count}); training {N:,} words x "
                 f"{tc.epochs} epochs on {workers} threads; memory needed about "
                 f"{memory_estimate_mb(V, D, N, S):,.0f} MB")
    return _Run(cfg, corpus, workers, keep_thresholds(keep_probabilities(vocab.counts, tc.sample)),
                noise_prob, noise_index, plan, np.empty(max(int(chunk_words.max()), 1), np.int32),
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
    st = _State(**{k: arrays[k] for k in _State.ARRAYS if k in arrays}, **{k: int(meta[k]) for k in _State.META})
    progress.say(f"resuming from {run.ckpt.path}: epoch {st.epoch + 1}, chunk {st.chunk}")
    return st


def _warm_up(run: _Run) -> None:
    """Load sgns_train_parallel from Numba's cache, or compile it (a first run: says so beforehand), on a
    two-word corpus with the run's thread count, before the timed loop: compile time stays out of the ETA,
    train_seconds and words/s. The tiny tables are the real ones' types; the run's state is not touched."""
    tc, T = run.cfg.train, run.workers
    counts = np.array([3, 2], np.int64)
    noise_prob, noise_index = alias_table(noise_probabilities(counts, tc.ns_exponent))
    args = (np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32), np.zeros(T), np.zeros(T, np.int64),
            np.zeros(T, np.int64), np.array([0, 1, 0, 1], np.int32), np.array([0, 4], np.int64),
            keep_thresholds(keep_probabilities(counts, tc.sample)), noise_prob, noise_index,
            np.array([0] + [1] * T, np.int64),
            tc.window, tc.shrink_windows, tc.negative, float(tc.alpha), float(tc.min_alpha), seed_rng_states(0, T))
    cached = kernelcache.is_cached(sgns_train_parallel, args)
    seconds = kernelcache.warm_up(lambda: sgns_train_parallel(*args), cached, COMPILE_SECONDS)
    if not cached:
        progress.say(f"kernels ready in {seconds:.1f} s")


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
    t0 = time.perf_counter()
    tc, corpus, N = run.cfg.train, run.corpus, run.corpus.n_tokens
    tokens, starts, thread_bounds = read_chunk(corpus, run.plan[st.chunk], run.chunk_buf)
    n_words = len(tokens)
    a0 = _alpha(tc, st.epoch, st.words_done - st.epoch * N, N, run.workers)
    a1 = _alpha(tc, st.epoch, st.words_done + n_words - st.epoch * N, N, run.workers)
    sgns_train_parallel(st.W_in, st.W_out, run.loss_t, run.words_t, run.pairs_t, tokens, starts,
                        run.keep_threshold, run.noise_prob, run.noise_index, thread_bounds,
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
    st.epoch_seconds[st.epoch] += time.perf_counter() - t0
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
    history = _history(run, st)
    write_history(out / HISTORY, HISTORY_COLUMNS, history)
    _figures(out, history, wv)
    metrics["seconds"] = time.perf_counter() - t_start
    atomic_write_json(out / "metrics.json", metrics)
    run.ckpt.remove()
    return EmbeddingsRun(out, wv, metrics)


def _history(run: _Run, st: _State) -> list:
    """history.csv's rows: per epoch its loss, raw words per second of training, the learning rate at its
    first and last word (the schedule is a function of the position, see _alpha) and training seconds."""
    tc, N = run.cfg.train, run.corpus.n_tokens
    return [{"epoch": e + 1, "loss": st.epoch_loss(e),
             "words_per_second": float(st.words[e] / max(st.epoch_seconds[e], 1e-9)),
             "alpha_start": _alpha(tc, e, 0, N, run.workers), "alpha_end": _alpha(tc, e, N, N, run.workers),
             "seconds": float(st.epoch_seconds[e])} for e in range(len(st.loss_sum))]


def _figures(out: Path, history: list, wv) -> None:
    """loss.png and words_pca.png in the run directory."""
    if not figures.available():
        progress.say("note: matplotlib cannot be imported; no figures (pip install matplotlib)")
        return
    figures.loss_curve(out / "loss.png", history, f"{out.name}: skip-gram training loss, {len(wv):,} words")
    figures.word_map(out / "words_pca.png", wv.words, wv.vectors,
                     f"{out.name}: the {WORD_MAP_WORDS} most frequent words (3+ characters), "
                     f"2-D PCA of their vectors", n=WORD_MAP_WORDS)


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
