"""Experimental stage-one kernels for benchmarks/gensim_gap.py (issue 16): ours with parts of gensim's swapped in.

Not product code: one serial kernel (workers 1) whose flags choose, one by one, each of the places where our
SGNS differs from gensim 4.4's corpus_file path (word2vec_corpusfile.pyx, word2vec_inner.pyx):

    rng      0: splitmix64 (ours)              1: gensim's 48-bit LCG, next = (25214903917 n + 11) mod 2**48,
                                                  a 32-bit draw is n >> 16 (random_int32)
    noise    0: alias table (ours)             1: bisection of gensim's uint32 cum_table (domain 2**31 - 1)
                                                  at (n >> 16) % cum_table[-1], then one LCG step
    sigmoid  0: interpolated 4096-step table   1: gensim's EXP_TABLE (1000 steps over [-6, 6], index
                 (ours)                           truncated) and no update at all when |f| >= 6
    order    0: ours (per sentence: keep draws, then per center the window draw and all its pairs'
                 negatives)                    1: gensim's (per sentence: all keep draws, then all window
                                                  draws, then negatives drawn pair by pair while training)

and one flag for the driver's schedule:

    sched    0: as the config says             T: `alpha_schedule: gensim` computed as if T workers ran, so
                                                  one worker follows gensim's T-worker rates (each epoch
                                                  covers 1/T of its share of the line)

Usage: `gensim_gap.py --variant rng=1,noise=1,sigmoid=1,order=1` (unset flags are 0 = ours). `install`
swaps the driver's `sgns_train_parallel` for a wrapper with the same signature (only when a kernel flag is
set: otherwise the product kernel runs).
"""
import numpy as np
from numba import njit

from pipeline.embeddings.kernels import (FASTMATH, SIGMOID_TABLE, SOFTPLUS_NEG_TABLE, _TABLE_BOUND, _TABLE_SCALE,
                                         draw_below, draw_noise, next_u64)

_LCG_MUL = np.uint64(25214903917)
_LCG_MASK = np.uint64(281474976710655)
EXP_SIZE, MAX_EXP = 1000, 6.0
_x = (np.arange(EXP_SIZE) / EXP_SIZE * 2 - 1) * MAX_EXP
EXP_TABLE = (np.exp(_x) / (np.exp(_x) + 1)).astype(np.float32)     # gensim's sigma table


@njit(inline="always")
def draw32(state, rng):
    """(32-bit draw as uint64, new state)."""
    if rng == 1:
        return state >> np.uint64(16), (state * _LCG_MUL + np.uint64(11)) & _LCG_MASK
    r, state = next_u64(state)
    return r >> np.uint64(32), state


@njit
def draw_negative(noise_prob, noise_index, cum_table, state, rng, noise):
    if noise == 1:
        r, state = draw32(state, rng)
        x = r % np.uint64(cum_table[-1])
        lo, hi = 0, cum_table.shape[0]
        while hi > lo:                               # bisect_left
            mid = (lo + hi) >> 1
            if np.uint64(cum_table[mid]) >= x:
                hi = mid
            else:
                lo = mid + 1
        return lo, state
    if rng == 1:                                     # alias table fed by two LCG draws
        r1, state = draw32(state, rng)
        r2, state = draw32(state, rng)
        col = np.int64((r1 * np.uint64(noise_prob.shape[0])) >> np.uint64(32))
        if np.float64(r2) * (1.0 / 4294967296.0) < noise_prob[col]:
            return col, state
        return np.int64(noise_index[col]), state
    return draw_noise(noise_prob, noise_index, state)


@njit(fastmath=FASTMATH)
def target_step(W_out, grad_buf, W_in, inp, target, label, alpha, sigmoid):
    D = W_in.shape[1]
    f = np.float32(0.0)
    for d in range(D):
        f += W_in[inp, d] * W_out[target, d]
    f = np.float64(f)
    if sigmoid == 1:
        if f <= -MAX_EXP or f >= MAX_EXP:
            return 0.0
        sig = np.float64(EXP_TABLE[int((f + MAX_EXP) * (EXP_SIZE / MAX_EXP / 2))])
    elif -_TABLE_BOUND < f < _TABLE_BOUND:
        pos = (f + _TABLE_BOUND) * _TABLE_SCALE
        i = int(pos)
        sig = SIGMOID_TABLE[i] + (pos - i) * (SIGMOID_TABLE[i + 1] - SIGMOID_TABLE[i])
    else:
        sig = 1.0 / (1.0 + np.exp(-f))
    sp = np.log1p(np.exp(-abs(f))) + max(-f, 0.0)
    loss = sp if label == 1 else sp + f
    g = np.float32(alpha * (label - sig))
    for d in range(D):
        grad_buf[d] += g * W_out[target, d]
        W_out[target, d] += g * W_in[inp, d]
    return loss


