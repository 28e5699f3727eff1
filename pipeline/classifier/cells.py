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

Speed layout. The real steps are packed in step order (rows longest-first), so the input projection of
every real step is ONE GEMM, (N, D) @ W^T with N = sum(lengths), and backward does dW = dZ^T X,
dU = dZ^T H_prev, dX = dZ W as single GEMMs on packed rows; only the recurrent (n_s, H) @ (H, G) product
runs per step, on the n_s rows still running, against a contiguous copy of U^T (20% faster than the
strided view). This beat a prange-over-batch version with per-row mat-vecs (Elman 20k vs 15k seq/s
forward, LSTM 4.0k vs 2.4k). Gate non-linearities use a rational tanh that vectorises in float32 (see
_TANH_P); the LSTM and GRU compute all the gates of one row in ONE pass over j (no gate buffer between
passes): the LSTM's inference kernel went from 6.8 to 5.3 ms per batch on a 20k-row projected table read
at random, 5.9 to 5.7 ms on a small one (B=64, H=128, one thread, best of 9, 2026-11-27; same outputs bit
for bit). Backward skips dL/dX of layer 0 (the table is frozen; see _input_grads), and float32 kernels
subtract from a float32 `one`, not 1.0 (which promoted the whole expression to float64).

Threads. Every kernel is nogil: model.py and predict.py use two or more cores by running parts of a batch
(training) or whole batches (inference) in Python threads, each kernel's BLAS calls on one thread. Numba's
own pool (prange) is avoided: launching it made an in-process PyTorch 10x slower in the benchmark. Keep the
BLAS on one thread (OPENBLAS_NUM_THREADS=1 / threadpoolctl): two BLAS threads on the small per-step GEMMs
ran 4x slower. Profile of the LSTM's inference at B=64, H=128, MR-like lengths, one thread (2026-11-26,
idle machine): input GEMM + gather 3.5 ms, per-step GEMMs 5.0 ms (6.4 on the strided U^T), gate loops
5.0 ms (scalar; the tanh loop alone 3.5 -> 0.6 ms once vectorised). With layer 0's input read from a
projected table (predict.Predictor) the batch took 10.8 ms on one thread with scalar gates, 7.4 ms
vectorised, 4.7 ms wall on two threads.

