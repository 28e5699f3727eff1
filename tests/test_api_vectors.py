"""pipeline.KeyedVectors (vectors.WordVectors) against gensim's KeyedVectors on the same vectors: lookups,
most_similar with one or several words, analogies (3CosAdd, query words left out), similarity, and the
word2vec formats both ways."""
import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV

from pipeline import KeyedVectors

WORDS = [f"w{i}" for i in range(300)]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(ours, gensim's) on the same (300, 16) vectors, one of them a zero row; gensim reads our file."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(WORDS), 16)).astype(np.float32)
    vectors[42] = 0
    ours = KeyedVectors(WORDS, vectors)
    path = tmp_path_factory.mktemp("kv") / "v.bin"
    ours.save_word2vec_format(path, binary=True)
    return ours, GensimKV.load_word2vec_format(str(path), binary=True)


def same_ranking(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)


def test_lookups_as_gensim(pair):
    ours, kv = pair
    assert ours.index_to_key == kv.index_to_key and ours.key_to_index == kv.key_to_index
    assert ours.vector_size == kv.vector_size == 16 and len(ours) == len(kv)
    assert np.array_equal(ours["w3"], kv["w3"]) and np.array_equal(ours[["w1", "w2"]], kv[["w1", "w2"]])
    assert np.array_equal(ours.vectors, kv.vectors)
    assert "w5" in ours and "nope" not in ours
    np.testing.assert_array_equal(ours.get_vector("w9", norm=True), kv.get_vector("w9", norm=True))
    with pytest.raises(KeyError, match="nope"):
        ours["nope"]
    with pytest.raises(KeyError, match="nope"):
        ours.most_similar("nope")


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # gensim divides the zero row by 0
@pytest.mark.parametrize("positive, negative, topn, restrict_vocab", [
    ("w1", None, 10, None),
    (["w1"], [], 5, None),
    (["w1", "w2"], None, 7, None),
    (["w10", "w20"], ["w30"], 10, None),          # an analogy: w30 is to w10 as w20 is to ?
    (["w10", "w20"], ["w30"], 10, 100),
    (["w5"], ["w6", "w7"], 300, None),            # every word: the zero row ranks last
])
def test_most_similar_and_analogies_as_gensim(pair, positive, negative, topn, restrict_vocab):
    ours, kv = pair
    theirs = kv.most_similar(positive=positive, negative=negative, topn=topn, restrict_vocab=restrict_vocab)
    found = ours.most_similar(positive=positive, negative=negative, topn=topn, restrict_vocab=restrict_vocab)
    keys = [positive] if isinstance(positive, str) else list(positive) + list(negative or ())
    assert not set(keys) & {w for w, _ in found}   # the query words are left out, as in gensim
    if topn >= len(WORDS):
        assert found[-1][0] == theirs[-1][0] == "w42" and found[-1][1] == 0.0
        found, theirs = found[:-1], theirs[:-1]
    same_ranking(found, theirs)


def test_zero_query_gives_numbers(pair):
    """Where gensim's query becomes NaN (a zero vector), ours contributes nothing: finite cosines of 0."""
    ours, _ = pair
    assert [s for _, s in ours.most_similar("w42", topn=3)] == [0.0, 0.0, 0.0]


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # gensim: the zero row's 0/0
def test_all_cosines_and_similarity_as_gensim(pair):
    ours, kv = pair
    np.testing.assert_allclose(ours.most_similar("w3", topn=None)[:40], kv.most_similar("w3", topn=None)[:40],
                               atol=1e-6)
    for a, b in (("w1", "w2"), ("w7", "w7"), ("w100", "w299")):
        assert ours.similarity(a, b) == pytest.approx(float(kv.similarity(a, b)), abs=1e-6)


@pytest.mark.parametrize("binary", [True, False])
def test_word2vec_formats_round_trip(tmp_path, pair, binary):
    ours, kv = pair
    path = tmp_path / "out"
    ours.save_word2vec_format(path, binary=binary)
    back = KeyedVectors.load_word2vec_format(path)             # the format is told apart
    assert back.index_to_key == ours.index_to_key and np.array_equal(back.vectors, ours.vectors)
    assert KeyedVectors.load_word2vec_format(path, binary=binary, limit=10).index_to_key == WORDS[:10]
    theirs = GensimKV.load_word2vec_format(str(path), binary=binary)
    assert np.array_equal(theirs.vectors, ours.vectors)
