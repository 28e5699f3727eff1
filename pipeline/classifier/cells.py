"""Recurrent cells for the sentence classifier: Elman, LSTM and GRU, forward beside backward.

Numba kernels on plain arrays (no package imports, no config, no I/O). Shape legend, used everywhere here:

    B = batch size, T = padded time steps, D = input size, H = hidden size, G = gate rows (H, 4H or 3H)

Formulas
- Elman (the project's seed notation): z_t = U h_{t-1} + W x_t + b, h_t = f(z_t), f = tanh or sigmoid.
  W (H, D), U (H, H), b (H,).
- LSTM, PyTorch nn.LSTM conventions, gate blocks in the order i, f, g, o; W (4H, D), U (4H, H), b (4H,):
  i, f, o = sigmoid(.), g = tanh(.), c_t = f c_{t-1} + i g, h_t = o tanh(c_t). (PyTorch's two biases
  b_ih + b_hh are one bias b here; the driver initialises the forget block b[H:2H] to 1.)
- GRU, Cho et al. 2014 with PyTorch nn.GRU conventions, blocks r, z, n; W (3H, D), U (3H, H) and TWO
  biases, b (3H,) on the input side and b_h (3H,) on the recurrent side, because the reset gate multiplies
  the recurrent part of the candidate including its bias:
  r = sigmoid(W_r x + b_r + U_r h + b_hr), z = sigmoid(W_z x + b_z + U_z h + b_hz),
  n = tanh(W_n x + b_n + r (U_n h + b_hn)), h_t = (1 - z) n + z h_{t-1}.
  h_0 = 0 (and c_0 = 0) for every cell.

Variable lengths: step t of row b is real when t < lengths[b]; padding steps change no state and no
gradient, and their outputs (and cache entries) are 0. With reverse=True a row runs from t = lengths[b]-1
down to 0; outputs still land at their original positions t.

Speed layout (measured, see the report in tests/benchmarks): the input projection of all steps is ONE
GEMM, (B*T, D) @ W^T, and backward does dW = dZ^T X, dU = dZ^T H_prev, dX = dZ W as single GEMMs; only
the recurrent (n, H) @ (H, G) product runs per step. Rows are visited longest-first so that the rows
still running at step s are the leading n_active[s] rows of the per-step state ("step order").

Truncated BPTT (bptt_steps = k > 0): the gradient that ENTERS at output step t (dH_out[:, t]) crosses at
most k recurrent connections, i.e. it reaches the pre-activations of steps t, t-1, ..., t-k (in the
direction's own order) and nothing earlier. It is exact per entry point, implemented with k+1 gradient
carriers, one per number of crossings (cost grows with k). bptt_steps = 0 is full BPTT.
"""
import numpy as np
from numba import njit

TANH = 0  # activation codes of the Elman cell
SIGMOID = 1


@njit(cache=True)
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@njit(cache=True)
def _step_order(lengths):
    """Rows longest-first (stable) and, per step s, how many rows have a real step s."""
    B = lengths.shape[0]
    order = np.arange(B)  # (B,) insertion sort, stable; B is small
    for i in range(1, B):
        row = order[i]
        pos = i
        while pos > 0 and lengths[order[pos - 1]] < lengths[row]:
            order[pos] = order[pos - 1]
            pos -= 1
        order[pos] = row
    n_steps = 0
    for row in range(B):
        n_steps = max(n_steps, lengths[row])
    n_active = np.zeros(n_steps, np.int64)  # (n_steps,), non-increasing
    for row in range(B):
        for s in range(lengths[row]):
            n_active[s] += 1
    return order, n_active


@njit(cache=True)
def _time_index(length, s, reverse):
    """Original position of the direction's s-th step."""
    return length - 1 - s if reverse else s


@njit(cache=True)
def _prev_states(S_out, lengths, reverse):
    """(B*T, H) state before each step (0 before the first step and at padding), for dU = dZ^T H_prev."""
    B, T, Hd = S_out.shape
    S_prev = np.zeros((B * T, Hd), S_out.dtype)
    for row in range(B):
        for s in range(1, lengths[row]):
            t = _time_index(lengths[row], s, reverse)
            tp = _time_index(lengths[row], s - 1, reverse)
            S_prev[row * T + t] = S_out[row, tp]
    return S_prev


@njit(cache=True)
def _add_column_sums(db, dZ):
    """db (G,) += sum over rows of dZ (N, G)."""
    for r in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):
            db[j] += dZ[r, j]


