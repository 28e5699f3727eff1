"""The hostile matrix of issue 15, class by class: validation before work, protected run directories and
one run per directory, encodings and bytes, reading back what we write and refusing what we did not,
resource bombs, no internal error for bad input.

Every refusal is checked the same way (`refused`): exit status 2 from the real entry point
(`pipeline.cli.main`, in-process), one line on stderr that names the problem, at most a few hundred
characters however long the input, and not one file or folder created, changed or removed under the test's
folder or the shared inputs (paths, sizes and mtimes before and after). No case trains a model: validation
happens before any file is read, and the inputs (vectors, a model file) are written directly.
tests/fuzz_cli.py is the hunting tool these cases came from.
"""
import bz2
import gzip
import io
import json
import os
import sys

import numpy as np
import pytest

from pipeline import datasets
from pipeline.checkpoint import Checkpoint
from pipeline.classifier.model import init_params
from pipeline.classifier.modelfile import save_model
from pipeline.cli import main
from pipeline.config import EmbeddingsConfig, RNNModelConfig, load_config
from pipeline.errors import UserError
from pipeline.text import Tokenizer, iter_lines
from pipeline.vectors import WordVectors, load_vectors, save_vectors
from test_datasets import make_tar as tar, serve   # tests/ is on sys.path under pytest

GOOD = "the cat sat on the mat and the dog sat on the log\n"
TSV = "".join(f"{'pos' if i % 2 else 'neg'}\tthe {'cat' if i % 2 else 'dog'} sat on the mat\n" for i in range(20))
WORDS = ["the", "cat", "sat", "on", "mat", "and", "dog", "log"]


