"""The errors a run ends with, shared by every stage.

`UserError` is what bad input raises: the CLI prints its message as one line and exits with status 2, never
a traceback; `ConfigError` is the same for a bad setting (config.py raises it). `Interrupted` ends a run
that was asked to stop (Ctrl-C / SIGTERM, see signals.py) after it saved what it could; the CLI exits 130.

Atomic file writing lives in atomicio.py and the stop flag in signals.py.
"""
from __future__ import annotations


class UserError(Exception):
    """Bad input or configuration: the message names the problem and what to change."""


class ConfigError(UserError):
    """An unknown key, a wrong type or an out-of-range value in a config (the message names the key)."""


class Interrupted(Exception):
    """Raised by a driver after it saved a checkpoint on Ctrl-C / SIGTERM; the CLI exits with 130."""

