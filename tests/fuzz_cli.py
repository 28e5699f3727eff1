"""Hunt for internal errors: throw malformed inputs at every command and flag what the README promises never
to show. A tool, not a test (pytest collects test_*.py only); tests/test_hostile.py keeps what it found.

    .venv/bin/python tests/fuzz_cli.py                 # every case (a few minutes: accepted ones train)
    .venv/bin/python tests/fuzz_cli.py --only vectors  # the cases whose name holds "vectors"
    .venv/bin/python tests/fuzz_cli.py --list          # their names

Each case runs `pipeline.cli.main(argv)` in-process, in its own working folder under one temporary world of
good inputs (a corpus, vectors, labelled files, a model file, evaluation files), with stdin replaced. A case
is flagged when
  - the exit status is not 0, 2 or 130 (1 is the "internal error" the README promises never to show for bad
    input), or it raised out of main(), or it ran longer than --timeout seconds;
  - stderr holds a traceback, or more than one line starting with "error";
  - an error (exit 2) is not the last line of stderr or is longer than 600 characters (an echoed input);
  - a refused run (exit 2) created, changed or removed any file of the world (paths, sizes, mtimes compared
    before and after; directories' own mtimes are not compared).
Downloads run against a local http.server mirror ($PIPELINE_MIRROR), never the network.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

GOOD = "the cat sat on the mat and the dog sat on the log\n"
TSV = "".join(f"{'pos' if i % 2 else 'neg'}\tthe {'cat' if i % 2 else 'dog'} sat on the mat\n" for i in range(40))
QUICK1 = ["--set", "corpus.cache_dir=null", "--set", "output.evaluate=false", "--set", "train.epochs=1",
          "--set", "vocab.min_count=1", "--set", "train.vector_size=8", "--set", "train.workers=1"]
QUICK2 = ["--set", "train.epochs=1", "--set", "model.hidden_size=4", "--set", "data.name=null",
          "--set", "train.workers=1"]


# ---------------------------------------------------------------------------------------------------
# The world: good inputs every case can point at
# ---------------------------------------------------------------------------------------------------
def build_world(root: Path) -> dict:
    from pipeline.classifier.model import init_params
    from pipeline.classifier.modelfile import save_model
    from pipeline.config import RNNModelConfig
    from pipeline.text import Tokenizer
    from pipeline.vectors import WordVectors, save_vectors
    w = {}
    (root / "corpus").mkdir(parents=True)
    w["corpus"] = root / "corpus" / "good.txt"
    w["corpus"].write_text(GOOD * 30)
    words = ["the", "cat", "sat", "on", "mat", "and", "dog", "log"]
    rng = np.random.default_rng(0)
    wv = WordVectors(words, rng.standard_normal((len(words), 4)).astype(np.float32))
    (root / "emb").mkdir()
    w["vectors"] = root / "emb" / "vectors.bin"
    save_vectors(w["vectors"], wv)
    save_vectors(root / "emb" / "vectors.txt", wv, binary=False)
    w["vectors_txt"] = root / "emb" / "vectors.txt"
    (root / "emb" / "vocab.tsv").write_text("".join(f"{x}\t5\n" for x in words))
    w["train"] = root / "train.tsv"
    w["train"].write_text(TSV)
    mc = RNNModelConfig(hidden_size=4)
    table = np.vstack([wv.vectors, wv.vectors.mean(0, keepdims=True), np.zeros((1, 4), np.float32)])
    (root / "rnn").mkdir()
    w["model"] = root / "rnn" / "model.npz"
    save_model(w["model"], init_params(mc, 4, 2, 0), mc, ["neg", "pos"], Tokenizer(), words, table, w["vectors"])
    w["pairs"] = root / "pairs.tsv"
    w["pairs"].write_text("cat\tdog\t5\nthe\tmat\t2\nsat\tlog\t1\n")
    w["analogies"] = root / "analogies.txt"
    w["analogies"].write_text(": x\ncat dog mat log\nthe on sat and\n")
    w["root"] = root
    return w


# ---------------------------------------------------------------------------------------------------
# Cases: (name, argv builder(world, case folder) -> argv, stdin bytes or None)
# ---------------------------------------------------------------------------------------------------
def _file(folder: Path, name: str, data) -> Path:
    p = folder / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _npz(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _model_variant(world, change) -> bytes:
    with np.load(world["model"]) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    return _npz(arrays)


def config_values():
    """Hostile values for each option type."""
    ints = ["-1", "0", "2147483648", "99999999999999999999999", "1.5", ".nan", ".inf", "''", "[]", "{}", "true",
            "null"]
    floats = [".nan", ".inf", "-.inf", "-1", "0", "1e308", "'x'", "''", "[]", "null", "true"]
    strs = ["''", "'.'", "'..'", "'/'", "'\\0'", "'" + "x" * 5000 + "'", "[a]", "1", "null"]
    return {"int": ints, "float": floats, "str": strs, "bool": ["2", "'yes'", "null"],
            "tuple": ["''", "['']", "[]", "{a: 1}", "null"], "literal": ["'nope'", "''", "1", "null"]}


def option_keys(cls):
    import dataclasses
    import typing
    out = []
    for section in dataclasses.fields(cls):
        sub = typing.get_type_hints(cls)[section.name]
        args = [a for a in typing.get_args(sub) if a is not type(None)]
        sub = args[0] if args else sub
        if not dataclasses.is_dataclass(sub):
            continue
        hints = typing.get_type_hints(sub)
        for f in dataclasses.fields(sub):
            tp = hints[f.name]
            targs = [a for a in typing.get_args(tp) if a is not type(None)]
            base = targs[0] if typing.get_origin(tp) is typing.Union and len(targs) == 1 else tp
            origin = typing.get_origin(base)
            kind = ("literal" if origin is typing.Literal else "tuple" if origin is tuple else
                    getattr(base, "__name__", "str"))
            out.append((f"{section.name}.{f.name}", kind))
    return out


def cases(world):
    from pipeline.config import EmbeddingsConfig, RNNConfig
    C = []

    def add(name, build, stdin=None):
        C.append((name, build, stdin))

    emb = lambda w, d, *extra: ["train-embeddings", "--set", f"corpus.paths=[{w['corpus']}]",
                                "--set", f"output.dir={d / 'out'}", *QUICK1, *extra]
    rnn = lambda w, d, *extra: ["train-rnn", "--set", f"vectors.path={w['vectors']}", "--set",
                                f"data.train=[{w['train']}]", "--set", "data.format=tsv",
                                "--set", f"output.dir={d / 'out'}", *QUICK2, *extra]
    values = config_values()
    for stage, cls, base in (("emb", EmbeddingsConfig, emb), ("rnn", RNNConfig, rnn)):
        for key, kind in option_keys(cls):
            for v in values.get(kind, values["str"]):
                add(f"config-{stage}-{key}={v[:20]}", lambda w, d, key=key, v=v, base=base: base(w, d, "--set",
                                                                                             f"{key}={v}"))
    # YAML files
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi")) + "train: {epochs: *i}\n"
    yamls = {"alias-bomb": bomb, "deep": "train: " + "[" * 50000 + "]" * 50000 + "\n",
             "huge": "# " + "x" * (3 << 20) + "\n", "bom": "\ufefftrain: {epochs: 1}\n",
             "list": "- a\n- b\n", "long-key": "train: {" + "k" * 100000 + ": 1}\n",
             "binary": "\x00\x01\x02", "cycle": "train: &a {epochs: *a}\n", "utf16": None,
             "paths-alias": "x: &x [a, b]\ncorpus: {paths: *x}\n", "merge": "d: &d {epochs: 1}\ntrain: {<<: *d}\n"}
    for name, text in yamls.items():
        data = ("train: {epochs: 1}\n".encode("utf-16") if text is None else text.encode("utf-8"))
        add(f"yaml-{name}", lambda w, d, data=data: emb(w, d, "--config", str(_file(d, "c.yaml", data))))
    # Corpora
    corpora = {
        "bom": b"\xef\xbb\xbf" + GOOD.encode() * 5, "utf16-undeclared": (GOOD * 5).encode("utf-16"),
        "utf16le-nobom": (GOOD * 5).encode("utf-16-le"), "utf32": (GOOD * 5).encode("utf-32"),
        "nul-late": GOOD.encode() * 500 + b"a\x00b\n", "nul-start": b"\x00" + GOOD.encode(),
        "long-token": ("x" * 20000 + " " + GOOD).encode() * 3, "nbsp": ("the\xa0cat " + GOOD).encode() * 3,
        "cr-only": GOOD.replace("\n", "\r").encode() * 5, "gzip-unnamed": _gz(GOOD.encode() * 5),
        "emoji": ("🐱 😺 " + GOOD).encode() * 3, "surrogate-bytes": b"\xed\xa0\x80 " + GOOD.encode(),
        "control": ("\x1c\x1d\x1e " + GOOD).encode() * 3, "only-spaces": b"   \t  \n \xc2\xa0\n",
    }
    for name, data in corpora.items():
        add(f"corpus-{name}", lambda w, d, data=data, name=name: [
            "train-embeddings", "--set", f"corpus.paths=[{_file(d, name + '.txt', data)}]",
            "--set", f"output.dir={d / 'out'}", *QUICK1])
    add("corpus-utf16-declared", lambda w, d: ["train-embeddings", "--set",
        f"corpus.paths=[{_file(d, 'u.txt', (GOOD * 5).encode('utf-16'))}]", "--set", "corpus.encoding=utf-16",
        "--set", f"output.dir={d / 'out'}", *QUICK1])
    add("corpus-pattern-empty", lambda w, d: emb(w, d, "--set", "tokenizer.pattern='\\w*'"))
    add("corpus-pattern-group", lambda w, d: emb(w, d, "--set", "tokenizer.pattern='(\\w)\\w*'"))
    add("corpus-pattern-space", lambda w, d: emb(w, d, "--set", "tokenizer.pattern='\\w+ \\w+'"))
    # Directories
    for name, out in (("dot", "."), ("empty", "''"), ("dotdot", ".."), ("root", "/")):
        add(f"dir-emb-{name}", lambda w, d, out=out: ["train-embeddings", "--set", f"corpus.paths=[{w['corpus']}]",
                                                      *QUICK1, "--set", f"output.dir={out}"])
        add(f"dir-rnn-{name}", lambda w, d, out=out: ["train-rnn", "--set", f"vectors.path={w['vectors']}",
            "--set", f"data.train=[{w['train']}]", "--set", "data.format=tsv", *QUICK2, "--set", f"output.dir={out}"])
    add("dir-emb-corpus-folder", lambda w, d: emb(w, d, "--set", f"output.dir={w['corpus'].parent}"))
    add("dir-emb-corpus-parent", lambda w, d: emb(w, d, "--set", f"output.dir={w['root']}"))
    add("dir-emb-into-rnn-run", lambda w, d: emb(w, d, "--set", f"output.dir={w['model'].parent}"))
    add("dir-rnn-into-emb-run", lambda w, d: rnn(w, d, "--set", f"output.dir={w['vectors'].parent}"))
    add("dir-rnn-train-inside", lambda w, d: rnn(w, d, "--set", f"output.dir={w['root']}"))
    add("dir-emb-is-file", lambda w, d: emb(w, d, "--set", f"output.dir={w['corpus']}"))
    # Labelled data
    labelled = {
        "csv": "label,text\n" + "".join(f"{'pos' if i % 2 else 'neg'},the cat sat\n" for i in range(20)),
        "bom": "\ufeff" + TSV, "one-class": "pos\tthe cat\n" * 10, "three": "pos\tcat\nneg\tdog\npos\tmat\n",
        "long-label": "x" * 100000 + "\tthe cat\nneg\tthe dog\n" * 5, "nul": TSV + "pos\tthe\x00cat\n",
        "crlf": TSV.replace("\n", "\r\n"), "only-tabs": "\t\t\t\n\t\n",
    }
    for name, text in labelled.items():
        for fmt in ("tsv", "auto"):
            add(f"labelled-{name}-{fmt}", lambda w, d, text=text, fmt=fmt: [
                "train-rnn", "--set", f"vectors.path={w['vectors']}", "--set",
                f"data.train=[{_file(d, 'l.tsv', text.encode())}]", "--set", f"data.format={fmt}",
                "--set", f"output.dir={d / 'out'}", *QUICK2])
    add("labelled-utf16", lambda w, d: rnn(w, d, "--set", f"data.train=[{_file(d, 'l.tsv', TSV.encode('utf-16'))}]"))
    add("labelled-utf16-declared", lambda w, d: rnn(w, d, "--set",
        f"data.train=[{_file(d, 'l.tsv', TSV.encode('utf-16'))}]", "--set", "data.encoding=utf-16"))
    add("labelled-folds-too-many", lambda w, d: rnn(w, d, "--set", "data.folds=30", "--set",
        "data.train=[" + str(_file(d, "l.tsv", "pos\tcat\nneg\tdog\n" * 3)) + "]"))
    add("labelled-fractions-sum", lambda w, d: rnn(w, d, "--set", "data.dev_fraction=0.5", "--set",
                                                   "data.test_fraction=0.5"))
    add("labelled-tiny-dev-empty", lambda w, d: rnn(w, d, "--set",
        "data.train=[" + str(_file(d, "l.tsv", "pos\tcat\nneg\tdog\npos\tmat\nneg\tlog\n")) + "]"))
    add("labelled-folds-with-test", lambda w, d: rnn(w, d, "--set", "data.folds=2", "--set",
                                                     f"data.test=[{w['train']}]"))
    # Vectors
    with open(world["vectors"], "rb") as f:
        vb = f.read()
    vt = world["vectors_txt"].read_bytes()
    vectors = {"bin.gz": _gz(vb), "txt.gz": _gz(vt), "bin.bz2": __import__("bz2").compress(vb),
               "utf16.txt": vt.decode().encode("utf-16"), "bom.txt": b"\xef\xbb\xbf" + vt,
               "trunc.bin": vb[:-7], "negative.txt": b"-3 4\n", "float.txt": b"3.5 4\n",
               "huge.txt": b"99999999999999999999999999 4\nthe 1 2 3 4\n", "nul.txt": vt.replace(b"cat", b"c\x00t"),
               "dim0.txt": b"1 0\nthe\n", "crlf.txt": vt.replace(b"\n", b"\r\n"),
               "gzbomb.bin.gz": _gz(b"1 4\nthe " + b"\x00" * (64 << 20))}
    for name, data in vectors.items():
        add(f"vectors-{name}-neighbors", lambda w, d, name=name, data=data: [
            "neighbors", "--vectors", str(_file(d, name, data)), "the"])
        add(f"vectors-{name}-rnn", lambda w, d, name=name, data=data: rnn(
            w, d, "--set", f"vectors.path={_file(d, name, data)}"))
    add("vectors-neighbors-topn0", lambda w, d: ["neighbors", "--vectors", str(w["vectors"]), "--topn", "0", "the"])
    add("vectors-neighbors-longword", lambda w, d: ["neighbors", "--vectors", str(w["vectors"]), "x" * 100000])
    add("vectors-evaluate-restrict0", lambda w, d: ["evaluate-embeddings", "--vectors", str(w["vectors"]),
                                                    "--restrict", "0", "--pairs", str(w["pairs"])])
    add("vectors-evaluate-restrict-neg", lambda w, d: ["evaluate-embeddings", "--vectors", str(w["vectors"]),
                                                       "--restrict", "-5", "--pairs", str(w["pairs"])])
    # Evaluation files
    evals = {"no-common": b"zebra\tyak\t3\nfoo\tbar\t2\n", "latin1": "caf\xe9\tcat\t1\ncat\tdog\t2\n".encode("latin-1"),
             "empty": b"", "bom": b"\xef\xbb\xbfcat\tdog\t5\nthe\tmat\t2\nsat\tlog\t1\n",
             "one-pair": b"cat\tdog\t5\n", "constant": b"cat\tdog\t1\nthe\tmat\t1\nsat\tlog\t1\n",
             "utf16": "cat\tdog\t5\n".encode("utf-16"), "nul": b"cat\x00\tdog\t5\n", "gz": _gz(b"cat\tdog\t5\n")}
    for name, data in evals.items():
        add(f"eval-pairs-{name}", lambda w, d, name=name, data=data: [
            "evaluate-embeddings", "--vectors", str(w["vectors"]), "--pairs",
            str(_file(d, "p.tsv" + (".gz" if name == "gz" else ""), data))])
    analog = {"no-header": b"cat dog mat log\n", "latin1": ": x\ncaf\xe9 dog mat log\n", "empty": b"",
              "no-common": b": x\nzebra yak foo bar\n", "bom": b"\xef\xbb\xbf: x\ncat dog mat log\n"}
    for name, data in analog.items():
        add(f"eval-analogies-{name}", lambda w, d, data=data: [
            "evaluate-embeddings", "--vectors", str(w["vectors"]), "--analogies", str(_file(d, "a.txt", data))])
    add("eval-json-is-vectors", lambda w, d: ["evaluate-embeddings", "--vectors", str(w["vectors"]), "--pairs",
                                              str(w["pairs"]), "--json", str(w["vectors"])])
    # Model files
    models = {
        "trunc": lambda w: w["model"].read_bytes()[:500],
        "version": lambda w: _model_variant(w, lambda a: a.update(format_version=np.array(99))),
        "config-mismatch": lambda w: _model_variant(w, lambda a: a.update(
            model_config=np.array(json.dumps({**json.loads(str(a["model_config"])), "hidden_size": 8})))),
        "nan": lambda w: _model_variant(w, lambda a: a["param.V"].__setitem__((0, 0), np.nan)),
        "bad-pattern": lambda w: _model_variant(w, lambda a: a.update(
            tokenizer=np.array(json.dumps({"lowercase": True, "pattern": "("})))),
        "tokenizer-list": lambda w: _model_variant(w, lambda a: a.update(tokenizer=np.array("[1, 2]"))),
        "version-array": lambda w: _model_variant(w, lambda a: a.update(format_version=np.array([1, 2]))),
        "int-params": lambda w: _model_variant(w, lambda a: a.update({"param.V": a["param.V"].astype(np.int64)})),
        "labels-one": lambda w: _model_variant(w, lambda a: a.update(labels=np.array(["pos"]))),
        "empty-zip": lambda w: _npz({}),
        "text": lambda w: b"hello\n",
    }
    for name, make in models.items():
        add(f"model-{name}-predict", lambda w, d, make=make: [
            "predict", "--model", str(_file(d, "m.npz", make(w))), "the cat"])
        add(f"model-{name}-evaluate", lambda w, d, make=make: [
            "evaluate-classifier", "--model", str(_file(d, "m.npz", make(w))), "--data", str(w["train"])])
    # predict input
    inputs = {"bom": b"\xef\xbb\xbfthe cat\n", "utf16": "the cat\n".encode("utf-16"), "latin1": b"caf\xe9\n",
              "empty": b"", "nul": b"the\x00cat\n", "long": b"the " * 300000 + b"\n"}
    add("predict-stdin-closed", lambda w, d: ["predict", "--model", str(w["model"])], "closed")
    for name, data in inputs.items():
        add(f"predict-stdin-{name}", lambda w, d: ["predict", "--model", str(w["model"])], data)
        add(f"predict-input-{name}", lambda w, d, data=data: ["predict", "--model", str(w["model"]), "--input",
                                                              str(_file(d, "in.txt", data))])
    add("predict-output-is-model", lambda w, d: ["predict", "--model", str(w["model"]), "--output",
                                                 str(w["model"]), "the cat"])
    add("predict-encoding-base64", lambda w, d: ["predict", "--model", str(w["model"]), "--encoding", "base64",
                                                 "the cat"])
    add("predict-k0", lambda w, d: ["predict", "--model", str(w["model"]), "--k", "0", "the cat"])
    add("evaluate-classifier-csv", lambda w, d: ["evaluate-classifier", "--model", str(w["model"]), "--data", str(
        _file(d, "e.csv", "label,text\npos,the cat\nneg,the dog\n"))])
    add("evaluate-classifier-bom", lambda w, d: ["evaluate-classifier", "--model", str(w["model"]), "--data", str(
        _file(d, "e.tsv", "\ufeffpos\tthe cat\nneg\tthe dog\n")), "--format", "tsv"])
    add("evaluate-classifier-json-is-data", lambda w, d: ["evaluate-classifier", "--model", str(w["model"]),
                                                          "--data", str(w["train"]), "--json", str(w["train"])])
    # export
    add("export-same-file", lambda w, d: ["export", "--vectors", str(w["vectors"]), "--binary", str(w["vectors"])])
    add("export-to-dir", lambda w, d: ["export", "--vectors", str(w["vectors"]), "--text", str(d)])
    add("export-gz", lambda w, d: ["export", "--vectors", str(w["vectors"]), "--text", str(d / "v.txt.gz")])
    # downloads (served by the local mirror)
    add("download-unknown", lambda w, d: ["download", "imdb"])
    add("download-sst2-404", lambda w, d: ["download", "sst2"])
    add("download-mr-tampered", lambda w, d: ["download", "mr"])
    return C


# ---------------------------------------------------------------------------------------------------
# Running and judging
# ---------------------------------------------------------------------------------------------------
def snapshot(root: Path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        out[dirpath] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            with contextlib.suppress(OSError):
                st = os.lstat(p)
                out[p] = (st.st_size, st.st_mtime_ns)
    return out


def _child(argv, folder, stdin, write_fd) -> None:
    """Run one case in a forked child; send (exit status, stderr) back as JSON and leave at once."""
    from pipeline.cli import main
    err, out = io.StringIO(), io.StringIO()
    os.chdir(folder)
    if stdin == "closed":
        sys.stdin = None
    elif stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(["--quiet", *argv])
    except BaseException as exc:   # noqa: BLE001 - what escapes main() is a finding
        code = f"raised {type(exc).__name__}: {str(exc)[:200]}"
    with os.fdopen(write_fd, "w") as f:
        json.dump({"code": code, "err": err.getvalue()}, f)
    os._exit(0)


def run_case(world, name, build, stdin, timeout):
    """(problems, exit status, last stderr line, seconds) of one case, run in a forked child so that a
    hang or a memory blow-up costs one case, not the hunt."""
    import select
    folder = Path(tempfile.mkdtemp(prefix="case-", dir=world["root"]))
    argv = [str(a) for a in build(world, folder)]     # writes the case's own inputs: before the snapshot
    before = snapshot(world["root"])
    t0 = time.perf_counter()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            _child(argv, folder, stdin, w)
        finally:
            os._exit(3)
    os.close(w)
    chunks = []
    with os.fdopen(r) as f:
        while True:
            ready, _, _ = select.select([f], [], [], max(0.0, timeout - (time.perf_counter() - t0)))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                break
            data = f.read()
            chunks.append(data)
            if not data or data.endswith("}"):
                break
    os.waitpid(pid, 0)
    seconds = time.perf_counter() - t0
    try:
        result = json.loads("".join(chunks))
        code, text = result["code"], result["err"].strip()
    except ValueError:
        code, text = ("timeout" if seconds >= timeout else "child died"), ""
    lines = text.splitlines()
    problems = []
    if code not in (0, 2, 130):
        problems.append(f"exit {code}")
    if "Traceback" in text:
        problems.append("traceback")
    if sum(1 for l in lines if l.startswith(("error", "internal error"))) > 1:
        problems.append("several error lines")
    if code == 2 and (not lines or not lines[-1].startswith("error: ")):
        problems.append("exit 2 without a final error line")
    if code == 2 and lines and len(lines[-1]) > 600:
        problems.append(f"error of {len(lines[-1])} characters")
    if code == 2:
        after = snapshot(world["root"])
        changed = sorted(p for p in set(before) | set(after)
                         if before.get(p) != after.get(p) and not (before.get(p) == after.get(p) == "dir"))
        changed = [p for p in changed if p != str(folder)]
        if changed:
            problems.append(f"files changed by a refusal: {[os.path.relpath(p, world['root']) for p in changed][:4]}")
    return problems, code, (lines[-1][:300] if lines else ""), seconds


@contextlib.contextmanager
def mirror(root: Path):
    """A local http.server whose files stand in for the data sets' homes; PIPELINE_MIRROR points at it."""
    from pipeline import datasets
    www = root / "www"
    src = datasets.SOURCES["mr"].remotes[0].url
    path = www / src.split("://", 1)[1].split("/", 1)[1]
    path.parent.mkdir(parents=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:     # a tampered MR archive: its digest is not the real one
        info = tarfile.TarInfo("rt-polaritydata/rt-polarity.pos")
        info.size = 1 << 20
        tf.addfile(info, io.BytesIO(b"a" * info.size))
    path.write_bytes(buf.getvalue())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    os.environ["PIPELINE_MIRROR"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    os.environ["PIPELINE_DATA"] = str(root / "data")
    datasets.DATA_DIR = root / "data"
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the cases whose name holds this text")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per case")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pipeline-fuzz-") as tmp:
        root = Path(tmp)
        import pipeline.cli  # noqa: F401  (imported once here; each forked case starts from it)
        todo = [c for c in cases(build_world(root / "names")) if args.only in c[0]]
        if args.list:
            print("\n".join(c[0] for c in todo))
            return 0
        flagged = 0
        t0 = time.perf_counter()
        with mirror(root):
            for i, (name, build, stdin) in enumerate(todo):
                world = build_world(root / f"world-{i}")       # a fresh world: accepted runs write into it
                problems, code, last, seconds = run_case(world, name, build, stdin, args.timeout)
                shutil.rmtree(world["root"], ignore_errors=True)
                if problems:
                    flagged += 1
                    print(f"FLAG {name}: {'; '.join(problems)}\n     exit {code}: {last}", flush=True)
                else:
                    print(f"ok   {name} ({code}, {seconds:.1f}s): {last[:150]}", flush=True)
        print(f"{len(todo)} cases, {flagged} flagged, {time.perf_counter() - t0:.0f} s")
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
