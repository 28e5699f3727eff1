"""Stage one on a Dask cluster against one process: quality at 1, 2, 4 workers (mean over seeds), time per epoch,
the overhead ratio against the one-process path measured in the same run, bytes moved per epoch, the cost model.

    .venv/bin/python benchmarks/bench_dask.py --config configs/bench-en-mixed.yaml [--set k=v]...
                                              [--workers 1 2 4] [--seeds 1 2 3] [--sync-words 200000 ...]
                                              [--json PATH] [--no-results]
    .venv/bin/python benchmarks/bench_dask.py --config configs/bench-en-mixed.yaml --set train.epochs=2 \\
        --workers 2 4 --seeds 1 --sync-words 50000 200000 1000000 --no-results          # a screen of sync_words

Every training is `python -m pipeline train-embeddings --config F` in a fresh process: the one-process run with
the config as it is (`cluster.address: null`, `train.workers` threads, the encoded corpus cached), then for
each worker count n and sync_words s a run with `cluster.address=local cluster.workers=n cluster.shards=0`
(a LocalCluster of n processes x 1 thread started by the command, one shard per worker) and
`cluster.sync_words=s`. Seeds are the outer loop, so a drift of the machine's load touches every setting.
One untimed tiny run first fills Numba's on-disk cache. Per run the script reads metrics.json: the scores
(the run's own evaluation, not timed), the last epoch's loss, seconds per epoch (one process: train_seconds /
epochs; cluster: the driver's per-epoch wall time, every round's listing, sub-rounds and model trips included,
reading the corpus excluded) and the bytes the driver counted: the model's blocks sent out, handed along and
gathered back each round, and the pairs the shards listed.

The table: per setting the mean over seeds (and the spread) of WordSim-353, SimLex-999 and analogy accuracy,
the difference to the one-process mean (the target: within 0.01 at 2 and 4 workers), median seconds per
epoch and their ratio to the one-process run's (the overhead ratio: above 1, the cluster is slower; on this
2-core machine 4 workers share 2 cores), MB moved per epoch, re-run tasks. Then the cost model fitted to these
figures and its projection to 16 and 64 machines (assumptions printed with it). Rows go to RESULTS.md through
results.py (section "Stage one on a Dask cluster"), with the load.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import results  # noqa: E402  (benchmarks/results.py)

SCORES = ("wordsim353", "simlex999", "analogy")
SECTION = "## Stage one on a Dask cluster (bench_dask.py)"
SECTION_TEXT = SECTION + """

