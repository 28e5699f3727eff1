"""SGNS kernels: gradient check, a NumPy reference of training (RNG, sub-sampling, windows, noise draws and
updates) against the kernels training calls, loss, determinism, behaviour on a toy corpus, sentence boundaries
and sub-sampling order."""

import numpy as np
import pytest

from pipeline.embeddings import kernels, sampling


# ----------------------------------------------------------------------------- NumPy reference

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def pair_loss(W_in, W_out, input_word, output_word, negatives):
    """-log sigma(u . v) - sum_n log sigma(-u_n . v), skipping negatives equal to the output."""
    v = W_in[input_word]
    loss = -np.log(sigmoid(W_out[output_word] @ v))
    for n in negatives:
        if n != output_word:
            loss -= np.log(sigmoid(-W_out[n] @ v))
    return loss


def reference_update(W_in, W_out, input_word, output_word, negatives, alpha):
    """Slow, obvious SGNS step in gensim's order: targets one after another, each accumulating
    its input gradient from the output row before moving that row; W_in moves last.
    Returns the new matrices and the loss summed target by target as the kernel sees them
    (a noise word drawn twice is scored the second time after its first update)."""
    W_in, W_out = W_in.copy(), W_out.copy()
    v = W_in[input_word].copy()
    grad_in = np.zeros_like(v)
    loss = 0.0
    targets = [(output_word, 1.0)] + [(n, 0.0) for n in negatives if n != output_word]
    for target, label in targets:
        f = W_out[target] @ v
        loss -= np.log(sigmoid(f) if label else sigmoid(-f))
        g = alpha * (label - sigmoid(f))
        grad_in += g * W_out[target]
        W_out[target] += g * v
    W_in[input_word] += grad_in
    return W_in, W_out, loss


def random_weights(V, D, seed, dtype=np.float64, scale=0.5):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal((V, D)) * scale).astype(dtype),
            (rng.standard_normal((V, D)) * scale).astype(dtype))


# ----------------------------------------------------------------------------- 1. gradients

@pytest.mark.parametrize("V,D,negatives", [(7, 4, [2, 3, 5]), (12, 9, [0, 4, 6, 7, 11])])
def test_update_is_minus_alpha_times_finite_difference_gradient(V, D, negatives):
    W_in, W_out = random_weights(V, D, seed=V)
    input_word, output_word, alpha = 1, 8 % V, 0.1
    negatives = np.array(negatives, dtype=np.int64)      # distinct, none equal to the output

    new_in, new_out = W_in.copy(), W_out.copy()
    loss = kernels.sgns_update_given_negatives(new_in, new_out, np.zeros(D), negatives,
                                               input_word, output_word, alpha)
    # 3. The returned loss is the pair loss formula at the weights before the update.
    # The kernel reads sigma and softplus from interpolated tables (error < 5e-7 per target, see
    # test_logistic_tables_are_accurate), so the float64 comparisons hold to 1e-6, not 1e-13.
    assert loss == pytest.approx(pair_loss(W_in, W_out, input_word, output_word, negatives),
                                 rel=1e-6)

    # Central finite differences of the pair loss, for every entry of both matrices.
    eps = 1e-6
    grads = []
    for W in (W_in, W_out):
        grad = np.zeros_like(W)
        for idx in np.ndindex(*W.shape):
            saved = W[idx]
            W[idx] = saved + eps
            plus = pair_loss(W_in, W_out, input_word, output_word, negatives)
            W[idx] = saved - eps
            minus = pair_loss(W_in, W_out, input_word, output_word, negatives)
            W[idx] = saved
            grad[idx] = (plus - minus) / (2 * eps)
        grads.append(grad)

    for new, old, grad in zip((new_in, new_out), (W_in, W_out), grads):
        step = (new - old) / -alpha                       # the kernel's implied gradient
        assert np.max(np.abs(step - grad)) < 1e-6
        assert np.mean(np.abs(step - grad)) < 1e-7
    # Rows the pair never touches do not move.
    untouched = np.setdiff1d(np.arange(V), np.r_[output_word, negatives])
    assert np.array_equal(new_out[untouched], W_out[untouched])


# ----------------------------------------------------------------------------- 2. reference

MASK64 = 2**64 - 1


