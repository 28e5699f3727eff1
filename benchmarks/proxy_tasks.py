"""Proxy sentence tasks (issue 16): does the default classifier config beat TF-IDF + LR on tasks it was not tuned on?

    .venv/bin/python benchmarks/proxy_tasks.py --vectors runs/embeddings-report/vectors.bin [--seeds 3]
        [--tasks abc genre opinion] [--set model.pooling=max]... [--no-results]

The default config (pipeline/config.py, what configs/mr.yaml and configs/sst2.yaml use apart from their data
sections) will be run, unchanged, on sentence tasks nobody here has (subjectivity, question type, product
reviews, opinion polarity...). Without those data sets, this builds proxy tasks from the team's own text,
../shared/data/corpora/nltk-en-7.4m (its MANIFEST.json maps each chunk file to its sources), and runs both
models on the same split:

- abc:     ABC Rural News (abc_01) against ABC Science Show (abc_02) transcripts, 2 classes, 5,000 sentences each;
- genre:   the source of a sentence, 5 classes, 2,000 each: gutenberg_* (books), reuters_* (newswire),
           state_union_01, inaugural_01 (speeches), webtext_01 (forum, film scripts, personal ads, wine reviews);
- opinion: a sentence of a film review (movie_reviews_*, Pang & Lee v2.0) against one of the Brown corpus
           (brown_untagged_*: press, fiction, learned prose...), 5,000 each: a crude subjectivity proxy.

MIND: every one of these sentences is also in stage one's corpus (configs/embeddings-report.yaml reads all of
nltk-en-7.4m; the movie reviews through the copy without MR / SST-2 sentences), so the vectors have seen these
very sentences as unlabelled text, never their labels. The real tasks will not have that advantage: read these
figures as a check that the default config is not tuned to MR / SST-2, not as accuracies to quote.

Sentences: raw sources (gutenberg, reuters, abc, state_union, inaugural, webtext) are cut into paragraphs at
blank lines, their lines joined, and the paragraphs split after . ! or ? followed by a space and a capital or
quote; movie_reviews and brown already hold one sentence per line. Kept: 4 to 50 whitespace tokens, each
distinct sentence once. Sampling and the split (80% train, 10% dev for early stopping and the baseline's C,
10% test, stratified) are seeded (`--seed`, default 1). The task files go to data/proxies/ (git-ignored;
never commit them), one `label<TAB>sentence` per line.

Ours: train-rnn's driver with the default config, `--set` overrides, data = the task's files, seeds 1..N,
each model scored alone (mean ± std over seeds); TF-IDF + LR: benchmarks/report_classification.py's
`tfidf_baseline` (C chosen on the same dev part, refitted on train + dev). Rows go to RESULTS.md's
"Proxy sentence tasks" section through benchmarks/results.py.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from pipeline import progress  # noqa: E402
from pipeline.classifier.data import load_splits  # noqa: E402
from pipeline.classifier.metrics import classification_report  # noqa: E402
from pipeline.config import RNNConfig, load_config  # noqa: E402

import report_classification as report  # noqa: E402
import results  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "corpora" / "nltk-en-7.4m"
OUT = ROOT / "data" / "proxies"
# task -> (per-class sentence count, {label: chunk-file prefixes})
TASKS = {
    "abc": (5000, {"rural": ["abc_01"], "science": ["abc_02"]}),
    "genre": (2000, {"books": ["gutenberg_"], "news": ["reuters_"], "union": ["state_union_"],
                     "inaugural": ["inaugural_"], "web": ["webtext_"]}),
    "opinion": (5000, {"review": ["movie_reviews_"], "brown": ["brown_untagged_"]}),
}
LINE_SENTENCES = ("movie_reviews_", "brown_untagged_")   # one sentence per line already
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
SECTION = "## Proxy sentence tasks (proxy_tasks.py)"
SECTION_TEXT = SECTION + """

The default classifier config against TF-IDF (1-2 grams) + logistic regression on sentence tasks
built from nltk-en-7.4m (abc: rural vs science transcripts; genre: books / newswire / State of the Union /
inaugural / web text; opinion: film-review sentences vs Brown corpus sentences). Same 80/10/10 split for both
models; ours = one model per seed, mean ± std over seeds. These sentences are also in stage one's corpus
(unlabelled): a check of the config's robustness, not accuracies to quote. See the script's docstring.

""" + results.header("task", "classes", "train / dev / test", "model", "settings", "accuracy", "macro-F1",
                     "seconds", "command")


def sentences(path: Path) -> list:
    """Sentences of one chunk file (see the module docstring), 4 to 50 whitespace tokens."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        text = f.read()
    if path.name.startswith(LINE_SENTENCES):
        units = text.split("\n")
    else:
        units = [s for para in re.split(r"\n\s*\n", text) for s in SENTENCE_END.split(" ".join(para.split()))]
    return [" ".join(u.split()) for u in units if 4 <= len(u.split()) <= 50]


