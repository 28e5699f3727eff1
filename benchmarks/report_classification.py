"""Classification report: our two stages against TF-IDF + logistic regression on MR and SST-2.

    make report                       # after `make data`: text8, data/MR, data/SST2 (configs/embeddings-report.yaml)
    .venv/bin/python benchmarks/report_classification.py --reuse-vectors --json /tmp/report.json

    # the team's published figures (README, Results): stage one on corpora kept beside the repository
    .venv/bin/python benchmarks/report_classification.py --embeddings-config configs/bench-report-embeddings.yaml \\
        --movie-reviews '../shared/data/corpora/nltk-en-7.4m/movie_reviews_*.txt.gz' \\
        --mr ../shared/data/classification/MR --sst2 ../shared/data/classification/SST2 --reuse-vectors

One command does the whole protocol:
1. stage one: trains vectors with --embeddings-config (default configs/embeddings-report.yaml; skipped when its
   vectors.bin exists and --reuse-vectors is given). A config that reads FILTERED (bench-report-embeddings.yaml)
   first gets that file written: the --movie-reviews text without any line that equals an MR or SST-2
   sentence (`prepare_corpus`);
2. stage two: MR with 10-fold cross-validation, SST-2 with train / early stopping on dev / test, configs
   configs/mr.yaml and configs/sst2.yaml, through the driver `pipeline.classifier.train.train_rnn` (what
   `pipeline train-rnn --config ... --set ...` calls);
3. the baseline `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)` + `LogisticRegression` on the same
   folds and splits, its C chosen on the same dev part our model early-stops on (`tfidf_baseline`);
4. one table (accuracy, macro-F1, seconds) beside the published anchors, appended with date, machine, versions,
   load (benchmarks/results.py) and command to benchmarks/RESULTS.md; `--json PATH`; a confusion-matrix and a
   learning-curve PNG per data set under benchmarks/figures/ (matplotlib is a dependency).

Same folds, how: the splits come from `pipeline.classifier.data.load_splits(cfg.data)` on the data section of
configs/mr.yaml / sst2.yaml, the very function train-rnn calls, so fold k (its train, dev and test sentences)
is the one train-rnn would use. Each fold's three parts are written to files (tsv, UTF-8) and handed to
train-rnn as explicit data.train / data.dev / data.test with folds 0, so that the test probabilities of every
fold (and seed) come back for seed averaging; the baseline picks C on the fold's dev part, is refitted on its
train + dev sentences and is scored on the same test sentences.
Reported accuracy and macro-F1 are means over folds (MR) or on the test set (SST-2), as train-rnn reports them.

Seeds (`--seeds N`, default DEFAULT_SEEDS: 3 for both): each fold is trained N times (train.seed = seed,
seed+1, ...). The headline is ONE model, what a user trains: per seed, the accuracy of that model alone (MR:
its mean over the folds), reported as mean ± std over the N seeds (`ours.single_model_accuracy`). Beside it,
in its own labelled row, the ensemble: the N probability vectors averaged before the argmax (`ours.accuracy`).
The full run takes about 30 min on 2 idle cores (MR: 30 models of ~40 s; SST-2 3 models).
`--folds K` runs only the first K folds (a screen, marked as such in RESULTS.md); `--set-mr` / `--set-sst2`
add `key=value` overrides, as `--set` does for train-rnn, `--set` adds them to both; `--set-vectors` overrides
stage one's config (e.g. `train.vector_size=300 output.dir=runs/emb-300`: a screen of the vectors).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from pipeline import progress  # noqa: E402
from pipeline.classifier.data import load_splits  # noqa: E402
from pipeline.classifier.metrics import classification_report, mean_std  # noqa: E402
from pipeline.config import RNNConfig, load_config  # noqa: E402
from pipeline.datasets import DATA_DIR  # noqa: E402  (data/, or $PIPELINE_DATA)
from pipeline.errors import UserError  # noqa: E402

import results  # noqa: E402  (benchmarks/results.py)

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
FIGURES = ROOT / "benchmarks" / "figures"
EMB_CONFIG = "configs/embeddings-report.yaml"
FILTERED = "data/report/movie_reviews-filtered.txt.gz"
DATASETS = {"MR": ("configs/mr.yaml", "mr"), "SST2": ("configs/sst2.yaml", "sst2")}
# Kim (2014), Table 2, accuracy in %; CNN-static uses word2vec vectors trained on 100 billion words.
ANCHORS = {"MR": [("CNN-rand (Kim 2014)", 76.1), ("NBSVM (Wang & Manning 2012, in Kim 2014)", 79.4),
                  ("CNN-static (Kim 2014)", 81.0)],
           "SST2": [("CNN-static (Kim 2014, trained on phrases)", 86.8)]}
# Models per fold (seeds): each is reported alone (mean ± std over seeds) and, apart, as an ensemble.
DEFAULT_SEEDS = {"MR": 3, "SST2": 3}
SECTION = "## Classification report: MR and SST-2 against TF-IDF + logistic regression (report_classification.py)"
SECTION_TEXT = SECTION + """

