"""The PNG figures every training run leaves beside its metrics.json and history.csv.

    stage two:  learning_curves.png   train and dev loss, dev accuracy per epoch (each fold with k-fold)
                confusion_matrix.png  test predictions: rows = true label, each cell its row's % and count
    stage one:  loss.png              mean loss per trained pair, per epoch
                words_pca.png         the most frequent words' vectors projected on their 2 principal axes

Both wings call this floor module from their `_finish`; it imports neither. Drawing uses matplotlib's object
API (`matplotlib.figure.Figure`, rendered by the Agg backend straight to PNG): no window is ever opened and
pyplot's global state (a user's own figures, their backend) is left alone. Files are written atomically
(atomicio.atomic_path) without the matplotlib version in the PNG metadata, so the same numbers give the same
bytes. A figure takes tens of milliseconds; importing matplotlib, the first time, a few hundred.

PCA (`pca_2d`): rows scaled to unit length (cosine geometry, as most_similar uses), centred; the projection
on the two right singular vectors of the largest singular values, each sign fixed so that its largest
loading is positive (scikit-learn's svd_flip), so the picture does not flip between identical runs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomicio import atomic_path

DPI = 100
TRAIN, DEV, ACC = "tab:blue", "tab:orange", "tab:green"


def available() -> bool:
    """True when matplotlib can be imported (it is a dependency; a broken install only loses the figures)."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width, height):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=DPI)


def _save(fig, path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _epoch_ticks(ax, n_epochs: int) -> None:
    """Whole epochs on the x axis, at most about 10 ticks."""
    step = max(1, int(np.ceil(n_epochs / 10)))
    ax.set_xticks(range(1, n_epochs + 1, step))
    ax.set_xlim(0.5, n_epochs + 0.5)
    ax.set_xlabel("epoch")


# ---------------------------------------------------------------------------------------------------
# Stage two
# ---------------------------------------------------------------------------------------------------
def learning_curves(path, history: list, best_epochs: dict, title: str) -> Path:
    """Two panels from history.csv's rows: train and dev loss (left), dev accuracy (right) per epoch; with
    k-fold one thin line per fold. `best_epochs` maps fold -> the epoch whose weights were kept (a dot)."""
    folds = sorted({row.get("fold", 1) for row in history})
    n_epochs = max(row["epoch"] for row in history)
    fig = _figure(8.0, 3.4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    width, alpha = (1.8, 1.0) if len(folds) == 1 else (1.0, 0.55)
    for k, fold in enumerate(folds):
        rows = [row for row in history if row.get("fold", 1) == fold]
        epochs = [row["epoch"] for row in rows]
        suffix = "" if len(folds) == 1 else " (each fold)"
        ax_loss.plot(epochs, [row["train_loss"] for row in rows], color=TRAIN, lw=width, alpha=alpha,
                     marker="o" if len(epochs) < 30 and len(folds) == 1 else None, ms=3,
                     label="train loss" + suffix if k == 0 else None)
        dev = [(row["epoch"], row["dev_loss"], row["dev_accuracy"]) for row in rows if row["dev_loss"] is not None]
        if dev:
            e, loss, acc = zip(*dev)
            ax_loss.plot(e, loss, color=DEV, lw=width, alpha=alpha, ls="--",
                         label="dev loss" + suffix if k == 0 else None)
            ax_acc.plot(e, acc, color=ACC, lw=width, alpha=alpha, ms=3,
                        marker="o" if len(e) < 30 and len(folds) == 1 else None, label="dev accuracy" + suffix if k == 0 else None)
            best = best_epochs.get(fold)
            if best in e:
                ax_acc.plot([best], [acc[e.index(best)]], "o", color="black", ms=5,
                            label="kept epoch" if k == 0 else None)
    ax_loss.set_ylabel("cross-entropy (mean per sentence)")
    ax_loss.set_title("loss", fontsize=10)
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_title("dev accuracy", fontsize=10)
    for ax in (ax_loss, ax_acc):
        _epoch_ticks(ax, n_epochs)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
    if not any(row["dev_loss"] is not None for row in history):
        ax_acc.text(0.5, 0.5, "no dev set", ha="center", va="center", transform=ax_acc.transAxes, color="gray")
    fig.suptitle(title, fontsize=11)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.83, wspace=0.28)
    return _save(fig, path)


def confusion_matrix(path, counts, labels: list, title: str) -> Path:
    """Rows = true label, columns = predicted; each cell shows its share of the row (%) and its count, and
    is shaded by that share."""
    counts = np.asarray(counts, np.int64)
    C = len(labels)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    side = min(9.0, 2.6 + 0.55 * C)
    fig = _figure(side + 1.6, side)
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    font = 10 if C <= 6 else 8 if C <= 12 else 6
    for i in range(C):
        for j in range(C):
            ax.text(j, i, f"{100 * share[i, j]:.0f}%\n({counts[i, j]})", ha="center", va="center",
                    fontsize=font, color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(C), labels, rotation=45 if C > 4 else 0, ha="right" if C > 4 else "center")
    ax.set_yticks(range(C), [f"{lab} (n={int(t)})" for lab, t in zip(labels, totals[:, 0])])
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("share of the true label's row")
    ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0.22, right=0.88, bottom=0.16 if C <= 4 else 0.22, top=0.86)
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------------
# Stage one
# ---------------------------------------------------------------------------------------------------
def loss_curve(path, history: list, title: str) -> Path:
    """Mean negative log-likelihood per trained pair (history.csv's `loss`) per epoch."""
    epochs = [row["epoch"] for row in history]
    fig = _figure(5.2, 3.4)
    ax = fig.subplots()
    ax.plot(epochs, [row["loss"] for row in history], color=TRAIN, marker="o", ms=4, lw=1.8,
            label="training loss")
    _epoch_ticks(ax, max(epochs))
    ax.set_ylabel("loss per (word, context) pair")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.15, top=0.88)
    return _save(fig, path)


