"""Stage one on a Dask cluster: data-parallel skip-gram in which every worker owns the rows it trains.

    pipeline train-embeddings --config configs/embeddings.yaml --set cluster.address=local
    pipeline train-embeddings --config ... --set cluster.address=tcp://127.0.0.1:8786   # a running scheduler

The corpus is cut into K shards (pipeline/cluster.py), read, counted and encoded on the workers (shards.py: the
same vocabulary as one process) and kept in the workers' memory. The scheme is the one apache/spark pull
request 37967 proposes: no two workers ever update the same row at the same time, so nothing is merged,
averaged or lost, and the number of workers changes the order of the steps, not their size.

- Buckets. At each epoch start the vocabulary rows are dealt into K buckets (`bucket_plan`: each run of K rows
  of like frequency goes to the K buckets in a random order drawn from (seed, epoch), so buckets hold about the
  same share of the corpus). W_in and W_out are cut into K blocks of rows, one per bucket.
- Pairs. Each epoch is R rounds; every shard is cut into R slices of about `cluster.sync_words` words. In a
  round, the worker holding shard k lists the (context, center) pairs of its slice, sub-sampled and windowed
  as in one process (kernels.draw_slice_pairs), and groups them by the buckets of (context, center).
- Rotation. A round is K sub-rounds. In sub-round s the task of bucket b holds W_out block b and W_in block
  (b - s) mod K and trains every pair whose center is in bucket b and whose context is in bucket (b - s) mod
  K, from every shard, with the one-process kernel (kernels.sgns_train_pair_list); its noise words are drawn
  from bucket b's rows, with the unigram^0.75 distribution renormalised to them. The K tasks of a sub-round
  touch disjoint rows; after it, each W_in block moves on to the next bucket's task. Over the K sub-rounds
  every pair of the round is trained exactly once.
- What moves: the model's blocks from the driver at the start of a round and back at its end, each W_in block
  from one bucket's task to the next at every sub-round, and the pairs once, from their shard to their center's
  bucket. Nothing of the model is averaged or merged: the driver writes each block back into its rows.
- Faults: every future of a round stays referenced until the round ends, so Dask recomputes a result lost with a
  worker from its lineage; when it cannot (the blocks the driver sent were on the lost worker), the round runs
  again from the driver's copy, with the same seeds and so the same result (ROUND_ATTEMPTS).

What it changes against one process: the order of the pairs (each round's pairs in K passes, a bucket pair at
a time), and each pair's noise words come from the center's bucket (an unbiased draw from the same
distribution over the epoch's random buckets, as the buckets change with every epoch). Measured in
benchmarks/bench_dask.py (RESULTS.md, "Stage one on a Dask cluster").

Everything else is the one-process driver's (train.py): the learning rate is a function of the words
trained over all shards (sub-round s of round r decays it over its 1/K of the round's words); the epoch loss
is the sum of the tasks' losses over the sum of their pairs; the driver owns checkpoints (epoch ends, and
Ctrl-C between rounds; --resume continues on any cluster with the same shard count), progress and the outputs
(train._finish). Every task's random state is seeded from (seed, epoch, round, shard or sub-round and bucket),
so a task run twice gives the same result: the vectors depend on the seed and K only, not on which worker ran
what, and a task re-run after its worker died (or a lost block computed again from its lineage) is harmless.
Every round checks that each shard listed exactly its slice's words and that every pair was trained; re-run
tasks are counted (cluster.RerunCounter) and reported on stderr and in metrics.json with the bytes moved.
"""
from __future__ import annotations

import json
import operator
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
from ..cluster import (RerunCounter, TEST_KILL_HOOK, broadcast, connect, kill_hook, payload_bytes, plan_shards,
                       retry_lost, spread, worker_threads)
from ..config import resolve_workers
from ..errors import UserError
from ..signals import StopFlag
from ..text import Tokenizer, resolve_paths
from .kernels import draw_slice_pairs, init_vectors, sgns_train_pair_list
from .sampling import alias_table, keep_probabilities, keep_thresholds, noise_probabilities
from .shards import encode_shard, kept_tokens, merge_counts, read_shard, shard_counts, slice_bounds
from .train import EmbeddingsRun, _alpha, _State, _train_and_finish

