"""The run directory: refuse a folder that is not safe to write a run into, hold it for one run at a time, and
leave nothing behind when a run is refused.

    with run_directory(cfg.output.dir, "embeddings", inputs=cfg.corpus.paths):
        ...                                   # the driver writes vectors.bin, config.yaml ... there

Refused before anything is written, with one line naming the folder and the fix (`check_output_dir`):
- the current folder or one of its parents (".", "..", "/"): a run writes config.yaml, metrics.json ... there;
- a folder that holds the run's inputs, or lies inside an input folder (the corpus folder, a parent of corpus
  or labelled files, the folder of the vectors stage two reads): the outputs would mix with the inputs, and
  the next run would read them as data;
- a folder that holds the other stage's run (vectors.bin / vocab.tsv, or model.npz): both stages write
  config.yaml and metrics.json, so one would overwrite the other's; or a config.yaml no run of ours wrote;
- a path that is a file.

Two runs at once: the folder's `.lock` is held with fcntl.flock for the whole run, so a second run pointed
at the same folder is refused at once, naming the first one's process. The kernel drops a flock when its
process ends, however it ends, so a lock file left behind by a killed run never blocks the next one.

Nothing left behind: a run refused after the folder was made (by checks that need the data) removes the
folders it made, when they are still empty, and always its lock file. `clear_outputs` removes a previous
run's outputs when a fresh run starts writing, so a folder never mixes two runs' files.
"""
from __future__ import annotations

import contextlib
import glob
import os
import socket
import time
from pathlib import Path

from .errors import UserError, shown

LOCK = ".lock"
# What each stage writes; the first names tell a stage's run directory apart.
OUTPUTS = {
    "embeddings": ("vectors.bin", "vocab.tsv", "vectors.txt", "metrics.json", "history.csv", "loss.png",
                   "words_pca.png"),
    "rnn": ("model.npz", "metrics.json", "history.csv", "learning_curves.png", "confusion_matrix.png"),
}
MARKERS = {"embeddings": ("vectors.bin", "vocab.tsv"), "rnn": ("model.npz",)}
SECTION = {"embeddings": "corpus", "rnn": "data"}        # a top-level key only that stage's config.yaml has
EXAMPLE = {"embeddings": "runs/embeddings", "rnn": "runs/rnn"}


def _input_folders(specs) -> list[tuple[Path, bool]]:
    """(resolved path, is a folder) of each input spec: files as they are, folders and the fixed part of a
    glob as folders; `dataset:` names stand for the data folder; `gensim:` files and non-paths are skipped."""
    from . import datasets
    out = []
    for spec in specs:
        spec = str(spec)
        if spec.startswith("dataset:"):
            out.append((datasets.DATA_DIR.resolve(), True))
            continue
        if spec.startswith(("gensim:", "<")) or not spec.strip():
            continue
        if glob.has_magic(spec):
            fixed = spec[:min(spec.index(ch) for ch in "*?[" if ch in spec)]
            out.append((Path(os.path.dirname(fixed) or ".").resolve(), True))
        else:
            p = Path(spec).resolve()
            out.append((p, p.is_dir()))
    return out


def check_output_dir(out, stage: str, inputs=()) -> Path:
    """UserError when `out` is not a safe run directory for `stage` (module docstring); else its Path."""
    out = Path(out)
    name = shown(str(out))
    where = out.resolve()
    cwd = Path.cwd().resolve()
    fix = f"give the run its own folder, e.g. output.dir: {EXAMPLE[stage]}"
    if where == cwd or where in cwd.parents:
        what = "the current folder" if where == cwd else "a parent of the current folder"
        raise UserError(f"output.dir {name} is {what}; a run writes config.yaml, metrics.json ... into it: {fix}")
    if out.exists() and not out.is_dir():
        raise UserError(f"output.dir {name} is a file, not a folder; {fix}")
    for path, is_folder in _input_folders(inputs):
        if where == path or where in path.parents or (is_folder and path in where.parents):
            raise UserError(f"output.dir {name} {'is inside' if is_folder and path in where.parents else 'holds'} "
                            f"the input {shown(str(path))}: the outputs would mix with the data; {fix}")
    if out.is_dir():
        other = "rnn" if stage == "embeddings" else "embeddings"
        found = [m for m in MARKERS[other] if (out / m).exists()]
        if found:
            raise UserError(f"output.dir {name} holds a {'stage-one' if other == 'embeddings' else 'stage-two'} run "
                            f"({found[0]}); both stages write config.yaml and metrics.json: {fix}")
        if (out / "config.yaml").is_file() and not _our_config(out / "config.yaml", stage):
            raise UserError(f"output.dir {name} holds a config.yaml that no {stage} run wrote; {fix}")
    return out


def _our_config(path: Path, stage: str) -> bool:
    from .config import read_yaml
    try:
        tree = read_yaml(path)
    except UserError:
        return False
    return isinstance(tree, dict) and SECTION[stage] in tree and SECTION["rnn" if stage == "embeddings"
                                                                          else "embeddings"] not in tree


@contextlib.contextmanager
def run_directory(out, stage: str, inputs=()):
    """Check `out` (check_output_dir), make it, hold its lock for the run; on failure remove the folders it
    made if they are empty. Yields the Path."""
    out = check_output_dir(out, stage, inputs)
    made = _make_dirs(out)
    try:
        lock = _acquire(out)
    except BaseException:
        _remove_empty(made)
        raise
    ok = False
    try:
        yield out
        ok = True
    finally:
        _release(lock)
        if not ok:
            _remove_empty(made)


def _make_dirs(out: Path) -> list[Path]:
    """Create `out` and its missing parents; returns the ones created, deepest first."""
    missing = []
    p = out.absolute()
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write {shown(str(out))}: {exc.strerror}; choose a writable output "
                        f"directory") from None
    return missing


def _remove_empty(folders) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _acquire(out: Path):
    """(fd, path) of the folder's lock file, held with flock; UserError when another process holds it."""
    try:
        import fcntl
    except ImportError:         # not POSIX: no locking
        return None
    path = out / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror}; choose a writable output directory") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise UserError(f"output.dir {shown(str(out))} is in use by another run ({holder}); wait for it to "
                            f"finish or give this run another output.dir") from None
        try:            # the previous holder may have removed the file between our open and flock: retry
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}"
                 .encode())
    return fd, path


def _release(lock) -> None:
    """Remove the lock file while still holding it, then let go (a waiter re-checks the inode)."""
    if lock is None:
        return
    fd, path = lock
    with contextlib.suppress(OSError):
        os.unlink(path)
    os.close(fd)


def clear_outputs(out, stage: str) -> None:
    """Remove what a previous run of `stage` wrote into `out`, before a fresh run writes its own."""
    for name in OUTPUTS[stage]:
        with contextlib.suppress(FileNotFoundError):
            (Path(out) / name).unlink()
