"""Intrinsic evaluation of word vectors: word-pair similarity and 3CosAdd analogies.

Two standard checks of an embedding table, computed on plain arrays (`words`, a list of V strings in
frequency order, most frequent first, as in a word2vec file; `vectors`, a (V, D) float32 matrix):

* **Word-pair similarity** (WordSim-353, SimLex-999): the cosine of each pair's vectors against the human
  score, reported as Pearson's r and Spearman's rho (``scipy.stats``).
* **Analogies** (Mikolov et al. 2013, ``questions-words.txt``): for "a is to b as c is to ?" predict
  ``argmax_w cos(w, unit(b) + unit(c) - unit(a))`` over the vocabulary, skipping a, b and c
  (3CosAdd, the vector-offset method of word2vec.c's ``compute-accuracy``); report the accuracy.

The scores follow gensim 4.4's ``KeyedVectors.evaluate_word_pairs`` / ``evaluate_word_analogies`` /
``most_similar`` to the letter, so numbers are comparable with gensim's and the tests check them against
gensim on the same vectors. The semantics worth knowing (all gensim's):

* Only the first ``restrict_vocab`` words count as known. With ``case_insensitive`` every word is
  upper-cased and, where several casings exist, the most frequent one (the first in the list) supplies
  the vector. A pair or question with any unknown word is skipped and counted in ``oov_ratio`` (percent
  of parsed lines); lines that do not parse (wrong field count, non-numeric score) are skipped silently
  and not counted at all. Pairs files ignore lines starting with '#'.
* Analogy candidates are the first ``restrict_vocab`` rows. gensim takes the 5 best rows other than the
  rows of a, b and c, and predicts the first whose (upper-cased) word is not a, b or c; a question is
  correct when that prediction equals the expected word. Ties are broken by the same
  ``argpartition``/``argsort`` calls gensim makes (``gensim.matutils.argsort``). The only difference is
  rounding: the candidate cosines come from one float32 matrix product per block of questions instead of
  one matrix-vector product per question, so two candidates whose cosines agree to ~1e-7 may swap.
* Pair cosines use gensim's own normalisation (float64 BLAS ``nrm2``/``scal``, then float32).

Where we differ from gensim on purpose: ``most_similar`` reports a zero vector's cosine as 0.0 (gensim
reports NaN), still ranking it last as gensim does, and a zero *input* vector contributes nothing to the
query (gensim's query becomes NaN).

Run it on a vectors file::

    pipeline evaluate-embeddings --vectors runs/x/vectors.bin [--pairs FILE]... [--analogies FILE]...

or from Python: ``evaluate_all(words, vectors)`` scores the test sets that ship with gensim
(``wordsim353.tsv``, ``simlex999.txt``, ``questions-words.txt``).
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import os

import numpy as np
from scipy import stats

from ..similarity import most_similar, unit_rows  # noqa: F401  (most_similar: part of this module's surface)
from ..similarity import query_vectors as _query_vectors, top_desc as _top_desc, unitvec as _unitvec


_ANALOGY_TOPN = 5       # gensim's evaluate_word_analogies asks most_similar for 5 candidates
_BLOCK_FLOATS = 1 << 23  # scores per block of questions: 32 MB of float32
_GROUP_SIZE = 64         # columns per group when screening for the best candidates (_best_candidates)


# ----------------------------------------------------------------------------------------------------------
# shared helpers


def _ok_vocab(words, restrict_vocab, case_insensitive):
    """Map (upper-cased) word -> row over the first `restrict_vocab` words; the earliest row wins."""
    ok_keys = words[:restrict_vocab]
    ok_vocab = {}
    for index in range(len(ok_keys) - 1, -1, -1):  # reversed, so a more frequent casing overwrites
        ok_vocab[ok_keys[index].upper() if case_insensitive else ok_keys[index]] = index
    return ok_vocab


def _open_lines(path, binary=False, encoding="utf8"):
    """Open a plain or .gz/.bz2/.xz file for line iteration (text or bytes)."""
    path = os.fspath(path)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(os.path.splitext(path)[1], open)
    if binary:
        return opener(path, "rb")
    return opener(path, "rt", encoding=encoding)


# ----------------------------------------------------------------------------------------------------------
# word pairs


def evaluate_word_pairs(words, vectors, path, restrict_vocab=300000, case_insensitive=True, delimiter="\t"):
    """Correlation of pair cosines with human scores in a `word1<delim>word2<delim>score` file.

    Returns {"pearson", "spearman", "oov_ratio" (percent), "pairs_used", "pairs_total"} exactly as
    gensim's ``evaluate_word_pairs`` would compute them (pairs_total counts parsed lines, used or OOV).
    Raises ValueError when no pair is usable.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    ok_vocab = _ok_vocab(words, restrict_vocab, case_insensitive)
    gold, model = [], []  # human score (float), model cosine (np.float32), like gensim's lists
    oov = 0
    with _open_lines(path) as fin:
        for line in fin:
            if not line or line.startswith("#"):
                continue
            try:
                fields = line.split(delimiter)
                if case_insensitive:
                    fields = [field.upper() for field in fields]
                a, b, score = fields
                score = float(score)
            except (ValueError, TypeError):
                continue  # gensim skips lines that do not parse, without counting them
            if a not in ok_vocab or b not in ok_vocab:
                oov += 1
                continue
            gold.append(score)
            model.append(np.dot(_unitvec(vectors[ok_vocab[a]]), _unitvec(vectors[ok_vocab[b]])))
    if not gold:
        raise ValueError(f"no usable word pairs in {os.fspath(path)}: wrong format or all out of vocabulary")
    spearman = stats.spearmanr(gold, model)
    pearson = stats.pearsonr(gold, model)
    return {
        "pearson": float(pearson[0]),
        "spearman": float(spearman[0]),
        "oov_ratio": float(oov) / (len(gold) + oov) * 100,
        "pairs_used": len(gold),
        "pairs_total": len(gold) + oov,
    }


