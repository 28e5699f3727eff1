"""Stage two speed: our RNN classifier against the same model in PyTorch, training and inference.

    .venv/bin/python benchmarks/bench_rnn.py [--repeats 5] [--batches 10] [--min-seconds 1.0] [--cells elman lstm gru]
                                             [--torch-threads 1 2] [--threads 2] [--ids zipf|uniform]
                                             [--json PATH] [--no-results] [--no-torch]

Shape: batch 64, embedding 100 (a frozen table of 20,000 words + UNK + PAD), hidden 128, one layer, one direction,
`last` pooling (the final state, = PyTorch's h_n), 2 classes, float32. A pool of `--batches` batches is drawn
once and used by every side: MR-like sentence lengths (gamma(4, 21/4) rounded, clipped to 1..60: mean about 21,
max 60), bucketed by length as train-rnn does (pipeline.classifier.data.batch_order: sentences sorted by length
and cut into batches, batch order shuffled), each batch's rows in decreasing length, so that PyTorch packs them
with `pack_padded_sequence(..., enforce_sorted=True)` and ours splits them over its threads evenly.

Token ids (`--ids`): `zipf` (default) draws word w with probability proportional to 1 / (w + 1), Zipf's law over the
20k words with ids in frequency order (as our vocabularies and gensim's are). It is fitted to MR: MR has 224,041
tokens of 21,420 types, its 10 / 100 / 1,000 / 5,000 most frequent words cover 29.6% / 51.5% / 73.8% / 89.1% of
its tokens (this law: 27.9 / 49.5 / 71.4 / 86.8), and 640 random MR sentences hold 3,957 distinct words (this law,
same token count: 4,055). `uniform` draws every word alike: no text looks like that, but it is the worst case for
our projected rows (a fresh model computes a row for almost every token). PyTorch's plain speed does not depend
on the ids.

Modes and sides, all on the same pool of batches (a "pass" is one run over the pool):
- train: one optimiser step per batch = forward, loss, backward, clipping by global norm (5.0, as train-rnn does),
  Adam. Ours: `model.loss_and_grads` (rows split over `--threads` threads), `optim.clip_global_norm`,
  `optim.Adam`. PyTorch: torch_rnn.TorchModel (nn.Embedding.from_pretrained(freeze=True) -> pack_padded_sequence
  -> nn.RNN(tanh) / nn.LSTM / nn.GRU -> h_n -> nn.Linear -> cross_entropy -> backward -> clip_grad_norm_ ->
  torch.optim.Adam).
- infer_cold, the headline inference figure: class probabilities (forward + softmax) of a FRESH model in every
  pass. Ours: a new `predict.Predictor` per pass, so every projected row W E[w] the pass needs is computed inside
  the timing. PyTorch plain: the module under torch.inference_mode(). PyTorch precomputed ("pre"):
  torch_rnn.Precomputed(cold=True), which computes in each pass the rows W_ih E[w] + b of the words the pass
  holds and reads them instead of multiplying (see torch_rnn.py for the formulation and why).
- infer: the same with a loaded model in its steady state: ours keeps one Predictor (its rows filled by the
  earlier passes); PyTorch pre: Precomputed(cold=False), every word's row computed when built. PyTorch plain has
  no state, so its infer figure is its infer_cold figure (measured once, used for both ratios).

Protocol:
- Threads. PyTorch runs at each of `--torch-threads` (torch.set_num_threads, default 1 and 2) as separate sides;
  a cell and mode's PyTorch figure is its best thread count (the higher median), and the table says which won.
  Ours runs as train-rnn does: `--threads` Python threads over nogil kernels, BLAS limited to one thread per call
  (threads.blas_threads(1)). Two in-process pitfalls, both measured and avoided: warming PyTorch up inside
  blas_threads(1), or launching Numba's thread pool (numba.set_num_threads), made PyTorch 10-40x slower for the
  rest of the process; so PyTorch always runs outside blas_threads and Numba's pool is never started.
- Chunks of at least `--min-seconds` (1.0): a timed chunk runs whole passes over the pool until that much time
  has gone by (the faster the side, the more passes), and its figure is its sequences over its seconds. The
  JSON holds the median passes and the shortest chunk of every side, and the row the shortest chunk of the run.
- Warm-up of each mode with its own kind of batch: every timed chunk is preceded by one untimed run of that mode
  on one batch, on that side (a training step before training; an inference batch, with a throwaway fresh model
  for infer_cold, before inference), after setting PyTorch's thread count. Kernels are compiled (or loaded from
  Numba's cache) and every side runs every mode once before the first repeat.
- Alternation: each repeat times, for every cell and mode, every side once, in the order ours, PyTorch at each
  thread count, then pre at each, on even repeats, and the reverse on odd repeats.
- Figures: sequences per wall second of a chunk; per side the median over repeats; a ratio is the median of the
  per-repeat ratios ours / PyTorch at the winning thread count (>1: ours faster).
- Load: the 1-minute load average before the run, and before each repeat the cores other processes used since
  the previous check (benchmarks/results.py `Load`); a run on a busy machine says so on stdout and in its rows.

History (the rows of RESULTS.md dated before 2026-12-02 used the earlier protocol): PyTorch at 2 threads only
(or 1 with --torch-threads 1), chunks of 10 batches (0.05-0.5 s), one untimed inference batch before every chunk
(from 2026-11-27 02:54; --gap S added an idle pause, which cost PyTorch a few percent), batches neither bucketed
nor sorted (`enforce_sorted=False`), a fresh model per chunk for infer_cold, no precomputed PyTorch variant.

Output: a table on stdout, one dated row per cell in the "Stage two speed (bench_rnn.py)" section of
benchmarks/RESULTS.md (benchmarks/results.py), and with --json PATH {cell: {mode: {"ours", "torch", "ratio",
"torch_threads", "torch_by_threads", "torch_pre", "ratio_pre", "torch_pre_threads", "torch_pre_by_threads",
"passes", "shortest_chunk"}}} in sequences per second (the torch entries are null without PyTorch, the pre
entries null for train). PyTorch is optional: `pip install -e .[compare]` (torch==2.13.0, here the local CPU
wheel; elsewhere `pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu`).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import results  # noqa: E402  (benchmarks/results.py)
import torch_rnn  # noqa: E402
from pipeline.classifier import model as M  # noqa: E402
from pipeline.classifier import predict as P  # noqa: E402
from pipeline.classifier.data import batch_order  # noqa: E402
from pipeline.classifier.optim import Adam, clip_global_norm  # noqa: E402
from pipeline.config import RNNModelConfig  # noqa: E402
from pipeline.classifier.threads import blas_threads  # noqa: E402

B, D, H, VOCAB, C = 64, 100, 128, 20_000, torch_rnn.B_CLASSES
CELLS = ("elman", "lstm", "gru")
MODES = ("train", "infer_cold", "infer")
IDS = ("zipf", "uniform")
SECTION = "## Stage two speed (bench_rnn.py)"
SECTION_TEXT = SECTION + """

