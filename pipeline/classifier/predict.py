"""Inference with a trained classifier: Predictor (logits of batches on several cores), softmax, and the
Classifier that labels texts (what RNNClassifier.predict_proba and `pipeline predict`, commands.py, call).

    clf = Classifier.load("runs/rnn/model.npz")       # the file format is in modelfile.py
    probs = clf.predict_proba(["a fine film", "a dull one"])            # (2, C) float64

The Classifier lives here rather than in modelfile.py because what it adds to the file's contents is
inference (encoding texts, batching, the Predictor); modelfile.py only turns those contents into bytes and
back, and imports nothing from this module.
"""
from __future__ import annotations

import numpy as np

from . import recurrence
from .model import GATES, directions, forward
from .modelfile import load_model, save_model
from .threads import _in_threads, _parts, _rows


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
    GEMMs in each thread); one batch alone is split by rows, as loss_and_grads splits a training batch."""

    def __init__(self, params, mc, table, threads=1, max_table_mb=1024):
        self.params, self.mc, self.threads = params, mc, max(1, int(threads))
        self.dtype = params["V"].dtype
        self.E = table if table.dtype == self.dtype else table.astype(self.dtype)  # the kernels need one dtype
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

        def project(part):                     # contiguous, disjoint rows per thread; no GIL held
            lo, hi = part
            rows = need[lo - start:hi - start]
            if "P" in self.params:
                X = recurrence.project_rows(np.empty((hi - lo, self.params["P"].shape[0]), self.dtype), self.E,
                                            rows, self.params["P"])
                for pre, Z in self.ztab.items():
                    recurrence.matmul_rows(Z[lo:hi], X, np.ascontiguousarray(self.params[pre + "W"].T), hi - lo)
            else:
                for pre, Z in self.ztab.items():
                    recurrence.project_rows(Z[lo:hi], self.E, rows, self.params[pre + "W"])

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
            return forward(self.params, self.mc, self.E, rows, lengths, keep_cache=False, ztab=self.ztab)[0]
        return forward(self.params, self.mc, self.E, ids, lengths, keep_cache=False)[0]

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


def softmax(logits):
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------------
# A trained classifier: labels texts; saved and loaded through modelfile.py
# ---------------------------------------------------------------------------------------------------
class Classifier:
    """A trained model: parameters, model config, labels, tokenizer, the vectors' words and the frozen table
    (with UNK and PAD rows); `predict_proba` labels raw texts, `threads` batches at a time."""

    def __init__(self, params, model_cfg, labels, tokenizer, words, table, vectors_path="", threads=1,
                 label_values=None):
        self.params, self.mc, self.labels = params, model_cfg, list(labels)
        self.label_values = label_values  # the labels as numbers when they were given so (modelfile.py)
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
        """Write the model file (modelfile.py), atomically."""
        save_model(path, self.params, self.mc, self.labels, self.tokenizer, self.words, self.table,
                   self.vectors_path, self.label_values)

    @classmethod
    def load(cls, path) -> "Classifier":
        """The classifier in a model file; UserError for a missing, truncated, inconsistent or foreign file."""
        return cls(**load_model(path))


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