# ---------------------------------------------------------------------------------------------------
# Inputs and the one assertion
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Good inputs, made without training: a corpus, vectors (binary and text), a labelled file, a model file
    built from initial parameters, word-pair and analogy files."""
    d = tmp_path_factory.mktemp("hostile-world")
    (d / "corpus").mkdir()
    (d / "corpus" / "good.txt").write_text(GOOD * 30)
    wv = WordVectors(WORDS, np.random.default_rng(0).standard_normal((len(WORDS), 4)).astype(np.float32))
    (d / "emb").mkdir()
    save_vectors(d / "emb" / "vectors.bin", wv)
    save_vectors(d / "emb" / "vectors.txt", wv, binary=False)
    (d / "emb" / "vocab.tsv").write_text("".join(f"{w}\t5\n" for w in WORDS))
    (d / "train.tsv").write_text(TSV)
    mc = RNNModelConfig(hidden_size=4)
    table = np.vstack([wv.vectors, wv.vectors.mean(0, keepdims=True), np.zeros((1, 4), np.float32)])
    (d / "rnn").mkdir()
    save_model(d / "rnn" / "model.npz", init_params(mc, 4, 2, 0), mc, ["neg", "pos"], Tokenizer(), WORDS, table,
               d / "emb" / "vectors.bin")
    (d / "pairs.tsv").write_text("cat\tdog\t5\nthe\tmat\t2\nsat\tlog\t1\n")
    return {"dir": d, "corpus": d / "corpus" / "good.txt", "vectors": d / "emb" / "vectors.bin",
            "vectors_txt": d / "emb" / "vectors.txt", "train": d / "train.tsv", "model": d / "rnn" / "model.npz",
            "pairs": d / "pairs.tsv", "wv": wv}


def snapshot(*roots) -> dict:
    """{path: (size, mtime_ns)} of every file and {path: "dir"} of every folder under `roots`."""
    out = {}
    for root in roots:
        for dirpath, _, filenames in os.walk(root):
            out[dirpath] = "dir"
            for f in filenames:
                st = os.lstat(os.path.join(dirpath, f))
                out[os.path.join(dirpath, f)] = (st.st_size, st.st_mtime_ns)
    return out


def refused(capsys, roots, argv, *needles, limit=400) -> str:
    """Run the command; assert exit 2, one short error line holding `needles`, and nothing changed under
    `roots`. Returns the message."""
    before = snapshot(*roots)
    code = main(["--quiet", *map(str, argv)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = err.splitlines()
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in err, err
    assert sum(line.startswith("error") for line in lines) == 1, err
    assert len(lines[-1]) <= limit, f"{len(lines[-1])} characters: {lines[-1][:200]}..."
    for needle in needles:
        assert needle.lower() in lines[-1].lower(), err
    after = snapshot(*roots)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))[:5]
    return lines[-1]


def emb(world, tmp, *sets):
    args = ["train-embeddings", "--set", f"corpus.paths=[{world['corpus']}]", "--set", f"output.dir={tmp / 'out'}",
            "--set", "corpus.cache_dir=null", "--set", "output.evaluate=false"]
    for s in sets:
        args += ["--set", s]
    return args


def rnn(world, tmp, *sets):
    args = ["train-rnn", "--set", f"vectors.path={world['vectors']}", "--set", f"data.train=[{world['train']}]",
            "--set", "data.format=tsv", "--set", "data.name=null", "--set", f"output.dir={tmp / 'out'}"]
    for s in sets:
        args += ["--set", s]
    return args


def write(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# ---------------------------------------------------------------------------------------------------
# 1. Every config value is checked at load, before any file is read
# ---------------------------------------------------------------------------------------------------
EMB_SETTINGS = [
    ("train.alpha=.nan", ["train.alpha", "finite"]),
    ("train.ns_exponent=.inf", ["ns_exponent", "finite"]),
    ("train.sample=-.inf", ["train.sample"]),
    ("train.seed=-1", ["train.seed", "4294967295"]),
    ("train.seed=4294967296", ["train.seed"]),
    ("train.seed=1.5", ["train.seed", "whole number"]),
    ("train.workers=100000", ["train.workers"]),
    ("train.window=99999999", ["train.window", "too large"]),
    ("train.vector_size=99999999999999999999999", ["vector_size", "too large"]),
    ("train.negative=5000", ["train.negative"]),
    ("train.epochs=2147483648", ["train.epochs"]),
    ("tokenizer.pattern='\\w*'", ["tokenizer.pattern", "empty string"]),
    ("tokenizer.pattern='(\\w+)'", ["tokenizer.pattern", "capturing group", "(?:"]),
    ("tokenizer.pattern='\\b'", ["tokenizer.pattern", "empty string"]),
    ("tokenizer.pattern=''", ["tokenizer.pattern", "null"]),
    ("corpus.paths=['']", ["corpus.paths[0]", "empty"]),
    ("output.dir=''", ["output.dir", "empty"]),
    ("corpus.cache_dir=''", ["corpus.cache_dir", "null"]),
    ("corpus.encoding=base64", ["corpus.encoding", "not a text encoding"]),
    ("corpus.encoding=''", ["corpus.encoding"]),
    ('corpus.paths=["a\\0b"]', ["corpus.paths[0]", "NUL"]),
    ("corpus.max_sentence_length=10000000", ["max_sentence_length"]),
    ("vocab.min_count=.nan", ["vocab.min_count", "whole number"]),
]


@pytest.mark.parametrize("setting, needles", EMB_SETTINGS, ids=[s for s, _ in EMB_SETTINGS])
def test_embeddings_settings_refused_at_load(capsys, tmp_path, world, setting, needles):
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, setting), *needles)


RNN_SETTINGS = [
    (["data.dev_fraction=0.6", "data.test_fraction=0.5"], ["dev_fraction + test_fraction", "below 1"]),
    (["data.folds=3", "data.test=[x.tsv]"], ["data.folds", "k-fold"]),
    (["data.name=''"], ["data.name", "null"]),
    (["vectors.path=''"], ["vectors.path", "empty"]),
    (["train.momentum=1.5"], ["train.momentum"]),
    (["train.lr=.nan"], ["train.lr", "finite"]),
    (["model.forget_bias=.inf"], ["forget_bias", "finite"]),
    (["data.seed=-5"], ["data.seed"]),
    (["data.encoding=rot13"], ["data.encoding", "not a text encoding"]),
    (["model.hidden_size=1000000"], ["hidden_size", "too large"]),
    (["vectors.max_words=0"], ["vectors.max_words"]),
    (["output.dir=''"], ["output.dir"]),
    (["model.bptt_steps=2147483648"], ["bptt_steps", "too large"]),
]


@pytest.mark.parametrize("sets, needles", RNN_SETTINGS, ids=[s[0] for s, _ in RNN_SETTINGS])
def test_rnn_settings_refused_at_load(capsys, tmp_path, world, sets, needles):
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, *sets), *needles)


def test_library_keywords_are_validated_the_same_way(tmp_path, world):
    """Word2Vec and RNNClassifier keywords go through the same checks (OptionError: a ValueError)."""
    from pipeline import RNNClassifier, Word2Vec
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match="alpha.*finite"):
        Word2Vec(sentences=[["a", "b"]], alpha=float("nan"))
    with pytest.raises(ValueError, match="capturing group"):
        Word2Vec(corpus_file=str(world["corpus"]), pattern="(a)b")
    with pytest.raises(ValueError, match="output_dir.*empty"):
        Word2Vec(sentences=[["a", "b"]], output_dir="")
    with pytest.raises(ValueError, match="lr.*finite"):
        RNNClassifier(vectors=world["wv"], lr=float("inf")).fit(["a b"] * 4, [0, 1] * 2)
    with pytest.raises(ValueError, match="validation_fraction.*empty"):
        RNNClassifier(vectors=world["wv"], validation_fraction=0.1, epochs=1).fit(["the cat", "the dog"] * 2, [0, 1] * 2)
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------------------------------------
# 5. Resource bombs in configs and messages
# ---------------------------------------------------------------------------------------------------
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi")) + "train: {epochs: *i}\n"

YAMLS = [
    ("billion-laughs", BOMB, ["aliases"]),
    ("recursive-alias", "train: &a {epochs: [*a]}\n", ["aliases"]),
    ("deep-nesting", "train: " + "[" * 20000 + "]" * 20000 + "\n", ["nested too deeply"]),
    ("huge-file", "# " + "x" * (2 << 20) + "\n", ["bytes"]),
    ("long-key", "train: {" + "k" * 1000 + ": 1}\n", ["unknown config key"]),   # YAML keys stop at 1024
    ("long-value", "train: {alpha_schedule: " + "z" * 100000 + "}\n", ["train.alpha_schedule"]),
    ("not-utf8", b"train: {epochs: 1}  # caf\xe9\n", ["UTF-8"]),
]


@pytest.mark.parametrize("text, needles", [y[1:] for y in YAMLS], ids=[y[0] for y in YAMLS])
def test_hostile_config_files(capsys, tmp_path, world, text, needles):
    config = write(tmp_path / "c.yaml", text)
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path)[:1] + ["--config", config] + emb(world, tmp_path)[1:],
            *needles, limit=300)


def test_long_inputs_are_not_echoed(capsys, tmp_path, world):
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, "train.window=" + "9" * 5000), "train.window",
            limit=300)
    refused(capsys, [tmp_path, world["dir"]], ["neighbors", "--vectors", world["vectors"], "x" * 100000],
            "vocabulary", limit=400)
    refused(capsys, [tmp_path, world["dir"]], ["--quiet", "train-embeddings", "--set", "t" * 100000], "key.path=value",
            limit=300)


def test_cli_message_is_one_line_and_bounded(capsys, monkeypatch):
    """A message with new lines or a megabyte of text still ends as one bounded line (the CLI's last guard)."""
    from pipeline import cli

    def hostile(args):
        raise UserError("first\nsecond " + "x" * (1 << 20))
    monkeypatch.setattr(cli, "run", hostile)
    assert main(["neighbors", "--vectors", "v", "w"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and len(err) <= cli.MESSAGE_CHARS + 20


def test_system_errors_are_bad_input_not_internal(capsys, monkeypatch):
    from pipeline import cli

    def denied(args):
        raise PermissionError(13, "Permission denied", "/data/secret.txt")
    monkeypatch.setattr(cli, "run", denied)
    assert main(["neighbors", "--vectors", "v", "w"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot use /data/secret.txt: Permission denied")


# ---------------------------------------------------------------------------------------------------
# 2. Directories and concurrent runs
# ---------------------------------------------------------------------------------------------------
def test_output_dir_is_current_folder_or_a_parent(capsys, tmp_path, world, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, "output.dir=."), "current folder")
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, "output.dir=.."), "parent of the current folder")
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, "output.dir=/"), "parent of the current folder")


