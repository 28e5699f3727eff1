"""Smoke tests of benchmarks/report_classification.py on tiny made-up data (no real data, no RNN training:
the RNN is replaced by a stub that records what it was given)."""
import gzip
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("report_classification", ROOT / "benchmarks" / "report_classification.py")
report = importlib.util.module_from_spec(spec)
sys.modules.setdefault("report_classification", report)   # so that --jobs can pickle its worker function
spec.loader.exec_module(report)

WORDS = ["good", "great", "fine", "bad", "awful", "dull", "film", "plot", "the", "a"]


def make_mr(folder: Path, n=30, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for cls, words in (("pos", WORDS[:3]), ("neg", WORDS[3:6])):
        lines = [" ".join(rng.choice(words + WORDS[6:], 6)) + f" {cls}{i} ." for i in range(n)]
        (folder / f"rt-polarity.{cls}").write_bytes(("\n".join(lines) + "\n").encode("cp1252"))


def make_sst2(folder: Path, seed=1):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 40), ("dev", 10), ("test", 12)):
        lines = []
        for i in range(n):
            y = i % 2
            words = WORDS[:3] if y else WORDS[3:6]
            lines.append(f"{y} " + " ".join(rng.choice(words + WORDS[6:], 5)) + f" {split}{i} .")
        (folder / f"stsa.binary.{split}").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def data(tmp_path):
    make_mr(tmp_path / "MR")
    make_sst2(tmp_path / "SST2")
    return tmp_path


@pytest.fixture
def stub(monkeypatch):
    """Replace the RNN and record the test sentences each model saw."""
    seen = {"ours": [], "tfidf": [], "ours_train": [], "tfidf_train": []}

    def fake_train_ours(cfg_path, sets, fold, folder, seeds, jobs=1):
        train, dev, test = fold
        seen["ours"].append(list(test.texts))
        seen["ours_train"].append(list(train.texts) + list(dev.texts))
        labels = sorted(set(train.labels))
        probs = [np.tile([0.4, 0.6], (len(test), 1)) for _ in seeds]
        curve = {"train_loss": [0.7, 0.6], "dev_accuracy": [0.5, 0.6], "best_epoch": 2}
        return probs, [curve for _ in seeds], labels

    real_tfidf = report.tfidf_baseline

    def recording_tfidf(train, dev, test_texts):
        seen["tfidf"].append(list(test_texts))
        seen["tfidf_train"].append(list(train.texts) + list(dev.texts))
        return real_tfidf(train, dev, test_texts)

    monkeypatch.setattr(report, "train_ours", fake_train_ours)
    monkeypatch.setattr(report, "tfidf_baseline", recording_tfidf)
    return seen


def test_corpus_filter_drops_labelled_sentences(data, tmp_path):
    keys = report.labelled_sentences(data / "MR", data / "SST2")
    mr_line = (data / "MR" / "rt-polarity.pos").read_bytes().decode("cp1252").split("\n")[0]
    src = tmp_path / "movie_reviews_01.txt.gz"
    with gzip.open(src, "wt", encoding="utf-8") as f:
        f.write("an unrelated sentence .\n")
        f.write(mr_line.upper().replace(" .", ".") + "\n")   # same letters, other case and spacing
        f.write("another one\n")
    out = tmp_path / "filtered.txt.gz"
    stats = report.prepare_corpus([src], keys, out)
    assert stats == {"files": 1, "kept": 2, "dropped": 1}
    assert gzip.open(out, "rt").read() == "an unrelated sentence .\nanother one\n"


def test_baseline_and_ours_see_the_same_folds(data, stub, tmp_path):
    args = report.parse_args(["--folds", "0", "--seeds", "2"])
    res = report.run_dataset("MR", str(data / "MR"), "unused.bin", args, tmp_path / "work")
    # the same test sentences, fold by fold, for both models ...
    assert stub["ours"] == stub["tfidf"] and len(stub["ours"]) == 10
    # ... and they are the folds train-rnn itself builds from configs/mr.yaml
    _, _, cfg = report.rnn_config("MR", str(data / "MR"), "unused.bin")
    folds = report.load_splits(cfg.data).folds
    assert [list(f[2].texts) for f in folds] == stub["ours"]
    # every sentence is tested exactly once; the baseline trains on the rest (train + dev)
    tested = [t for fold in stub["ours"] for t in fold]
    assert len(tested) == len(set(tested)) == 60
    for train, test in zip(stub["tfidf_train"], stub["tfidf"]):
        assert not set(train) & set(test) and len(train) + len(test) == 60
    assert stub["tfidf_train"] == stub["ours_train"]
    assert res["folds_run"] == 10 and len(res["ours"]["seed_acc"][0]) == 2


