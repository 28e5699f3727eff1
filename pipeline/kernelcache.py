"""Is a Numba kernel already compiled in the on-disk cache? And a warm-up that says so when it is not.

Every kernel is `@njit(cache=True)`: the first run compiles it (tens of seconds) and writes the machine code
under `__pycache__/` (or $NUMBA_CACHE_DIR); later runs load it in a fraction of a second. A driver warms its
kernels up on a tiny input before its timed loop, so that compile time stays out of the ETA and the speed
figures, and tells the user beforehand when a first run is about to compile.

`is_cached(kernel, args)` looks the call up the way Numba itself does when it loads a kernel: the cache index
(`<function>-<line>.pyXY.nbi`, dropped by Numba when the source file changed) must hold the key of this
signature, this CPU and this bytecode (numba.core.caching.Cache._index_key). It reads Numba internals, so
it answers None when it cannot tell (another Numba version, caching off); `warm_up` then says the message only
when the call lasts longer than a second.
"""
from __future__ import annotations

import threading
import time

from . import progress


def is_cached(kernel, args) -> bool | None:
    """True when `kernel(*args)` will load from Numba's on-disk cache (or is compiled in this process
    already), False when it will compile, None when that cannot be told."""
    try:
        from numba import typeof
        from numba.core.caching import NullCache
        sig = tuple(typeof(a) for a in args)
        if sig in kernel.overloads:
            return True
        cache = kernel._cache
        if isinstance(cache, NullCache):       # cache=False (or a lambda): every process compiles it
            return False
        key = cache._index_key(sig, kernel.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001  (Numba internals: any failure means "cannot tell")
        return None


def warm_up(call, cached: bool | None, about_seconds: int, after: float = 1.0) -> float:
    """Run `call()` (the kernels on a tiny input); before it, when `cached` is False, say that they compile
    and for about how long. `cached` None: say it once the call has lasted `after` seconds. Returns the
    call's seconds."""
    message = f"compiling Numba kernels (first run only, about {about_seconds} s)"
    note = None
    if cached is False:
        progress.say(message)
    elif cached is None:
        note = threading.Timer(after, progress.say, [message])
        note.daemon = True
        note.start()
    t0 = time.perf_counter()
    try:
        call()
    finally:
        if note is not None:
            note.cancel()
    return time.perf_counter() - t0
