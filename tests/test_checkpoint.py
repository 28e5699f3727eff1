"""The shared checkpoint format (pipeline/checkpoint.py): a round trip keeps arrays and meta; loading refuses
other settings, another format version, a truncated file and arrays of the wrong shape, with one line that
names the file and the fix; the config key ignores the output folder and what the caller says."""
import numpy as np
import pytest

from pipeline import checkpoint
from pipeline.checkpoint import Checkpoint, config_key
from pipeline.config import EmbeddingsConfig, RNNConfig, load_config
from pipeline.errors import UserError


def saved(tmp_path, key="k"):
    ckpt = Checkpoint(tmp_path, key)
    ckpt.save({"W": np.arange(6, dtype=np.float32).reshape(2, 3), "rng_states": np.array([7], np.uint64)},
              {"epoch": 2, "history": [0.5, 0.25], "rng": {"state": 2 ** 100}})
    return ckpt


def test_round_trip(tmp_path):
    ckpt = saved(tmp_path)
    arrays, meta = ckpt.load({"W": (2, 3)})
    assert arrays["W"].tolist() == [[0, 1, 2], [3, 4, 5]] and arrays["rng_states"].dtype == np.uint64
    assert meta == {"epoch": 2, "history": [0.5, 0.25], "rng": {"state": 2 ** 100}}
    assert set(arrays) == {"W", "rng_states"}
    first = ckpt.path.read_bytes()
    saved(tmp_path)
    assert ckpt.path.read_bytes() == first                     # deterministic bytes
    ckpt.remove()
    assert not ckpt.exists()


def test_resume_says_when_there_is_nothing(tmp_path):
    ckpt = Checkpoint(tmp_path, "k")
    assert ckpt.resume(False) is None and ckpt.resume(True) is None
    saved(tmp_path)
    assert ckpt.resume(False) is None and ckpt.resume(True)[1]["epoch"] == 2


def refused(ckpt, shapes=None) -> str:
    with pytest.raises(UserError) as info:
        ckpt.load(shapes)
    msg = str(info.value)
    assert str(ckpt.path) in msg and "without --resume" in msg and "\n" not in msg
    return msg


def test_refuses_other_settings(tmp_path):
    saved(tmp_path, key="a")
    assert "other settings" in refused(Checkpoint(tmp_path, "b"))


def test_refuses_other_format_version(tmp_path, monkeypatch):
    ckpt = saved(tmp_path)
    monkeypatch.setattr(checkpoint, "FORMAT_VERSION", checkpoint.FORMAT_VERSION + 1)
    assert "another version" in refused(ckpt)


def test_refuses_a_truncated_file(tmp_path):
    ckpt = saved(tmp_path)
    data = ckpt.path.read_bytes()
    ckpt.path.write_bytes(data[:len(data) // 2])
    assert "truncated" in refused(ckpt)


def test_refuses_arrays_of_another_shape(tmp_path):
    assert "does not match this run" in refused(saved(tmp_path), {"W": (3, 3)})
    assert "missing" in refused(saved(tmp_path), {"V": (1,)})


def test_config_key():
    a = load_config(EmbeddingsConfig, None, ["output.dir=/a", "corpus.cache_dir=/c1"])
    b = load_config(EmbeddingsConfig, None, ["output.dir=/b", "corpus.cache_dir=/c2"])
    assert config_key(a, 2, ignore=("corpus.cache_dir",)) == config_key(b, 2, ignore=("corpus.cache_dir",))
    assert config_key(a, 2) != config_key(b, 2)                  # the cache folder counts unless ignored
    assert config_key(a, 1, ignore=("corpus.cache_dir",)) != config_key(a, 2, ignore=("corpus.cache_dir",))
    r = load_config(RNNConfig, None, ["train.lr=0.01"])
    assert config_key(r, 1) != config_key(load_config(RNNConfig, None, []), 1)
