"""Stage two driver: frozen vectors + labelled sentences -> recurrent classifier -> model.npz and metrics.

    pipeline train-rnn --config configs/rnn.yaml [--set model.cell=lstm]... [--resume]

The driver owns everything around the model and its kernels: reading the vectors (the table is made
read-only and gets no gradient), the tokenizer (the config's, else the one saved beside the vectors in
`config.yaml`, else lowercase + whitespace), splits (`data.py`), epochs of bucketed mini-batches, clipping
and the optimiser (`optim.py`), early stopping on dev accuracy or dev loss (train.stop_on; patience epochs
without improvement; the best weights are restored at the end), progress, checkpoints and the outputs.

Ctrl-C / SIGTERM is polled after every batch: the driver saves `checkpoint.npz` (pipeline/checkpoint.py:
parameters, optimiser state, best weights so far, dropout RNG state, fold / epoch / batch position, history) and exits; `--resume`
continues exactly there (batch order of an epoch is a function of seed, fold and epoch, so it is rebuilt).
A checkpoint is also written at every epoch end. A NaN or infinite loss stops training with a UserError
that says to lower train.lr; the best weights so far are saved to model.npz when there are any.

k-fold (data.folds >= 2): one model per fold; metrics.json reports mean and std of accuracy and macro-F1
across folds (`accuracy`, `accuracy_std`, `macro_f1`, `macro_f1_std`, per fold in `folds`), per_class and
confusion_matrix over the pooled out-of-fold predictions, and train_loss / dev_accuracy of the last fold,
whose model is the one saved in model.npz.

Outputs, in output.dir: model.npz, config.yaml, metrics.json, history.csv (one row per epoch, HISTORY_COLUMNS,
pipeline/history.py) and two figures (pipeline/figures.py): learning_curves.png (train and dev loss, dev
accuracy) and, with a test set, confusion_matrix.png.

`train_rnn` reads as setup -> resume -> fold and epoch loops -> finish and returns a ClassifierRun (run
directory, classifier, metrics); it prints progress only (silenced by --quiet), the CLI prints the summary.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import figures, kernelcache, progress
from ..atomicio import atomic_write_json
from ..checkpoint import Checkpoint, config_key
from ..config import TokenizerConfig, resolve_workers, save_config
from ..errors import UserError
from ..history import NAME as HISTORY, write_history
from ..rundir import clear_outputs
from ..signals import StopFlag
from ..text import Tokenizer
from ..vectors import load_vectors, saved_tokenizer
from .data import Encoded, Encoder, batch_order, build_table, drop_words, load_splits, make_batch
from .metrics import accuracy, classification_report, log_loss, mean_std
from .model import forward, init_params, loss_and_grads
from .optim import clip_global_norm, make_optimizer
from .predict import Classifier
from .threads import blas_threads


def resolve_tokenizer(cfg):
    """(Tokenizer, where it came from): cfg.tokenizer, the vectors' own config.yaml, or the default."""
    if cfg.tokenizer is not None:
        return Tokenizer.from_config(cfg.tokenizer), "config"
    saved = saved_tokenizer(cfg.vectors.path)
    if saved is not None:
        return Tokenizer.from_config(saved), str(Path(cfg.vectors.path).parent / "config.yaml")
    return Tokenizer(lowercase=True), "default"


# What a first run spends compiling stage two's kernels (its message says "about N s"): `_warm_up` took 40 s for
# the Elman cell and 46 s for a bidirectional GRU with NUMBA_CACHE_DIR pointing at an empty folder (pipeline
# train-rnn on configs/rnn.yaml), 2 cores, load 20-24 (other jobs), 2026-12-02.
COMPILE_SECONDS = 45
# history.csv (pipeline/history.py): one row per epoch; `fold` only with k-fold. train_loss is the mean
# cross-entropy of the epoch's batches as trained (dropout on), dev_loss and dev_accuracy come from one pass over
# the dev set at the epoch's end (no dropout); seconds = the epoch's training plus that pass.
HISTORY_COLUMNS = ("fold", "epoch", "train_loss", "dev_loss", "dev_accuracy", "lr", "seconds")