@njit(cache=True)
def _input_grads(dX, dW, db, dZ, X, W):
    """dW += dZ^T X, db += sum dZ, dX += dZ W as single GEMMs; dZ (B*T, G), X (B, T, D), W (G, D)."""
    B, T, D = X.shape
    X2 = X.reshape(B * T, D)
    dW += np.dot(dZ.T, X2)
    _add_column_sums(db, dZ)
    dX += np.dot(dZ, W).reshape(B, T, D)


# ----------------------------------------------------------------------------------------------------------
# Elman

@njit(cache=True)
def elman_forward(H_out, X, lengths, W, U, b, activation, reverse):
    """H_out (B, T, H) <- h_t at real steps, 0 at padding. H_out is also the whole cache."""
    B, T, D = X.shape
    Hd = W.shape[0]
    order, n_active = _step_order(lengths)
    Zx = np.dot(X.reshape(B * T, D), W.T)  # (B*T, H) input projection of every step, one GEMM
    h = np.zeros((B, Hd), X.dtype)  # (B, H) state in step order
    Zh = np.empty((B, Hd), X.dtype)  # (B, H) U h_{t-1} in step order
    H_out[:] = 0
    for s in range(n_active.shape[0]):
        n = n_active[s]
        np.dot(h[:n], U.T, Zh[:n])
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            r = row * T + t
            for j in range(Hd):
                z = Zx[r, j] + Zh[k, j] + b[j]
                hj = np.tanh(z) if activation == TANH else _sigmoid(z)
                h[k, j] = hj
                H_out[row, t, j] = hj
    return H_out


@njit(cache=True)
def elman_backward(dX, dW, dU, db, dH_out, H_out, X, lengths, W, U, activation, reverse, bptt_steps):
    """Accumulate dX (B,T,D), dW, dU, db from dH_out (B,T,H), the gradient on every step's output."""
    B, T, D = X.shape
    Hd = W.shape[0]
    order, n_active = _step_order(lengths)
    K = 1 if bptt_steps <= 0 else bptt_steps + 1  # gradient carriers, carrier a has crossed a steps
    carry = np.zeros((K, B, Hd), X.dtype)  # dL/dh_t per carrier, step order
    dz_a = np.zeros((K, B, Hd), X.dtype)  # dL/dz_t per carrier, step order
    dZ = np.zeros((B * T, Hd), X.dtype)  # dL/dz_t summed over carriers, original positions
    for s in range(n_active.shape[0] - 1, -1, -1):
        n = n_active[s]
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            r = row * T + t
            for j in range(Hd):
                hj = H_out[row, t, j]
                fprime = 1.0 - hj * hj if activation == TANH else hj * (1.0 - hj)
                if K == 1:
                    carry[0, k, j] += dH_out[row, t, j]  # full BPTT: one carrier, gradient enters
                else:
                    carry[0, k, j] = dH_out[row, t, j]  # truncated: fresh carrier for this entry
                total = 0.0
                for a in range(K):
                    dz_a[a, k, j] = carry[a, k, j] * fprime
                    total += dz_a[a, k, j]
                dZ[r, j] = total
        # through the recurrent matrix: dL/dh_{t-1} = dz_t U; the oldest carrier is dropped
        if K == 1:
            np.dot(dz_a[0, :n], U, carry[0, :n])
        else:
            for a in range(K - 1, 0, -1):
                np.dot(dz_a[a - 1, :n], U, carry[a, :n])
    _input_grads(dX, dW, db, dZ, X, W)
    dU += np.dot(dZ.T, _prev_states(H_out, lengths, reverse))


# ----------------------------------------------------------------------------------------------------------
# LSTM