Truncated BPTT (bptt_steps = k > 0): the gradient that ENTERS at output step t (dH_out[:, t]) crosses at
most k recurrent connections, i.e. it reaches the pre-activations of steps t, t-1, ..., t-k (in the
direction's own order) and nothing earlier. It is exact per entry point, implemented with k+1 gradient
carriers, one per number of crossings (cost grows with k). bptt_steps = 0 is full BPTT.
"""
import numpy as np
from numba import njit, types
from numba.extending import overload, register_jitable

TANH = 0  # activation codes of the Elman cell
SIGMOID = 1


# tanh(x) ~ x P(x^2) / Q(x^2) on |x| <= 9 (clamped beyond): our own least-squares rational fit, max abs
# error 2e-8, below float32 resolution near 1. It vectorises (8 lanes) only when it stays in float32 and
# nothing can raise: float32 constants, np.minimum/np.maximum for the clamp (Python's min/max with float
# literals promoted every gate to float64 and kept the loop scalar) and error_model="numpy" on the kernels
# (Numba's default checks every division for zero, a branch per element). Measured on the LSTM's gate
# loop (1,350 rows x 640 values, one batch): 3.5 ms scalar -> 0.6 ms vectorised; libm's tanhf/expf do
# not vectorise at all. float64 (the gradient checks) keeps the exact np.tanh, so references match to 1e-12.
_TANH_P = tuple(np.float32(v) for v in (0.9999999064507668, 0.13372936897656687, 0.0034862705633633305,
                                         2.0466666521936835e-05, 1.3177058805213804e-08))
_TANH_Q = tuple(np.float32(v) for v in (1.0, 0.4670623375790806, 0.02584079873807659, 0.00032708741034623696,
                                         7.699728951440776e-07))
_F32_CLAMP = np.float32(9.0)
_F32_HALF = np.float32(0.5)


@register_jitable
def _tanh_rational(x):
    x = np.minimum(np.maximum(x, -_F32_CLAMP), _F32_CLAMP)
    s = x * x
    p = _TANH_P[0] + s * (_TANH_P[1] + s * (_TANH_P[2] + s * (_TANH_P[3] + s * _TANH_P[4])))
    q = _TANH_Q[0] + s * (_TANH_Q[1] + s * (_TANH_Q[2] + s * (_TANH_Q[3] + s * _TANH_Q[4])))
    return x * p / q


def _tanh(x, dtype):
    """tanh for arrays of the given dtype: rational fit for float32, exact np.tanh otherwise."""
    return np.tanh(x)


@overload(_tanh, jit_options={"cache": True, "error_model": "numpy"})
def _tanh_overload(x, dtype):
    if isinstance(dtype, types.DType) and dtype.dtype == types.float32:
        return lambda x, dtype: _tanh_rational(x)
    return lambda x, dtype: np.tanh(x)


def _sigmoid(x, dtype):
    """sigmoid(x) = (1 + tanh(x / 2)) / 2, in the dtype's precision (see _tanh)."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


@overload(_sigmoid, jit_options={"cache": True, "error_model": "numpy"})
def _sigmoid_overload(x, dtype):
    if isinstance(dtype, types.DType) and dtype.dtype == types.float32:
        return lambda x, dtype: _F32_HALF * _tanh_rational(_F32_HALF * x) + _F32_HALF
    return lambda x, dtype: 0.5 * np.tanh(0.5 * x) + 0.5


@njit(cache=True, nogil=True, error_model="numpy")
def _step_order(lengths, T, reverse):
    """Packing of the real steps in "step order", the layout of every GEMM here.

    order (B,): rows longest-first (stable), so the rows running at step s are order[:n_active[s]].
    Packed row p = offsets[s] + k holds step s of row order[k]; N = offsets[-1] = sum(lengths).
    src (N,): flat index row*T + t of packed row p in a (B*T, .) array; src_prev (N,): the same for
    the step before (-1 at a row's first step), used to gather H_prev for dU.
    """
    B = lengths.shape[0]
    order = np.arange(B)  # insertion sort, stable; B is small
    for i in range(1, B):
        row = order[i]
        pos = i
        while pos > 0 and lengths[order[pos - 1]] < lengths[row]:
            order[pos] = order[pos - 1]
            pos -= 1
        order[pos] = row
    n_steps = lengths[order[0]] if B > 0 else 0
    n_active = np.zeros(n_steps, np.int64)  # (n_steps,), non-increasing
    for row in range(B):
        for s in range(lengths[row]):
            n_active[s] += 1
    offsets = np.zeros(n_steps + 1, np.int64)
    offsets[1:] = np.cumsum(n_active)
    src = np.empty(offsets[n_steps], np.int64)
    src_prev = np.empty(offsets[n_steps], np.int64)
    for s in range(n_steps):
        for k in range(n_active[s]):
            row = order[k]
            src[offsets[s] + k] = row * T + _time_index(lengths[row], s, reverse)
            src_prev[offsets[s] + k] = row * T + _time_index(lengths[row], s - 1, reverse) if s > 0 else -1
    return order, n_active, offsets, src, src_prev


@njit(cache=True, nogil=True, error_model="numpy")
def _time_index(length, s, reverse):
    """Original position of the direction's s-th step."""
    return length - 1 - s if reverse else s


@njit(cache=True, nogil=True, error_model="numpy")
def _gather_rows(A, index):
    """(len(index), A.shape[1]) copy of the rows A[index], zero where index < 0."""
    out = np.zeros((index.shape[0], A.shape[1]), A.dtype)
    for p in range(index.shape[0]):
        if index[p] >= 0:
            out[p] = A[index[p]]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _add(y, x):
    """y += x on 1-D views; an explicit loop compiles much faster than an array expression."""
    for i in range(y.shape[0]):
        y[i] += x[i]


@njit(cache=True, nogil=True, error_model="numpy")
def _add_2d(Y, A):
    """Y += A for 2-D arrays (gradient buffers += GEMM results)."""
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] += A[i, j]


