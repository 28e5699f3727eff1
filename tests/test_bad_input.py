"""The bad-input matrix: every broken input ends with exit status 2, one line on stderr naming the problem
and the fix, no traceback, and no partial output. Drives the real command entry point (`pipeline.cli.main`,
what the `pipeline` script calls) in-process; `test_console_script_*` checks the installed script too."""
import errno
import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

from pipeline.cli import main
from pipeline.vectors import WordVectors, save_vectors

GOOD_LINE = "the cat sat on the mat and the dog sat on the log\n"


def run(capsys, *argv):
    code = main(["--quiet", *argv])
    err = capsys.readouterr().err.strip()
    return code, err


def assert_clean_failure(code, err, *needles):
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and err.startswith("error: ")
    for needle in needles:
        assert needle.lower() in err.lower(), err


def corpus_file(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def train_emb(capsys, tmp_path, *sets):
    args = ["train-embeddings", "--set", f"output.dir={tmp_path / 'out'}", "--set", "corpus.cache_dir=null",
            "--set", "output.evaluate=false", "--set", "train.epochs=1", "--set", "vocab.min_count=1"]
    for s in sets:
        args += ["--set", s]
    code, err = run(capsys, *args)
    return code, err, tmp_path / "out"


def truncated_gz():
    rng = np.random.default_rng(0)
    data = gzip.compress("\n".join(" ".join(f"w{i}" for i in rng.integers(0, 10**6, 20))
                                   for _ in range(2000)).encode())
    return data[: len(data) // 2]


# (case id, corpus file name, bytes, extra settings, words the message must contain)
CORPUS_CASES = [
    ("empty", "empty.txt", b"", [], ["empty"]),
    ("blank-lines-only", "blank.txt", b"\n\n  \n", [], ["empty"]),
    ("binary", "blob.bin", bytes(range(256)) * 50, [], ["binary"]),
    ("truncated-gzip", "cut.txt.gz", truncated_gz(), [], ["truncated"]),
    ("not-gzip", "fake.txt.gz", b"plain text pretending to be gzip\n", [], ["cannot read"]),
    ("latin1-as-utf8", "latin.txt", GOOD_LINE.encode() + "café crème\n".encode("latin-1"), [],
     ["latin.txt:2", "utf-8", "encoding"]),
    ("all-below-min-count", "rare.txt", b"a b c d e f\n", ["vocab.min_count=50"], ["min_count"]),
]


@pytest.mark.parametrize("case, name, data, sets, needles", CORPUS_CASES, ids=[c[0] for c in CORPUS_CASES])
def test_broken_corpora(capsys, tmp_path, case, name, data, sets, needles):
    p = corpus_file(tmp_path, name, data)
    code, err, out = train_emb(capsys, tmp_path, f"corpus.paths=[{p}]", *sets)
    assert_clean_failure(code, err, *needles)
    assert not (out / "vectors.bin").exists()


@pytest.mark.parametrize("paths, needles", [
    ("[/no/such/corpus.txt]", ["file not found"]),
    ("[/no/such/*.txt]", ["no file matches"]),
    ("[gensim:no-such-file.cor]", ["gensim"]),
    ("[dataset:no-such-set]", ["no-such-set"]),
])
def test_missing_corpora(capsys, tmp_path, paths, needles):
    code, err, out = train_emb(capsys, tmp_path, f"corpus.paths={paths}")
    assert_clean_failure(code, err, *needles)


def test_empty_folder(capsys, tmp_path):
    (tmp_path / "folder").mkdir()
    code, err, _ = train_emb(capsys, tmp_path, f"corpus.paths=[{tmp_path / 'folder'}]")
    assert_clean_failure(code, err, "holds no files")


@pytest.mark.parametrize("setting, needles", [
    ("train.epochz=1", ["train.epochs"]),
    ("train.vector_size=-5", ["vector_size"]),
    ("train.vector_size=ten", ["vector_size", "whole number"]),
    ("train.epochs=0", ["epochs"]),
    ("train.window=0", ["window"]),
    ("train.negative=0", ["negative"]),
    ("train.alpha=-1", ["alpha"]),
    ("corpus.errors=skip", ["corpus.errors"]),
    ("corpus.encoding=utf-9", ["encoding"]),
    ("tokenizer.pattern=(", ["regular expression"]),
    ("vocab.max_vocab_size=0", ["max_vocab_size"]),
    ("train", ["key.path=value"]),
])
def test_bad_settings(capsys, tmp_path, setting, needles):
    p = corpus_file(tmp_path, "ok.txt", GOOD_LINE.encode() * 5)
    code, err, out = train_emb(capsys, tmp_path, f"corpus.paths=[{p}]", setting)
    assert_clean_failure(code, err, *needles)
    assert not out.exists()


def test_bad_config_files(capsys, tmp_path):
    code, err = run(capsys, "train-embeddings", "--config", str(tmp_path / "missing.yaml"))
    assert_clean_failure(code, err, "not found")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {epochs: 1\n")
    code, err = run(capsys, "train-embeddings", "--config", str(bad))
    assert_clean_failure(code, err, "not valid YAML")
    notutf = tmp_path / "latin.yaml"
    notutf.write_bytes("train: {epochs: 1}  # caf\xe9\n".encode("latin-1"))
    code, err = run(capsys, "train-embeddings", "--config", str(notutf))
    assert_clean_failure(code, err, "not valid YAML")


def test_unwritable_output_directory(capsys, tmp_path):
    p = corpus_file(tmp_path, "ok.txt", GOOD_LINE.encode() * 5)
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    code, err, _ = train_emb(capsys, tmp_path, f"corpus.paths=[{p}]", f"output.dir={blocker / 'run'}")
    assert_clean_failure(code, err, "cannot write")


def test_full_disk_leaves_no_partial_file(capsys, tmp_path, monkeypatch):
    import pipeline.atomicio as atomicio

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    p = corpus_file(tmp_path, "ok.txt", GOOD_LINE.encode() * 5)
    monkeypatch.setattr(atomicio.os, "fsync", no_space)
    code, err, out = train_emb(capsys, tmp_path, f"corpus.paths=[{p}]")
    assert_clean_failure(code, err, "No space left", "disk")
    leftovers = [f.name for f in out.iterdir()] if out.exists() else []
    assert not [f for f in leftovers if f.endswith(".tmp") or f == "vectors.bin"], leftovers


def test_huge_line_is_trained_not_rejected(capsys, tmp_path):
    """One 60,000-token line is cut into 10,000-token chunks and trained, not dropped."""
    words = " ".join(f"w{i % 50}" for i in range(60_000))
    p = corpus_file(tmp_path, "huge.txt", (words + "\n").encode())
    code, err, out = train_emb(capsys, tmp_path, f"corpus.paths=[{p}]", "train.vector_size=8")
    assert code == 0, err
    assert (out / "vectors.bin").exists()


def write_vectors(path, dim=4, words=("the", "cat", "dog")):
    rng = np.random.default_rng(0)
    save_vectors(path, WordVectors(list(words), rng.standard_normal((len(words), dim)).astype(np.float32)))
    return path


@pytest.mark.parametrize("data, needles", [
    (b"", ["empty"]),
    (b"three two\nthe 1 2\n", ["header"]),
    (b"5 2\nthe 1 2\ncat 1 2\n", ["truncated"]),
    (b"2 2\nthe 1 2\nthe 3 4\n", ["appears twice"]),
    (b"2 2\nthe nan 2\ncat 3 4\n", ["NaN"]),
    (b"2 3\nthe 1 2\ncat 3 4\n", ["dimension 3"]),
    (b"4000000000 300\nthe 1 2\n", ["truncated"]),
])
def test_broken_vectors_for_evaluate_and_neighbors(capsys, tmp_path, data, needles):
    p = tmp_path / "v.vec"
    p.write_bytes(data)
    code, err = run(capsys, "evaluate-embeddings", "--vectors", str(p))
    assert_clean_failure(code, err, *needles)
    code, err = run(capsys, "neighbors", "--vectors", str(p), "the")
    assert_clean_failure(code, err, *needles)


def test_missing_vectors_and_unknown_word(capsys, tmp_path):
    code, err = run(capsys, "neighbors", "--vectors", str(tmp_path / "none.bin"), "the")
    assert_clean_failure(code, err, "not found")
    v = write_vectors(tmp_path / "v.bin")
    code, err = run(capsys, "neighbors", "--vectors", str(v), "zebra")
    assert_clean_failure(code, err, "zebra", "vocabulary")
    code, err = run(capsys, "evaluate-embeddings", "--vectors", str(v), "--pairs", str(tmp_path / "no.tsv"))
    assert_clean_failure(code, err, "not found")


def test_console_script_reports_one_line(tmp_path):
    """The installed `pipeline` script (not only main()) exits 2 with one line and no traceback."""
    script = os.path.join(os.path.dirname(sys.executable), "pipeline")
    res = subprocess.run([script, "train-embeddings", "--set", "corpus.paths=[/nope.txt]"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: file not found") and len(res.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------------
# Stage two
# ---------------------------------------------------------------------------------------------------
def labelled(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


GOOD_TSV = "".join(f"{'pos' if i % 2 else 'neg'}\tthe {'cat' if i % 2 else 'dog'} sat\n" for i in range(20))


def train_rnn(capsys, tmp_path, *sets, vectors=None):
    vectors = vectors or write_vectors(tmp_path / "v.bin")
    args = ["train-rnn", "--set", f"vectors.path={vectors}", "--set", f"output.dir={tmp_path / 'rnn'}",
            "--set", "train.epochs=1", "--set", "model.hidden_size=4", "--set", "data.name=null"]
    for s in sets:
        args += ["--set", s]
    code, err = run(capsys, *args)
    return code, err, tmp_path / "rnn"


@pytest.mark.parametrize("data, needles", [
    (b"", ["empty"]),
    (b"not a header\n", ["header"]),
    (b"3 4\nthe 1 2 3 4\n", ["truncated"]),
    (b"2 2\nthe nan 1\ncat 1 2\n", ["NaN"]),
    (b"2 2\nthe 1 1\nthe 1 2\n", ["twice"]),
])
def test_train_rnn_broken_vectors(capsys, tmp_path, data, needles):
    v = tmp_path / "bad.vec"
    v.write_bytes(data)
    train = labelled(tmp_path, "train.tsv", GOOD_TSV)
    code, err, out = train_rnn(capsys, tmp_path, f"data.train=[{train}]", "data.format=tsv", vectors=v)
    assert_clean_failure(code, err, *needles)
    assert not (out / "model.npz").exists()


def test_train_rnn_missing_vectors(capsys, tmp_path):
    train = labelled(tmp_path, "train.tsv", GOOD_TSV)
    code, err, _ = train_rnn(capsys, tmp_path, f"data.train=[{train}]", "data.format=tsv",
                             vectors=tmp_path / "none.bin")
    assert_clean_failure(code, err, "not found", "train-embeddings")


@pytest.mark.parametrize("files, needles", [
    ({"train.tsv": GOOD_TSV, "test.tsv": "neutral\tthe cat\n"}, ["neutral"]),       # unknown label
    ({"train.tsv": GOOD_TSV + "\tno label here\n"}, ["train.tsv:21"]),               # missing label
    ({"train.tsv": GOOD_TSV + "pos\n"}, ["train.tsv:21"]),                            # missing text
    ({"train.tsv": ""}, ["empty"]),
    ({"train.tsv": GOOD_TSV.encode() + b"pos\tcaf\xe9\n"}, ["train.tsv:21", "utf-8"]),  # undecodable
])
def test_train_rnn_broken_labelled_files(capsys, tmp_path, files, needles):
    paths = {name: labelled(tmp_path, name, text) for name, text in files.items()}
    sets = [f"data.train=[{paths['train.tsv']}]", "data.format=tsv"]
    if "test.tsv" in paths:
        sets.append(f"data.test=[{paths['test.tsv']}]")
    code, err, out = train_rnn(capsys, tmp_path, *sets)
    assert_clean_failure(code, err, *needles)
    assert not (out / "model.npz").exists()


def test_train_rnn_empty_class_file(capsys, tmp_path):
    pos = labelled(tmp_path, "reviews.pos", "the cat sat\n" * 10)
    neg = labelled(tmp_path, "reviews.neg", "")
    code, err, _ = train_rnn(capsys, tmp_path, f"data.train=[{pos},{neg}]", "data.format=class_files")
    assert_clean_failure(code, err, "reviews.neg", "empty")


@pytest.mark.parametrize("setting, needles", [
    ("model.cell=transformer", ["model.cell"]),
    ("model.hidden_size=0", ["hidden_size"]),
    ("model.dropout=1.5", ["dropout"]),
    ("model.word_dropout=1", ["word_dropout"]),
    ("model.pooling=sum", ["model.pooling", "meanmax"]),
    ("train.average=1", ["train.average"]),
    ("train.lr_decay=0", ["train.lr_decay"]),
    ("train.lr_decay=1.5", ["train.lr_decay"]),
    ("train.stop_on=los", ["train.stop_on"]),
    ("data.folds=1", ["folds"]),
    ("train.lr=0", ["lr"]),
    ("train.batch_size=-4", ["batch_size"]),
    ("model.celll=lstm", ["model.cell"]),
])
def test_train_rnn_bad_settings(capsys, tmp_path, setting, needles):
    train = labelled(tmp_path, "train.tsv", GOOD_TSV)
    code, err, out = train_rnn(capsys, tmp_path, f"data.train=[{train}]", "data.format=tsv", setting)
    assert_clean_failure(code, err, *needles)
    assert not out.exists()


@pytest.mark.parametrize("content", [None, b"", b"not a zip file at all", b"PK\x03\x04truncated"])
def test_predict_with_missing_or_corrupt_model(capsys, tmp_path, content):
    model = tmp_path / "model.npz"
    if content is not None:
        model.write_bytes(content)
    code, err = run(capsys, "predict", "--model", str(model), "a sentence")
    assert_clean_failure(code, err, "model")


def test_missing_vectors_or_model_names_the_command_that_writes_it(monkeypatch, tmp_path):
    """A missing vectors.bin / model.npz of a run directory that a config in ./configs writes gets that config's
    make command (make runs from the repository's root); any other path a generic hint."""
    from pathlib import Path

    from pipeline.classifier.modelfile import load_model
    from pipeline.config import command_that_writes
    from pipeline.errors import UserError
    from pipeline.vectors import load_vectors
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert command_that_writes("runs/embeddings/vectors.bin") == "make train-embeddings"
    assert command_that_writes("runs/embeddings-report/vectors.bin") == \
        "make train-embeddings CONFIG=configs/embeddings-report.yaml"
    assert command_that_writes("runs/rnn-sst2/model.npz") == "make train-rnn CONFIG=configs/sst2.yaml"
    assert command_that_writes("runs/nowhere/model.npz") is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "mine.yaml").write_text("output:\n  dir: out/mine\n")
    with pytest.raises(UserError, match="`make train-embeddings CONFIG=configs/mine.yaml` writes it"):
        load_vectors("out/mine/vectors.bin")
    with pytest.raises(UserError, match="`make train-rnn CONFIG=configs/mine.yaml` writes it"):
        load_model("out/mine/model.npz")
    with pytest.raises(UserError, match="pipeline train-embeddings"):
        load_vectors("out/other/vectors.bin")
