"""Screens for stage one's quality gap to gensim (issue 16, "Stage one's last gap to gensim").

Trains ours and gensim 4.4 `Word2Vec(sg=1, hs=0, corpus_file=...)` on the same prepared plain file (the one
`compare-gensim` writes: our tokenizer's output, one sentence per line), alternating per seed, each run in a fresh
process, and scores both with our evaluator. Unlike compare-gensim it is for quality, not speed: it can change
one thing at a time on either side and records every run as one JSON line.

    .venv/bin/python benchmarks/gensim_gap.py --seeds 1 2 3 --workers 1                 # both sides
    .venv/bin/python benchmarks/gensim_gap.py --sides ours --seeds 1 2 3 --workers 1 --set train.epochs=1
    .venv/bin/python benchmarks/gensim_gap.py --sides gensim --gensim schedule=words --seeds 1 2 3
    .venv/bin/python benchmarks/gensim_gap.py --summary runs/gensim-gap/runs.jsonl      # means per label

Options for ours: `--set key=value` (config overrides, as the CLI), `--variant NAME` (an experimental kernel
from benchmarks/gensim_gap_variants.py swapped into the driver for that run). Options for gensim (`--gensim
k=v`): `schedule=examples` (default: `train(total_examples=corpus_count)`, what the constructor does, so the
learning rate follows sentences) or `schedule=words` (only `total_words`: it follows raw words, like ours);
`mode=corpus_file` (default) or `mode=sentences` (the `LineSentence` iterable path, word2vec_inner.pyx).

`--order interleave` trains both sides on a reordered copy of the prepared file: its first and second half
(cut at the middle byte, as gensim's corpus_file mode cuts it for 2 workers) merged line by line so that both
halves advance at the same rate in words, the order in which gensim's two workers visit the corpus.

Each run appends {"label", "side", "seed", "workers", "epochs", scores, semantic / syntactic analogy
accuracy, words, seconds, load} to `--log` (default runs/gensim-gap/runs.jsonl, git-ignored); the summary
prints mean +- sd per (label, side) and the difference of the means.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASE_CONFIG = ROOT / "configs" / "bench-en-mixed.yaml"
SEMANTIC = ("capital-common-countries", "capital-world", "currency", "city-in-state", "family")
KEYS = ("wordsim353", "simlex999", "analogy", "analogy_sem", "analogy_syn")


# ---------------------------------------------------------------------------------------------------
# Children: one training per process
# ---------------------------------------------------------------------------------------------------
def ours_child(config_file, out_dir, seed, variant):
    """Train ours through the product driver; a variant swaps one kernel in first."""
    from pipeline.config import EmbeddingsConfig, load_config
    from pipeline.embeddings import train as driver
    if variant:
        import gensim_gap_variants
        gensim_gap_variants.install(variant, driver)
    cfg = load_config(EmbeddingsConfig, config_file, [f"train.seed={seed}", f"output.dir={out_dir}",
                                                       "output.evaluate=false"])
    driver.train_embeddings(cfg)


def gensim_child(params_file, out_dir, seed):
    """Train gensim as its constructor would (build_vocab, then train) with the screen's options."""
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence
    params = json.loads(Path(params_file).read_text())
    corpus, kwargs, opts = params["corpus_file"], params["arguments"], params["options"]
    kwargs["seed"] = int(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = Word2Vec(**kwargs)
    model.build_vocab(corpus_file=corpus)
    examples = model.corpus_count if opts.get("schedule", "examples") == "examples" else None
    t0 = time.perf_counter()
    if opts.get("mode", "corpus_file") == "sentences":
        effective, raw = model.train(corpus_iterable=LineSentence(corpus), total_examples=model.corpus_count,
                                     total_words=model.corpus_total_words, epochs=model.epochs)
    else:
        effective, raw = model.train(corpus_file=corpus, total_examples=examples,
                                     total_words=model.corpus_total_words, epochs=model.epochs)
    seconds = time.perf_counter() - t0
    model.wv.save_word2vec_format(str(out / "vectors.bin"), binary=True)
    (out / "metrics.json").write_text(json.dumps({
        "vocab_size": len(model.wv), "corpus_words": model.corpus_total_words, "epochs": model.epochs,
        "effective_words": effective, "raw_words": raw, "train_seconds": seconds}))


# ---------------------------------------------------------------------------------------------------
# The parent: prepare, alternate, evaluate, log
# ---------------------------------------------------------------------------------------------------
def _child(argv, log):
    with open(log, "wb") as f:
        proc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}"})
    if proc.returncode:
        tail = Path(log).read_text(errors="replace").strip().splitlines()[-3:]
        sys.exit(f"child failed ({' '.join(argv[1:4])}): {' | '.join(tail)}")