@njit(cache=True, nogil=True, error_model="numpy")
def _add_column_sums(db, dZ):
    """db (G,) += sum over rows of dZ (N, G)."""
    for r in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):
            db[j] += dZ[r, j]


@njit(cache=True, nogil=True, error_model="numpy")
def _input_grads(dX, dW, db, dZ, X, W, src):
    """dW += dZ^T X, db += sum dZ, dX += dZ W as single GEMMs on packed rows; dZ (N, G), X (B, T, D).
    A dX with no rows means dL/dX is not wanted (layer 0 reads the frozen table: no GEMM, no scatter)."""
    B, T, D = X.shape
    X2 = X.reshape(B * T, D)
    _add_2d(dW, np.dot(dZ.T, _gather_rows(X2, src)))
    _add_column_sums(db, dZ)
    if dX.shape[0] == 0:
        return
    dXp = np.dot(dZ, W)  # (N, D)
    dX2 = dX.reshape(B * T, D)
    for p in range(src.shape[0]):
        _add(dX2[src[p]], dXp[p])


# ----------------------------------------------------------------------------------------------------------
# Elman

@njit(cache=True, nogil=True, error_model="numpy")
def elman_forward(H_out, X, lengths, W, U, b, activation, reverse):
    """H_out (B, T, H) <- h_t at real steps, 0 at padding. H_out is also the whole cache."""
    B, T, D = X.shape
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    Zx = np.dot(_gather_rows(X.reshape(B * T, D), src), W.T)  # (N, H) all real steps, one GEMM
    return _elman_steps(H_out, Zx, np.arange(Zx.shape[0]), order, n_active, offsets, lengths, U, b,
                        activation, reverse)


@njit(cache=True, nogil=True, error_model="numpy")
def elman_infer_table(H_out, ids, Ztab, lengths, U, b, activation, reverse):
    """elman_forward's H_out with the input part W x_t read from Ztab[ids[row, t]] (see project_rows)."""
    T = ids.shape[1]
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    return _elman_steps(H_out, Ztab, ids.ravel()[src], order, n_active, offsets, lengths, U, b, activation,
                        reverse)


@njit(cache=True, nogil=True, error_model="numpy")
def _elman_steps(H_out, Zsrc, zrow, order, n_active, offsets, lengths, U, b, activation, reverse):
    """The recurrence; Zsrc[zrow[p]] is W x of packed step p (from the GEMM, or from a projected table)."""
    Hd = U.shape[1]
    B = lengths.shape[0]
    h = np.zeros((B, Hd), Zsrc.dtype)  # (B, H) state in step order
    Zh = np.empty((B, Hd), Zsrc.dtype)  # (B, H) U h_{t-1} in step order
    H_out[:] = 0
    Ut = np.ascontiguousarray(U.T)  # (H, G): per-step GEMMs 20% faster than on the strided view
    for s in range(n_active.shape[0]):
        n = n_active[s]
        np.dot(h[:n], Ut, Zh[:n])
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            zx, zh, hk, out = Zsrc[zrow[offsets[s] + k]], Zh[k], h[k], H_out[row, t]  # (H,) views
            if activation == TANH:
                for j in range(Hd):
                    hk[j] = _tanh(zx[j] + zh[j] + b[j], Zsrc.dtype)
            else:
                for j in range(Hd):
                    hk[j] = _sigmoid(zx[j] + zh[j] + b[j], Zsrc.dtype)
            out[:] = hk
    return H_out