def test_output_dir_holds_or_is_inside_the_inputs(capsys, tmp_path, world):
    corpus = world["corpus"]
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"output.dir={corpus.parent}"), "input")
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"output.dir={world['dir']}"), "input")
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"corpus.paths=[{corpus.parent}]",
                                                  f"output.dir={corpus.parent / 'run'}"), "is inside", "input")
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, f"output.dir={world['dir']}"), "input")


def test_output_dir_of_the_other_stage(capsys, tmp_path, world):
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"output.dir={world['model'].parent}"),
            "stage-two run")
    other = tmp_path / "emb-run"
    other.mkdir()
    write(other / "vectors.bin", b"")
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, f"output.dir={other}"), "stage-one run")


def test_output_dir_that_is_a_file_or_foreign(capsys, tmp_path, world):
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"output.dir={world['train']}"), "is a file")
    foreign = tmp_path / "project"
    foreign.mkdir()
    write(foreign / "config.yaml", "database: {host: localhost}\n")
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"output.dir={foreign}"), "config.yaml",
            "no embeddings run wrote")


def test_second_run_on_a_held_directory_is_refused(capsys, tmp_path, world):
    from pipeline.rundir import run_directory
    out = tmp_path / "out"
    with run_directory(out, "embeddings"):         # another run holds it (flock is per open file)
        message = refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path), "in use by another run",
                          f"pid {os.getpid()}")
    assert "output.dir" in message
    assert out.is_dir() and not list(out.iterdir())   # the holder's lock file is gone with it


