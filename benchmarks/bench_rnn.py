"""Stage two speed: our RNN classifier against the same model in PyTorch, training and inference.

    .venv/bin/python benchmarks/bench_rnn.py [--repeats 7] [--batches 10] [--cells elman lstm gru]
                                             [--json PATH] [--no-results] [--no-torch] [--threads 2]
                                             [--ids zipf|uniform] [--gap 0]

What is timed, per cell (elman, lstm, gru), on the SAME batches for both sides:
- train: one optimiser step per batch = forward, loss, backward, clipping by global norm (5.0, as train-rnn
  does) and the Adam step. Ours goes through the model.py API (`model.loss_and_grads`), `optim.clip_global_norm`
  and `optim.Adam`, i.e. what `train-rnn` runs per batch; PyTorch runs nn.Embedding.from_pretrained(freeze=True)
  -> pack_padded_sequence(enforce_sorted=False) -> nn.RNN / nn.LSTM / nn.GRU -> final state -> nn.Linear ->
  cross_entropy -> backward -> clip_grad_norm_ -> torch.optim.Adam.
- infer: class probabilities of the batches. Ours: a `predict.Predictor` (what predict and evaluation run):
  whole batches in parallel threads, layer 0's input part W x read from its projected table (the table is
  frozen, so row w = W E[w] is computed once per model, when a batch first needs it). `infer` keeps one
  Predictor across repeats, i.e. a loaded model in its steady state; `infer_cold` builds a fresh one per
  timed chunk, so every row the chunk needs is computed inside the timing. PyTorch: the same module
  under torch.inference_mode() + softmax, batch after batch (its own 2 intra-op threads), for both.
Shape: batch 64, embedding 100 (frozen table of 20,000 words + UNK + PAD), hidden 128, one layer, one direction,
`last` pooling (the final state, = PyTorch's h_n), 2 classes, float32. Sentence lengths are drawn like MR's
(gamma(4, 21/4) rounded, clipped to 1..60: mean about 21, max 60).

Token ids (`--ids`): `zipf` (default from 2026-11-27) draws word w with probability proportional to 1 / (w + 1),
i.e. Zipf's law over the 20k words with ids in frequency order (as our vocabularies and gensim's are). It is
fitted to MR itself: MR has 224,041 tokens of 21,420 types, its 10 / 100 / 1,000 / 5,000 most frequent words
cover 29.6% / 51.5% / 73.8% / 89.1% of its tokens (this law: 27.9 / 49.5 / 71.4 / 86.8), and 640 random MR
sentences hold 3,957 distinct words (this law, same token count: 4,055). `uniform` draws every word alike: no
text looks like that, but it is the worst case for our projected table (almost every token is a new row for a
fresh model, and rows are read from all over a table holding half the vocabulary); rows before 2026-11-27 used it. PyTorch's
speed does not depend on the ids; ours does, through the table, so both are reported.

Threads: PyTorch gets torch.set_num_threads(2) (`--torch-threads`). Ours runs as the train-rnn driver does:
2 threads (`--threads`, train-rnn's `train.workers`): training splits each batch's rows over them
(model.loss_and_grads), inference runs batches in them (predict.Predictor); kernels are nogil, BLAS limited
to ONE thread per call (model.blas_threads(1), see its docstring for why). Rows before 2026-11-26 23:30 had
ours on one thread and no projected table. Two in-process pitfalls, both measured and avoided here: warming
PyTorch up inside blas_threads(1), or launching Numba's thread pool (numba.set_num_threads), made PyTorch
10-40x slower for the rest of the process.

Warm-up and gap: every timed chunk, of either side, is preceded by one UNTIMED inference batch of that side
(from 2026-11-27 02:54), and by `--gap` seconds of idle time (default 0). The default is conservative for ours:
PyTorch's OpenMP worker (libgomp) keeps spinning on the other core for a while after PyTorch's chunk, and ours
pays for that when it runs next (measured in-process 2026-11-27, Elman / LSTM inference, medians of 7: 40,290
/ 13,331 seq/s with no PyTorch run just before, 30,273 / 11,782 right after one, 38,796 / 13,693 after one and
a 0.2 s pause). `--gap 0.2` removes that, but the pause costs PyTorch a few percent in turn (its threads fall
asleep; Elman inference 14,020 / 14,706 back to back against 13,540 / 13,405 after 0.2 s idle, two runs,
medians of 15; an untimed batch after the pause did not clearly restore it). The 02:14-02:51 rows of
2026-11-27 used `--gap 0.2` without the untimed batch; earlier rows had neither.

Alternation: each repeat times, for every cell and mode, `--batches` batches of ours then the same batches in
PyTorch (ours first on even repeats, PyTorch first on odd ones), so both sides see the same machine load. A
cell's figure is the median over the repeats of sequences per WALL second; its ratio is the median of the
per-repeat ratios ours/PyTorch (>1 = ours faster). Kernels are compiled (or loaded from Numba's cache) and
PyTorch warmed up before any timing.

Output: a table on stdout, a dated row per cell in the "Stage two speed (bench_rnn.py)" section of
benchmarks/RESULTS.md (benchmarks/results.py: date, machine, versions and load first), and with --json PATH
{"elman": {"train": {"ours": .., "torch": .., "ratio": ..}, "infer": {...}, "infer_cold": {...}}, "lstm": ..} in
sequences per second (torch and ratio are null without PyTorch). PyTorch is optional: `pip install -e .[compare]`
(pinned to torch==2.13.0, the CPU wheel here; elsewhere `pip install torch==2.13.0 --index-url
https://download.pytorch.org/whl/cpu`); without it the script says so and times ours alone.
"""
from __future__ import annotations

