"""The `pipeline` command (also `python -m pipeline`): one sub-command per Makefile target, each a thin layer
over the library (pipeline/api.py, commands.py): parse, build the config, call, print.

    pipeline train-embeddings --config configs/embeddings.yaml [--set train.epochs=1]... [--resume]
    pipeline evaluate-embeddings --vectors runs/embeddings/vectors.bin [--pairs F]... [--analogies F]...
    pipeline neighbors --vectors runs/embeddings/vectors.bin [WORD...] [--positive king woman --negative man]
    pipeline export --vectors runs/embeddings/vectors.bin (--text vectors.txt | --binary vectors.bin)
    pipeline train-rnn --config configs/rnn.yaml [--set model.cell=lstm]... [--resume]
    pipeline predict --model runs/rnn/model.npz [TEXT... | --input FILE] [--output F] [--format tsv|json] [--k N]
                     [--cluster local|tcp://host:8786 [--partitions N]]
    pipeline evaluate-classifier --model runs/rnn/model.npz --data FILE... [--format ...] [--json F]
    pipeline download text8 mr sst2
    pipeline --version

`--quiet` (no progress bars or status lines) goes before or after the sub-command. Bad input ends with one
line on stderr and exit status 2 (so does a file the system will not let us read or write, and running out
of memory); an interrupted training saves a checkpoint and exits with 130; an unexpected failure prints one
line and exits with 1 (PIPELINE_DEBUG=1 shows the traceback). Every message is one line of at most
MESSAGE_CHARS characters, however long the input it names.
"""
from __future__ import annotations

import argparse
import os
import sys

from . import __version__, progress
from .errors import Interrupted, UserError
from .signals import StopFlag

FORMATS = ["auto", "class_files", "label_first", "tsv", "fasttext"]
MESSAGE_CHARS = 1000   # an error line is cut in the middle beyond this (a hostile input echoed somewhere)


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors in the project's form: one line, exit status 2."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _add_config_args(p):
    p.add_argument("--config", help="YAML file overriding the defaults")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one option, e.g. train.epochs=1 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's checkpoint")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pipeline", description="Skip-gram word vectors and RNN classifiers.")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or status lines")
    parser.add_argument("--version", action="version", version=f"pipeline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name, help):
        p = sub.add_parser(name, help=help)
        p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="no progress bars or status lines")
        return p

    p = command("train-embeddings", "train skip-gram vectors (stage one)")
    _add_config_args(p)

    p = command("evaluate-embeddings", "WordSim-353, SimLex-999 and analogy scores of a vectors file")
    p.add_argument("--vectors", required=True)
    p.add_argument("--pairs", action="append", default=[], help="word-pair similarity file (TSV); repeatable")
    p.add_argument("--analogies", action="append", default=[], help="analogy file (Google format); repeatable")
    p.add_argument("--restrict", type=int, default=300000, help="use only the N most frequent words")
    p.add_argument("--json", metavar="PATH", help="also write the scores as JSON")

    p = command("neighbors", "nearest neighbours by cosine similarity, and analogies")
    p.add_argument("--vectors", required=True)
    p.add_argument("--topn", type=int, default=10)
    p.add_argument("--positive", nargs="+", default=[], metavar="WORD", help="analogy: words to add (king woman)")
    p.add_argument("--negative", nargs="+", default=[], metavar="WORD", help="analogy: words to subtract (man)")
    p.add_argument("words", nargs="*", help="query words (lower-cased as the vectors' tokenizer did)")

    p = command("export", "rewrite a vectors file in word2vec's text or binary format")
    p.add_argument("--vectors", required=True, help="the vectors file to read (binary or text, told apart)")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--text", metavar="OUT", help="write word2vec's text format here")
    to.add_argument("--binary", metavar="OUT", help="write word2vec's binary format here")

    p = command("train-rnn", "train the recurrent classifier on frozen vectors (stage two)")
    _add_config_args(p)

    p = command("predict", "label sentences with a trained classifier")
    p.add_argument("--model", required=True)
    p.add_argument("--input", metavar="FILE", help="label the lines of FILE (default: stdin, when no TEXT)")
    p.add_argument("--output", metavar="FILE", help="write the labels here, atomically (default: stdout)")
    p.add_argument("--format", choices=["tsv", "json"], default="tsv",
                   help="tsv: label<TAB>p_<label>=...; json: one object per line")
    p.add_argument("--k", type=int, metavar="N", help="only the N most probable labels, most probable first")
    p.add_argument("--encoding", default="utf-8", help="of --input or stdin")
    p.add_argument("--cluster", metavar="ADDRESS", help="label --input in partitions on a Dask cluster: local (a "
                   "LocalCluster of 2 processes) or tcp://host:8786 (a running `dask scheduler`)")
    p.add_argument("--partitions", type=int, default=0, metavar="N",
                   help="with --cluster: byte ranges the input is cut into (default 4 per worker thread)")
    p.add_argument("text", nargs="*", help="sentences to label (else --input FILE, else stdin)")

    p = command("evaluate-classifier", "score a trained classifier on labelled data (accuracy, F1, confusion)")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, nargs="+", metavar="FILE",
                   help="labelled files (class_files: one per class)")
    p.add_argument("--format", choices=FORMATS, default="auto")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--json", metavar="PATH", help="also write the scores as JSON")

    p = command("download", "fetch real data sets into data/ (needs the network)")
    p.add_argument("names", nargs="+")
    return parser


