"""Stage two's search: k-fold folds x seeds x a hyper-parameter grid, as independent tasks, in one process
or on a Dask cluster, with the same results.

    pipeline train-rnn --config configs/rnn.yaml --set data.folds=5 --set "train.seeds=[1,2,3]" \\
        --set "grid.model.hidden_size=[32,64]" --set "grid.train.lr=[0.002,0.004]" [--set cluster.address=local]

train-rnn runs a search when the config has a `grid:` (RNNConfig.grid), `train.seeds`, or a
`cluster.address`. The driver reads the vectors and the labelled data once and encodes every fold once
(train.py's _setup); a task trains one model, for one grid point (its model.* / train.* values on top of
the config), one seed (train.seed) and one fold, exactly as the one-process driver trains a fold (train.py:
_State, _train_fold, early stopping on dev accuracy), and returns its scores. Without a cluster the tasks
run one after the other; with one, the table, the words and the encoded folds are scattered once
(broadcast) and the tasks reference them, one Dask task each. A task is a function of its config, seed and
fold only, on `train.workers` threads (1 when 0: tasks run side by side, and a thread count changes the sums'
order), so the cluster's metrics equal the one-process ones (tests/test_dask_stage2.py).

metrics.json: `points`, one row per grid point: its `params`, `accuracy`, `macro_f1` and `dev_accuracy`
(best epoch's) as mean and `_std` over its seeds x folds, and `runs` (each task's scores); `best`: the
point with the highest mean out-of-fold accuracy under k-fold (as GridSearchCV chooses), else the highest
mean dev accuracy (choosing on the test set would make its score optimistic). model.npz is the best point's
model of its first seed and last fold (as one process writes its last fold's): each task returns its weights
(the parameters only; the table stays with the driver). --resume does not apply.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import time
import uuid
from pathlib import Path

from .. import progress
from ..atomicio import atomic_write_json
from ..cluster import TEST_KILL_HOOK
from ..config import RNNConfig, from_dict, save_config, to_dict
from ..errors import UserError
from ..signals import StopFlag
from .metrics import mean_std

TASK_ATTEMPTS = 3   # times the not-yet-trained models are sent again when a lost worker took the shared data along


def grid_points(grid: dict) -> list[dict]:
    """Every combination of the grid's values, {dotted key: value}, the first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))] or [{}]


def task_config(cfg, point: dict, seed: int) -> RNNConfig:
    """The config of one task: `point`'s values on top of `cfg`, train.seed = seed, one search's worth of
    options cleared (grid, seeds, cluster) and the task's thread count fixed (module docstring)."""
    tree = to_dict(cfg)
    tree["grid"], tree["train"]["seeds"], tree["cluster"] = {}, [], {}
    for key, value in point.items():
        section, name = key.split(".")
        tree[section][name] = value
    tree["train"]["seed"] = seed
    tree["train"]["workers"] = cfg.train.workers or 1
    return from_dict(RNNConfig, tree)


def search(cfg, resume=False, splits=None, vectors=None):
    """Run the search `cfg` describes; write config.yaml, metrics.json and the best point's model.npz in
    cfg.output.dir; return a train.ClassifierRun with that classifier."""
    from ..cluster import connect
    from .train import ClassifierRun, _setup
    if resume:
        raise UserError("--resume: a search (grid, train.seeds or cluster.address) has no checkpoint; run it "
                        "again without --resume")
    t_start = time.perf_counter()
    run = _setup(cfg, splits, vectors)
    out = Path(cfg.output.dir)
    save_config(run.cfg, out / "config.yaml")
    points, seeds = grid_points(cfg.grid), list(cfg.train.seeds) or [cfg.train.seed]
    jobs = [(p, seed, fold) for p in range(len(points)) for seed in seeds for fold in range(len(run.encoded))]
    configs = [task_config(run.cfg, points[p], seed) for p, seed, _ in jobs]
    shared = {"table": run.table, "words": run.words, "labels": run.labels, "encoded": run.encoded}
    progress.say(f"search: {len(points)} grid points x {len(seeds)} seeds x {len(run.encoded)} folds = "
                 f"{len(jobs)} models")
    with connect(cfg.cluster) as client:
        results = run_tasks(client, train_task, [(c, fold) for c, (_, _, fold) in zip(configs, jobs)], shared)
    weights = [r.pop("params") for r in results]
    metrics = summarize(points, jobs, results, seeds, len(run.encoded))
    best = metrics["best"]["index"]
    j = jobs.index((best, seeds[0], len(run.encoded) - 1))
    clf = dataclasses.replace(run, cfg=configs[j]).classifier(weights[j])
    clf.save(out / "model.npz")
    metrics["best"]["model"] = {"seed": seeds[0], "fold": len(run.encoded), "file": "model.npz"}
    metrics.update(labels=run.labels, coverage=run.coverage, cluster=cfg.cluster.address,
                   seconds=time.perf_counter() - t_start)
    atomic_write_json(out / "metrics.json", metrics)
    return ClassifierRun(out, clf, metrics)


