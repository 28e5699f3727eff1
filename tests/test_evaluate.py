"""pipeline.embeddings.evaluate against gensim 4.4 on the same vectors, plus hand-made files.

The reference vectors are a small gensim skip-gram model of the Lee corpus, tokenised on whitespace
without lower-casing, so the vocabulary holds several casings of a word ("The"/"the") and the
case-insensitive lookups are exercised. The corpus is small: most benchmark items are OOV, which is fine.
"""
import math

import numpy as np
import pytest
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.word2vec import LineSentence
from gensim.test.utils import datapath

from pipeline.embeddings import evaluate as ev

PAIR_FILES = ["wordsim353.tsv", "simlex999.txt"]
SETTINGS = [(300000, True), (500, True), (300000, False)]  # (restrict_vocab, case_insensitive)


@pytest.fixture(scope="module")
def wv():
    model = Word2Vec(
        LineSentence(datapath("lee_background.cor")),
        sg=1, negative=5, vector_size=50, min_count=2, epochs=3, seed=1, workers=1,
    )
    return model.wv


def _keyed_vectors(words, vectors):
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(list(words), vectors)
    return kv


# ------------------------------------------------------------------------------------------------------
# word pairs


@pytest.mark.parametrize("restrict_vocab,case_insensitive", SETTINGS)
@pytest.mark.parametrize("filename", PAIR_FILES)
def test_word_pairs_match_gensim(wv, filename, restrict_vocab, case_insensitive):
    pearson, spearman, oov_ratio = wv.evaluate_word_pairs(
        datapath(filename), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    ours = ev.evaluate_word_pairs(
        wv.index_to_key, wv.vectors, datapath(filename), restrict_vocab, case_insensitive)
    assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert ours["spearman"] == pytest.approx(spearman[0], abs=1e-6)
    assert ours["oov_ratio"] == pytest.approx(oov_ratio, abs=1e-6)
    assert ours["pairs_total"] == (353 if filename == "wordsim353.tsv" else 999)
    assert ours["pairs_used"] == round(ours["pairs_total"] * (1 - oov_ratio / 100))
    assert ours["pairs_used"] >= 3


def test_word_pairs_known_answers(tmp_path):
    words = ["a", "b", "c", "d", "A"]
    vectors = np.array([[1, 0], [1, 1], [0, 1], [-1, 0.5], [5, 5]], dtype=np.float32)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(
        "# a comment\n"
        "Word 1\tWord 2\tHuman (mean)\n"  # header: the score does not parse, skipped and not counted
        "a\tb\t7.0\n"                     # cos 0.7071
        "a\tc\t1.0\n"                     # cos 0
        "b\tc\t8\n"                       # cos 0.7071
        "a\td\t0.5\n"                     # cos -0.894
        "a\tzzz\t3.0\n"                   # OOV
        "a\tb\tc\t9.0\n"                  # four fields: skipped
        "\n",                             # empty line: skipped
        encoding="utf8",
    )
    result = ev.evaluate_word_pairs(words, vectors, pairs)
    model = [math.sqrt(0.5), 0.0, math.sqrt(0.5), -1 / math.sqrt(1.25)]
    assert result["pairs_used"] == 4 and result["pairs_total"] == 5
    assert result["oov_ratio"] == pytest.approx(20.0)
    assert result["pearson"] == pytest.approx(np.corrcoef([7, 1, 8, 0.5], model)[0, 1], abs=1e-6)
    assert result["spearman"] == pytest.approx(np.corrcoef([3, 2, 4, 1], [3.5, 2, 3.5, 1])[0, 1], abs=1e-6)
    # case-insensitively "A" maps to the more frequent "a"; case-sensitively "A" is its own word
    (tmp_path / "upper.tsv").write_text("A\tb\t1\nA\tc\t2\nA\td\t3\n", encoding="utf8")
    insensitive = ev.evaluate_word_pairs(words, vectors, tmp_path / "upper.tsv")
    sensitive = ev.evaluate_word_pairs(words, vectors, tmp_path / "upper.tsv", case_insensitive=False)
    cos_a = [math.sqrt(0.5), 0.0, -1 / math.sqrt(1.25)]     # a against b, c, d
    cos_upper_a = [1.0, math.sqrt(0.5), -0.5 / math.sqrt(2.5)]  # A against b, c, d
    assert insensitive["pearson"] == pytest.approx(np.corrcoef([1, 2, 3], cos_a)[0, 1], abs=1e-6)
    assert sensitive["pearson"] == pytest.approx(np.corrcoef([1, 2, 3], cos_upper_a)[0, 1], abs=1e-6)


def test_unparsable_pairs_file_raises_like_gensim(wv, tmp_path):
    # the original SimLex-999.txt layout (ten columns, no '#') parses in neither gensim nor here
    path = tmp_path / "SimLex-999.txt"
    path.write_text("word1\tword2\tPOS\tSimLex999\nold\tnew\tA\t1.58\n", encoding="utf8")
    with pytest.raises(ValueError):
        wv.evaluate_word_pairs(str(path))
    with pytest.raises(ValueError):
        ev.evaluate_word_pairs(wv.index_to_key, wv.vectors, path)


# ------------------------------------------------------------------------------------------------------
# analogies


def _gensim_sections(analogy_result):
    """gensim's (score, sections) -> (score, [(name, correct, incorrect)]) without its Total entry."""
    score, sections = analogy_result
    assert sections[-1]["section"] == "Total accuracy"
    return score, [(s["section"], len(s["correct"]), len(s["incorrect"])) for s in sections[:-1]]


def _assert_analogies_match(kv, words, vectors, path, restrict_vocab, case_insensitive):
    score, sections = _gensim_sections(kv.evaluate_word_analogies(
        str(path), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive))
    # with dummy4unknown gensim counts OOV questions as incorrect: the difference is the OOV count
    _, with_oov = _gensim_sections(kv.evaluate_word_analogies(
        str(path), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive, dummy4unknown=True))
    ours = ev.evaluate_word_analogies(words, vectors, path, restrict_vocab, case_insensitive)
    assert ours["accuracy"] == pytest.approx(score, abs=1e-6)
    assert [(s["section"], s["correct"], s["incorrect"]) for s in ours["sections"]] == sections
    used = sum(c + i for _, c, i in sections)
    total = sum(c + i for _, c, i in with_oov)
    assert (ours["questions_used"], ours["questions_total"]) == (used, total)
    assert ours["oov_ratio"] == pytest.approx((total - used) / total * 100, abs=1e-6)
    return ours


@pytest.mark.parametrize("restrict_vocab,case_insensitive", SETTINGS)
def test_analogies_match_gensim(wv, restrict_vocab, case_insensitive):
    ours = _assert_analogies_match(
        wv, wv.index_to_key, wv.vectors, datapath("questions-words.txt"), restrict_vocab, case_insensitive)
    assert ours["questions_total"] == 19544 and len(ours["sections"]) == 14
    assert ours["questions_used"] > 0


@pytest.mark.parametrize("restrict_vocab,case_insensitive", SETTINGS)
def test_analogy_predictions_match_gensim_one_by_one(wv, tmp_path, restrict_vocab, case_insensitive):
    """One question per section, half of them expecting gensim's own answer: per-question agreement."""
    rng = np.random.default_rng(0)
    words = wv.index_to_key
    cased = [w for w in words[:1500] if w.lower() != w and w.lower() in wv.key_to_index]  # "The", "Mr"...
    lines, n_expect_correct = [], 0
    for q in range(300):
        pool = cased if q % 3 == 0 else words[:1500]  # a third of the questions use casing variants
        a, b, c = (pool[i] for i in rng.choice(len(pool), 3, replace=False))
        if q % 2 == 0:
            expected = wv.most_similar(positive=[b, c], negative=[a], topn=1)[0][0]  # gensim's answer
            n_expect_correct += 1
        else:
            expected = words[rng.integers(1500)]
        lines += [f": q{q}", f"{a} {b} {c} {expected}"]
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    ours = _assert_analogies_match(wv, words, wv.vectors, path, restrict_vocab, case_insensitive)
    if restrict_vocab > len(words) and not case_insensitive:
        assert ours["correct"] >= n_expect_correct


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # gensim divides 0 by 0
def test_analogies_known_answers(tmp_path):
    # king - man + woman = queen in a 3-d toy space; "Queen" is a rarer casing of "queen"
    words = ["man", "woman", "king", "queen", "apple", "pear", "Queen", "zero"]
    vectors = np.array([
        [1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [-1, -1, 0], [-1, -1, 0.2], [0, 1, 1.1], [0, 0, 0],
    ], dtype=np.float32)
    path = tmp_path / "analogies.txt"
    path.write_text(
        ": royalty\n"
        "man woman king queen\n"      # correct
        "man woman king apple\n"      # incorrect
        "MAN WOMAN KING QUEEN\n"      # correct only case-insensitively
        "man woman king\n"            # three words: skipped, not counted
        ": fruit\n"
        "apple pear man unknown\n"    # OOV
        "apple man pear queen\n",     # pear - apple + man points to "king": incorrect
        encoding="utf8",
    )
    result = ev.evaluate_word_analogies(words, vectors, path)
    assert [(s["section"], s["correct"], s["incorrect"]) for s in result["sections"]] == [
        ("royalty", 2, 1), ("fruit", 0, 1)]
    assert (result["correct"], result["incorrect"]) == (2, 2)
    assert result["accuracy"] == pytest.approx(2 / 4)
    assert (result["questions_used"], result["questions_total"]) == (4, 5)
    assert result["oov_ratio"] == pytest.approx(20.0)
    sensitive = ev.evaluate_word_analogies(words, vectors, path, case_insensitive=False)
    assert (sensitive["correct"], sensitive["incorrect"], sensitive["questions_used"]) == (1, 2, 3)
    # the same answers as gensim, including the casing subtleties
    kv = _keyed_vectors(words, vectors)
    _assert_analogies_match(kv, words, vectors, path, 300000, True)
    _assert_analogies_match(kv, words, vectors, path, 300000, False)

    # a zero input vector contributes nothing (gensim's query would be all NaN): pear - apple -> +z -> Queen
    path.write_text(": zero\napple pear zero queen\n", encoding="utf8")
    assert ev.evaluate_word_analogies(words, vectors, path)["correct"] == 1
    assert ev.evaluate_word_analogies(words, vectors, path, case_insensitive=False)["correct"] == 0


def test_analogies_need_a_section_header(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a b c d\n", encoding="utf8")
    with pytest.raises(ValueError, match="section header"):
        ev.evaluate_word_analogies(["a", "b", "c", "d"], np.eye(4, dtype=np.float32), path)


def test_screened_selection_equals_gensim_argsort_with_ties():
    """The group screen returns exactly matutils.argsort's answer, ties and zero rows included."""
    from gensim import matutils

    rng = np.random.default_rng(3)
    n_rows, width, n_best = 3000, 3008, 8
    scores = rng.integers(-200, 200, size=(400, width)).astype(np.float32) / 64  # many exact ties
    scores[:200] += rng.standard_normal((200, width)).astype(np.float32)          # and rows without
    scores[50:60, 5:20] = 40.0                                                  # a tie for the top
    zero_cols = np.concatenate(([7, 1000], np.arange(n_rows, width)))
    scores[:, zero_cols] = -np.inf
    found = ev._select_best(scores, n_rows, zero_cols, n_best)
    gensim_scores = scores[:, :n_rows].copy()
    gensim_scores[:, [7, 1000]] = np.nan  # what gensim's 0/0 gives
    expected = np.array([matutils.argsort(row, topn=n_best, reverse=True) for row in gensim_scores])
    np.testing.assert_array_equal(found, expected)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # gensim divides 0 by 0
def test_batched_search_matches_gensim_most_similar():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((5000, 16)).astype(np.float32)
    vectors[[3, 4000]] = 0
    kv = _keyed_vectors([f"w{i}" for i in range(5000)], vectors)
    ids = rng.integers(0, 5000, size=(64, 3))
    ids = ids[~np.isin(ids, [3, 4000]).any(axis=1)]
    queries = ev._query_vectors(ev.unit_rows(vectors), ids[:, [1, 2, 0]], np.array([1.0, 1.0, -1.0]))
    found = np.concatenate([best for _, best in ev._best_candidates(queries, vectors, 8)])
    for (a, b, c), row in zip(ids, found):
        expected = kv.most_similar(positive=[f"w{b}", f"w{c}"], negative=[f"w{a}"], topn=5)
        assert [f"w{i}" for i in row if i not in (a, b, c)][:5] == [w for w, _ in expected]


# ------------------------------------------------------------------------------------------------------
# nearest neighbours, zero vectors, everything at once


@pytest.mark.parametrize("positive,negative,topn,restrict_vocab", [
    (["fire"], [], 10, None),
    (["Australia"], [], 5, None),
    (["man", "king"], ["woman"], 10, None),
    (["fire", "water"], ["the"], 20, 1000),
    (["the"], [], 3, 50),
])
def test_most_similar_matches_gensim(wv, positive, negative, topn, restrict_vocab):
    expected = wv.most_similar(positive=positive, negative=negative, topn=topn, restrict_vocab=restrict_vocab)
    unit = ev.unit_rows(wv.vectors)
    ours = ev.most_similar(wv.index_to_key, unit, positive, negative, topn=topn, restrict_vocab=restrict_vocab)
    assert [w for w, _ in ours] == [w for w, _ in expected]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in expected], atol=1e-5)


def test_most_similar_unknown_word(wv):
    with pytest.raises(KeyError, match="no-such-word"):
        ev.most_similar(wv.index_to_key, ev.unit_rows(wv.vectors), ["fire", "no-such-word"])


def test_zero_vector_gives_no_nan():
    words = ["a", "b", "zero", "c"]
    vectors = np.array([[1, 0], [0.6, 0.8], [0, 0], [-1, 0.1]], dtype=np.float32)
    unit = ev.unit_rows(vectors)
    assert np.isfinite(unit).all() and not unit[2].any()
    np.testing.assert_allclose(np.linalg.norm(unit[[0, 1, 3]], axis=1), 1, rtol=1e-6)
    neighbours = ev.most_similar(words, unit, ["a"], topn=3)
    assert [w for w, _ in neighbours] == ["b", "c", "zero"]  # the zero row ranks last, as in gensim
    assert all(np.isfinite(s) for _, s in neighbours) and neighbours[-1][1] == 0.0
    assert all(np.isfinite(s) for _, s in ev.most_similar(words, unit, ["zero"], topn=3))


def test_evaluate_all(wv):
    result = ev.evaluate_all(wv.index_to_key, wv.vectors)
    details = result["details"]
    assert result["wordsim353"] == details["wordsim353"]["spearman"]
    assert result["simlex999"] == details["simlex999"]["spearman"]
    assert result["analogy"] == details["analogy"]["accuracy"]
    assert result["simlex999"] == pytest.approx(wv.evaluate_word_pairs(datapath("simlex999.txt"))[1][0], abs=1e-6)
    nothing = ev.evaluate_all(["qqq", "rrr"], np.ones((2, 4), dtype=np.float32))
    assert nothing["wordsim353"] is None and nothing["analogy"] is None
