"""history.csv: one row per epoch of a training run, beside its metrics.json (both stages write one).

    stage one:  epoch, loss, words_per_second, alpha_start, alpha_end, seconds
    stage two:  [fold,] epoch, train_loss, dev_loss, dev_accuracy, lr, seconds      (fold only with k-fold)

Plain CSV with a header line, written atomically; floats with 8 significant digits, an empty cell where a run
has no value (no dev set: no dev loss or accuracy). Read it back with `read_history` or any CSV reader
(`pandas.read_csv`, a spreadsheet).
"""
from __future__ import annotations

import csv
import io

from .atomicio import atomic_write_text

NAME = "history.csv"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.8g}"
    return str(value)


def write_history(path, columns, rows) -> None:
    """Write `rows` (dicts with at least the keys in `columns`) as CSV, atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    atomic_write_text(path, buf.getvalue())


def read_history(path) -> list[dict]:
    """The rows of a history.csv as dicts: numbers as int or float, empty cells as None."""
    def value(text):
        if text == "":
            return None
        try:
            return int(text)
        except ValueError:
            return float(text)
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(f)]
