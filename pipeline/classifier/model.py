"""The recurrent sentence classifier: parameters, forward and backward through the whole model, save/load,
predict.

    x_t = E[id_t]                      frozen lookup table (V+2, D): an index, never a one-hot product
    x_t <- P x_t                       optional trainable projection P (projection, D)
    h_t = cell(x_t, h_{t-1})           per layer and direction (cells.py: elman / lstm / gru);
                                       layer l+1 reads layer l's states, both directions concatenated (2H)
    r   = pool(h_1..h_L)               last / mean / max over the real steps, per direction, concatenated
    r  <- r * mask / (1 - p)           inverted dropout, training only
    logits = V r + c,  p = softmax(logits),  loss = mean cross-entropy

Parameters are a dict of named arrays (float32 for training; float64 works too, for gradient checks):
`P`; per layer l and direction d in (fwd, bwd): `l{l}.{d}.W` (G, D_in), `l{l}.{d}.U` (G, H), `l{l}.{d}.b`
(G,), and for the GRU `l{l}.{d}.b_h` (G,), with G = H, 4H or 3H; then `V` (C, H_r) and `c` (C,). The
table gets no gradient and is never written (the driver marks it read-only).

model.npz (loads with allow_pickle=False, written deterministically: fixed zip timestamps):
    param.<name>      every parameter above
    labels            (C,) unicode, class names in id order
    model_config      JSON of RNNModelConfig;   tokenizer: JSON {"lowercase", "pattern"}
    vocab_utf8        uint8, the vectors' words joined by "\\n" (UTF-8); row i of the table is word i
    table             (V+2, D) float32, the frozen table with its UNK and PAD rows, so predict needs
                      nothing else (a 60k x 100 table is 24 MB; the words add about 0.5 MB)
    vectors_path      the vectors file it came from, for reference; vectors_shape (V, D) int64
    format_version    int64, 1

Predict output, one line per input: `label<TAB>p_<label1>=0.1234<TAB>p_<label2>=0.8766...`.
"""
from __future__ import annotations

import json
import sys
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import UserError, atomic_path
from . import cells, kernels

GATES = {"elman": 1, "lstm": 4, "gru": 3}
FORMAT_VERSION = 1


def directions(mc) -> tuple:
    return ("fwd", "bwd") if mc.bidirectional else ("fwd",)


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
    params["V"] = _glorot(rng, C, d_in)
    params["c"] = np.zeros(C)
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()}


# ---------------------------------------------------------------------------------------------------
# Forward and backward through the whole model
# ---------------------------------------------------------------------------------------------------
def _cell_forward(mc, params, pre, X, lengths, reverse, keep_cache=True):
    """H_out (B, T, H) and the cell's cache tuple (None without keep_cache: the forward-only kernels)."""
    B, T, _ = X.shape
    H = mc.hidden_size
    W, U, b = params[pre + "W"], params[pre + "U"], params[pre + "b"]
    H_out = np.empty((B, T, H), X.dtype)
    if mc.cell == "elman":
        act = cells.TANH if mc.activation == "tanh" else cells.SIGMOID
        cells.elman_forward(H_out, X, lengths, W, U, b, act, reverse)
        return H_out, (act,)
    if not keep_cache:
        if mc.cell == "lstm":
            cells.lstm_infer(H_out, X, lengths, W, U, b, reverse)
        else:
            cells.gru_infer(H_out, X, lengths, W, U, b, params[pre + "b_h"], reverse)
        return H_out, None
    if mc.cell == "lstm":
        C_out = np.empty((B, T, H), X.dtype)
        gates = np.empty((B, T, 4 * H), X.dtype)
        cells.lstm_forward(H_out, C_out, gates, X, lengths, W, U, b, reverse)
        return H_out, (C_out, gates)
    gates = np.empty((B, T, 3 * H), X.dtype)
    Hn = np.empty((B, T, H), X.dtype)
    cells.gru_forward(H_out, gates, Hn, X, lengths, W, U, b, params[pre + "b_h"], reverse)
    return H_out, (gates, Hn)


