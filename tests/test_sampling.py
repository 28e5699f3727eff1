"""Sampling tables: keep probabilities and noise distribution against the formulas and gensim;
the alias table against its own probabilities, exactly and by drawing from the jitted sampler."""

import numpy as np
import pytest
from numba import njit

from pipeline.embeddings import kernels, sampling


@pytest.fixture(scope="module")
def gensim_lee():
    """gensim's vocabulary, sample_int and cum_table on its bundled Lee corpus."""
    gensim = pytest.importorskip("gensim")
    from gensim.test.utils import datapath
    from gensim.utils import simple_preprocess

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        sentences = [simple_preprocess(line) for line in f]
    model = gensim.models.Word2Vec(sg=1, hs=0, negative=5, min_count=3, sample=1e-3)
    model.build_vocab(sentences)
    counts = np.array([model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key],
                      dtype=np.int64)
    return model, counts


def test_keep_probabilities_formula():
    counts = np.array([1000, 100, 10, 1], dtype=np.int64)
    sample = 1e-2
    threshold = sample * counts.sum()                     # 11.11
    expected = [min(1.0, (np.sqrt(c / threshold) + 1) * threshold / c) for c in counts]
    np.testing.assert_allclose(sampling.keep_probabilities(counts, sample), expected, rtol=1e-15)
    assert sampling.keep_probabilities(counts, 0.0).tolist() == [1.0] * 4
    # Frequent words are kept less often; the rare ones always.
    p = sampling.keep_probabilities(counts, sample)
    assert np.all(np.diff(p) >= 0) and p[-1] == 1.0 and p[0] < 0.2


def test_keep_thresholds_extremes():
    thresholds = sampling.keep_thresholds(np.array([1.0, 0.5, 0.0]))
    assert thresholds.dtype == np.uint32
    assert thresholds.tolist() == [2**32 - 1, 2**31 - 1, 0]


def test_keep_probabilities_match_gensim(gensim_lee):
    model, counts = gensim_lee
    sample_int = model.wv.expandos["sample_int"].astype(np.int64)  # gensim vocabulary order
    p = sampling.keep_probabilities(counts, 1e-3)
    assert (p < 1).sum() > 10                                      # the test means something
    # gensim keeps a word when a 32-bit draw r <= sample_int: probability (sample_int + 1) / 2**32.
    assert np.max(np.abs(p - (sample_int + 1) / 2**32)) <= 1 / 2**32
    np.testing.assert_array_equal(sampling.keep_thresholds(p).astype(np.int64), sample_int)


def test_noise_probabilities_match_gensim_cum_table(gensim_lee):
    model, counts = gensim_lee
    cum = model.cum_table.astype(np.float64)
    gensim_probs = np.diff(np.concatenate([[0.0], cum])) / cum[-1]
    probs = sampling.noise_probabilities(counts, 0.75)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    # every word, rare ones included: 1e-5 relative, or 2 steps of gensim's integer table (domain 2**31 - 1)
    np.testing.assert_allclose(probs, gensim_probs, rtol=1e-5, atol=2 ** -30)


def implied_distribution(alias_prob, alias_index):
    """P(w) = (alias_prob[w] + sum over columns aliasing to w of (1 - alias_prob)) / V."""
    V = alias_prob.size
    implied = alias_prob.copy()
    np.add.at(implied, alias_index, 1.0 - alias_prob)
    return implied / V


@pytest.mark.parametrize("V", [1, 2, 7, 100, 5000])
def test_alias_table_reconstructs_probabilities(V):
    counts = np.random.default_rng(V).zipf(1.3, size=V).clip(1, 10**7)
    probs = sampling.noise_probabilities(counts)
    alias_prob, alias_index = sampling.alias_table(probs)
    assert alias_prob.dtype == np.float64 and alias_index.dtype == np.int32
    assert np.all((alias_prob >= 0) & (alias_prob <= 1))
    assert np.all((alias_index >= 0) & (alias_index < V))
    np.testing.assert_allclose(implied_distribution(alias_prob, alias_index), probs,
                               rtol=1e-12, atol=1e-15)


@njit(cache=True)
def _histogram_of_draws(noise_prob, noise_index, n_draws, rng_state):
    hist = np.zeros(noise_prob.shape[0], dtype=np.int64)
    for _ in range(n_draws):
        word, rng_state = kernels.draw_noise(noise_prob, noise_index, rng_state)
        hist[word] += 1
    return hist


def test_jitted_alias_draws_match_distribution():
    counts = np.array([5000, 1200, 800, 300, 90, 40, 7, 3, 1, 1], dtype=np.int64)
    probs = sampling.noise_probabilities(counts)
    noise_prob, noise_index = sampling.alias_table(probs)
    n = 2_000_000
    hist = _histogram_of_draws(noise_prob, noise_index, n, np.uint64(12345))
    expected = n * probs
    # Each count is binomial: within 5 standard deviations (a false alarm ~1e-6 per word).
    sd = np.sqrt(n * probs * (1 - probs))
    assert np.all(np.abs(hist - expected) <= 5 * sd + 1), (hist, expected)
    # And the chi-square statistic is sane for 9 degrees of freedom (p ~ 1e-6 cut-off).
    chi2 = np.sum((hist - expected) ** 2 / expected)
    assert chi2 < 45
