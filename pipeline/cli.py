"""The `pipeline` command (also `python -m pipeline`): one sub-command per Makefile target.

    pipeline train-embeddings --config configs/embeddings.yaml [--set train.epochs=1]... [--resume]
    pipeline evaluate-embeddings --vectors runs/embeddings/vectors.bin [--pairs F]... [--analogies F]...
    pipeline neighbors --vectors runs/embeddings/vectors.bin WORD...
    pipeline train-rnn --config configs/rnn.yaml [--set model.cell=lstm]... [--resume]
    pipeline predict --model runs/rnn/model.npz [TEXT...]        (reads stdin when no TEXT)
    pipeline download text8 mr sst2

Bad input ends with one line on stderr and exit status 2; an interrupted training saves a checkpoint and
exits with 130; an unexpected failure prints one line and exits with 1 (PIPELINE_DEBUG=1 shows the traceback).
"""
from __future__ import annotations

import argparse
import os
import sys

from . import progress
from .errors import Interrupted, UserError
from .signals import StopFlag


def _add_config_args(p):
    p.add_argument("--config", help="YAML file overriding the defaults")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one option, e.g. train.epochs=1 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's checkpoint")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description="Skip-gram word vectors and RNN classifiers.")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or status lines")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train-embeddings", help="train skip-gram vectors (stage one)")
    _add_config_args(p)

    p = sub.add_parser("evaluate-embeddings", help="WordSim-353, SimLex-999 and analogy scores of a vectors file")
    p.add_argument("--vectors", required=True)
    p.add_argument("--pairs", action="append", default=[], help="word-pair similarity file (TSV); repeatable")
    p.add_argument("--analogies", action="append", default=[], help="analogy file (Google format); repeatable")
    p.add_argument("--restrict", type=int, default=300000, help="use only the N most frequent words")
    p.add_argument("--json", metavar="PATH", help="also write the scores as JSON")

    p = sub.add_parser("neighbors", help="nearest neighbours by cosine similarity")
    p.add_argument("--vectors", required=True)
    p.add_argument("--topn", type=int, default=10)
    p.add_argument("words", nargs="+")

    p = sub.add_parser("train-rnn", help="train the recurrent classifier on frozen vectors (stage two)")
    _add_config_args(p)

    p = sub.add_parser("predict", help="label sentences with a trained classifier")
    p.add_argument("--model", required=True)
    p.add_argument("text", nargs="*", help="sentences; read one per line from stdin when none are given")

    p = sub.add_parser("download", help="fetch real data sets into data/ (needs the network)")
    p.add_argument("names", nargs="+")
    return parser


def evaluate_vectors_file(path, pairs, analogies, restrict) -> dict:
    """Score a vectors file on word-pair and analogy files (default: the sets that ship with gensim)."""
    from pathlib import Path

    from .embeddings import evaluate as ev
    from .text import gensim_data
    from .vectors import load_vectors
    wv = load_vectors(path)
    if not pairs and not analogies:
        pairs = [gensim_data("wordsim353.tsv"), gensim_data("simlex999.txt")]
        analogies = [gensim_data("questions-words.txt")]
    scores = {}
    for f in list(pairs) + list(analogies):
        if not Path(f).is_file():
            raise UserError(f"evaluation file not found: {f}")
    for f in pairs:
        r = ev.evaluate_word_pairs(wv.words, wv.vectors, f, restrict_vocab=restrict)
        scores[Path(f).name] = r
        print(f"{Path(f).name:<24} spearman {r['spearman']:.4f}  pearson {r['pearson']:.4f}  "
              f"oov {r['oov_ratio']:.1f}%  pairs {r['pairs_used']}/{r['pairs_total']}")
    for f in analogies:
        r = ev.evaluate_word_analogies(wv.words, wv.vectors, f, restrict_vocab=restrict)
        scores[Path(f).name] = r
        print(f"{Path(f).name:<24} accuracy {r['accuracy']:.4f}  oov {r['oov_ratio']:.1f}%  "
              f"questions {r['questions_used']}/{r['questions_total']}")
    return scores


def run(args) -> int:
    from .config import EmbeddingsConfig, RNNConfig, load_config
    if args.command == "train-embeddings":
        from .embeddings.train import train_embeddings
        result = train_embeddings(load_config(EmbeddingsConfig, args.config, args.set), resume=args.resume)
        _say_embeddings_summary(result)
    elif args.command == "evaluate-embeddings":
        scores = evaluate_vectors_file(args.vectors, args.pairs, args.analogies, args.restrict)
        if args.json:
            from .atomicio import atomic_write_json
            atomic_write_json(args.json, scores)
    elif args.command == "neighbors":
        from .vectors import load_vectors
        wv = load_vectors(args.vectors)
        for word in args.words:
            print(word)
            for other, sim in wv.most_similar(word, args.topn):
                print(f"  {other:<20} {sim:.4f}")
    elif args.command == "train-rnn":
        from .classifier.train import train_rnn
        result = train_rnn(load_config(RNNConfig, args.config, args.set), resume=args.resume)
        _say_classifier_summary(result)
    elif args.command == "predict":
        from .classifier.predict import predict_command
        predict_command(args.model, args.text)
    elif args.command == "download":
        from .datasets import download
        for name, path in download(args.names).items():
            print(f"{name}: {path}")
    return 0


def _say_embeddings_summary(result) -> None:
    m = result.metrics
    if "wordsim353" in m:
        progress.say(f"WordSim-353 {m['wordsim353']:.3f}  SimLex-999 {m['simlex999']:.3f}  analogy {m['analogy']:.3f}")
    progress.say(f"wrote {result.out}/vectors.bin, vocab.tsv, config.yaml, metrics.json, history.csv, loss.png, "
                 f"words_pca.png")


def _say_classifier_summary(result) -> None:
    m = result.metrics
    if m.get("accuracy") is not None:
        extra = f" +- {m['accuracy_std']:.4f} over {len(m['folds'])} folds" if "folds" in m else ""
        progress.say(f"test accuracy {m['accuracy']:.4f}{extra}, macro-F1 {m['macro_f1']:.4f}; "
                     f"training speed {m['sequences_per_second']:,.0f} sequences/s")
    pngs = "".join(f", {p.name}" for p in sorted(result.out.glob("*.png")))
    progress.say(f"wrote {result.out}/model.npz, config.yaml, metrics.json, history.csv{pngs}")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
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
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        print("error: out of memory; use a smaller vocabulary (vocab.max_vocab_size) or vector_size",
              file=sys.stderr)
        return 2
    except Exception as exc:  # an internal error: one line, the traceback only on request
        if os.environ.get("PIPELINE_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (re-run with PIPELINE_DEBUG=1 for the traceback "
              f"and report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
