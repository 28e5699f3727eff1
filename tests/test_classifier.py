"""Tests of stage two around the kernels: data formats and splits, the table's UNK/PAD rows, gradient
checks through the whole model, a NumPy reference forward pass, BPTT on a long-memory task, the frozen
table, reproducibility, and train-rnn / predict end to end through the CLI.

Run: .venv/bin/python -m pytest -q tests/test_classifier.py
"""
import dataclasses
import hashlib
import json

import numpy as np
import pytest

from pipeline import cli
from pipeline.config import LabelledDataConfig, RNNModelConfig
from pipeline.classifier import data as cdata
from pipeline.classifier import model as M
from pipeline.classifier import predict as P
from pipeline.classifier import threads as threads_mod
from pipeline.classifier.optim import Adam, clip_global_norm
from pipeline.errors import UserError
from pipeline.vectors import WordVectors, save_vectors


# ------------------------------------------------------------------------------------------------ data

def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("fmt, text", [
    ("tsv", "pos\ta fine film\nneg\ta dull film\n\n"),
    ("fasttext", "__label__pos a fine film\n__label__neg a dull film\n"),
    ("label_first", "1 a fine film\n0 a dull film\n"),
])
def test_line_formats_and_auto(tmp_path, fmt, text):
    f = write(tmp_path / "d.txt", text)
    for given in (fmt, "auto"):
        d = cdata.read_labelled([f], given)
        assert d.texts == ["a fine film", "a dull film"]
        assert set(d.labels) == ({"1", "0"} if fmt == "label_first" else {"pos", "neg"})


def test_class_files_cp1252_and_errors(tmp_path):
    pos = write(tmp_path / "rt.pos", "caf\u00e9 society is fine\nlovely\n", "cp1252")
    neg = write(tmp_path / "rt.neg", "dull\n", "cp1252")
    d = cdata.read_labelled([pos, neg], "class_files", encoding="cp1252")
    assert d.labels == ["pos", "pos", "neg"] and d.texts[0].startswith("caf\u00e9")
    with pytest.raises(UserError, match="rt.pos:1"):          # cp1252 bytes are not UTF-8
        cdata.read_labelled([pos, neg], "class_files")
    empty = write(tmp_path / "rt.mid", "\n")
    with pytest.raises(UserError, match="rt.mid:1: the class file is empty"):
        cdata.read_labelled([pos, empty], "class_files", encoding="cp1252")
    bad = write(tmp_path / "bad.txt", "__label__pos fine\nno label here\n")
    with pytest.raises(UserError, match="bad.txt:2"):
        cdata.read_labelled([bad], "fasttext")


def test_unknown_label_in_test_is_an_error(tmp_path):
    train = write(tmp_path / "train.tsv", "a\tx\nb\ty\n")
    test = write(tmp_path / "test.tsv", "c\tz\n")
    with pytest.raises(UserError, match="test.tsv:1: label 'c'"):
        cdata.load_splits(LabelledDataConfig(name=None, format="tsv", train=(str(train),), test=(str(test),)))


def test_stratified_split_and_kfold():
    y = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    test, rest = cdata.stratified_split(y, [0.1], seed=3)
    assert sorted(np.unique(y[test], return_counts=True)[1]) == [1, 3, 6]   # 10% of every class
    assert len(np.intersect1d(test, rest)) == 0 and len(test) + len(rest) == len(y)
    again, _ = cdata.stratified_split(y, [0.1], seed=3)
    assert np.array_equal(test, again)
    folds = cdata.kfold_indices(y, 5, seed=1)
    allidx = np.concatenate(folds)
    assert np.array_equal(np.sort(allidx), np.arange(len(y)))             # every example exactly once
    for f in folds:
        assert np.unique(y[f], return_counts=True)[1].tolist() == [12, 6, 2]