@dataclass
class _Run:
    """What every fold and batch of one run reads and never changes (the state that changes is _State)."""
    cfg: object                     # with the resolved tokenizer filled in
    table: np.ndarray               # (V+2, D) float32, read-only: the frozen lookup
    words: list                     # the vectors' words, row i of the table
    labels: list
    tokenizer: object
    encoded: list                   # per fold: (train, dev, test) Encoded (dev / test may be None)
    coverage: float                 # fraction of tokens found in the vectors' vocabulary
    workers: int                    # each batch is split over this many threads
    ckpt: Checkpoint

    def classifier(self, params) -> Classifier:
        return Classifier(params, self.cfg.model, self.labels, self.tokenizer, self.words, self.table,
                          self.cfg.vectors.path, self.workers)


class _State:
    """Everything needed to continue training exactly where it stopped: what a checkpoint holds."""

    META = ("fold", "epoch", "batch", "loss_sum", "loss_n", "train_loss", "dev_accuracy", "best_acc",
            "best_score", "best_epoch", "bad_epochs", "fold_results", "seqs", "seconds", "history", "epoch_seconds")

    def __init__(self, run: _Run, fold=0):
        tc = run.cfg.train
        self.params = init_params(run.cfg.model, run.table.shape[1], len(run.labels), tc.seed + fold)
        self.opt = make_optimizer(tc, self.params)
        # Polyak averaging (train.average > 0): running mean of the weights, bias-corrected in weights()
        self.avg = {k: np.zeros_like(v) for k, v in self.params.items()} if tc.average > 0 else None
        self.dropout_rng = np.random.default_rng([tc.seed, fold, 7])
        self.fold = fold
        self.epoch = self.batch = 0            # position: batches of this epoch done
        self.loss_sum, self.loss_n = 0.0, 0    # this epoch's summed loss and sequences
        self.train_loss, self.dev_accuracy = [], []
        self.best = None                       # copy of the best params so far (train.stop_on: dev accuracy or loss)
        self.best_acc, self.best_epoch, self.bad_epochs = -1.0, 0, 0     # best_acc: the best epoch's dev accuracy
        self.best_score = -np.inf              # what stop_on compares: dev accuracy, or minus the dev loss
        self.fold_results = []                 # finished folds (k-fold)
        self.seqs, self.seconds = 0, 0.0       # trained sequences and training time, for sequences/s
        self.history = []                      # history.csv's rows, every fold's (HISTORY_COLUMNS)
        self.epoch_seconds = 0.0               # wall time of this epoch so far (training batches)

    def update_average(self, decay: float) -> None:
        """avg <- decay avg + (1 - decay) params, after each optimiser step (no-op without averaging)."""
        if self.avg is not None:
            for k, v in self.params.items():
                self.avg[k] *= decay
                self.avg[k] += (1.0 - decay) * v

    def weights(self, decay: float) -> dict:
        """What dev evaluation and early stopping see: the averaged weights avg / (1 - decay^t) after t steps
        (Adam's bias correction: the average started at zero), else the training weights themselves."""
        if self.avg is None or self.opt.t == 0:
            return self.params
        scale = 1.0 / (1.0 - decay ** self.opt.t)
        return {k: (v * scale).astype(v.dtype) for k, v in self.avg.items()}

    def next_fold(self, run: _Run) -> "_State":
        """A fresh state for the next fold, carrying the finished folds and the speed counters."""
        st = _State(run, self.fold + 1)
        st.fold_results, st.seqs, st.seconds, st.history = self.fold_results, self.seqs, self.seconds, self.history
        return st

    def save(self, ckpt: Checkpoint) -> None:
        arrays = {f"param.{k}": v for k, v in self.params.items()}
        arrays.update(self.opt.state_arrays())
        if self.avg is not None:
            arrays.update({f"avg.{k}": v for k, v in self.avg.items()})
        if self.best is not None:
            arrays.update({f"best.{k}": v for k, v in self.best.items()})
        meta = {k: getattr(self, k) for k in self.META}
        meta["rng"] = self.dropout_rng.bit_generator.state
        ckpt.save(arrays, meta)

    def restore(self, arrays: dict, meta: dict) -> None:
        for k in self.params:
            self.params[k][...] = arrays[f"param.{k}"]
        self.opt.load_state_arrays(arrays)
        if self.avg is not None:
            for k in self.avg:
                self.avg[k][...] = arrays[f"avg.{k}"]
        if "best.V" in arrays:
            self.best = {k: arrays[f"best.{k}"].copy() for k in self.params}
        for k in self.META:
            setattr(self, k, meta[k] if k in meta else getattr(self, k))  # history: absent from older checkpoints
        self.dropout_rng.bit_generator.state = meta["rng"]


