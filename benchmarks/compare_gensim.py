"""Stage one against gensim: our SGNS and gensim 4.4's `Word2Vec(sg=1, hs=0, negative=k)` trained on the same
tokens with the same settings, alternating, compared on speed (training only and end to end), memory, quality.

    .venv/bin/python benchmarks/compare_gensim.py --config configs/bench-en-mixed.yaml [--set k=v]...
                                                  [--repeats 3] [--json PATH] [--no-results]

How the comparison is made fair, and what each figure includes:

* Same tokens. gensim's fast multi-threaded mode (`corpus_file`) reads an uncompressed file, one sentence per
  line, tokens separated by whitespace. Before anything is timed, the corpus is read once with OUR reader and
  tokenizer (encoding, lower-casing, pattern, long lines cut at `corpus.max_sentence_length`) and written as such
  a file (`<cache_dir>/compare-gensim/<key>.txt`, kept for later comparisons). Both sides train from that file:
  ours with a whitespace tokenizer and no corpus cache, so ours too reads, tokenises and counts in every run.
* Same settings: `gensim_arguments` maps the config (workers, seed, schedule, sub-sampling, noise exponent,
  windows). One difference: our `vocab.max_vocab_size` keeps exactly the N most frequent words, gensim's
  `max_final_vocab` raises min_count until at most N remain (ties at the cut all go); the table shows both sizes.
* gensim as its documentation shows: `Word2Vec(corpus_file=PATH, sg=1, hs=0, negative=k, ..., workers=n,
  seed=s, callbacks=[timer])`, the constructor building the vocabulary and training, then
  `model.wv.save_word2vec_format(PATH, binary=True)`.
* Fresh processes, alternating: ours is `python -m pipeline train-embeddings`; gensim is this script's `gensim`
  entry (`gensim_main`), which stops before anything of ours is imported: its process holds gensim and the
  standard library only. Repeat i (seed `train.seed + i` on both sides) runs ours first when i is even, gensim
  first when i is odd. One untimed run of ours on a tiny corpus first fills Numba's on-disk compile cache.
* End to end (`seconds`): the child's wall time from process start to exit as the parent sees it: interpreter,
  imports, reading and tokenising the file, vocabulary, sampling tables, initial weights, training, writing
  vectors.bin (ours also writes vocab.tsv, config.yaml and metrics.json).
* Training only (`train_seconds`, `words_per_second` = raw corpus words x epochs / train_seconds). Ours: the
  driver's `train_seconds`, from the start of the first epoch to the end of the last: the SGNS kernels (loaded
  from Numba's cache at their first call), the learning-rate schedule, progress and the checkpoint written after
  every epoch but the last. gensim: from its `on_train_begin` callback to `on_train_end`, the whole `train` call
  the constructor makes: worker threads started and joined per epoch, reading the file, training. Neither
  includes building the vocabulary, the tables or the initial weights.
* Peak memory: the child's maximum resident set (`os.wait4` rusage). Quality: both sides' vectors scored by our
  evaluator (`evaluate_all`, equal to gensim's own scores), untimed. `loss` is ours only (the last epoch's mean
  per-pair loss; gensim's running loss is a float32 sum, not per pair, and computing it slows gensim down).
* Load: the 1-minute load average before the run and before every child, and the cores other processes used
  meanwhile (benchmarks/results.py `Load`); a run on a busy machine says so on stdout and in its row.

Outputs: a table on stdout (medians, [min-max] over repeats, ratios ours/gensim of the medians with the spread of
the per-repeat ratios), a dated row in its section of benchmarks/RESULTS.md (unless `--no-results`), and with
`--json PATH` {"ours", "gensim", "ratio", "spread", "info", "runs"} holding the medians of KEYS.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def gensim_main(params_file, out_dir, seed) -> None:
    """The gensim child: train as gensim's documentation shows, save vectors.bin and metrics.json
    (vocab_seconds: constructor start to on_train_begin; train_seconds: on_train_begin to on_train_end)."""
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    class TrainTimer(CallbackAny2Vec):
        def on_train_begin(self, model):
            self.begin = time.perf_counter()

        def on_train_end(self, model):
            self.end = time.perf_counter()

    params = json.loads(Path(params_file).read_text())
    timer = TrainTimer()
    t0 = time.perf_counter()
    model = Word2Vec(corpus_file=params["corpus_file"], **dict(params["arguments"], seed=int(seed)),
                     callbacks=[timer])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.wv.save_word2vec_format(str(out / "vectors.bin"), binary=True)
    (out / "metrics.json").write_text(json.dumps({
        "vocab_size": len(model.wv), "corpus_words": model.corpus_total_words, "epochs": model.epochs,
        "vocab_seconds": timer.begin - t0, "train_seconds": timer.end - timer.begin}))


if __name__ == "__main__" and sys.argv[1:2] == ["gensim"]:
    # The gensim child ends here, before the imports below: nothing of ours is loaded in its process.
    if len(sys.argv) != 5:
        sys.exit("usage: python benchmarks/compare_gensim.py gensim PARAMS.json OUT_DIR SEED")
    gensim_main(*sys.argv[2:])
    sys.exit(0)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import results  # noqa: E402  (benchmarks/results.py)
from pipeline import progress  # noqa: E402
from pipeline.atomicio import atomic_path, atomic_write_json, atomic_write_text  # noqa: E402
from pipeline.errors import UserError  # noqa: E402

KEYS = ("seconds", "train_seconds", "words_per_second", "peak_rss_mb", "loss", "wordsim353", "simlex999",
        "analogy")
PREPARED_VERSION = 1
SECTION = "## Side by side with gensim (compare-gensim)"
SECTION_TEXT = SECTION + """

