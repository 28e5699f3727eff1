"""The results file, benchmarks/RESULTS.md: the one writer every benchmark appends its rows with.

    import results                                   # benchmarks/ is on sys.path when a script runs
    load = results.Load()                            # the machine's load before the run (says so when busy)
    ...
    row = results.row(results.prefix(load, torch=torch.__version__) + [cell, figure, ..., f"`{command}`"])
    results.append(SECTION, SECTION_TEXT, [row])     # SECTION_TEXT ends with results.header("cell", ...)

Each benchmark owns a "## " section: its heading, prose and a table whose header is `header(...)`: the shared
columns PREFIX (date, machine, versions, load) then the benchmark's own. `append` adds rows at the end of the
last table of the section that has that header; a section that does not exist yet is appended to the file
from SECTION_TEXT, and a section whose tables all have other columns (an older protocol) gets a new table
at its end, so old rows keep their own header. An optional free-text block goes at the end of the section.

Concurrency: the read-modify-write runs under an exclusive `fcntl.flock` on `RESULTS.md.lock` (a file of its
own, since the rename replaces RESULTS.md's inode) and the new text replaces the file by an atomic rename, so
two benchmarks finishing together both keep their rows and a reader never sees half a file.

Load: `Load()` reads the 1-minute load average before a run; above BUSY_PER_CORE per core the run says so on
stdout and in its row. The load average counts the benchmark itself once it has been running, so `Load`
also measures what OTHER processes used during the run: the CPU time of every core (/proc/stat) minus this
process's and its waited-for children's (os.times), per second of wall time, in cores.
"""
from __future__ import annotations

import datetime
import fcntl
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipeline.atomicio import atomic_write_text  # noqa: E402

RESULTS = HERE / "RESULTS.md"
TITLE = """# Benchmark results

Each benchmark owns a section below; its command appends dated rows to its section's table (see
`benchmarks/README.md`). Only ratios measured in the same run mean anything: the machine's speed drifts by 25%
and other jobs may share its cores.
"""
PREFIX = ("date (UTC)", "machine", "versions", "load")
BUSY_PER_CORE = 0.5     # a 1-minute load average above this per core: the run started on a busy machine


# ---------------------------------------------------------------------------------------------------
# The shared row prefix
# ---------------------------------------------------------------------------------------------------
def header(*columns) -> str:
    """A table header (two lines) with the PREFIX columns first."""
    names = PREFIX + columns
    return "| " + " | ".join(names) + " |\n" + "| " + " | ".join("---" for _ in names) + " |\n"


def machine() -> str:
    """'x86_64, 2 cores, AMD EPYC ...' (architecture, usable cores, CPU model from /proc/cpuinfo)."""
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.machine()}, {cores()} cores, {cpu}"


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def versions(**extra) -> str:
    """'Python 3.11.7, NumPy 2.4.6, Numba 0.68.1' plus `name version` for each keyword (torch=, gensim=)."""
    import numba
    import numpy
    parts = [f"Python {platform.python_version()}", f"NumPy {numpy.__version__}", f"Numba {numba.__version__}"]
    return ", ".join(parts + [f"{k} {v}" for k, v in extra.items()])


def prefix(load, **extra_versions) -> list:
    """The PREFIX cells of a row: date (UTC, now), machine, versions, `load.text()` (call at the run's end)."""
    return [datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), machine(),
            versions(**extra_versions), load.text()]


def command(script: str, argv=None) -> str:
    """The command a row names: `python benchmarks/SCRIPT ARGS...` (argv None: this process's arguments)."""
    import shlex
    return shlex.join(["python", f"benchmarks/{script}", *(sys.argv[1:] if argv is None else argv)])


def row(cells) -> str:
    """One markdown table line; '|' inside a cell is escaped."""
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |\n"


# ---------------------------------------------------------------------------------------------------
# The machine's load
# ---------------------------------------------------------------------------------------------------
def _cpu_seconds():
    """(busy CPU seconds of all cores since boot or None, this process's and its children's CPU seconds)."""
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None, own
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)   # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK"), own