@njit(cache=True, nogil=True, error_model="numpy")
def elman_backward(dX, dW, dU, db, dH_out, H_out, X, lengths, W, U, activation, reverse, bptt_steps):
    """Accumulate dX (B,T,D), dW, dU, db from dH_out (B,T,H), the gradient on every step's output (dX with no
    rows: not wanted, see _input_grads)."""
    one = X.dtype.type(1)  # 1.0 would promote float32 to float64 and keep the loop scalar
    B, T, D = X.shape
    Hd = W.shape[0]
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    K = 1 if bptt_steps <= 0 else bptt_steps + 1  # gradient carriers, carrier a has crossed a steps
    carry = np.zeros((K, B, Hd), X.dtype)  # dL/dh_t per carrier, step order
    dz_a = np.zeros((K, B, Hd), X.dtype)  # dL/dz_t per carrier, step order
    dZ = np.zeros((src.shape[0], Hd), X.dtype)  # dL/dz_t summed over carriers, packed
    for s in range(n_active.shape[0] - 1, -1, -1):
        n = n_active[s]
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            hrow, dzrow = H_out[row, t], dZ[offsets[s] + k]  # (H,) views
            if K == 1:
                _add(carry[0, k], dH_out[row, t])  # full BPTT: one carrier, the gradient enters it
            else:
                carry[0, k] = dH_out[row, t]  # truncated: a fresh carrier for this entry point
            for a in range(K):
                ca, za = carry[a, k], dz_a[a, k]
                if activation == TANH:
                    for j in range(Hd):
                        za[j] = ca[j] * (one - hrow[j] * hrow[j])
                else:
                    for j in range(Hd):
                        za[j] = ca[j] * hrow[j] * (one - hrow[j])
                _add(dzrow, za)
        # through the recurrent matrix: dL/dh_{t-1} = dz_t U; the oldest carrier is dropped
        if K == 1:
            np.dot(dz_a[0, :n], U, carry[0, :n])
        else:
            for a in range(K - 1, 0, -1):
                np.dot(dz_a[a - 1, :n], U, carry[a, :n])
    _input_grads(dX, dW, db, dZ, X, W, src)
    _add_2d(dU, np.dot(dZ.T, _gather_rows(H_out.reshape(B * T, Hd), src_prev)))


# ----------------------------------------------------------------------------------------------------------
# LSTM

@njit(cache=True, nogil=True, error_model="numpy")
def lstm_forward(H_out, C_out, gates, X, lengths, W, U, b, reverse):
    """H_out, C_out (B,T,H) <- h_t, c_t; gates (B,T,4H) <- activated i, f, g, o. Cache = (C_out, gates)."""
    B, T, D = X.shape
    Hd = U.shape[1]
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    Zx = np.dot(_gather_rows(X.reshape(B * T, D), src), W.T)  # (N, 4H) all real steps, one GEMM
    h = np.zeros((B, Hd), X.dtype)  # step order
    c = np.zeros((B, Hd), X.dtype)
    Zh = np.empty((B, 4 * Hd), X.dtype)
    H_out[:] = 0
    Ut = np.ascontiguousarray(U.T)  # (H, G): per-step GEMMs 20% faster than on the strided view
    C_out[:] = 0
    gates[:] = 0
    for s in range(n_active.shape[0]):
        n = n_active[s]
        np.dot(h[:n], Ut, Zh[:n])
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            zx, zh, gt = Zx[offsets[s] + k], Zh[k], gates[row, t]  # (4H,) views
            hk, ck = h[k], c[k]  # (H,) views
            for j in range(Hd):  # one pass over the four gate blocks, as in _lstm_infer_steps
                i_j = _sigmoid(zx[j] + zh[j] + b[j], X.dtype)
                f_j = _sigmoid(zx[Hd + j] + zh[Hd + j] + b[Hd + j], X.dtype)
                g_j = _tanh(zx[2 * Hd + j] + zh[2 * Hd + j] + b[2 * Hd + j], X.dtype)
                o_j = _sigmoid(zx[3 * Hd + j] + zh[3 * Hd + j] + b[3 * Hd + j], X.dtype)
                gt[j], gt[Hd + j], gt[2 * Hd + j], gt[3 * Hd + j] = i_j, f_j, g_j, o_j
                ck[j] = f_j * ck[j] + i_j * g_j
                hk[j] = o_j * _tanh(ck[j], X.dtype)
            C_out[row, t] = ck
            H_out[row, t] = hk
    return H_out