How a row is measured (the docstring of `benchmarks/compare_gensim.py` has the details): the corpus is read once
with our reader and tokenizer and written as a plain file (not timed); our trainer and gensim 4.4
`Word2Vec(corpus_file=..., sg=1, hs=0, ...)` each train from that file in a fresh process with the same settings;
repeat i uses seed `train.seed + i` on both sides and runs ours first when i is even, gensim first when odd.
Both sides' vectors are scored by our evaluator; evaluation is not timed.

""" + results.header("corpus (words)", "settings", "repeats", "train s ours / gensim", "train speed-up",
                     "train words/s ours / gensim", "end-to-end s ours / gensim", "end-to-end speed-up",
                     "peak MB ours / gensim", "loss ours", "WS353 ours / gensim", "SL999 ours / gensim",
                     "analogy ours / gensim", "command")


# ---------------------------------------------------------------------------------------------------
# The config in gensim's terms; the prepared corpus
# ---------------------------------------------------------------------------------------------------
def gensim_arguments(cfg, workers: int) -> dict:
    """Keyword arguments of gensim's `Word2Vec` that train the model `cfg` describes."""
    tc, vc = cfg.train, cfg.vocab
    return dict(sg=1, hs=0, negative=tc.negative, vector_size=tc.vector_size, window=tc.window,
                shrink_windows=tc.shrink_windows, sample=tc.sample, ns_exponent=tc.ns_exponent,
                alpha=tc.alpha, min_alpha=tc.min_alpha, min_count=vc.min_count,
                max_final_vocab=vc.max_vocab_size,   # approximate: see the module docstring
                epochs=tc.epochs, workers=workers, seed=tc.seed, sorted_vocab=1)


def prepare_plain_corpus(cfg, folder: Path) -> tuple[Path, int]:
    """Our tokenizer's output as one space-separated sentence per line, written once (atomically) and reused.

    Returns (path, corpus words). Empty sentences are left out (neither side trains on them).
    """
    from pipeline.text import ReadStats, Tokenizer, iter_sentences, resolve_paths
    paths = resolve_paths(cfg.corpus.paths)
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    h.update(repr((PREPARED_VERSION, cfg.tokenizer.lowercase, cfg.tokenizer.pattern, cfg.corpus.encoding,
                   cfg.corpus.errors, cfg.corpus.max_sentence_length)).encode())
    out = folder / f"{h.hexdigest()[:20]}.txt"
    count = folder / f"{out.stem}.words"
    if out.is_file() and count.is_file():
        return out, int(count.read_text())
    tokenizer = Tokenizer.from_config(cfg.tokenizer)
    words = 0
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f, \
            progress.bar(unit="w", desc="preparing plain corpus") as pbar:
        for tokens in iter_sentences(paths, tokenizer, cfg.corpus.encoding, cfg.corpus.errors,
                                     cfg.corpus.max_sentence_length, ReadStats()):
            if not tokens:
                continue
            line = " ".join(tokens)
            if len(line.split()) != len(tokens):
                raise UserError(f"tokenizer.pattern {cfg.tokenizer.pattern!r} yields tokens containing "
                                f"whitespace; gensim's corpus_file reader cannot keep them whole")
            f.write(line + "\n")
            words += len(tokens)
            pbar.update(len(tokens))
    if words == 0:
        raise UserError(f"the corpus is empty: no tokens in {', '.join(map(str, paths))}; check corpus.paths")
    atomic_write_text(count, str(words))
    return out, words