class ReferenceRNG:
    """splitmix64 (Steele et al. 2014) in Python integers, and the draws the kernels make from it."""

    def __init__(self, state):
        self.state = int(state)

    def bits(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        """Uniform in [0, n) from the high 32 bits."""
        return ((self.bits() >> 32) * n) >> 32

    def keeps(self, threshold):
        """Sub-sampling: keep when the high 32 bits are <= the word's threshold (gensim's sample_int)."""
        return (self.bits() >> 32) <= int(threshold)

    def noise(self, noise_prob, noise_index):
        """Alias draw: column from the high 32 bits, accept it or take its alias by the low 32 bits."""
        r = self.bits()
        col = ((r >> 32) * len(noise_prob)) >> 32
        return col if (r & 0xFFFFFFFF) * 2.0**-32 < noise_prob[col] else int(noise_index[col])


def reference_train(W_in, W_out, sentences, keep, noise_prob, noise_index, window, shrink, negative,
                    alpha_start, alpha_end, state):
    """Skip-gram with negative sampling over `sentences`, written plainly: per sentence, sub-sample it; for
    every center word draw its reduced window; for every context word in it draw `negative` noise words
    and make one update of the pair (reference_update). The rate moves linearly from alpha_start to
    alpha_end by the raw words before each sentence. Returns (W_in, W_out, loss sum, pairs, final state,
    how many noise draws equalled the center word and were skipped)."""
    rng = ReferenceRNG(state)
    W_in, W_out = W_in.astype(np.float64), W_out.astype(np.float64)
    total = max(sum(map(len, sentences)), 1)
    loss, pairs, skipped, seen = 0.0, 0, 0, 0
    for sentence in sentences:
        alpha = alpha_start + (alpha_end - alpha_start) * (seen / total)
        seen += len(sentence)
        kept = [w for w in sentence if rng.keeps(keep[w])]
        for center in range(len(kept)):
            reach = window - rng.below(window) if shrink else window
            for ctx in range(max(0, center - reach), min(len(kept), center + reach + 1)):
                if ctx == center:
                    continue
                negatives = [rng.noise(noise_prob, noise_index) for _ in range(negative)]
                skipped += negatives.count(kept[center])
                W_in, W_out, pair_loss = reference_update(W_in, W_out, kept[ctx], kept[center], negatives, alpha)
                loss += pair_loss
                pairs += 1
    return W_in, W_out, loss, pairs, rng.state, skipped


def skewed_tables(V, sample=0.05):
    """Noise alias table and sub-sampling thresholds of Zipf-like counts: frequent words are dropped often."""
    counts = (1000 / np.arange(1, V + 1)).astype(np.int64)
    return (sampling.alias_table(sampling.noise_probabilities(counts)),
            sampling.keep_thresholds(sampling.keep_probabilities(counts, sample)))


@pytest.mark.parametrize("shrink", [True, False])
def test_training_matches_numpy_reference(shrink):
    """The kernels training calls (sgns_train_parallel on one thread: sgns_train_chunk, subsample_sentence,
    draw_sentence_pairs, sgns_train_pairs, sgns_update_given_negatives) against reference_train on the same
    float32 weights, corpus, tables and RNG state: the same pairs, noise words and final RNG state, and
    weights and loss equal to float32 rounding and the kernel's sigma tables (5e-7 per target)."""
    V, D, window, negative = 12, 6, 3, 4
    rng = np.random.default_rng(11)
    sentences = [list(rng.integers(0, V, n)) for n in (9, 1, 14, 5, 0, 11, 7)]
    (noise_prob, noise_index), keep = skewed_tables(V)
    W_in, W_out = random_weights(V, D, seed=5, dtype=np.float32)
    state = np.uint64(987654321)
    ref_in, ref_out, ref_loss, ref_pairs, ref_state, skipped = reference_train(
        W_in, W_out, sentences, keep, noise_prob, noise_index, window, shrink, negative, 0.05, 0.01, state)
    assert skipped > 0 and ref_pairs > 50                 # the skip path is exercised, and many updates
    rng_states = np.array([state], np.uint64)
    loss, words, pairs = train(W_in, W_out, sentences, V, window=window, shrink=shrink, negative=negative,
                               alpha=(0.05, 0.01), keep=keep, rng_states=rng_states,
                               noise=(noise_prob, noise_index))
    assert (words, pairs, int(rng_states[0])) == (sum(map(len, sentences)), ref_pairs, ref_state)
    np.testing.assert_allclose(W_in, ref_in, rtol=0, atol=2e-5)
    np.testing.assert_allclose(W_out, ref_out, rtol=0, atol=2e-5)
    assert loss == pytest.approx(ref_loss, rel=1e-5)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-6), (np.float32, 1e-5)])  # tables: 5e-7
