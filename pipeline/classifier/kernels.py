"""Pooling, output layer and softmax cross-entropy for the sentence classifier; forward beside backward.

The recurrent cells (elman / lstm / gru) live in `cells.py`, run by `recurrence.py`; this module holds what
comes after them. Numba kernels on plain arrays; argument order: arrays written, read-only arrays, then
sizes and flags. Backward kernels ACCUMULATE (+=) into gradient buffers that the driver zeroes once a step.

Shape legend: B = batch size, T = padded time steps, H = size of the pooled states (H, or 2H when a
bidirectional layer's two directions are concatenated), C = classes.

Pooling runs over the real steps t < lengths[b] only:
- last: state at t = lengths[b]-1, i.e. the final state of a forward pass. For a reverse-direction layer
  the final state is the one at position 0, so pass reverse=True (a bidirectional layer pools its two
  halves separately and concatenates: forward half with reverse=False, backward half with reverse=True).
- mean: average over the real steps.
- max: element-wise max over the real steps; the winning position is cached as int32 (B, H).
Output layer: logits = R V^T + c with R (B, H), V (C, H), c (C,). Loss: mean softmax cross-entropy.
"""
import numpy as np
from numba import njit


# ---------------------------------------------------------------------------------------------- pooling

@njit(cache=True, nogil=True)
def pool_last_forward(R, H_seq, lengths, reverse):
    """R (B, H) <- H_seq[b, lengths[b]-1] (reverse=False) or H_seq[b, 0] (reverse=True)."""
    B = H_seq.shape[0]
    for row in range(B):
        t = 0 if reverse else lengths[row] - 1
        R[row] = H_seq[row, t]
    return R


@njit(cache=True, nogil=True)
def pool_last_backward(dH_seq, dR, lengths, reverse):
    """dH_seq (B, T, H) += dR at the pooled step."""
    B = dR.shape[0]
    for row in range(B):
        t = 0 if reverse else lengths[row] - 1
        for j in range(dR.shape[1]):
            dH_seq[row, t, j] += dR[row, j]


@njit(cache=True, nogil=True)
def pool_mean_forward(R, H_seq, lengths):
    """R (B, H) <- mean of H_seq[b, :lengths[b]]."""
    B, T, Hd = H_seq.shape
    for row in range(B):
        L = lengths[row]
        for j in range(Hd):
            acc = 0.0
            for t in range(L):
                acc += H_seq[row, t, j]
            R[row, j] = acc / max(L, 1)
    return R


@njit(cache=True, nogil=True)
def pool_mean_backward(dH_seq, dR, lengths):
    """dH_seq[b, t] += dR[b] / lengths[b] at the real steps."""
    B, Hd = dR.shape
    for row in range(B):
        L = lengths[row]
        for t in range(L):
            for j in range(Hd):
                dH_seq[row, t, j] += dR[row, j] / L


@njit(cache=True, nogil=True)
def pool_max_forward(R, argmax, H_seq, lengths):
    """R (B, H) <- max over the real steps; argmax (B, H) int32 <- first winning position."""
    B, T, Hd = H_seq.shape
    for row in range(B):
        for j in range(Hd):
            best = H_seq[row, 0, j]
            arg = 0
            for t in range(1, lengths[row]):
                if H_seq[row, t, j] > best:
                    best = H_seq[row, t, j]
                    arg = t
            R[row, j] = best
            argmax[row, j] = arg
    return R


@njit(cache=True, nogil=True)
def pool_max_backward(dH_seq, dR, argmax):
    """dH_seq[b, argmax[b, j], j] += dR[b, j]."""
    B, Hd = dR.shape
    for row in range(B):
        for j in range(Hd):
            dH_seq[row, argmax[row, j], j] += dR[row, j]


# ------------------------------------------------------------------------------------------ output layer

@njit(cache=True, nogil=True)
def dense_forward(logits, R, V, c):
    """logits (B, C) <- R V^T + c; R (B, H), V (C, H), c (C,)."""
    prod = np.dot(R, V.T)  # (B, C)
    for row in range(prod.shape[0]):
        for k in range(prod.shape[1]):
            logits[row, k] = prod[row, k] + c[k]
    return logits


@njit(cache=True, nogil=True)
def dense_backward(dR, dV, dc, dlogits, R, V):
    """dR += dlogits V, dV += dlogits^T R, dc += column sums of dlogits."""
    dR_new = np.dot(dlogits, V)  # (B, H)
    for row in range(dR.shape[0]):
        for j in range(dR.shape[1]):
            dR[row, j] += dR_new[row, j]
    dV_new = np.dot(dlogits.T, R)  # (C, H)
    for k in range(dV.shape[0]):
        for j in range(dV.shape[1]):
            dV[k, j] += dV_new[k, j]
    for row in range(dlogits.shape[0]):
        for k in range(dlogits.shape[1]):
            dc[k] += dlogits[row, k]


@njit(cache=True, nogil=True)
def softmax_cross_entropy(probs, dlogits, logits, labels):
    """probs (B, C) <- softmax(logits); dlogits (B, C) <- (probs - onehot(labels)) / B (assigned, not
    accumulated); returns the mean loss -log p[b, labels[b]] as float64. Stable: the row max is
    subtracted and the log-probability is taken from the log-sum-exp, never log(probs)."""
    B, C = logits.shape
    loss = 0.0
    for row in range(B):
        m = logits[row, 0]
        for k in range(1, C):
            m = max(m, logits[row, k])
        total = 0.0
        for k in range(C):
            total += np.exp(np.float64(logits[row, k]) - m)
        log_total = np.log(total)
        y = labels[row]
        loss += log_total - (np.float64(logits[row, y]) - m)
        for k in range(C):
            p = np.exp(np.float64(logits[row, k]) - m - log_total)
            probs[row, k] = p
            dlogits[row, k] = (p - (1.0 if k == y else 0.0)) / B
    return loss / B
