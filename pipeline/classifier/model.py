"""The recurrent sentence classifier: parameters, forward and backward through the whole model.

    x_t = E[id_t]                      frozen lookup table (V+2, D): an index, never a one-hot product
    x_t <- P x_t                       optional trainable projection P (projection, D)
    x_t <- x_t * m_t / (1 - p_in)      input_dropout on layer 0's inputs, training only
    h_t = cell(x_t, h_{t-1})           per layer and direction (cells.py: elman / lstm / gru,
                                       run by recurrence.py);
                                       layer l+1 reads layer l's states, both directions concatenated (2H),
                                       with layer_dropout on them in training (PyTorch's GRU(dropout=p))
    r   = pool(h_1..h_L)               last / mean / max over the real steps, or meanmax = [mean; max]
                                       (2H), or attention: sum_t a_t h_t, a = softmax_t(u . h_t) over
                                       the real steps (u trainable, one per direction, zero at the start:
                                       the mean), per direction, concatenated
    r  <- r * mask / (1 - p)           inverted dropout, training only
    logits = V r + c,  p = softmax(logits),  loss = mean cross-entropy

Parameters are a dict of named arrays (float32 for training; float64 works too, for gradient checks):
`P`; per layer l and direction d in (fwd, bwd): `l{l}.{d}.W` (G, D_in), `l{l}.{d}.U` (G, H), `l{l}.{d}.b`
(G,), and for the GRU `l{l}.{d}.b_h` (G,), with G = H, 4H or 3H; with attention pooling `attn.{d}` (H,);
then `V` (C, H_r) and `c` (C,). The
table gets no gradient and is never written (the driver marks it read-only).

Inference with fixed parameters (Predictor) is in predict.py, the model file in modelfile.py, the thread
helpers that split a batch over cores in threads.py.
"""
from __future__ import annotations

import numpy as np

from . import cells, kernels, recurrence
from .threads import _in_threads, _parts, _rows

GATES = {"elman": 1, "lstm": 4, "gru": 3}


def directions(mc) -> tuple:
    return ("fwd", "bwd") if mc.bidirectional else ("fwd",)


def pooled_size(mc) -> int:
    """H_r, the size of the sentence vector r: H per direction, 2H per direction for meanmax."""
    return mc.hidden_size * len(directions(mc)) * (2 if mc.pooling == "meanmax" else 1)


# ---------------------------------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------------------------------
def _glorot(rng, rows, cols):
    """Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)); keeps tanh out of saturation."""
    limit = np.sqrt(6.0 / (rows + cols))
    return rng.uniform(-limit, limit, size=(rows, cols))