def test_pair_update_matches_numpy_reference(dtype, tol):
    """The per-pair step of sgns_train_pairs, with noise words drawn as the kernels draw them, among them
    the center word (skipped) and a repeated word (scored twice, the second time after its first update)."""
    V, D, k, alpha = 9, 6, 8, 0.05
    W_in, W_out = random_weights(V, D, seed=3, dtype=dtype)
    noise_prob, noise_index = sampling.alias_table(sampling.noise_probabilities(np.arange(1, V + 1) ** 2))
    input_word, output_word = 2, 7
    ref_rng = ReferenceRNG(2024)
    negatives = [ref_rng.noise(noise_prob, noise_index) for _ in range(k)]
    assert output_word in negatives and len(set(negatives)) < k
    ref_in, ref_out, ref_loss = reference_update(
        W_in.astype(np.float64), W_out.astype(np.float64), input_word, output_word, negatives, alpha)
    loss = kernels.sgns_update_given_negatives(W_in, W_out, np.zeros(D, dtype), np.array(negatives, np.int32),
                                               input_word, output_word, alpha)
    np.testing.assert_allclose(W_in, ref_in, rtol=0, atol=tol)
    np.testing.assert_allclose(W_out, ref_out, rtol=0, atol=tol)
    assert loss == pytest.approx(ref_loss, rel=tol)


def test_logistic_tables_are_accurate():
    """sigma and -log sigma read from the kernel's tables (inside +-8) or exact formulas (outside)
    match the exact functions to 5e-7 everywhere, the bound the other tests rely on."""
    W_in = np.zeros((2, 1))
    for f in np.concatenate([np.linspace(-12, 12, 4801), [-8.0, 8.0, 7.9999999, -7.9999999]]):
        W_out = np.array([[0.0], [1.0]])
        W_in[0, 0] = f
        loss = kernels.sgns_update_given_negatives(W_in.copy(), W_out, np.zeros(1), np.zeros(0, np.int64),
                                                   0, 1, 1.0)
        exact_loss = np.logaddexp(0.0, -f)                 # -log sigma(f)
        assert abs(loss - exact_loss) < 5e-7, f
        step = W_out[1, 0] - 1.0                          # alpha * (1 - sigma(f)) * v with v = f
        exact_step = (1.0 - 1.0 / (1.0 + np.exp(-f))) * f
        assert abs(step - exact_step) < 5e-7 * max(1.0, abs(f)), f


def test_loss_is_stable_for_large_dot_products():
    W_in = np.full((3, 2), 20.0)
    W_out = np.full((3, 2), 20.0)
    loss = kernels.sgns_update_given_negatives(W_in.copy(), W_out.copy(), np.zeros(2),
                                               np.array([2]), 0, 1, 0.0)
    # positive: softplus(-800) ~ 0; negative: softplus(800) = 800, no overflow to inf
    assert loss == pytest.approx(800.0)


# ----------------------------------------------------------------------------- corpus helpers

def corpus(sentences):
    tokens = np.array([w for s in sentences for w in s], dtype=np.int32)
    sent_start = np.zeros(len(sentences) + 1, dtype=np.int64)
    sent_start[1:] = np.cumsum([len(s) for s in sentences])
    return tokens, sent_start


def train(W_in, W_out, sentences, V, *, n_threads=1, seed=0, window=5, shrink=True,
          negative=5, alpha=(0.025, 0.025), keep=None, rng_states=None, lo=0, hi=None, noise=None):
    """sgns_train_parallel, the entry point training calls, over `sentences`; (loss sum, words, pairs)."""
    tokens, sent_start = corpus(sentences)
    if noise is None:
        counts = np.bincount(tokens, minlength=V).astype(np.int64) + 1
        noise = sampling.alias_table(sampling.noise_probabilities(counts))
    noise_prob, noise_index = noise
    if keep is None:
        keep = sampling.keep_thresholds(np.ones(V))
    if rng_states is None:
        rng_states = kernels.seed_rng_states(seed, n_threads)
    loss = np.zeros(n_threads)
    words = np.zeros(n_threads, dtype=np.int64)
    pairs = np.zeros(n_threads, dtype=np.int64)
    hi = len(sentences) if hi is None else hi
    thread_bounds = np.linspace(lo, hi, n_threads + 1).astype(np.int64)   # sentences [lo, hi) shared out
    kernels.sgns_train_parallel(W_in, W_out, loss, words, pairs, tokens, sent_start, keep,
                                noise_prob, noise_index, thread_bounds, window, shrink, negative,
                                alpha[0], alpha[1], rng_states)
    return loss.sum(), words.sum(), pairs.sum()


