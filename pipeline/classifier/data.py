"""Labelled sentences for stage two: read, split, encode to row ids of the frozen table, and batch.

Formats (LabelledDataConfig.format), one example per line, lines split on "\\n" only:
- class_files: one file per class, the class named by the file's suffix (rt-polarity.pos -> "pos"), or
  by its stem when it has no suffix (positive -> "positive"); a folder stands for every file inside.
- label_first: "<label> <text>" (the SST files: "1 a gripping film").
- tsv: "label<TAB>text".
- fasttext: "__label__X text" (gensim's pang_lee_polarity.cor); only the first label of a line is used.
- auto: guessed from the first lines of the first file (see `guess_format`).
Blank lines are skipped; a line without a label, an empty file or class file is a UserError naming the
file and line.

Row layout of the lookup table built by `build_table` (V = words in the vectors file):
    rows 0..V-1  the vectors, in file order
    row  V       UNK: out-of-vocabulary tokens (zeros or the mean vector, `vectors.unk`)
    row  V+1     PAD: padding steps (zeros; the cells never read padded steps anyway)
A sentence with no tokens at all becomes one UNK token, so every length is >= 1.

Splits: the given dev/test files, else a stratified seeded random split of train (`stratified_split`),
or k-fold cross-validation (`kfold_indices`: stratified, seeded, every example in exactly one test fold).
Batches are bucketed by length: shuffled pools of 50 batches are sorted by length and cut into batches,
so each batch pads to a length close to its sentences' own (`batch_order`, `make_batch`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..text import ReadStats, iter_lines, resolve_paths

POOL_BATCHES = 50  # batches per length-sorted pool: enough to bucket, few enough to keep batches random


# ---------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------
@dataclass
class Labelled:
    """Raw examples: `texts[i]` has label `labels[i]` (strings); `origin[i]` = "file:line" for errors."""
    texts: list
    labels: list
    origin: list

    def __len__(self):
        return len(self.texts)

    def subset(self, idx) -> "Labelled":
        return Labelled([self.texts[i] for i in idx], [self.labels[i] for i in idx],
                        [self.origin[i] for i in idx])


def guess_format(path, encoding="utf-8", errors="replace", n=50) -> str:
    """fasttext if lines start with __label__; tsv if they hold a tab after a short label; label_first
    if the first tokens take few distinct values (e.g. 0/1); otherwise class_files."""
    first = []
    for line in iter_lines([path], encoding, "replace"):
        if line.strip():
            first.append(line)
        if len(first) >= n:
            break
    if not first:
        raise UserError(f"{path}: the file is empty; give labelled sentences, one per line")
    if all(l.lstrip().startswith("__label__") for l in first):
        return "fasttext"
    if all("\t" in l and 0 < len(l.split("\t", 1)[0].strip()) <= 40 for l in first):
        return "tsv"
    heads = [l.split(None, 1)[0] for l in first]
    if all(h.lstrip("+-").isdigit() for h in heads) or len(set(heads)) <= max(2, min(10, len(heads) // 5)):
        return "label_first"
    return "class_files"


def _parse_line(fmt, line, where):
    """(label, text) of one non-blank line in a labelled format."""
    if fmt == "fasttext":
        head, _, text = line.strip().partition(" ")
        if not head.startswith("__label__") or len(head) == len("__label__"):
            raise UserError(f"{where}: no __label__X at the start of the line (fasttext format)")
        while text.startswith("__label__"):      # extra labels: only the first one is used
            text = text.partition(" ")[2]
        return head[len("__label__"):], text
    if fmt == "tsv":
        if "\t" not in line:
            raise UserError(f"{where}: no tab between label and text (tsv format: label<TAB>text)")
        label, text = line.split("\t", 1)
        if not label.strip():
            raise UserError(f"{where}: empty label before the tab (tsv format: label<TAB>text)")
        return label.strip(), text
    parts = line.strip().split(None, 1)        # label_first
    return parts[0], parts[1] if len(parts) > 1 else ""


def read_labelled(specs, fmt="auto", encoding="utf-8", errors="strict", stats: ReadStats | None = None) -> Labelled:
    """Read every file of `specs` (files, folders, globs) in format `fmt`."""
    paths = resolve_paths(specs)
    if not paths:
        raise UserError("no labelled files given; set data.name or data.train")
    if fmt == "auto":
        fmt = guess_format(paths[0], encoding)
    out = Labelled([], [], [])
    for path in paths:
        n_before = len(out)
        label_of_file = (path.suffix[1:] or path.stem) if fmt == "class_files" else None
        if label_of_file is not None and path.suffix.lower() in (".gz", ".bz2", ".xz"):
            inner = Path(path.stem)
            label_of_file = inner.suffix[1:] or inner.stem
        for lineno, line in enumerate(iter_lines([path], encoding, errors, stats), start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            if label_of_file is not None:
                label, text = label_of_file, line
            else:
                label, text = _parse_line(fmt, line, where)
            out.texts.append(text)
            out.labels.append(label)
            out.origin.append(where)
        if len(out) == n_before:
            what = "class file" if fmt == "class_files" else "file"
            raise UserError(f"{path}:1: the {what} is empty; every file must hold at least one sentence")
    return out


def check_labels(split: Labelled, labels: list, name: str) -> None:
    """UserError at the first label of `split` that train never saw."""
    known = set(labels)
    for lab, where in zip(split.labels, split.origin):
        if lab not in known:
            raise UserError(f"{where}: label {lab!r} in {name} never occurs in train (train labels: "
                            f"{', '.join(labels)})")


# ---------------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------------
def _by_class(labels, rng):
    """Index arrays per class (classes sorted), each shuffled by `rng`."""
    labels = np.asarray(labels)
    return [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]


def stratified_split(labels, fractions, seed) -> list:
    """Split indices into len(fractions)+1 parts: part k takes round(fractions[k] * n_c) of every class
    c, the last part the rest. Seeded; each part sorted."""
    rng = np.random.default_rng(seed)
    parts = [[] for _ in range(len(fractions) + 1)]
    for idx in _by_class(labels, rng):
        start = 0
        for k, frac in enumerate(fractions):
            take = int(round(frac * len(idx)))
            parts[k].append(idx[start:start + take])
            start += take
        parts[-1].append(idx[start:])
    return [np.sort(np.concatenate(p)).astype(np.int64) if p else np.zeros(0, np.int64) for p in parts]


def kfold_indices(labels, folds, seed) -> list:
    """Stratified k-fold: fold ids dealt round-robin through each class's shuffled examples (from a
    random starting fold), so classes are spread evenly and every example is in exactly one fold.
    Returns one sorted index array per fold."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), np.int64)
    for idx in _by_class(labels, rng):
        start = int(rng.integers(folds))
        fold_of[idx] = (start + np.arange(len(idx))) % folds
    return [np.flatnonzero(fold_of == k) for k in range(folds)]


