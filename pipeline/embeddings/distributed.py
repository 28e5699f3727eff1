"""Stage one on a Dask cluster: data-parallel skip-gram over shards, in synchronous rounds whose updates are summed.

    pipeline train-embeddings --config configs/embeddings.yaml --set cluster.address=local
    pipeline train-embeddings --config ... --set cluster.address=tcp://127.0.0.1:8786   # a running scheduler

The corpus is cut into K shards (pipeline/cluster.py), read, counted and encoded on the workers
(shards.py: the same vocabulary as one process) and kept in the workers' memory. Each epoch is R rounds;
every shard is cut into R slices of about `cluster.sync_words` words. A round:

    1. the driver sends the model (W_in, W_out) to every worker once (broadcast scatter);
    2. one task per shard copies it, trains the shard's next slice with the one-process kernel
       (`sgns_train_parallel`, one thread) and returns its update, the rows it changed:
       delta_k = (W_k - W)[rows_k], with its loss, pairs and words;
    3. the driver adds every delta to the model, in shard order:  W <- W + sum_k delta_k.

Why summed, not averaged: a word seen by one shard gets exactly the update one process would give it, and a
frequent word gets every shard's steps, as sequential SGD gives them; averaging (Spark MLlib's Word2Vec)
divides every word's learning rate by the number of partitions and loses accuracy as they grow. What summing
costs is staleness: a shard does not see the other shards' updates of the round, at most
(K - 1) x sync_words words (Hogwild on K threads sees them at once). benchmarks/bench_dask.py measures
quality against K and sync_words (RESULTS.md, "Stage one on a Dask cluster").

Everything else is the one-process driver's (train.py): the learning rate is a function of the words
trained over all shards (round r of epoch e decays from alpha(G_r) to alpha(G_r + words of the round), G_r
the words before it); the epoch loss is the sum of the tasks' losses over the sum of their pairs; the
driver owns checkpoints (epoch ends, and Ctrl-C between rounds; --resume continues on any cluster with the
same shard count), progress and the outputs (train._finish). Each task's random state is seeded from
SeedSequence([seed, epoch, round, shard]), so a task run twice gives the same update: the vectors depend on
the seed and K only, not on which worker ran what, and a task re-run after its worker died is harmless.
Every round checks that one result per shard arrived with exactly its slice's words; re-run tasks are
counted (cluster.RerunCounter) and reported on stderr and in metrics.json with the bytes moved.
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from .. import progress
from ..atomicio import atomic_write_json
from ..checkpoint import Checkpoint, config_key
from ..cluster import (TEST_KILL_HOOK, RerunCounter, broadcast, connect, kill_hook, payload_bytes, plan_shards,
                       replicas, spread, worker_threads)
from ..config import resolve_workers
from ..errors import UserError
from ..signals import StopFlag
from ..text import Tokenizer, resolve_paths
from .kernels import init_vectors, sgns_train_parallel
from .sampling import alias_table, keep_probabilities, keep_thresholds, noise_probabilities
from .shards import encode_shard, kept_tokens, merge_counts, read_shard, shard_counts, slice_bounds
from .train import EmbeddingsRun, _alpha, _State, _train_and_finish


@dataclass
class ShardedCorpus:
    """The corpus as the driver knows it on a cluster: what train._finish reads of an EncodedCorpus."""
    vocab: object
    corpus_words: int
    lines: int
    replaced_lines: int
    sentences: int
    shard_tokens: np.ndarray          # (K,) int64 tokens each shard trains per epoch
    cached: bool = False              # shards live in the workers' memory, never in corpus.cache_dir

    @property
    def n_tokens(self) -> int:
        return int(self.shard_tokens.sum())

    @property
    def offsets(self) -> np.ndarray:
        """Stands for the sentence offsets (held by the workers): only its length (S + 1) is read here."""
        return np.broadcast_to(np.int64(0), (self.sentences + 1,))


@dataclass
class _ClusterRun:
    """What every round reads: the client, the shards' futures, the sampling tables' futures and the plan."""
    cfg: object
    corpus: ShardedCorpus
    workers: int                      # train.workers resolved: the learning-rate schedule's notion (gensim)
    ckpt: Checkpoint
    client: object
    shards: list                      # K futures of EncodedShard
    tables: list                      # futures of keep_threshold, noise_prob, noise_index (on every worker)
    bounds: np.ndarray                # (K, R + 1) sentence ids of each shard's slices
    slice_words: np.ndarray           # (K, R) tokens of each slice: what its task must report
    token: str                        # task keys' prefix, unique to this run
    reruns: RerunCounter
    kill_marker: str | None           # tests only (cluster.TEST_KILL_HOOK)
    log: dict = field(default_factory=lambda: {"seconds": [], "model_bytes": [], "delta_bytes": [],
                                               "reruns": [], "setup_bytes": 0, "read_seconds": 0.0})
    epoch_start: tuple | None = None  # (time, re-runs) when this process started the current epoch
    epoch_bytes: list = field(default_factory=lambda: [0, 0])   # model sent, updates returned this epoch

    @property
    def steps(self) -> int:
        """Rounds per epoch."""
        return self.slice_words.shape[1]


def train_on_cluster(cfg, resume: bool = False) -> EmbeddingsRun:
    """train.train_embeddings on the cluster of `cfg.cluster.address` (see the module docstring)."""
    t_start = time.perf_counter()
    token = uuid.uuid4().hex[:8]                  # in every task key of this run
    with connect(cfg.cluster) as client, RerunCounter(client, token) as reruns:
        run = _read_corpus(client, cfg, token, reruns)
        StopFlag.check("reading the corpus")
        t_encoded = time.perf_counter()
        st = _resume(run, resume)
        result = _train_and_finish(run, st, _round, t_start, t_encoded)
        result.metrics["cluster"] = _cluster_metrics(run)
    atomic_write_json(result.out / "metrics.json", result.metrics)
    return result


def _read_corpus(client, cfg, token, reruns) -> _ClusterRun:
    """Shard the corpus on the workers (`shard_corpus`), plan the rounds, set the run up."""
    t0 = time.perf_counter()
    K = cfg.cluster.shards or sum(worker_threads(client).values())
    corpus, shards, setup_bytes = shard_corpus(client, cfg, K, token)
    R = max(1, -(-int(corpus.shard_tokens.max()) // cfg.cluster.sync_words))      # ceil
    plan = client.gather(client.map(slice_bounds, shards, [R] * K, key=[f"slices-{token}-{k}" for k in range(K)]))
    bounds = np.stack([p[0] for p in plan])                # (K, R + 1) sentence ids
    slice_words = np.diff(np.stack([p[1] for p in plan]), axis=1)
    if not np.array_equal(slice_words.sum(axis=1), corpus.shard_tokens):
        raise RuntimeError("the encoded shards do not hold the tokens their counts promise")
    corpus.sentences = int(bounds[:, -1].sum())
    run = _setup(client, cfg, corpus, shards, bounds, slice_words, token, reruns)
    run.log["read_seconds"] = time.perf_counter() - t0
    run.log["setup_bytes"] += setup_bytes
    return run


def shard_corpus(client, cfg, n_shards: int, token: str) -> tuple[ShardedCorpus, list, int]:
    """Plan `n_shards` shards, read and count them on the workers, merge the vocabulary on the driver (the
    one-process vocabulary, shards.py), encode each shard where it was read. Returns the corpus summary
    (sentences still 0), the futures of the EncodedShards (kept on the workers) and the bytes moved."""
    paths = [Path(os.path.abspath(p)) for p in resolve_paths(cfg.corpus.paths)]   # workers may start elsewhere
    tokenizer = Tokenizer.from_config(cfg.tokenizer)
    texts = spread(client, read_shard, [(pieces, tokenizer, cfg.corpus) for pieces in
                                        plan_shards(client, paths, n_shards)], f"read-{token}")
    parts = client.gather(client.map(shard_counts, texts, key=[f"count-{token}-{k}" for k in range(n_shards)]))
    vocab, maps, corpus_words = merge_counts(parts, cfg.vocab, paths)
    shards = [client.submit(encode_shard, t, m, key=f"encode-{token}-{k}") for k, (t, m) in enumerate(zip(texts, maps))]
    del texts                         # the encoded shards keep their lineage: a lost one is read again
    corpus = ShardedCorpus(vocab, corpus_words, sum(p[2] for p in parts), sum(p[3] for p in parts), 0,
                           np.array([kept_tokens(p, m) for p, m in zip(parts, maps)], np.int64))
    moved = sum(payload_bytes(p) + sum(len(w.encode()) for w in p[0]) for p in parts) + sum(m.nbytes for m in maps)
    return corpus, shards, moved


def _setup(client, cfg, corpus, shards, bounds, slice_words, token, reruns) -> _ClusterRun:
    """Sampling tables on every worker, the checkpoint of this shard plan; says what will be trained."""
    if corpus.replaced_lines:
        progress.say(f"note: {corpus.replaced_lines} lines held bytes that are not {cfg.corpus.encoding}; "
                     f"they were replaced by U+FFFD (corpus.errors: replace)")
    tc, vocab = cfg.train, corpus.vocab
    K, R = slice_words.shape
    keep = keep_thresholds(keep_probabilities(vocab.counts, tc.sample))
    noise_prob, noise_index = alias_table(noise_probabilities(vocab.counts, tc.ns_exponent))
    tables = broadcast(client, keep, noise_prob, noise_index)
    workers = resolve_workers(tc.workers)
    key = json.loads(config_key(cfg, workers, ignore=("corpus.cache_dir", "cluster.address", "cluster.workers",
                                                      "cluster.threads_per_worker")))
    key["cluster"]["shards"] = K                           # the vectors depend on K, not on the machines
    run = _ClusterRun(cfg, corpus, workers, Checkpoint(cfg.output.dir, json.dumps(key, sort_keys=True)), client,
                      shards, tables, bounds, slice_words, token, reruns,
                      os.environ.get(TEST_KILL_HOOK))
    run.log["setup_bytes"] = sum(a.nbytes * n for a, n in zip((keep, noise_prob, noise_index),
                                                              (replicas(client, [f]) for f in tables)))
    model_mb = 2 * len(vocab) * tc.vector_size * 4 / 2**20
    progress.say(f"corpus: {corpus.corpus_words:,} words, {corpus.sentences:,} sentences in {K} shards; "
                 f"vocabulary: {len(vocab):,} words (min_count {cfg.vocab.min_count}); training "
                 f"{corpus.n_tokens:,} words x {tc.epochs} epochs in {R} rounds per epoch of about "
                 f"{int(slice_words.mean()):,} words per shard; the model ({model_mb:,.1f} MB) goes to every "
                 f"worker each round")
    return run


def _resume(run: _ClusterRun, resume: bool) -> _State:
    """The checkpoint's state with --resume (when there is one), else fresh vectors."""
    tc, V = run.cfg.train, len(run.corpus.vocab)
    found = run.ckpt.resume(resume, shapes={"W_in": (V, tc.vector_size), "W_out": (V, tc.vector_size)})
    if found is None:
        return _State(init_vectors(V, tc.vector_size, tc.seed), np.zeros((V, tc.vector_size), np.float32),
                      np.zeros(0, np.uint64))       # no driver-side RNG: every task seeds its own
    arrays, meta = found
    st = _State(**{k: arrays[k] for k in _State.ARRAYS}, **{k: int(meta[k]) for k in _State.META})
    progress.say(f"resuming from {run.ckpt.path}: epoch {st.epoch + 1}, round {st.chunk}")
    return st


