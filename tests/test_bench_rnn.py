"""benchmarks/bench_rnn.py keeps its contract: a --json file of sequences per second per cell and mode (the torch
entries null without PyTorch), chunks sized to the asked length, nothing appended with --no-results; its batches
are bucketed and length-sorted, its MR-like word ids follow the law its docstring states; and, with PyTorch, its
precomputed-table variant computes what the plain PyTorch model does. Tiny runs: they check the plumbing, not
speed."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_rnn  # noqa: E402
import torch_rnn  # noqa: E402


def test_json_has_every_cell_and_mode_without_torch(tmp_path, capsys):
    results = Path(bench_rnn.results.RESULTS)
    before = results.read_bytes() if results.is_file() else None
    path = tmp_path / "rnn.json"
    assert bench_rnn.main(["--no-torch", "--repeats", "2", "--batches", "2", "--min-seconds", "0.02",
                           "--no-results", "--json", str(path)]) == 0
    out = json.loads(path.read_text())
    assert set(out) == set(bench_rnn.CELLS)
    for cell in bench_rnn.CELLS:
        assert set(out[cell]) == set(bench_rnn.MODES)
        for mode in bench_rnn.MODES:
            r = out[cell][mode]
            assert r["ours"] > 0 and r["shortest_chunk"]["ours"] >= 0.02, (cell, mode)
            assert all(r[k] is None for k in ("torch", "ratio", "torch_pre", "ratio_pre", "torch_by_threads"))
    text = capsys.readouterr().out
    assert "timing ours alone" not in text                   # --no-torch: PyTorch not even tried
    assert "before repeat 1/2" in text and "before repeat 2/2" in text and "load:" in text
    assert (results.read_bytes() if results.is_file() else None) == before


def test_batches_are_bucketed_and_sorted_longest_first():
    batches = bench_rnn.make_batches(6, seed=2)
    spans = sorted((int(b[1].min()), int(b[1].max())) for b in batches)
    assert all(hi <= lo for (_, hi), (lo, _) in zip(spans, spans[1:]))   # length buckets do not overlap
    for ids, lengths, y in batches:
        assert (np.diff(lengths) <= 0).all() and ids.shape == (bench_rnn.B, lengths[0]) and len(y) == bench_rnn.B
        assert all((ids[r, L:] == bench_rnn.VOCAB + 1).all() and (ids[r, :L] < bench_rnn.VOCAB).all()
                   for r, L in enumerate(lengths))


def test_zipf_ids_follow_the_stated_law():
    batches = bench_rnn.make_batches(40, seed=1, ids_kind="zipf")
    ids = np.concatenate([ids[row, :L] for ids, lengths, _ in batches for row, L in enumerate(lengths)])
    p = 1.0 / np.arange(1, bench_rnn.VOCAB + 1)
    p /= p.sum()
    for k in (10, 100, 1000):   # share of tokens among the k most frequent words: the law's, within sampling noise
        assert abs((ids < k).mean() - p[:k].sum()) < 0.02, k
    uniform = np.concatenate([b[0][b[0] <= bench_rnn.VOCAB] for b in bench_rnn.make_batches(40, 1, "uniform")])
    assert abs((uniform < 1000).mean() - 1000 / bench_rnn.VOCAB) < 0.01


@pytest.mark.parametrize("cell", bench_rnn.CELLS)
def test_precomputed_variant_computes_the_plain_models_logits(cell):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    table = bench_rnn.make_table()[:300].copy()               # 300 words are enough here
    rng = np.random.default_rng(0)
    model = torch_rnn.TorchModel(cell, table, torch, hidden=16)
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.add_(torch.from_numpy(rng.normal(0, 0.3, tuple(p.shape)).astype(np.float32)))  # non-zero biases
    lengths = np.array([9, 7, 7, 3, 1], np.int32)
    ids = np.full((5, 9), 299, np.int32)
    for r, L in enumerate(lengths):
        ids[r, :L] = rng.integers(0, 299, L)
    batches = model.convert([(ids, lengths, np.zeros(5, np.int32))] * 2)
    with torch.inference_mode():
        want = model.logits(*batches[0][:2])
        for cold in (True, False):
            pre = torch_rnn.Precomputed(model, torch, cold)
            Z, rows = pre._rows(batches)
            for r, (_, L, _) in zip(rows, batches):
                torch.testing.assert_close(pre.logits(Z, r, L), want, rtol=1e-5, atol=1e-6)
