"""PyTorch alone on bench_rnn.py's shape: is the peer slow here, or slowed down by us?

    .venv/bin/python benchmarks/torch_alone.py [--repeats 5] [--threads 2] [--ids zipf|uniform]

Runs bench_rnn.py's PyTorch side (same module, same batches, same timing) in a process where none of our
kernels is compiled or run, and prints sequences/s per cell for training and inference. Compare with the
torch column of a bench_rnn.py row measured around the same time: if they agree, PyTorch's speed in the
benchmark is its speed on this machine. (It exists because issue 5 quotes PyTorch figures 3-4x above what
this machine gives.) Needs PyTorch (`pip install -e .[compare]`).
"""
import argparse
import statistics
import sys

import numpy as np

import bench_rnn as br


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--ids", choices=br.IDS, default="zipf")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install -e '.[compare]'")
        return 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)  # the same table and batches as bench_rnn.py
    table = np.zeros((br.VOCAB + 2, br.D), np.float32)
    table[:br.VOCAB + 1] = rng.standard_normal((br.VOCAB + 1, br.D)).astype(np.float32) * 0.3
    batches = br.make_batches(args.batches, ids_kind=args.ids)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, {args.ids} ids, "
          f"{args.repeats} repeats x {args.batches} batches of {br.B}")
    print(f"{'cell':6s} {'train':>8s} {'infer':>8s}   (sequences/s, medians)")
    for cell in br.CELLS:
        side = br.Torch(cell, table, torch)
        tb = side.convert(batches)
        side.train(tb[:2])
        side.infer(tb[:2])
        train = statistics.median(br.rate(side.train, tb) for _ in range(args.repeats))
        infer = statistics.median(br.rate(side.infer, tb) for _ in range(args.repeats))
        print(f"{cell:6s} {train:8,.0f} {infer:8,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
