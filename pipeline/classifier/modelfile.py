"""The model file of a trained classifier (model.npz): its format, writing it, and reading it with checks.

model.npz is NumPy's .npz layout (loads with allow_pickle=False), written atomically and deterministically
(fixed zip timestamps: the same model gives the same bytes; atomicio.savez_deterministic):
    param.<name>      every parameter of the dict described in model.py
    labels            (C,) unicode, class names in id order
    model_config      JSON of RNNModelConfig;   tokenizer: JSON {"lowercase", "pattern"}
    vocab_utf8        uint8, the vectors' words joined by "\\n" (UTF-8); row i of the table is word i
    table             (V+2, D) float32, the frozen table with its UNK and PAD rows, so predict needs
                      nothing else (a 60k x 100 table is 24 MB; the words add about 0.5 MB)
    vectors_path      the vectors file it came from, for reference; vectors_shape (V, D) int64
    format_version    int64, FORMAT_VERSION
    label_values      optional: JSON of the class labels as the estimator was given them when they are not all
                      text (numbers, booleans), so RNNClassifier.load returns 0 and 1, not "0" and "1"

`load_model` refuses, with one line naming the file and the fix: a missing file, a truncated one, a file of
another kind or of another format version, an inconsistent one (parameters that do not fit the model config,
a table that does not fit the words, labels that do not fit the output layer) and NaN or infinite numbers.
It returns the pieces as keyword arguments of predict.Classifier, which holds them and does the inference.

    save_model("runs/rnn/model.npz", params, mc, labels, tokenizer, words, table, vectors_path)
    clf = Classifier(**load_model("runs/rnn/model.npz"))          # what Classifier.load does
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..atomicio import savez_deterministic
from ..errors import ConfigError, UserError

FORMAT_VERSION = 1


def save_model(path, params, model_cfg, labels, tokenizer, words, table, vectors_path="", label_values=None) -> None:
    """Write model.npz (layout in the module docstring), atomically."""
    arrays = {f"param.{k}": v for k, v in params.items()}
    arrays.update(
        labels=np.array(list(labels), dtype=str),
        model_config=np.array(json.dumps(asdict(model_cfg))),
        tokenizer=np.array(json.dumps({"lowercase": tokenizer.lowercase, "pattern": tokenizer.pattern})),
        vocab_utf8=np.frombuffer("\n".join(words).encode("utf-8"), np.uint8),
        table=np.asarray(table),
        vectors_path=np.array(str(vectors_path)),
        vectors_shape=np.array([len(words), table.shape[1]], np.int64),
        format_version=np.array(FORMAT_VERSION, np.int64),
    )
    if label_values is not None:
        arrays["label_values"] = np.array(json.dumps(list(label_values)))
    savez_deterministic(path, arrays)


def load_model(path) -> dict:
    """The model file's contents as Classifier's keyword arguments (params, model_cfg, labels, tokenizer,
    words, table, vectors_path, label_values); the table read-only. UserError for a file it cannot trust."""
    path = Path(path)
    if not path.is_file():
        from ..config import command_that_writes
        make = command_that_writes(path)
        how = f"`{make}` writes it" if make else "train one with `pipeline train-rnn`, or pass --model"
        raise UserError(f"model file not found: {path}; {how}")
    try:
        with np.load(path, allow_pickle=False) as z:
            version = int(z["format_version"])
            if version != FORMAT_VERSION:
                raise UserError(f"{path} is a model file of format version {version}; this version of pipeline "
                                f"reads version {FORMAT_VERSION}: re-train it with `make train-rnn`")
            contents = _read(z)
    except UserError:
        raise
    except ConfigError as exc:
        raise UserError(f"{path} holds a model config this version cannot use ({exc}); re-train it") from None
    except (zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{path} is {_what_zip(path)} ({exc}); re-train it or pass the right --model") from None
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"{path} is not a model written by train-rnn ({type(exc).__name__}: {exc}); "
                        f"re-train it or pass the right --model") from None
    _check(path, contents)
    contents["table"].flags.writeable = False
    return contents


def _read(z) -> dict:
    from ..config import RNNModelConfig, from_dict
    from ..text import Tokenizer
    tok = json.loads(str(z["tokenizer"]))
    return dict(
        params={k[len("param."):]: z[k] for k in z.files if k.startswith("param.")},
        model_cfg=from_dict(RNNModelConfig, json.loads(str(z["model_config"])), "model"),
        labels=[str(x) for x in z["labels"]],
        tokenizer=Tokenizer(tok["lowercase"], tok["pattern"]),
        words=bytes(z["vocab_utf8"]).decode("utf-8").split("\n"),
        table=z["table"],
        vectors_path=str(z["vectors_path"]),
        label_values=json.loads(str(z["label_values"])) if "label_values" in z.files else None,
    )


def _what_zip(path) -> str:
    with open(path, "rb") as f:
        zip_start = f.read(4) == b"PK\x03\x04"
    return "truncated (a zip file cut short)" if zip_start else "not a model file (not a zip archive)"


def _check(path, c) -> None:
    """UserError when the pieces do not fit together or hold NaN / inf."""
    from .model import init_params
    params, table = c["params"], c["table"]
    D, C = table.shape[1] if table.ndim == 2 else -1, len(c["labels"])
    expected = {k: v.shape for k, v in init_params(c["model_cfg"], max(D, 1), max(C, 1), 0).items()}
    shapes = {k: v.shape for k, v in params.items()}
    values = c["label_values"]
    if (table.ndim != 2 or table.shape[0] != len(c["words"]) + 2 or C < 2 or shapes != expected
            or (values is not None and [str(v) for v in values] != c["labels"])):
        raise UserError(f"{path} is inconsistent (its parameters, table, vocabulary and labels do not fit "
                        f"together); re-train it")
    bad = [k for k, v in params.items() if not np.isfinite(v).all()]
    if bad or not np.isfinite(table).all():
        raise UserError(f"{path} holds NaN or infinite numbers (in {', '.join(bad) or 'the table'}): the run that "
                        f"wrote it diverged; re-train it with a lower train.lr")