@njit(cache=True)
def lstm_forward(H_out, C_out, gates, X, lengths, W, U, b, reverse):
    """H_out, C_out (B,T,H) <- h_t, c_t; gates (B,T,4H) <- activated i, f, g, o. Cache = (C_out, gates)."""
    B, T, D = X.shape
    Hd = U.shape[1]
    order, n_active = _step_order(lengths)
    Zx = np.dot(X.reshape(B * T, D), W.T)  # (B*T, 4H)
    h = np.zeros((B, Hd), X.dtype)  # step order
    c = np.zeros((B, Hd), X.dtype)
    Zh = np.empty((B, 4 * Hd), X.dtype)
    H_out[:] = 0
    C_out[:] = 0
    gates[:] = 0
    for s in range(n_active.shape[0]):
        n = n_active[s]
        np.dot(h[:n], U.T, Zh[:n])
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            r = row * T + t
            for j in range(Hd):
                ig = _sigmoid(Zx[r, j] + Zh[k, j] + b[j])
                fg = _sigmoid(Zx[r, Hd + j] + Zh[k, Hd + j] + b[Hd + j])
                gg = np.tanh(Zx[r, 2 * Hd + j] + Zh[k, 2 * Hd + j] + b[2 * Hd + j])
                og = _sigmoid(Zx[r, 3 * Hd + j] + Zh[k, 3 * Hd + j] + b[3 * Hd + j])
                cj = fg * c[k, j] + ig * gg
                hj = og * np.tanh(cj)
                c[k, j] = cj
                h[k, j] = hj
                C_out[row, t, j] = cj
                H_out[row, t, j] = hj
                gates[row, t, j] = ig
                gates[row, t, Hd + j] = fg
                gates[row, t, 2 * Hd + j] = gg
                gates[row, t, 3 * Hd + j] = og
    return H_out


@njit(cache=True)
def lstm_backward(dX, dW, dU, db, dH_out, H_out, C_out, gates, X, lengths, W, U, reverse, bptt_steps):
    """Accumulate dX, dW, dU, db; both recurrent paths (U h_{t-1} and f c_{t-1}) count as one step."""
    B, T, D = X.shape
    Hd = U.shape[1]
    order, n_active = _step_order(lengths)
    K = 1 if bptt_steps <= 0 else bptt_steps + 1
    carry_h = np.zeros((K, B, Hd), X.dtype)  # dL/dh_t per carrier, step order
    carry_c = np.zeros((K, B, Hd), X.dtype)  # dL/dc_t arriving from step t+1 per carrier
    next_c = np.zeros((K, B, Hd), X.dtype)  # dL/dc_{t-1} produced at this step
    dz_a = np.zeros((K, B, 4 * Hd), X.dtype)
    dZ = np.zeros((B * T, 4 * Hd), X.dtype)
    for s in range(n_active.shape[0] - 1, -1, -1):
        n = n_active[s]
        for k in range(n):
            row = order[k]
            L = lengths[row]
            t = _time_index(L, s, reverse)
            r = row * T + t
            tp = _time_index(L, s - 1, reverse)
            for j in range(Hd):
                ig = gates[row, t, j]
                fg = gates[row, t, Hd + j]
                gg = gates[row, t, 2 * Hd + j]
                og = gates[row, t, 3 * Hd + j]
                tc = np.tanh(C_out[row, t, j])
                c_prev = C_out[row, tp, j] if s > 0 else 0.0
                if K == 1:
                    carry_h[0, k, j] += dH_out[row, t, j]
                else:
                    carry_h[0, k, j] = dH_out[row, t, j]
                    carry_c[0, k, j] = 0.0
                for a in range(K):
                    dh = carry_h[a, k, j]
                    dc = carry_c[a, k, j] + dh * og * (1.0 - tc * tc)
                    dz_a[a, k, j] = dc * gg * ig * (1.0 - ig)
                    dz_a[a, k, Hd + j] = dc * c_prev * fg * (1.0 - fg)
                    dz_a[a, k, 2 * Hd + j] = dc * ig * (1.0 - gg * gg)
                    dz_a[a, k, 3 * Hd + j] = dh * tc * og * (1.0 - og)
                    next_c[a, k, j] = dc * fg
                    for q in range(4):
                        dZ[r, q * Hd + j] += dz_a[a, k, q * Hd + j]
        if K == 1:
            np.dot(dz_a[0, :n], U, carry_h[0, :n])
            carry_c[0, :n] = next_c[0, :n]
        else:
            for a in range(K - 1, 0, -1):
                np.dot(dz_a[a - 1, :n], U, carry_h[a, :n])
                carry_c[a, :n] = next_c[a - 1, :n]
    _input_grads(dX, dW, db, dZ, X, W)
    dU += np.dot(dZ.T, _prev_states(H_out, lengths, reverse))


# ----------------------------------------------------------------------------------------------------------
# GRU

