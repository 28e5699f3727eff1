"""Progress bars (tqdm) that a `--quiet` run silences, and a one-line status printer."""
from __future__ import annotations

import sys

from tqdm import tqdm

QUIET = False


def bar(total=None, unit="it", desc=None, unit_scale=True):
    return tqdm(total=total, unit=unit, desc=desc, unit_scale=unit_scale, disable=QUIET,
                dynamic_ncols=True, leave=False, file=sys.stderr, mininterval=0.5)


def say(msg: str) -> None:
    if not QUIET:
        tqdm.write(msg, file=sys.stderr)   # prints above any active bar instead of through it