def test_kfold_splits_from_config(tmp_path):
    lines = "".join(f"{'ab'[i % 2]}\tsentence {i}\n" for i in range(40))
    f = write(tmp_path / "all.tsv", lines)
    s = cdata.load_splits(LabelledDataConfig(name=None, train=(str(f),), folds=4, dev_fraction=0.1))
    assert len(s.folds) == 4 and s.labels == ["a", "b"]
    tests = [t for _, _, t in s.folds]
    assert sorted(x for t in tests for x in t.texts) == sorted(f"sentence {i}" for i in range(40))
    for train, dev, test in s.folds:
        assert not set(train.texts) & set(test.texts) and not set(dev.texts) & set(test.texts)


def test_table_rows_encoding_and_batches():
    vecs = np.arange(12, dtype=np.float32).reshape(4, 3)
    for unk, row in (("mean", vecs.mean(0)), ("zeros", np.zeros(3))):
        table = cdata.build_table(vecs, unk)
        assert table.shape == (6, 3) and not table.flags.writeable
        assert np.allclose(table[4], row) and not table[5].any()               # UNK, PAD
    from pipeline.text import Tokenizer
    enc = cdata.Encoder({w: i for i, w in enumerate("abcd")}, Tokenizer())
    e = enc.encode(["A b zz", "", "d d d d"], [0, 1, 0])
    assert e.ids[:3].tolist() == [0, 1, 4] and e.lengths.tolist() == [3, 1, 4]   # OOV -> UNK; empty -> [UNK]
    assert enc.coverage == pytest.approx(6 / 7)                              # the empty line adds no token
    ids, lengths, y = cdata.make_batch(e, np.array([0, 1]), pad_id=5)
    assert ids.tolist() == [[0, 1, 4], [4, 5, 5]] and lengths.dtype == np.int32
    order = cdata.batch_order(np.array([5, 1, 9, 2, 7, 3]), 2, np.random.default_rng(0))
    assert sorted(np.concatenate(order).tolist()) == list(range(6))


# --------------------------------------------------------------------------------------- gradients

def tiny_problem(rng, V=7, D=3, B=4, T=5, C=3, dtype=np.float64):
    table = np.zeros((V + 2, D), dtype)
    table[:V + 1] = rng.standard_normal((V + 1, D))
    lengths = np.array([T, 3, 1, T - 1][:B], np.int32)
    ids = np.full((B, T), V + 1, np.int32)
    for b in range(B):
        ids[b, :lengths[b]] = rng.integers(0, V + 1, lengths[b])
    return table, ids, lengths, rng.integers(0, C, B).astype(np.int32)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "meanmax", "attention"])
