"""Stage two as a scikit-learn estimator: RNNClassifier(vectors=..., cell=..., ...).fit(texts, y).

    from pipeline import RNNClassifier
    clf = RNNClassifier(vectors="runs/embeddings/vectors.bin", cell="gru", hidden_size=64, bidirectional=True,
                        pooling="meanmax", dropout=0.5, lr=0.004, epochs=16, patience=4, seed=1)
    clf.fit(texts, y).predict(["a gripping film"]); clf.predict_proba(texts); clf.score(texts, y); clf.classes_
    clf.save("model.npz"); RNNClassifier.load("runs/rnn/model.npz")     # the model file train-rnn writes

scikit-learn's habits (its developer guide, "Rolling your own estimator"): `__init__` stores its arguments
and does nothing else, so get_params / set_params / clone, GridSearchCV, cross_val_score and Pipeline work;
`fit` validates, learns and sets the fitted attributes (`classes_`, sorted as np.unique sorts them;
`classifier_`, the trained predict.Classifier; `history_` with per-epoch train loss and dev accuracy;
`best_epoch_`, `coverage_`, `metrics_`) and returns self; predict before fit raises NotFittedError.
X is raw text: a list (or 1-D array, or pandas Series) of strings; y any labels (strings, numbers).

The parameters are the options of configs/rnn.yaml by their own names (model.*, train.*, vectors.unk and
max_words; `vectors` is vectors.path or a KeyedVectors object; `tokenizer` None takes the vectors' own:
the object's, or the config.yaml saved beside the file) or a Dask future of a KeyedVectors (below), plus `validation_fraction` (data.dev_fraction:
the stratified share of the fit data held out for early stopping on dev accuracy; 0 trains on all and
keeps the last weights; with `refit`, the default, that share only chooses the epoch count and the model
is then trained again on all of the fit data), `output_dir` (write the run directory there, as train-rnn
does; None: nothing is written) and `verbose`. `fit` runs `library.train_rnn`, the call `pipeline train-rnn` makes: the same
settings and seed (`seed` is train.seed and data.seed) give the same model.npz, byte for byte.

On a Dask cluster, scikit-learn's searches run their fits as tasks through joblib's Dask backend; send the
vectors to every worker once and give the estimator the future, a reference that pickles as a key (a
KeyedVectors object would travel inside every task; a path is read again by every fit):

    with Client("tcp://127.0.0.1:8786") as client, joblib.parallel_backend("dask"):
        est = RNNClassifier(vectors=client.scatter(wv, broadcast=True), cell="gru")
        GridSearchCV(est, {"hidden_size": [32, 64]}, cv=5).fit(texts, y)      # or cross_val_score(est, ...)

A fit on a worker reads the vectors from that worker's memory (Future.result() of a broadcast object is a
look-up, not a transfer); the scores equal those of the same search in one process (tests/test_dask_stage2.py).
"""
from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ..config import RNNConfig, RNNModelConfig, RNNTrainConfig, TokenizerConfig, resolve_workers
from ..errors import UserError
from ..library import OptionError, build_config, train_rnn
from ..vectors import WordVectors

# estimator parameter -> config key: every model.* and train.* option by its own name, and these
OPTIONS = {**{f.name: f"model.{f.name}" for f in dataclasses.fields(RNNModelConfig)},
           **{f.name: f"train.{f.name}" for f in dataclasses.fields(RNNTrainConfig) if f.name != "seeds"},
           "vectors": "vectors.path", "unk": "vectors.unk", "max_words": "vectors.max_words",
           "vectors_binary": "vectors.binary", "validation_fraction": "data.dev_fraction", "output_dir": "output.dir"}
IN_MEMORY = "<vectors given in Python>"


