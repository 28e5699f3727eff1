"""One recurrence for every cell: the forward kernel and, beside it, the backward kernel (BPTT).

Numba kernels on plain arrays (no config, no I/O); the per-row maths of each cell come from cells.py. Shape
legend, used everywhere here and in cells.py:

    B = batch size, T = padded time steps, D = input size, H = hidden size, G = gate rows (gates x H),
    E = extra state (LSTM's memory cell c: H; 0 for the others), Q = a step's cache row (cell-defined),
    N = sum(lengths), the real steps of a batch

The recurrence: per row and step t, from zx = W x_t and zh = U h_{t-1} (the cell adds its biases), the cell
computes h_t (and c_t) from h_{t-1} (and c_{t-1}); h_0 = c_0 = 0. weights = (W (G, D), U (G, H), b (G,), b_h
(G,) or (0,)), grads = (dW, dU, db, db_h) of the same shapes. The kernels own everything else, for every cell:

- Packing. Real steps run in "step order" (rows longest-first), so step s involves rows order[:n_s], and every
  W x_t comes from ONE GEMM over the N real steps, (N, D) @ W^T. Backward likewise does dW = dZx^T X, dU =
  dZh^T H_prev and dX = dZx W as single GEMMs on packed rows. Only U h_{t-1} runs per step: (n_s, H) @ U^T
  on the rows still running, against a contiguous copy of U^T (faster than the strided U.T view).
  Inference may read W x_t from a projected table instead, Ztab[ids[row, t]] (project_rows; predict.Predictor).
- Variable lengths. Step t of row b is real when t < lengths[b]; padding changes no state and no gradient,
  and its outputs are 0 (its cache rows are neither written nor read). reverse=True runs each row from
  t = lengths[b]-1 down to 0; outputs keep their original positions t.
- Training vs inference: the same forward kernel, compiled apart for cache=None (no cache code at all).
  Inference multiplies row by row (matmul_rows: W x_t above layer 0, U h_{t-1}, the projected table's rows)
  instead of by GEMM, so a sentence's output has the same bits in any batch: BLAS rounds a row differently
  with the matrix's shape (up to 2e-7 on the logits), which made a cluster's predict partitions differ from
  one process in the printed digits once a second layer read GEMM outputs.
- Truncated BPTT (bptt_steps = k > 0): the gradient that enters at output step t crosses at most k recurrent
  steps (U h_{t-1} and the cell's direct paths, e.g. LSTM's f c_{t-1}, count as one), exactly per entry
  point, with k + 1 gradient carriers, one per number of crossings. bptt_steps = 0 is full BPTT (one carrier).
- dL/dX is skipped when dX has no rows (layer 0 reads the frozen table).
- Threads: every kernel is nogil; callers split batches over Python threads, BLAS on one thread per call.
  Numba's prange pool is not used (launching it slowed an in-process PyTorch in the benchmark).
- Compilation: the cell is an argument whose Numba TYPE names it (cells.Cell), so its rows are chosen and
  inlined at compile time, and each (cell, dtype, training/inference, input path) compiles once, then loads
  from Numba's disk cache (cache=True) in any new process.
"""
import numpy as np
from numba import njit, types
from numba.extending import overload

from .cells import cell_layout, row_backward, row_forward


# ----------------------------------------------------------------------------------------------------------
# The recurrence

@njit(cache=True, nogil=True, error_model="numpy")
def forward(H_out, cache, X, ids, Ztab, lengths, weights, cell, reverse):
    """H_out (B, T, H) <- h_t at real steps, 0 at padding; cache (B, T, Q) <- the cell's cache rows when training,
    None in inference. W x_t comes from X (B, T, D) by one GEMM (ids and Ztab None), or from the projected
    table, Ztab[ids[row, t]] (ids (B, T), Ztab (rows, G); X None)."""
    B, T, Hd = H_out.shape
    W, U = weights[0], weights[1]
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    Z, zrow = _input_part(X, ids, Ztab, W, src, cache)  # W x_t of packed step p is the row Z[zrow[p]]
    h = np.zeros((B, Hd), H_out.dtype)  # (B, H) state, step order: row k is order[k]
    c = np.zeros((B, cell_layout(cell)[0] * Hd), H_out.dtype)  # (B, E) extra state
    Zh = np.empty((B, U.shape[0]), H_out.dtype)  # (B, G) U h_{t-1}, step order
    Ut = np.ascontiguousarray(U.T)  # (H, G) contiguous: faster per-step GEMMs than the strided U.T view
    H_out[:] = 0  # padding outputs are 0; padding cache rows are left unwritten (backward never reads them)
    for s in range(n_active.shape[0]):
        n = n_active[s]  # rows order[:n] are still running; a row keeps its index k from step to step
        if cache is None:  # inference: each row alone, so a sentence's output does not depend on its batch
            matmul_rows(Zh, h, Ut, n)
        else:
            np.dot(h[:n], Ut, Zh[:n])
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            zx = Z[zrow[offsets[s] + k]]  # (G,)
            if cache is None:  # resolved at compile time
                row_forward(cell, h[k], c[k], zx, Zh[k], None, weights)
            else:
                row_forward(cell, h[k], c[k], zx, Zh[k], cache[row, t], weights)
            H_out[row, t] = h[k]
    return H_out


