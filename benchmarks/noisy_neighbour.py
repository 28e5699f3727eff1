"""How much each side of compare_gensim.py slows down when another process streams memory on the other core.

The speed-up over gensim measured on this VM has moved between 1.5x and 2.8x from one session to the next with no
change to the kernel, ours' words/s moving much more than gensim's. Our SGNS step is short and mostly waits for
rows of W_out (kernels.py: prefetching them doubled its speed), so it should suffer more than gensim's when the
caches and the memory bus are shared. This measures that: one epoch, one worker each, on the first `--words` words
of compare_gensim's prepared file, each side alone and then beside a process that copies a large array over and
over (the neighbour), sides alternating, fresh processes.

    .venv/bin/python benchmarks/noisy_neighbour.py --config configs/bench-en-mixed.yaml [--words 2000000]
        [--repeats 2] [--neighbour-mb 256]

Prints words/s of training (the drivers' train_seconds) per side and condition (medians) and the slowdown each
side takes from the neighbour. Nothing is written to RESULTS.md: copy the table there with this command.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import compare_gensim as cg  # noqa: E402
import results  # noqa: E402
import yaml  # noqa: E402
from pipeline.config import EmbeddingsConfig, load_config  # noqa: E402

NEIGHBOUR = """
import numpy as np
a = np.ones({n}, np.float64); b = np.empty_like(a)
while True:
    np.copyto(b, a)
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--words", type=int, default=2_000_000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--neighbour-mb", type=int, default=256)
    args = p.parse_args(argv)
    cfg = load_config(EmbeddingsConfig, args.config, args.set + ["train.epochs=1", "train.workers=1"])
    base = Path(cfg.corpus.cache_dir or tempfile.gettempdir()) / "compare-gensim"
    base.mkdir(parents=True, exist_ok=True)
    full, _ = cg.prepare_plain_corpus(cfg, base)
    work = Path(tempfile.mkdtemp(prefix="neighbour-", dir=base))
    try:
        part, words = work / "part.txt", 0
        with open(full, encoding="utf-8") as src, open(part, "w", encoding="utf-8") as dst:
            for line in src:
                if words >= args.words:
                    break
                dst.write(line)
                words += len(line.split())
        configs = {"ours": work / "ours.yaml", "gensim": work / "gensim.json"}
        configs["ours"].write_text(yaml.safe_dump(cg._ours_config(cfg, part, 1), sort_keys=False))
        configs["gensim"].write_text(json.dumps({"corpus_file": str(part), "arguments": cg.gensim_arguments(cfg, 1)}))
        cg._run("ours", configs["ours"], work / "warmup", 1)          # fills Numba's cache: not kept
        load = results.Load()
        speeds = {(side, cond): [] for cond in ("alone", "neighbour") for side in ("ours", "gensim")}
        for rep in range(args.repeats):
            for cond in ("alone", "neighbour"):
                hog = None
                if cond == "neighbour":
                    n = args.neighbour_mb * 2**20 // 8
                    hog = subprocess.Popen([sys.executable, "-c", NEIGHBOUR.format(n=n)])
                try:
                    for side in ("ours", "gensim") if rep % 2 == 0 else ("gensim", "ours"):
                        load.check(f"repeat {rep + 1}, {side}, {cond}")
                        r = cg._run(side, configs[side], work / f"{side}-{rep}-{cond}", 1)
                        speeds[side, cond].append(r["words_per_second"])
                        print(f"  repeat {rep + 1}, {side}, {cond}: {r['words_per_second']:,.0f} words/s", flush=True)
                finally:
                    if hog is not None:
                        hog.kill()
                        hog.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"noisy_neighbour: {words:,} words of {full.name}, 1 epoch, 1 worker each; neighbour copies "
          f"{args.neighbour_mb} MB arrays; load {load.text()}")
    print(f"  {'side':<8} {'alone':>12} {'neighbour':>12} {'slowdown':>9}")
    for side in ("ours", "gensim"):
        a, b = (statistics.median(speeds[side, c]) for c in ("alone", "neighbour"))
        print(f"  {side:<8} {a:>12,.0f} {b:>12,.0f} {a / b:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