def run_tasks(client, fn, args_list, shared) -> list:
    """[fn(*args, shared) for args in args_list], in order: one after the other without a client (Ctrl-C
    stops between tasks), else one Dask task each with `shared` scattered once to every worker."""
    results = [None] * len(args_list)
    with progress.bar(total=len(args_list), unit="model", desc="search") as pbar:
        if client is None:
            for i, args in enumerate(args_list):
                StopFlag.check(f"the search ({i} of {len(args_list)} models trained)")
                results[i] = fn(*args, shared)
                pbar.update(1)
            return results
        from ..cluster import retry_lost
        shared = {**shared, "kill_marker": os.environ.get(TEST_KILL_HOOK)}       # tests only (cluster.kill_hook)

        def send(attempt):
            _submit_and_collect(client, fn, args_list, shared, [i for i, r in enumerate(results) if r is None],
                                results, pbar)
        retry_lost(send, TASK_ATTEMPTS, "the search",
                   lambda: f"the {sum(r is None for r in results)} models not trained yet are sent again")
    return results


def _submit_and_collect(client, fn, args_list, shared, todo, results, pbar) -> None:
    """One Dask task per index in `todo`, `shared` scattered once to every worker; results[i] as each ends. Dask
    runs a task again elsewhere when its worker dies; when the scattered data died with it (the scheduler's
    memory manager keeps few copies), the futures fail and run_tasks sends everything not done again."""
    from dask.distributed import as_completed

    from ..cluster import broadcast
    [shared_future] = broadcast(client, shared)
    token = uuid.uuid4().hex[:12]
    futures = [client.submit(fn, *args_list[i], shared_future, key=f"rnn-task-{token}-{i}", pure=False) for i in todo]
    index = {f.key: i for i, f in zip(todo, futures)}
    for future, result in as_completed(futures, with_results=True):
        results[index[future.key]] = result
        pbar.update(1)


class _NoCheckpoint:
    """A task keeps no checkpoint (a re-run task starts over): _train_fold's saves do nothing."""

    def save(self, arrays, meta):
        pass


class _NeverStop:
    """A task runs to its end (the driver stops between tasks)."""

    def safe_point(self):
        return False


def train_task(cfg, fold, shared) -> dict:
    """Train fold `fold` as cfg says (one grid point, one seed) on the shared table and encoded folds;
    its scores: test (or held-out fold) accuracy and macro-F1, best dev accuracy and epoch; and its weights
    (`params`, the kept ones: the best epoch's under early stopping)."""
    from ..cluster import kill_hook
    from ..library import quiet_unless
    from .train import _evaluate, _Run, _State, _train_fold
    from .threads import blas_threads
    kill_hook(shared.get("kill_marker"))
    run = _Run(cfg, shared["table"], shared["words"], shared["labels"], None, shared["encoded"], 0.0,
               cfg.train.workers, _NoCheckpoint())
    train, dev, test = run.encoded[fold]
    with quiet_unless(False), blas_threads(1):
        st = _State(run, fold)
        clf = _train_fold(run, st, train, dev, _NeverStop())
        report = _evaluate(clf, test, run.labels) if test is not None else None
    has_dev = dev is not None and len(dev) > 0
    return {"accuracy": report["accuracy"] if report else None, "macro_f1": report["macro_f1"] if report else None,
            "dev_accuracy": st.best_acc if has_dev else None, "best_epoch": st.best_epoch,
            "epochs": len(st.train_loss), "params": clf.params}


def summarize(points, jobs, results, seeds, folds) -> dict:
    """metrics.json's search part: a row per grid point (mean and sd over its tasks) and the best point."""
    rows = []
    for p, point in enumerate(points):
        runs = [{"seed": seed, "fold": fold + 1, **r} for (q, seed, fold), r in zip(jobs, results) if q == p]
        row = {"params": point, "models": len(runs)}
        for name in ("accuracy", "macro_f1", "dev_accuracy"):
            values = [r[name] for r in runs if r[name] is not None]
            stats = mean_std(values) if values else {"mean": None, "std": None}
            row[name], row[f"{name}_std"] = stats["mean"], stats["std"]
        row["runs"] = runs
        rows.append(row)
    by = "accuracy" if folds >= 2 else "dev_accuracy"
    if rows[0][by] is None:
        by = "dev_accuracy" if by == "accuracy" else "accuracy"
    best = max(range(len(rows)), key=lambda i: -1.0 if rows[i][by] is None else rows[i][by])   # first of ties
    return {"points": rows, "best": {"index": best, "params": rows[best]["params"], "by": by,
                                     "score": rows[best][by]},
            "seeds": seeds, "folds": folds, "models": len(results)}