# ---------------------------------------------------------------------------------------------------
# Encoding to table rows
# ---------------------------------------------------------------------------------------------------
def build_table(vectors: np.ndarray, unk: str) -> np.ndarray:
    """(V+2, D) float32, read-only: the vectors, then the UNK row (zeros or their mean), then PAD (zeros)."""
    V, D = vectors.shape
    table = np.zeros((V + 2, D), np.float32)
    table[:V] = vectors
    if unk == "mean":
        table[V] = vectors.mean(axis=0, dtype=np.float64)
    table.flags.writeable = False
    return table


@dataclass
class Encoded:
    """Sentences as one flat int32 id array cut by `offsets` (n+1,), with int32 label ids (n,)."""
    ids: np.ndarray
    offsets: np.ndarray
    y: np.ndarray

    def __len__(self):
        return len(self.y)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets).astype(np.int32)


class Encoder:
    """Tokens -> row ids of the table: a vocabulary row, UNK = V, PAD = V + 1. Counts coverage."""

    def __init__(self, index: dict, tokenizer):
        self.index = index
        self.tokenizer = tokenizer
        self.unk = len(index)
        self.pad = len(index) + 1
        self.tokens = 0
        self.known = 0

    def ids(self, text: str) -> np.ndarray:
        toks = self.tokenizer(text)
        get = self.index.get
        ids = [get(t, self.unk) for t in toks]
        self.tokens += len(ids)
        self.known += sum(1 for i in ids if i != self.unk)
        return np.asarray(ids or [self.unk], np.int32)

    @property
    def coverage(self) -> float:
        """Fraction of tokens (so far) found in the vectors' vocabulary."""
        return self.known / self.tokens if self.tokens else 0.0

    def encode(self, texts, y=None) -> Encoded:
        rows = [self.ids(t) for t in texts]
        offsets = np.zeros(len(rows) + 1, np.int64)
        np.cumsum([len(r) for r in rows], out=offsets[1:])
        ids = np.concatenate(rows).astype(np.int32) if rows else np.zeros(0, np.int32)
        y = np.zeros(len(rows), np.int32) if y is None else np.asarray(y, np.int32)
        return Encoded(ids, offsets, y)