import argparse
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

from pipeline.classifier import model as M  # noqa: E402
from pipeline.classifier import predict as P  # noqa: E402
from pipeline.classifier.optim import Adam, clip_global_norm  # noqa: E402
from pipeline.config import RNNModelConfig  # noqa: E402

SECTION = "## Stage two speed (bench_rnn.py)"
SECTION_TEXT = SECTION + """

Sequences per wall second, ours / PyTorch, on the same batches, alternating (see the docstring of
`benchmarks/bench_rnn.py`): batch 64, embedding 100 (frozen, 20k words), hidden 128, 1 layer, `last` pooling,
MR-like lengths (mean ~21, max 60), float32. train = forward + backward + clip + Adam step; infer = forward +
softmax of a loaded model (from 2026-11-26 23:30: "; cold" = a fresh model per timed chunk, see the docstring). Ours: each batch split over M threads (M = 2 from 2026-11-26 23:30, 1 before), BLAS 1 thread per call;
PyTorch: torch.set_num_threads(N), N = 2
by default (`--torch-threads`; on a loaded 2-core machine 2 threads make PyTorch far slower than 1, so rows with
N = 1 are PyTorch at its best here). ratio = median of per-repeat ratios ours/PyTorch (>1: ours faster). Target
(issue 5): ratio >= 2 for elman and lstm, train and infer. Columns: date (UTC), machine (arch, cores, CPU, load
before/after), versions (Python / NumPy / Numba / torch), cell, train ours / torch / ratio, infer ours / torch /
ratio, repeats x batches and threads (PyTorch N, ours M when given; from 2026-11-27 also the word-id law: zipf =
MR-like frequencies, uniform = every word alike, the earlier rows' ids), command.

""" + results.header("cell", "train ours / torch", "train ratio", "infer ours / torch", "infer ratio",
                     "repeats x batches, torch threads", "command")
B, D, H, VOCAB, C = 64, 100, 128, 20_000, 2
CELLS = ("elman", "lstm", "gru")
MODES = ("train", "infer", "infer_cold")
IDS = ("zipf", "uniform")


def make_batches(n, seed=0, ids_kind="zipf"):
    """n batches of (ids (B, T) int32 padded with the PAD row, lengths (B,) int32, labels (B,) int32);
    word ids drawn by `ids_kind` (see the docstring: zipf = MR-like frequencies, uniform = the worst case)."""
    rng = np.random.default_rng(seed)
    pad = VOCAB + 1
    p = 1.0 / np.arange(1, VOCAB + 1) if ids_kind == "zipf" else np.ones(VOCAB)
    cdf = np.cumsum(p / p.sum())
    out = []
    for _ in range(n):
        lengths = np.clip(np.round(rng.gamma(4.0, 21 / 4.0, size=B)), 1, 60).astype(np.int32)
        ids = np.full((B, int(lengths.max())), pad, np.int32)
        for row, L in enumerate(lengths):
            ids[row, :L] = np.minimum(np.searchsorted(cdf, rng.random(L), side="right"), VOCAB - 1)
        out.append((ids, lengths, rng.integers(0, C, B).astype(np.int32)))
    return out


