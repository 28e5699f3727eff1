"""Stage one as gensim users know it: `Word2Vec(sentences=... | corpus_file=..., **options)` trains at once.

    from pipeline import Word2Vec
    model = Word2Vec(sentences=[["the", "cat", "sat"], ...], vector_size=100, window=5, min_count=5, epochs=5,
                     workers=1, seed=1)
    model = Word2Vec(corpus_file="data/text8/text8", vector_size=200)     # files, folders, globs, .gz ...
    model = Word2Vec(config="configs/embeddings.yaml", epochs=1)          # a YAML file, dict or config; keywords win
    model.wv.most_similar(positive=["king", "woman"], negative=["man"], topn=5)
    model.metrics["loss"]; model.evaluate(); model.save("runs/w2v"); Word2Vec.load("runs/w2v")

Every option of configs/embeddings.yaml is a keyword, by its own name (`vector_size`, `window`, `negative`,
`sample`, `ns_exponent`, `alpha`, `min_alpha`, `alpha_schedule`, `epochs`, `workers`, `seed`, `min_count`,
`max_vocab_size`, `shrink_windows`, `lowercase`, `pattern`, `encoding`, `errors`, `max_sentence_length`,
`cache_dir`, `chunk_words`, `write_text`, `evaluate`) except `corpus_file` (corpus.paths), `output_dir`
(output.dir) and the cluster section's, prefixed `cluster_` (`cluster_address="local"`, `cluster_workers`, ...;
files only: `sentences=` trains in one process); `Word2Vec.OPTIONS` lists them. Training is `library.train_embeddings`, the very call
`pipeline train-embeddings` makes, so the same config and seed with one worker give the same vectors.

gensim's `sg=1` and `hs=0` are accepted (that is the model); `sg=0` and `hs=1` are refused. Where we differ
from gensim: `sentences` is read once, in order (the corpus is encoded to disk in one pass),
so a generator is fine; its tokens are lower-cased when `lowercase` is true (the default), as a file's are,
so that stage two, which lower-cases new text the same way, finds them; `pattern` applies to files only.
Without `output_dir` the run directory (vectors.bin, vocab.tsv, config.yaml, metrics.json) lives in a
temporary folder for the model's lifetime and `save(dir)` copies it; with `output_dir` it is written there
as the command writes it, and `resume=True` continues an interrupted run from its checkpoint.
"""
from __future__ import annotations

import csv
import dataclasses
import inspect
import json
import shutil
import tempfile
import weakref
from pathlib import Path

from ..atomicio import atomic_path
from ..config import EmbeddingsConfig, load_config, save_config
from ..errors import UserError
from ..library import OptionError, build_config, defaults, flat_options, train_embeddings
from ..vectors import load_vectors

RENAMES = {"corpus.paths": "corpus_file", "output.dir": "output_dir",
           **{f"cluster.{k}": f"cluster_{k}" for k in ("address", "workers", "threads_per_worker", "shards",
                                                       "sync_words")}}
SENTENCES = "<sentences= given in Python>"     # corpus.paths in the saved config of a run on token lists
_SKIP = {"checkpoint.npz"}                     # run-directory files that save() does not copy


