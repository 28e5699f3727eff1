"""Side by side with gensim: train our SGNS and gensim 4.4's `Word2Vec(sg=1, hs=0, negative=k)` on the
same tokens with the same settings, alternating runs, and compare speed, memory and quality.

    pipeline compare-gensim --config configs/bench-en-mixed.yaml [--set k=v]... [--repeats 3] [--json PATH]
                            [--no-results]

How the comparison is made fair (and what it measures):

* **Same tokens.** gensim's fast multi-threaded mode (`corpus_file`) needs an uncompressed file, one sentence
  per line, tokens separated by whitespace. Before anything is timed, the corpus is read once with OUR reader
  and tokenizer (encoding, lower-casing, pattern, long lines cut at `corpus.max_sentence_length`) and written
  as such a file (`<cache_dir>/compare-gensim/<key>.txt`, kept for later comparisons). Both sides then train
  from that one prepared file: ours with a whitespace tokenizer and no corpus cache, so ours too pays for
  reading, tokenising and counting in every timed run. The preparation itself is timed for neither side.
* **Same settings.** The config is mapped onto gensim's arguments by `gensim_arguments` (same workers, seed,
  schedule, sub-sampling, noise exponent, windows). One semantic difference: our `vocab.max_vocab_size` keeps
  exactly the N most frequent words, gensim's `max_final_vocab` raises min_count until at most N words remain
  (ties at the cut are all dropped), so the vocabularies can differ when it is set; the table shows both sizes.
* **Separate processes, alternating.** Each run is a fresh child process (ours: `python -m pipeline
  train-embeddings`; gensim: `python -m pipeline.embeddings.compare gensim ...`, which imports only gensim),
  run ours, gensim, ours, gensim ... `repeats` times; repeat i uses seed `train.seed + i` on both sides.
  `seconds` is wall time from process start to exit (imports, reading, vocabulary, training, writing
  vectors.bin); peak memory is the child's maximum resident set (`os.wait4` rusage). One untimed warm-up run
  of ours on a tiny corpus first fills Numba's on-disk compile cache, as any second run of a user would find it.
* **Same evaluation.** Both sides' saved vectors are scored by our evaluator (`evaluate.evaluate_all`, which
  reproduces gensim's own scores); evaluation is not timed.
* `words_per_second` is raw corpus words x epochs / training seconds (as each side times its own training
  call). `loss` is ours only: the mean per-pair loss of the last epoch. gensim's `get_latest_training_loss()`
  is a float32 running sum that is not per pair (and computing it slows gensim down), so it is reported n/a.

Outputs: one table on stdout (medians, [min-max] over repeats, ratios ours/gensim of the medians with the
spread of the per-repeat ratios), a dated row appended to `benchmarks/RESULTS.md` (unless `--no-results`), and
with `--json PATH` `{"ours": {...}, "gensim": {...}, "ratio": {...}}` holding the medians of `seconds`,
`words_per_second`, `peak_rss_mb`, `loss`, `wordsim353`, `simlex999`, `analogy` (plus `runs`, the raw figures).
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import UserError, atomic_path, atomic_write_json, atomic_write_text
from ..results import insert_rows

KEYS = ("seconds", "words_per_second", "peak_rss_mb", "loss", "wordsim353", "simlex999", "analogy")
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "RESULTS.md"
PREPARED_VERSION = 1


# ---------------------------------------------------------------------------------------------------
# The config in gensim's terms
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
    from ..text import ReadStats, Tokenizer, iter_sentences, resolve_paths
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
    from .. import progress
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


def _ours_config(cfg, corpus: Path, workers: int) -> dict:
    """Our resolved config, reading the prepared file with a whitespace tokenizer and no cache."""
    from ..config import to_dict
    d = to_dict(cfg)
    d["corpus"].update(paths=[str(corpus)], encoding="utf-8", errors="strict", cache_dir=None)
    d["tokenizer"] = {"lowercase": False, "pattern": None}
    d["train"]["workers"] = workers
    d["output"].update(evaluate=False, write_text=False)
    return d


def _run_ours(cfg_file: Path, out: Path, seed: int) -> dict:
    argv = [sys.executable, "-m", "pipeline", "--quiet", "train-embeddings", "--config", str(cfg_file),
            "--set", f"output.dir={out}", "--set", f"train.seed={seed}"]
    seconds, rss = _run_child(argv, out.parent / f"{out.name}.log")
    m = json.loads((out / "metrics.json").read_text())
    return {"seconds": seconds, "peak_rss_mb": rss, "loss": m["loss"][-1],
            "words_per_second": m["corpus_words"] * m["epochs"] / max(m["train_seconds"], 1e-9),
            "read_vocab_seconds": m["encode_seconds"], "train_seconds": m["train_seconds"],
            "vocab_size": m["vocab_size"], "corpus_words": m["corpus_words"]}


def _run_gensim(params: Path, out: Path, seed: int) -> dict:
    argv = [sys.executable, "-m", "pipeline.embeddings.compare", "gensim", str(params), str(out), str(seed)]
    seconds, rss = _run_child(argv, out.parent / f"{out.name}.log")
    m = json.loads((out / "metrics.json").read_text())
    return {"seconds": seconds, "peak_rss_mb": rss, "loss": None,
            "words_per_second": m["corpus_words"] * m["epochs"] / max(m["train_seconds"], 1e-9),
            "read_vocab_seconds": m["vocab_seconds"], "train_seconds": m["train_seconds"],
            "vocab_size": m["vocab_size"], "corpus_words": m["corpus_words"]}


def gensim_main(params_file, out_dir, seed) -> None:
    """Child entry point: train gensim as its constructor would (build_vocab, then train), save
    vectors.bin and metrics.json. Imports nothing heavier than gensim."""
    from gensim.models import Word2Vec
    params = json.loads(Path(params_file).read_text())
    corpus, kwargs = params["corpus_file"], params["arguments"]
    kwargs["seed"] = int(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = Word2Vec(**kwargs)                         # no corpus given: nothing is trained yet
    model.build_vocab(corpus_file=corpus)
    t1 = time.perf_counter()
    model.train(corpus_file=corpus, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                epochs=model.epochs, start_alpha=model.alpha, end_alpha=model.min_alpha)
    t2 = time.perf_counter()
    model.wv.save_word2vec_format(str(out / "vectors.bin"), binary=True)
    (out / "metrics.json").write_text(json.dumps({
        "vocab_size": len(model.wv), "corpus_words": model.corpus_total_words, "epochs": model.epochs,
        "vocab_seconds": t1 - t0, "train_seconds": t2 - t1}))


def _evaluate(run_dir: Path) -> dict:
    from ..vectors import load_vectors
    from .evaluate import evaluate_all
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


_FORMATS = {"seconds": "{:.1f}", "words_per_second": "{:,.0f}", "peak_rss_mb": "{:,.0f}", "loss": "{:.4f}",
            "wordsim353": "{:.3f}", "simlex999": "{:.3f}", "analogy": "{:.3f}"}
_LABELS = {"seconds": "seconds (end to end)", "words_per_second": "raw words/s (training)",
           "peak_rss_mb": "peak RSS MB", "loss": "final loss (per pair)", "wordsim353": "WordSim-353 Spearman",
           "simlex999": "SimLex-999 Spearman", "analogy": "analogy accuracy"}


def _cell(fmt, median, spread):
    if median is None:
        return "n/a"
    text = fmt.format(median)
    if spread is not None and spread[0] != spread[1]:
        text += f" [{fmt.format(spread[0])}-{fmt.format(spread[1])}]"
    return text


def format_table(summary: dict, info: dict) -> str:
    s = summary["spread"]
    lines = [
        f"compare-gensim: {info['corpus']}",
        f"  {info['corpus_words']:,} words; vocabulary {info['vocab_ours']:,} (ours) / {info['vocab_gensim']:,} "
        f"(gensim); {info['settings']}; {info['repeats']} alternating repeats, seeds {info['seeds']}",
        "  both sides train from the same prepared plain file (our tokenizer's output, prepared once, untimed);",
        "  seconds = process start to exit incl. reading, vocabulary, training, saving; evaluation untimed.",
        "  median [min-max] over repeats; ratio = ours/gensim of the medians [range of per-repeat ratios]",
        f"  1-minute load average before / after: {info['load']} on {info['cores']} cores",
        "",
        f"{'':<24}{'ours':<28}{'gensim':<28}{'ours/gensim':<24}",
    ]
    for k in KEYS:
        fmt = _FORMATS[k]
        lines.append(f"{_LABELS[k]:<24}{_cell(fmt, summary['ours'][k], s['ours'][k]):<28}"
                     f"{_cell(fmt, summary['gensim'][k], s['gensim'][k]):<28}"
                     f"{_cell('{:.3f}', summary['ratio'][k], s['ratio'][k]):<24}")
    extra = info["phases"]
    lines += ["", f"phases (medians): ours read+vocab {extra['ours'][0]:.1f} s, train {extra['ours'][1]:.1f} s; "
                  f"gensim build_vocab {extra['gensim'][0]:.1f} s, train {extra['gensim'][1]:.1f} s"]
    if summary["ratio"]["seconds"]:
        lines.append(f"end-to-end speed-up gensim/ours: {1 / summary['ratio']['seconds']:.2f}x")
    return "\n".join(lines)


RESULTS_TITLE = """# Benchmark results

