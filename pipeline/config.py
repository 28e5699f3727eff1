"""Configuration: frozen dataclasses with defaults in code, strict YAML loading, `--set` overrides.

A YAML file overrides only what changes; everything else keeps the default written here, each with
the reason for it. Loading is strict: an unknown key names its path and the closest valid key; a wrong
type or an out-of-range value names the key and what is allowed. The resolved config (every field) is
saved beside each run's outputs, so a run can be repeated from its own directory.

    cfg = load_config(EmbeddingsConfig, "configs/embeddings.yaml", ["train.epochs=1"])
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Union

import yaml

from .atomicio import atomic_write_text
from .errors import ConfigError


# ---------------------------------------------------------------------------------------------------
# Shared sections
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenizerConfig:
    lowercase: bool = True            # most corpora and every benchmark file compare words case-insensitively
    pattern: Optional[str] = None     # a regex whose matches are the tokens; None splits on whitespace

    def validate(self, at):
        if self.pattern is not None:
            import re
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ConfigError(f"{at}.pattern: not a valid regular expression ({exc})")


@dataclass(frozen=True)
class CorpusConfig:
    # Files, folders or globs; plain, .gz, .bz2 or .xz. `gensim:NAME` is a file of gensim's test data,
    # `dataset:NAME` a named data set prepared under data/ (see pipeline/datasets.py).
    paths: tuple[str, ...] = ("dataset:gensim-wiki", "gensim:lee_background.cor")
    encoding: str = "utf-8"
    errors: Literal["strict", "replace"] = "strict"   # strict: stop at the first undecodable line
    max_sentence_length: int = 10000  # longer lines are cut into chunks of this many tokens, never dropped
    cache_dir: Optional[str] = "data/cache"  # encoded int32 corpus is cached here; None re-reads every run

    def validate(self, at):
        if not self.paths:
            raise ConfigError(f"{at}.paths: empty; give at least one file, folder or glob")
        _positive(at, "max_sentence_length", self.max_sentence_length)
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ConfigError(f"{at}.encoding: unknown encoding {self.encoding!r} (e.g. utf-8, cp1252, latin-1)")


@dataclass(frozen=True)
class ClusterConfig:
    # null: one process, today's path (no Dask imported); "local": a LocalCluster of `workers` processes
    # started and stopped by the command; "tcp://host:8786" (or "host:8786"): a running `dask scheduler`.
    address: Optional[str] = None
    workers: int = 2                  # LocalCluster worker processes (address: local only)
    threads_per_worker: int = 1       # tasks side by side in one worker process; 1 keeps one kernel per process
    # Stage one: shards the corpus is cut into (files, or byte ranges of a file at line boundaries). 0: one
    # per worker thread of the cluster. The vectors depend on the shard count, not on which worker ran what.
    shards: int = 0
    # Stage one: words each shard trains between two merges of the model (a "round"); all shards train side
    # by side and their updates are summed, so staleness is (shards - 1) x sync_words words. Chosen by
    # benchmarks/bench_dask.py (RESULTS.md, "Stage one on a Dask cluster"): quality vs. traffic.
    sync_words: int = 200_000
    # Stage one: how a round's updates combine (pipeline/embeddings/distributed.py, merge_updates). split:
    # each shard's change is cut into a transient (averaged over the shards that made it) and a drift
    # (summed); a row changed by one shard takes that shard's update, what one process gives it. sum: every
    # update added (overshoots rows that every shard pulls to one place; diverged with 4 shards). mean: the
    # mean of the shards' updates per row (stable, but learns too slowly: far below one process with 4).
    merge: Literal["split", "sum", "mean"] = "split"

    def validate(self, at):
        if self.address is not None and self.address != "local" and not _ADDRESS.fullmatch(self.address):
            raise ConfigError(f"{at}.address: {self.address!r} is not null, local or a scheduler address such as "
                              f"tcp://127.0.0.1:8786")
        for name in ("workers", "threads_per_worker", "sync_words"):
            _positive(at, name, getattr(self, name))
        if self.shards < 0:
            raise ConfigError(f"{at}.shards: {self.shards} is negative; use 0 for one per worker thread or a count")


_ADDRESS = re.compile(r"([a-z]+://)?[^\s:/]+(:\d+)?/?")   # tcp://host:port, tls://host:port, host:port


# ---------------------------------------------------------------------------------------------------
# Stage one
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VocabConfig:
    min_count: int = 5                # gensim's and word2vec.c's default: rarer words get no vector
    max_vocab_size: Optional[int] = None  # keep only the most frequent words; None keeps all

    def validate(self, at):
        _positive(at, "min_count", self.min_count)
        if self.max_vocab_size is not None:
            _positive(at, "max_vocab_size", self.max_vocab_size)


@dataclass(frozen=True)
class SGNSConfig:
    vector_size: int = 100            # gensim's default dimension
    window: int = 5                   # maximum distance between center and context
    shrink_windows: bool = True       # draw the effective window uniformly in 1..window (word2vec.c)
    negative: int = 5                 # noise words per positive pair
    ns_exponent: float = 0.75         # noise distribution ~ count**0.75 (Mikolov et al. 2013)
    sample: float = 1e-3              # sub-sampling threshold of frequent words; 0 disables
    alpha: float = 0.025              # initial learning rate (gensim's skip-gram default)
    min_alpha: float = 0.0001         # final learning rate; decays linearly by words processed
    # linear: one straight line from alpha to min_alpha over all epochs (word2vec.c).
    # gensim: gensim 4's corpus_file mode with W workers, where each worker decays over its own 1/W of
    # an epoch as if it were all of it, so epoch e covers only (e .. e + 1/W) / epochs of the line, the
    # next epoch starts lower, and the last ends well above min_alpha (0.0026 with 2 workers and 5
    # epochs). configs/bench-en-mixed.yaml uses it so that benchmarks/compare_gensim.py trains at gensim's rates.
    alpha_schedule: Literal["linear", "gensim"] = "linear"
    epochs: int = 5
    workers: int = 0                  # threads; 0 uses every core
    seed: int = 1                     # with workers: 1, the same seed gives byte-identical vectors
    chunk_words: int = 1_000_000      # words per kernel call: progress, Ctrl-C and checkpoints happen between

    def validate(self, at):
        for name in ("vector_size", "window", "negative", "epochs", "chunk_words"):
            _positive(at, name, getattr(self, name))
        if self.workers < 0:
            raise ConfigError(f"{at}.workers: {self.workers} is negative; use 0 for all cores or a count")
        if not 0 <= self.sample < 1:
            raise ConfigError(f"{at}.sample: {self.sample} is outside [0, 1); gensim's default is 1e-3")
        if not 0 < self.alpha <= 1:
            raise ConfigError(f"{at}.alpha: {self.alpha} is outside (0, 1]; the default is 0.025")
        if not 0 <= self.min_alpha <= self.alpha:
            raise ConfigError(f"{at}.min_alpha: must be in [0, alpha={self.alpha}]")


@dataclass(frozen=True)
class EmbeddingsOutputConfig:
    dir: str = "runs/embeddings"
    write_text: bool = False          # also write vectors.txt (word2vec text format)
    evaluate: bool = True             # WordSim-353, SimLex-999 and Google analogies after training


@dataclass(frozen=True)
class EmbeddingsConfig:
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    vocab: VocabConfig = field(default_factory=VocabConfig)
    train: SGNSConfig = field(default_factory=SGNSConfig)
    output: EmbeddingsOutputConfig = field(default_factory=EmbeddingsOutputConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)


# ---------------------------------------------------------------------------------------------------
# Stage two
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledDataConfig:
    # Either a named data set ("gensim-polarity", "mr", "sst2") or explicit files.
    name: Optional[str] = "gensim-polarity"
    # class_files: one file per class, the class named by the file's suffix (rt-polarity.pos -> pos);
    # label_first: "<label> <text>"; tsv: "label<TAB>text"; fasttext: "__label__X text"; auto: guess.
    format: Literal["auto", "class_files", "label_first", "tsv", "fasttext"] = "auto"
    train: tuple[str, ...] = ()       # files (or, for class_files, the class files / a folder)
    dev: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    path: Optional[str] = None        # overrides the named data set's folder (default data/MR, data/SST2)
    encoding: str = "utf-8"           # MR is cp1252
    errors: Literal["strict", "replace"] = "strict"
    dev_fraction: float = 0.1         # used when no dev file is given: stratified split of train
    test_fraction: float = 0.1        # used when no test file is given and folds == 0
    folds: int = 0                    # k-fold cross-validation (MR and SUBJ are reported with 10)
    seed: int = 1                     # split seed

    def validate(self, at):
        for name in ("dev_fraction", "test_fraction"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise ConfigError(f"{at}.{name}: {v} is outside [0, 1)")
        if self.folds < 0 or self.folds == 1:
            raise ConfigError(f"{at}.folds: {self.folds}; use 0 (no cross-validation) or at least 2")


@dataclass(frozen=True)
class VectorsConfig:
    path: str = "runs/embeddings/vectors.bin"  # written by `make train-embeddings`; gensim/word2vec.c files work too
    binary: Literal["auto", "binary", "text"] = "auto"
    unk: Literal["zeros", "mean"] = "mean"     # row given to out-of-vocabulary tokens
    max_words: Optional[int] = None            # read only the most frequent words


@dataclass(frozen=True)
class RNNModelConfig:
    cell: Literal["elman", "lstm", "gru"] = "elman"
    activation: Literal["tanh", "sigmoid"] = "tanh"   # Elman cell's f
    hidden_size: int = 128
    layers: int = 1
    bidirectional: bool = False
    pooling: Literal["last", "mean", "max"] = "last"
    projection: int = 0               # trainable linear map on top of the frozen table; 0 = none
    dropout: float = 0.0              # on the sentence representation
    bptt_steps: int = 0               # 0 = full back-propagation through time
    # LSTM only: initial bias of the forget gate. 1 (Jozefowicz et al. 2015) keeps f ~ 0.73, so a memory
    # fades like 0.73^T until training opens the gate; for dependencies over ~50+ steps start it open
    # (3-5, f ~ 0.95-0.99; cf. the "chrono" initialisation of Tallec & Ollivier 2018).
    forget_bias: float = 1.0

    def validate(self, at):
        _positive(at, "hidden_size", self.hidden_size)
        _positive(at, "layers", self.layers)
        if self.projection < 0 or self.bptt_steps < 0:
            raise ConfigError(f"{at}: projection and bptt_steps must be >= 0")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"{at}.dropout: {self.dropout} is outside [0, 1)")


@dataclass(frozen=True)
class RNNTrainConfig:
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 0.002
    momentum: float = 0.9             # SGD only
    weight_decay: float = 0.0
    clip_norm: float = 5.0            # clip the global gradient norm; 0 disables
    batch_size: int = 32
    epochs: int = 20
    patience: int = 5                 # early stopping on dev accuracy; 0 disables
    seed: int = 1
    workers: int = 0                  # threads; 0 uses every core
    # Several seeds: every grid point (and fold) is trained once per seed, metrics give mean and sd over them
    # (pipeline/classifier/search.py); empty: train.seed alone.
    seeds: tuple[int, ...] = ()

    def validate(self, at):
        for name in ("batch_size", "epochs"):
            _positive(at, name, getattr(self, name))
        if not self.lr > 0:
            raise ConfigError(f"{at}.lr: {self.lr} must be > 0")
        if self.clip_norm < 0 or self.weight_decay < 0 or self.patience < 0 or self.workers < 0:
            raise ConfigError(f"{at}: clip_norm, weight_decay, patience and workers must be >= 0")


@dataclass(frozen=True)
class RNNOutputConfig:
    dir: str = "runs/rnn"


@dataclass(frozen=True)
class RNNConfig:
    data: LabelledDataConfig = field(default_factory=LabelledDataConfig)
    vectors: VectorsConfig = field(default_factory=VectorsConfig)
    # None: use the tokenizer saved beside the vectors (the one stage one used), else lowercase+whitespace.
    tokenizer: Optional[TokenizerConfig] = None
    model: RNNModelConfig = field(default_factory=RNNModelConfig)
    train: RNNTrainConfig = field(default_factory=RNNTrainConfig)
    output: RNNOutputConfig = field(default_factory=RNNOutputConfig)
    # With an address, train-rnn runs its folds x seeds x grid points as Dask tasks (classifier/search.py).
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    # Hyper-parameter grid: {"model.hidden_size": [32, 64], "train.lr": [0.002, 0.004]} trains every
    # combination (x seeds x folds) and reports each point and the best (classifier/search.py); model.* and
    # train.* options only, each a list of the values that option takes.
    grid: dict[str, tuple[Union[bool, int, float, str, None], ...]] = field(default_factory=dict)

    def validate(self, at):
        for key, values in self.grid.items():
            section, _, name = key.partition(".")
            if section not in ("model", "train") or name in ("seed", "seeds", "workers"):
                raise ConfigError(f"grid.{key}: the grid takes model.* and train.* options (not train.seed, "
                                  f"train.seeds or train.workers: seeds go in train.seeds)")
            if not values:
                raise ConfigError(f"grid.{key}: empty; give the values to try, e.g. [32, 64]")
            for i, value in enumerate(values):          # each value checked as that option would be
                tree = to_dict(self)
                tree.pop("grid")
                tree[section][name] = value
                try:
                    from_dict(RNNConfig, tree)
                except ConfigError as exc:
                    raise ConfigError(f"grid.{key}[{i}]: {exc}") from None


# ---------------------------------------------------------------------------------------------------
# Strict loading
# ---------------------------------------------------------------------------------------------------
def _positive(at, name, value):
    if value <= 0:
        raise ConfigError(f"{at}.{name}: {value} must be a positive number")


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _coerce(tp, value, at):
    """Check `value` against the annotation `tp`; return it in the dataclass's own form."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{at}: expected a mapping of options, got {type(value).__name__}")
        return from_dict(tp, value, at)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:
            return _coerce(others[0], value, at)
        for arg in others:
            try:
                return _coerce(arg, value, at)
            except ConfigError:
                pass
        raise ConfigError(f"{at}: {value!r} is not {_type_name(tp)}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{at}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin is dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{at}: expected a mapping, e.g. {{model.hidden_size: [32, 64]}}, got {value!r}")
        key_tp, value_tp = typing.get_args(tp)
        flat = {}
        for k, v in value.items():          # {model: {hidden_size: [..]}} (what --set grid.model.x= makes) too
            for k2, v2 in (v.items() if isinstance(v, dict) else [(None, v)]):
                flat[k if k2 is None else f"{k}.{k2}"] = v2
        return {_coerce(key_tp, k, at): _coerce(value_tp, v, f"{at}.{k}") for k, v in flat.items()}
    if origin is tuple:
        if isinstance(value, (str, int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{at}: expected {_type_name(tp)}, got {type(value).__name__}")
        item = typing.get_args(tp)[0]
        return tuple(_coerce(item, v, f"{at}[{i}]") for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{at}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{at}: expected a whole number, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):
            try:                      # YAML 1.1 reads 1e-5 (no dot) as text: accept it as a number
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{at}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{at}: expected text, got {value!r}")
        return value
    raise ConfigError(f"{at}: unsupported option type {tp}")


def from_dict(cls, data: dict, at: str = ""):
    """Build dataclass `cls` from a mapping, refusing unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        path = f"{at}.{key}" if at else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
            hint = f"; did you mean '{(at + '.') if at else ''}{close[0]}'?" if close else \
                f"; valid keys here: {', '.join(names)}"
            raise ConfigError(f"unknown config key '{path}'{hint}")
        kwargs[key] = _coerce(hints[key], value, path)
    obj = cls(**kwargs)
    if hasattr(obj, "validate"):
        obj.validate(at or cls.__name__)
    return obj


def _set_path(tree: dict, dotted: str, value):
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: '{key}' is not a section")
        node = child
    node[keys[-1]] = value


def load_config(cls, path=None, overrides=()):
    """Defaults, then the YAML file at `path`, then `key.path=value` overrides (values parsed as YAML)."""
    tree = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {path} not found; pass an existing YAML file with --config")
        try:
            tree = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"config file {path} is not valid YAML: {first}")
        if not isinstance(tree, dict):
            raise ConfigError(f"config file {path} must be a mapping of sections, got {type(tree).__name__}")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key.path=value, e.g. train.epochs=1")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        _set_path(tree, key.strip(), value)
    return from_dict(cls, tree)


def to_dict(cfg) -> dict:
    def plain(v):
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    return plain(dataclasses.asdict(cfg))


def save_config(cfg, path) -> None:
    atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))


def resolve_workers(workers: int) -> int:
    """0 means every core this process may use."""
    if workers > 0:
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def command_that_writes(path) -> str | None:
    """The make command whose config in ./configs writes `path`, a run directory's vectors.bin or model.npz
    (`make train-embeddings CONFIG=configs/text8.yaml`; the default config needs no CONFIG=), for the
    message of a missing file; None when no config there writes it."""
    path = Path(path)
    make, cls, default = {"vectors.bin": ("train-embeddings", EmbeddingsConfig, "embeddings.yaml"),
                          "model.npz": ("train-rnn", RNNConfig, "rnn.yaml")}.get(path.name, (None, None, None))
    if make is None:
        return None
    for config in sorted(Path("configs").glob("*.yaml")):
        try:
            out = Path(load_config(cls, config).output.dir)
        except ConfigError:                     # the other stage's config, or a broken one
            continue
        if out.resolve() == path.parent.resolve():
            return f"make {make}" + ("" if config.name == default else f" CONFIG={config.as_posix()}")
    return None