def build_task(name: str, seed: int, out: Path = OUT) -> Path:
    """Write data/proxies/<name>.tsv (shuffled, seeded) and return its path."""
    per_class, classes = TASKS[name]
    rng = np.random.default_rng(seed)
    rows = []
    for label, prefixes in classes.items():
        pool = sorted({s for p in sorted(CORPUS.glob("*.txt.gz")) if p.name.startswith(tuple(prefixes))
                       for s in sentences(p)})
        if len(pool) < per_class:
            raise SystemExit(f"{name}/{label}: only {len(pool)} sentences, {per_class} wanted")
        rows += [(label, pool[i]) for i in rng.choice(len(pool), per_class, replace=False)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.tsv"
    path.write_text("".join(f"{lab}\t{text}\n" for lab, text in rows), encoding="utf-8")
    return path


def run_task(name, path, vectors, sets, seeds, workdir: Path, data_seed: int) -> dict:
    """Both models on one task's split: per-seed accuracies of ours, TF-IDF's accuracy."""
    data_sets = [f"data.train=[{json.dumps(str(path))}]", "data.name=null", "data.format=tsv",
                 "data.dev_fraction=0.1", "data.test_fraction=0.1", f"data.seed={data_seed}"]
    cfg = load_config(RNNConfig, None, [*data_sets, f"vectors.path={vectors}", *sets])
    splits = load_splits(cfg.data)
    (train, dev, test), labels = splits.folds[0], splits.labels
    lab_id = {lab: i for i, lab in enumerate(labels)}
    y_true = [lab_id[lab] for lab in test.labels]
    t0 = time.perf_counter()
    probs, _, rnn_labels = report.train_ours(None, [f"vectors.path={vectors}", *sets], (train, dev, test),
                                             workdir / name, seeds)
    seconds = time.perf_counter() - t0
    assert rnn_labels == labels, (rnn_labels, labels)
    alone = [classification_report(y_true, p.argmax(axis=1), labels) for p in probs]
    t0 = time.perf_counter()
    pred_b, C = report.tfidf_baseline(train, dev, test.texts)
    rep_b = classification_report(y_true, [lab_id[lab] for lab in pred_b], labels)
    return {"labels": labels, "sizes": (len(train), len(dev), len(test)), "seeds": seeds,
            "ours": {"per_seed": [r["accuracy"] for r in alone], "f1": [r["macro_f1"] for r in alone],
                     "seconds": seconds},
            "tfidf": {"accuracy": rep_b["accuracy"], "macro_f1": rep_b["macro_f1"], "C": C,
                      "seconds": time.perf_counter() - t0}}


def rows_of(name, res, settings) -> list:
    """(model, settings, accuracy, macro-F1, seconds) rows of one task."""
    acc = np.asarray(res["ours"]["per_seed"])
    spread = f" ± {100 * acc.std(ddof=1):.1f}" if len(acc) > 1 else ""
    seeds = ", ".join(f"{100 * a:.1f}" for a in acc)
    return [(f"ours: ONE model, mean of {len(acc)} seeds ({seeds})", settings, f"{100 * acc.mean():.1f}{spread}",
             f"{100 * np.mean(res['ours']['f1']):.1f}", f"{res['ours']['seconds']:.0f}"),
            ("TF-IDF (1-2 grams) + logistic regression", f"C chosen on dev: {res['tfidf']['C']:g}",
             f"{100 * res['tfidf']['accuracy']:.1f}", f"{100 * res['tfidf']['macro_f1']:.1f}",
             f"{res['tfidf']['seconds']:.1f}")]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vectors", default="runs/embeddings-report/vectors.bin")
    p.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    p.add_argument("--seeds", type=int, default=3, help="models per task, seeds 1..N, each scored alone")
    p.add_argument("--seed", type=int, default=1, help="sampling and split seed")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="train-rnn override")
    p.add_argument("--workdir", default="runs/proxies")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--no-results", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    load = results.Load()
    command = results.command("proxy_tasks.py", argv)
    progress.QUIET = True
    settings = "default config" + ("; " + " ".join(args.set) if args.set else "") + f"; vectors {args.vectors}"
    out, new = {}, []
    for name in args.tasks:
        path = build_task(name, args.seed)
        res = run_task(name, path, args.vectors, args.set, list(range(1, args.seeds + 1)),
                       ROOT / args.workdir, args.seed)
        out[name] = res
        for model, sett, acc, f1, sec in rows_of(name, res, settings):
            print(f"{name}: {model}: {acc}", flush=True)
            new.append(results.row(results.prefix(load) + [
                name, str(len(res["labels"])), " / ".join(map(str, res["sizes"])), model, sett, acc, f1, sec,
                f"`{command}`"]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    if not args.no_results:
        results.append(SECTION, SECTION_TEXT, new, "", report.RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