Sequences per wall second on the same batches (the docstring of `benchmarks/bench_rnn.py` has the protocol): batch
64, embedding 100 (frozen, 20k words), hidden 128, 1 layer, `last` pooling, MR-like lengths bucketed as train-rnn
does, float32. train = forward + backward + clip + Adam; cold = inference (forward + softmax) of a fresh model per
pass over the batches (the headline); warm = of a loaded model. PyTorch "1t / 2t" = torch.set_num_threads(1) / (2);
"pre" = PyTorch reading W_ih E[w] + b from a precomputed table (`benchmarks/torch_rnn.py`). A ratio is ours /
PyTorch at its best thread count (named in brackets), the median of per-repeat ratios; >1: ours faster. Ours: M
threads, BLAS one thread per call. Setup: repeats x pool batches, shortest timed chunk, word ids, ours' threads.

""" + results.header("cell", "train ours / torch 1t / 2t", "train ratio", "cold ours / torch 1t / 2t",
                     "cold ratio", "cold torch pre 1t / 2t", "cold ratio vs pre", "warm ours / torch pre 1t / 2t",
                     "warm ratio vs pre; vs plain", "setup", "command")


def make_batches(n, seed=0, ids_kind="zipf"):
    """n batches of (ids (B, T) int32 padded with the PAD row, lengths (B,) int32, labels (B,) int32), bucketed
    by length (train-rnn's batch_order), rows in decreasing length; word ids drawn by `ids_kind`."""
    rng = np.random.default_rng(seed)
    pad = VOCAB + 1
    p = 1.0 / np.arange(1, VOCAB + 1) if ids_kind == "zipf" else np.ones(VOCAB)
    cdf = np.cumsum(p / p.sum())
    lengths = np.clip(np.round(rng.gamma(4.0, 21 / 4.0, size=n * B)), 1, 60).astype(np.int32)
    sentences = [np.minimum(np.searchsorted(cdf, rng.random(L), side="right"), VOCAB - 1) for L in lengths]
    labels = rng.integers(0, C, n * B).astype(np.int32)
    out = []
    for idx in batch_order(lengths, B, rng):
        idx = idx[np.argsort(-lengths[idx], kind="stable")]           # longest first: enforce_sorted=True
        ids = np.full((len(idx), int(lengths[idx].max())), pad, np.int32)
        for row, i in enumerate(idx):
            ids[row, :lengths[i]] = sentences[i]
        out.append((ids, lengths[idx], labels[idx]))
    return out


def make_table(seed=0):
    """(V+2, D) float32 read-only: words, UNK, PAD (zeros)."""
    rng = np.random.default_rng(seed)
    table = np.zeros((VOCAB + 2, D), np.float32)
    table[:VOCAB + 1] = rng.standard_normal((VOCAB + 1, D)).astype(np.float32) * 0.3
    table.flags.writeable = False
    return table


# ---------------------------------------------------------------------------------------------------- sides
class Ours:
    """Our classifier through model.py / predict.py, as train-rnn and predict run it."""

    def __init__(self, cell, table, threads):
        self.threads, self.table = threads, table
        self.mc = RNNModelConfig(cell=cell, hidden_size=H, layers=1, bidirectional=False, pooling="last",
                                 dropout=0.0, input_dropout=0.0)
        self.params = M.init_params(self.mc, D, C, seed=1)
        self.opt = Adam(self.params, 0.002)
        self.rng = np.random.default_rng(0)
        self.predictor = P.Predictor(self.params, self.mc, table, threads)   # `infer`: kept across passes

    def context(self):
        """Entered once around a chunk, not per pass: threadpoolctl scans the loaded libraries on every entry."""
        return blas_threads(1)

    def run(self, mode, batches):
        if mode == "train":
            for ids, lengths, y in batches:
                _, grads, _ = M.loss_and_grads(self.params, self.mc, self.table, ids, lengths, y, True, self.rng,
                                               self.threads)
                clip_global_norm(grads, 5.0)
                self.opt.step(self.params, grads)
            return
        predictor = self.predictor if mode == "infer" else P.Predictor(self.params, self.mc, self.table,
                                                                       self.threads)
        for logits in predictor.logits_many(batches):
            P.softmax(logits)


class Torch:
    """One PyTorch side: a model (plain TorchModel, or Precomputed for inference) at a fixed thread count."""

    def __init__(self, torch, threads, plain, cold_pre=None, warm_pre=None):
        self.torch, self.threads = torch, threads
        self.plain, self.pre = plain, {"infer_cold": cold_pre, "infer": warm_pre}

    def context(self):
        """Entered once around a chunk: PyTorch's thread count for it."""
        self.torch.set_num_threads(self.threads)
        return contextlib.nullcontext()

    def run(self, mode, batches):
        if mode == "train":
            self.plain.train(batches)
        elif self.pre[mode] is not None:
            self.pre[mode].infer(batches)
        else:
            self.plain.infer(batches)


def make_sides(cell, table, batches, args, torch):
    """{name: (side, its batches, modes it runs)}: ours, torch 1t/2t..., pre 1t/2t..."""
    sides = {"ours": (Ours(cell, table, args.threads), batches, MODES)}
    if torch is not None:
        model = torch_rnn.TorchModel(cell, table, torch, H, C)
        tb = model.convert(batches)
        cold, warm = torch_rnn.Precomputed(model, torch, True), torch_rnn.Precomputed(model, torch, False)
        for n in args.torch_threads:
            sides[f"torch {n}t"] = (Torch(torch, n, model), tb, ("train", "infer_cold"))
        for n in args.torch_threads:
            sides[f"pre {n}t"] = (Torch(torch, n, model, cold, warm), tb, ("infer_cold", "infer"))
    return sides


# ---------------------------------------------------------------------------------------------- measuring
def timed_chunk(side, mode, batches, min_seconds) -> tuple[int, float]:
    """(passes, seconds): passes over `batches` run until at least `min_seconds` have gone by, after one
    untimed run of the same mode on one batch, all inside the side's context (threads)."""
    with side.context():
        side.run(mode, batches[:1])
        passes, t0 = 0, time.perf_counter()
        while True:
            side.run(mode, batches)
            passes += 1
            seconds = time.perf_counter() - t0
            if seconds >= min_seconds:
                return passes, seconds


def best_of(runs, ours, names):
    """(median, winning name, ratio) over the sides `names` that ran: the best median, and the median of the
    per-repeat ratios ours / that side; (None, None, None) when none ran."""
    names = [n for n in names if runs.get(n)]
    if not names:
        return None, None, None
    best = max(names, key=lambda n: statistics.median(runs[n]))
    return (statistics.median(runs[best]), best.split()[-1],
            statistics.median(o / t for o, t in zip(ours, runs[best])))


def summarise(runs, passes, shortest, threads):
    """The --json summary of one cell: {mode: {...}} (see the docstring)."""
    out = {}
    for mode in MODES:
        r = runs[mode]
        plain = runs["infer_cold"] if mode == "infer" else r                # plain PyTorch has no warm state
        torch_med, torch_n, ratio = best_of(plain, r["ours"], [f"torch {n}t" for n in threads])
        pre_med, pre_n, ratio_pre = best_of(r, r["ours"], [f"pre {n}t" for n in threads])
        by = lambda rr, kind: {str(n): statistics.median(rr[f"{kind} {n}t"]) for n in threads  # noqa: E731
                               if rr.get(f"{kind} {n}t")} or None
        out[mode] = {"ours": statistics.median(r["ours"]), "torch": torch_med, "ratio": ratio,
                     "torch_threads": torch_n, "torch_by_threads": by(plain, "torch"),
                     "torch_pre": pre_med, "ratio_pre": ratio_pre, "torch_pre_threads": pre_n,
                     "torch_pre_by_threads": by(r, "pre"),
                     "passes": {n: statistics.median(k) for n, k in passes[mode].items()},
                     "shortest_chunk": {n: min(t) for n, t in shortest[mode].items()}}
    return out


# ------------------------------------------------------------------------------------------------- output
def _n(v):
    return "-" if v is None else f"{v:,.0f}"


def _r(ratio, threads):
    return "-" if ratio is None else f"{ratio:.2f}x ({threads})"


def _figures(s, kind, threads):
    by = s[f"{kind}_by_threads"] or {}
    return " / ".join(_n(by.get(str(n))) for n in threads)


def print_table(summary, threads):
    print(f"\n{'cell':6s} {'mode':10s} {'ours':>9s} | {'torch ' + '/'.join(f'{n}t' for n in threads):>17s} "
          f"{'ratio':>11s} | {'pre ' + '/'.join(f'{n}t' for n in threads):>17s} {'ratio':>11s}   "
          "(sequences/s, medians; ratio = ours / PyTorch's best thread count)")
    for cell, modes in summary.items():
        for mode, s in modes.items():
            print(f"{cell:6s} {mode:10s} {_n(s['ours']):>9s} | {_figures(s, 'torch', threads):>17s} "
                  f"{_r(s['ratio'], s['torch_threads']):>11s} | {_figures(s, 'torch_pre', threads):>17s} "
                  f"{_r(s['ratio_pre'], s['torch_pre_threads']):>11s}")
    print("cold: a fresh model per pass (rows computed inside the timing); infer: a loaded model (plain PyTorch's "
          "figure is its cold one)")


def result_rows(summary, args, load, torch, command):
    rows = []
    th = args.torch_threads
    chunk = min(v for s in summary.values() for m in s.values() for v in m["shortest_chunk"].values())
    setup = (f"{args.repeats} x {args.batches} batches, shortest chunk {chunk:.2f} s; {args.ids} ids; "
             f"ours {args.threads} threads")
    for cell, s in summary.items():
        tr, cold, warm = s["train"], s["infer_cold"], s["infer"]
        rows.append(results.row(results.prefix(load, torch=torch.__version__ if torch else "not installed") + [
            cell, f"{_n(tr['ours'])} / {_figures(tr, 'torch', th)}", _r(tr["ratio"], tr["torch_threads"]),
            f"{_n(cold['ours'])} / {_figures(cold, 'torch', th)}", _r(cold["ratio"], cold["torch_threads"]),
            _figures(cold, "torch_pre", th), _r(cold["ratio_pre"], cold["torch_pre_threads"]),
            f"{_n(warm['ours'])} / {_figures(warm, 'torch_pre', th)}",
            f"{_r(warm['ratio_pre'], warm['torch_pre_threads'])}; {_r(warm['ratio'], warm['torch_threads'])}",
            setup, f"`{command}`"]))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="alternating rounds (medians reported)")
    p.add_argument("--batches", type=int, default=10, help="batches of 64 in the pool (one pass)")
    p.add_argument("--min-seconds", type=float, default=1.0, help="shortest timed chunk (passes grow to reach it)")
    p.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    p.add_argument("--torch-threads", type=int, nargs="+", default=[1, 2], help="PyTorch thread counts to time")
    p.add_argument("--threads", type=int, default=2, help="ours: threads each batch is split over")
    p.add_argument("--ids", choices=IDS, default="zipf", help="word ids: zipf (MR-like, default) or uniform")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--no-results", action="store_true", help="do not append to benchmarks/RESULTS.md")
    p.add_argument("--no-torch", action="store_true", help="time ours alone even when PyTorch is installed")
    args = p.parse_args(argv)
    command = shlex.join([".venv/bin/python", "benchmarks/bench_rnn.py", *(sys.argv[1:] if argv is None else argv)])
    load = results.Load()

    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.manual_seed(0)
        except ImportError:
            print("PyTorch is not installed: timing ours alone (for the comparison: pip install -e '.[compare]')")
    table = make_table()
    batches = make_batches(args.batches, ids_kind=args.ids)
    lens = np.concatenate([b[1] for b in batches])
    print(f"batch {B}, embedding {D}, hidden {H}, vocabulary {VOCAB:,}; lengths mean {lens.mean():.1f} max "
          f"{lens.max()}, bucketed; {args.ids} word ids; {args.repeats} repeats x {args.batches} batches a pass; "
          f"PyTorch threads {args.torch_threads if torch else 'n/a'}, ours {args.threads}", flush=True)

    # No numba.set_num_threads() here (see "Threads" in the docstring): ours uses plain Python threads.
    t0 = time.perf_counter()
    print("preparing the kernels (Numba compiles on a first run, about a minute) ...", flush=True)
    cells = {}
    for cell in args.cells:
        cells[cell] = make_sides(cell, table, batches, args, torch)
        for side, sb, modes in cells[cell].values():
            for mode in modes:
                with side.context():
                    side.run(mode, sb[:2])
    print(f"ready in {time.perf_counter() - t0:.0f} s", flush=True)

    names = {cell: {mode: [n for n, (_, _, modes) in cells[cell].items() if mode in modes] for mode in MODES}
             for cell in args.cells}
    runs, passes, shortest = ({cell: {mode: {n: [] for n in names[cell][mode]} for mode in MODES}
                              for cell in args.cells} for _ in range(3))
    for rep in range(args.repeats):
        load.check(f"repeat {rep + 1}/{args.repeats}")
        for cell in args.cells:
            for mode in MODES:
                order = names[cell][mode] if rep % 2 == 0 else names[cell][mode][::-1]
                for name in order:
                    side, sb, _ = cells[cell][name]
                    k, seconds = timed_chunk(side, mode, sb, args.min_seconds)
                    runs[cell][mode][name].append(k * len(sb) * B / seconds)
                    passes[cell][mode][name].append(k)
                    shortest[cell][mode][name].append(seconds)
        print(f"repeat {rep + 1}/{args.repeats}: " + "; ".join(
            f"{c} {m} " + "/".join(_n(runs[c][m][n][-1]) for n in runs[c][m]) for c in args.cells for m in MODES),
            flush=True)

    summary = {cell: summarise(runs[cell], passes[cell], shortest[cell], args.torch_threads) for cell in args.cells}
    print_table(summary, args.torch_threads)
    print(f"load: {load.text()}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if not args.no_results:
        path = results.append(SECTION, SECTION_TEXT, result_rows(summary, args, load, torch, command))
        print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
