"""Running a batch on several cores: its rows split into interleaved parts, one thread each.

Every stage-two kernel is nogil, so plain Python threads run them in parallel: `_parts` cuts a batch of B rows
into interleaved row sets (rows k, k + n, ...: balanced, since batches are sorted by length), `_rows` takes
those rows' ids with the padding trimmed, and `_in_threads` runs one function per part in a persistent pool,
the first part in the calling thread. `blas_threads` keeps every BLAS call on one thread meanwhile.
model.loss_and_grads and predict.Predictor use them.
"""
from __future__ import annotations

import numpy as np

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


def blas_threads(n: int = 1):
    """Context limiting every loaded BLAS (numpy's and scipy's, which Numba's np.dot calls) to `n` threads.

    Measured here (B=64, T=22, D=100, H=128, 2 cores busy with other work): Elman training 5.7k seq/s with
    one BLAS thread against 90 seq/s with two, because OpenBLAS threads spin on these small GEMMs when the
    cores are contended. scipy's BLAS is imported first so that the limit reaches it too."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library Numba's np.dot uses)
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=n, user_api="blas")