def _orthogonal(rng, n):
    """A random (n, n) orthogonal matrix (QR of a Gaussian, signs fixed): the recurrence neither
    shrinks nor blows up the state at the start of training."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def init_params(mc, D: int, C: int, seed: int, dtype=np.float32) -> dict:
    """Glorot for W (per gate block), orthogonal for U (per gate block), zero biases, LSTM forget bias
    mc.forget_bias (1 by default)."""
    rng = np.random.default_rng(seed)
    H, G = mc.hidden_size, GATES[mc.cell]
    params = {}
    d_in = D
    if mc.projection:
        params["P"] = _glorot(rng, mc.projection, D)
        d_in = mc.projection
    for layer in range(mc.layers):
        for d in directions(mc):
            pre = f"l{layer}.{d}."
            params[pre + "W"] = np.vstack([_glorot(rng, H, d_in) for _ in range(G)])
            params[pre + "U"] = np.vstack([_orthogonal(rng, H) for _ in range(G)])
            params[pre + "b"] = np.zeros(G * H)
            if mc.cell == "lstm":
                params[pre + "b"][H:2 * H] = mc.forget_bias  # forget gate open at the start (order i, f, g, o)
            if mc.cell == "gru":
                params[pre + "b_h"] = np.zeros(G * H)
        d_in = H * len(directions(mc))
    if mc.pooling == "attention":
        for d in directions(mc):
            params[f"attn.{d}"] = np.zeros(mc.hidden_size)   # uniform weights at the start: mean pooling
    params["V"] = _glorot(rng, C, pooled_size(mc))
    params["c"] = np.zeros(C)
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()}


# ---------------------------------------------------------------------------------------------------
# Forward and backward through the whole model
# ---------------------------------------------------------------------------------------------------
def _weights(params, pre, dtype):
    """(W, U, b, b_h) of one layer and direction; b_h has no rows for cells without it (not the GRU)."""
    b_h = params.get(pre + "b_h")
    return params[pre + "W"], params[pre + "U"], params[pre + "b"], np.zeros(0, dtype) if b_h is None else b_h


def _cell_forward(mc, params, pre, X, lengths, reverse, keep_cache=True):
    """H_out (B, T, H) and the cell's cache (B, T, Q) (None without keep_cache: inference, no cache written)."""
    B, T, _ = X.shape
    cell = cells.get(mc.cell, mc.activation)
    H_out = np.empty((B, T, mc.hidden_size), X.dtype)
    cache = np.empty((B, T, cell.cache * mc.hidden_size), X.dtype) if keep_cache else None
    recurrence.forward(H_out, cache, X, None, None, lengths, _weights(params, pre, X.dtype), cell, reverse)
    return H_out, cache


def _cell_infer_table(mc, params, pre, ids, Ztab, lengths, reverse):
    """H_out (B, T, H) of layer 0, W x_t read from the projected table (Predictor)."""
    B, T = ids.shape
    H_out = np.empty((B, T, mc.hidden_size), Ztab.dtype)
    recurrence.forward(H_out, None, None, ids, Ztab, lengths, _weights(params, pre, Ztab.dtype),
                       cells.get(mc.cell, mc.activation), reverse)
    return H_out


def _cell_backward(mc, params, grads, pre, dX, dH_out, H_out, cache, X, lengths, reverse):
    """Accumulate the cell's parameter gradients into `grads` and dL/dX into dX."""
    recurrence.backward(dX, _weights(grads, pre, X.dtype), dH_out, H_out, cache, X, lengths,
                        _weights(params, pre, X.dtype), cells.get(mc.cell, mc.activation), reverse, mc.bptt_steps)


def _real_steps(H_out, lengths):
    """(B, T) bool: step t of sentence b is a real token (the padded steps of H_out are never written)."""
    return np.arange(H_out.shape[1])[None, :] < lengths[:, None]


def _attention_forward(H_out, lengths, u):
    """R (B, H) = sum_t a_t h_t with a = softmax over the real steps of h_t . u; returns R and (a, the
    states with padded steps zeroed) for the backward."""
    real = _real_steps(H_out, lengths)
    Hm = np.where(real[:, :, None], H_out, 0).astype(H_out.dtype)
    scores = np.where(real, Hm @ u, -np.inf)
    a = np.exp(scores - scores.max(axis=1, keepdims=True))
    a /= a.sum(axis=1, keepdims=True)
    a = a.astype(H_out.dtype)
    return np.einsum("bt,bth->bh", a, Hm), (a, Hm)


def _attention_backward(dH_out, du, dR, cache, u):
    """dH_out += dL/dh_t = a_t dR + a_t (dR . h_t - dR . R) u; du += sum_bt a_t (dR . h_t - dR . R) h_t."""
    a, Hm = cache
    g = np.einsum("bh,bth->bt", dR, Hm)                      # dR . h_t
    ds = a * (g - (a * g).sum(axis=1, keepdims=True))        # softmax backward; 0 on padded steps (a = 0)
    dH_out += a[:, :, None] * dR[:, None, :] + ds[:, :, None] * u[None, None, :]
    du += np.einsum("bt,bth->h", ds, Hm)


