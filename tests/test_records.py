"""What every run leaves to look at: history.csv (its columns, one row per epoch, the same numbers as
metrics.json) and the PNG figures (they exist and are valid PNGs; the same numbers give the same bytes; no pixel
is compared), and the first-run message about compiling Numba kernels.

Run: .venv/bin/python -m pytest -q tests/test_records.py
"""
import json
import time

import numpy as np
import pytest
from PIL import Image

from pipeline import figures, kernelcache
from pipeline.cli import main
from pipeline.history import read_history
from pipeline.vectors import WordVectors, save_vectors

WORDS = ["good", "great", "fine", "bad", "awful", "dull", "the", "film", "was", "a"]


def assert_png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    with Image.open(path) as im:
        im.verify()                                   # a complete, uncorrupted PNG
    with Image.open(path) as im:
        assert im.size[0] > 200 and im.size[1] > 200


def labelled(n, seed):
    r = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        lab = ["pos", "neg"][i % 2]
        cue = r.choice(WORDS[:3] if lab == "pos" else WORDS[3:6])
        lines.append(f"{lab}\t{' '.join(r.choice(WORDS[6:], 3))} {cue}\n")
    return "".join(lines)


def train_rnn(tmp_path, *sets):
    rng = np.random.default_rng(0)
    save_vectors(tmp_path / "vec.bin", WordVectors(WORDS, rng.standard_normal((len(WORDS), 6)).astype(np.float32)))
    (tmp_path / "train.tsv").write_text(labelled(60, 1))
    args = ["--quiet", "train-rnn"]
    for s in ["data.name=null", f"data.train=[{tmp_path / 'train.tsv'}]", f"vectors.path={tmp_path / 'vec.bin'}",
              "model.hidden_size=8", "train.batch_size=8", "train.workers=1", "train.patience=0",
              f"output.dir={tmp_path / 'run'}", *sets]:
        args += ["--set", s]
    assert main(args) == 0
    out = tmp_path / "run"
    return out, json.loads((out / "metrics.json").read_text()), read_history(out / "history.csv")


def test_stage_two_history_and_figures(tmp_path):
    out, m, rows = train_rnn(tmp_path, "train.epochs=3", "data.dev_fraction=0.2", "data.test_fraction=0.2")
    header = (out / "history.csv").read_text().splitlines()[0]
    assert header == "epoch,train_loss,dev_loss,dev_accuracy,lr,seconds"
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert [r["train_loss"] for r in rows] == pytest.approx(m["train_loss"], rel=1e-7)
    assert [r["dev_accuracy"] for r in rows] == pytest.approx(m["dev_accuracy"], rel=1e-7)
    assert all(r["dev_loss"] > 0 and r["lr"] == 0.002 and r["seconds"] > 0 for r in rows)
    for name in ("learning_curves.png", "confusion_matrix.png"):
        assert_png(out / name)
    assert not list(out.glob(".*.tmp"))


def test_stage_two_kfold_history_has_a_fold_column(tmp_path):
    out, m, rows = train_rnn(tmp_path, "train.epochs=2", "data.folds=3")
    assert (out / "history.csv").read_text().splitlines()[0].startswith("fold,epoch,train_loss,dev_loss")
    assert [(r["fold"], r["epoch"]) for r in rows] == [(f, e) for f in (1, 2, 3) for e in (1, 2)]
    assert [r["train_loss"] for r in rows if r["fold"] == 3] == pytest.approx(m["train_loss"], rel=1e-7)
    assert_png(out / "learning_curves.png")
    assert_png(out / "confusion_matrix.png")          # pooled out-of-fold predictions


def test_stage_two_without_dev_or_test_set(tmp_path):
    out, _, rows = train_rnn(tmp_path, "train.epochs=2", "data.dev_fraction=0", "data.test_fraction=0")
    assert [r["dev_loss"] for r in rows] == [None, None] and [r["dev_accuracy"] for r in rows] == [None, None]
    assert_png(out / "learning_curves.png")
    assert not (out / "confusion_matrix.png").exists()   # nothing to tabulate


