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
from pipeline.embeddings.shards import encode_shard, merge_counts, read_shard, shard_counts, slice_bounds
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


def test_merge_takes_a_lone_update_whole_and_the_mean_of_shared_ones():
    from pipeline.embeddings.distributed import merge_updates
    W = np.arange(12, dtype=np.float32).reshape(4, 3)
    a = (np.array([0, 2], np.int32), np.array([[1, 1, 1], [2, 2, 2]], np.float32), np.array([[1] * 3, [2] * 3], np.float32))
    b = (np.array([2, 3], np.int32), np.array([[4, 4, 4], [8, 8, 8]], np.float32), np.array([[2] * 3, [5] * 3], np.float32))
    merged = {how: W.copy() for how in ("mean", "sum", "split")}
    for how, M in merged.items():
        merge_updates(M, [a, b], how)
    assert np.array_equal(merged["mean"] - W, [[1, 1, 1], [0, 0, 0], [3, 3, 3], [8, 8, 8]])
    assert np.array_equal(merged["sum"] - W, [[1, 1, 1], [0, 0, 0], [6, 6, 6], [8, 8, 8]])
    # split: lone rows take d; row 2: transients 2h - d = 2 and 0 averaged (1), drifts 2(d - h) = 0 and 4 summed
    assert np.array_equal(merged["split"] - W, [[1, 1, 1], [0, 0, 0], [5, 5, 5], [8, 8, 8]])


def test_damped_merge_sums_a_steady_drift_and_averages_a_settled_pull():
    """Row 0: one shard (its own change); row 1: both shards drift steadily (second half = first half): the sum;
    row 2: both got where they were pulled within the first half (second half still): the mean; row 3: halfway
    (q_half = 1/2, q = 1/4): g = (1 - q^2) / (2 (1 - q)) = 0.625 of the sum."""
    from pipeline.embeddings.distributed import merge_updates
    W = np.zeros((4, 2), np.float32)
    a = (np.array([0, 1, 2, 3], np.int32), np.array([[1, 1], [2, 2], [4, 4], [3, 3]], np.float32),
         np.array([[.5, .5], [1, 1], [4, 4], [2, 2]], np.float32))
    b = (np.array([1, 2, 3], np.int32), np.array([[2, 2], [2, 2], [3, 3]], np.float32),
         np.array([[1, 1], [2, 2], [2, 2]], np.float32))
    merge_updates(W, [a, b], "damped")
    assert np.allclose(W, [[1, 1], [4, 4], [3, 3], [3.75, 3.75]])