def _cell_infer_table(mc, params, pre, ids, Ztab, lengths, reverse):
    """H_out (B, T, H) of layer 0, W x_t read from the projected table (Predictor)."""
    B, T = ids.shape
    H_out = np.empty((B, T, mc.hidden_size), Ztab.dtype)
    U, b = params[pre + "U"], params[pre + "b"]
    if mc.cell == "elman":
        act = cells.TANH if mc.activation == "tanh" else cells.SIGMOID
        cells.elman_infer_table(H_out, ids, Ztab, lengths, U, b, act, reverse)
    elif mc.cell == "lstm":
        cells.lstm_infer_table(H_out, ids, Ztab, lengths, U, b, reverse)
    else:
        cells.gru_infer_table(H_out, ids, Ztab, lengths, U, b, params[pre + "b_h"], reverse)
    return H_out


def _cell_backward(mc, params, grads, pre, dX, dH_out, H_out, cache, X, lengths, reverse):
    """Accumulate the cell's parameter gradients into `grads` and dL/dX into dX."""
    W, U = params[pre + "W"], params[pre + "U"]
    dW, dU, db = grads[pre + "W"], grads[pre + "U"], grads[pre + "b"]
    k = mc.bptt_steps
    if mc.cell == "elman":
        cells.elman_backward(dX, dW, dU, db, dH_out, H_out, X, lengths, W, U, cache[0], reverse, k)
    elif mc.cell == "lstm":
        cells.lstm_backward(dX, dW, dU, db, dH_out, H_out, cache[0], cache[1], X, lengths, W, U, reverse, k)
    else:
        cells.gru_backward(dX, dW, dU, db, grads[pre + "b_h"], dH_out, H_out, cache[0], cache[1], X, lengths,
                           W, U, reverse, k)


def _pool_forward(mc, H_out, lengths, reverse):
    """R (B, H) of one direction's states and the argmax cache (max pooling only)."""
    B, _, H = H_out.shape
    R = np.empty((B, H), H_out.dtype)
    if mc.pooling == "last":
        kernels.pool_last_forward(R, H_out, lengths, reverse)
        return R, None
    if mc.pooling == "mean":
        kernels.pool_mean_forward(R, H_out, lengths)
        return R, None
    argmax = np.empty((B, H), np.int32)
    kernels.pool_max_forward(R, argmax, H_out, lengths)
    return R, argmax


def _pool_backward(mc, dH_out, dR, lengths, argmax, reverse):
    if mc.pooling == "last":
        kernels.pool_last_backward(dH_out, dR, lengths, reverse)
    elif mc.pooling == "mean":
        kernels.pool_mean_backward(dH_out, dR, lengths)
    else:
        kernels.pool_max_backward(dH_out, dR, argmax)


def forward(params, mc, table, ids, lengths, train=False, rng=None, keep_cache=True, mask=None, ztab=None):
    """logits (B, C) and the cache `backward` consumes. ids (B, T) int32 rows of `table`, lengths (B,).
    keep_cache=False (inference: predict, evaluation) runs the forward-only LSTM/GRU kernels, which store
    no gates (measured 15% faster for the LSTM at B=64, H=128); its cache cannot go to `backward`.
    Dropout (train=True): `mask` (B, H_r) if given, else drawn from `rng` (see dropout_mask).
    ztab (inference only): {"l0.fwd.": Ztab, ...}, layer 0's projected tables (Predictor), which replace
    the gather and the input GEMM of layer 0."""
    dtype = params["V"].dtype
    B, T = ids.shape
    X0 = X = None
    if ztab is None:
        X0 = table[ids]                                # (B, T, D) gather: the frozen lookup
        if X0.dtype != dtype:
            X0 = X0.astype(dtype)
        X = X0
        if "P" in params:
            P = params["P"]
            X = np.dot(X0.reshape(B * T, -1), P.T).reshape(B, T, P.shape[0])  # (B, T, projection)
    layers = []                                        # per layer: (input, [(H_out, cache) per direction])
    for layer in range(mc.layers):
        if layer == 0 and ztab is not None:
            outs = [(_cell_infer_table(mc, params, f"l0.{d}.", ids, ztab[f"l0.{d}."], lengths, d == "bwd"), None)
                    for d in directions(mc)]
        else:
            outs = [_cell_forward(mc, params, f"l{layer}.{d}.", X, lengths, d == "bwd", keep_cache)
                    for d in directions(mc)]
        layers.append((X, outs))
        X = outs[0][0] if len(outs) == 1 else np.concatenate([o[0] for o in outs], axis=2)  # (B, T, 2H)
    pooled = [_pool_forward(mc, H_out, lengths, d == "bwd") for (H_out, _), d in zip(layers[-1][1], directions(mc))]
    R = pooled[0][0] if len(pooled) == 1 else np.concatenate([p[0] for p in pooled], axis=1)  # (B, H_r)
    if train and mc.dropout > 0:
        if mask is None:
            mask = dropout_mask(mc, B, rng, dtype)
        R = R * mask
    else:
        mask = None
    logits = np.empty((B, params["V"].shape[0]), dtype)
    kernels.dense_forward(logits, np.ascontiguousarray(R), params["V"], params["c"])
    cache = {"X0": X0, "layers": layers, "pooled": pooled, "R": R, "mask": mask, "lengths": lengths}
    return logits, cache


