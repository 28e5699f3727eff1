"""Tokenizer, readers (encodings, compression, long lines) and the vocabulary against gensim's."""
import bz2
import gzip
import lzma

import numpy as np
import pytest
from gensim.models import Word2Vec
from gensim.test.utils import datapath

from pipeline.config import CorpusConfig, VocabConfig
from pipeline.embeddings.corpus import encode_corpus
from pipeline.errors import UserError
from pipeline.text import ReadStats, Tokenizer, iter_lines, iter_sentences, resolve_paths
from pipeline.vocab import Vocab


def lee_sentences():
    tok = Tokenizer()
    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        return [tok(line) for line in f]


def test_tokenizer_whitespace_and_regex():
    assert Tokenizer()("The  Cat\tsat\n") == ["the", "cat", "sat"]
    assert Tokenizer(lowercase=False)("The Cat") == ["The", "Cat"]
    assert Tokenizer(pattern=r"[a-z]+")("it's 2 cats!") == ["it", "s", "cats"]


@pytest.mark.parametrize("min_count", [1, 3, 5])
def test_vocabulary_equals_gensims(min_count):
    sents = lee_sentences()
    ours = Vocab.build(sents, min_count=min_count)
    model = Word2Vec(min_count=min_count)
    model.build_vocab(sents)
    assert ours.words == model.wv.index_to_key
    assert list(ours.counts) == [model.wv.get_vecattr(w, "count") for w in ours.words]


def test_max_vocab_size_keeps_most_frequent():
    sents = lee_sentences()
    full = Vocab.build(sents, min_count=1)
    top = Vocab.build(sents, min_count=1, max_vocab_size=100)
    assert top.words == full.words[:100]


def test_encoded_corpus_matches_token_lists(tmp_path):
    cfg = CorpusConfig(paths=("gensim:lee_background.cor",), cache_dir=str(tmp_path / "cache"))
    enc = encode_corpus(cfg, Tokenizer(), VocabConfig(min_count=3))
    expected, offsets = [], [0]
    for s in lee_sentences():
        ids = [enc.vocab.index[w] for w in s if w in enc.vocab.index]
        if ids:
            expected += ids
            offsets.append(len(expected))
    assert np.array_equal(enc.tokens, expected) and np.array_equal(enc.offsets, offsets)
    assert enc.corpus_words == sum(map(len, lee_sentences())) and not enc.cached
    again = encode_corpus(cfg, Tokenizer(), VocabConfig(min_count=3))
    assert again.cached and np.array_equal(again.tokens, enc.tokens)


@pytest.mark.parametrize("tail", ["\n\n\n", "\n. ,\n", "\nrare\n\n"])
def test_corpus_ending_in_empty_or_dropped_sentences(tmp_path, tail):
    """Empty sentences (or sentences emptied by min_count) at the very end: every offset stays within the
    kept tokens and the offsets never decrease (a raw end offset left behind made the kernel read past
    the tokens and crash)."""
    (tmp_path / "c.txt").write_text("a b a b\nc a b\nb a" + tail, encoding="utf-8")
    cfg = CorpusConfig(paths=(str(tmp_path / "c.txt"),), cache_dir=str(tmp_path / "cache"))
    tok = Tokenizer(pattern=r"\w+")                     # "." and "," lines give no tokens at all
    enc = encode_corpus(cfg, tok, VocabConfig(min_count=2))
    assert sorted(enc.vocab.words) == ["a", "b"]
    assert np.array_equal(enc.offsets, [0, 4, 6, 8]) and enc.n_tokens == 8
    again = encode_corpus(cfg, tok, VocabConfig(min_count=2))
    assert again.cached and np.array_equal(again.offsets, enc.offsets)


def test_compressed_files_folders_and_globs(tmp_path):
    text = "a b c\nd e\n"
    for name, opener in [("x.gz", gzip.open), ("y.bz2", bz2.open), ("z.xz", lzma.open)]:
        with opener(tmp_path / name, "wt", encoding="utf-8") as f:
            f.write(text)
    (tmp_path / "w.txt").write_text(text)
    files = resolve_paths([str(tmp_path)])
    assert len(files) == 4
    assert len(list(iter_lines(files))) == 8
    assert len(resolve_paths([str(tmp_path / "*.gz")])) == 1
    with pytest.raises(UserError, match="file not found"):
        resolve_paths([str(tmp_path / "missing.txt")])
    with pytest.raises(UserError, match="no file matches"):
        resolve_paths([str(tmp_path / "*.nothing")])


def test_long_lines_are_chunked_not_dropped(tmp_path):
    p = tmp_path / "long.txt"
    p.write_text(" ".join(f"w{i}" for i in range(25)) + "\nshort line\n")
    chunks = list(iter_sentences([p], Tokenizer(), max_sentence_length=10))
    assert [len(c) for c in chunks] == [10, 10, 5, 2]
    assert sum(chunks, [])[:25] == [f"w{i}" for i in range(25)]