def frequent_words(words: list, n: int, min_chars: int = 3) -> list[int]:
    """Row ids of the first `n` words (in the vectors' frequency order) that hold a letter and at least
    `min_chars` characters: punctuation and one- or two-letter tokens make a crowded, empty picture."""
    ids = [i for i, w in enumerate(words) if len(w) >= min_chars and any(ch.isalpha() for ch in w)]
    return ids[:n]


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates of the rows of `vectors` on their two principal axes (module docstring)."""
    X = np.asarray(vectors, np.float64)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    X = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    axes = Vt[:2]                                              # (2, D)
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    return X @ (axes * signs[:, None]).T


def word_map(path, words: list, vectors: np.ndarray, title: str, n: int = 60) -> Path:
    """The `n` most frequent words (frequent_words) as labelled points on their 2 principal axes."""
    ids = frequent_words(words, n)
    fig = _figure(8.0, 6.4)
    ax = fig.subplots()
    ax.set_xlabel("first principal axis")
    ax.set_ylabel("second principal axis")
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.09, top=0.93)
    if len(ids) >= 3:
        xy = pca_2d(vectors[ids])
        ax.scatter(xy[:, 0], xy[:, 1], s=10, color=TRAIN)
        pad = 0.1 * (xy.max(axis=0) - xy.min(axis=0) + 1e-9)
        ax.set_xlim(xy[:, 0].min() - pad[0], xy[:, 0].max() + pad[0])
        ax.set_ylim(xy[:, 1].min() - pad[1], xy[:, 1].max() + pad[1])
        _place_labels(fig, ax, xy, [words[i] for i in ids])
    else:
        ax.text(0.5, 0.5, "too few words to project", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


# Where a label may sit around its point: (dx, dy) in points and the alignment that keeps it off the point.
_SPOTS = ((3, 2, "left", "bottom"), (3, -2, "left", "top"), (-3, 2, "right", "bottom"), (-3, -2, "right", "top"),
          (4, 0, "left", "center"), (-4, 0, "right", "center"), (0, 4, "center", "bottom"), (0, -4, "center", "top"))
_LABEL_SIZE = 8


def _place_labels(fig, ax, xy, labels) -> None:
    """Annotate each point with its label at the first spot around it (_SPOTS) whose text box overlaps no
    label placed before it and no other point, inside the axes; the least crowded spot when none is free.
    Greedy, most frequent word first; text sizes measured once with the Agg renderer: deterministic."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.font_manager import FontProperties
    renderer = FigureCanvasAgg(fig).get_renderer()
    prop = FontProperties(size=_LABEL_SIZE)
    frame = ax.get_window_extent(renderer).extents                 # (x0, y0, x1, y1) display pixels
    points = ax.transData.transform(xy)                            # (n, 2) display pixels
    px = fig.dpi / 72.0                                            # pixels per point
    dots = np.hstack([points - 3, points + 3])                     # (n, 4) a marker's box
    placed = np.zeros((0, 4))

    def overlaps(box, boxes):
        return int(np.sum((boxes[:, 0] < box[2]) & (box[0] < boxes[:, 2]) & (boxes[:, 1] < box[3]) & (box[1] < boxes[:, 3])))

    for k, ((x, y), label) in enumerate(zip(points, labels)):
        w, h, _ = renderer.get_text_width_height_descent(label, prop, ismath=False)
        best = None
        for dx, dy, ha, va in _SPOTS:
            x0 = x + dx * px - {"left": 0, "center": w / 2, "right": w}[ha]
            y0 = y + dy * px - {"bottom": 0, "center": h / 2, "top": h}[va]
            box = np.array([x0, y0, x0 + w, y0 + h])
            inside = frame[0] <= box[0] and box[2] <= frame[2] and frame[1] <= box[1] and box[3] <= frame[3]
            score = overlaps(box, placed) + overlaps(box, np.delete(dots, k, axis=0)) + (0 if inside else 100)
            if best is None or score < best[0]:
                best = (score, box, (dx, dy, ha, va))
            if score == 0:
                break
        dx, dy, ha, va = best[2]
        ax.annotate(label, xy[k], xytext=(dx, dy), textcoords="offset points", fontsize=_LABEL_SIZE, ha=ha, va=va)
        placed = np.vstack([placed, best[1]])