class Load:
    """The 1-minute load average at the start of a run, then what other processes used during it.

    `check(what)` may be called before each part of a run (a repeat, a child process): it prints the load
    average and the cores used by others since the previous check. `busy` turns True, and stays, when the
    start load or others' use in any part exceeds BUSY_PER_CORE per core."""

    def __init__(self, say=print):
        self.say, self.limit = say, BUSY_PER_CORE * cores()
        self.start = os.getloadavg()[0]
        self.busy = self.start > self.limit
        self.others_max = 0.0
        self._t0 = self._t = time.perf_counter()
        self._cpu0 = self._cpu = _cpu_seconds()
        if self.busy:
            self.say(f"WARNING: load average {self.start:.2f} on {cores()} cores is above {BUSY_PER_CORE} per core: "
                     f"the machine is busy, this run's figures are suspect")

    def others(self, since_t, since_cpu) -> float | None:
        """Cores used by other processes on average since (since_t, since_cpu); None without /proc/stat."""
        busy, own = _cpu_seconds()
        if busy is None or since_cpu[0] is None:
            return None
        wall = max(time.perf_counter() - since_t, 1e-9)
        return max(0.0, (busy - since_cpu[0]) - (own - since_cpu[1])) / wall

    def check(self, what: str) -> None:
        """Print the load before `what` and others' use since the last check; flag a busy machine."""
        others = self.others(self._t, self._cpu)
        self._t, self._cpu = time.perf_counter(), _cpu_seconds()
        text = f"load {os.getloadavg()[0]:.2f} before {what}"
        if others is not None:
            self.others_max = max(self.others_max, others)
            text += f"; other processes used {others:.2f} cores since the last check"
            if others > self.limit:
                self.busy = True
                text += f" (BUSY: above {BUSY_PER_CORE} per core)"
        self.say(text)

    def text(self) -> str:
        """The row's load cell: '0.42 / 1.95; others 0.10 cores (max 0.20)[; BUSY]'."""
        text = f"{self.start:.2f} / {os.getloadavg()[0]:.2f}"
        others = self.others(self._t0, self._cpu0)
        if others is not None:
            text += f"; others {others:.2f} cores (max {max(self.others_max, others):.2f})"
        return text + ("; BUSY" if self.busy or (others or 0) > self.limit else "")


# ---------------------------------------------------------------------------------------------------
# Writing rows
# ---------------------------------------------------------------------------------------------------
def insert_rows(text: str, section: str, section_text: str, rows: list, block: str = "") -> str:
    """`text` with `rows` at the end of the last table of `section` whose header is `section_text`'s, and
    `block` (free text) at the end of the section. Missing section: appended from `section_text`; no table
    with this header in it (older columns): a new one at the section's end."""
    if not any(line.rstrip() == section for line in text.splitlines()):
        text = text.rstrip("\n") + "\n\n" + section_text
    head = next(line for line in section_text.splitlines() if line.startswith("|"))
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next(i for i, line in enumerate(lines) if line.rstrip() == section)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tables = [i for i in range(start, end) if lines[i].rstrip() == head.rstrip()]
    if tables:
        at = tables[-1] + 1
        while at + 1 < end and lines[at + 1].startswith("|"):
            at += 1
        lines[at + 1:at + 1] = rows
        end += len(rows)
    else:
        while end > start and not lines[end - 1].strip():
            end -= 1                                    # new table after the section's last text line
        new = ["\n", head + "\n", "| " + " | ".join("---" for _ in head.strip("| \n").split(" | ")) + " |\n", *rows]
        lines[end:end] = new
        end += len(new)
    if block:
        while end > start and not lines[end - 1].strip():
            end -= 1
        lines[end:end] = ["\n" + block.rstrip("\n") + "\n"]
    text = "".join(lines)
    return text if text.endswith("\n") else text + "\n"


def append(section: str, section_text: str, rows: list, block: str = "", path=RESULTS) -> Path:
    """Add `rows` (and `block`) to `section` of the results file, under the lock, atomically (see above)."""
    path = Path(path)
    with open(str(path) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)                # released when the file closes
        text = path.read_text(encoding="utf-8") if path.is_file() else TITLE
        atomic_write_text(path, insert_rows(text, section, section_text, rows, block))
    return path