How a row is measured (the docstring of `benchmarks/bench_dask.py` has the details): each setting trains in a
fresh process, the one-process path first (the config's `train.workers` threads), then `cluster.address=local`
with n worker processes x 1 thread and one shard per worker; scores are means over the seeds [min-max];
"vs one process" is the difference of the means; seconds per epoch are medians over seeds and exclude reading
the corpus; the overhead ratio is that median over the one-process median of the same run; MB per epoch are
the bytes the driver counted (the model's blocks out, along and back each round + the pairs).

""" + results.header("corpus", "settings", "seeds", "run", "rounds/epoch", "WS353", "SL999", "analogy",
                     "vs one process (WS353 / SL999 / analogy)", "s/epoch", "overhead ratio", "MB/epoch (model + pairs)",
                     "re-run tasks", "command")


def run_child(config: str, sets: list, out: Path) -> dict:
    """Train in a fresh process; return its metrics.json (a failure stops the benchmark with its last line)."""
    argv = [sys.executable, "-m", "pipeline", "--quiet", "train-embeddings", "--config", config]
    for s in sets + [f"output.dir={out}"]:
        argv += ["--set", s]
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{shlex.join(argv[2:])} failed: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads((out / "metrics.json").read_text())


def record(m: dict) -> dict:
    """The figures of one run."""
    c = m.get("cluster")
    per_epoch = c["seconds_per_epoch"] if c else [m["train_seconds"] / m["epochs"]]
    return {**{k: m[k] for k in SCORES}, "loss": m["loss"][-1], "seconds_per_epoch": statistics.median(per_epoch),
            "words": m["trained_words"], "vocab": m["vocab_size"], "read_seconds": m["encode_seconds"],
            "rounds": c["rounds_per_epoch"] if c else None, "reruns": c["reruns"] if c else 0,
            "model_mb": statistics.mean(c["model_bytes_per_epoch"]) / 1e6 if c else 0.0,
            "pair_mb": statistics.mean(c["pair_bytes_per_epoch"]) / 1e6 if c else 0.0}


def summarise(records: list) -> dict:
    s = {k: statistics.mean(r[k] for r in records) for k in SCORES + ("loss", "model_mb", "pair_mb")}
    s.update({f"{k}_range": (min(r[k] for r in records), max(r[k] for r in records)) for k in SCORES})
    s["seconds_per_epoch"] = statistics.median(r["seconds_per_epoch"] for r in records)
    s["rounds"], s["reruns"] = records[0]["rounds"], sum(r["reruns"] or 0 for r in records)
    s["words"], s["vocab"], s["seeds"] = records[0]["words"], records[0]["vocab"], len(records)
    return s


def cost_model(summaries: dict, dim: int, link: float = 1e9) -> list[str]:
    """Lines of the cost model fitted to this run's figures and its projection to 16 and 64 machines."""
    one = summaries["one process"]
    N, V = one["words"], one["vocab"]
    model = 2 * V * dim * 4                                 # W_in + W_out, float32
    lines = [f"cost model (N = {N:,} words per epoch, V = {V:,}, D = {dim}, model 8VD = {model / 1e6:.1f} MB):",
             "  per round the driver sends the model's K blocks out and gathers them back (2 x 8VD, through the "
             "driver's link), each W_in block is handed on K - 1 times (worker to worker, (K - 1) x 4VD) and every "
             "pair goes once from its shard to its bucket's task (worker to worker); R = ceil(N / (K x sync_words)) "
             "rounds per epoch for K shards (one per worker)",
             "  bytes per epoch = R x (16VD + 4(K - 1)VD) + pairs ~ N / sync_words x (4 + 12 / K) VD + pairs"]
    clusters = {k: v for k, v in summaries.items() if k != "one process"}
    for name, s in clusters.items():
        lines.append(f"  {name}: measured {(s['model_mb'] + s['pair_mb']):,.0f} MB per epoch ({s['rounds']} rounds; "
                     f"model {s['model_mb']:,.0f} MB, pairs {s['pair_mb']:,.0f} MB = "
                     f"{s['pair_mb'] * 1e6 / N:.1f} bytes per word)")
    base = next((s for n, s in clusters.items() if n.startswith("1 ")), None)
    if base is None:
        return lines
    speed = N / base["seconds_per_epoch"]                    # one worker, one thread, communication included
    name = next(n for n in clusters if n.startswith("1 "))
    sync = int(name.split("sync ")[1].replace(",", ""))
    pairs = base["pair_mb"] * 1e6
    lines += [f"  one worker trains {speed:,.0f} words/s here (1-worker cluster, rounds included); projection "
              f"for M machines of one such worker each, every link at {link / 1e9:g} GB/s, no overlap of traffic "
              f"and training, sync_words {sync:,}:",
              "  seconds per epoch(M) = N / (M x speed) + R(M) x 16VD / link (the driver's) + "
              "(R(M) x 4(M - 1)VD + pairs) / (M x link) (the workers' links side by side), R(M) = N / (M x sync)"]
    for M in (1, 2, 4, 16, 64):
        compute = N / (M * speed)
        R = max(1, -(-N // (M * sync)))
        comm = (R * 2 * model + (R * (M - 1) * model / 2 + pairs) / M) / link
        lines.append(f"    M = {M:>2}: {compute + comm:7.1f} s = compute {compute:6.1f} + traffic {comm:5.2f} "
                     f"(speed-up {(N / speed) / (compute + comm):4.1f}x over one worker)")
    lines.append("  the traffic shrinks with M (fewer rounds per epoch for a given sync_words); what does not is a "
                 "round's fixed cost (K^2 tasks, the model through the driver): at a billion words and V = 1M, D = "
                 "300 the model is 2.4 GB, so give such runs sync_words in the millions")
    return lines


def format_table(summaries: dict, info: dict) -> str:
    one = summaries["one process"]
    lines = [f"bench_dask: {info['corpus']} ({one['words']:,} words trained per epoch, vocabulary {one['vocab']:,});"
             f" {info['settings']}; seeds {info['seeds']}", f"  load: {info['load']} on {results.cores()} cores", "",
             f"{'run':<26}{'rounds':>7}{'WS353':>8}{'SL999':>8}{'analogy':>9}   {'vs one process':<24}"
             f"{'s/epoch':>8}{'ratio':>7}{'MB/epoch':>10}{'re-runs':>8}"]
    for name, s in summaries.items():
        diff = "" if s is one else " / ".join(f"{s[k] - one[k]:+.3f}" for k in SCORES)
        lines.append(f"{name:<26}{s['rounds'] or '':>7}{s['wordsim353']:>8.3f}{s['simlex999']:>8.3f}"
                     f"{s['analogy']:>9.3f}   {diff:<24}{s['seconds_per_epoch']:>8.1f}"
                     f"{s['seconds_per_epoch'] / one['seconds_per_epoch']:>7.2f}"
                     f"{s['model_mb'] + s['pair_mb']:>10,.0f}{s['reruns']:>8}")
    return "\n".join(lines)


def result_rows(summaries: dict, info: dict, load, command: str) -> list:
    one, rows = summaries["one process"], []
    for name, s in summaries.items():
        scores = [f"{s[k]:.3f} [{s[k + '_range'][0]:.3f}-{s[k + '_range'][1]:.3f}]" for k in SCORES]
        diff = "—" if s is one else " / ".join(f"{s[k] - one[k]:+.3f}" for k in SCORES)
        mb = "0" if s is one else f"{s['model_mb']:,.0f} + {s['pair_mb']:,.0f}"
        rows.append(results.row(results.prefix(load) + [
            f"{info['corpus']} ({one['words']:,})", info["settings"], info["seeds"], name, s["rounds"] or "—",
            *scores, diff, f"{s['seconds_per_epoch']:.1f}", f"{s['seconds_per_epoch'] / one['seconds_per_epoch']:.2f}",
            mb, s["reruns"], f"`{command}`"]))
    return rows


def main(argv=None) -> int:
    from pipeline.config import EmbeddingsConfig, load_config
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--sync-words", type=int, nargs="+", default=None, help="default: the config's cluster.sync_words")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--no-results", action="store_true")
    p.add_argument("--label", default="", help="put before the settings cell, e.g. 'SCREEN (2 epochs, 1 seed)'")
    p.add_argument("--rows-from", metavar="JSON", help="write the rows of a run saved with --json (its load and "
                   "command) instead of training")
    args = p.parse_args(argv)
    if args.rows_from:
        return write_saved_rows(Path(args.rows_from), args.label)
    cfg = load_config(EmbeddingsConfig, args.config, args.set)
    syncs = args.sync_words or [cfg.cluster.sync_words]
    settings = {"one process": ["cluster.address=null"]}
    for n in args.workers:
        for s in syncs:
            settings[f"{n} worker{'s' if n > 1 else ''}, sync {s:,}"] = [
                "cluster.address=local", f"cluster.workers={n}", "cluster.threads_per_worker=1", "cluster.shards=0",
                f"cluster.sync_words={s}"]
    load = results.Load()
    work = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    runs = {name: [] for name in settings}
    try:
        run_child(args.config, args.set + ["corpus.paths=[gensim:lee_background.cor]", "train.epochs=1",
                                           "output.evaluate=false", "cluster.address=null"], work / "warmup")
        for seed in args.seeds:
            for name, sets in settings.items():
                load.check(f"seed {seed}, {name}")
                t0 = time.perf_counter()
                m = run_child(args.config, args.set + sets + [f"train.seed={seed}"], work / "run")
                runs[name].append(record(m))
                r = runs[name][-1]
                print(f"  seed {seed}, {name}: {time.perf_counter() - t0:.0f} s; WS353 {r['wordsim353']:.3f} "
                      f"SL999 {r['simlex999']:.3f} analogy {r['analogy']:.3f} loss {r['loss']:.4f}; "
                      f"{r['seconds_per_epoch']:.1f} s/epoch; {r['model_mb'] + r['pair_mb']:,.0f} MB/epoch; "
                      f"re-runs {r['reruns']}", flush=True)
                shutil.rmtree(work / "run", ignore_errors=True)
                if args.json:                 # so far: a run cut short keeps its finished trainings
                    Path(args.json).write_text(json.dumps({"runs": runs, "config": args.config, "sets": args.set,
                                                           "seeds": args.seeds, "load": load.text()}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summaries = {name: summarise(rs) for name, rs in runs.items()}
    tc = cfg.train
    info = {"corpus": ", ".join(cfg.corpus.paths), "seeds": " ".join(map(str, args.seeds)), "load": load.text(),
            "settings": (f"{args.label}: " if args.label else "") + f"dim {tc.vector_size}, window {tc.window}, negative {tc.negative}, sample {tc.sample:g}, "
                        f"min_count {cfg.vocab.min_count}, epochs {tc.epochs}, one process {tc.workers} threads, "
                        f"alpha_schedule {tc.alpha_schedule}"}
    print(format_table(summaries, info))
    model_lines = cost_model(summaries, tc.vector_size)
    print("\n".join(model_lines))
    command = shlex.join([".venv/bin/python", "benchmarks/bench_dask.py", *(argv if argv is not None else sys.argv[1:])])
    if args.json:
        Path(args.json).write_text(json.dumps({"summaries": summaries, "runs": runs, "info": info, "dim": tc.vector_size,
                                               "command": command, "cost_model": model_lines}, indent=1))
    if not args.no_results:
        write_rows(summaries, info, load, command, model_lines)
    return 0


def write_rows(summaries, info, load, command, model_lines) -> None:
    block = f"Cost model of the run of {results.prefix(load)[0]} UTC (`{command}`):\n\n" + \
        "\n".join("    " + line for line in model_lines)
    path = results.append(SECTION, SECTION_TEXT, result_rows(summaries, info, load, command), block=block)
    print(f"appended {len(summaries)} rows to {path}")


class _SavedLoad:
    """The load cell of a run saved with --json (Load.text() at its end)."""
    def __init__(self, text):
        self._text = text

    def text(self):
        return self._text


def write_saved_rows(path: Path, label: str) -> int:
    """--rows-from: the rows and cost model of a run saved with --json."""
    saved = json.loads(path.read_text())
    if "summaries" not in saved:                                     # a run cut short: what it finished
        return _write_partial(saved, path, label)
    summaries, info = saved["summaries"], saved["info"]
    if label and not info["settings"].startswith(label):
        info["settings"] = f"{label}: {info['settings']}"
    print(format_table(summaries, info))
    write_rows(summaries, info, _SavedLoad(info["load"]), saved["command"], saved["cost_model"])
    return 0


def _write_partial(saved: dict, path: Path, label: str) -> int:
    """--rows-from on the JSON of a run stopped before its end: the settings it finished, seeds as run."""
    from pipeline.config import EmbeddingsConfig, load_config
    runs = {name: rs for name, rs in saved["runs"].items() if rs}
    n = min(len(rs) for rs in runs.values())
    runs = {name: rs[:n] for name, rs in runs.items()}
    cfg = load_config(EmbeddingsConfig, saved["config"], saved["sets"])
    tc = cfg.train
    summaries = {name: summarise(rs) for name, rs in runs.items()}
    info = {"corpus": ", ".join(cfg.corpus.paths), "seeds": " ".join(map(str, saved["seeds"][:n])),
            "load": saved["load"], "settings": (f"{label}: " if label else "") + f"dim {tc.vector_size}, window "
            f"{tc.window}, negative {tc.negative}, sample {tc.sample:g}, min_count {cfg.vocab.min_count}, epochs "
            f"{tc.epochs}, one process {tc.workers} threads, alpha_schedule {tc.alpha_schedule}"}
    print(format_table(summaries, info))
    model_lines = cost_model(summaries, tc.vector_size)
    print("\n".join(model_lines))
    command = shlex.join([".venv/bin/python", "benchmarks/bench_dask.py", "--config", saved["config"],
                          *[a for s in saved["sets"] for a in ("--set", s)]]) + f" (stopped after {n} seed(s))"
    write_rows(summaries, info, _SavedLoad(saved["load"]), command, model_lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