def _pool_forward(mc, H_out, lengths, reverse, u=None):
    """R (B, H) of one direction's states ((B, 2H) = [mean, max] for meanmax) and the pooling's cache (the
    argmax for max and meanmax, the weights for attention, whose vector is `u`)."""
    B, _, H = H_out.shape
    if mc.pooling == "attention":
        return _attention_forward(H_out, lengths, u)
    if mc.pooling == "last":
        R = np.empty((B, H), H_out.dtype)
        kernels.pool_last_forward(R, H_out, lengths, reverse)
        return R, None
    if mc.pooling == "mean":
        R = np.empty((B, H), H_out.dtype)
        kernels.pool_mean_forward(R, H_out, lengths)
        return R, None
    argmax = np.empty((B, H), np.int32)
    if mc.pooling == "max":
        R = np.empty((B, H), H_out.dtype)
        kernels.pool_max_forward(R, argmax, H_out, lengths)
        return R, argmax
    R_mean, R_max = np.empty((B, H), H_out.dtype), np.empty((B, H), H_out.dtype)   # meanmax
    kernels.pool_mean_forward(R_mean, H_out, lengths)
    kernels.pool_max_forward(R_max, argmax, H_out, lengths)
    return np.concatenate([R_mean, R_max], axis=1), argmax


def _pool_backward(mc, dH_out, dR, lengths, argmax, reverse):
    """dH_out (B, T, H) += the pooling's gradient from dR (B, H), or (B, 2H) for meanmax."""
    if mc.pooling == "last":
        kernels.pool_last_backward(dH_out, dR, lengths, reverse)
    elif mc.pooling == "mean":
        kernels.pool_mean_backward(dH_out, dR, lengths)
    elif mc.pooling == "max":
        kernels.pool_max_backward(dH_out, dR, argmax)
    else:
        H = dH_out.shape[2]
        kernels.pool_mean_backward(dH_out, np.ascontiguousarray(dR[:, :H]), lengths)
        kernels.pool_max_backward(dH_out, np.ascontiguousarray(dR[:, H:]), argmax)


def forward(params, mc, table, ids, lengths, train=False, rng=None, keep_cache=True, mask=None, ztab=None,
            in_masks=None):
    """logits (B, C) and the cache `backward` consumes. ids (B, T) int32 rows of `table`, lengths (B,).
    keep_cache=False (inference: predict, evaluation) runs the recurrence without its cache (no gates
    stored); its cache cannot go to `backward`.
    Dropout (train=True): `mask` (B, H_r) and `in_masks` (per layer, (B, T, D_in) or None) if given, else
    drawn from `rng` (see dropout_masks).
    ztab (inference only): {"l0.fwd.": Ztab, ...}, layer 0's projected tables (Predictor), which replace
    the gather and the input GEMM of layer 0."""
    dtype = params["V"].dtype
    B, T = ids.shape
    if train and mask is None and in_masks is None:
        mask, in_masks = dropout_masks(mc, params, B, T, rng, dtype)
    if not train or in_masks is None:
        in_masks = [None] * mc.layers
    X0 = X = None
    if ztab is None:
        X0 = table[ids]                                # (B, T, D) gather: the frozen lookup
        if X0.dtype != dtype:
            X0 = X0.astype(dtype)
        X = X0
        if "P" in params:
            P = params["P"]
            if keep_cache:
                X = np.dot(X0.reshape(B * T, -1), P.T).reshape(B, T, P.shape[0])  # (B, T, projection)
            else:                                      # inference: row by row, independent of the batch
                X = recurrence.matmul_rows(np.empty((B * T, P.shape[0]), dtype), X0.reshape(B * T, -1),
                                           np.ascontiguousarray(P.T), B * T).reshape(B, T, P.shape[0])
    layers = []                                        # per layer: (input, [(H_out, cache) per direction])
    for layer in range(mc.layers):
        if layer == 0 and ztab is not None:
            outs = [(_cell_infer_table(mc, params, f"l0.{d}.", ids, ztab[f"l0.{d}."], lengths, d == "bwd"), None)
                    for d in directions(mc)]
        else:
            if in_masks[layer] is not None:
                X = X * in_masks[layer]
            outs = [_cell_forward(mc, params, f"l{layer}.{d}.", X, lengths, d == "bwd", keep_cache)
                    for d in directions(mc)]
        layers.append((X, outs))
        X = outs[0][0] if len(outs) == 1 else np.concatenate([o[0] for o in outs], axis=2)  # (B, T, 2H)
    pooled = [_pool_forward(mc, H_out, lengths, d == "bwd", params.get(f"attn.{d}"))
              for (H_out, _), d in zip(layers[-1][1], directions(mc))]
    R = pooled[0][0] if len(pooled) == 1 else np.concatenate([p[0] for p in pooled], axis=1)  # (B, H_r)
    if train and mc.dropout > 0:
        if mask is None:
            mask = dropout_mask(mc, B, rng, dtype)
        R = R * mask
    else:
        mask = None
    logits = np.empty((B, params["V"].shape[0]), dtype)
    kernels.dense_forward(logits, np.ascontiguousarray(R), params["V"], params["c"])
    cache = {"X0": X0, "layers": layers, "pooled": pooled, "R": R, "mask": mask, "lengths": lengths,
             "in_masks": in_masks}
    return logits, cache


