"""pipeline: skip-gram word vectors (Numba) and recurrent classifiers on them, as a library and a command.

    from pipeline import Word2Vec, RNNClassifier
    model = Word2Vec(sentences=[["the", "cat", "sat"], ...], vector_size=100, min_count=5, epochs=5)
    model.wv.most_similar(positive=["king", "woman"], negative=["man"], topn=5)
    clf = RNNClassifier(vectors=model.wv, cell="gru", hidden_size=64).fit(texts, labels)
    clf.predict(["a gripping film"])

The public names live in pipeline/api.py and are imported from there on first use (so that `pipeline
--version` or a Ctrl-C early in a command does not wait for NumPy, Numba and scikit-learn to load).
`__version__` is the installed package's version, whose one source is pyproject.toml.
"""
from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("pipeline")
except _metadata.PackageNotFoundError:      # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["Word2Vec", "KeyedVectors", "WordVectors", "RNNClassifier", "load_vectors", "train_embeddings",
           "train_rnn", "load_config", "EmbeddingsConfig", "RNNConfig", "UserError", "ConfigError", "Interrupted",
           "__version__"]


def __getattr__(name):
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