def topic_corpus(seed, n_sentences=400, length=8, per_topic=10):
    """Two disjoint topics: words [0, 10) only co-occur with each other, [10, 20) likewise."""
    rng = np.random.default_rng(seed)
    return [list(rng.integers(0, per_topic, length) + per_topic * (i % 2))
            for i in range(n_sentences)]


# ----------------------------------------------------------------------------- 4. determinism

def test_same_seed_one_thread_is_byte_identical():
    V, D = 20, 16
    sentences = topic_corpus(seed=1, n_sentences=60)
    results = []
    for seed in (7, 7, 8):
        W_in = kernels.init_vectors(V, D, seed=0)
        W_out = np.zeros((V, D), np.float32)
        train(W_in, W_out, sentences, V, seed=seed)
        results.append(W_in.tobytes() + W_out.tobytes())
    assert results[0] == results[1]
    assert results[0] != results[2]


def test_init_vectors_is_deterministic_and_scaled():
    a, b = kernels.init_vectors(50, 8, seed=3), kernels.init_vectors(50, 8, seed=3)
    assert a.dtype == np.float32 and a.shape == (50, 8) and a.tobytes() == b.tobytes()
    assert np.all(np.abs(a) <= 1.0 / 8) and np.abs(a).max() > 0.5 / 8      # gensim's [-1, 1) / D
    assert kernels.init_vectors(50, 8, seed=4).tobytes() != a.tobytes()


def test_chunked_calls_continue_the_rng_stream():
    """Two calls over halves of the corpus equal one call over the whole (constant alpha):
    the in-place rng_states are what the driver checkpoints between chunks."""
    V, D = 20, 8
    sentences = topic_corpus(seed=2, n_sentences=30)
    whole_in, whole_out = kernels.init_vectors(V, D, 1), np.zeros((V, D), np.float32)
    train(whole_in, whole_out, sentences, V, seed=5)
    part_in, part_out = kernels.init_vectors(V, D, 1), np.zeros((V, D), np.float32)
    states = kernels.seed_rng_states(5, 1)
    train(part_in, part_out, sentences, V, rng_states=states, hi=13)
    train(part_in, part_out, sentences, V, rng_states=states, lo=13)
    assert whole_in.tobytes() == part_in.tobytes() and whole_out.tobytes() == part_out.tobytes()


# ----------------------------------------------------------------------------- 5. behaviour

def mean_cosines(W):
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    cos = unit @ unit.T
    topic = np.arange(len(W)) // 10
    same = (topic[:, None] == topic[None, :]) & ~np.eye(len(W), dtype=bool)
    cross = topic[:, None] != topic[None, :]
    return cos[same].mean(), cos[cross].mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_training_separates_topics_and_loss_falls(seed):
    V, D, epochs = 20, 16, 8
    sentences = topic_corpus(seed)
    W_in = kernels.init_vectors(V, D, seed)
    W_out = np.zeros((V, D), np.float32)
    losses = []
    for epoch in range(epochs):
        lr = 0.05 * (1 - epoch / epochs)
        loss, words, pairs = train(W_in, W_out, sentences, V, n_threads=2, seed=seed + 100 * epoch,
                                   alpha=(lr, 0.05 * (1 - (epoch + 1) / epochs) + 1e-4))
        assert words == 400 * 8 and pairs > 0
        losses.append(loss / pairs)
    same, cross = mean_cosines(W_in)
    # Seeds 0-9: last/first epoch loss 0.918-0.928 (it cannot reach 0: half of the noise words
    # share the topic), same-topic cosine 0.95-0.98, cross-topic 0.085-0.11.
    assert losses[-1] < 0.95 * losses[0]
    assert same > 0.8 and cross < 0.3 and same - cross > 0.6


# ----------------------------------------------------------------------------- 6. boundaries

def expected_pairs(lengths, window):
    """Full (unshrunk) windows inside each sentence: sum_i (min(n-1, i+w) - max(0, i-w))."""
    return sum(min(n - 1, i + window) - max(0, i - window) for n in lengths for i in range(n))