@njit(cache=True, nogil=True, error_model="numpy")
def lstm_backward(dX, dW, dU, db, dH_out, H_out, C_out, gates, X, lengths, W, U, reverse, bptt_steps):
    """Accumulate dX, dW, dU, db; both recurrent paths (U h_{t-1} and f c_{t-1}) count as one step."""
    one = X.dtype.type(1)  # 1.0 would promote float32 to float64 and keep the loop scalar
    B, T, D = X.shape
    Hd = U.shape[1]
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    K = 1 if bptt_steps <= 0 else bptt_steps + 1
    carry_h = np.zeros((K, B, Hd), X.dtype)  # dL/dh_t per carrier, step order
    carry_c = np.zeros((K, B, Hd), X.dtype)  # dL/dc_t arriving from step t+1 per carrier
    next_c = np.zeros((K, B, Hd), X.dtype)  # dL/dc_{t-1} produced at this step
    dz_a = np.zeros((K, B, 4 * Hd), X.dtype)
    dZ = np.zeros((src.shape[0], 4 * Hd), X.dtype)  # packed
    zero_h = np.zeros(Hd, X.dtype)
    for s in range(n_active.shape[0] - 1, -1, -1):
        n = n_active[s]
        for k in range(n):
            row = order[k]
            L = lengths[row]
            t = _time_index(L, s, reverse)
            gt, crow, dzrow = gates[row, t], C_out[row, t], dZ[offsets[s] + k]  # views
            c_prev = C_out[row, _time_index(L, s - 1, reverse)] if s > 0 else zero_h  # (H,)
            if K == 1:
                _add(carry_h[0, k], dH_out[row, t])
            else:
                carry_h[0, k] = dH_out[row, t]
                carry_c[0, k] = 0.0
            for a in range(K):
                dh, dc_in, za, dc_out = carry_h[a, k], carry_c[a, k], dz_a[a, k], next_c[a, k]
                for j in range(Hd):
                    ig, fg, gg, og = gt[j], gt[Hd + j], gt[2 * Hd + j], gt[3 * Hd + j]
                    tc = _tanh(crow[j], X.dtype)
                    dc = dc_in[j] + dh[j] * og * (one - tc * tc)
                    za[j] = dc * gg * ig * (one - ig)
                    za[Hd + j] = dc * c_prev[j] * fg * (one - fg)
                    za[2 * Hd + j] = dc * ig * (one - gg * gg)
                    za[3 * Hd + j] = dh[j] * tc * og * (one - og)
                    dc_out[j] = dc * fg
                _add(dzrow, za)
        if K == 1:
            np.dot(dz_a[0, :n], U, carry_h[0, :n])
            carry_c[0, :n] = next_c[0, :n]
        else:
            for a in range(K - 1, 0, -1):
                np.dot(dz_a[a - 1, :n], U, carry_h[a, :n])
                carry_c[a, :n] = next_c[a - 1, :n]
    _input_grads(dX, dW, db, dZ, X, W, src)
    _add_2d(dU, np.dot(dZ.T, _gather_rows(H_out.reshape(B * T, Hd), src_prev)))


# ----------------------------------------------------------------------------------------------------------
# GRU

