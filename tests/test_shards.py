"""Shards without a cluster: byte ranges read every line of a file exactly once, and the shard map-reduce
(read_shard -> shard_counts -> merge_counts -> encode_shard) equals corpus.py's one pass. The same on a
real LocalCluster is in tests/test_dask_stage1.py."""
import gzip
import random

import numpy as np
import pytest

from pipeline.cluster import plan_byte_ranges, source_size
from pipeline.config import CorpusConfig, VocabConfig
from pipeline.embeddings.corpus import encode_corpus
from pipeline.embeddings.shards import (EncodedShard, encode_shard, merge_counts, read_shard, shard_counts,
                                        slice_bounds)
from pipeline.errors import UserError
from pipeline.text import ByteRange, ReadStats, Tokenizer, iter_lines


def write(path, data: bytes):
    (gzip.open if str(path).endswith(".gz") else open)(path, "wb").write(data)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_byte_ranges_tile_a_file(tmp_path, suffix):
    """Random files of short, empty and unterminated lines, cut at random offsets (inside lines, on line
    ends, next to each other): the ranges give the file's lines in order, counted and replaced alike."""
    rng = random.Random(0)
    for trial in range(150):
        lines = ["".join(rng.choice(b"ab \xff".decode("latin-1")) for _ in range(rng.randint(0, 6)))
                 for _ in range(rng.randint(0, 10))]
        data = "\n".join(lines).encode("latin-1") + rng.choice([b"", b"\n", b"\n\n"])
        p = write(tmp_path / f"f{suffix}", data)
        whole = ReadStats()
        expected = list(iter_lines([p], errors="replace", stats=whole))
        cuts = sorted({0, len(data), *rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randint(0, 6)))})
        parts = ReadStats()
        got = list(iter_lines([ByteRange(p, a, b) for a, b in zip(cuts, cuts[1:])], errors="replace", stats=parts))
        assert got == expected, (data, cuts)
        assert (parts.lines, parts.replaced_lines) == (whole.lines, whole.replaced_lines)
        assert source_size(p) == len(data)


def test_strict_error_names_the_same_line_from_a_range(tmp_path):
    p = write(tmp_path / "bad.txt", b"".join(b"line %d\n" % i for i in range(100)) + b"bad \xff\n" + b"ok\n" * 50)
    with pytest.raises(UserError) as whole:
        list(iter_lines([p]))
    with pytest.raises(UserError) as part:
        list(iter_lines([ByteRange(p, 300, p.stat().st_size)]))
    assert str(part.value) == str(whole.value) and "bad.txt:101:" in str(whole.value)


def test_plan_covers_the_bytes_in_order(tmp_path):
    shards = plan_byte_ranges(["a", "b", "c"], [10, 0, 25], 4)
    pieces = [(r.path, r.start, r.end) for shard in shards for r in shard]
    assert pieces == [("a", 0, 8), ("a", 8, 10), ("c", 0, 7), ("c", 7, 16), ("c", 16, 25)]   # cuts 0 8 17 26 35
    assert [len(s) for s in shards] == [1, 2, 1, 1]
    assert plan_byte_ranges(["a"], [2], 4)[0] == []          # fewer bytes than shards: some are empty


