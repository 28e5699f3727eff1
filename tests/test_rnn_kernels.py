"""Tests of the classifier's Numba kernels (pipeline/classifier/recurrence.py, cells.py and kernels.py).

Three kinds: central finite-difference gradient checks in float64 (every parameter and the input X,
every cell, both directions, every pooling, padded batches), plain NumPy reference loops against the
jitted forward and truncated backward, and invariances (extra padding changes nothing, inference equals
the training forward). A fourth cell, the minimal gated unit, is defined HERE as one row-maths pair and one
registration line and goes through every check the built-in cells do; the kernels load from Numba's disk
cache in a new process, for a built-in cell and for that one.
Run: .venv/bin/python -m pytest -q tests/test_rnn_kernels.py
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.classifier import cells, kernels, recurrence


# ------------------------------------------------------------- a cell added from outside: minimal gated unit

def mgu_row_forward(cell, h, c, zx, zh, cr, w):
    """Minimal gated unit (Zhou et al. 2016), with the forget gate applied after the recurrent product, as
    PyTorch's GRU applies its reset gate (so U h stays one GEMM per step): blocks f, n; biases b and b_h,
    f = sigmoid(W_f x + b_f + U_f h + b_hf), n = tanh(W_n x + b_n + f (U_n h + b_hn)), h_t = (1 - f) h + f n.
    Cache row (3H,) = f, n, U_n h + b_hn."""
    b, b_h, dt, Hd = w[2], w[3], h.dtype, h.shape[0]
    one = dt.type(1)
    for j in range(Hd):
        f = cells.sigmoid(zx[j] + b[j] + zh[j] + b_h[j], dt)
        hn = zh[Hd + j] + b_h[Hd + j]
        n = cells.tanh(zx[Hd + j] + b[Hd + j] + f * hn, dt)
        h[j] = (one - f) * h[j] + f * n
        cells.save(cr, j, Hd, (f, n, hn))


def mgu_row_backward(cell, dzx, dz, dh_prev, dc_prev, dh, dc, h, h_prev, cr, cr_prev):
    one, Hd = dh.dtype.type(1), dh.shape[0]
    for j in range(Hd):
        f, n, hn = cr[j], cr[Hd + j], cr[2 * Hd + j]
        dn = dh[j] * f * (one - n * n)  # w.r.t. n's pre-activation
        df = (dh[j] * (n - h_prev[j]) + dn * hn) * f * (one - f)  # f gates h_t and U_n h
        dz[j], dz[Hd + j] = df, dn * f  # recurrent side
        dzx[j] += df  # input side (split cell: the kernel adds dz to dL/d(U h) only)
        dzx[Hd + j] += dn
        dh_prev[j] = dh[j] * (one - f)  # the direct path (1 - f) h_{t-1}


MGU = cells.register("mgu", 2, mgu_row_forward, mgu_row_backward, cache=3, split=True, direct=True)

CELLS = ["elman_tanh", "elman_sigmoid", "lstm", "gru", "mgu"]
HANDLES = {"elman_tanh": cells.ELMAN_TANH, "elman_sigmoid": cells.ELMAN_SIGMOID, "lstm": cells.LSTM,
           "gru": cells.GRU, "mgu": MGU}
GATES = {name: cell.gates for name, cell in HANDLES.items()}


# ------------------------------------------------------------------------------------------------ helpers

def make_params(cell, D, Hd, rng, dtype=np.float64, scale=0.5):
    G = GATES[cell] * Hd
    p = {
        "W": (rng.standard_normal((G, D)) * scale).astype(dtype),
        "U": (rng.standard_normal((G, Hd)) * scale).astype(dtype),
        "b": (rng.standard_normal(G) * 0.1).astype(dtype),
    }
    if cell in ("gru", "mgu"):
        p["b_h"] = (rng.standard_normal(G) * 0.1).astype(dtype)
    return p


def make_batch(B, T, D, rng, lengths=None, dtype=np.float64):
    if lengths is None:
        lengths = rng.integers(1, T + 1, size=B)
        lengths[0], lengths[-1] = T, 1  # always a full row and a length-1 row
    lengths = np.asarray(lengths, np.int32)
    X = rng.standard_normal((B, T, D)).astype(dtype)  # padding holds garbage on purpose
    return X, lengths


def weights(p):
    """(W, U, b, b_h) as the kernels take them; b_h with no rows for cells without it."""
    return p["W"], p["U"], p["b"], p.get("b_h", np.zeros(0, p["W"].dtype))


def forward(cell, p, X, lengths, reverse, train=True):
    """Returns H_out and the cache backward expects (None when not train: the inference specialisation)."""
    B, T, _ = X.shape
    Hd = p["U"].shape[1]
    H_out = np.full((B, T, Hd), np.nan, X.dtype)  # the kernel writes every entry, padding included
    cache = np.full((B, T, HANDLES[cell].cache * Hd), np.nan, X.dtype) if train else None
    recurrence.forward(H_out, cache, X, None, None, lengths, weights(p), HANDLES[cell], reverse)
    return H_out, cache


def backward(cell, p, X, lengths, reverse, H_out, cache, dH_out, bptt_steps=0, want_dX=True):
    """Returns a dict of gradients (fresh zeroed buffers, so accumulation equals assignment)."""
    g = {k: np.zeros_like(v) for k, v in p.items()}
    g["X"] = np.zeros_like(X) if want_dX else np.zeros((0,) + X.shape[1:], X.dtype)
    recurrence.backward(g["X"], weights(g), dH_out, H_out, cache, X, lengths, weights(p), HANDLES[cell], reverse,
                        bptt_steps)
    return g


def pool_forward(pool, H_out, lengths, reverse):
    B, T, Hd = H_out.shape
    R = np.zeros((B, Hd), H_out.dtype)
    if pool == "last":
        return kernels.pool_last_forward(R, H_out, lengths, reverse), None
    if pool == "mean":
        return kernels.pool_mean_forward(R, H_out, lengths), None
    argmax = np.zeros((B, Hd), np.int32)
    return kernels.pool_max_forward(R, argmax, H_out, lengths), argmax


def pool_backward(pool, dR, lengths, reverse, argmax, shape):
    dH = np.zeros(shape, dR.dtype)
    if pool == "last":
        kernels.pool_last_backward(dH, dR, lengths, reverse)
    elif pool == "mean":
        kernels.pool_mean_backward(dH, dR, lengths)
    else:
        kernels.pool_max_backward(dH, dR, argmax)
    return dH


def rel_errors(analytic, numeric):
    a, n = analytic.ravel(), numeric.ravel()
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-4)


def numeric_grad(f, arr, eps=1e-5):
    """Central differences of the scalar f() with respect to every entry of arr (modified in place)."""
    g = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return g


def assert_grads_close(analytic, numeric, name, max_tol=1e-4, mean_tol=1e-6):
    err = rel_errors(analytic, numeric)
    assert err.max() < max_tol, f"{name}: max rel error {err.max():.2e}"
    assert err.mean() < mean_tol, f"{name}: mean rel error {err.mean():.2e}"


# ------------------------------------------------------------------------------ 1. gradient checks

@pytest.mark.parametrize("pool", ["last", "mean", "max"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_gradients_through_pool_dense_and_softmax_ce(cell, reverse, pool):
    """Cell -> pooling -> dense -> softmax CE: finite differences for every parameter and X."""
    rng = np.random.default_rng(hash((cell, reverse, pool)) % 2**32)
    B, T, D, Hd, C = 3, 5, 4, 3, 3
    X, lengths = make_batch(B, T, D, rng, lengths=[5, 3, 1])
    p = make_params(cell, D, Hd, rng)
    p["V"] = rng.standard_normal((C, Hd))
    p["c"] = rng.standard_normal(C) * 0.1
    labels = np.array([0, 2, 1], np.int32)

    def loss_and_grads(want_grads=False):
        H_out, cache = forward(cell, p, X, lengths, reverse)
        R, argmax = pool_forward(pool, H_out, lengths, reverse)
        logits = kernels.dense_forward(np.zeros((B, C)), R, p["V"], p["c"])
        probs, dlogits = np.zeros((B, C)), np.zeros((B, C))
        loss = kernels.softmax_cross_entropy(probs, dlogits, logits, labels)
        if not want_grads:
            return loss
        dR, dV, dc = np.zeros_like(R), np.zeros_like(p["V"]), np.zeros_like(p["c"])
        kernels.dense_backward(dR, dV, dc, dlogits, R, p["V"])
        dH = pool_backward(pool, dR, lengths, reverse, argmax, H_out.shape)
        g = backward(cell, p, X, lengths, reverse, H_out, cache, dH)
        g["V"], g["c"] = dV, dc
        return loss, g

    _, g = loss_and_grads(True)
    for name in list(p) + ["X"]:
        arr = X if name == "X" else p[name]
        num = numeric_grad(loss_and_grads, arr)
        assert_grads_close(g[name], num, f"{cell}/{name}")
    # padding steps get no gradient
    for row, L in enumerate(lengths):
        assert np.all(g["X"][row, L:] == 0)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_gradients_random_upstream_on_every_step(cell, reverse):
    """llm.c's trick: loss = sum(H_out * dout) with a random dout on every step."""
    rng = np.random.default_rng(7 + len(cell) + reverse)
    B, T, D, Hd = 3, 6, 4, 3
    X, lengths = make_batch(B, T, D, rng, lengths=[6, 1, 4])
    p = make_params(cell, D, Hd, rng)
    dout = rng.standard_normal((B, T, Hd))

    def loss():
        return float((forward(cell, p, X, lengths, reverse)[0] * dout).sum())

    H_out, cache = forward(cell, p, X, lengths, reverse)
    g = backward(cell, p, X, lengths, reverse, H_out, cache, dout)
    for name in list(p) + ["X"]:
        arr = X if name == "X" else p[name]
        assert_grads_close(g[name], numeric_grad(loss, arr), f"{cell}/{name}")