class RNNClassifier(ClassifierMixin, BaseEstimator):
    """A recurrent classifier (Elman, LSTM, GRU) over frozen word vectors (module docstring)."""

    def __init__(self, vectors="runs/embeddings/vectors.bin", *, cell="gru", activation="tanh", hidden_size=64,
                 layers=2, bidirectional=True, pooling="meanmax", projection=0, dropout=0.5, word_dropout=0.0,
                 input_dropout=0.2, layer_dropout=0.0,
                 bptt_steps=0, forget_bias=1.0, optimizer="adam", lr=0.004, momentum=0.9, weight_decay=0.0,
                 clip_norm=5.0, batch_size=32, epochs=16, patience=4, stop_on="accuracy", average=0.998, lr_decay=1.0, refit=True,
                 validation_fraction=0.1, seed=1,
                 workers=0, unk="mean",
                 max_words=None, vectors_binary="auto", tokenizer=None, output_dir=None, verbose=0):
        self.vectors = vectors
        self.cell = cell
        self.activation = activation
        self.hidden_size = hidden_size
        self.layers = layers
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.projection = projection
        self.dropout = dropout
        self.word_dropout = word_dropout
        self.input_dropout = input_dropout
        self.layer_dropout = layer_dropout
        self.bptt_steps = bptt_steps
        self.forget_bias = forget_bias
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.stop_on = stop_on
        self.average = average
        self.lr_decay = lr_decay
        self.refit = refit
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.workers = workers
        self.unk = unk
        self.max_words = max_words
        self.vectors_binary = vectors_binary
        self.tokenizer = tokenizer
        self.output_dir = output_dir
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False       # X is a list of texts
        tags.input_tags.string = True
        return tags

    # ------------------------------------------------------------------------------------------- fitting
    def config(self, output_dir=None) -> RNNConfig:
        """The RNNConfig these parameters stand for (what fit trains with; `pipeline train-rnn` reads the same
        options from YAML). Invalid values raise OptionError (a ValueError) naming the parameter."""
        options = {name: getattr(self, name) for name in OPTIONS}
        vectors = _resolve(self.vectors)
        if vectors is None:
            raise OptionError("vectors: give a word2vec file (e.g. runs/embeddings/vectors.bin) or a KeyedVectors")
        options["vectors"] = str(vectors) if not isinstance(vectors, WordVectors) else IN_MEMORY
        if output_dir or self.output_dir:
            options["output_dir"] = str(output_dir or self.output_dir)
        else:
            del options["output_dir"]                     # the default; fit always gives its own folder
        cfg = build_config(RNNConfig, {"data": {"name": None, "test_fraction": 0.0, "seed": self.seed}},
                           options, OPTIONS)
        tok = self.tokenizer
        if tok is not None:
            tok = _tokenizer(tok)
        elif isinstance(vectors, WordVectors):
            tok = vectors.tokenizer or TokenizerConfig()      # an object without one: lowercase + whitespace
        return dataclasses.replace(cfg, tokenizer=tok)

    def fit(self, X, y):
        """Train on texts X with labels y; returns self."""
        from .data import Labelled, make_splits
        texts, y = _texts(X), np.asarray(y)
        if y.ndim != 1 or len(y) != len(texts):
            raise ValueError(f"y must hold one label per text: {len(texts)} texts, y of shape {y.shape}")
        from sklearn.utils.multiclass import check_classification_targets
        check_classification_targets(y)
        classes, y_ids = np.unique(y, return_inverse=True)
        names = [str(c) for c in classes]
        if len(classes) < 2 or len(set(names)) < len(names):
            raise ValueError(f"y needs at least two distinct classes (as text: {names})")
        output_dir = self.output_dir or tempfile.mkdtemp(prefix="pipeline-rnn-")
        try:
            cfg = self.config(output_dir)
            train = Labelled(texts, [names[i] for i in y_ids], [f"X[{i}]" for i in range(len(texts))])
            try:
                splits = make_splits(train, None, None, names, cfg.data)
            except UserError as exc:                      # a split came out empty: name our keyword
                raise OptionError(str(exc).replace("a dev file (data.dev), or ", "")
                                  .replace("data.dev_fraction", "validation_fraction")) from None
            run = train_rnn(cfg, verbose=self.verbose, splits=splits, vectors=self._vectors(cfg))
        finally:
            if not self.output_dir:
                shutil.rmtree(output_dir, ignore_errors=True)
        self._adopt(run.classifier, classes)
        m = run.metrics
        self.history_ = {"train_loss": m["train_loss"], "dev_accuracy": m["dev_accuracy"]}
        self.best_epoch_, self.coverage_, self.metrics_ = m["best_epoch"], m["coverage"], m
        return self

    def _vectors(self, cfg):
        """The vectors object, its first max_words words when set; None for a path (the driver reads it)."""
        wv = _resolve(self.vectors)
        if not isinstance(wv, WordVectors):
            return None
        n = cfg.vectors.max_words
        return wv if n is None or n >= len(wv) else WordVectors(wv.words[:n], wv.vectors[:n], tokenizer=wv.tokenizer)

    def _adopt(self, classifier, classes):
        self.classifier_ = classifier
        self.classes_ = np.asarray(classes)
        if not all(isinstance(c, str) for c in self.classes_.tolist()):
            classifier.label_values = self.classes_.tolist()   # saved, so that load returns them as they were

    # ----------------------------------------------------------------------------------------- predicting
    def predict_proba(self, X) -> np.ndarray:
        """(n, n_classes) float64 class probabilities, columns in the order of classes_."""
        check_is_fitted(self, "classifier_")
        from .threads import blas_threads
        texts = _texts(X)
        self.classifier_.threads = resolve_workers(self.workers)
        with blas_threads(1):
            return self.classifier_.predict_proba(texts)

    def predict_log_proba(self, X) -> np.ndarray:
        """Natural logarithm of predict_proba (a probability of 0 gives -inf)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each text."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def classification_report(self, X, y) -> dict:
        """accuracy, macro_f1, per_class {precision, recall, f1, support}, confusion_matrix (rows: true,
        columns: predicted, in classes_ order) and labels, as metrics.json holds them."""
        from .metrics import classification_report
        check_is_fitted(self, "classifier_")
        y = np.asarray(y)
        known = {c: i for i, c in enumerate(self.classes_.tolist())}
        unknown = sorted({str(v) for v in y.tolist() if v not in known})
        if unknown:
            raise ValueError(f"labels the model does not know: {', '.join(unknown)} (its classes: "
                             f"{', '.join(map(str, self.classes_.tolist()))})")
        y_ids = np.array([known[v] for v in y.tolist()], np.int64)
        pred = self.predict_proba(X).argmax(axis=1)
        return classification_report(y_ids, pred, [str(c) for c in self.classes_.tolist()])

    # ------------------------------------------------------------------------------------------ model file
    def save(self, path) -> None:
        """Write model.npz, the file `pipeline train-rnn` writes and `pipeline predict` reads (modelfile.py)."""
        check_is_fitted(self, "classifier_")
        self.classifier_.save(path)

    @classmethod
    def load(cls, path) -> "RNNClassifier":
        """The fitted estimator of a model file; its parameters are those the file records (the model's shape,
        the tokenizer, the vectors' path), the training options keep their defaults."""
        from .predict import Classifier
        clf = Classifier.load(path)
        model = {f.name: getattr(clf.mc, f.name) for f in dataclasses.fields(clf.mc)}
        est = cls(vectors=clf.vectors_path, tokenizer={"lowercase": clf.tokenizer.lowercase,
                                                       "pattern": clf.tokenizer.pattern}, **model)
        est._adopt(clf, clf.label_values if clf.label_values is not None else clf.labels)
        return est


def _resolve(vectors):
    """`vectors` itself, or the object of a Dask future (module docstring), kept for the next fits in this
    process: a worker fetches it once (Dask's memory manager may drop a broadcast's extra copies)."""
    distributed = sys.modules.get("distributed")        # a future exists only when Dask is loaded
    if distributed is None or not isinstance(vectors, distributed.Future):
        return vectors
    if vectors.key not in _FETCHED:
        if vectors.client is None:      # unpickled inside a task: bind it to this worker's client, as
            client = distributed.get_client()          # Client.get_dataset binds the futures it hands out
            vectors.bind_client(client)
            client._inform_scheduler_of_futures()
        obj = vectors.result()
        _FETCHED.clear()
        _FETCHED[vectors.key] = obj
    return _FETCHED[vectors.key]


_FETCHED = {}       # {future key: object}: the last vectors a fit in this process resolved


def _tokenizer(spec):
    """TokenizerConfig from a dict {"lowercase", "pattern"} or a TokenizerConfig / Tokenizer."""
    from ..config import from_dict
    if isinstance(spec, TokenizerConfig):
        return spec
    if isinstance(spec, dict):
        return from_dict(TokenizerConfig, spec, "tokenizer")
    if hasattr(spec, "lowercase") and hasattr(spec, "pattern"):
        return TokenizerConfig(spec.lowercase, spec.pattern)
    raise OptionError(f"tokenizer: expected None or a dict like {{'lowercase': True, 'pattern': None}}, "
                      f"got {type(spec).__name__}")


def _texts(X) -> list:
    """X as a list of str; TypeError for anything that is not a sequence of texts."""
    if isinstance(X, str):
        raise TypeError("X must be a list of texts, not one string: wrap it, e.g. [text]")
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise TypeError(f"X must be a 1-D list of texts, got an array of shape {arr.shape}")
    texts = arr.tolist()
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"X must hold texts (str): X[{i}] is {type(t).__name__}; RNNClassifier reads raw text "
                            f"and tokenizes it as the vectors' words were made")
    return texts