@dataclass
class ClassifierRun:
    """What train_rnn returns: the run directory, the classifier saved there (model.npz) and its metrics."""
    out: Path
    classifier: Classifier
    metrics: dict


def train_rnn(cfg, resume: bool = False, splits=None, vectors=None) -> ClassifierRun:
    """Train stage two as `cfg` says: setup, resume, fold and epoch loops, outputs (module docstring).
    `splits` (data.Splits) replaces reading cfg.data's files and `vectors` (WordVectors) reading
    cfg.vectors.path, for examples and vectors given in Python (RNNClassifier.fit). A grid, train.seeds or
    a cluster.address make it a search (search.py: folds x seeds x grid points as tasks)."""
    if cfg.grid or cfg.train.seeds or cfg.cluster.address is not None:
        from .search import search
        return search(cfg, resume, splits, vectors)
    t_start = time.perf_counter()
    run = _setup(cfg, splits, vectors)
    st = _resume(run, resume)
    if st.fold == st.epoch == st.batch == 0:          # a fresh run: no previous run's outputs beside ours
        clear_outputs(cfg.output.dir, "rnn")
    save_config(run.cfg, Path(cfg.output.dir) / "config.yaml")
    _warm_up(st, run.cfg.model, run.table)
    # BLAS single-threaded: see threads.blas_threads for the measurement; also what makes runs reproducible
    with StopFlag() as stop, blas_threads(1):
        while True:
            train, dev, test = run.encoded[st.fold]
            clf = _train_fold(run, st, train, dev, stop)
            report = _evaluate(clf, test, run.labels) if test is not None else None
            st.fold_results.append({"train_loss": st.train_loss, "dev_accuracy": st.dev_accuracy,
                                    "best_epoch": st.best_epoch, "test": report})
            if st.fold + 1 >= len(run.encoded):
                break
            st = st.next_fold(run)
    return _finish(run, st, clf, t_start)


def _setup(cfg, splits=None, wv=None) -> _Run:
    """Vectors, tokenizer, labelled splits encoded to table rows; says what will be trained."""
    if wv is None:
        wv = load_vectors(cfg.vectors.path, cfg.vectors.binary, cfg.vectors.max_words)
    table = build_table(wv.vectors, cfg.vectors.unk)   # (V+2, D) float32, read-only: the frozen lookup
    table.flags.writeable = False
    tokenizer, tok_source = resolve_tokenizer(cfg)
    cfg = dataclasses.replace(cfg, tokenizer=TokenizerConfig(tokenizer.lowercase, tokenizer.pattern))
    splits = load_splits(cfg.data) if splits is None else splits
    if splits.replaced_lines:
        progress.say(f"note: {splits.replaced_lines} lines held undecodable bytes, replaced by U+FFFD")
    workers = resolve_workers(cfg.train.workers)
    label_id = {lab: i for i, lab in enumerate(splits.labels)}
    encoder = Encoder(wv.index, tokenizer)
    encoded = [tuple(None if s is None else encoder.encode(s.texts, [label_id[l] for l in s.labels]) for s in fold)
               for fold in splits.folds]
    first = splits.folds[0]
    progress.say(f"vectors: {len(wv):,} words x {wv.dim}; tokenizer: {tokenizer} ({tok_source}); labels: "
                 f"{', '.join(splits.labels)}; train {len(first[0])}, dev {len(first[1]) if first[1] else 0}, test "
                 f"{len(first[2]) if first[2] else 0}{f' x {len(splits.folds)} folds' if len(splits.folds) > 1 else ''}"
                 f"; token coverage {encoder.coverage:.1%}; {workers} threads")
    return _Run(cfg, table, wv.words, splits.labels, tokenizer, encoded, encoder.coverage, workers,
                Checkpoint(cfg.output.dir, config_key(cfg, workers)))