def _ours_config(cfg, corpus: Path, workers: int) -> dict:
    """Our resolved config, reading the prepared file with a whitespace tokenizer and no cache."""
    from pipeline.config import to_dict
    d = to_dict(cfg)
    d["corpus"].update(paths=[str(corpus)], encoding="utf-8", errors="strict", cache_dir=None)
    d["tokenizer"] = {"lowercase": False, "pattern": None}
    d["train"]["workers"] = workers
    d["output"].update(evaluate=False, write_text=False)
    return d


# ---------------------------------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------------------------------
def _run_child(argv, log: Path) -> tuple[float, float]:
    """Run argv to completion; return (wall seconds, peak RSS MB). Failure -> UserError with its last line."""
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit status {proc.returncode}"
        raise UserError(f"{' '.join(argv[1:4])} failed: {last} (full output in {log})")
    return seconds, usage.ru_maxrss / 1024.0   # ru_maxrss is in KiB on Linux


def _run(side: str, config: Path, out: Path, seed: int) -> dict:
    """One timed child of `side` ("ours": config is our YAML; "gensim": the JSON of its arguments)."""
    if side == "ours":
        argv = [sys.executable, "-m", "pipeline", "--quiet", "train-embeddings", "--config", str(config),
                "--set", f"output.dir={out}", "--set", f"train.seed={seed}"]
    else:
        argv = [sys.executable, str(Path(__file__).resolve()), "gensim", str(config), str(out), str(seed)]
    seconds, rss = _run_child(argv, out.parent / f"{out.name}.log")
    m = json.loads((out / "metrics.json").read_text())
    return {"seconds": seconds, "peak_rss_mb": rss, "loss": m["loss"][-1] if side == "ours" else None,
            "train_seconds": m["train_seconds"],
            "words_per_second": m["corpus_words"] * m["epochs"] / max(m["train_seconds"], 1e-9),
            "read_vocab_seconds": m["encode_seconds"] if side == "ours" else m["vocab_seconds"],
            "vocab_size": m["vocab_size"], "corpus_words": m["corpus_words"]}


def _evaluate(run_dir: Path) -> dict:
    from pipeline.embeddings.evaluate import evaluate_all
    from pipeline.vectors import load_vectors
    wv = load_vectors(run_dir / "vectors.bin")
    scores = evaluate_all(wv.words, wv.vectors)
    return {k: scores[k] for k in ("wordsim353", "simlex999", "analogy")}


# ---------------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------------
def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio(a, b):
    return a / b if a is not None and b else None


def summarise(runs: dict) -> dict:
    """{"ours": medians, "gensim": medians, "ratio": ours/gensim of the medians, "spread": ...}."""
    result = {side: {k: _median(r[k] for r in runs[side]) for k in KEYS} for side in ("ours", "gensim")}
    result["ratio"] = {k: _ratio(result["ours"][k], result["gensim"][k]) for k in KEYS}
    spread = {}
    for side in ("ours", "gensim"):
        spread[side] = {}
        for k in KEYS:
            vals = [r[k] for r in runs[side] if r[k] is not None]
            spread[side][k] = [min(vals), max(vals)] if vals else None
    pairs = {k: [_ratio(o[k], g[k]) for o, g in zip(runs["ours"], runs["gensim"])] for k in KEYS}
    spread["ratio"] = {k: ([min(v), max(v)] if all(x is not None for x in v) and v else None)
                       for k, v in pairs.items()}
    result["spread"] = spread
    return result


_FORMATS = {"seconds": "{:.1f}", "train_seconds": "{:.1f}", "words_per_second": "{:,.0f}",
            "peak_rss_mb": "{:,.0f}", "loss": "{:.4f}", "wordsim353": "{:.3f}", "simlex999": "{:.3f}",
            "analogy": "{:.3f}"}