def run(args) -> int:
    from . import commands
    if args.command in ("train-embeddings", "train-rnn"):
        from .config import EmbeddingsConfig, RNNConfig, load_config
        from .library import train_embeddings, train_rnn     # what pipeline.train_embeddings / train_rnn are
        if args.command == "train-embeddings":
            _say_embeddings_summary(train_embeddings(load_config(EmbeddingsConfig, args.config, args.set),
                                                     resume=args.resume))
        else:
            _say_classifier_summary(train_rnn(load_config(RNNConfig, args.config, args.set), resume=args.resume))
    elif args.command == "evaluate-embeddings":
        _evaluate_embeddings(args)
    elif args.command == "neighbors":
        commands.neighbors(args.vectors, args.words, args.positive, args.negative, args.topn)
    elif args.command == "export":
        commands.export(args.vectors, text=args.text, binary=args.binary)
    elif args.command == "predict":
        commands.predict(args.model, args.text, args.input, args.output, args.format, args.k, _encoding(args),
                         args.cluster, args.partitions)
    elif args.command == "evaluate-classifier":
        commands.evaluate_classifier(args.model, args.data, args.format, _encoding(args), args.json)
    elif args.command == "download":
        from .datasets import download
        for name, path in download(args.names).items():
            print(f"{name}: {path}")
    return 0


def _encoding(args) -> str:
    from .config import check_encoding
    check_encoding(args.encoding, "--encoding")
    return args.encoding


def _evaluate_embeddings(args) -> None:
    """Scores of a vectors file on word-pair and analogy files (default: the sets that ship with gensim)."""
    from .commands import refuse_overwrite
    from .embeddings.evaluate import evaluate_files
    from .vectors import load_vectors
    if args.restrict < 1:
        raise UserError(f"--restrict {args.restrict}: give how many of the most frequent words to use, at least 1")
    refuse_overwrite(args.json, [args.vectors, *args.pairs, *args.analogies], "--json")
    wv = load_vectors(args.vectors)
    scores = evaluate_files(wv.words, wv.vectors, args.pairs, args.analogies, args.restrict)
    for name, r in scores.items():
        if "spearman" in r:
            print(f"{name:<24} spearman {r['spearman']:.4f}  pearson {r['pearson']:.4f}  "
                  f"oov {r['oov_ratio']:.1f}%  pairs {r['pairs_used']}/{r['pairs_total']}")
        else:
            print(f"{name:<24} accuracy {r['accuracy']:.4f}  oov {r['oov_ratio']:.1f}%  "
                  f"questions {r['questions_used']}/{r['questions_total']}")
    if args.json:
        from .atomicio import atomic_write_json
        atomic_write_json(args.json, scores)