def test_stale_lock_file_does_not_block(tmp_path):
    """A lock file left by a killed run holds no flock: the next run takes the folder and removes the file."""
    from pipeline.rundir import LOCK, run_directory
    out = tmp_path / "out"
    out.mkdir()
    write(out / LOCK, "pid 999999 on a crashed machine")
    with run_directory(out, "embeddings"):
        assert str(os.getpid()) in (out / LOCK).read_text()
    assert not (out / LOCK).exists() and out.is_dir()


def test_refusal_after_the_folder_was_made_leaves_nothing(capsys, tmp_path, world):
    """The empty corpus is found only when reading, after the run folder (two new levels) and its lock were
    made: both are gone again."""
    empty = write(tmp_path / "empty.txt", "")
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"corpus.paths=[{empty}]",
                                                  f"output.dir={tmp_path / 'a' / 'b'}"), "empty")
    bad = write(tmp_path / "one-class.tsv", "pos\tthe cat\n" * 10)
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, f"data.train=[{bad}]",
                                                  f"output.dir={tmp_path / 'c' / 'd'}"), "only the label")


def test_fresh_run_clears_the_previous_runs_outputs(tmp_path):
    from pipeline.rundir import OUTPUTS, clear_outputs
    for name in ("vectors.bin", "metrics.json", "checkpoint.npz", "notes.txt"):
        write(tmp_path / name, "old")
    clear_outputs(tmp_path, "embeddings")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz", "notes.txt"]
    assert "model.npz" in OUTPUTS["rnn"] and "vectors.bin" in OUTPUTS["embeddings"]


# ---------------------------------------------------------------------------------------------------
# 3. Encodings and bytes
# ---------------------------------------------------------------------------------------------------
CORPORA = [
    ("utf16-undeclared", (GOOD * 5).encode("utf-16"), ["UTF-16", "encoding to utf-16"]),
    ("utf16le-no-bom", (GOOD * 5).encode("utf-16-le"), ["UTF-16-LE", "without a byte-order mark"]),
    ("utf32", (GOOD * 5).encode("utf-32"), ["UTF-32"]),
    ("nul-after-4kb", GOOD.encode() * 500 + b"a\x00b\n", ["c.txt:501", "NUL", "errors: replace"]),
    ("gzip-without-suffix", gzip.compress(GOOD.encode() * 5), ["gzip", "*.gz"]),
    ("zip", b"PK\x03\x04" + b"\x00" * 40, ["zip"]),
]


@pytest.mark.parametrize("data, needles", [c[1:] for c in CORPORA], ids=[c[0] for c in CORPORA])
def test_corpus_bytes_refused_with_what_they_are(capsys, tmp_path, world, data, needles):
    corpus = write(tmp_path / "c.txt", data)
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"corpus.paths=[{corpus}]"), *needles)


def test_utf8_file_declared_utf16_is_refused(capsys, tmp_path, world):
    corpus = write(tmp_path / "c.txt", GOOD * 5)
    refused(capsys, [tmp_path, world["dir"]], emb(world, tmp_path, f"corpus.paths=[{corpus}]",
                                                  "corpus.encoding=utf-16"), "looks like UTF-8")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8"])
def test_declared_encodings_are_read_and_bom_is_never_a_token(tmp_path, encoding):
    text = "the cat\nsat on\nthe mat\n" * 3
    data = text.encode(encoding) if encoding != "utf-8" else b"\xef\xbb\xbf" + text.encode()
    lines = list(iter_lines([write(tmp_path / "c.txt", data)], encoding))
    assert lines[:3] == ["the cat", "sat on", "the mat"]


def test_bom_and_nul_everywhere(tmp_path):
    """A BOM mid-file (two files concatenated) is dropped; with errors: replace a NUL becomes U+FFFD, counted."""
    from pipeline.text import ReadStats
    p = write(tmp_path / "c.txt", b"\xef\xbb\xbfthe cat\n\xef\xbb\xbfsat\na\x00b\n")
    stats = ReadStats()
    assert list(iter_lines([p], "utf-8", "replace", stats)) == ["the cat", "sat", "a\ufffdb"]
    assert stats.replaced_lines == 1
    with pytest.raises(UserError, match="c.txt:3: a NUL byte"):     # near the start as after 4 KB: its line
        list(iter_lines([p]))


def test_labelled_bom_is_not_part_of_a_label(tmp_path):
    from pipeline.classifier.data import read_labelled
    p = write(tmp_path / "l.tsv", "\ufeff" + TSV)
    examples = read_labelled([p], "auto")
    assert sorted(set(examples.labels)) == ["neg", "pos"]