_LABELS = {"seconds": "seconds (end to end)", "train_seconds": "seconds (training)",
           "words_per_second": "raw words/s (training)", "peak_rss_mb": "peak RSS MB",
           "loss": "final loss (per pair)", "wordsim353": "WordSim-353 Spearman", "simlex999": "SimLex-999 Spearman",
           "analogy": "analogy accuracy"}


def _cell(fmt, median, spread):
    if median is None:
        return "n/a"
    text = fmt.format(median)
    if spread is not None and spread[0] != spread[1]:
        text += f" [{fmt.format(spread[0])}-{fmt.format(spread[1])}]"
    return text


def _speedup(summary, key) -> str:
    """gensim / ours of the medians of a time (above 1: ours faster)."""
    r = summary["ratio"][key]
    return "n/a" if not r else f"{1 / r:.2f}x"


def format_table(summary: dict, info: dict) -> str:
    s = summary["spread"]
    lines = [
        f"compare-gensim: {info['corpus']}",
        f"  {info['corpus_words']:,} words; vocabulary {info['vocab_ours']:,} (ours) / {info['vocab_gensim']:,} "
        f"(gensim); {info['settings']}; {info['repeats']} repeats, first side alternating, seeds {info['seeds']}",
        "  both sides train from the same prepared plain file (our tokenizer's output, prepared once, untimed);",
        "  end to end = process start to exit; training = each side's epochs only (see the script's docstring)",
        "  median [min-max] over repeats; ratio = ours/gensim of the medians [range of per-repeat ratios]",
        f"  load: {info['load']} on {info['cores']} cores",
        "",
        f"{'':<24}{'ours':<28}{'gensim':<28}{'ours/gensim':<24}",
    ]
    for k in KEYS:
        fmt = _FORMATS[k]
        lines.append(f"{_LABELS[k]:<24}{_cell(fmt, summary['ours'][k], s['ours'][k]):<28}"
                     f"{_cell(fmt, summary['gensim'][k], s['gensim'][k]):<28}"
                     f"{_cell('{:.3f}', summary['ratio'][k], s['ratio'][k]):<24}")
    phases = info["phases"]
    lines += ["", f"before training (medians): ours reading + vocabulary {phases['ours']:.1f} s, gensim build_vocab "
                  f"{phases['gensim']:.1f} s",
              f"speed-up gensim/ours: training {_speedup(summary, 'train_seconds')}, end to end "
              f"{_speedup(summary, 'seconds')}"]
    return "\n".join(lines)


def result_row(summary: dict, info: dict, load, command: str) -> str:
    import gensim
    o, g = summary["ours"], summary["gensim"]

    def pair(k):
        f = lambda v: "n/a" if v is None else _FORMATS[k].format(v)   # noqa: E731
        return f"{f(o[k])} / {f(g[k])}"
    return results.row(results.prefix(load, gensim=gensim.__version__) + [
        f"{info['corpus']} ({info['corpus_words']:,})", info["settings"], str(info["repeats"]),
        pair("train_seconds"), _speedup(summary, "train_seconds"), pair("words_per_second"),
        pair("seconds"), _speedup(summary, "seconds"), pair("peak_rss_mb"),
        "n/a" if o["loss"] is None else f"{o['loss']:.4f}",
        pair("wordsim353"), pair("simlex999"), pair("analogy"), f"`{command}`"])