@njit(fastmath=FASTMATH)
def train_chunk(W_in, W_out, tokens, sent_start, keep_threshold, noise_prob, noise_index, cum_table,
                sent_lo, sent_hi, window, negative, alpha_start, alpha_end, state, rng, noise, sigmoid, order):
    D = W_in.shape[1]
    grad_buf = np.zeros(D, dtype=W_in.dtype)
    kept = np.empty(10001, dtype=np.int64)
    reach = np.empty(10001, dtype=np.int64)
    negs = np.empty(negative, dtype=np.int64)
    first = sent_start[sent_lo]
    total = max(sent_start[sent_hi] - first, 1)
    loss, pairs = 0.0, 0
    for s in range(sent_lo, sent_hi):
        start, end = sent_start[s], sent_start[s + 1]
        alpha = alpha_start + (alpha_end - alpha_start) * ((start - first) / total)
        n = 0
        for pos in range(start, end):
            r, state = draw32(state, rng)
            if r <= keep_threshold[tokens[pos]]:
                kept[n] = tokens[pos]
                n += 1
        if order == 1:
            for c in range(n):
                r, state = draw32(state, rng)
                reach[c] = window - np.int64(r % np.uint64(window))
        for c in range(n):
            if order == 0:
                if rng == 1:
                    r, state = draw32(state, rng)
                    reach[c] = window - np.int64(r % np.uint64(window))
                else:
                    b, state = draw_below(window, state)
                    reach[c] = window - b
            for j in range(max(0, c - reach[c]), min(n, c + reach[c] + 1)):
                if j == c:
                    continue
                for k in range(negative):
                    negs[k], state = draw_negative(noise_prob, noise_index, cum_table, state, rng, noise)
                grad_buf[:] = 0.0
                loss += target_step(W_out, grad_buf, W_in, kept[j], kept[c], 1, alpha, sigmoid)
                for k in range(negative):
                    if negs[k] == kept[c]:
                        continue
                    loss += target_step(W_out, grad_buf, W_in, kept[j], negs[k], 0, alpha, sigmoid)
                for d in range(D):
                    W_in[kept[j], d] += grad_buf[d]
                pairs += 1
    return loss, np.int64(sent_start[sent_hi] - first), np.int64(pairs), state


_NOISE = {}


def install(variant, driver):
    """Swap the driver's parallel kernel for the flagged serial one (workers must be 1)."""
    flags = {"rng": 0, "noise": 0, "sigmoid": 0, "order": 0, "sched": 0}
    for item in filter(None, variant.split(",")):
        key, value = item.split("=")
        if key not in flags:
            raise SystemExit(f"unknown variant flag {key!r}; flags: {', '.join(flags)}")
        flags[key] = int(value)
    original = driver.noise_probabilities

    def noise_probabilities(counts, exponent=0.75):
        _NOISE["counts"], _NOISE["exponent"] = np.asarray(counts), exponent
        return original(counts, exponent)

    def cum_table():
        if "cum" not in _NOISE:
            w = _NOISE["counts"].astype(np.float64) ** float(_NOISE["exponent"])
            # gensim's make_cum_table: running float64 sum, each entry rounded to the domain 2**31 - 1
            _NOISE["cum"] = np.round(np.cumsum(w) / w.sum() * (2**31 - 1)).astype(np.uint32)
        return _NOISE["cum"]

    def sgns_train_parallel(W_in, W_out, loss, words, pairs, tokens, sent_start, keep_threshold, noise_prob,
                            noise_index, thread_bounds, window, shrink_windows, negative, alpha_start,
                            alpha_end, rng_states):
        if len(rng_states) != 1 or not shrink_windows:
            raise SystemExit("variants run with workers=1 and shrink_windows only")
        state = rng_states[0] & _LCG_MASK if flags["rng"] == 1 else rng_states[0]
        out = train_chunk(W_in, W_out, tokens, sent_start, keep_threshold, noise_prob, noise_index, cum_table(),
                          thread_bounds[0], thread_bounds[1], window, negative, alpha_start, alpha_end, state,
                          flags["rng"], flags["noise"], flags["sigmoid"], flags["order"])
        loss[0], words[0], pairs[0], rng_states[0] = out

    if flags["sched"]:
        alpha = driver._alpha
        driver._alpha = lambda tc, epoch, done, per_epoch, workers: alpha(tc, epoch, done, per_epoch, flags["sched"])
    if any(flags[k] for k in ("rng", "noise", "sigmoid", "order")):
        driver.noise_probabilities = noise_probabilities
        driver.sgns_train_parallel = sgns_train_parallel