def test_stage_one_history_and_figures(tmp_path):
    out = tmp_path / "emb"
    args = ["--quiet", "train-embeddings"]
    for s in ["corpus.paths=[gensim:lee_background.cor]", "vocab.min_count=3", "train.epochs=2",
              "train.vector_size=16", "train.workers=1", "output.evaluate=false", f"output.dir={out}",
              f"corpus.cache_dir={tmp_path / 'cache'}"]:
        args += ["--set", s]
    assert main(args) == 0
    m = json.loads((out / "metrics.json").read_text())
    rows = read_history(out / "history.csv")
    assert (out / "history.csv").read_text().splitlines()[0] == \
        "epoch,loss,words_per_second,alpha_start,alpha_end,seconds"
    assert [r["epoch"] for r in rows] == [1, 2]
    assert [r["loss"] for r in rows] == pytest.approx(m["loss"], rel=1e-7)
    assert rows[0]["alpha_start"] == 0.025 and rows[-1]["alpha_end"] == pytest.approx(0.0001)
    assert rows[0]["alpha_end"] == pytest.approx(rows[1]["alpha_start"])      # linear over both epochs
    assert all(r["words_per_second"] > 0 and r["seconds"] > 0 for r in rows)
    assert_png(out / "loss.png")
    assert_png(out / "words_pca.png")


def test_figures_are_deterministic(tmp_path):
    history = [{"fold": f, "epoch": e, "train_loss": 1 / e + f, "dev_loss": 1.2 / e, "dev_accuracy": 0.5 + e / 10}
               for f in (1, 2) for e in (1, 2, 3)]
    rng = np.random.default_rng(0)
    words = [f"word{i}" for i in range(80)]
    vectors = rng.standard_normal((80, 10)).astype(np.float32)
    for k in ("a", "b"):
        figures.learning_curves(tmp_path / f"lc-{k}.png", history, {1: 2, 2: 3}, "two folds")
        figures.confusion_matrix(tmp_path / f"cm-{k}.png", [[5, 1], [2, 7]], ["neg", "pos"], "title")
        figures.word_map(tmp_path / f"wm-{k}.png", words, vectors, "words")
    for name in ("lc", "cm", "wm"):
        assert (tmp_path / f"{name}-a.png").read_bytes() == (tmp_path / f"{name}-b.png").read_bytes()


def test_pca_2d_finds_the_spread_directions():
    rng = np.random.default_rng(1)
    base = np.zeros((40, 5))
    base[:, 0] = 1.0                                               # every row points along axis 0 ...
    base[:20, 1], base[20:, 1] = 1.0, -1.0                         # ... two groups differ along axis 1
    xy = figures.pca_2d(base + 0.01 * rng.standard_normal(base.shape))
    assert xy.shape == (40, 2)
    assert np.all(np.sign(xy[:20, 0]) == -np.sign(xy[20:, 0]))     # the first axis separates the groups


def test_compile_message_only_when_the_cache_is_cold(monkeypatch):
    said = []
    monkeypatch.setattr(kernelcache.progress, "say", lambda msg: said.append(msg))
    kernelcache.warm_up(lambda: said.append("called"), cached=False, about_seconds=17)
    assert said == ["compiling Numba kernels (first run only, about 17 s)", "called"]
    said.clear()
    kernelcache.warm_up(lambda: None, cached=True, about_seconds=17)
    assert said == []
    kernelcache.warm_up(lambda: time.sleep(0.3), cached=None, about_seconds=17, after=0.05)  # cannot tell: a long call
    kernelcache.warm_up(lambda: None, cached=None, about_seconds=17, after=0.5)              # a quick one
    assert said == ["compiling Numba kernels (first run only, about 17 s)"]


def test_is_cached_reads_numba_cache():
    from numba import njit

    from pipeline.embeddings.kernels import sgns_train_parallel
    tiny = (np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32), np.zeros(1), np.zeros(1, np.int64),
            np.zeros(1, np.int64), np.array([0, 1], np.int32), np.array([0, 2], np.int64),
            np.full(2, 2**32 - 1, np.uint32), np.ones(2), np.arange(2, dtype=np.int32), np.array([0, 1], np.int64), 2,
            True, 1,
            0.025, 0.025, np.ones(1, np.uint64))
    sgns_train_parallel(*tiny)                          # compiled or loaded now: in this process's overloads
    assert kernelcache.is_cached(sgns_train_parallel, tiny) is True
    assert kernelcache.is_cached(njit(lambda x: x + 1), (1,)) is False      # never compiled, no cache file
    assert kernelcache.is_cached(object(), (1,)) is None                     # not a Numba kernel