def test_single_word_sentences_train_no_pairs():
    V, D = 6, 4
    sentences = [[w] for w in range(V)] * 3
    W_in, W_out = kernels.init_vectors(V, D, 0), np.zeros((V, D), np.float32)
    before = W_in.copy()
    loss, words, pairs = train(W_in, W_out, sentences, V, shrink=False)
    assert (words, pairs, loss) == (18, 0, 0.0)
    assert np.array_equal(W_in, before) and not W_out.any()


@pytest.mark.parametrize("n_threads", [1, 2])
def test_window_stays_inside_sentences(n_threads):
    V, D, window = 10, 4, 5
    sentences = [[0, 1], [2, 3, 4], [5], [6, 7, 8, 9], [1, 2]]
    W_in, W_out = kernels.init_vectors(V, D, 0), np.zeros((V, D), np.float32)
    _, words, pairs = train(W_in, W_out, sentences, V, shrink=False, window=window,
                            n_threads=n_threads)
    assert words == 12
    assert pairs == expected_pairs([len(s) for s in sentences], window) == 2 + 6 + 0 + 12 + 2
    # With reduced windows the count can only shrink.
    _, _, shrunk = train(W_in, W_out, [list(range(10))] * 20, V, window=window)
    assert shrunk < 20 * expected_pairs([10], window)


def test_subsampling_happens_before_windowing():
    """Word 9 is (almost surely) dropped; with window 1 the words either side of it then
    become neighbours and train a pair, as in word2vec.c and gensim."""
    V, D = 10, 4
    keep = sampling.keep_thresholds(np.ones(V))
    keep[9] = 0                                            # kept with probability 2**-32
    W_in, W_out = kernels.init_vectors(V, D, 0), np.zeros((V, D), np.float32)
    _, words, pairs = train(W_in, W_out, [[0, 9, 1]] * 5, V, window=1, shrink=False, keep=keep)
    assert words == 15 and pairs == 5 * 2


def test_slice_pairs_are_every_windowed_pair_in_corpus_order():
    """draw_slice_pairs (the cluster's first half): with nothing sub-sampled and fixed windows, every
    (context, center) pair of each sentence within the window, centers in order, contexts left to right."""
    tokens = np.arange(9, dtype=np.int32)
    starts = np.array([0, 4, 5, 9], np.int64)                     # sentences of 4, 1 and 4 words
    keep = np.full(9, 2**32 - 1, np.uint32)
    ctx, center, _ = kernels.draw_slice_pairs(tokens, starts, 0, 3, keep, 2, False, np.uint64(1))
    expected = [(c, w) for lo, hi in ((0, 4), (4, 5), (5, 9)) for w in range(lo, hi)
                for c in range(max(lo, w - 2), min(hi, w + 3)) if c != w]
    assert list(zip(ctx.tolist(), center.tolist())) == expected


def test_pair_list_training_is_the_pair_update_with_noise_drawn_ahead():
    """sgns_train_pair_list (the cluster's second half) = sgns_update_given_negatives pair by pair, the noise
    words of a batch drawn in order before it, at the rate of the batch's first pair."""
    rng = np.random.default_rng(3)
    V, D, k, P = 30, 8, 3, 1500
    W_in, W_out = rng.normal(0, 0.3, (V, D)), rng.normal(0, 0.3, (V, D))
    ctx, center = rng.integers(0, V, P).astype(np.int32), rng.integers(0, V, P).astype(np.int32)
    noise_prob, noise_index = sampling.alias_table(sampling.noise_probabilities(rng.integers(1, 50, V), 0.75))
    A, B = W_in.copy(), W_out.copy()
    loss, _ = kernels.sgns_train_pair_list(A, B, ctx, center, noise_prob, noise_index, k, 0.05, 0.01, np.uint64(9))
    state, ref_loss, grad = np.uint64(9), 0.0, np.zeros(D)
    for lo in range(0, P, 1024):
        n = min(1024, P - lo)
        negs = np.empty((n, k), np.int32)
        for p in range(n):
            for j in range(k):
                negs[p, j], state = kernels.draw_noise(noise_prob, noise_index, np.uint64(state))
        alpha = 0.05 + (0.01 - 0.05) * lo / P
        for p in range(n):
            ref_loss += kernels.sgns_update_given_negatives(W_in, W_out, grad, negs[p], ctx[lo + p], center[lo + p],
                                                            alpha)
    assert np.allclose(A, W_in, rtol=0, atol=1e-12) and np.allclose(B, W_out, rtol=0, atol=1e-12)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
