"""pipeline.RNNClassifier as a scikit-learn estimator: fit / predict / predict_proba / score / classes_,
NotFittedError, sklearn's own estimator checks that apply to text input, clone, cross_val_score,
GridSearchCV and Pipeline; the same model.npz as `pipeline train-rnn` for the same settings; save / load."""
import dataclasses

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks as checks

from pipeline import KeyedVectors, RNNClassifier
from pipeline.cli import main
from pipeline.config import LabelledDataConfig, RNNModelConfig, RNNTrainConfig, VectorsConfig

GOOD, BAD, FILLER = ["good", "great", "fine"], ["bad", "awful", "dull"], ["the", "film", "was", "a", "plot"]
FAST = dict(hidden_size=6, epochs=6, batch_size=8, lr=0.02, workers=1, seed=2)


@pytest.fixture(scope="module")
def wv():
    """Hand-made vectors: good words point one way on axis 0, bad words the other, fillers are noise."""
    rng = np.random.default_rng(0)
    words = GOOD + BAD + FILLER
    vectors = 0.3 * rng.standard_normal((len(words), 5)).astype(np.float32)
    vectors[:3, 0] += 2.0
    vectors[3:6, 0] -= 2.0
    return KeyedVectors(words, vectors)


def sentences(n, seed):
    """n texts, alternately positive and negative, with an upper-case word and an unknown one now and then."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = ["pos", "neg"][i % 2]
        words = list(rng.choice(FILLER, 2)) + [rng.choice(GOOD if label == "pos" else BAD)]
        words += list(rng.choice(FILLER, int(rng.integers(0, 3)))) + (["Unseen"] if i % 7 == 0 else [])
        texts.append(" ".join(words).capitalize())
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def data():
    return sentences(48, 1)


@pytest.fixture(scope="module")
def fitted(wv, data):
    return RNNClassifier(vectors=wv, **FAST).fit(*data)


def test_fit_predict_score(fitted, data):
    texts, labels = data
    assert list(fitted.classes_) == ["neg", "pos"]
    proba = fitted.predict_proba(texts)
    assert proba.shape == (48, 2) and np.allclose(proba.sum(axis=1), 1)
    assert list(fitted.predict(texts)) == list(fitted.classes_[proba.argmax(axis=1)])
    assert fitted.score(texts, labels) > 0.9
    assert len(fitted.history_["train_loss"]) >= 1 and 1 <= fitted.best_epoch_ <= 6
    assert 0.8 < fitted.coverage_ < 1                           # "Unseen" is not a word of the vectors
    assert np.allclose(np.exp(fitted.predict_log_proba(texts[:3])), proba[:3])
    report = fitted.classification_report(texts, labels)
    assert report["accuracy"] == pytest.approx(fitted.score(texts, labels)) and report["labels"] == ["neg", "pos"]


def test_not_fitted_and_bad_input(wv, data):
    clf = RNNClassifier(vectors=wv)
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(NotFittedError):
            method(["a text"])
    with pytest.raises(NotFittedError):
        clf.save("never.npz")
    texts, labels = data
    with pytest.raises(TypeError, match="not one string"):
        clf.fit("one text", ["pos"])
    with pytest.raises(TypeError, match=r"X\[1\] is int"):
        clf.fit(["a", 3], ["pos", "neg"])
    with pytest.raises(ValueError, match="two distinct classes"):
        clf.fit(texts, ["pos"] * len(texts))
    with pytest.raises(ValueError, match="one label per text"):
        clf.fit(texts, labels[:-1])
    with pytest.raises(ValueError, match="hidden_size"):
        RNNClassifier(vectors=wv, hidden_size=0).fit(texts, labels)
    with pytest.raises(ValueError, match="^cell: 'transformer' is not one of"):
        RNNClassifier(vectors=wv, cell="transformer").fit(texts, labels)


@pytest.mark.parametrize("check", [
    checks.check_get_params_invariance, checks.check_set_params, checks.check_no_attributes_set_in_init,
    checks.check_estimators_unfitted, checks.check_parameters_default_constructible,
    checks.check_do_not_raise_errors_in_init_or_set_params, checks.check_estimator_cloneable,
    checks.check_estimator_repr, checks.check_mixin_order, checks.check_estimator_tags_renamed,
    checks.check_valid_tag_types,
], ids=lambda c: c.__name__)
def test_sklearn_estimator_checks(wv, check):
    """The checks of sklearn.utils.estimator_checks that do not need numeric X (ours reads text)."""
    check("RNNClassifier", RNNClassifier(vectors=wv, **FAST))


def test_fit_leaves_parameters_alone(wv, data):
    """What check_dont_overwrite_parameters / check_estimators_overwrite_params assert, on text."""
    clf = RNNClassifier(vectors=wv, **FAST)
    before = clf.get_params()
    clf.fit(*data)
    after = clf.get_params()
    assert before.keys() == after.keys() and all(after[k] is before[k] for k in before)
    assert not [k for k in vars(clf) if not k.endswith("_") and k not in before]


def test_clone_round_trip(fitted):
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params() and not hasattr(twin, "classes_")
    assert twin.vectors is fitted.vectors                       # the frozen table is shared, not copied
    assert clone(twin.set_params(cell="gru", hidden_size=3)).get_params()["cell"] == "gru"


def test_parameters_are_the_config_options_with_its_defaults():
    defaults = RNNClassifier().get_params()
    for cls in (RNNModelConfig, RNNTrainConfig):
        for f in dataclasses.fields(cls):
            if f.name != "seeds":      # train-rnn's search option; scikit-learn's searches vary `seed` themselves
                assert defaults[f.name] == getattr(cls(), f.name), f.name
    assert "seeds" not in defaults
    v = VectorsConfig()
    assert (defaults["vectors"], defaults["unk"], defaults["max_words"], defaults["vectors_binary"]) == \
        (v.path, v.unk, v.max_words, v.binary)
    assert defaults["validation_fraction"] == LabelledDataConfig().dev_fraction
    assert defaults["seed"] == LabelledDataConfig().seed == RNNTrainConfig().seed       # seed is both


def test_cross_val_score(wv, data):
    scores = cross_val_score(RNNClassifier(vectors=wv, **FAST), *data, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.75


def test_grid_search(wv, data):
    search = GridSearchCV(RNNClassifier(vectors=wv, **FAST), {"cell": ["elman", "gru"]}, cv=2).fit(*data)
    assert search.best_params_["cell"] in ("elman", "gru") and search.best_score_ > 0.75
    assert list(search.predict(["the film was great"])) == ["pos"]


def test_pipeline_with_a_text_cleaner(wv, data):
    """A FunctionTransformer before the classifier: here it strips the '!' the test texts are shouted with."""
    texts, labels = data
    shouted = [t.replace(" ", " ! ") + " !!!" for t in texts]
    clean = FunctionTransformer(lambda xs: [x.replace("!", " ") for x in xs])
    pipe = Pipeline([("clean", clean), ("rnn", RNNClassifier(vectors=wv, **FAST))]).fit(shouted, labels)
    assert pipe.score(shouted, labels) > 0.9
    assert pipe.named_steps["rnn"].coverage_ > 0.8              # the '!' tokens never reached it


def test_same_model_file_as_the_command(tmp_path, wv, data):
    """fit with vectors= a file writes, byte for byte, the model.npz `pipeline train-rnn` writes for the same
    settings (data.test_fraction=0: the estimator holds out only the dev share)."""
    vec = tmp_path / "vec.bin"
    wv.save_word2vec_format(vec, binary=True)
    texts, labels = data
    (tmp_path / "train.tsv").write_text("".join(f"{l}\t{t}\n" for t, l in zip(texts, labels)))
    sets = [f"vectors.path={vec}", "data.name=null", f"data.train=[{tmp_path / 'train.tsv'}]", "data.format=tsv",
            "data.test_fraction=0", "data.seed=2", "model.hidden_size=6", "train.epochs=6", "train.batch_size=8",
            "train.lr=0.02", "train.workers=1", "train.seed=2", f"output.dir={tmp_path / 'cli'}"]
    assert main(["--quiet", "train-rnn", *[a for s in sets for a in ("--set", s)]]) == 0
    clf = RNNClassifier(vectors=str(vec), output_dir=tmp_path / "api", **FAST).fit(texts, labels)
    clf.save(tmp_path / "saved.npz")
    cli_bytes = (tmp_path / "cli" / "model.npz").read_bytes()
    assert (tmp_path / "saved.npz").read_bytes() == cli_bytes == (tmp_path / "api" / "model.npz").read_bytes()
    loaded = RNNClassifier.load(tmp_path / "cli" / "model.npz")
    assert list(loaded.classes_) == ["neg", "pos"] and loaded.hidden_size == 6
    np.testing.assert_array_equal(loaded.predict_proba(texts), clf.predict_proba(texts))


def test_number_labels_survive_save_and_load(tmp_path, wv, data):
    texts, labels = data
    y = np.array([1 if l == "pos" else 0 for l in labels])
    clf = RNNClassifier(vectors=wv, **FAST).fit(texts, y)
    clf.save(tmp_path / "m.npz")
    back = RNNClassifier.load(tmp_path / "m.npz")
    assert back.classes_.tolist() == [0, 1] and back.score(texts, y) == clf.score(texts, y)
    assert back.get_params()["tokenizer"] == {"lowercase": True, "pattern": None}