# the first number of every task's SeedSequence: the draws of different kinds of task never coincide
_BUCKETS, _PAIRS, _NOISE = 1, 2, 3
ROUND_ATTEMPTS = 3          # a round whose data Dask lost runs again from the driver's copy, this many times at most


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
class BucketPlan:
    """The rows of one epoch dealt into K buckets: bucket[v] and local[v] (row v's index in its bucket's
    block), both int32 (V,); rows[b] the rows of bucket b in increasing order (int64)."""
    bucket: np.ndarray
    local: np.ndarray
    rows: list


def bucket_plan(V: int, K: int, seed: int, epoch: int) -> BucketPlan:
    """Deal rows 0..V-1 (most frequent first, the vocabulary's order) into K buckets: each run of K consecutive
    rows goes to the K buckets in a random order of its own, so every bucket gets one word of each frequency
    band and about 1/K of the corpus; the order is drawn from (seed, epoch), a new one every epoch."""
    rng = np.random.default_rng(np.random.SeedSequence([_BUCKETS, seed, epoch]))
    runs = -(-V // K)
    bucket = rng.permuted(np.tile(np.arange(K, dtype=np.int32), (runs, 1)), axis=1).ravel()[:V]
    rows = [np.flatnonzero(bucket == b) for b in range(K)]
    local = np.empty(V, np.int32)
    for r in rows:
        local[r] = np.arange(len(r), dtype=np.int32)
    return BucketPlan(bucket, local, rows)


@dataclass
class _ClusterRun:
    """What every round reads: the client, the shards' futures, the sampling tables' futures and the plan."""
    cfg: object
    corpus: ShardedCorpus
    workers: int                      # train.workers resolved: the learning-rate schedule's notion (gensim)
    ckpt: Checkpoint
    client: object
    shards: list                      # K futures of EncodedShard
    keep: np.ndarray                  # uint32 (V,) sub-sampling thresholds
    noise: np.ndarray                 # float64 (V,) the noise distribution (unigram^ns_exponent)
    bounds: np.ndarray                # (K, R + 1) sentence ids of each shard's slices
    slice_words: np.ndarray           # (K, R) tokens of each slice: what its task must report
    token: str                        # task keys' prefix, unique to this run
    reruns: RerunCounter
    kill_marker: str | None           # tests only (cluster.TEST_KILL_HOOK)
    log: dict = field(default_factory=lambda: {"seconds": [], "model_bytes": [], "pair_bytes": [], "table_bytes": [],
                                               "reruns": [], "setup_bytes": 0, "read_seconds": 0.0})
    epoch_start: tuple | None = None  # (time, re-runs) when this process started the current epoch
    epoch_bytes: list = field(default_factory=lambda: [0, 0, 0])   # model blocks, pairs, tables moved this epoch
    round_retries: int = 0            # rounds run again from the driver's copy after a lost worker
    # The epoch being trained: its buckets and each bucket's noise table (noise_prob, noise_index), and the futures
    # of what every worker holds of them (keep, plan, tables)
    plan: BucketPlan | None = None
    plan_epoch: int = -1
    tables: list | None = None
    sent: dict | None = None

    @property
    def steps(self) -> int:
        """Rounds per epoch."""
        return self.slice_words.shape[1]

    @property
    def K(self) -> int:
        return self.slice_words.shape[0]


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
    """The sub-sampling table on every worker, the checkpoint of this shard plan; says what will be trained."""
    if corpus.replaced_lines:
        progress.say(f"note: {corpus.replaced_lines} lines held bytes that are not {cfg.corpus.encoding}; "
                     f"they were replaced by U+FFFD (corpus.errors: replace)")
    tc, vocab = cfg.train, corpus.vocab
    K, R = slice_words.shape
    keep = keep_thresholds(keep_probabilities(vocab.counts, tc.sample))
    workers = resolve_workers(tc.workers)
    key = json.loads(config_key(cfg, workers, ignore=("corpus.cache_dir", "cluster.address", "cluster.workers",
                                                      "cluster.threads_per_worker")))
    key["cluster"]["shards"] = K                           # the vectors depend on K, not on the machines
    run = _ClusterRun(cfg, corpus, workers, Checkpoint(cfg.output.dir, json.dumps(key, sort_keys=True)), client,
                      shards, keep, noise_probabilities(vocab.counts, tc.ns_exponent), bounds, slice_words,
                      token, reruns, os.environ.get(TEST_KILL_HOOK))
    model_mb = 2 * len(vocab) * tc.vector_size * 4 / 2**20
    progress.say(f"corpus: {corpus.corpus_words:,} words, {corpus.sentences:,} sentences in {K} shards; "
                 f"vocabulary: {len(vocab):,} words (min_count {cfg.vocab.min_count}) in {K} buckets; training "
                 f"{corpus.n_tokens:,} words x {tc.epochs} epochs in {R} rounds per epoch of about "
                 f"{int(slice_words.mean()):,} words per shard, {K} sub-rounds each; the model ({model_mb:,.1f} MB) "
                 f"goes out and back once per round")
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
    log["pair_bytes"].append(run.epoch_bytes[1])
    log["table_bytes"].append(run.epoch_bytes[2])
    log["reruns"].append(None if total is None else total - run.epoch_start[1])
    if log["reruns"][-1]:
        print(f"cluster: {log['reruns'][-1]} tasks re-run in epoch {len(log['reruns'])} of this process (a worker "
              f"was lost); every round still trained each shard's slice exactly once", file=sys.stderr)


def _send_tables(run: _ClusterRun, st: _State) -> None:
    """Deal the rows into this epoch's buckets; send every worker the sub-sampling table, the bucket plan and each
    bucket's noise table (again after a lost worker: the scheduler keeps one copy of what is not in use)."""
    if run.plan is None or run.plan_epoch != st.epoch:
        run.plan, run.plan_epoch = bucket_plan(len(st.W_in), run.K, run.cfg.train.seed, st.epoch), st.epoch
        run.tables = []
        for rows in run.plan.rows:
            p = run.noise[rows]
            run.tables.append(alias_table(p / p.sum()) if len(rows) else (np.ones(1), np.zeros(1, np.int32)))
    arrays = [run.keep, run.plan.bucket, run.plan.local, *[a for t in run.tables for a in t]]
    flat = broadcast(run.client, *arrays)
    run.epoch_bytes[2] += sum(a.nbytes for a in arrays) * len(worker_threads(run.client))    # one copy per worker
    run.sent = {"keep": flat[0], "plan": flat[1:3], "tables": [tuple(flat[3 + 2 * b:5 + 2 * b]) for b in range(run.K)]}


def _round(run: _ClusterRun, st: _State) -> int:
    """Round st.chunk of this epoch (module docstring), again from the driver's copy of the model if a worker
    was lost and Dask could not recover what it held; returns the round's words."""
    e, r = st.epoch, st.chunk
    if r == 0 or run.epoch_start is None:
        run.epoch_start, run.epoch_bytes[:] = (time.perf_counter(), run.reruns.total()), [0, 0, 0]
    if run.sent is None or run.plan_epoch != e:
        _send_tables(run, st)

    def send_again():
        run.round_retries += 1
        _send_tables(run, st)
    words = retry_lost(lambda attempt: _train_round(run, st, f"{run.token}-e{e}-r{r}-a{attempt}"), ROUND_ATTEMPTS,
                       f"epoch {e + 1}, round {r + 1}", "the round runs again from the driver's copy", send_again,
                       " with --resume")
    st.chunk += 1
    if st.chunk == run.steps:
        _log_epoch(run)
    return words


def _train_round(run: _ClusterRun, st: _State, tag: str) -> int:
    """Send the model's blocks, list every shard's pairs by bucket, train them in K sub-rounds (each bucket's
    task on rows no other task touches), bring the blocks back into st; check the counts, add the sums."""
    tc, client, e, r = run.cfg.train, run.client, st.epoch, st.chunk
    N, K, plan, sent = run.corpus.n_tokens, run.K, run.plan, run.sent
    words = int(run.slice_words[:, r].sum())
    out = client.scatter([st.W_out[rows] for rows in plan.rows], hash=False)
    inn = client.scatter([st.W_in[rows] for rows in plan.rows], hash=False)
    held = out + inn          # every future of the round stays referenced: a lost result is computed again
    lists = [client.submit(list_pairs, run.shards[k], sent["keep"], *sent["plan"], int(run.bounds[k, r]),
                           int(run.bounds[k, r + 1]), tc.window, tc.shrink_windows, K,
                           task_seed(_PAIRS, tc.seed, e, r, k), key=f"pairs-{tag}-s{k}") for k in range(K)]
    groups = [[client.submit(operator.getitem, lists[k], b, key=f"group-{tag}-s{k}-b{b}") for b in range(K)]
              for k in range(K)]
    held += lists + [g for row in groups for g in row]
    alphas = round_alphas(tc, e, st.words_done - e * N, words, N, run.workers, K)
    stats = []
    for s in range(K):
        for b in range(K):
            j = in_block(b, s, K)
            kill = run.kill_marker if (e, r, s, b) == (0, run.steps // 2, 0, 0) else None
            t = client.submit(train_block, out[b], inn[j], j, *sent["tables"][b], tc.negative, alphas[s],
                              alphas[s + 1], task_seed(_NOISE, tc.seed, e, r, s, b), kill,
                              *[groups[k][b] for k in range(K)], key=f"train-{tag}-u{s}-b{b}")
            out[b], inn[j] = (client.submit(operator.getitem, t, i, key=f"{n}-{tag}-u{s}-b{b}")
                              for i, n in ((0, "out"), (1, "in")))
            stats.append(client.submit(operator.getitem, t, 2, key=f"stats-{tag}-u{s}-b{b}"))
            held += [t, out[b], inn[j], stats[-1]]
    listed = client.gather([client.submit(operator.getitem, f, K, key=f"listed-{tag}-s{k}")
                            for k, f in enumerate(lists)])
    trained = client.gather(stats)
    blocks_out, blocks_in = client.gather(out), client.gather(inn)
    del held, out, inn, lists, groups, stats
    for k, (n_words, _, _) in enumerate(listed):
        if n_words != run.slice_words[k, r]:
            raise RuntimeError(f"epoch {e + 1}, round {r + 1}: shard {k} listed {n_words} words, its slice "
                               f"holds {run.slice_words[k, r]}")
    n_pairs = sum(p for _, p in trained)
    if n_pairs != sum(p for _, p, _ in listed):
        raise RuntimeError(f"epoch {e + 1}, round {r + 1}: {n_pairs} pairs trained of {sum(p for _, p, _ in listed)} "
                           f"listed")
    losses = np.array([loss for loss, _ in trained])
    if not np.isfinite(losses).all():
        kept = f"; the last good checkpoint is {run.ckpt.path}" if run.ckpt.exists() else ""
        raise UserError(f"the loss became NaN in epoch {e + 1}; lower train.alpha (now {tc.alpha}) and retrain{kept}")
    for rows, o, i in zip(plan.rows, blocks_out, blocks_in):
        st.W_out[rows], st.W_in[rows] = o, i
    # the model out and back, and each W_in block handed on K - 1 times; the pairs to their buckets' tasks
    run.epoch_bytes[0] += 2 * (st.W_in.nbytes + st.W_out.nbytes) + (K - 1) * st.W_in.nbytes
    run.epoch_bytes[1] += sum(n for _, _, n in listed)
    st.loss_sum[e] += losses.sum()
    st.pairs[e] += n_pairs
    st.words[e] += words
    st.words_done += words
    return words


def in_block(b: int, s: int, K: int) -> int:
    """The W_in block that bucket b's task holds in sub-round s (it always holds W_out block b): over the K
    sub-rounds each task meets every W_in block once, and the K tasks of a sub-round hold K different ones."""
    return (b - s) % K


def round_alphas(tc, epoch: int, done: int, words: int, N: int, workers: int, K: int) -> list:
    """The learning rates at the K + 1 edges of a round's sub-rounds: the one-process schedule (train._alpha) at
    `done` words of the epoch, plus each sub-round's 1/K of the round's `words` (over all shards)."""
    return [_alpha(tc, epoch, done + words * s // K, N, workers) for s in range(K + 1)]


def task_seed(kind: int, *ids: int) -> np.uint64:
    """The kernel's RNG state for one task: the same task always draws the same numbers."""
    return np.random.SeedSequence([kind, *ids]).generate_state(1, np.uint64)[0]


def list_pairs(shard, keep_threshold, bucket, local, s_lo, s_hi, window, shrink_windows, K, rng_state) -> list:
    """On a worker: the pairs of sentences [s_lo, s_hi) of `shard` grouped by bucket. Returns K groups and a
    summary: group b = (context rows local to their blocks int32, center rows local to block b int32,
    offsets int64 (K + 1,): the pairs whose context is in bucket j are [offsets[j], offsets[j + 1])), each in
    corpus order; then (raw words of the slice, pairs, bytes of the groups)."""
    numba.set_num_threads(1)
    # arrays that arrived over the network may be read-only, a type of their own for Numba (a compile of its own)
    tokens, offsets, keep_threshold = (np.require(a, requirements="W") for a in (shard.tokens, shard.offsets,
                                                                                 keep_threshold))
    ctx, center, _ = draw_slice_pairs(tokens, offsets, s_lo, s_hi, keep_threshold, window, shrink_windows,
                                      np.uint64(rng_state))
    key = bucket[center].astype(np.int64) * K + bucket[ctx]
    order = np.argsort(key, kind="stable")
    cuts = np.concatenate(([0], np.cumsum(np.bincount(key, minlength=K * K))))
    ctx_local, center_local = local[ctx[order]], local[center[order]]
    groups = []
    for b in range(K):
        lo, hi = cuts[b * K], cuts[(b + 1) * K]
        groups.append((ctx_local[lo:hi], center_local[lo:hi], cuts[b * K:(b + 1) * K + 1] - lo))
    words = int(offsets[s_hi] - offsets[s_lo])
    return groups + [(words, len(ctx), payload_bytes(groups))]


def train_block(W_out0, W_in0, in_bucket, noise_prob, noise_index, negative, alpha_start, alpha_end, rng_state,
                kill_marker, *groups) -> tuple:
    """On a worker: train, on copies of a W_out block and the W_in block of bucket `in_bucket`, every pair of
    `groups` (one per shard, from list_pairs) whose context is in that bucket, shard after shard. Returns
    (W_out block, W_in block, (loss sum, pairs))."""
    kill_hook(kill_marker)
    numba.set_num_threads(1)
    W_out, W_in = W_out0.copy(), W_in0.copy()                       # (V_b, D) float32: inputs stay as they were
    ctx = np.concatenate([g[0][g[2][in_bucket]:g[2][in_bucket + 1]] for g in groups])
    center = np.concatenate([g[1][g[2][in_bucket]:g[2][in_bucket + 1]] for g in groups])
    noise_prob, noise_index = (np.require(a, requirements="W") for a in (noise_prob, noise_index))
    loss, _ = sgns_train_pair_list(W_in, W_out, ctx, center, noise_prob, noise_index, negative, alpha_start,
                                   alpha_end, np.uint64(rng_state))
    return W_out, W_in, (float(loss), len(ctx))


def _cluster_metrics(run: _ClusterRun) -> dict:
    """metrics.json's "cluster" section: the plan, time and bytes per epoch, re-run tasks."""
    log, (K, R) = run.log, run.slice_words.shape
    threads = worker_threads(run.client)
    reruns = [n for n in log["reruns"] if n is not None]
    return {"address": run.cfg.cluster.address, "workers": len(threads), "threads": sum(threads.values()),
            "shards": K, "sync_words": run.cfg.cluster.sync_words, "rounds_per_epoch": R,
            "shard_words": [int(n) for n in run.corpus.shard_tokens],
            "seconds_per_epoch": log["seconds"], "read_seconds": log["read_seconds"],
            "model_bytes_per_epoch": log["model_bytes"], "pair_bytes_per_epoch": log["pair_bytes"],
            "table_bytes_per_epoch": log["table_bytes"],
            "setup_bytes": log["setup_bytes"], "round_retries": run.round_retries,
            "reruns": sum(reruns) if len(reruns) == len(log["reruns"]) else None, "reruns_per_epoch": log["reruns"]}