def _say_embeddings_summary(result) -> None:
    m = result.metrics
    if "wordsim353" in m:
        progress.say(f"WordSim-353 {m['wordsim353']:.3f}  SimLex-999 {m['simlex999']:.3f}  analogy {m['analogy']:.3f}")
    progress.say(f"wrote {result.out}/vectors.bin, vocab.tsv, config.yaml, metrics.json, history.csv, loss.png, "
                 f"words_pca.png")


def _say_classifier_summary(result) -> None:
    m = result.metrics
    if "points" in m:                       # a search (classifier/search.py)
        _say_search_summary(result)
        return
    if m.get("accuracy") is not None:
        extra = f" +- {m['accuracy_std']:.4f} over {len(m['folds'])} folds" if "folds" in m else ""
        progress.say(f"test accuracy {m['accuracy']:.4f}{extra}, macro-F1 {m['macro_f1']:.4f}; "
                     f"training speed {m['sequences_per_second']:,.0f} sequences/s")
    pngs = "".join(f", {p.name}" for p in sorted(result.out.glob("*.png")))
    progress.say(f"wrote {result.out}/model.npz, config.yaml, metrics.json, history.csv{pngs}")


def _say_search_summary(result) -> None:
    m = result.metrics

    def score(row, name):
        return "-" if row[name] is None else f"{row[name]:.4f} +- {row[name + '_std']:.4f}"
    for i, row in enumerate(m["points"]):
        params = " ".join(f"{k}={v}" for k, v in row["params"].items()) or "(the config)"
        progress.say(f"{'*' if i == m['best']['index'] else ' '} {params}: accuracy {score(row, 'accuracy')}, "
                     f"dev accuracy {score(row, 'dev_accuracy')} ({row['models']} models)")
    best = m["best"]
    progress.say(f"best (* by mean {best['by'].replace('_', ' ')}): "
                 f"{' '.join(f'{k}={v}' for k, v in best['params'].items()) or '(the config)'}")
    progress.say(f"wrote {result.out}/model.npz (the best point's model: seed {best['model']['seed']}, fold "
                 f"{best['model']['fold']}), config.yaml, metrics.json")


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:           # --help, --version, or a usage error (one line, status 2)
        return exc.code if isinstance(exc.code, int) else 0
    progress.QUIET = args.quiet
    with StopFlag():        # Ctrl-C / SIGTERM set a flag that the drivers poll at safe points
        return _run_reporting_errors(args)


def _run_reporting_errors(args) -> int:
    """`run(args)`, its errors turned into one line on stderr and the exit status."""
    try:
        code = run(args)
        if StopFlag.requested:
            print("interrupted after the outputs were written", file=sys.stderr)
            return 130
        return code
    except UserError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:         # the reader went away (| head): stop quietly, as cat does
        _silence_stdout()
        return 0
    except MemoryError:
        print("error: out of memory; lower the sizes (vocab.max_vocab_size, train.vector_size, model.hidden_size, "
              "train.batch_size) or free memory", file=sys.stderr)
        return 2
    except OSError as exc:          # the system refused a file we were given (permissions, a folder, a full disk)
        if os.environ.get("PIPELINE_DEBUG"):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot use{where}: {one_line(exc.strerror or exc)}; check the path and its permissions",
              file=sys.stderr)
        return 2
    except Exception as exc:  # an internal error: one line, the traceback only on request
        if os.environ.get("PIPELINE_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {one_line(exc)} (re-run with PIPELINE_DEBUG=1 for the "
              f"traceback and report it)", file=sys.stderr)
        return 1


def one_line(exc) -> str:
    """The message of `exc` as one line of at most MESSAGE_CHARS characters (cut in the middle)."""
    text = " ".join(str(exc).splitlines())
    if len(text) > MESSAGE_CHARS:
        half = MESSAGE_CHARS // 2
        text = f"{text[:half]} ... {text[-(MESSAGE_CHARS - half - 5):]}"
    return text


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit does not fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):   # stdout without a file descriptor (tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