def _resume(run: _Run, resume: bool) -> _State:
    """The checkpoint's state (its fold, epoch and batch) with --resume when there is one, else fold 0."""
    st = _State(run)
    like = {f"param.{k}": v for k, v in st.params.items()}
    like.update(st.opt.state_arrays())            # every array restore() reads, with its shape and dtype
    found = run.ckpt.resume(resume, shapes={k: v.shape for k, v in like.items()}, meta_keys=_State.META + ("rng",),
                            dtypes={k: v.dtype for k, v in like.items()})
    if found is not None:
        arrays, meta = found
        try:
            st = _State(run, int(meta["fold"]))   # the fold's own initial state, then the saved values
            st.restore(arrays, meta)
        except (KeyError, ValueError, TypeError) as exc:
            raise run.ckpt.foreign(exc) from None
        progress.say(f"resuming from {run.ckpt.path}: fold {st.fold + 1}, epoch {st.epoch + 1}, batch {st.batch}")
    return st


def _warm_up(st, mc, table):
    """Compile (first run) or load from Numba's cache every kernel this model uses, outside the timed
    loop, on a one-token batch. Many kernels take part, so the cold cache is told by time (kernelcache.warm_up):
    a warm-up that lasts over 3 s is compiling, and says so."""
    ids = np.zeros((2, 2), np.int32)

    def call():
        loss_and_grads(st.params, mc, table, ids, np.array([2, 1], np.int32), np.zeros(2, np.int32), True,
                       np.random.default_rng(0))
        forward(st.params, mc, table, ids, np.array([2, 1], np.int32), keep_cache=False)  # dev/test evaluation
    seconds = kernelcache.warm_up(call, None, COMPILE_SECONDS, after=3.0)
    if seconds > 3.0:
        progress.say(f"kernels ready in {seconds:.1f} s")


def _train_fold(run: _Run, st: _State, train, dev, stop) -> Classifier:
    """Epochs over `train` from the state's position, with early stopping on `dev`; checkpoint at every
    epoch end but the last, and on a stop request (then Interrupted). Returns the best weights' Classifier."""
    tc = run.cfg.train
    desc = f"fold {st.fold + 1}" if run.cfg.data.folds >= 2 else "training"
    with progress.bar(total=len(train) * tc.epochs, unit="seq", desc=desc) as pbar:
        pbar.update(st.epoch * len(train))
        while st.epoch < tc.epochs:
            st.opt.lr = tc.lr * tc.lr_decay ** st.epoch
            order = batch_order(train.lengths, tc.batch_size, np.random.default_rng([tc.seed, st.fold, st.epoch]))
            pbar.update(sum(len(b) for b in order[:st.batch]))
            t0 = time.perf_counter()
            while st.batch < len(order):
                pbar.update(_train_batch(run, st, train, order[st.batch]))
                pbar.set_postfix(loss=f"{st.loss_sum / st.loss_n:.4f}", refresh=False)
                if stop.safe_point():
                    st.seconds += time.perf_counter() - t0
                    st.epoch_seconds += time.perf_counter() - t0
                    st.save(run.ckpt)
                    raise run.ckpt.interrupted()
            st.seconds += time.perf_counter() - t0
            st.epoch_seconds += time.perf_counter() - t0
            if _end_epoch(run, st, dev):
                break
            if st.epoch < tc.epochs:
                st.save(run.ckpt)
    if st.best is None:                        # no dev set: the last weights (averaged, with train.average)
        st.best, st.best_epoch = {k: v.copy() for k, v in st.weights(tc.average).items()}, st.epoch
    elif tc.refit:
        return _refit(run, st, train, dev, stop)
    return run.classifier(st.best)


def _refit(run: _Run, st: _State, train, dev, stop) -> Classifier:
    """train.refit: the fold's model trained again from its initial weights on train + dev for the epoch
    count early stopping chose (st.best_epoch), with the same lr schedule and averaging; its last (averaged)
    weights are returned. No checkpoint is written here: a stop request raises Interrupted and --resume
    continues from the selection phase's last epoch checkpoint, which replays to the same refit."""
    tc = run.cfg.train
    both = Encoded(np.concatenate([train.ids, dev.ids]),
                   np.concatenate([train.offsets, dev.offsets[1:] + train.offsets[-1]]),
                   np.concatenate([train.y, dev.y]))
    rs = _State(run, st.fold)                  # the same initial weights and dropout stream as the selection
    t0 = time.perf_counter()
    for epoch in range(st.best_epoch):
        rs.epoch, rs.batch, rs.loss_sum, rs.loss_n = epoch, 0, 0.0, 0
        rs.opt.lr = tc.lr * tc.lr_decay ** epoch
        for idx in batch_order(both.lengths, tc.batch_size, np.random.default_rng([tc.seed, st.fold, epoch])):
            _train_batch(run, rs, both, idx)
            if stop.safe_point():
                raise run.ckpt.interrupted()
        progress.say(f"refit on train + dev, epoch {epoch + 1}/{st.best_epoch}: train loss "
                     f"{rs.loss_sum / max(rs.loss_n, 1):.4f}")
    st.seqs += rs.seqs
    st.seconds += time.perf_counter() - t0
    return run.classifier(rs.weights(tc.average))


