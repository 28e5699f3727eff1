"""Ctrl-C and SIGTERM as a flag that training drivers poll at safe points, so a stop saves a checkpoint.

    with StopFlag() as stop:                 # installs the handlers unless the CLI already did
        for batch in ...:
            ...
            if stop.safe_point():            # end of a batch / chunk: stopping here loses nothing
                save the checkpoint; raise Interrupted(...)

The flag is shared by every instance: the CLI installs the handlers as soon as it starts, so a Ctrl-C
while the corpus is still being read is seen by the training loop that follows (`StopFlag.check` raises
Interrupted where there is nothing to save yet). The handler never raises on the first signal (an
exception thrown into arbitrary library code can be swallowed there); a second Ctrl-C stops at once.

Test hook: with PIPELINE_TEST_INTERRUPT=N (or N:TERM) in the environment, the N-th `safe_point()` of the
process sends SIGINT (SIGTERM) to the process itself, so interrupt tests stop a run at a chosen batch or
chunk instead of sleeping and hoping; the signal then takes the same path as a user's Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import threading

from .errors import Interrupted

TEST_HOOK = "PIPELINE_TEST_INTERRUPT"


class StopFlag:
    requested = False
    _installed = False
    _safe_points = 0          # safe_point() calls since the handlers were installed (the test hook counts them)

    @classmethod
    def _handler(cls, signum, frame):
        if cls.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        cls.requested = True

    @classmethod
    def install(cls) -> dict:
        """Install the handlers (main thread only) and clear the flag; returns the previous handlers
        (empty when they were installed already)."""
        saved = {}
        if not cls._installed and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                saved[sig] = signal.signal(sig, cls._handler)
            cls._installed = True
            cls.requested = False
            cls._safe_points = 0
        return saved

    @classmethod
    def check(cls, doing: str) -> None:
        """Raise Interrupted when a stop was asked for before there is anything to save."""
        if cls.requested:
            raise Interrupted(f"interrupted while {doing}; nothing was written")

    @classmethod
    def safe_point(cls) -> bool:
        """Called by a driver where it can stop cleanly (a batch or chunk is done); True when a stop was
        asked for. Runs the test hook (module docstring)."""
        cls._safe_points += 1
        at = os.environ.get(TEST_HOOK)
        if at and int(at.partition(":")[0]) == cls._safe_points:
            os.kill(os.getpid(), signal.SIGTERM if at.endswith(":TERM") else signal.SIGINT)
            for _ in range(10_000):   # the Python-level handler runs at the interpreter's next check
                if cls.requested:
                    break
        return cls.requested

    def __enter__(self):
        self._saved = self.install()
        return self

    def __exit__(self, *exc):
        for sig, old in self._saved.items():
            signal.signal(sig, old)
        if self._saved:
            type(self)._installed = False
        return False