def test_sst2_uses_the_given_splits(data, stub, tmp_path):
    args = report.parse_args([])
    report.run_dataset("SST2", str(data / "SST2"), "unused.bin", args, tmp_path / "work")
    test_lines = (data / "SST2" / "stsa.binary.test").read_text().split("\n")
    assert stub["ours"] == stub["tfidf"] == [[l.split(" ", 1)[1] for l in test_lines if l]]


def test_write_fold_round_trips_through_load_splits(data, tmp_path):
    _, _, cfg = report.rnn_config("MR", str(data / "MR"), "unused.bin")
    fold = report.load_splits(cfg.data).folds[3]
    sets = report.write_fold(fold, tmp_path / "fold")
    cfg2 = report.load_config(report.RNNConfig, ROOT / "configs/mr.yaml", sets)
    again = report.load_splits(cfg2.data).folds
    assert len(again) == 1
    for a, b in zip(again[0], fold):
        assert a.texts == b.texts and a.labels == b.labels


def test_main_json_results_and_figures(data, stub, tmp_path, monkeypatch):
    emb = tmp_path / "emb"
    emb.mkdir()
    (emb / "vectors.bin").write_bytes(b"")           # exists: --reuse-vectors skips stage one
    cfg = tmp_path / "emb.yaml"
    cfg.write_text(f"output:\n  dir: {emb}\n")
    results = tmp_path / "RESULTS.md"
    other = "## Another benchmark\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n"
    results.write_text("# Benchmark results\n\n" + report.SECTION_TEXT + "\n" + other)
    monkeypatch.setattr(report, "RESULTS", results)
    monkeypatch.setattr(report, "FIGURES", tmp_path / "figures")
    out = tmp_path / "r.json"
    argv = ["--mr", str(data / "MR"), "--sst2", str(data / "SST2"), "--embeddings-config", str(cfg),
            "--reuse-vectors", "--json", str(out), "--workdir", str(tmp_path / "work")]
    assert report.main(argv) == 0
    got = json.loads(out.read_text())
    assert set(got) == {"MR", "SST2"}
    for name in got:
        assert {"ours", "tfidf"} <= set(got[name])
        assert {"single_model_accuracy", "accuracy"} <= set(got[name]["ours"]) and "accuracy" in got[name]["tfidf"]
        for acc in (got[name]["ours"]["single_model_accuracy"], got[name]["ours"]["accuracy"],
                    got[name]["tfidf"]["accuracy"]):
            assert 0 <= acc <= 1
        assert len(got[name]["ours"]["per_seed_accuracy"]) == 3     # DEFAULT_SEEDS
    assert got["MR"]["ours"]["accuracy"] == pytest.approx(0.5)   # the stub always says "pos"
    assert got["MR"]["ours"]["single_model_accuracy"] == pytest.approx(0.5)
    text = results.read_text()
    assert report.SECTION in text and "### Report" in text and "81.0" in text
    # rows and the dated block stay inside this report's section; the next section is untouched
    assert text.index(report.SECTION) < text.index("### Report") < text.index(other) and text.endswith(other)
    rows = [l for l in text.splitlines() if l.startswith("| 20")]
    assert len(rows) == 6                              # 2 data sets x (ours one model, ours ensemble, tfidf)
    assert text.index("ONE model") < text.index("ensemble of the 3 seeds")
    assert report.main(argv + ["--folds", "2", "--datasets", "MR"]) == 0
    text = results.read_text()
    assert text.count(report.SECTION) == 1 and text.count("### Report") == 1 and "SCREEN 2 of 10" in text
    try:
        import matplotlib  # noqa: F401
        assert (tmp_path / "figures" / "mr_confusion.png").is_file()
        assert (tmp_path / "figures" / "sst2_learning_curves.png").is_file()
    except ImportError:
        pass


def test_seeds_trained_in_parallel_give_the_same_models(data, tmp_path):
    """--jobs: a fold's seeds trained in separate processes give the probabilities of one-by-one training."""
    from pipeline.vectors import WordVectors, save_vectors
    rng = np.random.default_rng(0)
    save_vectors(tmp_path / "v.bin", WordVectors(WORDS, rng.standard_normal((len(WORDS), 4)).astype(np.float32)))
    _, _, cfg = report.rnn_config("MR", str(data / "MR"), str(tmp_path / "v.bin"))
    fold = report.load_splits(cfg.data).folds[0]
    sets = [f"vectors.path={tmp_path / 'v.bin'}", "model.hidden_size=3", "train.epochs=2", "train.workers=1"]
    one = report.train_ours(None, sets, fold, tmp_path / "one", [1, 2], jobs=1)
    two = report.train_ours(None, sets, fold, tmp_path / "two", [1, 2], jobs=2)
    assert one[2] == two[2] == ["neg", "pos"] and not np.array_equal(one[0][0], one[0][1])
    for a, b in zip(one[0], two[0]):
        np.testing.assert_array_equal(a, b)
