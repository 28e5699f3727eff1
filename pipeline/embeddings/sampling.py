"""Sampling tables for skip-gram with negative sampling, built once per vocabulary.

Pure NumPy. Every table is indexed by word id in the vocabulary's order (V words):

- ``keep_probabilities`` / ``keep_thresholds``: word2vec's frequent-word sub-sampling
  (Mikolov et al. 2013, section 2.3, in the form word2vec.c and gensim actually use).
- ``noise_probabilities``: the negative-sampling noise distribution, unigram counts to the 3/4.
- ``alias_table``: Vose's alias method, so the kernel draws a noise word in O(1) with one
  random 64-bit number, instead of word2vec.c's 100M-entry unigram table or gensim's
  bisection over a cumulative table (``cum_table``).

Choice of sampler, by measurement (single thread, CPU time, first 300k tokens of the 7.7M-token
corpus, V=56k, D=100, on a shared and heavily loaded 2-core machine): alias 0.099 M words/s
(median of 3) against 0.096 for bisection over a float64 cumulative table like gensim's; the
difference is within noise, so the alias table stays for its O(1) draw with a single random number
and two table reads.

Usage::

    keep = keep_thresholds(keep_probabilities(counts, sample=1e-3))   # uint32[V]
    noise_prob, noise_index = alias_table(noise_probabilities(counts))  # float64[V], int32[V]
"""

import numpy as np


def keep_probabilities(counts, sample):
    """Probability of keeping one occurrence of each word, as gensim 4.4's ``prepare_vocab``.

    With c the word's count and T the total count of the retained vocabulary:

        threshold = sample * T                     if 0 < sample < 1
                  = int(sample * (3 + sqrt 5) / 2) if sample >= 1  (gensim's shorthand)
                  = T                              if sample == 0  (keeps every word)
        p(c)      = min(1, (sqrt(c / threshold) + 1) * threshold / c)

    counts: int64[V] (all > 0). Returns float64[V] in (0, 1].
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1 or (counts.size and counts.min() <= 0):
        raise ValueError("counts must be a 1-d array of positive integers")
    if sample < 0:
        raise ValueError(f"sample must be >= 0, got {sample}")
    total = int(counts.sum())
    if not sample:
        threshold = float(total)
    elif sample < 1.0:
        threshold = sample * total
    else:
        threshold = float(int(sample * (3 + np.sqrt(5)) / 2))
    c = counts.astype(np.float64)
    # Same operation order as gensim, so the float64 results are bit-identical.
    p = (np.sqrt(c / threshold) + 1) * (threshold / c)
    return np.minimum(p, 1.0)


def keep_thresholds(keep_prob):
    """Integer form of ``keep_prob`` for the kernel: uint32[V], gensim's ``sample_int``.

        keep_threshold = floor(p * (2**32 - 1))

    The kernel keeps a word when a uniform 32-bit draw r in [0, 2**32) has r <= keep_threshold,
    so the realised keep probability is (keep_threshold + 1) / 2**32, within one 2**-32 step
    of p; p == 1 gives 2**32 - 1, which always keeps.
    """
    keep_prob = np.asarray(keep_prob, dtype=np.float64)
    return (keep_prob * (2**32 - 1)).astype(np.uint32)


def noise_probabilities(counts, exponent=0.75):
    """Noise distribution for negative sampling: P(w) = c_w**exponent / sum_v c_v**exponent.

    counts: int64[V]. Returns float64[V] summing to 1.
    """
    weights = np.asarray(counts, dtype=np.float64) ** float(exponent)
    total = weights.sum()
    if not total > 0:
        raise ValueError("noise distribution needs at least one positive count")
    return weights / total


def alias_table(probs):
    """Vose's alias table for drawing from ``probs`` in O(1).

    Draw: pick a column i uniformly in [0, V), then return i with probability alias_prob[i],
    otherwise alias_index[i]. The implied distribution is

        P(w) = (alias_prob[w] + sum_{i : alias_index[i] == w} (1 - alias_prob[i])) / V

    which equals ``probs`` up to float64 rounding (tests reconstruct it).

    probs: float64[V], non-negative, summing to 1.
    Returns (alias_prob float64[V], alias_index int32[V]); a column that never needs an alias
    has alias_prob 1 and points at itself.
    """
    probs = np.asarray(probs, dtype=np.float64)
    n = probs.size
    if n == 0:
        raise ValueError("alias table needs at least one probability")
    scaled = probs * (n / probs.sum())          # mean 1: a column is "full" at 1
    alias_prob = np.ones(n, dtype=np.float64)
    alias_index = np.arange(n, dtype=np.int32)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s = small.pop()
        g = large.pop()
        alias_prob[s] = scaled[s]
        alias_index[s] = g
        # The large column gives away (1 - scaled[s]) of its mass to fill column s.
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    # Leftovers are 1 up to rounding: they keep themselves (alias_prob 1, own index).
    return alias_prob, alias_index

