"""Strict configuration loading: unknown keys, wrong types, ranges, --set overrides, saved config."""
import pytest
import yaml

from pipeline.config import (ConfigError, EmbeddingsConfig, RNNConfig, load_config, save_config, to_dict)


def test_defaults_are_gensims_skipgram_defaults():
    cfg = load_config(EmbeddingsConfig)
    t = cfg.train
    assert (t.vector_size, t.window, t.negative, t.sample, t.alpha, t.min_alpha, t.epochs) == \
        (100, 5, 5, 1e-3, 0.025, 0.0001, 5)
    assert cfg.vocab.min_count == 5 and cfg.corpus.max_sentence_length == 10000


def test_yaml_overrides_only_what_it_names(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  epochs: 2\ncorpus:\n  paths: [a.txt]\n")
    cfg = load_config(EmbeddingsConfig, p, ["train.window=3"])
    assert cfg.train.epochs == 2 and cfg.train.window == 3 and cfg.train.negative == 5
    assert cfg.corpus.paths == ("a.txt",)


@pytest.mark.parametrize("override, message", [
    ("train.epoch=1", "did you mean 'train.epochs'"),
    ("trian.epochs=1", "did you mean 'train'"),
    ("train.epochs=two", "train.epochs: expected a whole number"),
    ("train.window=0", "train.window: 0 must be a positive number"),
    ("train.negative=-1", "train.negative"),
    ("train.sample=2", "train.sample"),
    ("corpus.errors=ignore", "corpus.errors"),
    ("train.shrink_windows=3", "expected true or false"),
    ("corpus.encoding=nope-8", "unknown encoding"),
    ("tokenizer.pattern=[", "regular expression"),
    ("train", "expected key.path=value"),
])
def test_bad_settings_name_the_key(override, message):
    with pytest.raises(ConfigError, match=None) as exc:
        load_config(EmbeddingsConfig, None, [override])
    assert message in str(exc.value)


def test_exponent_floats_without_a_dot(tmp_path):
    """YAML reads 1e-5 as a string; the loader accepts it as the number it means."""
    assert load_config(EmbeddingsConfig, None, ["train.sample=1e-5"]).train.sample == 1e-5
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  sample: 1e-4\n")
    assert load_config(EmbeddingsConfig, p).train.sample == 1e-4
    with pytest.raises(ConfigError, match="train.sample: expected a number"):
        load_config(EmbeddingsConfig, None, ["train.sample=abc"])


def test_unknown_key_in_yaml_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("vocab:\n  min_cout: 3\n")
    with pytest.raises(ConfigError, match="vocab.min_cout.*vocab.min_count"):
        load_config(EmbeddingsConfig, p)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(EmbeddingsConfig, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(EmbeddingsConfig, bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(EmbeddingsConfig, lst)


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(RNNConfig, None, ["model.cell=lstm", "tokenizer.lowercase=false", "data.folds=10"])
    save_config(cfg, tmp_path / "config.yaml")
    again = load_config(RNNConfig, tmp_path / "config.yaml")
    assert again == cfg
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == to_dict(cfg)


def test_optional_section_reports_inner_key():
    with pytest.raises(ConfigError, match="tokenizer.lowercas.*tokenizer.lowercase"):
        load_config(RNNConfig, None, ["tokenizer.lowercas=true"])
