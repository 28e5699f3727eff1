"""What the two estimators (Word2Vec, RNNClassifier) share: flat keyword options that stand for config keys,
and running a training driver from library code.

A config is a tree of sections (config.py); a library user writes flat keywords, as gensim and scikit-learn
spell them: `vector_size=100` is `train.vector_size`, `min_count=5` is `vocab.min_count`. `flat_options`
lists a config class's keys by their flat name (the field's own name, or the name given in `renames`);
`build_config` puts keywords on top of a base config and checks the result with the same strict loader the
YAML files go through, so a wrong type or an out-of-range value is refused in the same words, the key named
by its keyword. An unknown keyword is an OptionError (a ConfigError that is also a TypeError and a
ValueError, as Python and scikit-learn expect) naming the closest valid one.

`train_embeddings` and `train_rnn` are the one way into the drivers, for the command (cli.py), the public
functions (api.py re-exports them) and the estimators: progress unless `verbose=False`, and Ctrl-C saves a
checkpoint and raises Interrupted, as it does for the command. They import the drivers when called, so the
command does not load scikit-learn to train.

    table = flat_options(EmbeddingsConfig, {"corpus.paths": "corpus_file", "output.dir": "output_dir"})
    cfg = build_config(EmbeddingsConfig, base=None, options={"vector_size": 50}, table=table)
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import os
import typing

from . import progress
from .config import from_dict, load_config, to_dict
from .errors import ConfigError


class OptionError(ConfigError, TypeError, ValueError):
    """An unknown or invalid keyword option of a library call."""


def flat_options(cls, renames=None) -> dict:
    """{flat name: dotted key} over the fields of the config dataclass `cls` (sections one level deep)."""
    renames = renames or {}
    table = {}
    hints = typing.get_type_hints(cls)
    for section in dataclasses.fields(cls):
        sub = hints[section.name]
        args = [a for a in typing.get_args(sub) if a is not type(None)]
        sub = args[0] if args else sub                     # Optional[TokenizerConfig] -> TokenizerConfig
        if not dataclasses.is_dataclass(sub):
            continue
        for f in dataclasses.fields(sub):
            dotted = f"{section.name}.{f.name}"
            name = renames.get(dotted, f.name)
            if name in table:
                raise AssertionError(f"flat option {name!r} stands for {table[name]} and {dotted}; rename one")
            table[name] = dotted
    return table


def defaults(cls, table: dict) -> dict:
    """{flat name: default value} of every option in `table`."""
    tree = to_dict(cls())
    out = {}
    for name, dotted in table.items():
        section, key = dotted.split(".")
        node = tree.get(section) or {}
        out[name] = node.get(key, getattr(_section_default(cls, section), key))
    return out


def _section_default(cls, section):
    sub = typing.get_type_hints(cls)[section]
    args = [a for a in typing.get_args(sub) if a is not type(None)]
    return (args[0] if args else sub)()


def base_tree(cls, base) -> dict:
    """The config `base` as a plain tree: None (the defaults), a YAML path, a dict or a config object."""
    if base is None:
        return {}
    if isinstance(base, dict):
        return to_dict(from_dict(cls, base))
    if isinstance(base, cls):
        return to_dict(base)
    if isinstance(base, str) or hasattr(base, "__fspath__"):
        return to_dict(load_config(cls, base))
    raise OptionError(f"config: expected a YAML path, a dict or a {cls.__name__}, got {type(base).__name__}")


def build_config(cls, base, options: dict, table: dict):
    """`base` with the flat keyword `options` on top, checked by the strict loader; errors name keywords."""
    tree = base_tree(cls, base)
    for name, value in options.items():
        if name not in table:
            close = difflib.get_close_matches(name, list(table), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid options: {', '.join(sorted(table))}"
            raise OptionError(f"unknown option {name!r}{hint}")
        section, key = table[name].split(".")
        node = tree.get(section)
        if not isinstance(node, dict):
            node = tree[section] = {}
        node[key] = _plain(value)
    try:
        return from_dict(cls, tree)
    except ConfigError as exc:
        message = str(exc)
        for name, dotted in sorted(table.items(), key=lambda kv: -len(kv[1])):
            if name != dotted:
                message = message.replace(f"'{dotted}'", f"{name!r}").replace(dotted, name)
        raise OptionError(message) from None


def _plain(value):
    """Paths as text and tuples as lists, as a YAML file would give them."""
    if hasattr(value, "__fspath__"):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@contextlib.contextmanager
def quiet_unless(verbose):
    """Progress bars and status lines only when `verbose` (the command sets progress.QUIET itself)."""
    saved = progress.QUIET
    progress.QUIET = saved or not verbose
    try:
        yield
    finally:
        progress.QUIET = saved


@contextlib.contextmanager
def stop_flag_scope():
    """Ctrl-C / SIGTERM handlers for one training call (a no-op inside the command, which installed them):
    the driver then saves a checkpoint at its next safe point and raises Interrupted."""
    from .signals import StopFlag
    with StopFlag():
        yield


def _config(cls, config):
    return config if isinstance(config, cls) else from_dict(cls, base_tree(cls, config))


def train_embeddings(config, resume=False, sentences=None, verbose=True):
    """Stage one as `pipeline train-embeddings` runs it: writes the run directory of config.output.dir
    (vectors.bin, vocab.tsv, config.yaml, metrics.json) and returns the EmbeddingsRun (out, vectors, metrics).
    `config`: a YAML path, a dict of sections or an EmbeddingsConfig. `sentences`: token lists to train on
    instead of config.corpus.paths (read once)."""
    from .config import EmbeddingsConfig
    from .embeddings.train import train_embeddings as driver
    cfg = _config(EmbeddingsConfig, config)
    with quiet_unless(verbose), stop_flag_scope():
        return driver(cfg, resume=resume, sentences=sentences)


def train_rnn(config, resume=False, verbose=True, *, splits=None, vectors=None):
    """Stage two as `pipeline train-rnn` runs it (named sets or files, dev/test files or fractions, k-fold):
    writes the run directory of config.output.dir (model.npz, config.yaml, metrics.json) and returns the
    ClassifierRun (out, classifier, metrics); `RNNClassifier.load(run.out / "model.npz")` is the fitted
    estimator. `splits` and `vectors` stand for examples and vectors given in Python (RNNClassifier.fit)."""
    from .classifier.train import train_rnn as driver
    from .config import RNNConfig
    cfg = _config(RNNConfig, config)
    with quiet_unless(verbose), stop_flag_scope():
        return driver(cfg, resume=resume, splits=splits, vectors=vectors)
