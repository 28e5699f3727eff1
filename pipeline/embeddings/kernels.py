"""Numba kernels for skip-gram with negative sampling (SGNS; Mikolov et al. 2013).

The model of gensim ``Word2Vec(sg=1, hs=0, negative=k)`` and word2vec.c ``-cbow 0``: for every
(context, center) pair within a window, the context word's input vector v = W_in[context] is
pushed towards the center word's output vector u = W_out[center] and away from k noise words'
output vectors u_n drawn from the unigram**0.75 distribution. The pair's loss is

    L = -log sigma(u . v) - sum_n log sigma(-u_n . v)

and one SGD step with rate alpha moves every vector by -alpha * dL/d(vector).

Shape legend
    V = vocabulary size, D = vector dimension, N = corpus tokens, S = sentences,
    T = number of threads (one RNG state and one stats slot each).

Names: W_in is word2vec.c's syn0 (V, D); W_out is syn1neg (V, D). Both float32 in training;
the kernels also accept float64 (the gradient tests use it).

Kernels see arrays, scalars and RNG state only. Argument order everywhere: arrays written,
then read-only arrays, then sizes / hyper-parameters, then RNG state. RNG is splitmix64 on a
uint64 state that is passed in and returned (or updated in place for the parallel entry point);
Numba's np.random is never used, so results depend only on the states the driver seeds.

Speed. Most of the time goes to waiting for the W_out rows of the noise words, which are
random rows of a matrix larger than the cache (measured on en-mixed, V = 56k, D = 100: with a
2,000-word vocabulary that fits in cache the same kernel ran 2.4x faster; with D = 16 only 1.4x).
So each sentence's pairs and noise words are listed first (``draw_sentence_pairs``) and the rows
of the pair two ahead are prefetched while the current pair computes (``sgns_train_pairs``):
2.5x more words per CPU-second than drawing in the loop (0.33 vs 0.13 M words/s on one thread,
1M words of en-mixed, a loaded machine). sigma and -log sigma come from interpolated tables
(1.25x over exp + log1p, error < 5e-7).

Driver usage, one call per chunk of sentences (see ``sgns_train_parallel``)::

    numba.set_num_threads(workers)
    rng_states = seed_rng_states(seed, workers)                 # uint64[T], checkpoint it
    W_in, W_out = init_vectors(V, D, seed), np.zeros((V, D), np.float32)
    sgns_train_parallel(W_in, W_out, loss, words, pairs, tokens, sent_start,
                        keep_threshold, noise_prob, noise_index, thread_bounds,
                        window, True, negative, alpha_lo, alpha_hi, rng_states)
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

# Fast-math flags that allow vectorising dot products (reassociation, FMA contraction) but
# keep NaN / inf semantics, so a diverging run still shows up as NaN loss in the driver.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO_M32 = 1.0 / 4294967296.0  # 2**-32


def _logistic_tables(bound=8.0, size=4096):
    """sigma(x) and softplus(-x) = -log sigma(x) sampled at size+1 points of [-bound, bound]
    (word2vec.c's expTable idea, finer and read with linear interpolation: the error is below
    1e-6 for sigma and the loss). Outside the range the kernel uses the exact formulas."""
    x = np.linspace(-bound, bound, size + 1)
    sig = 1.0 / (1.0 + np.exp(-x))
    softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0.0)
    return sig, softplus_neg


_TABLE_BOUND = 8.0
_TABLE_SCALE = 4096 / (2 * _TABLE_BOUND)        # table steps per unit of x
SIGMOID_TABLE, SOFTPLUS_NEG_TABLE = _logistic_tables(_TABLE_BOUND, 4096)   # float64[4097]


# ----------------------------------------------------------------------------- prefetch

@intrinsic
def _prefetch(typingctx, arr, row, col):
    """Hint the CPU to start loading arr[row, col] into cache (llvm.prefetch: read, keep)."""
    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        inds = [context.cast(builder, args[k], sig.args[k], types.intp) for k in (1, 2)]
        ptr = cgutils.get_item_pointer2(
            context, builder, data=ary.data, shape=cgutils.unpack_tuple(builder, ary.shape),
            strides=cgutils.unpack_tuple(builder, ary.strides), layout=aryty.layout,
            inds=inds, boundscheck=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(arr, row, col), codegen


@njit(cache=True, inline="always")
def prefetch_row(W, row):
    """Ask for every 64-byte line of W[row] (D float32 = D/16 lines) ahead of its use."""
    for d in range(0, W.shape[1], 16):
        _prefetch(W, row, d)


# ----------------------------------------------------------------------------- RNG + draws

@njit(cache=True, inline="always")
def next_u64(rng_state):
    """splitmix64 (Steele et al. 2014): returns (64 random bits, new state)."""
    rng_state = rng_state + _GOLDEN
    z = rng_state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31)), rng_state


@njit(cache=True, inline="always")
def draw_below(n, rng_state):
    """Uniform integer in [0, n) from the high 32 bits (multiply-shift, n < 2**32)."""
    r, rng_state = next_u64(rng_state)
    return np.int64(((r >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)), rng_state


@njit(cache=True, inline="always")
def draw_noise(noise_prob, noise_index, rng_state):
    """One noise word from the alias table (sampling.alias_table): column from the high
    32 bits, accept-or-alias from the low 32 bits. Returns (word id, new state)."""
    r, rng_state = next_u64(rng_state)
    col = np.int64(((r >> np.uint64(32)) * np.uint64(noise_prob.shape[0])) >> np.uint64(32))
    if np.float64(r & _LOW32) * _TWO_M32 < noise_prob[col]:
        return col, rng_state
    return np.int64(noise_index[col]), rng_state


# ----------------------------------------------------------------------------- one pair

@njit(cache=True, fastmath=FASTMATH, inline="always")
def sgns_target_step(W_out, grad_buf, W_in, input_word, target, label, alpha):
    """Logistic step for one (input, target) with label 1 (positive) or 0 (noise).

    f = u . v with v = W_in[input_word], u = W_out[target]; g = alpha * (label - sigma(f)).
    Accumulates g * u into grad_buf (D,) BEFORE moving u by g * v (gensim's order), and
    returns this target's loss, softplus(-f) for label 1, softplus(f) for label 0, in float64.
    """
    D = W_in.shape[1]
    real = W_in.dtype.type                       # float32 in training, float64 in tests
    f = real(0.0)
    for d in range(D):
        f += W_in[input_word, d] * W_out[target, d]
    f = np.float64(f)
    if -_TABLE_BOUND < f < _TABLE_BOUND:
        pos = (f + _TABLE_BOUND) * _TABLE_SCALE
        i = int(pos)
        frac = pos - i
        sig = SIGMOID_TABLE[i] + frac * (SIGMOID_TABLE[i + 1] - SIGMOID_TABLE[i])
        nll = SOFTPLUS_NEG_TABLE[i] + frac * (SOFTPLUS_NEG_TABLE[i + 1] - SOFTPLUS_NEG_TABLE[i])
    else:                                        # rare: exact, overflow-free forms
        e = np.exp(-abs(f))
        sig = 1.0 / (1.0 + e) if f >= 0.0 else e / (1.0 + e)
        nll = np.log1p(e) + max(-f, 0.0)         # softplus(-f) = -log sigma(f)
    # label 1: -log sigma(f); label 0: -log sigma(-f) = softplus(f) = softplus(-f) + f
    loss = nll if label == 1 else nll + f
    g = real(alpha * (label - sig))              # keep the D-loops in the array's precision
    for d in range(D):
        grad_buf[d] += g * W_out[target, d]
        W_out[target, d] += g * W_in[input_word, d]
    return loss


@njit(cache=True, fastmath=FASTMATH)
def sgns_update_given_negatives(W_in, W_out, grad_buf, negatives, input_word, output_word,
                                alpha):
    """One SGNS step for one (context, center) pair with its noise words given.

    negatives: int[k]; an entry equal to output_word is skipped, as in gensim.
    grad_buf: (D,) scratch, overwritten. Returns the pair loss (float64).
    """
    grad_buf[:] = 0.0
    loss = sgns_target_step(W_out, grad_buf, W_in, input_word, output_word, 1, alpha)
    for n in range(negatives.shape[0]):
        if negatives[n] == output_word:
            continue
        loss += sgns_target_step(W_out, grad_buf, W_in, input_word, negatives[n], 0, alpha)
    for d in range(W_in.shape[1]):
        W_in[input_word, d] += grad_buf[d]
    return loss


# ----------------------------------------------------------------------------- one sentence

@njit(cache=True)
def subsample_sentence(kept, tokens, start, end, keep_threshold, rng_state):
    """Copy tokens[start:end] into kept (scratch, length >= end - start), dropping each word
    unless a 32-bit draw r <= keep_threshold[word] (gensim's sample_int test).
    Returns (number kept, new rng_state)."""
    n_kept = 0
    for pos in range(start, end):
        word = tokens[pos]
        r, rng_state = next_u64(rng_state)
        if (r >> np.uint64(32)) <= keep_threshold[word]:
            kept[n_kept] = word
            n_kept += 1
    return n_kept, rng_state


@njit(cache=True)
def draw_sentence_pairs(pair_in, pair_out, negs, kept, noise_prob, noise_index, n_kept,
                        window, shrink_windows, negative, rng_state):
    """List every (context -> center) pair of one sub-sampled sentence kept[:n_kept] with its
    noise words: pair_in[p] = context (input word), pair_out[p] = center (output word),
    negs[p, :negative] the draws. Scratch capacity: n_kept * 2 * window pairs.

    For each center position a reduced window b is drawn uniformly in [0, window) when
    shrink_windows (effective half-width window - b, as word2vec.c and gensim); windows are
    clipped to [0, n_kept) so they never cross the sentence. Drawing the noise words before
    training lets the trainer prefetch their rows (see sgns_train_pairs).
    Returns (number of pairs P, new rng_state).
    """
    P = 0
    for center in range(n_kept):
        reach = window
        if shrink_windows:
            b, rng_state = draw_below(window, rng_state)
            reach = window - b
        for ctx in range(max(0, center - reach), min(n_kept, center + reach + 1)):
            if ctx == center:
                continue
            pair_in[P] = kept[ctx]
            pair_out[P] = kept[center]
            for n in range(negative):
                negs[P, n], rng_state = draw_noise(noise_prob, noise_index, rng_state)
            P += 1
    return P, rng_state


@njit(cache=True, fastmath=FASTMATH)
def sgns_train_pairs(W_in, W_out, grad_buf, pair_in, pair_out, negs, n_pairs, alpha):
    """One SGD step per listed pair, in order. The rows that pair p + AHEAD will touch are
    prefetched while pair p computes: the noise words' W_out rows are random, and waiting on
    them was most of the time (measured: 2.6x faster with the prefetch on en-mixed).
    Returns the loss sum (float64)."""
    AHEAD = 2
    loss = 0.0
    for p in range(n_pairs):
        q = p + AHEAD
        if q < n_pairs:
            prefetch_row(W_in, pair_in[q])
            prefetch_row(W_out, pair_out[q])
            for n in range(negs.shape[1]):
                prefetch_row(W_out, negs[q, n])
        loss += sgns_update_given_negatives(W_in, W_out, grad_buf, negs[p], pair_in[p],
                                            pair_out[p], alpha)
    return loss


# ----------------------------------------------------------------------------- one thread

@njit(cache=True)
def sgns_train_chunk(W_in, W_out, tokens, sent_start, keep_threshold, noise_prob, noise_index,
                     sent_lo, sent_hi, window, shrink_windows, negative, alpha_start, alpha_end,
                     rng_state):
    """One thread's loop over sentences [sent_lo, sent_hi): sentence s is
    tokens[sent_start[s]:sent_start[s+1]] (tokens int32[N], sent_start int64[S+1]).

    Sub-sampling happens first (before windowing), into a scratch buffer. The learning rate
    goes linearly from alpha_start to alpha_end by the fraction of this call's raw words done,
    updated once per sentence: the driver should cap sentence length (gensim uses 10000).
    Returns (loss sum float64, raw words int64, pairs int64, new rng_state).
    """
    D = W_in.shape[1]
    grad_buf = np.zeros(D, dtype=W_in.dtype)                         # (D,)
    max_len = 0
    for s in range(sent_lo, sent_hi):
        max_len = max(max_len, sent_start[s + 1] - sent_start[s])
    kept = np.empty(max_len, dtype=tokens.dtype)                     # (longest sentence,)
    cap = max_len * 2 * window                                       # most pairs per sentence
    pair_in = np.empty(cap, dtype=np.int32)                          # (cap,) context words
    pair_out = np.empty(cap, dtype=np.int32)                         # (cap,) center words
    negs = np.empty((cap, negative), dtype=np.int32)                 # (cap, negative) noise words
    first = sent_start[sent_lo]
    total = max(sent_start[sent_hi] - first, 1)
    loss = 0.0
    pairs = 0
    for s in range(sent_lo, sent_hi):
        start, end = sent_start[s], sent_start[s + 1]
        alpha = alpha_start + (alpha_end - alpha_start) * ((start - first) / total)
        n_kept, rng_state = subsample_sentence(kept, tokens, start, end, keep_threshold,
                                               rng_state)
        n_pairs, rng_state = draw_sentence_pairs(pair_in, pair_out, negs, kept, noise_prob,
                                                 noise_index, n_kept, window, shrink_windows,
                                                 negative, rng_state)
        loss += sgns_train_pairs(W_in, W_out, grad_buf, pair_in, pair_out, negs, n_pairs, alpha)
        pairs += n_pairs
    return loss, np.int64(sent_start[sent_hi] - first), np.int64(pairs), rng_state


# ----------------------------------------------------------------------------- all threads

@njit(cache=True, parallel=True)
def sgns_train_parallel(W_in, W_out, loss, words, pairs, tokens, sent_start, keep_threshold,
                        noise_prob, noise_index, thread_bounds, window, shrink_windows,
                        negative, alpha_start, alpha_end, rng_states):
    """Train on T = len(rng_states) threads, Hogwild (lock-free shared updates of W_in and W_out):
    thread t trains sentences [thread_bounds[t], thread_bounds[t+1]) (thread_bounds int64[T+1],
    non-decreasing) with ``sgns_train_chunk`` and rng_states[t].

    Thread t writes loss[t] (float64), words[t], pairs[t] (int64; raw words before sub-sampling,
    trained pairs). rng_states (uint64[T]) are updated in place so the driver can checkpoint them
    and continue with the next call. Each thread moves its learning rate from alpha_start to
    alpha_end over its own sentences. Which sentences each thread gets is the driver's choice
    (train.chunk_plan gives thread t its own contiguous part of the corpus, as word2vec.c and
    gensim do). With T == 1 the result is a deterministic function of the inputs.
    """
    T = rng_states.shape[0]
    for t in prange(T):
        t_loss, t_words, t_pairs, t_state = sgns_train_chunk(
            W_in, W_out, tokens, sent_start, keep_threshold, noise_prob, noise_index,
            thread_bounds[t], thread_bounds[t + 1], window, shrink_windows, negative,
            alpha_start, alpha_end, rng_states[t])
        loss[t] = t_loss
        words[t] = t_words
        pairs[t] = t_pairs
        rng_states[t] = t_state


# ----------------------------------------------------------------------------- pairs first, then training
# The cluster's scheme (pipeline/embeddings/distributed.py) lists a slice's pairs on the worker that holds the
# text, sends each pair to the worker that owns its rows, and trains them there against noise words of that
# worker's rows only. Same draws and steps as the functions above, in two halves.

@njit(cache=True, nogil=True)
def draw_slice_pairs(tokens, sent_start, sent_lo, sent_hi, keep_threshold, window, shrink_windows, rng_state):
    """Every (context, center) pair of sentences [sent_lo, sent_hi), sub-sampled and windowed exactly as
    sgns_train_chunk does it but without noise words, in corpus order: (pair_in int32[P] context words,
    pair_out int32[P] center words, new rng_state)."""
    max_len, total = 0, 0
    for s in range(sent_lo, sent_hi):
        n = sent_start[s + 1] - sent_start[s]
        max_len = max(max_len, n)
        total += n
    kept = np.empty(max_len, dtype=tokens.dtype)                     # (longest sentence,)
    pair_in = np.empty(total * 2 * window, dtype=np.int32)           # (most pairs,)
    pair_out = np.empty(total * 2 * window, dtype=np.int32)
    no_negs, no_prob, no_index = np.empty((1, 0), np.int32), np.ones(1), np.zeros(1, np.int32)   # negative = 0
    P = 0
    for s in range(sent_lo, sent_hi):
        n_kept, rng_state = subsample_sentence(kept, tokens, sent_start[s], sent_start[s + 1], keep_threshold,
                                               rng_state)
        n, rng_state = draw_sentence_pairs(pair_in[P:], pair_out[P:], no_negs, kept, no_prob, no_index, n_kept,
                                           window, shrink_windows, 0, rng_state)
        P += n
    return pair_in[:P].copy(), pair_out[:P].copy(), rng_state


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def sgns_train_pair_list(W_in, W_out, pair_in, pair_out, noise_prob, noise_index, negative, alpha_start,
                         alpha_end, rng_state):
    """One SGD step per listed pair (rows of W_in and W_out), in order, each against `negative` noise words
    drawn from the alias table (noise_prob, noise_index) over W_out's rows; the learning rate goes linearly
    from alpha_start to alpha_end over the list. Noise words are drawn a batch of pairs ahead so that
    sgns_train_pairs can prefetch their rows. Returns (loss sum float64, new rng_state)."""
    BATCH = 1024
    P = pair_in.shape[0]
    grad_buf = np.zeros(W_in.shape[1], dtype=W_in.dtype)              # (D,)
    negs = np.empty((BATCH, negative), dtype=np.int32)                # (BATCH, negative)
    loss = 0.0
    for lo in range(0, P, BATCH):
        n = min(BATCH, P - lo)
        for p in range(n):
            for k in range(negative):
                negs[p, k], rng_state = draw_noise(noise_prob, noise_index, rng_state)
        alpha = alpha_start + (alpha_end - alpha_start) * (lo / P)
        loss += sgns_train_pairs(W_in, W_out, grad_buf, pair_in[lo:lo + n], pair_out[lo:lo + n], negs, n, alpha)
    return loss, rng_state


# ----------------------------------------------------------------------------- init (NumPy)

def init_vectors(V, D, seed):
    """W_in (V, D) float32, uniform in [-1, 1) / D as gensim 4 initialises (word2vec.c uses half
    that range, [-0.5, 0.5) / D); W_out starts at zeros. gensim's scale, because matching gensim's
    quality is the target: with word2vec.c's, WordSim-353 on the small parity corpus came out
    about 0.01 lower (tests/test_parity.py). Deterministic in seed (NumPy PCG64, independent of
    the kernel RNG)."""
    rng = np.random.default_rng(seed)
    W = rng.random((V, D), dtype=np.float32)                         # [0, 1)
    return (W * np.float32(2.0) - np.float32(1.0)) / np.float32(D)


def seed_rng_states(seed, n_threads):
    """uint64[n_threads] splitmix64 states for the kernels, derived from a config seed with
    NumPy's SeedSequence (thread t's stream does not depend on n_threads)."""
    ss = np.random.SeedSequence(int(seed))
    return ss.generate_state(int(n_threads), dtype=np.uint64)