# ---------------------------------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------------------------------
def batch_order(lengths, batch_size, rng=None) -> list:
    """Index arrays, one per batch. With `rng`: shuffle, sort pools of POOL_BATCHES batches by length,
    cut, shuffle the batches. Without: sorted by length (evaluation; order does not matter)."""
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    perm = rng.permutation(n)
    pool = batch_size * POOL_BATCHES
    batches = []
    for start in range(0, n, pool):
        chunk = perm[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def make_batch(data: Encoded, idx, pad_id: int):
    """ids (B, T) int32 padded with `pad_id` to the batch's longest sentence, lengths (B,) int32, y (B,)."""
    lengths = (data.offsets[idx + 1] - data.offsets[idx]).astype(np.int32)
    T = int(lengths.max())
    ids = np.full((len(idx), T), pad_id, np.int32)
    for row, i in enumerate(idx):
        ids[row, :lengths[row]] = data.ids[data.offsets[i]:data.offsets[i + 1]]
    return ids, lengths, data.y[idx]


# ---------------------------------------------------------------------------------------------------
# From the config to train / dev / test
# ---------------------------------------------------------------------------------------------------
@dataclass
class Splits:
    """What the driver trains on: `folds` is a list of (train, dev, test) Labelled triples (one triple
    without cross-validation), `labels` the sorted label names of train."""
    folds: list
    labels: list
    replaced_lines: int = 0


def load_splits(dc) -> Splits:
    """Read the files of LabelledDataConfig `dc` and split them. Explicit `data.train` files win over
    `data.name`; a named set supplies its format and encoding (when `data.format` / `data.encoding` keep
    their defaults, auto / utf-8)."""
    fmt, encoding = dc.format, dc.encoding
    train_f, dev_f, test_f = list(dc.train), list(dc.dev), list(dc.test)
    if not train_f:
        if not dc.name:
            raise UserError("no training data: set data.name (gensim-polarity, mr, sst2) or data.train files")
        from ..datasets import labelled_dataset
        info = labelled_dataset(dc.name, dc.path)
        train_f, dev_f, test_f = info["train"], dev_f or info["dev"], test_f or info["test"]
        fmt = info["format"] if fmt == "auto" else fmt
        encoding = info["encoding"] if encoding == "utf-8" else encoding
    stats = ReadStats()
    train = read_labelled(train_f, fmt, encoding, dc.errors, stats)
    dev = read_labelled(dev_f, fmt, encoding, dc.errors, stats) if dev_f else None
    test = read_labelled(test_f, fmt, encoding, dc.errors, stats) if test_f else None
    labels = sorted(set(train.labels))
    if len(labels) < 2:
        raise UserError(f"train holds only the label {labels[0]!r}; a classifier needs at least two classes "
                        f"(check data.format: {fmt})")
    return make_splits(train, dev, test, labels, dc, stats.replaced_lines)


def make_splits(train: Labelled, dev, test, labels: list, dc, replaced_lines=0) -> Splits:
    """Splits of examples already read (files, or texts given in Python): the given dev / test sets, else
    stratified fractions of train (data.dev_fraction, data.test_fraction), or data.folds folds. `labels`
    (at least two) name the classes in id order; a dev or test label outside them is a UserError."""
    for split, name in ((dev, "dev"), (test, "test")):
        if split is not None:
            check_labels(split, labels, name)
    y = np.asarray(train.labels)
    folds = []
    if dc.folds >= 2:
        if len(train) < dc.folds:
            raise UserError(f"data.folds: {dc.folds} folds need at least {dc.folds} examples, train has {len(train)}")
        for test_idx in kfold_indices(y, dc.folds, dc.seed):
            rest = np.setdiff1d(np.arange(len(train)), test_idx)
            folds.append(_dev_split(train, rest, dev, dc) + (train.subset(test_idx),))
    else:
        rest = np.arange(len(train))
        test_part = test
        if test is None and dc.test_fraction > 0:
            test_idx, rest = stratified_split(y, [dc.test_fraction], dc.seed)
            test_part = train.subset(test_idx)
        folds.append(_dev_split(train, rest, dev, dc) + (test_part,))
    return Splits(folds, labels, replaced_lines)


def _dev_split(train: Labelled, rest, dev, dc):
    """(train, dev) from the examples `rest`: the given dev set, or a stratified dev_fraction of rest."""
    if dev is not None or dc.dev_fraction == 0:
        return train.subset(rest), dev
    y = np.asarray(train.labels)[rest]
    dev_pos, train_pos = stratified_split(y, [dc.dev_fraction], dc.seed + 1)
    return train.subset(rest[train_pos]), train.subset(rest[dev_pos])
