"""word2vec binary/text I/O against gensim's reader and writer, and the loader's validation."""
import numpy as np
import pytest
from gensim.models import KeyedVectors

from pipeline.errors import UserError
from pipeline.vectors import WordVectors, load_vectors, save_vectors


@pytest.fixture
def wv():
    rng = np.random.default_rng(0)
    return WordVectors(["the", "ünïcode", "cat", "dog"], rng.standard_normal((4, 6)).astype(np.float32))


@pytest.mark.parametrize("binary", [True, False])
def test_ours_read_by_gensim_and_back(tmp_path, wv, binary):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    save_vectors(path, wv, binary=binary)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert kv.index_to_key == wv.words
    assert np.array_equal(kv.vectors, wv.vectors)
    kv.save_word2vec_format(str(tmp_path / "g"), binary=binary)
    back = load_vectors(tmp_path / "g")             # format detected automatically
    assert back.words == wv.words and np.array_equal(back.vectors, wv.vectors)


def test_most_similar_matches_gensim(tmp_path, wv):
    save_vectors(tmp_path / "v.bin", wv)
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    ours = wv.most_similar("cat", topn=3)
    theirs = kv.most_similar("cat", topn=3)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)


def write(tmp_path, data: bytes):
    p = tmp_path / "bad.vec"
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello world\nfoo 1 2\n", "header"),
    (b"3 2\na 1 2\nb 3 4\n", "only 2 rows|truncated"),
    (b"2 3\na 1 2\nb 3 4\n", "values|truncated"),
    (b"2 2\na 1 2\na 3 4\n", "appears twice"),
    (b"2 2\na 1 nan\nb 3 4\n", "NaN"),
    (b"1000000000 300\na 1 2\n", "truncated"),
    (b"2 2\na 1 x\nb 3 4\n", "not a number"),
])
def test_bad_vectors_files(tmp_path, data, message):
    with pytest.raises(UserError, match=message):
        load_vectors(write(tmp_path, data))


def test_truncated_binary_and_wrong_dimension(tmp_path, wv):
    path = tmp_path / "v.bin"
    save_vectors(path, wv)
    with pytest.raises(UserError, match="expected 50"):
        load_vectors(path, expect_dim=50)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(UserError, match="truncated"):
        load_vectors(path)
    with pytest.raises(UserError, match="not found"):
        load_vectors(tmp_path / "missing.bin")
