"""Stage one end to end through the real CLI, on the Lee corpus that ships with gensim."""
import json

import numpy as np
import pytest
import yaml
from gensim.models import KeyedVectors

from pipeline.cli import main
from pipeline.vectors import load_vectors

TINY = ["corpus.paths=[gensim:lee_background.cor]", "vocab.min_count=3", "train.epochs=3",
        "train.vector_size=32", "output.evaluate=false"]


def train(tmp_path, name, *extra, workers=1):
    out = tmp_path / name
    args = ["--quiet", "train-embeddings"]
    for s in TINY + [f"output.dir={out}", f"corpus.cache_dir={tmp_path / 'cache'}",
                     f"train.workers={workers}", *extra]:
        args += ["--set", s]
    return main(args), out


def test_outputs_metrics_and_gensim_interop(tmp_path):
    code, out = train(tmp_path, "run", "output.write_text=true")
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    for key in ("vocab_size", "corpus_words", "epochs", "loss", "words_per_second", "seconds"):
        assert key in m
    assert m["epochs"] == 3 and len(m["loss"]) == 3
    assert m["loss"][-1] < m["loss"][0]                     # the loss falls
    assert m["corpus_words"] == 59890                       # whitespace tokens of lee_background.cor
    kv = KeyedVectors.load_word2vec_format(str(out / "vectors.bin"), binary=True)
    ours = load_vectors(out / "vectors.txt")
    assert kv.index_to_key == ours.words and len(ours) == m["vocab_size"]
    assert np.allclose(kv.vectors, ours.vectors, atol=1e-6)
    vocab = [line.split("\t")[0] for line in (out / "vocab.tsv").read_text().splitlines()]
    assert vocab == ours.words
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 3 and saved["vocab"]["min_count"] == 3
    assert not (out / "checkpoint.npz").exists()
    assert not list(out.glob(".*.tmp"))                      # no temporary files left behind


def test_same_seed_one_worker_identical_bytes(tmp_path):
    assert train(tmp_path, "a")[0] == 0
    assert train(tmp_path, "b")[0] == 0
    assert train(tmp_path, "c", "train.seed=2")[0] == 0
    a, b, c = ((tmp_path / n / "vectors.bin").read_bytes() for n in "abc")
    assert a == b
    assert a != c


def test_two_workers_train_sensible_vectors(tmp_path):
    code, out = train(tmp_path, "w2", workers=2)
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["workers"] == 2 and all(np.isfinite(m["loss"])) and m["loss"][-1] < m["loss"][0]


@pytest.mark.parametrize("override, message", [
    ("corpus.paths=[/nonexistent/file.txt]", "file not found"),
    ("vocab.min_count=100000", "min_count"),
    ("train.epochz=1", "did you mean 'train.epochs'"),
    ("train.window=0", "train.window"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, override, message):
    code, out = train(tmp_path, "bad", override)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    assert not (out / "vectors.bin").exists()


def test_nan_loss_stops_with_advice(tmp_path, capsys, monkeypatch):
    """A diverging run (simulated: NaN in the initial vectors) stops with advice, writes no vectors."""
    import pipeline.embeddings.train as driver
    real_init = driver.init_vectors

    def poisoned(V, D, seed):
        W = real_init(V, D, seed)
        W[:] = np.nan
        return W

    monkeypatch.setattr(driver, "init_vectors", poisoned)
    code, out = train(tmp_path, "nan")
    err = capsys.readouterr().err
    assert code == 2 and "NaN" in err and "lower train.alpha" in err
    assert not (out / "vectors.bin").exists()
