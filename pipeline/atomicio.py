"""Atomic file writes: a run leaves either the old file or the new one, never half of one.

Everything a run writes goes through `atomic_path` (or the `atomic_write_*` helpers built on it): the bytes
land in a hidden temporary file in the destination's own directory (`.<name>.<random>.tmp`), are fsynced,
and are renamed over the destination only when complete. A killed run may leave such a temporary file
behind; `remove_stale_temps` clears them when the next run starts. `savez_deterministic` writes NumPy's
.npz layout atomically and byte-for-byte reproducibly (model files and checkpoints).

    with atomic_path("runs/x/vectors.bin") as tmp, open(tmp, "wb") as f: ...
    atomic_write_json("runs/x/metrics.json", metrics)
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

from .errors import UserError


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


def savez_deterministic(path, arrays: dict) -> None:
    """np.savez's layout (zip of .npy files, uncompressed; np.load reads it) with fixed member timestamps,
    written atomically: the same arrays always give the same bytes (np.savez stamps the current time)."""
    import numpy as np
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def remove_stale_temps(folder) -> None:
    """Delete temporary files that a killed run left in `folder` (they are never outputs)."""
    folder = Path(folder)
    if folder.is_dir():
        for tmp in folder.glob(".*.tmp"):
            _unlink_quietly(tmp)
