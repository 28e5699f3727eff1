"""The model file (classifier/modelfile.py): a round trip keeps every piece and writes the same bytes twice;
a truncated file, another format version, an inconsistent file and NaN parameters are refused by
`pipeline predict` with one line that names the file and the fix (exit 2)."""
import numpy as np
import pytest

from pipeline.cli import main
from pipeline.config import RNNModelConfig
from pipeline.classifier import model as M
from pipeline.classifier.modelfile import FORMAT_VERSION, load_model, save_model
from pipeline.classifier.predict import Classifier
from pipeline.text import Tokenizer

WORDS = ["good", "bad", "film"]


def write_model(path, **change):
    """A small untrained bidirectional LSTM model file; `change` replaces arrays of the saved file."""
    mc = RNNModelConfig(cell="lstm", hidden_size=3, bidirectional=True, pooling="max")    # V is (2, 6)
    rng = np.random.default_rng(0)
    table = np.zeros((len(WORDS) + 2, 4), np.float32)
    table[:len(WORDS)] = rng.standard_normal((len(WORDS), 4))
    save_model(path, M.init_params(mc, 4, 2, seed=1), mc, ["neg", "pos"], Tokenizer(lowercase=True), WORDS,
               table, "v.bin")
    if change:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        arrays.update(change)
        np.savez(path, **arrays)
    return path


def test_round_trip_and_same_bytes(tmp_path):
    a = write_model(tmp_path / "a.npz")
    clf = Classifier.load(a)
    assert clf.labels == ["neg", "pos"] and clf.words == WORDS and clf.mc.cell == "lstm"
    assert clf.vectors_path == "v.bin" and not clf.table.flags.writeable
    assert clf.tokenizer.lowercase and clf.tokenizer.pattern is None
    clf.save(tmp_path / "b.npz")
    assert (tmp_path / "b.npz").read_bytes() == a.read_bytes()
    assert clf.predict_proba(["Good film", "unknown words"]).shape == (2, 2)


def predict_error(capsys, path):
    code = main(["--quiet", "predict", "--model", str(path), "a good film"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(path) in err
    return err


def test_truncated_file(tmp_path, capsys):
    path = write_model(tmp_path / "model.npz")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    assert "truncated" in predict_error(capsys, path) and "re-train" in predict_error(capsys, path)


def test_other_format_version(tmp_path, capsys):
    path = write_model(tmp_path / "model.npz", format_version=np.array(FORMAT_VERSION + 1, np.int64))
    err = predict_error(capsys, path)
    assert f"format version {FORMAT_VERSION + 1}" in err and "re-train" in err


@pytest.mark.parametrize("change", [
    {"param.l0.fwd.U": np.zeros((12, 2), np.float32)},          # does not fit hidden_size 3
    {"labels": np.array(["a", "b", "c"])},                         # three labels, two outputs
    {"table": np.zeros((4, 4), np.float32)},                       # three words need five rows
    {"label_values": np.array("[0, 1]")},                          # numbers that are not the labels neg, pos
])
def test_inconsistent_file(tmp_path, capsys, change):
    err = predict_error(capsys, write_model(tmp_path / "model.npz", **change))
    assert "inconsistent" in err and "re-train" in err


def test_nan_parameters(tmp_path, capsys):
    V = np.full((2, 6), np.nan, np.float32)
    err = predict_error(capsys, write_model(tmp_path / "model.npz", **{"param.V": V}))
    assert "NaN" in err and "(in V)" in err and "train.lr" in err


def test_load_model_gives_classifier_arguments(tmp_path):
    contents = load_model(write_model(tmp_path / "model.npz"))
    assert set(contents) == {"params", "model_cfg", "labels", "tokenizer", "words", "table", "vectors_path",
                             "label_values"}
    assert contents["label_values"] is None              # written only for labels that are not text
