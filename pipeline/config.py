"""Configuration: frozen dataclasses with defaults in code, strict YAML loading, `--set` overrides.

A YAML file overrides only what changes; everything else keeps the default written here, each with
the reason for it. Loading is strict: an unknown key names its path and the closest valid key; a wrong
type or an out-of-range value names the key and what is allowed. The resolved config (every field) is
saved beside each run's outputs, so a run can be repeated from its own directory.

Everything is checked here, before any file is read: NaN and infinities, sizes and counts, seeds (0 ..
2**32 - 1), fractions that would leave a split empty, empty or NUL-holding text where a path is expected,
encodings (a text codec that round-trips), tokenizer patterns (no capturing group, never an empty match).
YAML is read with a budget: at most MAX_CONFIG_BYTES of file and MAX_YAML_VALUES values once aliases are
expanded, so a small file cannot grow into gigabytes; error messages echo at most errors.SHOWN characters.

    cfg = load_config(EmbeddingsConfig, "configs/embeddings.yaml", ["train.epochs=1"])
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Union

import yaml

from .atomicio import atomic_write_text
from .errors import ConfigError, shown

MAX_TEXT = 4096                 # characters in one config string (a path, a pattern): PATH_MAX on Linux
MAX_INT = 2**62                 # whole numbers beyond this overflow the kernels' int64 arithmetic
MAX_SEED = 2**32 - 1            # seeds: what numpy's and our splitmix64 seeding take without surprise
MAX_WORKERS = 1024              # threads; more is a typo, and each one gets its own state arrays
# Upper bounds of sizes that set the kernels' scratch buffers (SGNS: longest sentence x 2 window x (2 +
# negative) ids per thread) or the parameter matrices: far above any published setting, far below overflow.
LIMITS = {"vector_size": 10_000, "window": 10_000, "negative": 1_000, "max_sentence_length": 1_000_000,
          "hidden_size": 65_536, "projection": 65_536, "layers": 64, "epochs": 100_000,
          "bptt_steps": 1_000}             # truncated BPTT keeps bptt_steps + 1 gradient carriers; 0 is full BPTT
MAX_CONFIG_BYTES = 1 << 20      # a config is a few hundred bytes; a larger file is the wrong file
MAX_YAML_VALUES = 100_000       # values of a YAML document once its aliases are expanded (billion laughs)


# ---------------------------------------------------------------------------------------------------
# Shared sections
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenizerConfig:
    lowercase: bool = True            # most corpora and every benchmark file compare words case-insensitively
    pattern: Optional[str] = None     # a regex whose matches are the tokens; None splits on whitespace

    def validate(self, at):
        check_pattern(self.pattern, f"{at}.pattern")


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
        _paths(at, "paths", self.paths)
        _positive(at, "max_sentence_length", self.max_sentence_length)
        _at_most(at, "max_sentence_length", self.max_sentence_length)
        check_encoding(self.encoding, f"{at}.encoding")
        _path(at, "cache_dir", self.cache_dir, "null for no cache")


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
    # Stage one: words of each shard per round. A round lists the slices' pairs and trains them in `shards`
    # sub-rounds, each worker on rows no other touches (pipeline/embeddings/distributed.py). Bounds the pairs
    # held in memory (31 bytes a word on en-mixed; 16 x window bytes a word while listed) and is the unit of a
    # Ctrl-C checkpoint; the vectors depend on it.
    sync_words: int = 200_000

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
        for name in ("vector_size", "window", "negative", "epochs"):
            _at_most(at, name, getattr(self, name))
        if abs(self.ns_exponent) > 10:
            raise ConfigError(f"{at}.ns_exponent: {self.ns_exponent} is outside [-10, 10]; counts**ns_exponent "
                              f"overflows (the usual value is 0.75)")
        _workers(at, self.workers)
        _seed(at, "seed", self.seed)
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

    def validate(self, at):
        _path(at, "dir", self.dir)


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
    # Either a named data set ("gensim-genre", "gensim-polarity", "mr", "sst2") or explicit files.
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
        if self.folds == 0 and self.dev_fraction + self.test_fraction >= 1:
            raise ConfigError(f"{at}.dev_fraction + test_fraction = {self.dev_fraction + self.test_fraction:g} "
                              f"leaves nothing to train on; keep their sum below 1 (e.g. 0.1 and 0.1)")
        if self.folds >= 2 and self.test:
            raise ConfigError(f"{at}.folds: k-fold cross-validation makes its own test folds, so {at}.test files "
                              f"would be ignored; set folds: 0 to use them, or drop {at}.test")
        if self.name == "":
            raise ConfigError(f"{at}.name: empty; name a data set (gensim-polarity, mr, sst2) or use null")
        for name in ("train", "dev", "test"):
            _paths(at, name, getattr(self, name))
        _path(at, "path", self.path, "null for the data set's own folder")
        check_encoding(self.encoding, f"{at}.encoding")
        _seed(at, "seed", self.seed)


@dataclass(frozen=True)
class VectorsConfig:
    path: str = "runs/embeddings/vectors.bin"  # written by `make train-embeddings`; gensim/word2vec.c files work too
    binary: Literal["auto", "binary", "text"] = "auto"
    unk: Literal["zeros", "mean"] = "mean"     # row given to out-of-vocabulary tokens
    max_words: Optional[int] = None            # read only the most frequent words

    def validate(self, at):
        _path(at, "path", self.path)
        if self.max_words is not None:
            _positive(at, "max_words", self.max_words)


@dataclass(frozen=True)
class RNNModelConfig:
    # The defaults are the ONE classifier config, the same for every data set (configs/mr.yaml and
    # configs/sst2.yaml carry only their data, vectors and output): chosen by the screens in
    # benchmarks/RESULTS.md (classification report section) on MR and SST-2, checked on the proxy tasks of
    # benchmarks/proxy_tasks.py. A small bidirectional GRU whose states are mean- and max-pooled over time.
    cell: Literal["elman", "lstm", "gru"] = "gru"     # a bi-LSTM of 128 ran 2.5x slower, no better (SST-2 screens)
    activation: Literal["tanh", "sigmoid"] = "tanh"   # Elman cell's f
    hidden_size: int = 64             # per direction; 128 was no better on MR (3-fold screen, 2026-11-26)
    # two stacked layers: MR 78.8 +- 0.3 against 78.1 +- 0.3 for one (10 folds x 3 seeds, paired +0.7,
    # 18 of 30 better), SST-2 +0.2 over 6 seeds; with input_dropout 0.2 as well, MR 79.4 +- 0.3 (28 of 30
    # better than one layer) and SST-2 83.8 over 6 seeds; about 2x the training time (RESULTS.md, notes on
    # issue 16, 2026-12-02 16:57-18:50 and 21:36-23:30)
    layers: int = 2
    bidirectional: bool = True        # each word is seen with its left and its right context
    # last: the final state; mean / max over the real steps; meanmax: [mean; max] per direction (2H).
    # max keeps the strongest evidence wherever it sits in the sentence (SST-2 screens, 2026-11-26); meanmax
    # adds the mean: 3 seeds each, SST-2 83.7 against 82.7 for max, MR 78.2 against 78.1 (RESULTS.md, 2026-12-02)
    # attention: a learnt softmax weighting of the states (model.py), one vector per direction; with refit,
    # SST-2 82.5 (3 seeds) as meanmax, MR fold 1 lower (2026-12-02 screen): not the default
    pooling: Literal["last", "mean", "max", "meanmax", "attention"] = "meanmax"
    projection: int = 0               # trainable linear map on top of the frozen table; 0 = none
    dropout: float = 0.5              # on the pooled sentence vector: the frozen-table model over-fits fast
    # training only: each token's row is read as zeros (the table's PAD row) with this probability, so the
    # model cannot lean on a few words (whole-word dropout, Iyyer et al. 2015; Gal & Ghahramani 2016)
    word_dropout: float = 0.0
    # training only, each element on its own: dropout on layer 0's inputs (the table's rows, or their
    # projection), and on the states a layer passes to the next (PyTorch's nn.GRU(dropout=p); layers >= 2).
    # With two layers, input 0.2: MR +0.62 (10 folds x 3 seeds paired), SST-2 83.8 against 83.55 (6 seeds);
    # 0.3 no better; between the layers 0.3: MR -0.36, not used (RESULTS.md, notes on issue 16, 2026-12-02 21:36-23:30)
    input_dropout: float = 0.2
    layer_dropout: float = 0.0
    bptt_steps: int = 0               # 0 = full back-propagation through time
    # LSTM only: initial bias of the forget gate. 1 (Jozefowicz et al. 2015) keeps f ~ 0.73, so a memory
    # fades like 0.73^T until training opens the gate; for dependencies over ~50+ steps start it open
    # (3-5, f ~ 0.95-0.99; cf. the "chrono" initialisation of Tallec & Ollivier 2018).
    forget_bias: float = 1.0

    def validate(self, at):
        _positive(at, "hidden_size", self.hidden_size)
        _positive(at, "layers", self.layers)
        for name in ("hidden_size", "projection", "layers", "bptt_steps"):
            _at_most(at, name, getattr(self, name))
        if self.projection < 0 or self.bptt_steps < 0:
            raise ConfigError(f"{at}: projection and bptt_steps must be >= 0")
        for name in ("dropout", "word_dropout", "input_dropout", "layer_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{at}.{name}: {getattr(self, name)} is outside [0, 1)")


@dataclass(frozen=True)
class RNNTrainConfig:
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 0.004                 # Adam; the frozen-table GRU converges in ~10 epochs (0.002 took 20)
    momentum: float = 0.9             # SGD only
    weight_decay: float = 0.0
    clip_norm: float = 5.0            # clip the global gradient norm; 0 disables
    batch_size: int = 32
    epochs: int = 16                  # most runs stop early (patience) or peak before epoch 12
    patience: int = 4                 # early stopping on dev accuracy; 0 disables
    # what early stopping (and the epoch count refit uses) follows: dev accuracy, or the dev cross-entropy
    # (smoother on a dev set of ~1,000 sentences, where one sentence is 0.1 point of accuracy)
    stop_on: Literal["accuracy", "loss"] = "accuracy"
    # Polyak averaging: the weights evaluated on dev and kept are an exponential moving average of the
    # training weights with this decay per step (bias-corrected as Adam's moments); 0 keeps the raw weights.
    # One model, not an ensemble: it smooths the step-to-step noise that early stopping otherwise picks from.
    # 0.998 averages over ~500 steps, about two epochs of MR or SST-2 at batch 32 (screens: RESULTS.md)
    average: float = 0.998
    # learning-rate schedule: epoch e (from 0) trains with lr * lr_decay**e; 1 keeps lr constant
    lr_decay: float = 1.0
    # after early stopping has chosen the epoch count E on dev, train the fold's model again, from the same
    # initial weights, on train + dev for E epochs and keep those (averaged) weights: the dev sentences are
    # learned from too, as the TF-IDF baseline refits on them. Costs about E more epochs per model (~1.6x).
    # MR, seed 1, 10 folds paired: 78.7 against 77.4 (better on all 10); SST-2 level, 82.5 against 82.6 (3 seeds);
    # MR 3 seeds 78.3 +- 0.3; proxy tasks still above TF-IDF (RESULTS.md, notes on issue 16, 2026-12-02 14:17-16:10)
    refit: bool = True
    seed: int = 1
    workers: int = 0                  # threads; 0 uses every core
    # Several seeds: every grid point (and fold) is trained once per seed, metrics give mean and sd over them
    # (pipeline/classifier/search.py); empty: train.seed alone.
    seeds: tuple[int, ...] = ()

    def validate(self, at):
        for name in ("batch_size", "epochs"):
            _positive(at, name, getattr(self, name))
        _at_most(at, "epochs", self.epochs)
        if not self.lr > 0:
            raise ConfigError(f"{at}.lr: {self.lr} must be > 0")
        if self.clip_norm < 0 or self.weight_decay < 0 or self.patience < 0 or self.workers < 0:
            raise ConfigError(f"{at}: clip_norm, weight_decay, patience and workers must be >= 0")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"{at}.momentum: {self.momentum} is outside [0, 1); SGD's usual value is 0.9")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"{at}.lr_decay: {self.lr_decay} is outside (0, 1]; e.g. 0.9, or 1 for a constant lr")
        if not 0 <= self.average < 1:
            raise ConfigError(f"{at}.average: {self.average} is outside [0, 1); e.g. 0.999, or 0 for none")
        _workers(at, self.workers)
        _seed(at, "seed", self.seed)


@dataclass(frozen=True)
class RNNOutputConfig:
    dir: str = "runs/rnn"

    def validate(self, at):
        _path(at, "dir", self.dir)


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


def _at_most(at, name, value):
    if value > LIMITS[name]:
        raise ConfigError(f"{at}.{name}: {value} is too large (at most {LIMITS[name]:,}); is it a typo?")


def _seed(at, name, value):
    if not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{at}.{name}: {value} is outside 0 .. {MAX_SEED}; any whole number in that range works")


def _workers(at, value):
    if not 0 <= value <= MAX_WORKERS:
        raise ConfigError(f"{at}.workers: {value}; use 0 for every core or a thread count up to {MAX_WORKERS}")


def _path(at, name, value, null_means=None):
    """An optional path option: null is fine where `null_means` says what it does, "" never is."""
    if value == "":
        use = f"; use {null_means}" if null_means else ""
        raise ConfigError(f"{at}.{name}: empty; give a path{use}")


def _paths(at, name, values):
    for i, v in enumerate(values):
        if not v.strip():
            raise ConfigError(f"{at}.{name}[{i}]: empty; give a file, folder or glob")


def check_encoding(name: str, at: str) -> None:
    """ConfigError unless `name` is a text codec that round-trips text (utf-8, cp1252, utf-16 ...)."""
    import codecs
    examples = "e.g. utf-8, cp1252, latin-1, utf-16"
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        raise ConfigError(f"{at}: unknown encoding {shown(name)} ({examples})") from None
    try:
        ok = getattr(info, "_is_text_encoding", True) and "a b\n".encode(name).decode(name) == "a b\n"
    except (UnicodeError, LookupError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"{at}: {shown(name)} is not a text encoding ({examples})")


def check_pattern(pattern, at: str) -> None:
    """ConfigError for a tokenizer pattern that is not a regular expression, has a capturing group (findall
    would return the group, not the token) or can match the empty string (it would make empty tokens)."""
    if pattern is None:
        return
    if pattern == "":
        raise ConfigError(f"{at}: empty; use null to split on white space, or a pattern such as \\w+")
    try:
        regex = re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ConfigError(f"{at}: not a valid regular expression ({shown(str(exc))})") from None
    if regex.groups:
        raise ConfigError(f"{at}: {shown(pattern)} has a capturing group, so its matches would be the group, not "
                          f"the token; write (?:...) instead of (...)")
    if _can_match_empty(pattern, regex):
        raise ConfigError(f"{at}: {shown(pattern)} can match the empty string, which would make empty tokens; "
                          f"make it match at least one character (e.g. \\w+ rather than \\w*)")


def _can_match_empty(pattern, regex) -> bool:
    """True when the shortest match of `pattern` is empty (the parser's width), else when a probe finds one."""
    try:
        import re._parser as parser              # Python >= 3.11
    except ImportError:                          # pragma: no cover
        import sre_parse as parser
    try:
        return parser.parse(pattern).getwidth()[0] == 0
    except Exception:                            # noqa: BLE001 - a private API: fall back to probing
        probes = ("", " ", "a", "a b", "The cat, sat.", "1 x2 ", "caf\u00e9 \u4e2d\u6587", "\t-\t")
        return any(m.group() == "" for text in probes for m in regex.finditer(text))


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
        raise ConfigError(f"{at}: {shown(value)} is not {_type_name(tp)}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{at}: {shown(value)} is not one of {', '.join(map(repr, allowed))}")
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
            raise ConfigError(f"{at}: expected a whole number, got {shown(value)}")
        if abs(value) > MAX_INT:
            raise ConfigError(f"{at}: {shown(value)} is too large (at most {MAX_INT})")
        return value
    if tp is float:
        if isinstance(value, str):
            try:                      # YAML 1.1 reads 1e-5 (no dot) as text: accept it as a number
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{at}: expected a number, got {shown(value)}")
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise ConfigError(f"{at}: {shown(value)} is not a finite number")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{at}: expected text, got {shown(value)}")
        if "\x00" in value:
            raise ConfigError(f"{at}: {shown(value)} holds a NUL character; no path or name can")
        if len(value) > MAX_TEXT:
            raise ConfigError(f"{at}: {shown(value)} is {len(value):,} characters long (at most {MAX_TEXT})")
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
            close = difflib.get_close_matches(str(key)[:200], names, n=1, cutoff=0.5)
            hint = f"; did you mean '{(at + '.') if at else ''}{close[0]}'?" if close else \
                f"; valid keys here: {', '.join(names)}"
            raise ConfigError(f"unknown config key '{shown(path)[1:-1] if isinstance(path, str) else path}'{hint}")
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
        tree = read_yaml(path, "config file") or {}
        if not isinstance(tree, dict):
            raise ConfigError(f"config file {path} must be a mapping of sections, got {type(tree).__name__}")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {shown(item)}: expected key.path=value, e.g. train.epochs=1")
        key, raw = item.split("=", 1)
        try:
            value = parse_yaml(raw, f"--set {shown(key.strip(), 80)[1:-1]}") if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        _set_path(tree, key.strip(), value)
    return from_dict(cls, tree)


def read_yaml(path, what="YAML file"):
    """The YAML document in file `path`, read within the budgets (module docstring); ConfigError otherwise."""
    p = Path(path)
    try:
        if not p.is_file():
            raise ConfigError(f"{what} {shown(str(path))} not found; pass an existing YAML file with --config")
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{what} {path} is {size:,} bytes; a config is a few hundred (at most "
                              f"{MAX_CONFIG_BYTES:,}): is it the right file?")
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: not UTF-8 text (byte {exc.start}); save it as UTF-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {shown(str(path))}: {exc.strerror or exc}") from None
    try:
        return parse_yaml(text, f"{what} {path}")
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{what} {path} is not valid YAML: {shown(first, 200)[1:-1]}") from None


def parse_yaml(text: str, what: str):
    """yaml.safe_load of `text`, refusing documents that expand (through aliases) to more than
    MAX_YAML_VALUES values or nest too deeply: a small file never becomes gigabytes of lists."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, what)
        return loader.construct_document(node)
    except RecursionError:
        raise ConfigError(f"{what}: nested too deeply; a config is a mapping of sections") from None
    except ValueError as exc:         # a whole number of more than 4,300 digits (Python's int() limit)
        raise ConfigError(f"{what}: a value YAML cannot read ({shown(str(exc), 80)[1:-1]}); give a sensible "
                          f"number") from None
    finally:
        loader.dispose()


def _check_expansion(node, what) -> None:
    """Count the values of the node graph as if every alias were written out; stop at the budget."""
    stack, count = [node], 0
    while stack:
        n = stack.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise ConfigError(f"{what}: more than {MAX_YAML_VALUES:,} values once its aliases (*name) are "
                              f"expanded; write the values out (a config holds a few dozen)")
        if isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack += (k, v)


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