Protocol (`benchmarks/report_classification.py`): stage one with the command's --embeddings-config (the team's
runs: configs/bench-report-embeddings.yaml, until 2026-12-02 named configs/embeddings-report.yaml: both corpora
beside the repository, the NLTK movie-review part without the lines equal to an MR or SST-2 sentence), stage two
with configs/mr.yaml (10-fold cross-validation, early stopping on 10% of each fold's training part) and
configs/sst2.yaml (train, early stopping on dev, test); the baseline `TfidfVectorizer(ngram_range=(1, 2),
sublinear_tf=True)` + `LogisticRegression(C)` on the same folds, C chosen by accuracy on the dev part that our model
early-stops on, then refitted on train + dev (scikit-learn's default C=1 is 3 points worse on SST-2; the first two
TF-IDF rows below still used C=1). Accuracy
and macro-F1 in %, MR as the mean over folds; seconds = wall time of that model's training and prediction over all
folds (and seeds); stage one's time is given once per run. Every run of the script adds its rows to the table
below; runs on fewer folds than the protocol are screens (`protocol` column).

""" + results.header("data set", "protocol", "model", "settings", "accuracy", "macro-F1", "seconds", "command")


# ---------------------------------------------------------------------------------------------------
# Stage one
# ---------------------------------------------------------------------------------------------------
def sentence_key(text: str) -> str:
    """A sentence compared on its letters and digits only, lower-cased: 'Moore 's' == "moore's"."""
    return re.sub(r"\W", "", text.lower())


def labelled_sentences(mr_dir, sst2_dir) -> set:
    """Keys of every MR and SST-2 sentence (all splits)."""
    keys = set()
    for path in (Path(mr_dir) / "rt-polarity.pos", Path(mr_dir) / "rt-polarity.neg"):
        for line in path.read_bytes().decode("cp1252", errors="replace").split("\n"):
            keys.add(sentence_key(line))
    for split in ("train", "dev", "test"):
        for line in (Path(sst2_dir) / f"stsa.binary.{split}").read_text(encoding="utf-8").split("\n"):
            keys.add(sentence_key(line.strip().partition(" ")[2]))
    keys.discard("")
    return keys


def prepare_corpus(sources, keys: set, out_path) -> dict:
    """Copy the lines of `sources` (.gz) to `out_path` (.gz) except those whose key is in `keys`."""
    import glob
    files = sorted(glob.glob(str(sources))) if isinstance(sources, (str, Path)) else list(sources)
    if not files:
        raise UserError(f"no file matches --movie-reviews {sources}; give the .gz files of the movie-review text "
                        f"that {FILTERED} is made from")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    kept = dropped = 0
    tmp = out_path.with_name(out_path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as out:
        for f in files:
            with gzip.open(f, "rt", encoding="utf-8") as src:
                for line in src:
                    if sentence_key(line) in keys:
                        dropped += 1
                    else:
                        out.write(line)
                        kept += 1
    os.replace(tmp, out_path)
    return {"files": len(files), "kept": kept, "dropped": dropped}


def stage_one(args) -> dict:
    from pipeline.config import EmbeddingsConfig
    cfg = load_config(EmbeddingsConfig, args.embeddings_config, args.set_vectors)
    vectors = Path(cfg.output.dir) / "vectors.bin"
    info = {"vectors": str(vectors), "seconds": None}
    if args.reuse_vectors and vectors.is_file():
        print(f"stage one: reusing {vectors}")
        return info
    t0 = time.perf_counter()
    if FILTERED in cfg.corpus.paths:
        if not args.movie_reviews:
            raise UserError(f"{args.embeddings_config} reads {FILTERED}, made from the movie-review text: pass "
                            f"--movie-reviews GLOB (the .gz files of that text)")
        stats = prepare_corpus(args.movie_reviews, labelled_sentences(args.mr, args.sst2), FILTERED)
        print(f"stage one: {FILTERED}: kept {stats['kept']:,} lines, dropped {stats['dropped']} equal to an MR / "
              f"SST-2 sentence")
    if args.prepare_only:
        return info
    from pipeline.embeddings.train import train_embeddings
    train_embeddings(cfg)
    info["seconds"] = time.perf_counter() - t0
    return info


# ---------------------------------------------------------------------------------------------------
# Stage two and the baseline on the same splits
# ---------------------------------------------------------------------------------------------------
def rnn_config(name, data_path, vectors, extra=()):
    """(config path, --set overrides, RNNConfig) of a data set's config pointed at the data and vectors."""
    path, _ = DATASETS[name]
    sets = [f"data.path={data_path}", f"vectors.path={vectors}", *extra]
    return path, sets, load_config(RNNConfig, ROOT / path, sets)


def write_fold(fold, folder: Path) -> list:
    """The (train, dev, test) Labelled parts as tsv files; returns train-rnn's data overrides."""
    folder.mkdir(parents=True, exist_ok=True)
    sets = ["data.name=null", "data.path=null", "data.format=tsv", "data.encoding=utf-8", "data.folds=0"]
    for part, name in zip(fold, ("train", "dev", "test")):
        file = folder / f"{name}.tsv"
        lines = (f"{lab}\t{' '.join(text.split())}\n" for lab, text in zip(part.labels, part.texts))
        file.write_text("".join(lines), encoding="utf-8")
        sets.append(f"data.{name}=[{json.dumps(str(file))}]")
    return sets


def train_ours(cfg_path, sets, fold, folder: Path, seeds: list, jobs: int = 1) -> tuple:
    """Train one model per seed on `fold`; (test probabilities per seed, metrics.json per seed, labels).
    jobs > 1 trains that many seeds at once, each in its own process (the same models: a seed's run does
    not depend on the others)."""
    data_sets = write_fold(fold, folder / "data")
    runs = [(cfg_path, [*sets, *data_sets, f"train.seed={seed}", f"output.dir={folder / f'seed{seed}'}"],
             fold[2].texts) for seed in seeds]
    if jobs > 1 and len(seeds) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(min(jobs, len(seeds)), mp_context=multiprocessing.get_context("fork")) as pool:
            done = list(pool.map(_train_one, *zip(*runs)))
    else:
        done = [_train_one(*r) for r in runs]
    return [d[0] for d in done], [d[1] for d in done], done[-1][2]


def _train_one(cfg_path, sets, test_texts) -> tuple:
    """One train-rnn run: (test probabilities, its metrics.json, labels); the model file is removed."""
    from pipeline.classifier.predict import Classifier
    from pipeline.classifier.train import train_rnn
    cfg = load_config(RNNConfig, ROOT / cfg_path if cfg_path else None, sets)   # None: the code's defaults
    train_rnn(cfg)
    out = Path(cfg.output.dir)
    clf = Classifier.load(out / "model.npz")
    probs = clf.predict_proba(test_texts)
    metrics = json.loads((out / "metrics.json").read_text())
    (out / "model.npz").unlink()                 # the table inside is 100+ MB; the report keeps no models
    return probs, metrics, clf.labels


C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)  # inverse regularisation of the baseline, chosen on dev


def tfidf_baseline(train, dev, test_texts) -> tuple:
    """The baseline, TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) + LogisticRegression,
    with C picked from C_GRID by accuracy on the same dev part our model early-stops on (C=1, scikit-learn's
    default, gives SST-2 78.5 against 81.3 for C=10: an untuned baseline would flatter us), then refitted
    on train + dev; returns (predicted labels of `test_texts`, the chosen C). Two classes: liblinear (the
    figures in RESULTS.md); more: lbfgs, a multinomial model (liblinear is binary only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    solver = {"solver": "liblinear"} if len(set(train.labels)) <= 2 else {"solver": "lbfgs", "max_iter": 1000}
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    X = vec.fit_transform(train.texts)
    fit = lambda C: LogisticRegression(C=C, **solver).fit(X, train.labels)  # noqa: E731
    best_C, best_acc = 1.0, -1.0
    if dev is not None and len(dev):
        X_dev = vec.transform(dev.texts)
        for C in C_GRID:
            acc = float(np.mean(fit(C).predict(X_dev) == np.asarray(dev.labels)))
            if acc > best_acc:
                best_C, best_acc = C, acc
    if dev is not None and len(dev):
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        X = vec.fit_transform(list(train.texts) + list(dev.texts))
        model = LogisticRegression(C=best_C, **solver).fit(X, list(train.labels) + list(dev.labels))
    else:
        model = fit(best_C)
    return list(model.predict(vec.transform(test_texts))), best_C


def run_dataset(name, data_path, vectors, args, workdir: Path) -> dict:
    extra = [*args.set, *(args.set_mr if name == "MR" else args.set_sst2)]
    cfg_path, sets, cfg = rnn_config(name, data_path, vectors, extra)
    splits = load_splits(cfg.data)                   # the same call train-rnn makes: identical folds
    folds = splits.folds[:args.folds] if args.folds else splits.folds
    labels = splits.labels
    n_seeds = (args.seeds_mr if name == "MR" else args.seeds_sst2) or args.seeds or DEFAULT_SEEDS[name]
    seeds = [cfg.train.seed + i for i in range(n_seeds)]
    res = {"labels": labels, "folds_run": len(folds), "folds_total": len(splits.folds),
           "ours": {"fold_acc": [], "fold_f1": [], "seed_acc": [], "seed_f1": [], "y_true": [], "y_pred": [],
                    "seconds": 0.0, "curves": []},
           "tfidf": {"fold_acc": [], "fold_f1": [], "y_true": [], "y_pred": [], "seconds": 0.0, "C": []},
           "config": cfg_path, "sets": list(extra), "seeds": seeds}
    for k, (train, dev, test) in enumerate(folds):
        lab_id = {lab: i for i, lab in enumerate(labels)}
        y_true = [lab_id[lab] for lab in test.labels]
        t0 = time.perf_counter()
        probs, metrics, rnn_labels = train_ours(cfg_path, sets, (train, dev, test), workdir / name / f"fold{k}", seeds,
                                                args.jobs)
        res["ours"]["seconds"] += time.perf_counter() - t0
        assert rnn_labels == labels, (rnn_labels, labels)
        pred = np.mean(probs, axis=0).argmax(axis=1).tolist()
        rep = classification_report(y_true, pred, labels)
        res["ours"]["fold_acc"].append(rep["accuracy"])
        res["ours"]["fold_f1"].append(rep["macro_f1"])
        alone = [classification_report(y_true, p.argmax(axis=1), labels) for p in probs]
        res["ours"]["seed_acc"].append([r["accuracy"] for r in alone])     # (fold, seed): each model alone
        res["ours"]["seed_f1"].append([r["macro_f1"] for r in alone])
        res["ours"]["y_true"] += y_true
        res["ours"]["y_pred"] += pred
        res["ours"]["curves"] += [{"train_loss": m["train_loss"], "dev_accuracy": m["dev_accuracy"],
                                   "best_epoch": m["best_epoch"]} for m in metrics]
        t0 = time.perf_counter()
        pred_b, C = tfidf_baseline(train, dev, test.texts)
        pred_b = [lab_id[lab] for lab in pred_b]
        res["tfidf"]["C"].append(C)
        res["tfidf"]["seconds"] += time.perf_counter() - t0
        rep_b = classification_report(y_true, pred_b, labels)
        res["tfidf"]["fold_acc"].append(rep_b["accuracy"])
        res["tfidf"]["fold_f1"].append(rep_b["macro_f1"])
        res["tfidf"]["y_true"] += y_true
        res["tfidf"]["y_pred"] += pred_b
        print(f"{name} fold {k + 1}/{len(folds)}: ours, one model per seed "
              f"{', '.join(f'{a:.4f}' for a in res['ours']['seed_acc'][-1])} (ensemble {rep['accuracy']:.4f}), "
              f"tfidf {rep_b['accuracy']:.4f} (C={C:g})", flush=True)
    for model in ("ours", "tfidf"):
        r = res[model]
        r["accuracy"] = mean_std(r["fold_acc"])["mean"]
        r["accuracy_std"] = mean_std(r["fold_acc"])["std"]
        r["macro_f1"] = mean_std(r["fold_f1"])["mean"]
        r["confusion_matrix"] = classification_report(r["y_true"], r["y_pred"], labels)["confusion_matrix"]
    o = res["ours"]
    per_seed = np.mean(o["seed_acc"], axis=0)          # (seeds,): each seed's model alone, mean over folds
    o["per_seed_accuracy"] = per_seed.tolist()
    o["single_model_accuracy"] = float(per_seed.mean())
    o["single_model_accuracy_std"] = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else 0.0
    o["single_model_macro_f1"] = float(np.mean(o["seed_f1"]))
    o["single_model_fold_std"] = float(np.mean(np.std(o["seed_acc"], axis=0, ddof=1))) if len(folds) > 1 else 0.0
    return res


# ---------------------------------------------------------------------------------------------------
# Output: table, RESULTS.md, JSON, figures
# ---------------------------------------------------------------------------------------------------
def settings_text(name, res, vectors) -> str:
    sets = " ".join(res["sets"])
    return f"{res['config']}{(' ' + sets) if sets else ''}; seeds {', '.join(map(str, res['seeds']))}; vectors {vectors}"


def protocol_text(name, res) -> str:
    if name == "SST2":
        return "train / dev / test"
    full = res["folds_run"] == res["folds_total"]
    return f"{res['folds_total']}-fold CV" if full else f"SCREEN {res['folds_run']} of {res['folds_total']} folds"


def _rows(name, res) -> list:
    """(label, accuracy text, macro-F1, seconds) per model of one data set: one model first, then the
    ensemble, then TF-IDF. One model: mean ± std over seeds of each seed's model alone; MR's fold spread
    (the std over folds, averaged over seeds) in brackets. Ensemble and TF-IDF: ± std over folds (MR)."""
    o, b, n = res["ours"], res["tfidf"], len(res["seeds"])
    cv = res["folds_run"] > 1
    fold_std = lambda r: f" ± {100 * r['accuracy_std']:.1f}" if cv else ""  # noqa: E731
    one = f"{100 * o['single_model_accuracy']:.1f}"
    if n > 1:
        one += f" ± {100 * o['single_model_accuracy_std']:.1f} (seeds)"
    if cv:
        one += f" [folds ± {100 * o['single_model_fold_std']:.1f}]"
    per_seed = ", ".join(f"{100 * a:.1f}" for a in o["per_seed_accuracy"])
    rows = [(f"ours: ONE model (RNN on frozen skip-gram vectors), mean of {n} seed{'s' * (n > 1)} ({per_seed})",
             one, f"{100 * o['single_model_macro_f1']:.1f}", f"{o['seconds'] / max(n, 1):.0f}")]
    if n > 1:
        rows.append((f"ours: ensemble of the {n} seeds' models (probabilities averaged; not one model)",
                     f"{100 * o['accuracy']:.1f}{fold_std(o)}", f"{100 * o['macro_f1']:.1f}", f"{o['seconds']:.0f}"))
    rows.append(("TF-IDF (1-2 grams) + logistic regression", f"{100 * b['accuracy']:.1f}{fold_std(b)}",
                 f"{100 * b['macro_f1']:.1f}", f"{b['seconds']:.1f}"))
    return rows


def table(results: dict, stage_one_seconds) -> str:
    rows = ["| data set | model | accuracy | macro-F1 | seconds |", "| --- | --- | --- | --- | --- |"]
    for name, res in results.items():
        proto = protocol_text(name, res)
        rows += [f"| {name} ({proto}) | {label} | {acc} | {f1} | {sec} |" for label, acc, f1, sec in _rows(name, res)]
        for anchor, acc in ANCHORS[name]:
            rows.append(f"| {name} | published: {anchor} | {acc:.1f} | n/a | n/a |")
    if stage_one_seconds:
        rows.append(f"| both | stage one (skip-gram vectors, {EMB_CONFIG}) | | | {stage_one_seconds:.0f} |")
    return "\n".join(rows)


def append_results(path: Path, res: dict, stage_one_seconds, vectors, command: str, load, rows=True,
                   block=True) -> None:
    """Rows per data set (ours one model, ours ensemble, TF-IDF) and, for a full run of both sets, the dated
    report block at the end of this section (benchmarks/results.py writes them under its lock). main() writes
    each data set's rows as soon as it is done (rows only), then the block (block only)."""
    new = []
    for name, r_set in (res.items() if rows else ()):
        tfidf_settings = f"C chosen on dev from {C_GRID}, refitted on train + dev; C per fold: " + \
            ", ".join(f"{c:g}" for c in r_set["tfidf"]["C"])
        for label, acc, f1, sec in _rows(name, r_set):
            settings = tfidf_settings if label.startswith("TF-IDF") else settings_text(name, r_set, vectors)
            new.append(results.row(results.prefix(load) + [
                name, protocol_text(name, r_set), label, settings, acc, f1, sec, f"`{command}`"]))
    text = ""
    full = all(r_set["folds_run"] == r_set["folds_total"] for r_set in res.values())
    if block and full and len(res) == len(DATASETS):
        date, mach, _, load_text = results.prefix(load)
        text = (f"### Report {date} UTC\n\nMachine: {mach}; load {load_text}. Command: `{command}`\n\n"
                f"{table(res, stage_one_seconds)}\n")
    if new or text:
        results.append(SECTION, SECTION_TEXT, new, text, path)


def json_summary(results: dict) -> dict:
    """Per data set: ours.single_model_accuracy (mean over seeds of each model alone) with its std and the
    per-seed figures, ours.accuracy (the ensemble), tfidf.accuracy; macro-F1 likewise."""
    out = {}
    for name, res in results.items():
        o, b = res["ours"], res["tfidf"]
        out[name] = {"ours": {"single_model_accuracy": o["single_model_accuracy"],
                              "single_model_accuracy_std": o["single_model_accuracy_std"],
                              "single_model_macro_f1": o["single_model_macro_f1"],
                              "per_seed_accuracy": o["per_seed_accuracy"], "seeds": res["seeds"],
                              "accuracy": o["accuracy"], "macro_f1": o["macro_f1"]},
                     "tfidf": {"accuracy": b["accuracy"], "macro_f1": b["macro_f1"]},
                     "folds": res["folds_run"], "folds_total": res["folds_total"]}
    return out


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def figures(results: dict, folder: Path) -> list:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e .): no figures")
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, res in results.items():
        fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.0), dpi=80)
        for ax, model, title in zip(axes, ("ours", "tfidf"), ("ours (RNN)", "TF-IDF + LR")):
            cm = np.asarray(res[model]["confusion_matrix"])
            ax.imshow(cm, cmap="Blues")
            for (i, j), v in np.ndenumerate(cm):
                ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
            ax.set_xticks(range(len(res["labels"])), res["labels"])
            ax.set_yticks(range(len(res["labels"])), res["labels"])
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            ax.set_title(f"{name} {title}: {100 * res[model]['accuracy']:.1f}%", fontsize=9)
        written.append(_save(fig, folder / f"{name.lower()}_confusion.png"))
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6.4, 3.0), dpi=80)
        for c in res["ours"]["curves"]:
            epochs = range(1, len(c["train_loss"]) + 1)
            ax1.plot(epochs, c["train_loss"], color="tab:blue", alpha=0.5, lw=1)
            if c["dev_accuracy"]:
                ax2.plot(range(1, len(c["dev_accuracy"]) + 1), c["dev_accuracy"], color="tab:orange", alpha=0.5, lw=1)
                ax2.plot([c["best_epoch"]], [c["dev_accuracy"][c["best_epoch"] - 1]], "k.", ms=4)
        ax1.set_xlabel("epoch")
        ax1.set_title(f"{name}: train loss", fontsize=9)
        ax2.set_xlabel("epoch")
        ax2.set_title(f"{name}: dev accuracy (dot = kept epoch)", fontsize=9)
        written.append(_save(fig, folder / f"{name.lower()}_learning_curves.png"))
    return written