def _input_part(X, ids, Ztab, W, src, cache):
    """(Z, zrow): W x_t of packed step p is Z[zrow[p]], from X by one GEMM (training), row by row
    (inference: matmul_rows), or from the projected table."""


@overload(_input_part)
def _input_part_impl(X, ids, Ztab, W, src, cache):
    if not isinstance(Ztab, types.NoneType):
        return lambda X, ids, Ztab, W, src, cache: (Ztab, ids.ravel()[src])
    if isinstance(cache, types.NoneType):
        def rowwise(X, ids, Ztab, W, src, cache):
            B, T, D = X.shape
            A = _gather_rows(X.reshape(B * T, D), src)
            Z = np.empty((A.shape[0], W.shape[0]), X.dtype)
            matmul_rows(Z, A, np.ascontiguousarray(W.T), A.shape[0])
            return Z, np.arange(Z.shape[0])
        return rowwise

    def gemm(X, ids, Ztab, W, src, cache):
        B, T, D = X.shape
        Z = np.dot(_gather_rows(X.reshape(B * T, D), src), W.T)  # (N, G): every real step, one GEMM
        return Z, np.arange(Z.shape[0])
    return gemm


@njit(cache=True, nogil=True, error_model="numpy")
def backward(dX, grads, dH_out, H_out, cache, X, lengths, weights, cell, reverse, bptt_steps):
    """Accumulate grads (dW, dU, db, db_h) and dX (B, T, D) (no rows: not wanted) from dH_out (B, T, H), the
    gradient on every step's output, given forward's H_out and cache; bptt_steps = k > 0 truncates."""
    dW, dU, db, db_h = grads
    W, U = weights[0], weights[1]
    B, T, D = X.shape
    G, Hd = U.shape
    extra, split, direct = cell_layout(cell)
    dt = X.dtype
    order, n_active, offsets, src, src_prev = _step_order(lengths, T, reverse)
    K = 1 if bptt_steps <= 0 else bptt_steps + 1  # carriers: carrier a has crossed a steps
    dh = np.zeros((K, B, Hd), dt)  # dL/dh_t per carrier, step order
    dc = np.zeros((K, B, extra * Hd), dt)  # dL/dc_t per carrier
    dz = np.zeros((K, B, G), dt)  # dL/d(U h_{t-1}) per carrier
    dh_prev = np.zeros((K, B, Hd), dt)  # dL/dh_{t-1} by the direct path (direct cells)
    dc_prev = np.zeros((K, B, extra * Hd), dt)  # dL/dc_{t-1}
    dZx = np.zeros((src.shape[0], G), dt)  # (N, G) dL/d(W x_t) summed over carriers, packed
    dZh = np.zeros((src.shape[0], G), dt) if split else dZx  # (N, G) dL/d(U h_{t-1}); the same unless split
    zero_h, zero_q = np.zeros(Hd, dt), np.zeros(cache.shape[2], dt)  # h_0 and the cache row before step 0
    for s in range(n_active.shape[0] - 1, -1, -1):  # the direction's steps, last first
        n = n_active[s]
        for k in range(n):
            row = order[k]
            t = _time_index(lengths[row], s, reverse)
            if s > 0:  # h_{t-1} and the cache row of the direction's previous step
                t_prev = _time_index(lengths[row], s - 1, reverse)
                h_prev, cr_prev = H_out[row, t_prev], cache[row, t_prev]
            else:
                h_prev, cr_prev = zero_h, zero_q
            if K == 1:
                _add(dh[0, k], dH_out[row, t])  # full BPTT: one carrier, the output gradient joins it
            else:
                dh[0, k] = dH_out[row, t]  # truncated: a fresh carrier for this entry point
                dc[0, k] = 0
            p = offsets[s] + k
            dzx, dzh, h, cr = dZx[p], dZh[p], H_out[row, t], cache[row, t]  # (G,), (G,), (H,), (Q,)
            for a in range(K):
                row_backward(cell, dzx, dz[a, k], dh_prev[a, k], dc_prev[a, k], dh[a, k], dc[a, k], h, h_prev, cr,
                             cr_prev)
                _add(dzh, dz[a, k])
        # one step back, through U and the direct paths: full BPTT keeps its one carrier, truncated BPTT moves
        # carrier a to a + 1 and drops the oldest
        if K == 1:
            _carry(dh[0], dc[0], dz[0], dh_prev[0], dc_prev[0], U, n, direct)
        else:
            for a in range(K - 1, 0, -1):
                _carry(dh[a], dc[a], dz[a - 1], dh_prev[a - 1], dc_prev[a - 1], U, n, direct)
    _input_grads(dX, dW, db, dZx, X, W, src)
    _add_2d(dU, np.dot(dZh.T, _gather_rows(H_out.reshape(B * T, Hd), src_prev)))  # dZh^T H_prev
    if db_h.shape[0] > 0:
        _add_column_sums(db_h, dZh)