def _log_epoch(run: _ClusterRun) -> None:
    """Add the epoch that just ended to metrics.json's "cluster" figures (a resumed epoch: from the resumed
    round on); say on stderr when tasks had to run again."""
    log, total = run.log, run.reruns.total()
    log["seconds"].append(time.perf_counter() - run.epoch_start[0])
    log["model_bytes"].append(run.epoch_bytes[0])
    log["delta_bytes"].append(run.epoch_bytes[1])
    log["reruns"].append(None if total is None else total - run.epoch_start[1])
    if log["reruns"][-1]:
        print(f"cluster: {log['reruns'][-1]} tasks re-run in epoch {len(log['reruns'])} of this process (a worker "
              f"was lost); every round still received exactly one update per shard with its slice's words",
              file=sys.stderr)


def _round(run: _ClusterRun, st: _State) -> int:
    """Train every shard's slice `st.chunk` of this epoch from the same model, add the updates in shard
    order, check them; returns the round's words."""
    tc, client, e, r = run.cfg.train, run.client, st.epoch, st.chunk
    N, K, R = run.corpus.n_tokens, *run.slice_words.shape
    words = int(run.slice_words[:, r].sum())
    if r == 0 or run.epoch_start is None:
        run.epoch_start, run.epoch_bytes[:] = (time.perf_counter(), run.reruns.total()), [0, 0]
    done = st.words_done - e * N
    a0, a1 = (_alpha(tc, e, done + w, N, run.workers) for w in (0, words))
    model = broadcast(client, st.W_in, st.W_out)
    run.epoch_bytes[0] += st.W_in.nbytes * replicas(client, model[:1]) + st.W_out.nbytes * replicas(client, model[1:])
    kill = run.kill_marker if (e, r) == (0, R // 2) else None
    futures = [client.submit(train_slice, run.shards[k], *model, *run.tables, int(run.bounds[k, r]),
                             int(run.bounds[k, r + 1]), (tc.window, tc.shrink_windows, tc.negative), a0, a1,
                             task_seed(tc.seed, e, r, k), run.cfg.cluster.merge == "split", kill,
                             key=f"train-{run.token}-e{e}-r{r}-s{k}")
               for k in range(K)]
    results = client.gather(futures)
    del futures, model
    for k, res in enumerate(results):              # one result per shard by construction; its words checked
        if res["words"] != run.slice_words[k, r]:
            raise RuntimeError(f"epoch {e + 1}, round {r + 1}: shard {k} trained {res['words']} words, its slice "
                               f"holds {run.slice_words[k, r]}")
        run.epoch_bytes[1] += payload_bytes(res)
    losses = np.array([res["loss"] for res in results])
    if not np.isfinite(losses).all():
        kept = f"; the last good checkpoint is {run.ckpt.path}" if run.ckpt.exists() else ""
        raise UserError(f"the loss became NaN in epoch {e + 1}; lower train.alpha (now {tc.alpha}) and retrain{kept}")
    for name, W in (("in", st.W_in), ("out", st.W_out)):
        merge_updates(W, [(res[f"{name}_rows"], res[f"{name}_delta"], res.get(f"{name}_half")) for res in results],
                      run.cfg.cluster.merge)
    st.loss_sum[e] += losses.sum()
    st.pairs[e] += sum(res["pairs"] for res in results)
    st.words[e] += words
    st.words_done += words
    st.chunk += 1
    if st.chunk == R:
        _log_epoch(run)
    return words


def merge_updates(W, updates, how: str) -> None:
    """Add a round's updates to W (V, D) in place. `updates`: per shard, in shard order, (rows, d, h): the
    rows it changed, their change over the whole slice d (n, D) and, for "split", over its first half h.

    sum: W[r] += sum_k d_k. mean: W[r] += mean of d_k over the K_r shards that changed row r.
    split: each shard's change is a transient plus a drift. A row that many steps pull towards one place gets
    there within the first half: e_k = h_k - (d_k - h_k) is that shift, which one process makes once (so it is
    averaged); the drift is the second half's change twice, 2 (d_k - h_k), which one process makes for every
    shard's words (so it is summed):  W[r] += mean_k (2 h_k - d_k) + 2 sum_k (d_k - h_k).
    A row changed by one shard gets exactly its d; a row moving at a steady pace gets the sum of the d_k."""
    total = np.zeros_like(W)                                  # (V, D)
    shards = np.zeros(len(W), np.int32)                       # (V,) shards that changed each row
    for rows, d, h in updates:
        if how == "split":
            total[rows] += 2 * h - d                          # the transient, averaged below
        else:
            total[rows] += d
        shards[rows] += 1
    changed = np.flatnonzero(shards)
    if how == "sum":
        W[changed] += total[changed]
        return
    W[changed] += total[changed] / shards[changed, None].astype(W.dtype)
    if how == "split":
        for rows, d, h in updates:
            W[rows] += 2 * (d - h)                            # the drift, summed


def task_seed(seed: int, epoch: int, rnd: int, shard: int) -> np.uint64:
    """The kernel's RNG state for one task: the same task always draws the same numbers."""
    return np.random.SeedSequence([seed, epoch, rnd, shard]).generate_state(1, np.uint64)[0]


def train_slice(shard, W_in0, W_out0, keep_threshold, noise_prob, noise_index, s_lo, s_hi, sizes, alpha_start,
                alpha_end, rng_state, halves=False, kill_marker=None) -> dict:
    """On a worker: train sentences [s_lo, s_hi) of `shard` on a copy of the model with the one-process
    kernel on one thread; return the rows it changed and by how much (float32), and the slice's sums. With
    `halves` the slice is trained as two kernel calls (the learning rate and random stream run on) and the
    change after the first half is returned too (merge "split")."""
    kill_hook(kill_marker)
    numba.set_num_threads(1)
    window, shrink_windows, negative = sizes
    W_in, W_out = W_in0.copy(), W_out0.copy()                       # (V, D) float32 each
    # Arrays that arrived over the network may be read-only, a type of their own for Numba (a compile of its
    # own); the one-process types keep the kernel in Numba's cache. Tables are small; a shard is read-only
    # only when it was moved from the worker that encoded it.
    keep_threshold, noise_prob, noise_index, tokens, offsets = (
        np.require(a, requirements="W") for a in (keep_threshold, noise_prob, noise_index, shard.tokens,
                                                  shard.offsets))
    loss, words, pairs = np.zeros(1), np.zeros(1, np.int64), np.zeros(1, np.int64)
    rng = np.array([rng_state], np.uint64)
    first, n = offsets[s_lo], offsets[s_hi] - offsets[s_lo]
    s_mid = int(np.searchsorted(offsets, first + n // 2)) if halves else s_hi
    alpha_mid = alpha_start + (alpha_end - alpha_start) * ((offsets[s_mid] - first) / max(n, 1))
    out = {"loss": 0.0, "words": 0, "pairs": 0}
    half = None
    for lo, hi, a0, a1 in ((s_lo, s_mid, alpha_start, alpha_mid), (s_mid, s_hi, alpha_mid, alpha_end)):
        if lo == hi:
            continue
        sgns_train_parallel(W_in, W_out, loss, words, pairs, tokens, offsets, keep_threshold, noise_prob,
                            noise_index, np.array([lo, hi], np.int64), window, shrink_windows, negative, a0, a1,
                            rng)
        out["loss"], out["words"], out["pairs"] = out["loss"] + loss[0], out["words"] + int(words[0]), \
            out["pairs"] + int(pairs[0])
        if halves and half is None:
            half = (W_in.copy(), W_out.copy())
    if halves and half is None:                                     # an empty slice
        half = (W_in0, W_out0)
    for k, (name, new, old) in enumerate((("in", W_in, W_in0), ("out", W_out, W_out0))):
        changed = (new != old).any(axis=1)
        if halves:
            changed |= (half[k] != old).any(axis=1)
        rows = np.flatnonzero(changed).astype(np.int32)
        out[f"{name}_rows"], out[f"{name}_delta"] = rows, new[rows] - old[rows]
        if halves:
            out[f"{name}_half"] = half[k][rows] - old[rows]
    return out


def _cluster_metrics(run: _ClusterRun) -> dict:
    """metrics.json's "cluster" section: the plan, time and bytes per epoch, re-run tasks."""
    log, (K, R) = run.log, run.slice_words.shape
    threads = worker_threads(run.client)
    reruns = [n for n in log["reruns"] if n is not None]
    return {"address": run.cfg.cluster.address, "workers": len(threads), "threads": sum(threads.values()),
            "shards": K, "sync_words": run.cfg.cluster.sync_words, "rounds_per_epoch": R,
            "shard_words": [int(n) for n in run.corpus.shard_tokens],
            "seconds_per_epoch": log["seconds"], "read_seconds": log["read_seconds"],
            "model_bytes_per_epoch": log["model_bytes"], "delta_bytes_per_epoch": log["delta_bytes"],
            "setup_bytes": log["setup_bytes"],
            "reruns": sum(reruns) if len(reruns) == len(log["reruns"]) else None, "reruns_per_epoch": log["reruns"]}
