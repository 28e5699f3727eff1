"""User-facing errors and atomic file writes, shared by every stage.

`UserError` is what bad input raises: the CLI prints its message as one line and exits with status 2,
never a traceback. Everything a run writes goes through `atomic_path` / `atomic_write_*`: the bytes
land in a temporary file in the destination's own directory and are renamed over it only when
complete, so an interrupted or killed run leaves either the old file or the new one, never half.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


class UserError(Exception):
    """Bad input or configuration: the message names the problem and what to change."""


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success fsync and rename it onto `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}; choose a writable output directory") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; outputs get the usual permissions
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise UserError(f"cannot write {path}: {exc.strerror} (is the disk full?)") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_savez(path, **arrays) -> None:
    """np.savez into a temporary file beside `path`, then rename (checkpoints, models)."""
    import numpy as np
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


class Interrupted(Exception):
    """Raised by a driver after it saved a checkpoint on Ctrl-C / SIGTERM; the CLI exits with 130."""


class StopFlag:
    """Turns SIGINT and SIGTERM into a flag that drivers poll at safe points (chunk or batch ends).

    The flag is shared by every instance: the CLI installs the handlers as soon as it starts
    (`StopFlag.install()`), so a Ctrl-C while the corpus is still being read is seen by the
    training loop that follows. The handler never raises on the first signal (an exception
    thrown into arbitrary library code can be swallowed there); a second Ctrl-C stops at once.
    Used as a context manager it installs the handlers for its duration if nobody did.
    """

    requested = False
    _installed = False

    @classmethod
    def _handler(cls, signum, frame):
        import signal
        if cls.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        cls.requested = True

    @classmethod
    def install(cls) -> dict:
        """Install the handlers (main thread only); returns the previous ones."""
        import signal
        import threading
        saved = {}
        if not cls._installed and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                saved[sig] = signal.signal(sig, cls._handler)
            cls._installed = True
        return saved

    @classmethod
    def check(cls, doing: str) -> None:
        """Raise Interrupted when a stop was asked for before there is anything to save."""
        if cls.requested:
            raise Interrupted(f"interrupted while {doing}; nothing was written")

    def __enter__(self):
        self._saved = self.install()
        return self

    def __exit__(self, *exc):
        import signal
        for sig, old in self._saved.items():
            signal.signal(sig, old)
        if self._saved:
            type(self)._installed = False
        return False


def remove_stale_temps(folder) -> None:
    """Delete temporary files that a killed run left in `folder` (they are never outputs)."""
    folder = Path(folder)
    if folder.is_dir():
        for tmp in folder.glob(".*.tmp"):
            _unlink_quietly(tmp)