def _train_batch(run: _Run, st: _State, train, idx) -> int:
    """One clipped optimiser step on the sentences `idx` of `train`; returns how many there were. A NaN or
    infinite loss stops the run (UserError), the best weights so far saved to model.npz."""
    tc = run.cfg.train
    ids, lens, y = make_batch(train, idx, run.table.shape[0] - 1)
    if run.cfg.model.word_dropout > 0:
        ids = drop_words(ids, lens, run.cfg.model.word_dropout, run.table.shape[0] - 1, st.dropout_rng)
    loss, grads, _ = loss_and_grads(st.params, run.cfg.model, run.table, ids, lens, y, True, st.dropout_rng,
                                    run.workers)
    norm = clip_global_norm(grads, tc.clip_norm)
    if not (np.isfinite(loss) and np.isfinite(norm)):
        saved = None
        if st.best is not None:
            saved = Path(run.cfg.output.dir) / "model.npz"
            run.classifier(st.best).save(saved)
        raise _nan_error(tc, f"fold {st.fold + 1}, epoch {st.epoch + 1}, batch {st.batch + 1}", saved)
    st.opt.step(st.params, grads)
    st.update_average(tc.average)
    st.loss_sum += loss * len(y)
    st.loss_n += len(y)
    st.batch += 1
    st.seqs += len(y)
    return len(y)


def _nan_error(tc, where, saved) -> UserError:
    kept = ("the best weights so far were saved to " + str(saved)) if saved else "no epoch had finished, nothing was saved"
    return UserError(f"the loss became NaN/inf in {where}; lower train.lr (now {tc.lr}) or train.clip_norm "
                     f"(now {tc.clip_norm}) and retrain; {kept}")


def _end_epoch(run: _Run, st: _State, dev) -> bool:
    """Close the epoch: its train loss, dev loss and accuracy (one evaluation pass), best weights, its
    history row; True when early stopping says stop."""
    tc = run.cfg.train
    t0 = time.perf_counter()
    st.train_loss.append(st.loss_sum / max(st.loss_n, 1))
    st.epoch, st.batch, st.loss_sum, st.loss_n = st.epoch + 1, 0, 0.0, 0
    folds = len(run.encoded)
    msg = (f"fold {st.fold + 1}/{folds}, " if folds > 1 else "") + \
        f"epoch {st.epoch}/{tc.epochs}: train loss {st.train_loss[-1]:.4f}"
    row = {"fold": st.fold + 1, "epoch": st.epoch, "train_loss": st.train_loss[-1], "dev_loss": None,
           "dev_accuracy": None, "lr": st.opt.lr}
    stop_now = False
    if dev is not None and len(dev):
        weights = st.weights(tc.average)
        probs = run.classifier(weights).predict_proba_encoded(dev)
        acc = accuracy(dev.y, probs.argmax(axis=1))
        st.dev_accuracy.append(acc)
        row.update(dev_loss=log_loss(dev.y, probs), dev_accuracy=acc)
        msg += f", dev loss {row['dev_loss']:.4f}, dev accuracy {acc:.4f}"
        score = acc if tc.stop_on == "accuracy" else -row["dev_loss"]
        if score > st.best_score:
            st.best = {k: v.copy() for k, v in weights.items()}
            st.best_acc, st.best_score, st.best_epoch, st.bad_epochs = acc, score, st.epoch, 0
        else:
            st.bad_epochs += 1
            stop_now = tc.patience > 0 and st.bad_epochs >= tc.patience
    row["seconds"] = st.epoch_seconds + time.perf_counter() - t0
    st.history.append(row)
    st.epoch_seconds = 0.0
    progress.say(msg)
    if stop_now:
        kept = f"refitting on train + dev for {st.best_epoch} epochs" if tc.refit else "its weights are kept"
        progress.say(f"early stop: no better dev {tc.stop_on} for {tc.patience} epochs; best was epoch "
                     f"{st.best_epoch} (dev accuracy {st.best_acc:.4f}), {kept}")
    return stop_now