def test_csv_gets_a_message_about_the_format(capsys, tmp_path, world):
    csv = "label,text\n" + "".join(f"{'pos' if i % 2 else 'neg'},the cat sat\n" for i in range(20))
    for name in ("l.txt", "l.csv"):
        p = write(tmp_path / name, csv)
        message = refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, f"data.train=[{p}]",
                                                               "data.format=auto"), "looks like CSV", "tsv")
        assert "only the label" not in message
    refused(capsys, [tmp_path, world["dir"]], ["evaluate-classifier", "--model", world["model"], "--data", p],
            "looks like CSV")


def test_unguessable_single_file_names_the_format_option(capsys, tmp_path, world):
    p = write(tmp_path / "l.txt", "".join(f"w{i} is a sentence\n" for i in range(20)))
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, f"data.train=[{p}]", "data.format=auto"),
            "cannot tell", "data.format")


def test_utf16_labelled_file_hint_and_declared(capsys, tmp_path, world):
    from pipeline.classifier.data import read_labelled
    p = write(tmp_path / "l.tsv", TSV.encode("utf-16"))
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, f"data.train=[{p}]"), "UTF-16")
    assert len(read_labelled([p], "tsv", "utf-16")) == 20


def stdin_lines(monkeypatch, data, encoding="utf-8"):
    from pipeline.commands import _input_lines
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    return list(_input_lines(None, encoding))


def test_predict_stdin_bom_utf16_and_nul(capsys, monkeypatch, tmp_path, world):
    assert stdin_lines(monkeypatch, b"\xef\xbb\xbfthe cat\nthe dog\n") == ["the cat", "the dog"]
    assert stdin_lines(monkeypatch, "the cat\nthe dog\n".encode("utf-16"), "utf-16") == ["the cat", "the dog"]
    with pytest.raises(UserError, match="UTF-16"):
        stdin_lines(monkeypatch, "the cat\n".encode("utf-16"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"the\x00cat\n"), encoding="utf-8"))
    refused(capsys, [tmp_path, world["dir"]], ["predict", "--model", world["model"]], "stdin:1", "NUL")


def test_predict_with_stdin_closed(capsys, monkeypatch, tmp_path, world):
    monkeypatch.setattr(sys, "stdin", None)
    refused(capsys, [tmp_path, world["dir"]], ["predict", "--model", world["model"]], "stdin is closed")


EVAL_FILES = [
    ("not-utf8", "caf\xe9\tcat\t1\ncat\tdog\t2\n".encode("latin-1"), ["not UTF-8", "iconv"]),
    ("utf16", "cat\tdog\t5\nthe\tmat\t2\n".encode("utf-16"), ["not UTF-8"]),
    ("no-word-in-common", b"zebra\tyak\t3\nfoo\tbar\t2\n", ["no usable word pairs"]),
    ("one-pair", b"cat\tdog\t5\n", ["no correlation"]),
    ("truncated-gz", gzip.compress(b"cat\tdog\t5\n" * 1000)[:40], ["cannot read"]),
]


@pytest.mark.parametrize("data, needles", [e[1:] for e in EVAL_FILES], ids=[e[0] for e in EVAL_FILES])
def test_evaluation_files(capsys, tmp_path, world, data, needles):
    name = "p.tsv.gz" if data[:2] == b"\x1f\x8b" else "p.tsv"
    pairs = write(tmp_path / name, data)
    refused(capsys, [tmp_path, world["dir"]], ["evaluate-embeddings", "--vectors", world["vectors"], "--pairs", pairs],
            *needles)


def test_evaluation_file_bom_is_skipped(tmp_path, world):
    from pipeline.embeddings.evaluate import evaluate_word_analogies, evaluate_word_pairs
    wv = world["wv"]
    pairs = write(tmp_path / "p.tsv", b"\xef\xbb\xbfcat\tdog\t5\nthe\tmat\t2\nsat\tlog\t1\n")
    assert evaluate_word_pairs(wv.words, wv.vectors, pairs)["pairs_used"] == 3
    analogies = write(tmp_path / "a.txt", b"\xef\xbb\xbf: x\ncat dog mat log\n")
    assert evaluate_word_analogies(wv.words, wv.vectors, analogies)["questions_used"] == 1


# ---------------------------------------------------------------------------------------------------
# 4. Read back everything we write; refuse what we did not write
# ---------------------------------------------------------------------------------------------------
EXTREME = ["x" * 20000, "🐱", "a\u200bb", "é", "e\u0301", "normal", "\u202eRTL", "\x7f", "a\x00b", "ｆｕｌｌ", "١٢٣"]