# ----------------------------------------------------------------------------------------------------------
# analogies


def _read_analogies(path, case_insensitive):
    """Parse ': section' headers and 'a b c d' lines -> (section names, [(section_no, a, b, c, d)])."""
    sections, questions = [], []
    with _open_lines(path, binary=True) as fin:
        for line_no, raw in enumerate(fin):
            line = raw.decode("utf8")
            if line.startswith(": "):
                sections.append(line.lstrip(": ").strip())
                continue
            if not sections:
                raise ValueError(f"missing section header before line #{line_no} in {os.fspath(path)}")
            fields = line.split()
            if len(fields) != 4:
                continue  # gensim skips invalid lines without counting them
            if case_insensitive:
                fields = [field.upper() for field in fields]
            questions.append((len(sections) - 1, *fields))
    return sections, questions


def evaluate_word_analogies(words, vectors, path, restrict_vocab=300000, case_insensitive=True):
    """3CosAdd accuracy on an analogy file split into sections by ': name' lines.

    Returns {"accuracy", "correct", "incorrect", "sections": [{"section", "correct", "incorrect"}, ...],
    "oov_ratio" (percent), "questions_used", "questions_total"} with gensim's ``evaluate_word_analogies``
    semantics; `sections` lists the file's sections only (gensim's extra "Total accuracy" entry is the
    top-level correct/incorrect/accuracy). Accuracy is 0.0 when no question is usable, as in gensim.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    ok_vocab = _ok_vocab(words, restrict_vocab, case_insensitive)
    section_names, questions = _read_analogies(path, case_insensitive)
    if not questions:
        raise ValueError(f"no analogy questions in {os.fspath(path)}")
    usable = [q for q in questions if all(word in ok_vocab for word in q[1:])]
    correct = np.zeros(len(section_names), dtype=np.int64)
    incorrect = np.zeros(len(section_names), dtype=np.int64)

    if usable:
        ids = np.array([[ok_vocab[q[1]], ok_vocab[q[2]], ok_vocab[q[3]]] for q in usable])  # (Q, 3) a, b, c
        # query = unit(unit(b) + unit(c) - unit(a)); gensim's key order is positive=[b, c], negative=[a]
        queries = _query_vectors(unit_rows(vectors), ids[:, [1, 2, 0]], np.array([1.0, 1.0, -1.0]))  # (Q, D)
        candidates = vectors[:restrict_vocab] if restrict_vocab else vectors  # (R, D)
        n_best = _ANALOGY_TOPN + ids.shape[1]  # gensim over-fetches by the number of input words
        for start, best in _best_candidates(queries, candidates, n_best):
            for q, row in enumerate(best.tolist()):
                section_no, a, b, c, expected = usable[start + q]
                excluded = set(ids[start + q].tolist())  # rows of a, b, c (their most frequent casing)
                ignore = {a, b, c}  # ... and any casing of them
                predicted = None
                for index in [i for i in row if i not in excluded][:_ANALOGY_TOPN]:
                    predicted = words[index].upper() if case_insensitive else words[index]
                    if predicted in ok_vocab and predicted not in ignore:
                        break
                if predicted == expected:  # when all 5 are ignored, gensim compares the last one
                    correct[section_no] += 1
                else:
                    incorrect[section_no] += 1

    total_correct, total_incorrect = int(correct.sum()), int(incorrect.sum())
    answered = total_correct + total_incorrect
    return {
        "accuracy": total_correct / answered if answered else 0.0,
        "correct": total_correct,
        "incorrect": total_incorrect,
        "sections": [
            {"section": name, "correct": int(correct[s]), "incorrect": int(incorrect[s])}
            for s, name in enumerate(section_names)
        ],
        "oov_ratio": float(len(questions) - len(usable)) / len(questions) * 100,
        "questions_used": len(usable),
        "questions_total": len(questions),
    }


def _best_candidates(queries, candidates, n_best):
    """Yield (start, best) per block of queries: best (B, n_best) rows of `candidates`, best first.

    Scores are gensim's float32 ``dot(vectors, query) / norms``, one matrix product per block of queries,
    and `best` is what ``matutils.argsort(scores, n_best, reverse=True)`` returns for each row.
    The product (2 * Q * R * D flops) dominates the run time. TODO: the Google set has only ~900 distinct
    words, so scoring them once ((R, 905) products) and adding three columns per question would cut the
    flops 20-fold, at the price of an (R, distinct words) buffer that needs slicing for large vocabularies.
    """
    n_rows = len(candidates)
    norms = np.linalg.norm(candidates, axis=1)  # (R,) float32, as gensim's fill_norms
    zero_cols = np.flatnonzero(norms == 0)
    screen = n_rows > 4 * _GROUP_SIZE * (n_best + 1)  # small vocabularies: plain argpartition is cheap enough
    if screen:  # pad with zero rows to whole groups
        width = -(-n_rows // _GROUP_SIZE) * _GROUP_SIZE
        candidates = np.concatenate((candidates, np.zeros((width - n_rows, candidates.shape[1]), np.float32)))
        zero_cols = np.concatenate((zero_cols, np.arange(n_rows, width)))
    safe_norms = np.ones(len(candidates), dtype=np.float32)  # (R',)
    safe_norms[:n_rows] = np.where(norms == 0, np.float32(1), norms)
    block = max(1, _BLOCK_FLOATS // len(candidates))
    for start in range(0, len(queries), block):
        scores = queries[start:start + block] @ candidates.T  # (B, R')
        scores /= safe_norms
        scores[:, zero_cols] = -np.inf  # gensim: 0/0 = NaN, which sorts last
        if screen:
            yield start, _select_best(scores, n_rows, zero_cols, n_best)
        else:
            yield start, _top_desc(_gensim_negated(scores, zero_cols), n_best)


def _select_best(scores, n_rows, zero_cols, n_best):
    """matutils.argsort(row, n_best, reverse=True) for each row of scores (B, R'), R' a multiple of _GROUP_SIZE.

    Columns from n_rows on and `zero_cols` hold -inf (gensim has NaN there). A full argpartition of every
    row costs more than the matrix product, so rows are screened: columns are split into interleaved
    groups of _GROUP_SIZE; nothing outside the n_best + 1 groups with the largest maxima can beat the
    (n_best + 1)-th best score inside them, so when the n_best + 1 best scores found there are strictly
    decreasing the answer is unique and argpartition would return it too. Rows with a tie there go
    through gensim's argpartition unchanged.
    """
    n_queries, width = scores.shape
    n_groups = width // _GROUP_SIZE  # G'; group g holds the columns g, g + G', g + 2G', ...
    group_max = scores.reshape(n_queries, _GROUP_SIZE, n_groups).max(axis=1)  # (B, G')
    groups = np.argpartition(-group_max, n_best, axis=1)[:, :n_best + 1]  # (B, n_best + 1)
    cols = (groups[:, :, None] + n_groups * np.arange(_GROUP_SIZE)).reshape(n_queries, -1)
    pool = np.take_along_axis(scores, cols, axis=1)  # (B, (n_best + 1) * _GROUP_SIZE)
    top = np.argpartition(-pool, n_best, axis=1)[:, :n_best + 1]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(pool, top, axis=1), axis=1), axis=1)
    top_scores = np.take_along_axis(pool, top, axis=1)  # (B, n_best + 1), descending
    best = np.take_along_axis(cols, top[:, :n_best], axis=1)  # (B, n_best)
    tied = np.flatnonzero(~np.all(top_scores[:, :-1] > top_scores[:, 1:], axis=1))
    if len(tied):
        real_zero_cols = zero_cols[zero_cols < n_rows]
        best[tied] = _top_desc(_gensim_negated(scores[tied][:, :n_rows], real_zero_cols), n_best)
    return best


def _gensim_negated(scores, zero_cols):
    """-scores with NaN in zero-vector columns: the array gensim hands to argpartition."""
    negated = -scores
    negated[:, zero_cols] = np.nan
    return negated


# ----------------------------------------------------------------------------------------------------------
# everything at once


def evaluate_all(words, vectors, restrict_vocab=300000):
    """WordSim-353 and SimLex-999 Spearman, Google analogy accuracy, on the files bundled with gensim.

    Returns {"wordsim353", "simlex999", "analogy", "details": {name: full result}}. A score is None
    (and details[name] holds {"error": message}) when the set has no usable item for this vocabulary.
    """
    from gensim.test.utils import datapath  # only for the bundled test files

    vectors = np.asarray(vectors, dtype=np.float32)
    scores, details = {}, {}
    for name, filename in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        try:
            details[name] = evaluate_word_pairs(words, vectors, datapath(filename), restrict_vocab)
            scores[name] = details[name]["spearman"]
        except ValueError as error:
            scores[name], details[name] = None, {"error": str(error)}
    details["analogy"] = evaluate_word_analogies(words, vectors, datapath("questions-words.txt"), restrict_vocab)
    scores["analogy"] = details["analogy"]["accuracy"] if details["analogy"]["questions_used"] else None
    return {**scores, "details": details}


def evaluate_files(words, vectors, pairs=(), analogies=(), restrict_vocab=300000):
    """{file name: result} of every word-pair file in `pairs` (evaluate_word_pairs) and analogy file in
    `analogies` (evaluate_word_analogies); with neither, the sets that ship with gensim (WordSim-353,
    SimLex-999, Google analogies). UserError for a missing file or one without a usable item."""
    from pathlib import Path

    from ..errors import UserError
    from ..text import gensim_data
    if not pairs and not analogies:
        pairs = [gensim_data("wordsim353.tsv"), gensim_data("simlex999.txt")]
        analogies = [gensim_data("questions-words.txt")]
    for f in list(pairs) + list(analogies):
        if not Path(f).is_file():
            raise UserError(f"evaluation file not found: {f}")
    scores = {}
    try:
        for f in pairs:
            scores[Path(f).name] = evaluate_word_pairs(words, vectors, f, restrict_vocab=restrict_vocab)
        for f in analogies:
            scores[Path(f).name] = evaluate_word_analogies(words, vectors, f, restrict_vocab=restrict_vocab)
    except ValueError as exc:
        raise UserError(f"{exc}; check the file's format") from None
    return scores