def backward(params, mc, cache, dlogits) -> dict:
    """Gradients of every trainable parameter (never of the table), from dL/dlogits (B, C)."""
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    lengths, R = cache["lengths"], cache["R"]
    H = mc.hidden_size
    Hp = pooled_size(mc) // len(directions(mc))        # pooled width per direction
    dR = np.zeros_like(R)
    kernels.dense_backward(dR, grads["V"], grads["c"], dlogits, np.ascontiguousarray(R), params["V"])
    if cache["mask"] is not None:
        dR *= cache["mask"]
    dirs = directions(mc)
    last_outs = cache["layers"][-1][1]
    dHs = []
    for k, ((H_out, _), d) in enumerate(zip(last_outs, dirs)):
        dH = np.zeros_like(H_out)
        if mc.pooling == "attention":
            _attention_backward(dH, grads[f"attn.{d}"], dR[:, k * Hp:(k + 1) * Hp], cache["pooled"][k][1],
                                params[f"attn.{d}"])
        else:
            _pool_backward(mc, dH, np.ascontiguousarray(dR[:, k * Hp:(k + 1) * Hp]), lengths,
                           cache["pooled"][k][1], d == "bwd")
        dHs.append(dH)
    for layer in range(mc.layers - 1, -1, -1):
        X, outs = cache["layers"][layer]
        # dL/dX of layer 0 is wanted only through a projection: the table itself is frozen (0 rows = skip)
        dX = np.zeros_like(X) if layer > 0 or "P" in params else np.zeros((0,) + X.shape[1:], X.dtype)
        for k, ((H_out, cell_cache), d) in enumerate(zip(outs, dirs)):
            _cell_backward(mc, params, grads, f"l{layer}.{d}.", dX, dHs[k], H_out, cell_cache, X, lengths, d == "bwd")
        if cache["in_masks"][layer] is not None and dX.shape[0]:
            dX *= cache["in_masks"][layer]               # X was the masked input: dL/d(unmasked input)
        if layer > 0:
            dHs = [np.ascontiguousarray(dX[:, :, k * H:(k + 1) * H]) for k in range(len(dirs))]
    if "P" in params:
        X0 = cache["X0"]
        B, T, D = X0.shape
        grads["P"] += np.dot(dX.reshape(B * T, -1).T, X0.reshape(B * T, D))  # (projection, D)
    return grads