# ---------------------------------------------------------------------------------------------------- ours
class Ours:
    def __init__(self, cell, table, threads):
        self.threads = threads
        self.mc = RNNModelConfig(cell=cell, hidden_size=H, pooling="last")
        self.table = table
        self.params = M.init_params(self.mc, D, C, seed=1)
        self.opt = Adam(self.params, 0.002)
        self.rng = np.random.default_rng(0)

    def train(self, batches):
        for ids, lengths, y in batches:
            _, grads, _ = M.loss_and_grads(self.params, self.mc, self.table, ids, lengths, y, True, self.rng, self.threads)
            clip_global_norm(grads, 5.0)
            self.opt.step(self.params, grads)

    def infer(self, batches):
        """Steady state of a loaded model (predict, evaluation): the Predictor's projected rows persist."""
        if not hasattr(self, "predictor"):
            self.predictor = P.Predictor(self.params, self.mc, self.table, self.threads)
        for logits in self.predictor.logits_many(batches):
            P.softmax(logits)

    def infer_cold(self, batches):
        """A fresh Predictor for these batches: every projected row they need is computed in the timing."""
        for logits in P.Predictor(self.params, self.mc, self.table, self.threads).logits_many(batches):
            P.softmax(logits)


# --------------------------------------------------------------------------------------------------- torch
class Torch:
    def __init__(self, cell, table, torch):
        nn = torch.nn
        self.torch = torch
        self.emb = nn.Embedding.from_pretrained(torch.from_numpy(np.array(table)), freeze=True)
        self.rnn = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](D, H, batch_first=True)
        self.out = nn.Linear(H, C)
        self.params = list(self.rnn.parameters()) + list(self.out.parameters())
        self.opt = torch.optim.Adam(self.params, lr=0.002)

    def convert(self, batches):
        t = self.torch
        return [(t.from_numpy(ids.astype(np.int64)), t.from_numpy(lengths.astype(np.int64)),
                 t.from_numpy(y.astype(np.int64))) for ids, lengths, y in batches]

    def logits(self, ids, lengths):
        packed = self.torch.nn.utils.rnn.pack_padded_sequence(self.emb(ids), lengths, batch_first=True,
                                                              enforce_sorted=False)
        _, h_n = self.rnn(packed)
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n  # LSTM: (h_n, c_n)
        return self.out(h_n[-1])  # (B, C); h_n is in the original batch order

    def train(self, batches):
        F = self.torch.nn.functional
        for ids, lengths, y in batches:
            self.opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.logits(ids, lengths), y)
            loss.backward()
            self.torch.nn.utils.clip_grad_norm_(self.params, 5.0)
            self.opt.step()

    def infer_cold(self, batches):
        self.infer(batches)

    def infer(self, batches):
        with self.torch.inference_mode():
            for ids, lengths, _ in batches:
                self.torch.softmax(self.logits(ids, lengths), dim=1)


