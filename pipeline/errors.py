"""The errors a run ends with, shared by every stage.

`UserError` is what bad input raises: the CLI prints its message as one line and exits with status 2, never
a traceback; `ConfigError` is the same for a bad setting (config.py raises it). `Interrupted` ends a run
that was asked to stop (Ctrl-C / SIGTERM, see signals.py) after it saved what it could; the CLI exits 130.

Atomic file writing lives in atomicio.py and the stop flag in signals.py.
"""
from __future__ import annotations

import reprlib

SHOWN = 80          # characters of an input value an error message may echo


class UserError(Exception):
    """Bad input or configuration: the message names the problem and what to change."""


class ConfigError(UserError):
    """An unknown key, a wrong type or an out-of-range value in a config (the message names the key)."""


class Interrupted(Exception):
    """Raised by a driver after it saved a checkpoint on Ctrl-C / SIGTERM; the CLI exits with 130."""



_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = SHOWN
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def shown(value, limit: int = SHOWN) -> str:
    """`value` as an error message may echo it: its repr, cut to `limit` characters with "..." (a hostile input
    can be a megabyte of text or a huge nested list; reprlib bounds the work as well as the length)."""
    text = _repr.repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def shown_list(items, limit: int = 200) -> str:
    """Items joined by ", " (each cut to 40 characters), the whole cut to `limit` with "..."."""
    text = ", ".join(str(i) if len(str(i)) <= 40 else str(i)[:37] + "..." for i in list(items)[:50])
    return text if len(text) <= limit and len(items) <= 50 else text[:limit - 3] + "..."