@njit(cache=True, nogil=True, error_model="numpy")
def gru_forward(H_out, gates, Hn, X, lengths, W, U, b, b_h, reverse):
    """H_out (B,T,H) <- h_t; gates (B,T,3H) <- r, z, n; Hn (B,T,H) <- U_n h_{t-1} + b_hn. Cache = (gates, Hn)."""
    one = X.dtype.type(1)  # 1.0 would promote float32 to float64 and keep the loop scalar
    B, T, D = X.shape
    Hd = U.shape[1]
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    Zx = np.dot(_gather_rows(X.reshape(B * T, D), src), W.T)  # (N, 3H) all real steps, one GEMM
    h = np.zeros((B, Hd), X.dtype)
    Zh = np.empty((B, 3 * Hd), X.dtype)
    H_out[:] = 0
    Ut = np.ascontiguousarray(U.T)  # (H, G): per-step GEMMs 20% faster than on the strided view
    gates[:] = 0
    Hn[:] = 0
    for s in range(n_active.shape[0]):
        n = n_active[s]
        np.dot(h[:n], Ut, Zh[:n])
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            zx, zh, gt, hn, hk = Zx[offsets[s] + k], Zh[k], gates[row, t], Hn[row, t], h[k]  # views
            for q in range(2 * Hd):  # r and z
                gt[q] = _sigmoid(zx[q] + b[q] + zh[q] + b_h[q], X.dtype)
            for j in range(Hd):
                hn[j] = zh[2 * Hd + j] + b_h[2 * Hd + j]
                gt[2 * Hd + j] = _tanh(zx[2 * Hd + j] + b[2 * Hd + j] + gt[j] * hn[j], X.dtype)
                hk[j] = (one - gt[Hd + j]) * gt[2 * Hd + j] + gt[Hd + j] * hk[j]
            H_out[row, t] = hk
    return H_out


@njit(cache=True, nogil=True, error_model="numpy")
def gru_backward(dX, dW, dU, db, db_h, dH_out, H_out, gates, Hn, X, lengths, W, U, reverse, bptt_steps):
    """Accumulate dX, dW, dU, db, db_h; the direct path z h_{t-1} and U h_{t-1} each count as one step."""
    one = X.dtype.type(1)  # 1.0 would promote float32 to float64 and keep the loop scalar
    B, T, D = X.shape
    Hd = U.shape[1]
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    K = 1 if bptt_steps <= 0 else bptt_steps + 1
    carry = np.zeros((K, B, Hd), X.dtype)  # dL/dh_t per carrier, step order
    direct = np.zeros((K, B, Hd), X.dtype)  # dL/dh_{t-1} through z h_{t-1}
    da_a = np.zeros((K, B, 3 * Hd), X.dtype)  # dL/d(U h_{t-1} + b_h) per carrier
    dZx = np.zeros((src.shape[0], 3 * Hd), X.dtype)  # dL/d(W x_t + b), packed
    dA = np.zeros((src.shape[0], 3 * Hd), X.dtype)  # dL/d(U h_{t-1} + b_h), packed
    zero_h = np.zeros(Hd, X.dtype)
    for s in range(n_active.shape[0] - 1, -1, -1):
        n = n_active[s]
        for k in range(n):
            row = order[k]
            L = lengths[row]
            t = _time_index(L, s, reverse)
            gt, hn, dzx, da = gates[row, t], Hn[row, t], dZx[offsets[s] + k], dA[offsets[s] + k]  # views
            h_prev = H_out[row, _time_index(L, s - 1, reverse)] if s > 0 else zero_h  # (H,)
            if K == 1:
                _add(carry[0, k], dH_out[row, t])
            else:
                carry[0, k] = dH_out[row, t]
            for a in range(K):
                dh, ga, dd = carry[a, k], da_a[a, k], direct[a, k]
                for j in range(Hd):
                    rg, zg, ng = gt[j], gt[Hd + j], gt[2 * Hd + j]
                    dn = dh[j] * (one - zg) * (one - ng * ng)  # w.r.t. n's pre-activation
                    ga[j] = dn * hn[j] * rg * (one - rg)  # r
                    ga[Hd + j] = dh[j] * (h_prev[j] - ng) * zg * (one - zg)  # z
                    ga[2 * Hd + j] = dn * rg  # n, recurrent side: inside r (U_n h + b_hn)
                    dzx[2 * Hd + j] += dn
                    dd[j] = dh[j] * zg
                for q in range(2 * Hd):
                    dzx[q] += ga[q]
                _add(da, ga)
        if K == 1:
            np.dot(da_a[0, :n], U, carry[0, :n])
            for k in range(n):
                _add(carry[0, k], direct[0, k])
        else:
            for a in range(K - 1, 0, -1):
                np.dot(da_a[a - 1, :n], U, carry[a, :n])
                for k in range(n):
                    _add(carry[a, k], direct[a - 1, k])
    _input_grads(dX, dW, db, dZx, X, W, src)
    _add_2d(dU, np.dot(dA.T, _gather_rows(H_out.reshape(B * T, Hd), src_prev)))
    _add_column_sums(db_h, dA)