class Word2Vec:
    """Skip-gram with negative sampling, trained at construction (module docstring). After training:
    `wv` (pipeline.KeyedVectors: gensim's interface), `config` (the resolved EmbeddingsConfig), `metrics`
    (metrics.json: per-epoch loss, words/s, scores), `history` (one dict per epoch), `output_dir`."""

    OPTIONS = flat_options(EmbeddingsConfig, RENAMES)

    def __init__(self, sentences=None, corpus_file=None, *, config=None, resume=False, verbose=False, **options):
        cfg, temporary = self._config(sentences, corpus_file, config, options, resume)
        try:
            run = train_embeddings(cfg, resume=resume, sentences=sentences, verbose=verbose)
        except BaseException:
            if temporary:
                shutil.rmtree(cfg.output.dir, ignore_errors=True)
            raise
        self._adopt(cfg, run.vectors, run.metrics, Path(cfg.output.dir), temporary)

    def _config(self, sentences, corpus_file, config, options, resume):
        """(resolved EmbeddingsConfig, whether its output.dir is a temporary folder)."""
        opts = dict(options)
        _gensim_only(opts)
        if sentences is not None and corpus_file is not None:
            raise OptionError("give sentences= (token lists) or corpus_file= (files), not both")
        if corpus_file is not None:
            one = isinstance(corpus_file, str) or hasattr(corpus_file, "__fspath__")
            opts["corpus_file"] = [str(corpus_file)] if one else [str(p) for p in corpus_file]
        elif sentences is not None:
            opts["corpus_file"] = [SENTENCES]
        elif config is None:
            raise OptionError("nothing to train on: give sentences= (token lists), corpus_file= (files, folders, "
                              "globs) or config= (a YAML file with corpus.paths)")
        temporary = opts.get("output_dir") is None
        if resume and temporary:
            raise OptionError("resume=True needs output_dir=, the run directory that holds the checkpoint")
        if temporary:
            opts["output_dir"] = tempfile.mkdtemp(prefix="pipeline-word2vec-")
        try:
            return build_config(EmbeddingsConfig, config, opts, self.OPTIONS), temporary
        except BaseException:
            if temporary:
                shutil.rmtree(opts["output_dir"], ignore_errors=True)
            raise

    def _adopt(self, cfg, wv, metrics, run_dir: Path, temporary: bool):
        wv.tokenizer = cfg.tokenizer          # stage two tokenizes new text as these words were made
        self.wv, self.config, self.metrics = wv, cfg, metrics
        self.output_dir = None if temporary else run_dir
        self._run_dir = run_dir
        if temporary:
            weakref.finalize(self, shutil.rmtree, str(run_dir), True)

    def __getattr__(self, name):
        """gensim's attributes: model.vector_size, model.window ... read from the resolved config."""
        table = type(self).OPTIONS
        if name in table and "config" in self.__dict__:
            section, key = table[name].split(".")
            return getattr(getattr(self.config, section), key)
        raise AttributeError(f"'Word2Vec' object has no attribute {name!r}")

    def __repr__(self):
        return f"Word2Vec<{len(self.wv)} words x {self.wv.vector_size}, {len(self.history)} epochs>"

    @property
    def history(self) -> list:
        """One dict per epoch: the rows of the run directory's history.csv when it has one, else {"epoch",
        "loss" (mean negative log-likelihood per trained pair), "pairs"} from metrics.json."""
        table = self._run_dir / "history.csv"
        if table.is_file():
            with open(table, newline="", encoding="utf-8") as f:
                return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]
        loss, pairs = self.metrics.get("loss", []), self.metrics.get("pairs", [])
        return [{"epoch": e + 1, "loss": l, "pairs": p} for e, (l, p) in enumerate(zip(loss, pairs))]

    def evaluate(self, pairs=(), analogies=(), restrict_vocab=300000) -> dict:
        """{file name: scores} on word-pair and analogy files (default: WordSim-353, SimLex-999 and the Google
        analogies that ship with gensim), computed as gensim computes them (evaluate.py)."""
        from .evaluate import evaluate_files
        return evaluate_files(self.wv.words, self.wv.vectors, pairs, analogies, restrict_vocab)

    def save(self, path) -> None:
        """Write the run directory (vectors.bin, vocab.tsv, config.yaml, metrics.json, ...) to folder `path`."""
        out = Path(path)
        if out.resolve() != self._run_dir.resolve():
            out.mkdir(parents=True, exist_ok=True)
            for f in sorted(self._run_dir.iterdir()):
                if f.is_file() and not f.name.startswith(".") and f.name not in _SKIP:
                    with atomic_path(out / f.name) as tmp:
                        shutil.copyfile(f, tmp)
        cfg = dataclasses.replace(self.config, output=dataclasses.replace(self.config.output, dir=str(out)))
        save_config(cfg, out / "config.yaml")

    @classmethod
    def load(cls, path) -> "Word2Vec":
        """The trained model in run directory `path` (written by `save`, `output_dir=` or train-embeddings)."""
        path = Path(path)
        if not (path / "vectors.bin").is_file():
            raise UserError(f"{path} holds no vectors.bin; give a run directory written by `pipeline "
                            f"train-embeddings` or Word2Vec.save")
        cfg = load_config(EmbeddingsConfig, path / "config.yaml") if (path / "config.yaml").is_file() \
            else EmbeddingsConfig()
        metrics = json.loads((path / "metrics.json").read_text()) if (path / "metrics.json").is_file() else {}
        self = cls.__new__(cls)
        self._adopt(cfg, load_vectors(path / "vectors.bin"), metrics, path, temporary=False)
        return self


def _number(text):
    """A CSV cell as an int or float when it is one."""
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            pass
    return text


def _gensim_only(options: dict) -> None:
    """Accept gensim's sg=1 and hs=0 (what this model is) and drop them; refuse what it is not."""
    for name, ours, what in (("sg", 1, "sg=0 (CBOW)"), ("hs", 0, "hs=1 (hierarchical softmax)")):
        if name in options and options.pop(name) != ours:
            raise OptionError(f"{what} is not implemented: pipeline trains skip-gram with negative sampling "
                              f"(gensim's sg=1, hs=0)")


def _signature() -> inspect.Signature:
    """Word2Vec's signature with every option and its default, for help() and editors."""
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD), P("sentences", P.POSITIONAL_OR_KEYWORD, default=None),
              P("corpus_file", P.POSITIONAL_OR_KEYWORD, default=None), P("config", P.KEYWORD_ONLY, default=None),
              P("resume", P.KEYWORD_ONLY, default=False), P("verbose", P.KEYWORD_ONLY, default=False)]
    for name, value in defaults(EmbeddingsConfig, Word2Vec.OPTIONS).items():
        if name not in ("corpus_file", "output_dir"):
            params.append(P(name, P.KEYWORD_ONLY, default=value))
    params.append(P("output_dir", P.KEYWORD_ONLY, default=None))
    return inspect.Signature(params)


Word2Vec.__init__.__signature__ = _signature()
