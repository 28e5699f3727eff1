"""The commands users run after training, through the real entry point (pipeline.cli.main): predict (--input,
stdin, --output, --format json, --k, what it does not label), evaluate-classifier, neighbors (lower-casing,
unknown words, analogies), export (both ways), --quiet after the sub-command, --version; and bad input on
each: one line on stderr, exit status 2."""
import io
import json
import sys
from importlib import metadata

import numpy as np
import pytest
import yaml

from pipeline import KeyedVectors, RNNClassifier
from pipeline.cli import build_parser, main

GOOD, BAD, FILLER = ["good", "great"], ["bad", "dull"], ["the", "film", "was", "a"]


def run(capsys, *argv):
    code = main(["--quiet", *argv])
    out, err = capsys.readouterr()
    return code, out, err.strip()


def assert_clean_failure(code, err, *needles):
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle.lower() in err.lower(), err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A vectors file (with the config.yaml stage one writes beside it), a trained model.npz and a labelled
    tsv file: good words and bad words apart on axis 0; king - man + woman = queen on axes 1 and 2."""
    d = tmp_path_factory.mktemp("commands")
    words = GOOD + BAD + FILLER + ["king", "queen", "man", "woman"]
    rng = np.random.default_rng(0)
    vectors = 0.05 * rng.standard_normal((len(words), 5)).astype(np.float32)
    vectors[:2, 0] += 2
    vectors[2:4, 0] -= 2
    for word, (royal, male) in {"king": (1, 1), "queen": (1, -1), "man": (0, 1), "woman": (0, -1)}.items():
        vectors[words.index(word), 3:5] += (2 * royal, male)
    wv = KeyedVectors(words, vectors)
    (d / "emb").mkdir()
    wv.save_word2vec_format(d / "emb" / "vectors.bin", binary=True)
    (d / "emb" / "config.yaml").write_text(yaml.safe_dump({"tokenizer": {"lowercase": True, "pattern": None}}))
    texts = [f"the film was {(GOOD if i % 2 else BAD)[i % 4 // 2]}" for i in range(40)]
    labels = ["pos" if i % 2 else "neg" for i in range(40)]
    clf = RNNClassifier(vectors=wv, hidden_size=4, epochs=8, lr=0.05, batch_size=8, workers=1).fit(texts, labels)
    clf.save(d / "model.npz")
    (d / "test.tsv").write_text("".join(f"{l}\t{t}\n" for t, l in zip(texts[:12], labels[:12])))
    return {"dir": d, "vectors": d / "emb" / "vectors.bin", "model": d / "model.npz", "test": d / "test.tsv",
            "clf": clf, "wv": wv}


# ------------------------------------------------------------------------------------------ the parser

def test_version_and_quiet_after_the_sub_command(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pipeline {metadata.version('pipeline')}"
    parse = build_parser().parse_args
    assert parse(["train-rnn", "--quiet"]).quiet and parse(["--quiet", "train-rnn"]).quiet
    assert not parse(["train-rnn"]).quiet and parse(["predict", "--quiet", "--model", "m.npz"]).quiet


def test_usage_errors_are_one_line(capsys):
    code, _, err = run(capsys, "predict", "--model", "m.npz", "--format", "xml")
    assert_clean_failure(code, err, "--format", "xml")
    code, _, err = run(capsys, "export", "--vectors", "v.bin")
    assert_clean_failure(code, err, "--text", "--binary")


# ------------------------------------------------------------------------------------------ predict

def test_predict_arguments_file_and_output(capsys, tmp_path, files):
    code, out, _ = run(capsys, "predict", "--model", str(files["model"]), "a great film", "a dull film")
    lines = out.splitlines()
    assert code == 0 and [l.split("\t")[0] for l in lines] == ["pos", "neg"]
    assert lines[0].count("\tp_") == 2 and lines[0].split("\t")[1].startswith("p_neg=")
    inp = tmp_path / "in.txt"
    inp.write_text("a great film\n\nzebra giraffe\nthe film was dull\n")
    code, out, err = run(capsys, "predict", "--model", str(files["model"]), "--input", str(inp),
                         "--output", str(tmp_path / "out.tsv"))
    assert code == 0 and out == ""
    written = (tmp_path / "out.tsv").read_text().splitlines()
    assert written == [lines[0], "\tnote=empty line", "\tnote=no known word", written[3]]
    assert written[3].startswith("neg\t")
    assert err == ("note: not labelled (empty label in the output): 1 empty line (line 2); "
                   "1 line with no known word (line 3)")
    assert not list(tmp_path.glob(".*.tmp"))


def test_predict_json_top_k_and_stdin(capsys, monkeypatch, files):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a great film\n   \n"), encoding="utf-8"))
    code, out, err = run(capsys, "predict", "--model", str(files["model"]), "--format", "json", "--k", "1")
    rows = [json.loads(l) for l in out.splitlines()]
    assert code == 0 and rows[0]["label"] == "pos" and list(rows[0]["probabilities"]) == ["pos"]
    assert rows[1] == {"label": None, "note": "empty line"} and "line 2" in err
    probs = files["clf"].predict_proba(["a great film"])[0]
    assert rows[0]["probabilities"]["pos"] == pytest.approx(probs[1], abs=1e-6)


def test_predict_bad_input(capsys, tmp_path, files):
    model = str(files["model"])
    lone = tmp_path / "sentences.txt"
    lone.write_text("a great film\n")
    code, _, err = run(capsys, "predict", "--model", model, str(lone))
    assert_clean_failure(code, err, "is a file", f"--input {lone}")
    code, _, err = run(capsys, "predict", "--model", model, "--k", "0", "text")
    assert_clean_failure(code, err, "--k")
    code, _, err = run(capsys, "predict", "--model", model, "--input", str(tmp_path / "none.txt"))
    assert_clean_failure(code, err, "not found")
    code, _, err = run(capsys, "predict", "--model", model, "--input", str(lone), "more text")
    assert_clean_failure(code, err, "not both")
    bad = tmp_path / "latin.txt"
    bad.write_bytes("a great film\n".encode() * 300 + "caf\xe9\n".encode("latin-1"))
    code, _, err = run(capsys, "predict", "--model", model, "--input", str(bad), "--output", str(tmp_path / "o"))
    assert_clean_failure(code, err, "latin.txt:301", "utf-8")
    assert not (tmp_path / "o").exists()                   # atomic: nothing of the first 256 lines is left
    code, _, err = run(capsys, "predict", "--model", model, "--input", str(bad), "--encoding", "utf-9")
    assert_clean_failure(code, err, "utf-9")


# ------------------------------------------------------------------------------------------ evaluate-classifier

def test_evaluate_classifier_table_and_json(capsys, tmp_path, files):
    code, out, _ = run(capsys, "evaluate-classifier", "--model", str(files["model"]), "--data", str(files["test"]),
                       "--json", str(tmp_path / "scores.json"))
    assert code == 0
    scores = json.loads((tmp_path / "scores.json").read_text())
    rows = [l.split("\t", 1) for l in files["test"].read_text().splitlines()]
    assert scores["accuracy"] == pytest.approx(files["clf"].score([t for _, t in rows], [l for l, _ in rows]))
    assert scores["sentences"] == 12 and scores["labels"] == ["neg", "pos"]
    assert sum(map(sum, scores["confusion_matrix"])) == 12
    assert f"accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}" in out
    assert "precision" in out and "confusion matrix (rows: true class, columns: predicted)" in out
    assert any(l.split()[:1] == ["pos"] and l.split()[-1] == "6" for l in out.splitlines())   # support


def test_evaluate_classifier_class_files(capsys, tmp_path, files):
    (tmp_path / "reviews.pos").write_text("a great film\na good film\n")
    (tmp_path / "reviews.neg").write_text("a dull film\n")
    code, out, _ = run(capsys, "evaluate-classifier", "--model", str(files["model"]), "--format", "class_files",
                       "--data", str(tmp_path / "reviews.pos"), str(tmp_path / "reviews.neg"))
    assert code == 0 and "sentences 3, classes 2" in out


def test_evaluate_classifier_bad_input(capsys, tmp_path, files):
    model = str(files["model"])
    other = tmp_path / "other.tsv"
    other.write_text("pos\ta great film\nneutral\tthe film\n")
    code, _, err = run(capsys, "evaluate-classifier", "--model", model, "--data", str(other))
    assert_clean_failure(code, err, "other.tsv:2", "'neutral'", "neg, pos")
    code, _, err = run(capsys, "evaluate-classifier", "--model", model, "--data", str(tmp_path / "none.tsv"))
    assert_clean_failure(code, err, "not found")
    code, _, err = run(capsys, "evaluate-classifier", "--model", str(tmp_path / "no.npz"), "--data", str(other))
    assert_clean_failure(code, err, "model file not found")
    code, _, err = run(capsys, "evaluate-classifier", "--model", model, "--data", str(other), "--format", "fasttext")
    assert_clean_failure(code, err, "other.tsv:1", "__label__")


# ------------------------------------------------------------------------------------------ neighbors, export

def test_neighbors_lower_case_unknown_words_and_analogies(capsys, files):
    vec = str(files["vectors"])
    code, out, err = run(capsys, "neighbors", "--vectors", vec, "--topn", "2", "KING", "zebra", "Good")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "king" and lines[3] == "good" and len(lines) == 6
    assert lines[4].split()[0] == "great"
    assert err == f"note: 'zebra' is not in the vocabulary of {vec} (12 words); skipped"
    code, out, _ = run(capsys, "neighbors", "--vectors", vec, "--topn", "1", "--positive", "King", "woman",
                       "--negative", "man")
    assert code == 0 and out.splitlines()[0] == "king + woman - man" and out.splitlines()[1].split()[0] == "queen"
    expected = files["wv"].most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0]
    assert out.splitlines()[1].split()[1] == f"{expected[1]:.4f}"


def test_neighbors_bad_input(capsys, files):
    vec = str(files["vectors"])
    code, _, err = run(capsys, "neighbors", "--vectors", vec, "zebra", "yak")
    assert_clean_failure(code, err, "none of the query words", "zebra, yak")
    code, _, err = run(capsys, "neighbors", "--vectors", vec, "--positive", "king", "zebra", "--negative", "man")
    assert_clean_failure(code, err, "analogy", "'zebra'")
    code, _, err = run(capsys, "neighbors", "--vectors", vec)
    assert_clean_failure(code, err, "--positive")
    code, _, err = run(capsys, "neighbors", "--vectors", vec, "--negative", "man")
    assert_clean_failure(code, err, "--positive")
    code, _, err = run(capsys, "neighbors", "--vectors", vec, "--topn", "0", "king")
    assert_clean_failure(code, err, "--topn")


def test_export_both_ways(capsys, tmp_path, files):
    from gensim.models import KeyedVectors as GensimKV
    vec = files["vectors"]
    assert run(capsys, "export", "--vectors", str(vec), "--text", str(tmp_path / "v.txt"))[0] == 0
    assert GensimKV.load_word2vec_format(str(tmp_path / "v.txt"), binary=False).index_to_key == files["wv"].words
    assert run(capsys, "export", "--vectors", str(tmp_path / "v.txt"), "--binary", str(tmp_path / "v.bin"))[0] == 0
    assert (tmp_path / "v.bin").read_bytes() == vec.read_bytes()      # float32 -> repr -> float32 is exact
    assert not list(tmp_path.glob(".*.tmp"))


def test_export_bad_input(capsys, tmp_path, files):
    code, _, err = run(capsys, "export", "--vectors", str(tmp_path / "none.bin"), "--text", str(tmp_path / "o.txt"))
    assert_clean_failure(code, err, "not found")
    (tmp_path / "broken.bin").write_bytes(b"3 2\nab")
    code, _, err = run(capsys, "export", "--vectors", str(tmp_path / "broken.bin"), "--text", str(tmp_path / "o"))
    assert_clean_failure(code, err, "broken.bin")
    assert not (tmp_path / "o").exists()
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    code, _, err = run(capsys, "export", "--vectors", str(files["vectors"]), "--text", str(blocker / "v.txt"))
    assert_clean_failure(code, err, "cannot write")