# ----------------------------------------------------------------------------------------------------------
# Forward only (inference): same arithmetic as lstm_forward / gru_forward, but no cache for backward: the
# gates of a step live in one (4H,) / (3H,) scratch row and c_t only in the running state, so the (B, T, 4H)
# arrays are neither zeroed nor written. Two ways in: from the inputs X (one GEMM for W x, as in training),
# or *_infer_table, from a projected table Ztab whose row w is W E[w] for the frozen table E: with the
# table frozen, W x_t depends on the word only, so inference reads a row instead of multiplying
# (predict.Predictor fills the rows a batch needs, once per model).

@njit(cache=True, nogil=True, error_model="numpy")
def project_rows(Z, E, rows, W):
    """Z (n, G) <- E[rows] W^T: rows of a projected table, for the ids `rows` (n,) of the frozen table E.
    Gather and GEMM in one call without the GIL. Before this kernel the gather was numpy fancy indexing,
    which holds the GIL: two threads filling 10k rows took 10.5 ms against 10.9 on one (Elman, 2026-11-27)."""
    np.dot(_gather_rows(E, rows), W.T, Z)
    return Z


@njit(cache=True, nogil=True, error_model="numpy")
def lstm_infer(H_out, X, lengths, W, U, b, reverse):
    """H_out (B,T,H) <- h_t at real steps, 0 at padding; equal to lstm_forward's H_out."""
    B, T, D = X.shape
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    Zx = np.dot(_gather_rows(X.reshape(B * T, D), src), W.T)  # (N, 4H) all real steps, one GEMM
    return _lstm_infer_steps(H_out, Zx, np.arange(Zx.shape[0]), order, n_active, offsets, lengths, U, b, reverse)


@njit(cache=True, nogil=True, error_model="numpy")
def lstm_infer_table(H_out, ids, Ztab, lengths, U, b, reverse):
    """lstm_infer's H_out with W x_t read from Ztab[ids[row, t]]."""
    order, n_active, offsets, src, src_prev = _step_order(lengths, ids.shape[1], reverse)
    return _lstm_infer_steps(H_out, Ztab, ids.ravel()[src], order, n_active, offsets, lengths, U, b, reverse)


