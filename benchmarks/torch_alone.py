"""PyTorch alone on bench_rnn.py's shape: is the peer slow here, or slowed down by us? And which way of feeding
PyTorch a precomputed input projection is fastest?

    .venv/bin/python benchmarks/torch_alone.py [--repeats 5] [--threads 1] [--ids zipf|uniform] [--min-seconds 1]

Runs bench_rnn.py's PyTorch sides (benchmarks/torch_rnn.py, the same batches, bench_rnn's timed chunks) in a
process where none of our kernels is compiled or run, and prints sequences/s per cell: training, plain inference,
the precomputed variant (cold and warm, torch_rnn.Precomputed), and the other formulation of it that
torch_rnn.py's docstring weighs: nn.RNN / nn.LSTM / nn.GRU with input size G fed the precomputed rows through an
identity weight_ih (`identity`), and torch_rnn's loop without a table (`loop`: one GEMM over the packed
tokens' vectors per batch, as nn.LSTM does on CPU, then the same Python loop), which tells the loop's share of the
gain from the table's. Compare the first columns with bench_rnn.py's torch columns measured around the
same time: if they agree, PyTorch's speed in the benchmark is its speed on this machine. Needs PyTorch
(`pip install -e .[compare]`).
"""
import argparse
import contextlib
import copy
import statistics
import sys

import bench_rnn as br
import torch_rnn


class Fn:
    """A side for bench_rnn.timed_chunk that runs `fn(batches)`."""

    def __init__(self, torch, threads, fn):
        self.torch, self.threads, self.fn = torch, threads, fn

    def context(self):
        self.torch.set_num_threads(self.threads)
        return contextlib.nullcontext()

    def run(self, mode, batches):
        self.fn(batches)


def identity_model(model, torch):
    """`model` as an nn module of input size G reading Z = E W_ih^T + b_ih through weight_ih = I (and bias_ih 0)."""
    nn, rnn = torch.nn, model.rnn
    G = rnn.weight_ih_l0.shape[0]
    same = copy.copy(model)                      # shares the output layer; inference only
    same.rnn = type(rnn)(G, rnn.hidden_size, batch_first=True)
    with torch.no_grad():
        Z = torch.addmm(rnn.bias_ih_l0, model.emb.weight, rnn.weight_ih_l0.t())
        same.emb = nn.Embedding.from_pretrained(Z, freeze=True)
        same.rnn.weight_ih_l0.copy_(torch.eye(G))
        same.rnn.bias_ih_l0.zero_()
        same.rnn.weight_hh_l0.copy_(rnn.weight_hh_l0)
        same.rnn.bias_hh_l0.copy_(rnn.bias_hh_l0)
    return same


def loop_infer(pre, torch):
    """Inference by torch_rnn's loop, W_ih x_t computed per batch (one GEMM over the packed tokens), no table."""
    def infer(batches):
        with torch.inference_mode():
            for ids, lengths, _ in batches:
                packed = pre.pack(ids, lengths, batch_first=True, enforce_sorted=True)
                Zp = torch.addmm(pre.b_in, pre.E.index_select(0, packed.data), pre.W_ihT)
                h = pre.last_state(Zp, packed.batch_sizes.tolist())
                torch.softmax(torch.addmm(pre.out_b, h, pre.out_W.t()), dim=1)
    return infer


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--ids", choices=br.IDS, default="zipf")
    p.add_argument("--min-seconds", type=float, default=1.0)
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install -e '.[compare]'")
        return 1
    torch.manual_seed(0)
    load = br.results.Load()
    table, batches = br.make_table(), br.make_batches(args.batches, ids_kind=args.ids)
    print(f"PyTorch {torch.__version__}, {args.threads} threads, {args.ids} ids, {args.repeats} repeats of chunks "
          f">= {args.min_seconds} s over {args.batches} batches of {br.B}")
    columns = ("train", "infer", "pre cold", "pre warm", "identity", "loop")
    print(f"{'cell':6s}" + "".join(f"{c:>10s}" for c in columns) + "   (sequences/s, medians)")
    for cell in br.CELLS:
        model = torch_rnn.TorchModel(cell, table, torch, br.H, br.C)
        tb = model.convert(batches)
        cold = torch_rnn.Precomputed(model, torch, True)
        fns = [model.train, model.infer, cold.infer, torch_rnn.Precomputed(model, torch, False).infer,
               identity_model(model, torch).infer, loop_infer(cold, torch)]
        rates = []
        for fn in fns:
            side = Fn(torch, args.threads, fn)
            with side.context():
                side.run(None, tb[:2])
            chunks = [br.timed_chunk(side, None, tb, args.min_seconds) for _ in range(args.repeats)]
            rates.append(statistics.median(k * len(tb) * br.B / s for k, s in chunks))
        print(f"{cell:6s}" + "".join(f"{r:>10,.0f}" for r in rates), flush=True)
    print(f"load: {load.text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