# ------------------------------------------------------------------------- 3. NumPy reference forward

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_forward(cell, p, X, lengths, reverse):
    """Obviously-correct loops, one row and one step at a time."""
    B, T, _ = X.shape
    W, U, b = p["W"], p["U"], p["b"]
    Hd = U.shape[1]
    H_out = np.zeros((B, T, Hd))
    for row in range(B):
        L = lengths[row]
        h, c = np.zeros(Hd), np.zeros(Hd)
        steps = range(L - 1, -1, -1) if reverse else range(L)
        for t in steps:
            x = X[row, t]
            if cell.startswith("elman"):
                z = U @ h + W @ x + b
                h = np.tanh(z) if cell == "elman_tanh" else sigmoid(z)
            elif cell == "lstm":
                a = W @ x + U @ h + b
                i, f, g, o = sigmoid(a[:Hd]), sigmoid(a[Hd:2 * Hd]), np.tanh(a[2 * Hd:3 * Hd]), sigmoid(a[3 * Hd:])
                c = f * c + i * g
                h = o * np.tanh(c)
            elif cell == "mgu":
                gx, gh = W @ x + b, U @ h + p["b_h"]
                f = sigmoid(gx[:Hd] + gh[:Hd])
                h = (1 - f) * h + f * np.tanh(gx[Hd:] + f * gh[Hd:])
            else:
                gx, gh = W @ x + b, U @ h + p["b_h"]
                r = sigmoid(gx[:Hd] + gh[:Hd])
                z = sigmoid(gx[Hd:2 * Hd] + gh[Hd:2 * Hd])
                n = np.tanh(gx[2 * Hd:] + r * gh[2 * Hd:])
                h = (1 - z) * n + z * h
            H_out[row, t] = h
    return H_out


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_forward_matches_numpy_reference(cell, reverse):
    rng = np.random.default_rng(11)
    B, T, D, Hd = 5, 7, 4, 6
    X, lengths = make_batch(B, T, D, rng, lengths=[7, 2, 1, 5, 7])
    p = make_params(cell, D, Hd, rng)
    H_out, _ = forward(cell, p, X, lengths, reverse)
    np.testing.assert_allclose(H_out, reference_forward(cell, p, X, lengths, reverse), rtol=1e-12, atol=1e-12)
    # float32 production path (rational tanh/sigmoid) agrees to float32 precision; checked on the LSTM
    # only, which uses both activations, to keep the cold-compile time of this file down
    if cell != "lstm":
        return
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    H32, _ = forward(cell, p32, X.astype(np.float32), lengths, reverse)
    assert H32.dtype == np.float32
    np.testing.assert_allclose(H32, H_out, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell", CELLS)
def test_inference_equals_training_forward(cell, dtype):
    """The inference specialisation (no cache: row-by-row products, matmul_rows) gives the training forward's
    H_out (GEMMs) up to rounding, both directions, and so does reading W x_t from a projected table (rows of
    E W^T, as predict.Predictor does); inference gives each row the same bits alone as in its batch."""
    rng = np.random.default_rng(12)
    V, D = 11, 4
    E = rng.standard_normal((V, D)).astype(dtype)
    ids = rng.integers(0, V, size=(5, 7)).astype(np.int32)
    lengths = np.array([7, 2, 1, 5, 7], np.int32)
    X = E[ids]
    p = make_params(cell, D, 6, rng, dtype=dtype)
    Ztab = recurrence.project_rows(np.empty((V, p["W"].shape[0]), dtype), E, np.arange(V), p["W"])
    np.testing.assert_allclose(Ztab, E @ p["W"].T, rtol=1e-5 if dtype == np.float32 else 1e-12)
    for reverse in (False, True):
        H_out, _ = forward(cell, p, X, lengths, reverse)
        H_inf, cache = forward(cell, p, X, lengths, reverse, train=False)
        assert cache is None
        np.testing.assert_allclose(H_inf, H_out, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-13)
        H_tab = np.full_like(H_out, np.nan)
        recurrence.forward(H_tab, None, None, ids, Ztab, lengths, weights(p), HANDLES[cell], reverse)
        np.testing.assert_allclose(H_tab, H_out, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-13)
        for row in range(len(ids)):                   # alone, and in a batch of other rows: the same bits
            alone = forward(cell, p, X[row:row + 1], lengths[row:row + 1], reverse, train=False)[0]
            assert np.array_equal(alone[0], H_inf[row])
            tab = np.full_like(alone, np.nan)
            recurrence.forward(tab, None, None, ids[row:row + 1], Ztab, lengths[row:row + 1], weights(p),
                               HANDLES[cell], reverse)
            assert np.array_equal(tab[0], H_tab[row])


# --------------------------------------------------------------------------------- 2. truncated BPTT

def reference_elman_truncated(p, X, lengths, dH_out, k, reverse):
    """Per entry point: the gradient entering at step t is carried back through at most k U-crossings."""
    W, U = p["W"], p["U"]
    H_out = reference_forward("elman_tanh", p, X, lengths, reverse)
    g = {"W": np.zeros_like(W), "U": np.zeros_like(U), "b": np.zeros_like(p["b"]), "X": np.zeros_like(X)}
    for row in range(X.shape[0]):
        L = lengths[row]
        order = list(range(L - 1, -1, -1)) if reverse else list(range(L))  # direction's step s -> position
        for s_in in range(L):
            dh = dH_out[row, order[s_in]].copy()
            for s in range(s_in, max(s_in - k, 0) - 1, -1):  # s_in - s crossings, at most k
                t = order[s]
                h_prev = H_out[row, order[s - 1]] if s > 0 else np.zeros_like(dh)
                dz = dh * (1 - H_out[row, t] ** 2)
                g["W"] += np.outer(dz, X[row, t])
                g["U"] += np.outer(dz, h_prev)
                g["b"] += dz
                g["X"][row, t] += dz @ W
                dh = dz @ U
    return g


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_truncated_bptt_matches_reference_loop(k, reverse):
    rng = np.random.default_rng(3)
    B, T, D, Hd = 3, 6, 4, 3
    X, lengths = make_batch(B, T, D, rng, lengths=[6, 4, 1])
    p = make_params("elman_tanh", D, Hd, rng, scale=0.8)
    dout = rng.standard_normal((B, T, Hd))
    H_out, cache = forward("elman_tanh", p, X, lengths, reverse)
    g = backward("elman_tanh", p, X, lengths, reverse, H_out, cache, dout, bptt_steps=k)
    ref = reference_elman_truncated(p, X, lengths, dout, k, reverse)
    for name in ref:
        np.testing.assert_allclose(g[name], ref[name], rtol=1e-10, atol=1e-12, err_msg=name)
    full = backward("elman_tanh", p, X, lengths, reverse, H_out, cache, dout, bptt_steps=0)
    assert not np.allclose(g["U"], full["U"])  # truncation really changes something
    # k at least as long as the longest row is full BPTT
    g_long = backward("elman_tanh", p, X, lengths, reverse, H_out, cache, dout, bptt_steps=T)
    for name in ref:
        np.testing.assert_allclose(g_long[name], full[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt_window_and_linearity(cell):
    """Hand-checkable for every cell: a gradient entering only at the last step reaches exactly the
    k+1 last positions, where it equals the full-BPTT gradient; and truncated gradients are the sum of
    the single-entry ones (truncation is per entry point, not per block)."""
    rng = np.random.default_rng(5)
    B, T, D, Hd, k = 2, 7, 3, 4, 2
    X, lengths = make_batch(B, T, D, rng, lengths=[7, 5])
    p = make_params(cell, D, Hd, rng)
    H_out, cache = forward(cell, p, X, lengths, False)
    d_last = np.zeros((B, T, Hd))
    for row, L in enumerate(lengths):
        d_last[row, L - 1] = rng.standard_normal(Hd)
    full = backward(cell, p, X, lengths, False, H_out, cache, d_last)
    trunc = backward(cell, p, X, lengths, False, H_out, cache, d_last, bptt_steps=k)
    for row, L in enumerate(lengths):
        np.testing.assert_allclose(trunc["X"][row, L - 1 - k:L], full["X"][row, L - 1 - k:L], rtol=1e-12)
        assert np.all(trunc["X"][row, :L - 1 - k] == 0)
        assert np.abs(full["X"][row, :L - 1 - k]).max() > 0
    dout = rng.standard_normal((B, T, Hd))
    total = backward(cell, p, X, lengths, False, H_out, cache, dout, bptt_steps=k)
    parts = {name: np.zeros_like(v) for name, v in total.items()}
    for t in range(T):
        one = np.zeros_like(dout)
        one[:, t] = dout[:, t]
        for name, v in backward(cell, p, X, lengths, False, H_out, cache, one, bptt_steps=k).items():
            parts[name] += v
    for name in total:
        np.testing.assert_allclose(total[name], parts[name], rtol=1e-10, atol=1e-12, err_msg=name)


# ------------------------------------------------------------------------------ 4. padding invariance

@pytest.mark.parametrize("bptt_steps", [0, 2])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_extra_padding_changes_nothing(cell, reverse, bptt_steps):
    rng = np.random.default_rng(9)
    B, T, D, Hd, extra = 3, 5, 4, 3, 4
    X, lengths = make_batch(B, T, D, rng, lengths=[5, 2, 1])
    p = make_params(cell, D, Hd, rng)
    dout = rng.standard_normal((B, T, Hd))
    X_big = rng.standard_normal((B, T + extra, D))  # garbage everywhere, real steps copied in
    X_big[:, :T] = X
    dout_big = rng.standard_normal((B, T + extra, Hd))
    dout_big[:, :T] = dout
    for row, L in enumerate(lengths):  # garbage upstream at padding must be ignored too
        X[row, L:] = rng.standard_normal((T - L, D))
        dout[row, L:] = rng.standard_normal((T - L, Hd))
    H_out, cache = forward(cell, p, X, lengths, reverse)
    H_big, cache_big = forward(cell, p, X_big, lengths, reverse)
    np.testing.assert_array_equal(H_big[:, :T], H_out)
    assert np.all(H_big[:, T:] == 0)
    for row, L in enumerate(lengths):
        assert np.all(H_out[row, L:] == 0)
    g = backward(cell, p, X, lengths, reverse, H_out, cache, dout, bptt_steps)
    g_big = backward(cell, p, X_big, lengths, reverse, H_big, cache_big, dout_big, bptt_steps)
    for name in p:
        np.testing.assert_allclose(g_big[name], g[name], rtol=1e-12, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(g_big["X"][:, :T], g["X"], rtol=1e-12, atol=1e-14)
    assert np.all(g_big["X"][:, T:] == 0)


def test_backward_accumulates():
    rng = np.random.default_rng(1)
    X, lengths = make_batch(2, 4, 3, rng)
    p = make_params("lstm", 3, 2, rng)
    H_out, cache = forward("lstm", p, X, lengths, False)
    dout = rng.standard_normal(H_out.shape)
    g = backward("lstm", p, X, lengths, False, H_out, cache, dout)
    dX, dW, dU, db = g["X"].copy(), g["W"].copy(), g["U"].copy(), g["b"].copy()
    recurrence.backward(dX, (dW, dU, db, np.zeros(0)), dout, H_out, cache, X, lengths, weights(p), cells.LSTM,
                        False, 0)
    np.testing.assert_allclose(dW, 2 * g["W"])
    np.testing.assert_allclose(dX, 2 * g["X"])


@pytest.mark.parametrize("cell", ["elman_tanh", "lstm", "gru", "mgu"])
def test_backward_without_input_gradient(cell):
    """A dX with no rows (layer 0 on the frozen table) skips dL/dX and leaves every other gradient as it is."""
    rng = np.random.default_rng(2)
    X, lengths = make_batch(3, 5, 4, rng)
    p = make_params(cell, 4, 3, rng)
    H_out, cache = forward(cell, p, X, lengths, False)
    dout = rng.standard_normal(H_out.shape)
    full = backward(cell, p, X, lengths, False, H_out, cache, dout)
    skip = backward(cell, p, X, lengths, False, H_out, cache, dout, want_dX=False)
    assert skip["X"].shape[0] == 0 and np.abs(full["X"]).sum() > 0
    for name in p:
        np.testing.assert_array_equal(skip[name], full[name], err_msg=name)


# ------------------------------------------------------------------------------------- 5. softmax CE

def test_softmax_cross_entropy_against_numpy_and_finite_differences():
    rng = np.random.default_rng(2)
    B, C = 4, 3
    logits = rng.standard_normal((B, C)) * 3
    logits[0] += 1000.0  # stability: a huge shift must not overflow
    labels = np.array([2, 0, 1, 2], np.int32)
    probs, dlogits = np.zeros((B, C)), np.zeros((B, C))
    loss = kernels.softmax_cross_entropy(probs, dlogits, logits, labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, -logp[np.arange(B), labels].mean(), rtol=1e-12)
    np.testing.assert_allclose(probs, np.exp(logp), rtol=1e-12)

    def f():
        return kernels.softmax_cross_entropy(np.zeros((B, C)), np.zeros((B, C)), logits, labels)

    assert_grads_close(dlogits, numeric_grad(f, logits, eps=1e-5), "dlogits")
    # float32 logits still give a float64 loss
    loss32 = kernels.softmax_cross_entropy(np.zeros((B, C), np.float32), np.zeros((B, C), np.float32),
                                           logits.astype(np.float32), labels)
    np.testing.assert_allclose(loss32, loss, rtol=1e-5)


# ------------------------------------------------------------------- 6. cell registry and Numba's disk cache

def test_register_keeps_one_cell_per_name():
    assert cells.register("mgu", 2, mgu_row_forward, mgu_row_backward, cache=3, split=True, direct=True) is MGU
    with pytest.raises(ValueError, match="already registered"):
        cells.register("mgu", 2, mgu_row_forward, lambda *a: None)


def test_cell_type_changes_with_the_row_maths_source(tmp_path, monkeypatch):
    """Numba's cache checks only recurrence.py; a cell's type (part of the cache key) carries a digest of
    the files of its row functions and of the modules they call, so editing either recompiles."""
    (tmp_path / "helper_mod.py").write_text("def act(x):\n    return x\n")
    row = "import helper_mod\n\ndef fwd(cell, h, c, zx, zh, cr, w):\n    h[0] = helper_mod.act(zx[0])\n"
    (tmp_path / "row_mod.py").write_text(row)
    monkeypatch.syspath_prepend(str(tmp_path))
    import row_mod
    d0 = cells._digest(row_mod.fwd)
    (tmp_path / "helper_mod.py").write_text("def act(x):\n    return 2 * x\n")
    d1 = cells._digest(row_mod.fwd)
    (tmp_path / "row_mod.py").write_text(row + "# edited\n")
    d2 = cells._digest(row_mod.fwd)
    assert len({d0, d1, d2}) == 3 and cells._digest(row_mod.fwd) == d2


_CACHE_PROBE = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import test_rnn_kernels as t
from pipeline.classifier import recurrence
rng = np.random.default_rng(0)
for name in ("lstm", "mgu"):  # float64, as the tests above: cached already unless this test runs alone
    X, lengths = t.make_batch(3, 4, 2, rng)
    p = t.make_params(name, 2, 3, rng)
    H_out, cache = t.forward(name, p, X, lengths, False)
    t.forward(name, p, X, lengths, False, train=False)
    t.backward(name, p, X, lengths, False, H_out, cache, np.ones_like(H_out))
print(json.dumps({k: [sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())]
                  for k, f in (("forward", recurrence.forward), ("backward", recurrence.backward))}))
"""


def test_kernels_load_from_numba_cache_in_a_new_process():
    """cache=True holds with the cell as an argument (no function address in the cache key) and weights
    as tuples: a second fresh process compiles nothing, for a built-in cell and for the test's MGU."""
    tests = str(Path(__file__).resolve().parent)
    env = dict(os.environ, NUMBA_DISABLE_JIT="0")
    runs = [json.loads(subprocess.run([sys.executable, "-c", _CACHE_PROBE, tests], env=env, check=True,
                                      capture_output=True, text=True).stdout.splitlines()[-1]) for _ in range(2)]
    assert runs[1] == {"forward": [4, 0], "backward": [2, 0]}, runs
