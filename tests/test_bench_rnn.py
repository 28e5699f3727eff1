"""benchmarks/bench_rnn.py keeps the contract issue 5 gives it: a --json file of sequences per second per cell
and mode, torch and ratio null without PyTorch, and nothing appended with --no-results; its MR-like word ids
follow the law its docstring states. A tiny run (2 batches, 1 repeat, ours only): it checks the plumbing,
not speed."""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_rnn  # noqa: E402


def test_json_has_every_cell_and_mode_without_torch(tmp_path, capsys):
    results = Path(bench_rnn.results.RESULTS)
    before = results.read_bytes() if results.is_file() else None
    path = tmp_path / "rnn.json"
    assert bench_rnn.main(["--no-torch", "--repeats", "1", "--batches", "2", "--gap", "0", "--no-results",
                           "--json", str(path)]) == 0
    out = json.loads(path.read_text())
    assert set(out) == set(bench_rnn.CELLS)
    for cell in bench_rnn.CELLS:
        assert set(out[cell]) == set(bench_rnn.MODES)
        for mode in bench_rnn.MODES:
            r = out[cell][mode]
            assert r["ours"] > 0 and r["torch"] is None and r["ratio"] is None, (cell, mode)
    assert "timing ours alone" not in capsys.readouterr().out   # --no-torch: PyTorch not even tried
    assert (results.read_bytes() if results.is_file() else None) == before


def test_zipf_ids_follow_the_stated_law():
    batches = bench_rnn.make_batches(40, seed=1, ids_kind="zipf")
    ids = np.concatenate([ids[row, :L] for ids, lengths, _ in batches for row, L in enumerate(lengths)])
    p = 1.0 / np.arange(1, bench_rnn.VOCAB + 1)
    p /= p.sum()
    for k in (10, 100, 1000):   # share of tokens among the k most frequent words: the law's, within sampling noise
        assert abs((ids < k).mean() - p[:k].sum()) < 0.02, k
    uniform = np.concatenate([b[0][b[0] <= bench_rnn.VOCAB] for b in bench_rnn.make_batches(40, 1, "uniform")])
    assert abs((uniform < 1000).mean() - 1000 / bench_rnn.VOCAB) < 0.01