def backward(params, mc, cache, dlogits) -> dict:
    """Gradients of every trainable parameter (never of the table), from dL/dlogits (B, C)."""
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    lengths, R = cache["lengths"], cache["R"]
    H = mc.hidden_size
    dR = np.zeros_like(R)
    kernels.dense_backward(dR, grads["V"], grads["c"], dlogits, np.ascontiguousarray(R), params["V"])
    if cache["mask"] is not None:
        dR *= cache["mask"]
    dirs = directions(mc)
    last_outs = cache["layers"][-1][1]
    dHs = []
    for k, ((H_out, _), d) in enumerate(zip(last_outs, dirs)):
        dH = np.zeros_like(H_out)
        _pool_backward(mc, dH, np.ascontiguousarray(dR[:, k * H:(k + 1) * H]), lengths, cache["pooled"][k][1],
                       d == "bwd")
        dHs.append(dH)
    for layer in range(mc.layers - 1, -1, -1):
        X, outs = cache["layers"][layer]
        # dL/dX of layer 0 is wanted only through a projection: the table itself is frozen (0 rows = skip)
        dX = np.zeros_like(X) if layer > 0 or "P" in params else np.zeros((0,) + X.shape[1:], X.dtype)
        for k, ((H_out, cell_cache), d) in enumerate(zip(outs, dirs)):
            _cell_backward(mc, params, grads, f"l{layer}.{d}.", dX, dHs[k], H_out, cell_cache, X, lengths, d == "bwd")
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
    H_r = mc.hidden_size * len(directions(mc))
    return ((rng.random((B, H_r)) < keep) / keep).astype(dtype)


def loss_and_grads(params, mc, table, ids, lengths, y, train=False, rng=None, threads=1):
    """Mean cross-entropy (float), gradients, probabilities (B, C).

    threads > 1 splits the batch into that many interleaved parts (rows k, k + n, ...), runs each part's
    forward and backward in its own thread (every kernel is nogil; BLAS stays on one thread per call) and
    sums the gradients, each part's scaled by its share of the batch: the same gradient as one thread up
    to float rounding. The dropout mask is drawn for the whole batch first, so `rng` advances the same
    way for any thread count."""
    y = np.asarray(y, np.int32)
    B = ids.shape[0]
    dtype = params["V"].dtype
    mask = dropout_mask(mc, B, rng, dtype) if train and mc.dropout > 0 else None
    parts = _parts(B, threads)
    if parts is None:
        return _loss_and_grads(params, mc, table, ids, lengths, y, train, mask, 1.0)
    results = _in_threads(lambda rows: _loss_and_grads(
        params, mc, table, *_rows(ids, lengths, rows), y[rows], train, None if mask is None else mask[rows],
        len(rows) / B), parts)
    grads = results[0][1]
    for _, g, _ in results[1:]:
        for k in grads:
            grads[k] += g[k]
    probs = np.empty((B, results[0][2].shape[1]), results[0][2].dtype)
    for rows, (_, _, p) in zip(parts, results):
        probs[rows] = p
    return sum(r[0] * len(rows) for rows, r in zip(parts, results)) / B, grads, probs


def _loss_and_grads(params, mc, table, ids, lengths, y, train, mask, scale):
    """One thread's share: its mean loss, and gradients of (its mean loss x scale)."""
    logits, cache = forward(params, mc, table, ids, lengths, train, keep_cache=True, mask=mask)
    probs = np.empty_like(logits)
    dlogits = np.empty_like(logits)
    loss = kernels.softmax_cross_entropy(probs, dlogits, logits, y)
    if scale != 1.0:
        dlogits *= dlogits.dtype.type(scale)
    return float(loss), backward(params, mc, cache, dlogits), probs


