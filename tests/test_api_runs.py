"""What the command can do, the library can: pipeline.train_rnn with k-fold and test files from a config dict,
pipeline.train_embeddings from YAML, and an interrupted run (Ctrl-C, sent by the test hook of signals.py)
continued with resume=True, for the functions and for Word2Vec, to the bytes of an uninterrupted run."""
import numpy as np
import pytest

import pipeline
from pipeline import Interrupted, RNNClassifier, Word2Vec
from pipeline.signals import TEST_HOOK

WORDS = ["good", "great", "bad", "dull", "the", "film", "was"]


@pytest.fixture
def rnn_config(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(WORDS), 4)).astype(np.float32)
    pipeline.KeyedVectors(WORDS, vectors).save_word2vec_format(tmp_path / "v.bin", binary=True)
    lines = [f"{'pos' if i % 2 else 'neg'}\tthe film was {WORDS[i % 4]}\n" for i in range(40)]
    (tmp_path / "train.tsv").write_text("".join(lines))
    (tmp_path / "test.tsv").write_text("".join(lines[:10]))
    return {"data": {"name": None, "train": [str(tmp_path / "train.tsv")], "format": "tsv"},
            "vectors": {"path": str(tmp_path / "v.bin")}, "model": {"hidden_size": 4},
            "train": {"epochs": 3, "batch_size": 8, "workers": 1}, "output": {"dir": str(tmp_path / "rnn")}}


def test_train_rnn_k_fold_and_test_files(tmp_path, rnn_config):
    rnn_config["data"]["folds"] = 3
    run = pipeline.train_rnn(rnn_config, verbose=False)
    assert len(run.metrics["folds"]) == 3 and "accuracy_std" in run.metrics
    assert (run.out / "model.npz").is_file() and (run.out / "metrics.json").is_file()
    assert list(RNNClassifier.load(run.out / "model.npz").classes_) == ["neg", "pos"]
    rnn_config["data"].update(folds=0, test=[str(tmp_path / "test.tsv")])
    run = pipeline.train_rnn(rnn_config, verbose=False)
    assert sum(map(sum, run.metrics["confusion_matrix"])) == 10


def test_train_rnn_resume(monkeypatch, rnn_config):
    reference = pipeline.train_rnn(rnn_config, verbose=False).out / "model.npz"
    expected = reference.read_bytes()
    reference.unlink()
    monkeypatch.setenv(TEST_HOOK, "7")                # Ctrl-C after the 7th batch (5 per epoch)
    with pytest.raises(Interrupted):
        pipeline.train_rnn(rnn_config, verbose=False)
    monkeypatch.delenv(TEST_HOOK)
    assert (reference.parent / "checkpoint.npz").is_file() and not reference.exists()
    assert pipeline.train_rnn(rnn_config, resume=True, verbose=False).out == reference.parent
    assert reference.read_bytes() == expected


def test_train_embeddings_from_yaml_and_word2vec_resume(tmp_path, monkeypatch):
    yaml_file = tmp_path / "emb.yaml"
    yaml_file.write_text(f"corpus: {{paths: ['gensim:lee_background.cor'], cache_dir: null}}\n"
                         f"vocab: {{min_count: 3}}\n"
                         f"train: {{vector_size: 8, epochs: 2, workers: 1, chunk_words: 20000}}\n"
                         f"output: {{dir: {tmp_path / 'fn'}, evaluate: false}}\n")
    run = pipeline.train_embeddings(str(yaml_file), verbose=False)
    expected = run.vectors.vectors.tobytes()
    assert (run.out / "vectors.bin").is_file()
    options = dict(config=str(yaml_file), output_dir=tmp_path / "w2v")
    monkeypatch.setenv(TEST_HOOK, "3")                # Ctrl-C after the 3rd chunk of 20,000 words (epoch 1)
    with pytest.raises(Interrupted):
        Word2Vec(**options)
    monkeypatch.delenv(TEST_HOOK)
    assert (tmp_path / "w2v" / "checkpoint.npz").is_file()
    assert Word2Vec(**options, resume=True).wv.vectors.tobytes() == expected


def test_public_names_and_version():
    """Every name of pipeline.__all__ resolves; `import pipeline` loads neither scikit-learn nor Numba."""
    import subprocess
    import sys
    from importlib import metadata
    assert pipeline.__version__ == metadata.version("pipeline")
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None, name
    assert pipeline.KeyedVectors is pipeline.WordVectors
    code = "import sys, pipeline; print(sorted(m for m in ('sklearn', 'numba') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