def dropout_mask(mc, B, rng, dtype=np.float32):
    """(B, H_r) inverted-dropout mask: 0 with probability mc.dropout, else 1 / (1 - mc.dropout)."""
    keep = 1.0 - mc.dropout
    return ((rng.random((B, pooled_size(mc))) < keep) / keep).astype(dtype)


def _inverted(rng, shape, p, dtype):
    keep = 1.0 - p
    return ((rng.random(shape) < keep) / keep).astype(dtype)


def dropout_masks(mc, params, B, T, rng, dtype=np.float32):
    """The pooled vector's mask (B, H_r) or None, then per layer the mask of its inputs (B, T, D_in) or None:
    layer 0's with mc.input_dropout, the others' with mc.layer_dropout; each element dropped on its own
    (PyTorch's nn.Dropout on the embeddings, and nn.GRU's dropout between layers). Drawn in this order, the
    pooled mask first, so a config without the input options draws what it drew before they existed."""
    mask = dropout_mask(mc, B, rng, dtype) if mc.dropout > 0 else None
    d0 = params["P"].shape[0] if "P" in params else params["l0.fwd.W"].shape[1]
    widths = [d0] + [mc.hidden_size * len(directions(mc))] * (mc.layers - 1)
    probs = [mc.input_dropout] + [mc.layer_dropout] * (mc.layers - 1)
    in_masks = [_inverted(rng, (B, T, w), p, dtype) if p > 0 else None for w, p in zip(widths, probs)]
    return mask, in_masks


def loss_and_grads(params, mc, table, ids, lengths, y, train=False, rng=None, threads=1):
    """Mean cross-entropy (float), gradients, probabilities (B, C).

    threads > 1 splits the batch into that many interleaved parts (rows k, k + n, ...), runs each part's
    forward and backward in its own thread (every kernel is nogil; BLAS stays on one thread per call) and
    sums the gradients, each part's scaled by its share of the batch: the same gradient as one thread up
    to float rounding. The dropout mask is drawn for the whole batch first, so `rng` advances the same
    way for any thread count."""
    y = np.asarray(y, np.int32)
    B, T = ids.shape
    dtype = params["V"].dtype
    mask, in_masks = dropout_masks(mc, params, B, T, rng, dtype) if train else (None, [None] * mc.layers)
    parts = _parts(B, threads)
    if parts is None:
        return _loss_and_grads(params, mc, table, ids, lengths, y, train, mask, in_masks, 1.0)

    def part(rows):
        p_ids, p_lens = _rows(ids, lengths, rows)               # padding trimmed to the part's longest
        p_in = [None if m is None else m[rows, :p_ids.shape[1]] for m in in_masks]
        return _loss_and_grads(params, mc, table, p_ids, p_lens, y[rows], train,
                               None if mask is None else mask[rows], p_in, len(rows) / B)
    results = _in_threads(part, parts)
    grads = results[0][1]
    for _, g, _ in results[1:]:
        for k in grads:
            grads[k] += g[k]
    probs = np.empty((B, results[0][2].shape[1]), results[0][2].dtype)
    for rows, (_, _, p) in zip(parts, results):
        probs[rows] = p
    return sum(r[0] * len(rows) for rows, r in zip(parts, results)) / B, grads, probs


def _loss_and_grads(params, mc, table, ids, lengths, y, train, mask, in_masks, scale):
    """One thread's share: its mean loss, and gradients of (its mean loss x scale)."""
    logits, cache = forward(params, mc, table, ids, lengths, train, keep_cache=True, mask=mask,
                            in_masks=in_masks)
    probs = np.empty_like(logits)
    dlogits = np.empty_like(logits)
    loss = kernels.softmax_cross_entropy(probs, dlogits, logits, y)
    if scale != 1.0:
        dlogits *= dlogits.dtype.type(scale)
    return float(loss), backward(params, mc, cache, dlogits), probs