@pytest.mark.parametrize("name", ["v.bin", "v.txt", "v.bin.gz", "v.txt.gz", "v.bin.bz2", "v.txt.xz"])
def test_extreme_words_round_trip(tmp_path, name):
    wv = WordVectors(EXTREME, np.random.default_rng(1).standard_normal((len(EXTREME), 3)).astype(np.float32))
    save_vectors(tmp_path / name, wv, binary=".bin" in name)
    back = load_vectors(tmp_path / name)
    assert back.words == EXTREME
    np.testing.assert_array_equal(back.vectors, wv.vectors)


def test_words_we_cannot_store_are_refused_before_writing(tmp_path):
    for word in ["a b", "a\xa0b", "", "\ud800", "a\u2003b"]:
        with pytest.raises(UserError, match="word"):
            save_vectors(tmp_path / "v.bin", WordVectors([word], np.zeros((1, 2), np.float32)))
    assert not list(tmp_path.iterdir())


def test_trained_vectors_with_a_long_token_read_back(tmp_path):
    """What train-embeddings writes, load_vectors reads: a 20,000-character token included (the binary
    reader once looked for the space within 10,000 bytes)."""
    from pipeline import Word2Vec
    long = "y" * 20000
    model = Word2Vec(sentences=[[long, "a", "b", long]] * 20, vector_size=4, min_count=1, epochs=1, workers=1,
                     evaluate=False, output_dir=tmp_path / "run")
    back = load_vectors(tmp_path / "run" / "vectors.bin")
    assert long in back.words and back.words == model.wv.words


def test_gzip_vectors_bomb_and_truncation(capsys, tmp_path, world):
    bomb = write(tmp_path / "bomb.bin.gz", gzip.compress(b"1 4\nthe " + b"\x00" * (80 << 20)))
    refused(capsys, [tmp_path, world["dir"]], ["neighbors", "--vectors", bomb, "the"], "gzip", "header")
    cut = write(tmp_path / "cut.bin.gz", gzip.compress(world["vectors"].read_bytes())[:-20])
    refused(capsys, [tmp_path, world["dir"]], ["neighbors", "--vectors", cut, "the"], "gzip")
    bz = write(tmp_path / "v.bin.bz2", bz2.compress(world["vectors"].read_bytes()))
    assert load_vectors(bz).words == WORDS


@pytest.mark.parametrize("data, needles", [
    ("utf16", ["UTF-16"]),
    ("bom", None),
])
def test_vectors_text_encodings(capsys, tmp_path, world, data, needles):
    text = world["vectors_txt"].read_text()
    if data == "bom":
        assert load_vectors(write(tmp_path / "v.txt", "\ufeff" + text)).words == WORDS
    else:
        v = write(tmp_path / "v.txt", text.encode("utf-16"))
        refused(capsys, [tmp_path, world["dir"]], ["neighbors", "--vectors", v, "the"], *needles)


def saved_checkpoint(tmp_path, arrays, meta):
    ckpt = Checkpoint(tmp_path, "key")
    ckpt.save(arrays, meta)
    return ckpt


@pytest.mark.parametrize("arrays, meta, kwargs, needle", [
    ({"W_in": np.array([[np.nan, 1]], np.float32)}, {"epoch": 1}, {}, "NaN"),
    ({"W_in": np.zeros((1, 2), np.float32)}, {"epoch": 1}, {"meta_keys": ("epoch", "chunk")}, "lacks chunk"),
    ({"W_in": np.zeros((1, 2), np.float64)}, {"epoch": 1}, {"dtypes": {"W_in": np.float32}}, "float64"),
])
def test_checkpoints_we_cannot_trust(tmp_path, arrays, meta, kwargs, needle):
    ckpt = saved_checkpoint(tmp_path, arrays, meta)
    with pytest.raises(UserError, match=needle) as exc:
        ckpt.load(**kwargs)
    assert str(ckpt.path) in str(exc.value) and "without --resume" in str(exc.value)


def checkpoint_bytes(tmp_path, version=1, key="another run's settings", arrays=None) -> bytes:
    ckpt = saved_checkpoint(tmp_path / "made", arrays or {"W_in": np.zeros((2, 2), np.float32)}, {"epoch": 0})
    if version != 1:
        with np.load(ckpt.path) as z:
            contents = {k: z[k] for k in z.files}
        contents["format_version"] = np.array(version, np.int64)
        np.savez(ckpt.path, **contents)
    data = ckpt.path.read_bytes()
    ckpt.path.unlink()
    (tmp_path / "made").rmdir()
    return data


CHECKPOINTS = [
    ("truncated", lambda t: checkpoint_bytes(t)[:300], ["truncated or damaged"]),
    ("empty", lambda t: b"", ["checkpoint.npz", "not an .npz archive"]),
    ("not-a-zip", lambda t: b"hello, not a checkpoint\n" * 10, ["checkpoint.npz", "not an .npz archive"]),
    ("version-99", lambda t: checkpoint_bytes(t, version=99), ["another version", "format 99"]),
    ("other-settings", lambda t: checkpoint_bytes(t), ["other settings"]),
]