@njit(cache=True, nogil=True, error_model="numpy")
def _lstm_infer_steps(H_out, Zsrc, zrow, order, n_active, offsets, lengths, U, b, reverse):
    Hd = U.shape[1]
    B = lengths.shape[0]
    dt = Zsrc.dtype
    h = np.zeros((B, Hd), dt)  # step order
    c = np.zeros((B, Hd), dt)
    Zh = np.empty((B, 4 * Hd), dt)
    H_out[:] = 0
    Ut = np.ascontiguousarray(U.T)  # (H, G): per-step GEMMs 20% faster than on the strided view
    for s in range(n_active.shape[0]):
        n = n_active[s]
        np.dot(h[:n], Ut, Zh[:n])
        for k in range(n):
            zx, zh, hk, ck = Zsrc[zrow[offsets[s] + k]], Zh[k], h[k], c[k]
            for j in range(Hd):  # one pass over the four gate blocks (no gate buffer): see "Speed layout"
                i_j = _sigmoid(zx[j] + zh[j] + b[j], dt)
                f_j = _sigmoid(zx[Hd + j] + zh[Hd + j] + b[Hd + j], dt)
                g_j = _tanh(zx[2 * Hd + j] + zh[2 * Hd + j] + b[2 * Hd + j], dt)
                o_j = _sigmoid(zx[3 * Hd + j] + zh[3 * Hd + j] + b[3 * Hd + j], dt)
                ck[j] = f_j * ck[j] + i_j * g_j
                hk[j] = o_j * _tanh(ck[j], dt)
            row = order[k]
            H_out[row, _time_index(lengths[row], s, reverse)] = hk
    return H_out


@njit(cache=True, nogil=True, error_model="numpy")
def gru_infer(H_out, X, lengths, W, U, b, b_h, reverse):
    """H_out (B,T,H) <- h_t at real steps, 0 at padding; equal to gru_forward's H_out."""
    B, T, D = X.shape
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    Zx = np.dot(_gather_rows(X.reshape(B * T, D), src), W.T)  # (N, 3H) all real steps, one GEMM
    return _gru_infer_steps(H_out, Zx, np.arange(Zx.shape[0]), order, n_active, offsets, lengths, U, b, b_h,
                            reverse)


@njit(cache=True, nogil=True, error_model="numpy")
def gru_infer_table(H_out, ids, Ztab, lengths, U, b, b_h, reverse):
    """gru_infer's H_out with W x_t read from Ztab[ids[row, t]]."""
    order, n_active, offsets, src, src_prev = _step_order(lengths, ids.shape[1], reverse)
    return _gru_infer_steps(H_out, Ztab, ids.ravel()[src], order, n_active, offsets, lengths, U, b, b_h, reverse)


@njit(cache=True, nogil=True, error_model="numpy")
def _gru_infer_steps(H_out, Zsrc, zrow, order, n_active, offsets, lengths, U, b, b_h, reverse):
    one = Zsrc.dtype.type(1)  # 1.0 would promote float32 to float64 and keep the loop scalar
    Hd = U.shape[1]
    B = lengths.shape[0]
    dt = Zsrc.dtype
    h = np.zeros((B, Hd), dt)
    Zh = np.empty((B, 3 * Hd), dt)
    H_out[:] = 0
    Ut = np.ascontiguousarray(U.T)  # (H, G): per-step GEMMs 20% faster than on the strided view
    for s in range(n_active.shape[0]):
        n = n_active[s]
        np.dot(h[:n], Ut, Zh[:n])
        for k in range(n):
            zx, zh, hk = Zsrc[zrow[offsets[s] + k]], Zh[k], h[k]
            for j in range(Hd):  # one pass over the three gate blocks, as in _lstm_infer_steps
                r_j = _sigmoid(zx[j] + b[j] + zh[j] + b_h[j], dt)
                z_j = _sigmoid(zx[Hd + j] + b[Hd + j] + zh[Hd + j] + b_h[Hd + j], dt)
                n_j = _tanh(zx[2 * Hd + j] + b[2 * Hd + j] + r_j * (zh[2 * Hd + j] + b_h[2 * Hd + j]), dt)
                hk[j] = (one - z_j) * n_j + z_j * hk[j]
            row = order[k]
            H_out[row, _time_index(lengths[row], s, reverse)] = hk
    return H_out
