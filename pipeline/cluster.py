"""Dask for both stages: connect to `cluster.address`, send read-only arrays once, cut input files into shards.

The stages' drivers use this module and nothing else of Dask's setup; the Numba kernels never see Dask.

    with connect(cfg.cluster) as client:          # None when cluster.address is null: the one-process path
        tables = broadcast(client, keep, noise_prob)            # futures, one replica on every worker
        shards = plan_shards(client, paths, n)                  # lists of text.ByteRange, in corpus order

- `cluster.address: local` starts a LocalCluster of `cluster.workers` processes x `threads_per_worker`
  threads and stops it when the command ends; `tcp://host:8786` connects to a running `dask scheduler`
  (an unreachable one is one error line, exit 2). The dashboard link is printed.
- Shards are contiguous byte ranges of the corpus in file order, cut at equal (uncompressed) bytes, each a
  list of ByteRange pieces (whole files or parts); sizes are measured by tasks on the workers (a compressed
  file is decompressed once to learn its size), never by reading data on the driver. A reader of a piece of
  a compressed file decompresses from the file's start: for billions of words give many files.
- `RerunCounter` (a scheduler plugin) counts tasks that went to a worker more than once: a task re-run
  because its worker died, or a lost result computed again from its lineage.

Every worker must import the same `pipeline` (install the project on every machine, same paths to the data).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from collections import Counter
from contextlib import contextmanager

import numpy as np

from . import progress
from .errors import UserError
from .text import ByteRange

# An unreachable scheduler is reported after this long; a dask.config knob (env DASK_PIPELINE__CONNECT_TIMEOUT=1s).
CONNECT_TIMEOUT = "pipeline.connect-timeout"
WORKER_WAIT_SECONDS = 30        # a reachable scheduler without workers: how long to wait for one
TEST_KILL_HOOK = "PIPELINE_TEST_KILL_WORKER"   # tests only: path of a marker file; see kill_hook()


@contextmanager
def connect(cluster_cfg):
    """A `distributed.Client` for `cluster_cfg.address` (closed at the end; a LocalCluster it started is
    stopped), or None when the address is null. Dask is imported only here, on the cluster path."""
    if cluster_cfg.address is None:
        yield None
        return
    import dask
    from dask.distributed import Client, LocalCluster
    if cluster_cfg.address == "local":
        with LocalCluster(n_workers=cluster_cfg.workers, threads_per_worker=cluster_cfg.threads_per_worker,
                          processes=True, dashboard_address=":0", silence_logs=logging.ERROR) as lc, \
                Client(lc) as client:
            _prepare(client, "a local cluster")
            yield client
        return
    try:
        client = Client(cluster_cfg.address, timeout=dask.config.get(CONNECT_TIMEOUT, "5s"))
    except (OSError, TimeoutError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot reach the Dask scheduler at {cluster_cfg.address} ({why}); start one "
                        f"(`dask scheduler`, README \"On a cluster\") or set cluster.address to local or null") \
            from None
    with client:
        _prepare(client, cluster_cfg.address)
        yield client


def _prepare(client, where: str) -> None:
    """Say where we run (with the dashboard link) and make the workers ignore Ctrl-C: the driver owns it
    and stops between rounds; a terminal's Ctrl-C reaches a LocalCluster's workers too."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class IgnoreCtrlC(WorkerPlugin):
        def setup(self, worker):
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            except ValueError:                      # not the worker's main thread: leave it
                pass

    client.register_plugin(IgnoreCtrlC(), name="pipeline-ignore-ctrl-c")
    n, threads = len(worker_threads(client)), sum(worker_threads(client).values())
    progress.say(f"cluster: {where}, {n} workers, {threads} threads; dashboard {client.dashboard_link}")


