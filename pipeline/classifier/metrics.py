"""Classification scores through scikit-learn: accuracy, macro-F1, per-class precision/recall/F1 and
the confusion matrix (rows = true label, columns = predicted, in label-id order).

scikit-learn is imported by `classification_report` only: it takes seconds to import, and the per-epoch dev
accuracy (a mean, as sklearn's accuracy_score computes it) does not need it.
"""
from __future__ import annotations

import numpy as np


def accuracy(y_true, y_pred) -> float:
    """Fraction of equal labels (sklearn's accuracy_score: the mean of y_true == y_pred); 0 when empty."""
    return float(np.average(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0


def log_loss(y_true, probs) -> float:
    """Mean cross-entropy -log p[y] of (n, C) probabilities (sklearn's log_loss, probabilities clipped at 1e-15)."""
    y = np.asarray(y_true, np.int64)
    if not len(y):
        return 0.0
    p = np.asarray(probs, np.float64)[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.clip(p, 1e-15, 1.0))))


def classification_report(y_true, y_pred, labels: list) -> dict:
    """JSON-ready scores for label ids 0..C-1 named by `labels`."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
    ids = list(range(len(labels)))
    prec, rec, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0)),
        "per_class": {lab: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for lab, p, r, f, s in zip(labels, prec, rec, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).astype(int).tolist(),
        "labels": list(labels),
    }


def mean_std(values) -> dict:
    v = np.asarray(values, np.float64)
    return {"mean": float(v.mean()), "std": float(v.std()), "values": [float(x) for x in v]}
