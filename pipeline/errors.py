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

    A second Ctrl-C while the flag is already set stops at once, as users expect.
    """

    def __init__(self):
        self.requested = False
        self._saved = {}

    def _handler(self, signum, frame):
        import signal
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        import signal
        import threading
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        import signal
        for sig, old in self._saved.items():
            signal.signal(sig, old)
        return False


def remove_stale_temps(folder) -> None:
    """Delete temporary files that a killed run left in `folder` (they are never outputs)."""
    folder = Path(folder)
    if folder.is_dir():
        for tmp in folder.glob(".*.tmp"):
            _unlink_quietly(tmp)