def worker_threads(client) -> dict:
    """{worker address: threads} of the workers connected now; waits for one when there is none (a cluster
    starting, or a lost worker restarting), up to WORKER_WAIT_SECONDS."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except TimeoutError:
        raise UserError(f"the Dask scheduler at {client.scheduler.address} has no workers after "
                        f"{WORKER_WAIT_SECONDS} s; start some (`dask worker {client.scheduler.address}`)") from None
    return dict(client.nthreads())       # asked each time (scheduler_info()'s cache may lack the workers)


def broadcast(client, *arrays) -> list:
    """Futures of `arrays`, one copy on every worker (scattered once; tasks reference them)."""
    return client.scatter(list(arrays), broadcast=True, hash=False)


def replicas(client, futures) -> int:
    """Copies of `futures` held by the workers now, summed (what a broadcast really moved)."""
    return sum(len(v) for v in client.who_has(futures).values())


def spread(client, fn, args_list, key_prefix: str) -> list:
    """One task `fn(*args)` per item, placed round robin on the workers (loosely: another worker may run a
    task whose worker is gone). Used for the first tasks of a job, whose results stay where they are made."""
    workers = sorted(worker_threads(client))
    return [client.submit(fn, *args, key=f"{key_prefix}-{i}", workers=[workers[i % len(workers)]],
                          allow_other_workers=True)
            for i, args in enumerate(args_list)]


# ---------------------------------------------------------------------------------------------------
# Shards of input files
# ---------------------------------------------------------------------------------------------------
def source_size(path) -> int:
    """Bytes of `path` as its readers see them: uncompressed for .gz/.bz2/.xz (decompressed once)."""
    from .text import open_binary
    if not str(path).lower().endswith((".gz", ".bz2", ".xz")):
        return os.path.getsize(path)
    n = 0
    with open_binary(path) as f:
        try:
            while chunk := f.read(1 << 22):
                n += len(chunk)
        except (OSError, EOFError) as exc:
            raise UserError(f"{path}: cannot read ({exc}); the file may be truncated or not really compressed") \
                from None
    return n


def plan_byte_ranges(paths, sizes, n_shards: int) -> list[list[ByteRange]]:
    """Cut the concatenation of `paths` (of `sizes` bytes) into `n_shards` contiguous ranges of about equal
    bytes; each is a list of ByteRange pieces in corpus order (a shard may hold none when bytes are few)."""
    total = int(sum(sizes))
    cuts = [total * k // n_shards for k in range(n_shards + 1)]
    starts = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
    shards = []
    for a, b in zip(cuts, cuts[1:]):
        pieces = []
        for path, f0, f1 in zip(paths, starts[:-1], starts[1:]):
            lo, hi = max(a, int(f0)), min(b, int(f1))
            if lo < hi:
                pieces.append(ByteRange(path, lo - int(f0), hi - int(f0)))
        shards.append(pieces)
    return shards


def plan_shards(client, paths, n_shards: int) -> list[list[ByteRange]]:
    """`plan_byte_ranges` with the sizes measured on the workers (one task per file)."""
    sizes = client.gather(client.map(source_size, paths, pure=False))
    return plan_byte_ranges(paths, sizes, n_shards)


# ---------------------------------------------------------------------------------------------------
# Faults: counting re-runs, and the test hook that causes one
# ---------------------------------------------------------------------------------------------------
class RerunCounter:
    """Counts, on the scheduler, how often each task of one job (keys holding `token`) started on a worker;
    every start after the first is a re-run (its worker died while running it, or its result was lost with a
    worker and is computed again). Work stealing moves tasks without such a transition: not counted.
    A context manager: the plugin leaves the scheduler at the end."""

    def __init__(self, client, token: str):
        from distributed.diagnostics.plugin import SchedulerPlugin

        class Plugin(SchedulerPlugin):       # defined here: sent by value, the scheduler needs no pipeline
            def __init__(self):
                self.starts = Counter()

            def transition(self, key, start, finish, *args, **kwargs):
                if finish == "processing" and token in str(key):
                    self.starts[key] += 1

        self.client, self.name = client, f"pipeline-reruns-{token}"
        try:
            client.register_plugin(Plugin(), name=self.name)
            self.available = True
        except Exception as exc:   # e.g. the scheduler cannot unpickle it: say so, count nothing
            print(f"note: re-run tasks are not counted on this scheduler ({type(exc).__name__}: {exc})",
                  file=sys.stderr)
            self.available = False

    def total(self):
        """Re-runs since the plugin was registered, or None when it could not be."""
        if not self.available:
            return None

        def reruns(name, dask_scheduler=None):
            return sum(n - 1 for n in dask_scheduler.plugins[name].starts.values())
        return self.client.run_on_scheduler(reruns, self.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.available and self.client.status == "running":
            self.client.unregister_scheduler_plugin(self.name)


def retry_lost(step, attempts: int, what: str, again: str, before_retry=None, resume_hint: str = ""):
    """step(attempt) for attempt = 1, 2, ... until it ends without FutureCancelledError / KilledWorker: a worker
    was lost and Dask could not recover data it held (e.g. what the driver scattered: the scheduler's memory
    manager keeps few copies of it). Before each retry one line on stderr names `what` and says `again` (what
    happens now; a str, or a function giving it then), and before_retry() runs (send the lost data again). After
    `attempts` failures: UserError."""
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError
    for attempt in range(1, attempts + 1):
        try:
            return step(attempt)
        except (FutureCancelledError, KilledWorker) as exc:
            if attempt == attempts:
                raise UserError(f"{what} failed {attempt} times on the cluster ({exc}); check the workers' logs "
                                f"(memory, crashes) and run again{resume_hint}") from None
            print(f"cluster: {what}: a worker was lost and Dask could not recover its data ({type(exc).__name__}); "
                  f"{again() if callable(again) else again}", file=sys.stderr)
            if before_retry is not None:
                before_retry()


def kill_hook(marker) -> None:
    """Tests only: when `marker` names an existing file, delete it and end this worker process at once, as a
    crashed machine would (the first task to get here; later ones find no file)."""
    if marker:
        try:
            os.unlink(marker)
        except FileNotFoundError:
            return
        os._exit(1)


def payload_bytes(obj) -> int:
    """Bytes of the NumPy arrays in `obj` (nested dicts, lists, tuples): what a task's result moves."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(payload_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(payload_bytes(v) for v in obj)
    return 0