Each benchmark owns a section below; its command appends dated rows to its section's table (see
`benchmarks/README.md`). Only ratios measured in the same run mean anything: the machine's speed drifts by 25%
and other jobs may share its cores.
"""

SECTION = "## Side by side with gensim (compare-gensim)"

SECTION_TEXT = SECTION + """

How a row is measured: the corpus is read once with our reader and tokenizer and written as a plain file, one
sentence per line (not timed); then our trainer and gensim 4.4 `Word2Vec(sg=1, hs=0, corpus_file=...)` each train
from that same file in a fresh process with the same settings, alternating ours, gensim, ours, gensim ...;
repeat i uses seed `train.seed + i` on both sides. Both sides' vectors are scored by our evaluator (equal to
gensim's, see tests/test_evaluate.py); evaluation is not timed.

Columns: **date** (UTC); **machine**: `platform.processor()`, usable cores, CPU model (/proc/cpuinfo);
**versions**: Python / Numba / gensim; **corpus** and its raw word count; **settings** (dim, window, negative,
sample, min_count, epochs, workers); **repeats**; then medians over the repeats, ours / gensim:
**seconds** wall time from process start to exit (imports, reading, tokenising, vocabulary, training, writing
vectors.bin); **speed-up** gensim seconds / our seconds (of the medians; above 1 means ours is faster);
**words/s** raw corpus words x epochs / training seconds; **peak MB** the child's maximum resident set;
**loss** our last-epoch mean per-pair loss (gensim's running loss is not comparable: n/a);
**WS353**, **SL999** Spearman's rho on WordSim-353 and SimLex-999; **analogy** Google analogy accuracy (3CosAdd
over the 300,000 most frequent words, gensim's default); **load** the 1-minute load average before / after;
**command** that produced the row.

| date | machine | versions | corpus (words) | settings | repeats | seconds ours / gensim | speed-up | words/s ours / gensim | peak MB ours / gensim | loss ours | WS353 ours / gensim | SL999 ours / gensim | analogy ours / gensim | load | command |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
"""


def machine_description() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from ..config import resolve_workers
    import gensim
    import numba
    return {"processor": platform.processor() or platform.machine(), "cores": resolve_workers(0),
            "cpu": model or "unknown", "python": platform.python_version(), "numba": numba.__version__,
            "gensim": gensim.__version__}


def append_results(path: Path, summary: dict, info: dict, machine: dict, command: str) -> None:
    o, g = summary["ours"], summary["gensim"]

    def pair(k, fmt):
        f = lambda v: "n/a" if v is None else fmt.format(v)   # noqa: E731
        return f"{f(o[k])} / {f(g[k])}"
    speedup = summary["ratio"]["seconds"]
    row = [datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
           f"{machine['processor']}, {machine['cores']} cores, {machine['cpu']}",
           f"{machine['python']} / {machine['numba']} / {machine['gensim']}",
           f"{info['corpus']} ({info['corpus_words']:,})", info["settings"], str(info["repeats"]),
           pair("seconds", "{:.1f}"), "n/a" if not speedup else f"{1 / speedup:.2f}x",
           pair("words_per_second", "{:,.0f}"), pair("peak_rss_mb", "{:,.0f}"),
           "n/a" if o["loss"] is None else f"{o['loss']:.4f}",
           pair("wordsim353", "{:.3f}"), pair("simlex999", "{:.3f}"), pair("analogy", "{:.3f}"),
           info.get("load", "n/a"), f"`{command}`"]
    line = "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |\n"
    text = path.read_text(encoding="utf-8") if path.is_file() else RESULTS_TITLE
    atomic_write_text(path, insert_rows(text, SECTION, SECTION_TEXT, [line]))


def _command_line() -> str:
    if Path(sys.argv[0]).name in ("pipeline", "__main__.py"):
        return shlex.join(["pipeline", *sys.argv[1:]])
    return "compare_gensim(...) from Python"


# ---------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------
def compare_gensim(cfg, repeats: int = 1, json_path=None, write_results: bool = True, results_path=None) -> dict:
    """Train ours and gensim alternately `repeats` times; print the table; return the summary."""
    import yaml

    from .. import progress
    from ..config import resolve_workers
    if repeats < 1:
        raise UserError(f"--repeats {repeats}: give at least 1")
    try:
        import gensim  # noqa: F401
    except ImportError:
        raise UserError("gensim is not installed; install the project's dependencies (make install)") from None
    workers = resolve_workers(cfg.train.workers)
    base = Path(cfg.corpus.cache_dir) if cfg.corpus.cache_dir else Path(tempfile.gettempdir())
    prepared_dir = (base / "compare-gensim").resolve()
    try:
        prepared_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {prepared_dir}: {exc.strerror}; set corpus.cache_dir to a writable "
                        f"folder") from None
    corpus, corpus_words = prepare_plain_corpus(cfg, prepared_dir)
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="run-", dir=prepared_dir))
    try:
        cfg_file = work / "ours.yaml"
        cfg_file.write_text(yaml.safe_dump(_ours_config(cfg, corpus, workers), sort_keys=False))
        params = work / "gensim.json"
        params.write_text(json.dumps({"corpus_file": str(corpus), "arguments": gensim_arguments(cfg, workers)}))
        # Warm-up (untimed): fills Numba's compile cache so no timed run pays for compilation.
        _run_child([sys.executable, "-m", "pipeline", "--quiet", "train-embeddings", "--config", str(cfg_file),
                    "--set", "corpus.paths=[gensim:lee_background.cor]", "--set", "vocab.min_count=1",
                    "--set", "train.epochs=1", "--set", f"output.dir={work / 'warmup'}"], work / "warmup.log")
        runs = {"ours": [], "gensim": []}
        seeds = [cfg.train.seed + i for i in range(repeats)]
        for i, seed in enumerate(seeds):
            for side, run in (("ours", _run_ours), ("gensim", _run_gensim)):
                progress.say(f"repeat {i + 1}/{repeats}: {side} (seed {seed}) ...")
                out = work / f"{side}-{i}"
                record = run(cfg_file if side == "ours" else params, out, seed)
                record.update(_evaluate(out))           # not timed
                shutil.rmtree(out, ignore_errors=True)
                runs[side].append(record)
                progress.say(f"  {side}: {record['seconds']:.1f} s (read+vocab {record['read_vocab_seconds']:.1f}, "
                             f"train {record['train_seconds']:.1f}), {record['words_per_second']:,.0f} words/s, "
                             f"{record['peak_rss_mb']:,.0f} MB, loss {record['loss']}, WS353 "
                             f"{record['wordsim353']}, SL999 {record['simlex999']}, analogy {record['analogy']}, "
                             f"load {os.getloadavg()[0]:.1f}")
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
        "cores": resolve_workers(0),
        "load": f"{load_before:.1f} / {os.getloadavg()[0]:.1f}",
        "repeats": repeats, "seeds": f"{seeds[0]}..{seeds[-1]}" if repeats > 1 else str(seeds[0]),
        "phases": {side: (_median(r["read_vocab_seconds"] for r in runs[side]),
                          _median(r["train_seconds"] for r in runs[side])) for side in runs},
    }
    print(format_table(summary, info))
    if json_path:
        atomic_write_json(json_path, {"ours": summary["ours"], "gensim": summary["gensim"],
                                      "ratio": summary["ratio"], "spread": summary["spread"],
                                      "info": info, "runs": runs})
    if write_results:
        path = Path(results_path) if results_path else RESULTS
        append_results(path, summary, info, machine_description(), _command_line())
        progress.say(f"appended a row to {path}")
    return summary


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "gensim":
        sys.exit("usage: python -m pipeline.embeddings.compare gensim PARAMS.json OUT_DIR SEED")
    gensim_main(*sys.argv[2:])