def test_gradients_whole_model(cell, pooling):
    """Central differences in float64 through projection, 2 bidirectional layers, pooling, dropout (on the
    pooled vector, on layer 0's inputs and between the layers)."""
    rng = np.random.default_rng(0)
    table, ids, lengths, y = tiny_problem(rng)
    mc = RNNModelConfig(cell=cell, hidden_size=3, layers=2, bidirectional=True, pooling=pooling,
                        projection=2, dropout=0.3, input_dropout=0.3, layer_dropout=0.4)
    p = M.init_params(mc, table.shape[1], 3, seed=1, dtype=np.float64)
    for v in p.values():
        v += rng.standard_normal(v.shape) * 0.3
    loss_of = lambda: M.loss_and_grads(p, mc, table, ids, lengths, y, True, np.random.default_rng(5))
    _, grads, _ = loss_of()
    assert "table" not in grads and set(grads) == set(p)
    for name, v in p.items():
        num = np.zeros_like(v)
        for i in range(v.size):
            old = v.flat[i]
            v.flat[i] = old + 1e-6
            plus = loss_of()[0]
            v.flat[i] = old - 1e-6
            minus = loss_of()[0]
            v.flat[i] = old
            num.flat[i] = (plus - minus) / 2e-6
        err = np.abs(num - grads[name])
        assert err.max() < 1e-6 * max(1.0, np.abs(num).max()), name
        assert err.mean() < 1e-7, name


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("threads", [2, 3])
def test_batch_split_over_threads_equals_one_thread(cell, threads):
    """loss_and_grads / Predictor with the batch split over threads: the same loss, gradients, probabilities
    and logits as one thread (float64, so only summation order differs), dropout included, and the
    dropout generator advanced the same way."""
    rng = np.random.default_rng(3)
    V, D, B, T, C = 30, 4, 29, 9, 3
    table = rng.standard_normal((V + 2, D))
    table[V + 1] = 0
    lengths = rng.integers(1, T + 1, B).astype(np.int32)
    lengths[5] = T
    ids = np.full((B, T), V + 1, np.int32)
    for b in range(B):
        ids[b, :lengths[b]] = rng.integers(0, V + 1, lengths[b])
    y = rng.integers(0, C, B).astype(np.int32)
    mc = RNNModelConfig(cell=cell, hidden_size=5, layers=2, bidirectional=True, pooling="max", dropout=0.4,
                        input_dropout=0.2, layer_dropout=0.3)
    p = M.init_params(mc, D, C, seed=2, dtype=np.float64)
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    loss1, g1, p1 = M.loss_and_grads(p, mc, table, ids, lengths, y, True, r1, threads=1)
    loss2, g2, p2 = M.loss_and_grads(p, mc, table, ids, lengths, y, True, r2, threads=threads)
    assert threads_mod._parts(B, threads) is not None and r1.random() == r2.random()
    assert loss2 == pytest.approx(loss1, rel=1e-12)
    np.testing.assert_allclose(p2, p1, rtol=1e-12)
    for k in g1:
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-9, atol=1e-13, err_msg=k)
    plain = M.forward(p, mc, table, ids, lengths, keep_cache=False)[0]
    pred = P.Predictor(p, mc, table, threads)
    np.testing.assert_allclose(pred.logits(ids, lengths), plain, rtol=1e-10)
    halves = pred.logits_many([(ids[:B // 2], lengths[:B // 2]), (ids[B // 2:], lengths[B // 2:])])
    np.testing.assert_allclose(np.concatenate(halves), plain, rtol=1e-10)


@pytest.mark.parametrize("settings", [dict(layers=1), dict(layers=2), dict(layers=2, projection=16)])
def test_predictor_gives_a_sentence_the_same_bits_in_any_batch(settings):
    """Inference multiplies row by row (recurrence.matmul_rows): a sentence's logits do not depend on the
    sentences batched with it, nor on which words filled the projected table with its own, so predict's
    partitions on a cluster write one process's bytes. (BLAS GEMMs differ in the last bits with the batch
    shape: at these sizes, up to 2e-7 on the logits.)"""
    rng = np.random.default_rng(0)
    V, D, B, T = 500, 64, 150, 25
    table = (rng.standard_normal((V + 2, D)) * 0.2).astype(np.float32)
    table[V + 1] = 0
    lengths = rng.integers(3, T + 1, B).astype(np.int32)
    ids = np.full((B, T), V + 1, np.int32)
    for b in range(B):
        ids[b, :lengths[b]] = rng.integers(0, V, lengths[b])
    mc = RNNModelConfig(cell="gru", hidden_size=32, **settings)
    p = M.init_params(mc, D, 2, seed=1)
    whole = P.Predictor(p, mc, table, 1).logits(ids, lengths)
    pred = P.Predictor(p, mc, table, 1)
    parts = np.concatenate([pred.logits(*_trim(ids[i:i + 37], lengths[i:i + 37])) for i in range(0, B, 37)])
    assert np.array_equal(parts, whole)
    plain = M.forward(p, mc, table, ids[::-1].copy(), lengths[::-1].copy(), keep_cache=False)[0][::-1]
    np.testing.assert_allclose(plain, whole, rtol=1e-5, atol=1e-6)


def _trim(ids, lengths):
    return np.ascontiguousarray(ids[:, :lengths.max()]), lengths


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_predictor_projected_table_equals_plain_forward(cell):
    """Predictor reads layer 0's W x from rows it fills on demand (frozen table): the same logits as the
    plain forward pass, with a projection and two bidirectional layers; rows are filled only for ids seen,
    and a second batch reuses them."""
    rng = np.random.default_rng(4)
    V, D, T, C = 40, 5, 7, 2
    table = rng.standard_normal((V + 2, D))
    table[V + 1] = 0
    mc = RNNModelConfig(cell=cell, hidden_size=4, layers=2, bidirectional=True, pooling="mean", projection=3)
    p = M.init_params(mc, D, C, seed=3, dtype=np.float64)
    pred = P.Predictor(p, mc, table, threads=1)
    tiny = P.Predictor(p, mc, table, threads=1, max_table_mb=0)   # no room for rows: the plain path
    seen = set()
    for ids_range in ((0, 10), (5, 20)):
        lengths = rng.integers(1, T + 1, 6).astype(np.int32)
        ids = np.full((6, T), V + 1, np.int32)
        for b in range(6):
            ids[b, :lengths[b]] = rng.integers(*ids_range, lengths[b])
        plain = M.forward(p, mc, table, ids, lengths, keep_cache=False)[0]
        np.testing.assert_allclose(pred.logits(ids, lengths), plain, rtol=1e-10)
        np.testing.assert_allclose(tiny.logits(ids, lengths), plain, rtol=1e-10)
        seen |= set(ids.ravel().tolist())
    # one compact row per distinct id met (PAD included), none for the others; rows in first-met order
    assert pred.rows == len(seen) and (pred.slot[sorted(seen)] >= 0).all()
    assert (pred.slot[20:V] < 0).all() and sorted(pred.slot[sorted(seen)]) == list(range(len(seen)))
    assert tiny.rows == 0 and not tiny.use_table


def test_predictor_table_grows_across_batches_in_threads():
    """Thousands of new words: the compact rows outgrow their first capacity and are filled by two threads;
    logits still equal the plain forward pass and rows filled earlier keep their values."""
    rng = np.random.default_rng(5)
    V, D, T = 3000, 6, 12
    table = rng.standard_normal((V + 2, D))
    mc = RNNModelConfig(cell="lstm", hidden_size=3, bidirectional=False, pooling="last", dropout=0.0)
    p = M.init_params(mc, D, 2, seed=1, dtype=np.float64)
    pred = P.Predictor(p, mc, table, threads=2)
    first = None
    for lo, hi in ((0, 1500), (1000, V), (0, V)):
        lengths = rng.integers(1, T + 1, 400).astype(np.int32)
        ids = rng.integers(lo, hi, (400, T)).astype(np.int32)
        np.testing.assert_allclose(pred.logits_many([(ids[:200], lengths[:200]), (ids[200:], lengths[200:])]),
                                   np.split(M.forward(p, mc, table, ids, lengths, keep_cache=False)[0], 2),
                                   rtol=1e-10)
        if first is None:
            first = (pred.rows, pred.ztab["l0.fwd."][:pred.rows].copy())
    assert first[0] > 1024 and pred.rows > first[0]
    np.testing.assert_array_equal(pred.ztab["l0.fwd."][:first[0]], first[1])


def test_elman_forward_matches_numpy_reference():
    rng = np.random.default_rng(1)
    table, ids, lengths, _ = tiny_problem(rng, T=6)
    mc = RNNModelConfig(cell="elman", hidden_size=4, layers=1, bidirectional=False, pooling="last", projection=2,
                        dropout=0.0)
    p = M.init_params(mc, table.shape[1], 3, seed=2, dtype=np.float64)
    logits, _ = M.forward(p, mc, table, ids, lengths)
    W, U, b = p["l0.fwd.W"], p["l0.fwd.U"], p["l0.fwd.b"]
    for row in range(len(ids)):
        h = np.zeros(4)
        for t in range(lengths[row]):
            x = p["P"] @ table[ids[row, t]]
            h = np.tanh(U @ h + W @ x + b)             # z_t = U h_{t-1} + W x_t + b, h_t = f(z_t)
        assert np.allclose(logits[row], p["V"] @ h + p["c"], atol=1e-12)


# ------------------------------------------------------------------------------------ learning, BPTT

def test_elman_learns_first_token_of_30():
    """The label is the first of 30 tokens (key tokens 0/1, then 29 random distractors); with `last`
    pooling only back-propagation through all 29 steps can find it."""
    rng = np.random.default_rng(0)
    K, V, D, T = 2, 10, 16, 30
    table = np.zeros((V + 2, D), np.float32)
    table[:V] = rng.standard_normal((V, D)) * 0.5
    table.flags.writeable = False
    digest = hashlib.sha256(table.tobytes()).hexdigest()

    def batch(n):
        ids = rng.integers(K, V, (n, T)).astype(np.int32)
        ids[:, 0] = rng.integers(0, K, n)
        return ids, np.full(n, T, np.int32), ids[:, 0].copy()

    mc = RNNModelConfig(cell="elman", hidden_size=16, layers=1, bidirectional=False, pooling="last", dropout=0.0,
                        input_dropout=0.0)
    p = M.init_params(mc, D, K, seed=1)
    opt = Adam(p, 0.01)
    test_ids, test_len, test_y = batch(400)
    acc = 0.0
    for step in range(1, 1201):
        ids, lengths, y = batch(32)
        _, grads, _ = M.loss_and_grads(p, mc, table, ids, lengths, y)
        clip_global_norm(grads, 5.0)
        opt.step(p, grads)
        if step % 100 == 0:
            acc = (M.forward(p, mc, table, test_ids, test_len)[0].argmax(1) == test_y).mean()
            if acc > 0.95:
                break
    assert acc > 0.9
    assert hashlib.sha256(table.tobytes()).hexdigest() == digest                 # frozen table untouched


# ------------------------------------------------------------------------------------------ end to end

WORDS = ["good", "great", "fine", "bad", "awful", "dull", "the", "film", "was", "a"]


def tiny_run(tmp_path, test_lines=None, extra=()):
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((len(WORDS), 6)).astype(np.float32)
    save_vectors(tmp_path / "vec.bin", WordVectors(WORDS, vecs))
    def lines(n, seed):
        r = np.random.default_rng(seed)
        out = []
        for i in range(n):
            lab = ["pos", "neg"][i % 2]
            sent = list(r.choice(WORDS[6:], 3)) + [r.choice(WORDS[:3] if lab == "pos" else WORDS[3:6])] + \
                list(r.choice(WORDS[6:], int(r.integers(0, 4)))) + (["unseenword"] if i % 5 == 0 else [])
            out.append(f"{lab}\t{' '.join(sent)}\n")
        return "".join(out)
    write(tmp_path / "train.tsv", lines(60, 1))
    write(tmp_path / "test.tsv", test_lines if test_lines is not None else lines(20, 2))
    args = ["--quiet", "train-rnn", "--set", "data.name=null", "--set", f"data.train=[{tmp_path / 'train.tsv'}]",
            "--set", f"data.test=[{tmp_path / 'test.tsv'}]", "--set", f"vectors.path={tmp_path / 'vec.bin'}",
            "--set", "model.hidden_size=8", "--set", "train.epochs=4", "--set", "train.batch_size=8",
            "--set", "train.workers=1", "--set", f"output.dir={tmp_path / 'run'}", *extra]
    return cli.main(args)


def test_train_rnn_end_to_end_and_predict(tmp_path, capsys):
    assert tiny_run(tmp_path) == 0
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["train_loss"]) == len(metrics["dev_accuracy"]) >= 1
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix", "coverage", "sequences_per_second",
            "seconds"} <= set(metrics)
    assert metrics["coverage"] < 1.0
    # the table inside the model is the vectors file's, byte for byte, plus UNK (mean) and PAD (zeros)
    from pipeline.vectors import load_vectors
    wv = load_vectors(tmp_path / "vec.bin")
    with np.load(run / "model.npz", allow_pickle=False) as z:
        assert z["table"][:len(WORDS)].tobytes() == wv.vectors.tobytes() and not z["table"][-1].any()
    # predict on the test sentences reproduces the test accuracy of metrics.json
    capsys.readouterr()
    rows = [l.split("\t", 1) for l in (tmp_path / "test.tsv").read_text().splitlines()]
    assert cli.main(["predict", "--model", str(run / "model.npz"), *[t for _, t in rows]]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(rows) and out[0].count("\tp_") == 2
    acc = np.mean([line.split("\t")[0] == lab for line, (lab, _) in zip(out, rows)])
    assert acc == pytest.approx(metrics["accuracy"])
    # same seed, same bytes
    first = (run / "model.npz").read_bytes()
    assert tiny_run(tmp_path) == 0
    assert (run / "model.npz").read_bytes() == first


def test_unseen_test_label_exits_2(tmp_path, capsys):
    assert tiny_run(tmp_path, test_lines="pos\tgood film\nmaybe\tfine film\n") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "maybe" in err[0] and "test.tsv:2" in err[0]


def test_predict_missing_model_exits_2(tmp_path, capsys):
    assert cli.main(["predict", "--model", str(tmp_path / "none.npz"), "text"]) == 2
    bad = write(tmp_path / "bad.npz", "not a zip")
    assert cli.main(["predict", "--model", str(bad), "text"]) == 2


@pytest.mark.parametrize("settings", [("model.dropout=0.3",),
                                      ("model.word_dropout=0.2", "model.pooling=meanmax", "train.average=0.9"),
                                      ("train.refit=true", "train.lr_decay=0.8", "train.patience=0")])
def test_interrupt_then_resume_gives_the_same_model(tmp_path, monkeypatch, settings):
    """SIGINT mid-epoch (sent by the run itself after its 11th batch: the test hook of signals.py) saves a
    checkpoint (exit 130); --resume ends with the bytes of an uninterrupted run (the word-dropout draws and
    the averaged weights included)."""
    from pipeline.signals import TEST_HOOK
    extra = tuple(a for s in settings for a in ("--set", s))
    assert tiny_run(tmp_path, extra=extra) == 0
    reference = (tmp_path / "run" / "model.npz").read_bytes()
    (tmp_path / "run" / "model.npz").unlink()
    monkeypatch.setenv(TEST_HOOK, "11")           # mid-way through epoch 2 (7 batches per epoch)
    assert tiny_run(tmp_path, extra=extra) == 130
    assert (tmp_path / "run" / "checkpoint.npz").is_file() and not (tmp_path / "run" / "model.npz").exists()
    monkeypatch.delenv(TEST_HOOK)
    assert tiny_run(tmp_path, extra=extra + ("--resume",)) == 0
    assert (tmp_path / "run" / "model.npz").read_bytes() == reference
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


def test_nan_loss_stops_with_advice_and_keeps_best(tmp_path, monkeypatch, capsys):
    from pipeline.classifier import train as train_mod
    real = train_mod.loss_and_grads
    calls = {"n": 0}

    def poisoned(*args, **kw):
        loss, grads, probs = real(*args, **kw)
        calls["n"] += 1
        return (float("nan") if calls["n"] == 12 else loss), grads, probs   # epoch 2 (1 warm-up call)

    monkeypatch.setattr(train_mod, "loss_and_grads", poisoned)
    assert tiny_run(tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lower train.lr" in err[0] and "best weights" in err[0]
    assert (tmp_path / "run" / "model.npz").is_file()


def test_lr_decay_and_refit_on_train_plus_dev(tmp_path, monkeypatch):
    """train.lr_decay: epoch e trains with lr * decay**e (history.csv's lr column); train.refit (the default):
    after the selection on dev, a second model sees every train + dev sentence once per chosen epoch, and it
    is the one saved (other bytes than the selected weights of train.refit=false)."""
    from pipeline.classifier import train as train_mod
    seen = []
    real = train_mod._train_batch

    def counting(run, st, data, idx):
        seen.append((id(st), len(data)))
        return real(run, st, data, idx)

    monkeypatch.setattr(train_mod, "_train_batch", counting)
    assert tiny_run(tmp_path, extra=("--set", "train.lr_decay=0.5", "--set", "train.lr=0.02",
                                     "--set", "train.refit=false")) == 0
    assert len(dict.fromkeys(s for s, _ in seen)) == 1      # no refit: the selection's weights are kept
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    lr_col = rows[0].split(",").index("lr")
    assert [float(r.split(",")[lr_col]) for r in rows[1:]] == pytest.approx([0.02 * 0.5 ** e for e in range(4)])
    plain = (tmp_path / "run" / "model.npz").read_bytes()
    seen.clear()
    assert tiny_run(tmp_path, extra=("--set", "train.lr_decay=0.5", "--set", "train.lr=0.02",
                                     "--set", "train.refit=true")) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    states = list(dict.fromkeys(s for s, _ in seen))
    assert len(states) == 2                                    # selection, then the refit
    selection = [n for s, n in seen if s == states[0]]
    refit = [n for s, n in seen if s == states[1]]
    n_train = selection[0]
    assert n_train < 60 and refit[0] == 60                     # the refit reads train + dev: all 60 sentences
    batches_per_epoch = -(-60 // 8)
    assert len(refit) == metrics["best_epoch"] * batches_per_epoch
    assert (tmp_path / "run" / "model.npz").read_bytes() != plain


@pytest.mark.parametrize("stop_on", ["accuracy", "loss"])
def test_stop_on_picks_the_best_epoch_by_dev_accuracy_or_dev_loss(tmp_path, stop_on):
    """train.stop_on: the kept epoch (metrics' best_epoch, the count refit trains for) is the first epoch with
    the highest dev accuracy, or the first with the lowest dev loss, as history.csv records them."""
    assert tiny_run(tmp_path, extra=("--set", "train.epochs=6", "--set", "train.patience=0", "--set", "train.lr=0.02",
                                     "--set", f"train.stop_on={stop_on}")) == 0
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    head = rows[0].split(",")
    acc = [float(r.split(",")[head.index("dev_accuracy")]) for r in rows[1:]]
    loss = [float(r.split(",")[head.index("dev_loss")]) for r in rows[1:]]
    want = (acc.index(max(acc)) if stop_on == "accuracy" else loss.index(min(loss))) + 1
    assert len(rows) == 7 and json.loads((tmp_path / "run" / "metrics.json").read_text())["best_epoch"] == want


def test_word_dropout_zeroes_real_tokens_only():
    """drop_words: about p of the real tokens become the PAD row, padding and the input stay as they were,
    and the draws come from the generator given (same seed, same drops)."""
    rng = np.random.default_rng(0)
    B, T, pad = 200, 30, 99
    lengths = rng.integers(1, T + 1, B).astype(np.int32)
    ids = np.full((B, T), pad, np.int32)
    for b in range(B):
        ids[b, :lengths[b]] = rng.integers(0, 50, lengths[b])
    before = ids.copy()
    out = cdata.drop_words(ids, lengths, 0.25, pad, np.random.default_rng(1))
    assert np.array_equal(ids, before) and out.dtype == np.int32
    real = np.arange(T)[None, :] < lengths[:, None]
    assert np.array_equal(out[~real], ids[~real])                       # padding untouched
    dropped = (out != ids) & real
    assert np.all(out[dropped] == pad) and np.array_equal(out[real & ~dropped], ids[real & ~dropped])
    assert abs(dropped.sum() / real.sum() - 0.25) < 0.02
    assert np.array_equal(out, cdata.drop_words(ids, lengths, 0.25, pad, np.random.default_rng(1)))


def test_input_and_layer_dropout_masks():
    """dropout_masks: layer 0's inputs drop input_dropout of their elements, layer 1's (the 2H states of
    layer 0) layer_dropout, the kept ones scaled by 1 / (1 - p); without them the generator gives the pooled
    mask alone, as before the options; evaluation (train=False) never drops."""
    rng = np.random.default_rng(0)
    table, ids, lengths, y = tiny_problem(rng)
    B, T = ids.shape
    mc = RNNModelConfig(cell="gru", hidden_size=4, layers=2, input_dropout=0.25, layer_dropout=0.5, dropout=0.3)
    p = M.init_params(mc, table.shape[1], 3, seed=1, dtype=np.float64)
    mask, (m0, m1) = M.dropout_masks(mc, p, 4000, T, np.random.default_rng(1), np.float64)
    assert mask.shape == (4000, M.pooled_size(mc))
    assert m0.shape == (4000, T, table.shape[1]) and m1.shape == (4000, T, 8)
    for m, rate in ((m0, 0.25), (m1, 0.5)):
        assert abs((m == 0).mean() - rate) < 0.01
        assert np.allclose(m[m != 0], 1 / (1 - rate))
    plain = RNNModelConfig(cell="gru", hidden_size=4, layers=2, dropout=0.3, input_dropout=0.0)
    r1, r2 = np.random.default_rng(2), np.random.default_rng(2)
    mask, in_masks = M.dropout_masks(plain, p, B, T, r1, np.float64)
    assert in_masks == [None, None] and np.array_equal(mask, M.dropout_mask(plain, B, r2, np.float64))
    assert r1.random() == r2.random()
    np.testing.assert_array_equal(M.forward(p, mc, table, ids, lengths)[0], M.forward(p, plain, table, ids, lengths)[0])
    trained = M.forward(p, mc, table, ids, lengths, True, np.random.default_rng(3))[0]
    assert not np.allclose(trained, M.forward(p, plain, table, ids, lengths, True, np.random.default_rng(3))[0])


def test_weight_average_is_the_bias_corrected_moving_average():
    """train.average = a: the weights evaluated and kept are sum_s (1-a) a^(t-s) p_s / (1 - a^t) over the
    steps s = 1..t so far, i.e. the mean of the training weights with geometric weights summing to 1."""
    from pipeline.classifier.train import _State
    st = _State.__new__(_State)
    st.params = {"V": np.zeros((2, 3), np.float32)}
    st.avg = {"V": np.zeros((2, 3), np.float32)}
    st.opt = Adam(st.params, 0.1)
    a, seen = 0.8, []
    for t in range(1, 6):
        st.params["V"][...] = t                 # the training weights after step t
        st.opt.t = t
        st.update_average(a)
        seen.append(float(t))
    w = np.array([(1 - a) * a ** (len(seen) - 1 - i) for i in range(len(seen))])
    np.testing.assert_allclose(st.weights(a)["V"], np.dot(w, seen) / w.sum(), rtol=1e-6)
    st.avg = None                               # averaging off: the training weights themselves
    assert st.weights(a)["V"] is st.params["V"]


def test_lstm_forget_bias_initialisation():
    """The forget block (gate order i, f, g, o) starts at model.forget_bias (1 by default); other biases at 0."""
    default = RNNModelConfig(cell="lstm", hidden_size=3, bidirectional=True)
    for fb, mc in ((1.0, default), (4.0, dataclasses.replace(default, forget_bias=4.0))):
        p = M.init_params(mc, 5, 2, seed=0)
        for d in ("fwd", "bwd"):
            b = p[f"l0.{d}.b"]
            assert np.all(b[3:6] == fb) and not b[:3].any() and not b[6:].any()