class Predictor:
    """Inference with fixed parameters: logits of batches, spread over threads, with layer 0's input
    projection read from a projected table instead of multiplied.

    The table E is frozen, so W x_t = W E[id_t] depends on the word alone: its projected row W E[w] (W P E[w]
    with a projection P) is computed once per model, by one GEMM over the words a batch needs that have no
    row yet (`_fill`), and every later occurrence is a row read. This removes the gather and the input GEMM
    (about a quarter of the LSTM's inference time at B=64, H=128) once the frequent words are in.
    The rows are stored compactly, in the order words are first met (`slot[w]`, -1 = none yet; capacity
    doubles as needed), so memory and first-touch page faults grow with the words actually seen, not with
    the vocabulary: with one row per vocabulary word (the first version), a fresh LSTM model over 20k words
    touched a 41 MB table and ran at half its warm speed (bench_rnn.py, infer_cold, 2026-11-27). Beyond
    `max_table_mb` of rows the plain path runs. `logits_many` runs whole batches in parallel (full-size
    GEMMs in each thread); one batch alone is split by rows as in `infer`."""

    def __init__(self, params, mc, table, threads=1, max_table_mb=1024):
        self.params, self.mc, self.table, self.threads = params, mc, table, max(1, int(threads))
        self.dtype = params["V"].dtype
        self.G = GATES[mc.cell] * mc.hidden_size
        self.max_rows = max_table_mb * 2 ** 20 // (self.G * self.dtype.itemsize * len(directions(mc)))
        self.slot = np.full(table.shape[0], -1, np.int64)  # (V,) row of word w in the projected tables
        self.rows = 0                                       # rows filled
        self.ztab = {f"l0.{d}.": np.empty((0, self.G), self.dtype) for d in directions(mc)}
        self.use_table = True                               # False while the rows would not fit (plain path)

    def _fill(self, ids_list) -> bool:
        """Give every id in `ids_list` its projected rows (main thread); False when they would not fit."""
        flat = np.concatenate([ids.ravel() for ids in ids_list])
        new = flat[self.slot[flat] < 0]
        if not new.size:
            return True
        mark = np.zeros(self.slot.shape[0], bool)         # dedupe in O(V + N): np.unique sorted, 2.7 ms of a
        mark[new] = True                                  # cold Elman fill of 13k tokens
        need = np.flatnonzero(mark)
        start, stop = self.rows, self.rows + need.size
        if stop > self.max_rows:
            return False
        capacity = next(iter(self.ztab.values())).shape[0]
        if stop > capacity:
            capacity = min(max(stop, 2 * capacity, 1024), self.max_rows)
            for pre, Z in self.ztab.items():
                grown = np.empty((capacity, self.G), self.dtype)
                grown[:start] = Z[:start]
                self.ztab[pre] = grown

        def project(part):                     # contiguous, disjoint rows per thread
            lo, hi = part
            X = self.table[need[lo - start:hi - start]].astype(self.dtype, copy=False)
            if "P" in self.params:
                X = np.dot(X, self.params["P"].T)
            for pre, Z in self.ztab.items():
                np.dot(X, self.params[pre + "W"].T, out=Z[lo:hi])

        n = min(self.threads, need.size // 256)
        bounds = np.linspace(start, stop, max(n, 1) + 1).astype(np.int64)
        parts = list(zip(bounds[:-1], bounds[1:]))
        if len(parts) > 1:
            _in_threads(project, parts)
        else:
            project(parts[0])
        self.slot[need] = np.arange(start, stop)
        self.rows = stop
        return True

    def _one(self, batch):
        ids, lengths = batch[0], batch[1]
        if self.use_table:
            rows = self.slot[ids].astype(np.int32)             # (B, T) rows of the projected tables
            return forward(self.params, self.mc, self.table, rows, lengths, keep_cache=False, ztab=self.ztab)[0]
        return forward(self.params, self.mc, self.table, ids, lengths, keep_cache=False)[0]

    def logits(self, ids, lengths):
        """(B, C) logits of one batch, its rows split over the threads."""
        return self.logits_many([(ids, lengths)])[0]

    def logits_many(self, batches):
        """[(B_i, C) logits] of [(ids, lengths, ...)]: batches in parallel, or rows when there is one."""
        self.use_table = self._fill([b[0] for b in batches])
        if len(batches) == 1:
            ids, lengths = batches[0][0], batches[0][1]
            parts = _parts(ids.shape[0], self.threads)
            if parts is None:
                return [self._one(batches[0])]
            results = _in_threads(lambda rows: self._one(_rows(ids, lengths, rows)), parts)
            logits = np.empty((ids.shape[0], results[0].shape[1]), results[0].dtype)
            for rows, part in zip(parts, results):
                logits[rows] = part
            return [logits]
        n = min(self.threads, len(batches))
        if n == 1:
            return [self._one(b) for b in batches]
        groups = [list(range(k, len(batches), n)) for k in range(n)]
        results = _in_threads(lambda group: [self._one(batches[i]) for i in group], groups)
        out = [None] * len(batches)
        for group, res in zip(groups, results):
            for i, r in zip(group, res):
                out[i] = r
        return out


MIN_ROWS_PER_THREAD = 8   # below this a thread's share costs more in hand-over than it saves
_POOLS = {}


def _parts(B, threads):
    """Interleaved row sets (balanced lengths: batches are length-sorted), or None for one thread."""
    n = min(int(threads), B // MIN_ROWS_PER_THREAD)
    return [np.arange(k, B, n) for k in range(n)] if n > 1 else None


def _rows(ids, lengths, rows):
    """ids and lengths of `rows`, the padding trimmed to the longest of them."""
    lens = lengths[rows]
    return np.ascontiguousarray(ids[rows, :max(int(lens.max()), 1)]), lens


def _in_threads(fn, parts):
    """[fn(p) for p in parts]: parts[1:] in a thread pool, parts[0] in the calling thread."""
    from concurrent.futures import ThreadPoolExecutor
    n = len(parts)
    if n not in _POOLS:
        _POOLS[n] = ThreadPoolExecutor(n - 1, thread_name_prefix="rnn")
    futures = [_POOLS[n].submit(fn, p) for p in parts[1:]]
    first = fn(parts[0])
    return [first] + [f.result() for f in futures]


def softmax(logits):
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------------
# A trained classifier: save, load, predict
# ---------------------------------------------------------------------------------------------------
class Classifier:
    def __init__(self, params, model_cfg, labels, tokenizer, words, table, vectors_path="", threads=1):
        self.params, self.mc, self.labels = params, model_cfg, list(labels)
        self.tokenizer, self.words, self.table = tokenizer, list(words), table
        self.vectors_path = str(vectors_path)
        self.threads = threads        # inference runs batches (or a batch's rows) in this many threads
        self._encoder = None
        self._predictor = None        # built on first use: the parameters are fixed from here on

    @property
    def encoder(self):
        if self._encoder is None:
            from .data import Encoder
            self._encoder = Encoder({w: i for i, w in enumerate(self.words)}, self.tokenizer)
        return self._encoder

    @property
    def predictor(self) -> Predictor:
        if self._predictor is None or self._predictor.threads != self.threads:
            self._predictor = Predictor(self.params, self.mc, self.table, self.threads)
        return self._predictor

    def predict_proba_encoded(self, data, batch_size=256) -> np.ndarray:
        """(n, C) float64 probabilities of Encoded `data`, in its order; `threads` batches at a time."""
        from .data import batch_order, make_batch
        out = np.zeros((len(data), len(self.labels)), np.float64)
        order = batch_order(data.lengths, batch_size)
        pad = len(self.words) + 1
        for start in range(0, len(order), self.threads):
            group = order[start:start + self.threads]
            batches = [make_batch(data, idx, pad) for idx in group]
            for idx, logits in zip(group, self.predictor.logits_many(batches)):
                out[idx] = softmax(logits)
        return out

    def predict_proba(self, texts, batch_size=256) -> np.ndarray:
        return self.predict_proba_encoded(self.encoder.encode(texts), batch_size)

    def save(self, path) -> None:
        arrays = {f"param.{k}": v for k, v in self.params.items()}
        arrays.update(
            labels=np.array(self.labels, dtype=str),
            model_config=np.array(json.dumps(asdict(self.mc))),
            tokenizer=np.array(json.dumps({"lowercase": self.tokenizer.lowercase,
                                           "pattern": self.tokenizer.pattern})),
            vocab_utf8=np.frombuffer("\n".join(self.words).encode("utf-8"), np.uint8),
            table=np.asarray(self.table),
            vectors_path=np.array(self.vectors_path),
            vectors_shape=np.array([len(self.words), self.table.shape[1]], np.int64),
            format_version=np.array(FORMAT_VERSION, np.int64),
        )
        savez_deterministic(path, arrays)

    @classmethod
    def load(cls, path) -> "Classifier":
        from ..config import RNNModelConfig, from_dict
        from ..text import Tokenizer
        path = Path(path)
        if not path.is_file():
            raise UserError(f"model file not found: {path}; train one with `make train-rnn` or pass --model")
        try:
            with np.load(path, allow_pickle=False) as z:
                params = {k[len("param."):]: z[k] for k in z.files if k.startswith("param.")}
                labels = [str(x) for x in z["labels"]]
                mc = from_dict(RNNModelConfig, json.loads(str(z["model_config"])), "model")
                tok = json.loads(str(z["tokenizer"]))
                words = bytes(z["vocab_utf8"]).decode("utf-8").split("\n")
                table = z["table"]
                vectors_path = str(z["vectors_path"])
        except UserError:
            raise
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise UserError(f"{path} is not a model written by train-rnn ({type(exc).__name__}: {exc}); "
                            f"re-train it or pass the right --model") from None
        if table.shape[0] != len(words) + 2 or "V" not in params or len(labels) != params["V"].shape[0]:
            raise UserError(f"{path} is inconsistent (table, vocabulary or labels do not match); re-train it")
        table.flags.writeable = False
        return cls(params, mc, labels, Tokenizer(tok["lowercase"], tok["pattern"]), words, table, vectors_path)


def savez_deterministic(path, arrays: dict) -> None:
    """np.savez's layout (zip of .npy files, uncompressed) with fixed member timestamps, written
    atomically: the same arrays always give the same bytes (np.savez stamps the current time)."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def blas_threads(n: int = 1):
    """Context limiting every loaded BLAS (numpy's and scipy's, which Numba's np.dot calls) to `n` threads.

    Measured here (B=64, T=22, D=100, H=128, 2 cores busy with other work): Elman training 5.7k seq/s with
    one BLAS thread against 90 seq/s with two, because OpenBLAS threads spin on these small GEMMs when the
    cores are contended. scipy's BLAS is imported first so that the limit reaches it too."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library Numba's np.dot uses)
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=n, user_api="blas")


def warm_up(clf, after: float = 1.0) -> None:
    """Load the kernels from Numba's cache (cache=True everywhere: a fraction of a second) or compile them
    (first run, or after a kernel changed: tens of seconds) on a one-token batch. When that takes longer
    than `after` seconds a note on stderr says so, so that a first run does not look stuck."""
    import threading
    from .. import progress
    note = threading.Timer(after, progress.say, ["compiling the Numba kernels (first run only; cached after) ..."])
    note.daemon = True
    note.start()
    try:
        pad = len(clf.words) + 1
        forward(clf.params, clf.mc, clf.table, np.full((1, 1), pad, np.int32), np.ones(1, np.int32),
                keep_cache=False)
    finally:
        note.cancel()


def format_prediction(labels, probs_row) -> str:
    best = int(np.argmax(probs_row))
    return labels[best] + "".join(f"\tp_{lab}={p:.4f}" for lab, p in zip(labels, probs_row))


def predict_command(model_path, texts, batch_size=256, out=None) -> None:
    """Print one line per text (`label<TAB>p_<label>=...`); with no texts, stream stdin in batches."""
    out = out or sys.stdout
    from ..config import resolve_workers
    clf = Classifier.load(model_path)
    clf.threads = resolve_workers(0)               # every core, each batch split (see infer)
    limit = blas_threads(1)
    warm_up(clf)

    def emit(batch):
        for row in clf.predict_proba(batch):
            out.write(format_prediction(clf.labels, row) + "\n")
        out.flush()

    with limit:
        if texts:
            for start in range(0, len(texts), batch_size):
                emit(list(texts[start:start + batch_size]))
            return
        batch = []
        for line in sys.stdin:
            batch.append(line.rstrip("\r\n"))
            if len(batch) == batch_size:
                emit(batch)
                batch = []
        if batch:
            emit(batch)