@pytest.mark.parametrize("stage", ["embeddings", "rnn"])
@pytest.mark.parametrize("make, needles", [c[1:] for c in CHECKPOINTS], ids=[c[0] for c in CHECKPOINTS])
def test_resume_from_a_checkpoint_we_cannot_trust(capsys, tmp_path, world, stage, make, needles):
    """--resume in a run directory whose checkpoint.npz is cut short, not ours, of another format version or
    of other settings: one line naming the file and "without --resume"; the folder is left as it was."""
    (tmp_path / "out").mkdir()
    write(tmp_path / "out" / "checkpoint.npz", make(tmp_path))
    argv = (emb if stage == "embeddings" else rnn)(world, tmp_path) + ["--resume"]
    refused(capsys, [tmp_path, world["dir"]], argv, *needles, "without --resume")


def test_corpus_cache_with_ids_beyond_its_vocabulary_is_rebuilt(tmp_path, capsys):
    from pipeline import progress
    from pipeline.config import CorpusConfig, VocabConfig
    from pipeline.embeddings.corpus import encode_corpus
    corpus = write(tmp_path / "c.txt", GOOD * 10)
    cc, vc = CorpusConfig(paths=(str(corpus),), cache_dir=str(tmp_path / "cache")), VocabConfig(min_count=1)
    first = encode_corpus(cc, Tokenizer(), vc)
    tokens = np.load(first.folder / "tokens.npy")
    tokens[0] = len(first.vocab) + 5                 # an id beyond the vocabulary: the kernel would read past W
    np.save(first.folder / "tokens.npy", tokens)
    saved, progress.QUIET = progress.QUIET, False
    try:
        again = encode_corpus(cc, Tokenizer(), vc)
    finally:
        progress.QUIET = saved
    assert not again.cached and "damaged" in capsys.readouterr().err
    assert int(np.load(again.folder / "tokens.npy").max()) < len(again.vocab)


def model_variant(world, tmp_path, change):
    with np.load(world["model"]) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    path = tmp_path / "m.npz"
    np.savez(path, **arrays)
    return path


MODELS = [
    ("config-disagrees", lambda a: a.update(model_config=np.array(json.dumps(
        {**json.loads(str(a["model_config"])), "hidden_size": 8}))), "inconsistent"),
    ("config-huge", lambda a: a.update(model_config=np.array(json.dumps(
        {**json.loads(str(a["model_config"])), "hidden_size": 60000}))), "inconsistent"),
    ("nan", lambda a: a["param.V"].__setitem__((0, 0), np.nan), "NaN"),
    ("bad-pattern", lambda a: a.update(tokenizer=np.array(json.dumps({"lowercase": True, "pattern": "("}))),
     "regular expression"),
    ("version-array", lambda a: a.update(format_version=np.array([1, 2])), "not a model"),
    ("int-params", lambda a: a.update({"param.V": a["param.V"].astype(np.int64)}), "inconsistent"),
    ("one-label", lambda a: a.update(labels=np.array(["pos"])), "inconsistent"),
    ("tokenizer-list", lambda a: a.update(tokenizer=np.array("[1, 2]")), "model"),
]


@pytest.mark.parametrize("data", [b"", b"hello, not a model\n" * 10, b"\x93NUMPY" + b"\x00" * 100])
def test_model_file_that_is_not_an_npz(capsys, tmp_path, world, data):
    model = write(tmp_path / "m.npz", data)
    refused(capsys, [tmp_path, world["dir"]], ["predict", "--model", model, "the cat"], "m.npz", "not an .npz")


@pytest.mark.parametrize("change, needle", [m[1:] for m in MODELS], ids=[m[0] for m in MODELS])
def test_model_files_we_did_not_write(capsys, tmp_path, world, change, needle):
    model = model_variant(world, tmp_path, change)
    refused(capsys, [tmp_path, world["dir"]], ["predict", "--model", model, "the cat"], needle, "m.npz")


# ---------------------------------------------------------------------------------------------------
# 6. No internal error for bad input
# ---------------------------------------------------------------------------------------------------
def test_tiny_data_sets_whose_splits_come_out_empty(capsys, tmp_path, world):
    tiny = write(tmp_path / "tiny.tsv", "pos\tthe cat\nneg\tthe dog\npos\tthe mat\nneg\tthe log\n")
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, f"data.train=[{tiny}]"), "comes out empty",
            "test_fraction")
    refused(capsys, [tmp_path, world["dir"]], rnn(world, tmp_path, f"data.train=[{tiny}]", "data.test_fraction=0"),
            "comes out empty", "dev_fraction")