# ---------------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------------
def compare_gensim(cfg, repeats: int = 1, json_path=None, write_results: bool = True, results_path=None,
                   command: str = "compare_gensim(...) from Python") -> dict:
    """Train ours and gensim `repeats` times each, the first side alternating; print the table; return the summary."""
    from pipeline.config import resolve_workers
    if repeats < 1:
        raise UserError(f"--repeats {repeats}: give at least 1")
    try:
        import gensim  # noqa: F401
    except ImportError:
        raise UserError("gensim is not installed; install the project's dependencies (make install)") from None
    import yaml
    load = results.Load()
    workers = resolve_workers(cfg.train.workers)
    base = Path(cfg.corpus.cache_dir) if cfg.corpus.cache_dir else Path(tempfile.gettempdir())
    prepared_dir = (base / "compare-gensim").resolve()
    try:
        prepared_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {prepared_dir}: {exc.strerror}; set corpus.cache_dir to a writable "
                        f"folder") from None
    corpus, corpus_words = prepare_plain_corpus(cfg, prepared_dir)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=prepared_dir))
    try:
        configs = {"ours": work / "ours.yaml", "gensim": work / "gensim.json"}
        configs["ours"].write_text(yaml.safe_dump(_ours_config(cfg, corpus, workers), sort_keys=False))
        configs["gensim"].write_text(json.dumps({"corpus_file": str(corpus),
                                                 "arguments": gensim_arguments(cfg, workers)}))
        # Warm-up (untimed): fills Numba's compile cache so no timed run pays for compilation.
        _run_child([sys.executable, "-m", "pipeline", "--quiet", "train-embeddings", "--config", str(configs["ours"]),
                    "--set", "corpus.paths=[gensim:lee_background.cor]", "--set", "vocab.min_count=1",
                    "--set", "train.epochs=1", "--set", f"output.dir={work / 'warmup'}"], work / "warmup.log")
        runs = {"ours": [], "gensim": []}
        seeds = [cfg.train.seed + i for i in range(repeats)]
        for i, seed in enumerate(seeds):
            for side in ("ours", "gensim") if i % 2 == 0 else ("gensim", "ours"):
                load.check(f"repeat {i + 1}/{repeats}, {side} (seed {seed})")
                out = work / f"{side}-{i}"
                record = _run(side, configs[side], out, seed)
                record.update(_evaluate(out))           # not timed
                shutil.rmtree(out, ignore_errors=True)
                runs[side].append(record)
                progress.say(f"  {side}: {record['seconds']:.1f} s end to end (before training "
                             f"{record['read_vocab_seconds']:.1f}, training {record['train_seconds']:.1f}), "
                             f"{record['words_per_second']:,.0f} words/s, {record['peak_rss_mb']:,.0f} MB, "
                             f"loss {record['loss']}, WS353 {record['wordsim353']}, SL999 {record['simlex999']}, "
                             f"analogy {record['analogy']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = summarise(runs)
    tc = cfg.train
    info = {
        "corpus": ", ".join(map(str, cfg.corpus.paths)), "corpus_words": corpus_words,
        "vocab_ours": runs["ours"][0]["vocab_size"], "vocab_gensim": runs["gensim"][0]["vocab_size"],
        "settings": f"dim {tc.vector_size}, window {tc.window}, negative {tc.negative}, sample {tc.sample:g}, "
                    f"min_count {cfg.vocab.min_count}, epochs {tc.epochs}, workers {workers}, "
                    f"ours alpha_schedule {tc.alpha_schedule}",
        "cores": results.cores(), "load": load.text(), "busy": load.busy,
        "repeats": repeats, "seeds": f"{seeds[0]}..{seeds[-1]}" if repeats > 1 else str(seeds[0]),
        "phases": {side: _median(r["read_vocab_seconds"] for r in runs[side]) for side in runs},
    }
    print(format_table(summary, info))
    if json_path:
        atomic_write_json(json_path, {**{k: summary[k] for k in ("ours", "gensim", "ratio", "spread")},
                                      "info": info, "runs": runs})
    if write_results:
        path = results.append(SECTION, SECTION_TEXT, [result_row(summary, info, load, command)],
                              path=results_path or results.RESULTS)
        print(f"appended a row to {path}")
    return summary


def main(argv=None) -> int:
    from pipeline.config import EmbeddingsConfig, load_config
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="stage one's YAML (e.g. configs/bench-en-mixed.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one option (repeatable)")
    p.add_argument("--repeats", type=int, default=1, help="runs of each side (medians reported)")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--no-results", action="store_true", help="do not append to benchmarks/RESULTS.md")
    p.add_argument("--quiet", action="store_true", help="no progress lines (the table is printed)")
    args = p.parse_args(argv)
    progress.QUIET = args.quiet
    command = shlex.join([".venv/bin/python", "benchmarks/compare_gensim.py",
                          *(sys.argv[1:] if argv is None else argv)])
    try:
        compare_gensim(load_config(EmbeddingsConfig, args.config, args.set), args.repeats, args.json,
                       write_results=not args.no_results, command=command)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