# ---------------------------------------------------------------------------------------------- measuring
def rate(fn, batches) -> float:
    t0 = time.perf_counter()
    fn(batches)
    return len(batches) * B / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=7, help="alternating rounds (median reported)")
    p.add_argument("--batches", type=int, default=10, help="batches of 64 per timed chunk")
    p.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--no-results", action="store_true", help="do not append to benchmarks/RESULTS.md")
    p.add_argument("--no-torch", action="store_true", help="time ours alone even when PyTorch is installed")
    p.add_argument("--torch-threads", type=int, default=2, help="torch.set_num_threads (the issue asks for 2)")
    p.add_argument("--threads", type=int, default=2, help="ours: threads each batch is split over")
    p.add_argument("--gap", type=float, default=0.0,
                   help="idle seconds before every timed chunk (default 0: conservative for ours, see the docstring)")
    p.add_argument("--ids", choices=IDS, default="zipf",
                   help="word-id distribution: zipf (MR-like, default) or uniform (worst case for ours)")
    args = p.parse_args(argv)
    command = shlex.join([".venv/bin/python", "benchmarks/bench_rnn.py", *sys.argv[1:]]) if argv is None else \
        "main(...)"

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: timing ours alone (for the comparison: pip install -e '.[compare]')")
    if torch is not None:
        torch.set_num_threads(args.torch_threads)
        torch.manual_seed(0)

    rng = np.random.default_rng(0)
    table = np.zeros((VOCAB + 2, D), np.float32)  # (V+2, D): words, UNK, PAD (zeros)
    table[:VOCAB + 1] = rng.standard_normal((VOCAB + 1, D)).astype(np.float32) * 0.3
    table.flags.writeable = False
    batches = make_batches(args.batches, ids_kind=args.ids)
    lens = np.concatenate([b[1] for b in batches])
    load = results.Load()
    print(f"batch {B}, embedding {D}, hidden {H}, vocabulary {VOCAB:,}; lengths mean {lens.mean():.1f} max "
          f"{lens.max()}; {args.ids} word ids; {args.repeats} repeats x {args.batches} batches; PyTorch threads "
          f"{torch.get_num_threads() if torch else 'n/a'}, ours {args.threads}", flush=True)

    # No numba.set_num_threads() here, unlike train-rnn: Numba's pool already defaults to the core count, and
    # launching it (OpenMP layer) in the same process as PyTorch made PyTorch 10-40x slower (measured: elman
    # train 3,049 -> 236 seq/s). Ours splits batches over plain Python threads, not Numba's pool.
    sides = {}
    t0 = time.perf_counter()
    print("preparing the Numba kernels (compiled on the first run, about a minute; cached after) ...", flush=True)
    for cell in args.cells:
        ours = Ours(cell, table, args.threads)
        with M.blas_threads(1):
            ours.train(batches[:1])
            ours.infer(batches[:1])
        theirs = tb = None
        if torch is not None:  # warmed OUTSIDE blas_threads: inside it, torch then ran 10-40x slower (measured)
            theirs = Torch(cell, table, torch)
            tb = theirs.convert(batches)
            theirs.train(tb[:2])
            theirs.infer(tb[:2])
        sides[cell] = (ours, theirs, tb)
    print(f"ready in {time.perf_counter() - t0:.1f} s", flush=True)

    runs = {cell: {mode: {"ours": [], "torch": []} for mode in MODES} for cell in args.cells}
    for rep in range(args.repeats):
        for cell in args.cells:
            ours, theirs, tb = sides[cell]
            for mode in MODES:
                order = ("ours", "torch") if rep % 2 == 0 else ("torch", "ours")
                for side in order:
                    time.sleep(args.gap)  # optional pause, then one untimed batch of this side (see "Warm-up
                    if side == "ours":    # and gap" in the docstring)
                        with M.blas_threads(1):
                            ours.infer(batches[:1])
                            runs[cell][mode]["ours"].append(rate(getattr(ours, mode), batches))
                    elif theirs is not None:
                        theirs.infer(tb[:1])
                        runs[cell][mode]["torch"].append(rate(getattr(theirs, mode), tb))
        last = "; ".join(f"{c} " + " ".join(f"{m} {runs[c][m]['ours'][-1]:,.0f}/"
                                             + (f"{runs[c][m]['torch'][-1]:,.0f}" if runs[c][m]["torch"] else "-")
                                             for m in MODES) for c in args.cells)
        print(f"repeat {rep + 1}/{args.repeats} (ours/torch seq/s): {last}", flush=True)

    summary = {}
    for cell in args.cells:
        summary[cell] = {}
        for mode in MODES:
            r = runs[cell][mode]
            ours = statistics.median(r["ours"])
            theirs = statistics.median(r["torch"]) if r["torch"] else None
            ratio = statistics.median(o / t for o, t in zip(r["ours"], r["torch"])) if r["torch"] else None
            summary[cell][mode] = {"ours": ours, "torch": theirs, "ratio": ratio}

    fmt = lambda v: "n/a" if v is None else f"{v:,.0f}"  # noqa: E731
    fr = lambda v: "n/a" if v is None else f"{v:.2f}x"  # noqa: E731
    print(f"\n{'cell':6s} {'train ours':>11s} {'torch':>9s} {'ratio':>7s}   {'infer ours':>11s} {'torch':>9s} "
          f"{'ratio':>7s}   {'cold ours':>10s} {'torch':>9s} {'ratio':>7s}   (sequences/s, medians; ratio = ours / torch)")
    for cell, s in summary.items():
        tr, inf, cold = s["train"], s["infer"], s["infer_cold"]
        print(f"{cell:6s} {fmt(tr['ours']):>11s} {fmt(tr['torch']):>9s} {fr(tr['ratio']):>7s}   "
              f"{fmt(inf['ours']):>11s} {fmt(inf['torch']):>9s} {fr(inf['ratio']):>7s}   "
              f"{fmt(cold['ours']):>10s} {fmt(cold['torch']):>9s} {fr(cold['ratio']):>7s}")
    print("infer: a loaded model (projected rows of layer 0 already filled, as in predict after its first "
          "batches); cold: a fresh model per timed chunk of batches")
    print(f"load: {load.text()}")

    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if not args.no_results:
        rows = []
        for cell, s in summary.items():
            tr, inf, cold = s["train"], s["infer"], s["infer_cold"]
            cols = results.prefix(load, torch=torch.__version__ if torch else "not installed") + [
                    cell, f"{fmt(tr['ours'])} / {fmt(tr['torch'])}", fr(tr["ratio"]),
                    f"{fmt(inf['ours'])} / {fmt(inf['torch'])}; cold {fmt(cold['ours'])} / {fmt(cold['torch'])}",
                    f"{fr(inf['ratio'])}; cold {fr(cold['ratio'])}",
                    f"{args.repeats} x {args.batches}, {torch.get_num_threads() if torch else 'n/a'}; ours {args.threads}; "
                    f"{args.ids} ids, gap {args.gap:g} s",
                    f"`{command}`"]
            rows.append(results.row(cols))
        print(f"appended to {results.append(SECTION, SECTION_TEXT, rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