def test_undecodable_bytes_strict_and_replace(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"good line\nbad \xff\xfe line\nalso good\n")
    with pytest.raises(UserError, match=r"bad.txt:2: bytes are not valid utf-8"):
        list(iter_lines([p]))
    stats = ReadStats()
    lines = list(iter_lines([p], errors="replace", stats=stats))
    assert stats.replaced_lines == 1 and "\ufffd" in lines[1] and len(lines) == 3
    assert list(iter_lines([p], encoding="cp1252"))[1].startswith("bad")


def test_binary_and_empty_inputs(tmp_path):
    b = tmp_path / "blob.bin"
    b.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(UserError, match="binary"):
        list(iter_lines([b]))
    e = tmp_path / "empty.txt"
    e.write_text("")
    with pytest.raises(UserError, match="corpus is empty"):
        encode_corpus(CorpusConfig(paths=(str(e),), cache_dir=None), Tokenizer(), VocabConfig())
    r = tmp_path / "rare.txt"
    r.write_text("a b c d\n")
    with pytest.raises(UserError, match="min_count"):
        encode_corpus(CorpusConfig(paths=(str(r),), cache_dir=None), Tokenizer(), VocabConfig(min_count=5))


def test_truncated_gzip_is_reported(tmp_path):
    p = tmp_path / "t.gz"
    rng = np.random.default_rng(0)
    with gzip.open(p, "wt") as f:
        for _ in range(2000):
            f.write(" ".join(f"w{i}" for i in rng.integers(0, 10**6, 20)) + "\n")
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(UserError, match="truncated"):
        list(iter_lines([p]))


# ----------------------------------------------------------------------------- white-space fast path (wordids.py)

def _encoded(path, tokenizer, fast, monkeypatch, min_count=1, max_len=10000):
    from pipeline.embeddings import corpus
    monkeypatch.setattr(corpus, "FAST_SPLIT", fast)
    enc = encode_corpus(CorpusConfig(paths=(str(path),), cache_dir=None, max_sentence_length=max_len), tokenizer,
                        VocabConfig(min_count=min_count))
    out = (np.array(enc.tokens), enc.offsets.copy(), enc.vocab.words, list(enc.vocab.counts), enc.corpus_words,
           enc.lines)
    enc.close()
    return out


@pytest.mark.parametrize("lowercase", [True, False])
def test_whitespace_kernel_equals_str_split(tmp_path, monkeypatch, lowercase):
    """The Numba reader gives the tokens, sentences, vocabulary and counts that str.split() and a dict give, on
    text with every kind of white space str.split() knows, empty and long lines, and non-ASCII words."""
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) != "\n"]
    rng = np.random.default_rng(0)
    words = ["Der", "Straße", "naïve", "ÉTÉ", "日本語", "a", "bb", "Ünïcödé", "x" * 40, "ǅ", "İ", "e\u0301"]
    lines = []
    for n in range(400):
        k = int(rng.integers(0, 30)) if n % 17 else 57         # some lines longer than max_sentence_length
        toks = [words[int(i)] + (str(int(i) % 3) if n % 5 == 0 else "") for i in rng.integers(0, len(words), k)]
        seps = [spaces[int(i)] * int(rng.integers(1, 3)) for i in rng.integers(0, len(spaces), k + 1)]
        lines.append("".join(s + t for s, t in zip(seps, toks)) + (seps[-1] if n % 3 else ""))
    text = "\n".join(lines) + "\n\n"
    (tmp_path / "c.txt").write_text(text, encoding="utf-8")
    tok = Tokenizer(lowercase=lowercase)
    fast = _encoded(tmp_path / "c.txt", tok, True, monkeypatch, max_len=25)
    slow = _encoded(tmp_path / "c.txt", tok, False, monkeypatch, max_len=25)
    for a, b in zip(fast, slow):
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
    assert len(fast[2]) > 20 and fast[4] > 5000           # the text really held those words


def test_whitespace_kernel_grows_its_table(tmp_path, monkeypatch):
    """More distinct words than the first table holds (it starts at 32,768 words): every id survives the
    rehashes, and each word keeps its count."""
    n = 100_000
    (tmp_path / "many.txt").write_text("\n".join(f"w{i} w{i % 7} shared" for i in range(n)), encoding="utf-8")
    tokens, offsets, words, counts, corpus_words, lines = _encoded(tmp_path / "many.txt", Tokenizer(), True,
                                                                    monkeypatch)
    assert corpus_words == 3 * n and lines == n and len(words) == n + 1
    got = dict(zip(words, counts))
    assert got["shared"] == n and got["w3"] == 1 + len(range(3, n, 7)) and got["w99999"] == 1
    assert np.array_equal(offsets, np.arange(0, 3 * n + 1, 3))


def test_unicode_spaces_are_str_splits():
    from pipeline.embeddings.wordids import UNICODE_SPACES
    beyond_ascii = {chr(c) for c in range(128, 0x110000) if chr(c).isspace()}
    assert {c for c in beyond_ascii if UNICODE_SPACES.fullmatch(c)} == beyond_ascii
    assert not any(UNICODE_SPACES.fullmatch(chr(c)) for c in range(128, 0x3100) if not chr(c).isspace())