@njit(cache=True)
def gru_forward(H_out, gates, Hn, X, lengths, W, U, b, b_h, reverse):
    """H_out (B,T,H) <- h_t; gates (B,T,3H) <- r, z, n; Hn (B,T,H) <- U_n h_{t-1} + b_hn. Cache = (gates, Hn)."""
    B, T, D = X.shape
    Hd = U.shape[1]
    order, n_active = _step_order(lengths)
    Zx = np.dot(X.reshape(B * T, D), W.T)  # (B*T, 3H)
    h = np.zeros((B, Hd), X.dtype)
    Zh = np.empty((B, 3 * Hd), X.dtype)
    H_out[:] = 0
    gates[:] = 0
    Hn[:] = 0
    for s in range(n_active.shape[0]):
        n = n_active[s]
        np.dot(h[:n], U.T, Zh[:n])
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            r = row * T + t
            for j in range(Hd):
                rg = _sigmoid(Zx[r, j] + b[j] + Zh[k, j] + b_h[j])
                zg = _sigmoid(Zx[r, Hd + j] + b[Hd + j] + Zh[k, Hd + j] + b_h[Hd + j])
                hn = Zh[k, 2 * Hd + j] + b_h[2 * Hd + j]
                ng = np.tanh(Zx[r, 2 * Hd + j] + b[2 * Hd + j] + rg * hn)
                hj = (1.0 - zg) * ng + zg * h[k, j]
                h[k, j] = hj
                H_out[row, t, j] = hj
                gates[row, t, j] = rg
                gates[row, t, Hd + j] = zg
                gates[row, t, 2 * Hd + j] = ng
                Hn[row, t, j] = hn
    return H_out


@njit(cache=True)
def gru_backward(dX, dW, dU, db, db_h, dH_out, H_out, gates, Hn, X, lengths, W, U, reverse, bptt_steps):
    """Accumulate dX, dW, dU, db, db_h; the direct path z h_{t-1} and U h_{t-1} each count as one step."""
    B, T, D = X.shape
    Hd = U.shape[1]
    order, n_active = _step_order(lengths)
    K = 1 if bptt_steps <= 0 else bptt_steps + 1
    carry = np.zeros((K, B, Hd), X.dtype)  # dL/dh_t per carrier, step order
    direct = np.zeros((K, B, Hd), X.dtype)  # dL/dh_{t-1} through z h_{t-1}
    da_a = np.zeros((K, B, 3 * Hd), X.dtype)  # dL/d(U h_{t-1} + b_h) per carrier
    dZx = np.zeros((B * T, 3 * Hd), X.dtype)  # dL/d(W x_t + b), original positions
    dA = np.zeros((B * T, 3 * Hd), X.dtype)  # dL/d(U h_{t-1} + b_h), original positions
    for s in range(n_active.shape[0] - 1, -1, -1):
        n = n_active[s]
        for k in range(n):
            row = order[k]
            L = lengths[row]
            t = _time_index(L, s, reverse)
            r = row * T + t
            tp = _time_index(L, s - 1, reverse)
            for j in range(Hd):
                rg = gates[row, t, j]
                zg = gates[row, t, Hd + j]
                ng = gates[row, t, 2 * Hd + j]
                hn = Hn[row, t, j]
                h_prev = H_out[row, tp, j] if s > 0 else 0.0
                if K == 1:
                    carry[0, k, j] += dH_out[row, t, j]
                else:
                    carry[0, k, j] = dH_out[row, t, j]
                for a in range(K):
                    dh = carry[a, k, j]
                    dn = dh * (1.0 - zg) * (1.0 - ng * ng)  # w.r.t. n's pre-activation
                    dr = dn * hn * rg * (1.0 - rg)
                    dzg = dh * (h_prev - ng) * zg * (1.0 - zg)
                    da_a[a, k, j] = dr
                    da_a[a, k, Hd + j] = dzg
                    da_a[a, k, 2 * Hd + j] = dn * rg
                    direct[a, k, j] = dh * zg
                    dZx[r, j] += dr
                    dZx[r, Hd + j] += dzg
                    dZx[r, 2 * Hd + j] += dn
                    dA[r, j] += dr
                    dA[r, Hd + j] += dzg
                    dA[r, 2 * Hd + j] += dn * rg
        if K == 1:
            np.dot(da_a[0, :n], U, carry[0, :n])
            carry[0, :n] += direct[0, :n]
        else:
            for a in range(K - 1, 0, -1):
                np.dot(da_a[a - 1, :n], U, carry[a, :n])
                carry[a, :n] += direct[a - 1, :n]
    _input_grads(dX, dW, db, dZx, X, W)
    dU += np.dot(dA.T, _prev_states(H_out, lengths, reverse))
    _add_column_sums(db_h, dA)