@njit(cache=True, nogil=True, error_model="numpy")
def _carry(dh, dc, dz, dh_prev, dc_prev, U, n, direct):
    """Rows :n of one carrier one step back: dh <- dz U (+ dh_prev for a direct cell), dc <- dc_prev."""
    np.dot(dz[:n], U, dh[:n])  # (n, G) @ (G, H)
    if direct:
        for k in range(n):
            _add(dh[k], dh_prev[k])
    dc[:n] = dc_prev[:n]


@njit(cache=True, nogil=True, error_model="numpy")
def project_rows(Z, E, rows, W):
    """Z (n, G) <- E[rows] W^T: rows of a projected table for the ids `rows` (n,) of the frozen table E; with
    E frozen, W x_t depends on the word only. Gather and product in one nogil call (numpy's gather holds the
    GIL); row by row (matmul_rows), so a word's row does not depend on which words were filled with it."""
    matmul_rows(Z, _gather_rows(E, rows), np.ascontiguousarray(W.T), rows.shape[0])
    return Z


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_rows(out, A, Bt, n):
    """out[:n] <- A[:n] @ Bt, (n, K) @ (K, G), each output element summed over K in one fixed order, with no
    fused multiply-add: a row's result depends on that row's numbers only, never on how many rows are
    multiplied with it (BLAS blocks by the matrix shape, so its GEMM rounds a row differently in another
    batch). Inference uses it: a sentence gets the same probabilities alone, in any batch, in any partition of
    a cluster's predict. Rows go four at a time, sharing each row of Bt while it is in cache; the inner loops
    run along G, each output independent, so they vectorise without reordering any sum."""
    K, G = Bt.shape
    k = 0
    while k + 4 <= n:
        o0, o1, o2, o3 = out[k], out[k + 1], out[k + 2], out[k + 3]
        a0, a1, a2, a3 = A[k], A[k + 1], A[k + 2], A[k + 3]
        for g in range(G):
            o0[g] = 0.0
            o1[g] = 0.0
            o2[g] = 0.0
            o3[g] = 0.0
        for j in range(K):
            b = Bt[j]
            x0, x1, x2, x3 = a0[j], a1[j], a2[j], a3[j]
            for g in range(G):
                bg = b[g]
                o0[g] += x0 * bg
                o1[g] += x1 * bg
                o2[g] += x2 * bg
                o3[g] += x3 * bg
        k += 4
    while k < n:
        o = out[k]
        a = A[k]
        for g in range(G):
            o[g] = 0.0
        for j in range(K):
            x = a[j]
            b = Bt[j]
            for g in range(G):
                o[g] += x * b[g]
        k += 1
    return out


# ----------------------------------------------------------------------------------------------------------
# Packing and accumulation helpers

@njit(cache=True, nogil=True, error_model="numpy")
def _step_order(lengths, T, reverse):
    """Packing of the real steps in step order, the layout of every GEMM here.

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
