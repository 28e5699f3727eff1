"""The library: what `import pipeline` offers, and what the `pipeline` command calls.

    from pipeline import Word2Vec, KeyedVectors, RNNClassifier
    model = Word2Vec(sentences=token_lists, vector_size=100, epochs=5)           # gensim's habits
    clf = RNNClassifier(vectors=model.wv, cell="gru").fit(texts, labels)        # scikit-learn's habits
    run = train_embeddings("configs/embeddings.yaml")    # a whole run, as `pipeline train-embeddings` does it
    run = train_rnn("configs/rnn.yaml")                   # ... and `pipeline train-rnn` (k-fold, dev/test files)

Both estimators and both functions run the same drivers (embeddings/train.py, classifier/train.py) through
the same two functions (library.py): the command is a thin layer that builds the config from --config /
--set, calls `train_embeddings` / `train_rnn`, and prints. The functions take a config (a YAML path, a dict
of sections, or the config object), write the run directory of its `output.dir` and return the run (`.out`,
`.vectors` or `.classifier`, `.metrics`); they show progress unless `verbose=False`. Ctrl-C saves a
checkpoint and raises Interrupted; `resume=True` continues from it.
"""
from __future__ import annotations

from .classifier.estimator import RNNClassifier
from .config import EmbeddingsConfig, RNNConfig, load_config
from .embeddings.word2vec import Word2Vec
from .errors import ConfigError, Interrupted, UserError
from .library import train_embeddings, train_rnn
from .vectors import WordVectors, load_vectors

KeyedVectors = WordVectors        # gensim's name for word vectors with most_similar, similarity ...

__all__ = ["Word2Vec", "KeyedVectors", "WordVectors", "RNNClassifier", "load_vectors", "train_embeddings",
           "train_rnn", "load_config", "EmbeddingsConfig", "RNNConfig", "UserError", "ConfigError", "Interrupted"]