# ---------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mr", default=str(DATA_DIR / "MR"),
                   help="folder of rt-polarity.pos/.neg (default data/MR, where `make data` puts it)")
    p.add_argument("--sst2", default=str(DATA_DIR / "SST2"),
                   help="folder of stsa.binary.train/dev/test (default data/SST2, where `make data` puts it)")
    p.add_argument("--embeddings-config", default=EMB_CONFIG, help=f"stage one's config (default {EMB_CONFIG})")
    p.add_argument("--movie-reviews", metavar="GLOB",
                   help=f"movie-review text (.gz) that {FILTERED} is made from, for configs that read it")
    p.add_argument("--reuse-vectors", action="store_true", help="skip stage one when its vectors.bin exists")
    p.add_argument("--prepare-only", action="store_true", help=f"only write {FILTERED} (with --movie-reviews)")
    p.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=["SST2", "MR"])
    p.add_argument("--folds", type=int, default=0, help="run only the first K folds (a screen); 0 = all")
    p.add_argument("--seeds", type=int, default=0,
                   help=f"models per fold, each reported alone and as an ensemble (default {DEFAULT_SEEDS})")
    p.add_argument("--jobs", type=int, default=1, help="seeds of a fold trained at once, one process each")
    p.add_argument("--seeds-mr", type=int, default=0, help="--seeds for MR only")
    p.add_argument("--seeds-sst2", type=int, default=0, help="--seeds for SST-2 only")
    p.add_argument("--set-mr", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--set-sst2", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="train-rnn override for both")
    p.add_argument("--set-vectors", action="append", default=[], metavar="KEY=VALUE",
                   help="stage one override (configs/embeddings-report.yaml), e.g. train.vector_size=300")
    p.add_argument("--workdir", default="runs/report", help="fold files and per-run outputs")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--no-results", action="store_true", help="do not append to benchmarks/RESULTS.md")
    p.add_argument("--no-figures", action="store_true")
    p.add_argument("--verbose", action="store_true", help="train-rnn's progress lines")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    load = results.Load()
    command = results.command("report_classification.py", argv)
    os.chdir(ROOT)
    progress.QUIET = not args.verbose
    try:
        info = stage_one(args)
        if args.prepare_only:
            return 0
        res = {}
        for name in args.datasets:
            res[name] = run_dataset(name, args.mr if name == "MR" else args.sst2, info["vectors"], args,
                                    Path(args.workdir))
            partial = Path(args.workdir) / "partial.json"     # what is done so far, should a later step fail
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({"summary": json_summary(res), "table": table(res, None)}))
            if not args.no_results:                           # rows now: a later failure keeps them
                append_results(RESULTS, {name: res[name]}, None, info["vectors"], command, load, block=False)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(table(res, info["seconds"]))
    if args.json:
        Path(args.json).write_text(json.dumps(json_summary(res), indent=2) + "\n")
    if not args.no_results:
        append_results(RESULTS, res, info["seconds"], info["vectors"], command, load, rows=False)
    if not args.no_figures:
        for path in figures(res, FIGURES):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
