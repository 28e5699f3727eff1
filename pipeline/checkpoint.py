"""One checkpoint format and the resume logic, shared by both training stages.

A checkpoint is `checkpoint.npz` in the run directory, NumPy's .npz layout written atomically and
deterministically (atomicio.savez_deterministic), loaded with allow_pickle=False:
    <name>            every array of the stage's training state (stage one: W_in, W_out, rng_states and the
                      per-epoch sums; stage two: param.*, opt.*, best.*)
    meta              JSON object of the state's other values (epoch, position in it, history, RNG state ...)
    config_key        JSON of the settings the state depends on (`config_key`): only a run with the same
                      settings may continue from it
    format_version    int64, FORMAT_VERSION

A driver saves one at every epoch end and when a stop is asked for (Ctrl-C / SIGTERM, see signals.py), then
raises `Checkpoint.interrupted()`; `--resume` continues from it (`Checkpoint.resume`), and a finished run
removes it. Loading refuses, with one line that names the file and the fix, a checkpoint written with other
settings or by another format version, a truncated or damaged file, and arrays whose shapes do not fit this
run, meta values the run needs but the file lacks (a checkpoint of another version of the code), and NaN or
infinite numbers (a checkpoint saved as a run diverged). The stages never import each other; both import
this module.

    ckpt = Checkpoint(out, config_key(cfg, workers))
    found = ckpt.resume(resume, shapes={"W_in": (V, D)})   # None: start afresh; else (arrays, meta)
    ckpt.save(arrays, meta)
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from . import progress
from .atomicio import savez_deterministic
from .errors import Interrupted, UserError

NAME = "checkpoint.npz"
FORMAT_VERSION = 1
_RESERVED = ("meta", "config_key", "format_version")


def config_key(cfg, workers: int, ignore=()) -> str:
    """The settings a run's state depends on, as JSON: the resolved config without `output` and the dotted
    keys in `ignore` (e.g. "corpus.cache_dir"), with the real thread count for train.workers (0 = all cores
    means a different count on another machine)."""
    from .config import to_dict
    d = to_dict(cfg)
    d.pop("output", None)
    for dotted in ignore:
        *parents, last = dotted.split(".")
        node = d
        for part in parents:
            node = node[part]
        node.pop(last, None)
    d["train"]["workers"] = workers
    return json.dumps(d, sort_keys=True)


class Checkpoint:
    """The checkpoint of the run directory `folder`, for a run whose settings give `key` (config_key)."""

    def __init__(self, folder, key: str):
        self.path = Path(folder) / NAME
        self.key = key

    def save(self, arrays: dict, meta: dict) -> None:
        """Write the state (named arrays + JSON-able meta) atomically, replacing the previous checkpoint."""
        clash = set(arrays) & set(_RESERVED)
        if clash:
            raise ValueError(f"array names reserved by the checkpoint format: {sorted(clash)}")
        out = dict(arrays)
        out.update(meta=np.array(json.dumps(meta, sort_keys=True)), config_key=np.array(self.key),
                   format_version=np.array(FORMAT_VERSION, np.int64))
        savez_deterministic(self.path, out)

    def load(self, shapes: dict | None = None, meta_keys=(), dtypes: dict | None = None) -> tuple[dict, dict]:
        """(arrays, meta) of the checkpoint; UserError unless it was written by this format version with
        the same settings, is whole, its arrays named in `shapes` (`dtypes`) have those shapes (dtypes), its
        meta holds `meta_keys`, and every floating-point array is finite."""
        fix = "start afresh without --resume"
        with open(self.path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":      # np.load would try it as a pickle and say so
                raise UserError(f"{self.path} is not a checkpoint written by pipeline (not an .npz archive); {fix}")
        try:
            with np.load(self.path, allow_pickle=False) as z:
                version = int(z["format_version"]) if "format_version" in z.files else None
                if version != FORMAT_VERSION:
                    raise UserError(f"{self.path} was written by another version of pipeline (checkpoint format "
                                    f"{version}, this version reads {FORMAT_VERSION}); {fix}")
                if str(z["config_key"]) != self.key:
                    raise UserError(f"{self.path} was written by a run with other settings; resume with the same "
                                    f"config or {fix}")
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k not in _RESERVED}
        except UserError:
            raise
        except (zipfile.BadZipFile, EOFError) as exc:
            raise UserError(f"{self.path} is truncated or damaged ({exc}); {fix}") from None
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise UserError(f"cannot resume from {self.path} ({type(exc).__name__}: {str(exc)[:80]}); {fix}") from None
        for name, shape in (shapes or {}).items():
            if name not in arrays or arrays[name].shape != tuple(shape):
                got = arrays[name].shape if name in arrays else "missing"
                raise UserError(f"{self.path} does not match this run ({name}: {got}, this run needs "
                                f"{tuple(shape)}: the data, sizes or workers changed); {fix}")
        for name, dtype in (dtypes or {}).items():
            if name in arrays and arrays[name].dtype != np.dtype(dtype):
                raise UserError(f"{self.path} holds {name} as {arrays[name].dtype}, this run needs "
                                f"{np.dtype(dtype)}: it was not written by this version; {fix}")
        missing = [k for k in meta_keys if not isinstance(meta, dict) or k not in meta]
        if missing:
            raise UserError(f"{self.path} lacks {', '.join(missing[:3])}: it was written by another version of "
                            f"pipeline; {fix}")
        bad = [k for k, v in arrays.items() if v.dtype.kind in "fc" and not np.isfinite(v).all()]
        if bad:
            raise UserError(f"{self.path} holds NaN or infinite numbers (in {', '.join(bad[:3])}): it was saved as "
                            f"the run diverged; {fix} with a lower learning rate")
        return arrays, meta

    def resume(self, resume: bool, shapes: dict | None = None, meta_keys=(), dtypes: dict | None = None):
        """(arrays, meta) to continue from when `resume` and a checkpoint exists, else None (start afresh;
        said when --resume found nothing)."""
        if not resume:
            return None
        if not self.path.is_file():
            progress.say(f"no checkpoint at {self.path}; starting afresh")
            return None
        return self.load(shapes, meta_keys, dtypes)

    def foreign(self, exc) -> UserError:
        """The error for a checkpoint whose contents the driver cannot restore (hand-made or another version)."""
        return UserError(f"{self.path} does not fit this run ({type(exc).__name__}: {str(exc)[:80]}); start "
                         f"afresh without --resume")

    def interrupted(self) -> Interrupted:
        """The exception a driver raises after saving on a stop request (the CLI prints it, exits 130)."""
        return Interrupted(f"interrupted; checkpoint saved in {self.path}; continue with the same command "
                           f"plus --resume")

    def exists(self) -> bool:
        return self.path.is_file()

    def remove(self) -> None:
        """Delete the checkpoint once the run's outputs are written."""
        self.path.unlink(missing_ok=True)
