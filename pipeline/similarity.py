"""Nearest words by cosine, computed as gensim 4.4's KeyedVectors computes them (shared by both stages).

`unit_rows` normalises a (V, D) float32 table row by row; `most_similar` ranks the rows against the
normalised mean of the positive words' unit vectors minus the negative ones' (3CosAdd for an analogy
"a is to b as c is to ?": positive=[b, c], negative=[a]), leaving the query words out. The rounding follows
gensim to the letter (float64 BLAS nrm2/scal for a query, float32 products, gensim's argpartition/argsort
tie order), so rankings agree with gensim's on the same vectors; tests/test_evaluate.py and
tests/test_api_vectors.py check that. Where we differ on purpose: a zero row's cosine is reported as 0.0
(gensim: NaN), still ranked last, and a zero query vector contributes nothing.

    unit = unit_rows(vectors)
    most_similar(words, unit, ["king", "woman"], ["man"], topn=5)     # [(word, cosine), ...]

pipeline/vectors.py (WordVectors.most_similar, .similarity) and embeddings/evaluate.py use these.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import get_blas_funcs

# gensim.matutils.unitvec normalises with the float64 BLAS routines whatever the input dtype.
_dnrm2, _dscal = get_blas_funcs(("nrm2", "scal"), (np.zeros(0, dtype=np.float64),))


def unit_rows(vectors):
    """L2-normalised rows as float32 (V, D); zero rows stay zero.

    Each non-zero row is ``row / np.linalg.norm(row)`` in float32, bit-identical to gensim's
    ``get_vector(key, norm=True)``.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)[:, None]  # (V, 1) float32, as gensim's fill_norms
    unit = np.zeros_like(vectors)
    np.divide(vectors, norms, out=unit, where=norms > 0)
    return unit


def unitvec(vec):
    """gensim.matutils.unitvec for a dense vector: float64 nrm2, scale by the reciprocal, cast back."""
    veclen = _dnrm2(vec)
    if veclen > 0.0:
        return _dscal(1.0 / veclen, vec).astype(vec.dtype)
    return vec


def query_vectors(unit, ids, weights):
    """Unit query vectors (Q, D) float32 from rows `ids` (Q, K) with weights (K,), as gensim computes them.

    gensim's get_mean_vector: a float32 accumulator updated in place with float64 terms, divided by the
    total |weight| in float64, then unitvec'd (float64) and cast to float32.
    """
    mean = np.zeros((ids.shape[0], unit.shape[1]), dtype=np.float32)  # (Q, D)
    for k, weight in enumerate(weights):
        mean += np.float64(weight) * unit[ids[:, k]]
    mean = mean / np.float64(np.sum(np.abs(weights)))  # (Q, D) float64
    for q in range(mean.shape[0]):  # per-row BLAS nrm2 keeps gensim's exact rounding; cheap next to the search
        veclen = _dnrm2(mean[q])
        if veclen > 0.0:
            mean[q] *= 1.0 / veclen
    return mean.astype(np.float32)


def top_desc(neg_scores, topn):
    """Row-wise indices of the `topn` largest scores, given their negation (Q, R).

    Exactly gensim.matutils.argsort(x, topn, reverse=True), one row at a time: argpartition at kth=topn,
    then argsort of the chosen few; a full argsort when topn covers the row. NaN sorts last.
    """
    if topn >= neg_scores.shape[1]:
        return np.argsort(neg_scores, axis=1)[:, :topn]
    part = np.argpartition(neg_scores, topn, axis=1)[:, :topn]
    order = np.argsort(np.take_along_axis(neg_scores, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


# ----------------------------------------------------------------------------------------------------------
# nearest neighbours


def most_similar(words, unit, positive, negative=(), topn=10, restrict_vocab=None, index=None):
    """Words nearest to mean(unit(positive)) - ..., as gensim's ``KeyedVectors.most_similar``.

    `unit` is ``unit_rows(vectors)``; `index` maps word -> row (built from `words` when None; with repeated
    words the first row wins). Positive words weigh +1 and negative -1; the weighted mean is normalised and
    compared by cosine with the first `restrict_vocab` rows (all when None); the input words are left out.
    Returns up to `topn` (word, cosine) pairs, best first, or with `topn=None` every row's cosine (R,) as
    gensim does. Raises KeyError(word) for a word not in `words`.
    """
    if topn is not None and topn < 1:
        return []
    positive = [positive] if isinstance(positive, str) else list(positive or ())
    negative = [negative] if isinstance(negative, str) else list(negative or ())
    keys = positive + negative
    if not keys:
        raise ValueError("most_similar needs at least one word")
    if index is None:
        index = {}
        for row in range(len(words) - 1, -1, -1):
            index[words[row]] = row
    ids = []
    for word in keys:
        if word not in index:
            raise KeyError(word)
        ids.append(index[word])
    weights = np.concatenate((np.ones(len(positive)), -np.ones(len(negative))))
    query = query_vectors(unit, np.array([ids]), weights)[0]  # (D,)

    candidates = unit[:restrict_vocab] if restrict_vocab else unit  # (R, D)
    cosines = candidates @ query  # (R,)
    if topn is None:
        return cosines
    # gensim divides by the norm, so a zero row scores NaN and sorts last; rank it the same, report 0.0
    neg_scores = np.where(np.any(candidates != 0, axis=1), -cosines, np.nan)
    best = top_desc(neg_scores[None, :], topn + len(ids))[0]
    excluded = set(ids)
    return [(words[i], float(cosines[i])) for i in best if i not in excluded][:topn]