def test_outputs_that_would_destroy_an_input(capsys, tmp_path, world):
    v, m, d = world["vectors"], world["model"], world["train"]
    refused(capsys, [tmp_path, world["dir"]], ["export", "--vectors", v, "--binary", v], "--binary", "input")
    refused(capsys, [tmp_path, world["dir"]], ["evaluate-embeddings", "--vectors", v, "--pairs", world["pairs"],
                                               "--json", v], "--json")
    refused(capsys, [tmp_path, world["dir"]], ["predict", "--model", m, "--output", m, "the cat"], "--output")
    refused(capsys, [tmp_path, world["dir"]], ["evaluate-classifier", "--model", m, "--data", d, "--json", d],
            "--json")


def test_command_arguments_out_of_range(capsys, tmp_path, world):
    v = world["vectors"]
    refused(capsys, [tmp_path, world["dir"]], ["evaluate-embeddings", "--vectors", v, "--restrict", "0"], "--restrict")
    refused(capsys, [tmp_path, world["dir"]], ["predict", "--model", world["model"], "--encoding", "base64", "x"],
            "--encoding", "not a text encoding")


# ---------------------------------------------------------------------------------------------------
# 5. Downloads: a checksum of what is downloaded, sizes capped while bytes arrive
# ---------------------------------------------------------------------------------------------------
def test_every_remote_is_verified_by_its_own_checksum():
    for src in datasets.SOURCES.values():
        for remote in src.remotes:
            name = remote.url.rsplit("/", 1)[1]
            assert remote.digests or (not remote.members and len(src.files[name]) > 1), remote.url


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local http.server serving `www`; PIPELINE_MIRROR points every download at it."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, *a):   # a download stopped early breaks the pipe: no traceback on stderr
            pass
    www = tmp_path / "www"
    www.mkdir()
    httpd = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("PIPELINE_MIRROR", f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setattr(datasets, "DATA_DIR", tmp_path / "data")
    yield www
    httpd.shutdown()
    httpd.server_close()


def test_remote_without_checksum_is_not_fetched(capsys, tmp_path, monkeypatch, mirror):
    real = datasets.SOURCES["mr"]
    monkeypatch.setitem(datasets.SOURCES, "mr", datasets.Source(
        "mr", "MR", (datasets.Remote(real.remotes[0].url, members=real.remotes[0].members),), real.files))
    serve(mirror, real.remotes[0].url, b"never fetched")
    refused(capsys, [tmp_path], ["download", "mr"], "no checksum", "sha256sum", "pipeline download mr")


def test_archive_member_larger_than_recorded_stops_while_extracting(capsys, tmp_path, monkeypatch, mirror):
    import hashlib
    real = datasets.SOURCES["mr"]
    archive = tar({"rt-polaritydata/rt-polarity.pos": b"a" * 5_000_000, "rt-polaritydata/rt-polarity.neg": b"b"})
    monkeypatch.setitem(datasets.SOURCES, "mr", datasets.Source("mr", "MR", (datasets.Remote(
        real.remotes[0].url, ("sha256:" + hashlib.sha256(archive).hexdigest(),), len(archive),
        real.remotes[0].members),), {"rt-polarity.pos": (100, "sha1:" + "0" * 40), "rt-polarity.neg": (1, "sha1:" + "0" * 40)}))
    serve(mirror, real.remotes[0].url, archive)
    refused(capsys, [tmp_path], ["download", "mr"], "refusing", "more than the 100")
    with pytest.raises(UserError, match="more than the 10 bytes"):    # the cap while copying, for lying headers
        datasets._copy_capped(io.BytesIO(b"x" * 1000), tmp_path / "member", 10, "test")
    assert not (tmp_path / "member").exists()


def test_download_larger_than_recorded_is_stopped(capsys, tmp_path, monkeypatch, mirror):
    real = datasets.SOURCES["sst2"]
    files = {name: (10, "sha1:" + "0" * 40) for name in real.files}
    monkeypatch.setitem(datasets.SOURCES, "sst2", datasets.Source("sst2", "SST2", real.remotes, files))
    for remote in real.remotes:
        serve(mirror, remote.url, b"x" * 100_000)
    refused(capsys, [tmp_path], ["download", "sst2"], "more than the 10 bytes")


def test_config_loader_budget_is_what_load_config_uses(tmp_path):
    """The same YAML budget applies to config files read through the library (Word2Vec(config=...))."""
    config = write(tmp_path / "c.yaml", BOMB)
    with pytest.raises(UserError, match="aliases"):
        load_config(EmbeddingsConfig, config)