def corpus_files(tmp_path):
    """Three files (plain, gzip, plain) of Zipf-like words from a small vocabulary: many tied counts, lines
    longer than max_sentence_length, empty lines, undecodable bytes, lines of only rare words."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)]
    files = []
    for name in ("a.txt", "b.txt.gz", "c.txt"):
        lines = []
        for _ in range(400):
            n = int(rng.choice([0, 1, 3, 8, 30]))
            lines.append(" ".join(words[min(int(rng.zipf(1.3)) - 1, 59)] for _ in range(n)).encode())
        lines[7] += b" \xff\xfe"
        lines[11] = b"only9 rare8"
        files.append(write(tmp_path / name, b"\n".join(lines) + b"\n"))
    return files


def one_pass(paths, vocab_cfg):
    cfg = CorpusConfig(paths=tuple(map(str, paths)), errors="replace", max_sentence_length=7, cache_dir=None)
    return cfg, encode_corpus(cfg, Tokenizer(), vocab_cfg)


@pytest.mark.parametrize("n_shards, files, min_count, max_vocab", [
    (5, [0, 1, 2], 1, None), (3, [0, 1, 2], 3, 10), (4, [0], 2, None), (3, [1], 2, 20), (1, [0, 1, 2], 5, None)])
def test_map_reduce_equals_one_pass(tmp_path, n_shards, files, min_count, max_vocab):
    paths = [corpus_files(tmp_path)[i] for i in files]
    vocab_cfg = VocabConfig(min_count=min_count, max_vocab_size=max_vocab)
    cfg, enc = one_pass(paths, vocab_cfg)
    plan = plan_byte_ranges(paths, [source_size(p) for p in paths], n_shards)
    texts = [read_shard(pieces, Tokenizer(), cfg) for pieces in plan]
    parts = [shard_counts(t) for t in texts]
    vocab, maps, corpus_words = merge_counts(parts, vocab_cfg, paths)
    assert vocab.words == enc.vocab.words and np.array_equal(vocab.counts, enc.vocab.counts)
    assert corpus_words == enc.corpus_words
    assert (sum(p[2] for p in parts), sum(p[3] for p in parts)) == (enc.lines, enc.replaced_lines)
    shards = [encode_shard(t, m) for t, m in zip(texts, maps)]
    assert np.array_equal(np.concatenate([s.tokens for s in shards]), enc.tokens)
    starts = np.concatenate([s.offsets[:-1] + sum(int(x.offsets[-1]) for x in shards[:k])
                             for k, s in enumerate(shards)] + [[enc.n_tokens]])
    assert np.array_equal(starts, enc.offsets)
    enc.close()


def test_slices_split_a_shard_by_tokens():
    from pipeline.embeddings.shards import EncodedShard
    shard = EncodedShard(np.zeros(100, np.int32), np.array([0, 10, 40, 45, 90, 100], np.int64))
    sentences, tokens = slice_bounds(shard, 3)
    assert list(sentences) == [0, 2, 4, 5] and list(tokens) == [0, 40, 90, 100]
    empty = EncodedShard(np.zeros(0, np.int32), np.zeros(1, np.int64))
    assert slice_bounds(empty, 2).tolist() == [[0, 0, 0], [0, 0, 0]]


def test_buckets_partition_the_rows_evenly_by_frequency_and_change_with_the_epoch():
    from pipeline.embeddings.distributed import bucket_plan
    V, K = 103, 4
    plan = bucket_plan(V, K, seed=1, epoch=0)
    assert sorted(np.concatenate(plan.rows).tolist()) == list(range(V))
    for b, rows in enumerate(plan.rows):
        assert (plan.bucket[rows] == b).all() and plan.local[rows].tolist() == list(range(len(rows)))
        assert np.diff(rows).min() > 0                    # increasing: most frequent first within a block
    for start in range(0, V - K + 1, K):                  # each run of K rows of like frequency: one per bucket
        assert sorted(plan.bucket[start:start + K].tolist()) == list(range(K))
    assert np.array_equal(plan.bucket, bucket_plan(V, K, 1, 0).bucket)
    assert not np.array_equal(plan.bucket, bucket_plan(V, K, 1, 1).bucket)
    assert not np.array_equal(plan.bucket, bucket_plan(V, K, 2, 0).bucket)


def test_pairs_are_grouped_by_bucket_and_each_trained_once_on_rows_no_other_task_touches():
    """list_pairs groups a slice's pairs by (center bucket, context bucket), in corpus order within a group; over
    the K sub-rounds of the rotation each (context bucket, center bucket) block is trained exactly once, and the
    K tasks of a sub-round hold disjoint W_in and W_out blocks."""
    from pipeline.embeddings.distributed import bucket_plan, in_block, list_pairs
    from pipeline.embeddings.kernels import draw_slice_pairs
    rng = np.random.default_rng(0)
    V, K = 40, 3
    shard = EncodedShard(rng.integers(0, V, 600).astype(np.int32), np.arange(0, 601, 12, dtype=np.int64))
    keep = np.full(V, 2**32 - 1, np.uint32)               # keep every word
    plan = bucket_plan(V, K, 1, 0)
    out = list_pairs(shard, keep, plan.bucket, plan.local, 5, 40, 3, True, K, 11)
    ctx, center, _ = draw_slice_pairs(shard.tokens, shard.offsets, 5, 40, keep, 3, True, np.uint64(11))
    words, n_pairs, n_bytes = out[K]
    assert words == int(shard.offsets[40] - shard.offsets[5]) and n_pairs == len(ctx) > 0 and n_bytes > 0
    seen = []
    for b, (c_local, o_local, offsets) in enumerate(out[:K]):
        assert offsets[0] == 0 and offsets[-1] == len(c_local) == len(o_local)
        for j in range(K):
            sel = (plan.bucket[center] == b) & (plan.bucket[ctx] == j)
            assert np.array_equal(c_local[offsets[j]:offsets[j + 1]], plan.local[ctx[sel]])
            assert np.array_equal(o_local[offsets[j]:offsets[j + 1]], plan.local[center[sel]])
            seen.append(int(sel.sum()))
    assert sum(seen) == len(ctx)
    for n in (1, 2, 3, 5):                                # the rotation _train_round follows
        held = [[(b, in_block(b, s, n)) for b in range(n)] for s in range(n)]   # (W_out, W_in) block per task
        assert all(len({o for o, _ in sub}) == n and len({i for _, i in sub}) == n for sub in held)
        assert sorted(x for sub in held for x in sub) == [(b, j) for b in range(n) for j in range(n)]


@pytest.mark.parametrize("schedule", ["linear", "gensim"])
def test_the_cluster_learning_rate_is_the_one_process_schedule_over_all_shards(schedule):
    """Rounds of sub-rounds tile the one-process schedule: alpha at the first word, continuous from sub-round to
    sub-round and round to round (words over all shards), min_alpha at the last word (linear)."""
    from pipeline.config import EmbeddingsConfig, load_config
    from pipeline.embeddings.distributed import round_alphas
    from pipeline.embeddings.train import _alpha
    tc = load_config(EmbeddingsConfig, None, ["train.epochs=3", f"train.alpha_schedule={schedule}"]).train
    N, K, workers = 10_000, 4, 2
    round_words = [3000, 3000, 2500, 1500]                       # over all shards, an epoch's rounds
    edges = []
    for e in range(tc.epochs):
        done = 0
        for w in round_words:
            a = round_alphas(tc, e, done, w, N, workers, K)
            assert len(a) == K + 1 and all(x >= y for x, y in zip(a, a[1:]))     # decreasing within the round
            assert a[0] == _alpha(tc, e, done, N, workers) and a[-1] == _alpha(tc, e, done + w, N, workers)
            edges.append((a[0], a[-1]))
            done += w
    assert edges[0][0] == tc.alpha and edges[-1][1] == _alpha(tc, tc.epochs - 1, N, N, workers)
    R = len(round_words)
    for i in range(len(edges) - 1):
        if (i + 1) % R or schedule == "linear":       # gensim's corpus_file schedule restarts each epoch higher
            assert edges[i][1] == edges[i + 1][0]
    if schedule == "linear":
        assert edges[-1][1] == tc.min_alpha