def _finish(run: _Run, st: _State, clf: Classifier, t_start: float) -> ClassifierRun:
    """Write model.npz (the last fold's best weights), metrics.json, history.csv and the figures; remove
    the checkpoint."""
    out = Path(run.cfg.output.dir)
    clf.save(out / "model.npz")
    metrics = _metrics(st, run.labels, run.coverage)
    columns = HISTORY_COLUMNS if run.cfg.data.folds >= 2 else HISTORY_COLUMNS[1:]
    write_history(out / HISTORY, columns, st.history)
    _figures(run, st, metrics, out)
    metrics["seconds"] = time.perf_counter() - t_start
    atomic_write_json(out / "metrics.json", metrics)
    run.ckpt.remove()
    return ClassifierRun(out, clf, metrics)


def _figures(run: _Run, st: _State, metrics: dict, out: Path) -> None:
    """learning_curves.png and (with a test set) confusion_matrix.png in the run directory."""
    if not figures.available():
        progress.say("note: matplotlib cannot be imported; no figures (pip install matplotlib)")
        return
    mc, k = run.cfg.model, len(st.fold_results)
    model = (f"{'bidirectional ' if mc.bidirectional else ''}{mc.cell.upper() if mc.cell != 'elman' else 'Elman'}"
             f", hidden {mc.hidden_size}, {mc.pooling} pooling")
    figures.learning_curves(out / "learning_curves.png", st.history,
                            {i + 1: f["best_epoch"] for i, f in enumerate(st.fold_results)},
                            f"{out.name}: {model}" + (f", {k} folds" if k > 1 else ""))
    (out / "confusion_matrix.png").unlink(missing_ok=True)      # an earlier run's, when this one has no test set
    if metrics.get("confusion_matrix") is not None:
        n = int(np.sum(metrics["confusion_matrix"]))
        what = f"out-of-fold predictions of {k} folds" if k > 1 else "test set"
        figures.confusion_matrix(out / "confusion_matrix.png", metrics["confusion_matrix"], run.labels,
                                 f"{out.name}: {what}, {n} sentences\naccuracy {metrics['accuracy']:.1%}")


def _evaluate(clf, test, labels) -> dict:
    probs = clf.predict_proba_encoded(test)
    report = classification_report(test.y, probs.argmax(axis=1), labels)
    report["y_true"] = test.y.tolist()
    report["y_pred"] = probs.argmax(axis=1).tolist()
    return report


def _metrics(st, labels, coverage) -> dict:
    last = st.fold_results[-1]
    m = {"labels": labels, "coverage": coverage, "train_loss": last["train_loss"],
         "dev_accuracy": last["dev_accuracy"], "best_epoch": last["best_epoch"]}
    reports = [f["test"] for f in st.fold_results]
    if reports[-1] is None:
        m.update(accuracy=None, macro_f1=None, per_class=None, confusion_matrix=None)
    elif len(reports) == 1:
        m.update({k: v for k, v in reports[0].items() if k not in ("y_true", "y_pred", "labels")})
    else:
        y_true = np.concatenate([r["y_true"] for r in reports])
        y_pred = np.concatenate([r["y_pred"] for r in reports])
        pooled = classification_report(y_true, y_pred, labels)
        acc, f1 = mean_std([r["accuracy"] for r in reports]), mean_std([r["macro_f1"] for r in reports])
        m.update(accuracy=acc["mean"], accuracy_std=acc["std"], macro_f1=f1["mean"], macro_f1_std=f1["std"],
                 per_class=pooled["per_class"], confusion_matrix=pooled["confusion_matrix"],
                 folds=[{"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "train_loss": f["train_loss"],
                         "dev_accuracy": f["dev_accuracy"], "best_epoch": f["best_epoch"]}
                        for r, f in zip(reports, st.fold_results)])
    m["sequences_per_second"] = st.seqs / max(st.seconds, 1e-9)
    m["train_seconds"] = st.seconds
    return m
