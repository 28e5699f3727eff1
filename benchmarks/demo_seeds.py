"""How robust is `make demo`? Its two stages over several seeds: test accuracy and the two example sentences.

    .venv/bin/python benchmarks/demo_seeds.py [--emb-seeds 1 2 3] [--rnn-seeds 1 2 3 4 5]
                                              [--set-emb KEY=VALUE]... [--set-rnn KEY=VALUE]... [--no-results]

`make demo` trains stage one with configs/embeddings.yaml and stage two with configs/rnn.yaml (gensim-genre: news
vs encyclopedia passages; with the overrides in DEMO_SETS_EMB / DEMO_SETS_RNN, the Makefile's: one thread each),
then labels two sentences. It shows one seed; this script trains the same configs for every
stage-one seed (`train.seed`) and, on each set of vectors, for every stage-two seed (`train.seed` and `data.seed`,
so the folds change too), and reports for each pair the test accuracy (the mean over folds with k-fold) and the label of each
example sentence; then how many of the pairs label both sentences right and the mean accuracy. A dated row goes to benchmarks/RESULTS.md unless
--no-results. Settings chosen for the demo should hold on most seeds, not on the one the Makefile prints.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from pipeline import progress  # noqa: E402
from pipeline.config import EmbeddingsConfig, RNNConfig, load_config  # noqa: E402

import results  # noqa: E402  (benchmarks/results.py)

# The demo's two sentences and the labels a reader expects (the Makefile's `demo` target prints them).
EXAMPLES = (("police said the fire destroyed several homes near sydney on tuesday", "news"),
            ("aristotle was a greek philosopher who wrote on logic physics and biology", "encyclopedia"))
EMB_CONFIG, RNN_CONFIG = "configs/embeddings.yaml", "configs/rnn.yaml"
DEMO_SETS_EMB = ["train.workers=1"]                     # what the Makefile's demo passes: one thread, identical
DEMO_SETS_RNN = ["train.workers=1"]                     # bytes; test accuracy on 10% held out
SECTION = "## Demo robustness: `make demo`'s settings over seeds (demo_seeds.py)"
SECTION_TEXT = SECTION + """

Protocol (`benchmarks/demo_seeds.py`): stage one (configs/embeddings.yaml, one worker) for each stage-one seed,
stage two (configs/rnn.yaml) for each stage-two seed (train.seed = data.seed) on those vectors, the two
sentences labelled as `make demo` does; a pair is right when both example sentences get their expected label.
Accuracy in % is the test accuracy (mean over folds with k-fold), its mean and range over all pairs.

""" + results.header("settings", "stage-one seeds", "stage-two seeds", "both sentences right", "accuracy mean [min-max]",
                     "seconds", "command")


def run(args) -> dict:
    from pipeline.classifier.train import train_rnn
    from pipeline.embeddings.train import train_embeddings
    work = Path(args.workdir)
    rows = []
    for s in args.emb_seeds:
        emb_dir = work / f"emb{s}"
        cfg = load_config(EmbeddingsConfig, ROOT / args.embeddings_config,
                          [*DEMO_SETS_EMB, *args.set_emb, f"train.seed={s}", f"output.dir={emb_dir}",
                           "output.evaluate=false", "corpus.cache_dir=data/cache"])
        t0 = time.perf_counter()
        train_embeddings(cfg)
        t_emb = time.perf_counter() - t0
        for r in args.rnn_seeds:
            cfg = load_config(RNNConfig, ROOT / args.rnn_config,
                              [*DEMO_SETS_RNN, *args.set_rnn, f"vectors.path={emb_dir / 'vectors.bin'}",
                               f"train.seed={r}", f"data.seed={r}", f"output.dir={emb_dir / f'rnn{r}'}"])
            t0 = time.perf_counter()
            result = train_rnn(cfg)
            probs = result.classifier.predict_proba([text for text, _ in EXAMPLES])
            labels = [result.classifier.labels[i] for i in probs.argmax(axis=1)]
            right = all(lab == want for lab, (_, want) in zip(labels, EXAMPLES))
            rows.append({"emb_seed": s, "rnn_seed": r, "accuracy": result.metrics["accuracy"], "labels": labels,
                         "p_want": [float(p[result.classifier.labels.index(want)]) for p, (_, want) in
                                    zip(probs, EXAMPLES)],
                         "right": right, "seconds": t_emb + time.perf_counter() - t0})
            print(f"stage one seed {s}, stage two seed {r}: accuracy {result.metrics['accuracy']:.3f}; "
                  + "; ".join(f"{text!r} -> {lab} (p_{want} {p:.2f})"
                              for (text, want), lab, p in zip(EXAMPLES, labels, rows[-1]["p_want"]))
                  + ("" if right else "  WRONG"), flush=True)
            t_emb = 0.0
    acc = np.array([row["accuracy"] for row in rows])
    return {"rows": rows, "right": sum(row["right"] for row in rows), "n": len(rows),
            "accuracy": float(acc.mean()), "min": float(acc.min()), "max": float(acc.max()),
            "seconds": sum(row["seconds"] for row in rows)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--embeddings-config", default=EMB_CONFIG)
    p.add_argument("--rnn-config", default=RNN_CONFIG)
    p.add_argument("--emb-seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--rnn-seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--set-emb", action="append", default=[], metavar="KEY=VALUE", help="stage-one override")
    p.add_argument("--set-rnn", action="append", default=[], metavar="KEY=VALUE", help="stage-two override")
    p.add_argument("--workdir", default="runs/demo-seeds")
    p.add_argument("--no-results", action="store_true", help="do not append to benchmarks/RESULTS.md")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    load = results.Load()
    command = results.command("demo_seeds.py", argv)
    progress.QUIET = True
    os.chdir(ROOT)
    res = run(args)
    summary = (f"{res['right']} of {res['n']} seed pairs label both sentences right; test accuracy mean "
               f"{100 * res['accuracy']:.1f}% [{100 * res['min']:.1f}-{100 * res['max']:.1f}]")
    print(summary)
    if not args.no_results:
        settings = " ".join([args.embeddings_config, *DEMO_SETS_EMB, *args.set_emb, "|", args.rnn_config,
                             *DEMO_SETS_RNN, *args.set_rnn])
        row = results.row(results.prefix(load) + [
            settings, " ".join(map(str, args.emb_seeds)), " ".join(map(str, args.rnn_seeds)),
            f"{res['right']} of {res['n']}", f"{100 * res['accuracy']:.1f} [{100 * res['min']:.1f}-{100 * res['max']:.1f}]",
            f"{res['seconds']:.0f}", f"`{command}`"])
        results.append(SECTION, SECTION_TEXT, [row])
    return 0


if __name__ == "__main__":
    sys.exit(main())