def scores_of(run_dir):
    from pipeline.embeddings.evaluate import evaluate_all
    from pipeline.vectors import load_vectors
    wv = load_vectors(Path(run_dir) / "vectors.bin")
    s = evaluate_all(wv.words, wv.vectors)
    out = {k: s[k] for k in ("wordsim353", "simlex999", "analogy")}
    for name, keep in (("analogy_sem", True), ("analogy_syn", False)):
        secs = [x for x in s["details"]["analogy"]["sections"] if (x["section"] in SEMANTIC) == keep]
        c, i = sum(x["correct"] for x in secs), sum(x["incorrect"] for x in secs)
        out[name] = c / max(c + i, 1)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sides", nargs="+", default=["ours", "gensim"], choices=["ours", "gensim"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (both)")
    ap.add_argument("--variant", default="", help="ours: experimental kernel (gensim_gap_variants.py)")
    ap.add_argument("--gensim", action="append", default=[], metavar="K=V", help="gensim option (see above)")
    ap.add_argument("--order", choices=["file", "interleave"], default="file", help="corpus order (see above)")
    ap.add_argument("--label", default="", help="name of the screen in the log (default: from the options)")
    ap.add_argument("--log", default=str(ROOT / "runs" / "gensim-gap" / "runs.jsonl"))
    ap.add_argument("--summary", metavar="JSONL", help="only print the summary of a log")
    args = ap.parse_args(argv)
    if args.summary:
        summarise(args.summary)
        return

    import yaml
    from pipeline.config import EmbeddingsConfig, load_config, to_dict
    from compare_gensim import gensim_arguments, prepare_plain_corpus      # benchmarks/ is sys.path[0]
    sets = [*args.set, f"train.workers={args.workers}"]
    cfg = load_config(EmbeddingsConfig, BASE_CONFIG, [*sets, "corpus.cache_dir=data/cache"])
    cache = ROOT / "data" / "cache"
    (cache / "compare-gensim").mkdir(parents=True, exist_ok=True)
    corpus, corpus_words = prepare_plain_corpus(cfg, cache / "compare-gensim")
    if args.order == "interleave":
        corpus = interleaved_copy(corpus)
    work = Path(args.log).parent
    work.mkdir(parents=True, exist_ok=True)
    d = to_dict(cfg)
    d["corpus"].update(paths=[str(corpus)], encoding="utf-8", errors="strict", cache_dir=str(cache))
    d["tokenizer"] = {"lowercase": False, "pattern": None}
    d["output"].update(evaluate=False, write_text=False)
    cfg_file = work / f"ours-{os.getpid()}.yaml"
    cfg_file.write_text(yaml.safe_dump(d, sort_keys=False))
    gopts = dict(kv.split("=", 1) for kv in args.gensim)
    params = work / f"gensim-{os.getpid()}.json"
    params.write_text(json.dumps({"corpus_file": str(corpus), "arguments": gensim_arguments(cfg, args.workers),
                                  "options": gopts}))
    label = args.label or " ".join([*args.set, *(f"order={args.order}",) * (args.order != "file"), *(f"variant={args.variant}",) * bool(args.variant),
                                    *(f"gensim:{kv}" for kv in args.gensim)]) or "baseline"
    py = sys.executable
    for seed in args.seeds:
        for side in args.sides:
            out = work / f"{side}-{os.getpid()}-{seed}"
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            if side == "ours":
                _child([py, __file__, "ours-child", str(cfg_file), str(out), str(seed), args.variant],
                       f"{out}.log")
            else:
                _child([py, __file__, "gensim-child", str(params), str(out), str(seed)], f"{out}.log")
            seconds = time.perf_counter() - t0
            m = json.loads((out / "metrics.json").read_text())
            rec = {"label": label, "side": side, "seed": seed, "workers": args.workers, "epochs": cfg.train.epochs,
                   "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), **scores_of(out),
                   "seconds": round(seconds, 1), "train_seconds": round(m["train_seconds"], 1),
                   "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
                   "vocab_size": m["vocab_size"], "corpus_words": m["corpus_words"]}
            for k in ("effective_words", "raw_words", "pairs", "loss"):
                if k in m:
                    rec[k] = m[k]
            with open(args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rec.items()
                              if k not in ("pairs",)}), flush=True)
            import shutil
            shutil.rmtree(out, ignore_errors=True)
    cfg_file.unlink()
    params.unlink()
    summarise(args.log, only=label)


def interleaved_copy(path):
    """The file's two byte halves merged line by line, each next line from the half fewer words into."""
    path = Path(path)
    out = path.with_name(path.stem + "-interleave2.txt")
    if out.is_file():
        return out
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1          # gensim's worker 1 starts mid-line; we round up
    halves = [data[:cut].splitlines(keepends=True), data[cut:].splitlines(keepends=True)]
    done, at = [0, 0], [0, 0]
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        while at[0] < len(halves[0]) or at[1] < len(halves[1]):
            h = 0 if at[1] >= len(halves[1]) or (at[0] < len(halves[0]) and done[0] <= done[1]) else 1
            line = halves[h][at[h]]
            f.write(line)
            done[h] += len(line.split())
            at[h] += 1
    tmp.rename(out)
    return out


def summarise(log, only=None):
    rows = [json.loads(line) for line in Path(log).read_text().splitlines() if line.strip()]
    groups = {}
    for r in rows:
        if only is None or r["label"] == only:
            groups.setdefault((r["label"], r["workers"], r["epochs"]), {}).setdefault(r["side"], []).append(r)
    for (label, workers, epochs), sides in groups.items():
        print(f"\n{label} (workers {workers}, epochs {epochs})")
        for side, rs in sides.items():
            cells = []
            for k in KEYS:
                v = [r[k] for r in rs]
                sd = statistics.stdev(v) if len(v) > 1 else 0.0
                cells.append(f"{k} {statistics.mean(v):.4f}+-{sd:.4f}")
            print(f"  {side:<7} n={len(rs)} seeds {sorted(r['seed'] for r in rs)}: " + "  ".join(cells))
        if len(sides) == 2:
            o, g = sides["ours"], sides["gensim"]
            print("  ours-gensim " + "  ".join(
                f"{k} {statistics.mean(r[k] for r in o) - statistics.mean(r[k] for r in g):+.4f}" for k in KEYS))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "ours-child":
        ours_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else "")
    elif len(sys.argv) > 1 and sys.argv[1] == "gensim-child":
        gensim_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
