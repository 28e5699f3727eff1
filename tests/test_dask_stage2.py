"""Stage two on a real Dask cluster: LocalCluster(n_workers=2, threads_per_worker=1, processes=True), one for
the whole module. scikit-learn's GridSearchCV and cross_val_score through joblib's Dask backend give the
scores of the same search in one process, with the vectors sent once (the estimator pickles small) and the
workers' Numba kernels loaded from the on-disk cache; train-rnn's folds x seeds x grid as tasks give the
metrics of the same tasks run one after the other; predict over byte-range partitions writes the bytes of
the one-process predict."""
import json
import pickle

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from pipeline import RNNClassifier
from pipeline.cli import main

from test_api_classifier import FAST, sentences, wv  # noqa: F401  (wv is a module fixture)

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as lc, distributed.Client(lc) as client:
        yield lc.scheduler_address, client


@pytest.fixture(scope="module")
def data():
    return sentences(36, 3)


GRID = {"hidden_size": [4, 6], "lr": [0.02, 0.05]}


def search(estimator, texts, labels):
    gs = GridSearchCV(estimator, GRID, cv=KFold(3, shuffle=True, random_state=0), refit=False)
    gs.fit(texts, labels)
    return gs.cv_results_["mean_test_score"], gs.cv_results_["split0_test_score"]


def test_grid_search_and_cross_val_score_on_the_cluster_equal_one_process(cluster, wv, data):  # noqa: F811
    texts, labels = data
    base = dict(FAST, epochs=3)
    one_grid = search(RNNClassifier(vectors=wv, **base), texts, labels)
    one_cv = cross_val_score(RNNClassifier(vectors=wv, **base), texts, labels, cv=3)
    client = cluster[1]
    future = client.scatter(wv, broadcast=True, hash=False)
    est = RNNClassifier(vectors=future, **base)
    table = wv.vectors.tobytes()                       # the estimator travels as a key, not with the vectors
    assert table not in pickle.dumps(est) and table in pickle.dumps(RNNClassifier(vectors=wv, **base))
    with joblib.parallel_backend("dask"):
        dask_grid = search(est, texts, labels)
        dask_cv = cross_val_score(est, texts, labels, cv=3)
    for a, b in zip(one_grid, dask_grid):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one_cv, dask_cv)
    assert one_grid[0].std() > 0                       # the grid points differ: the comparison means something
    ran = client.run(_numba_cache)                     # {worker: (cache hits, cache misses)}
    assert len(ran) == 2 and all(hits > 0 and misses == 0 for hits, misses in ran.values()), ran


def _numba_cache():
    """On a worker: its stage-two kernels' Numba cache hits and misses (a miss compiles)."""
    import sys

    from numba.core.registry import CPUDispatcher
    if "pipeline.classifier.kernels" not in sys.modules:      # no fit ran here
        return 0, 0
    from pipeline.classifier import cells, kernels, recurrence
    hits = misses = 0
    for module in (cells, kernels, recurrence):
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher):
                hits += sum(obj.stats.cache_hits.values())
                misses += sum(obj.stats.cache_misses.values())
    return hits, misses


@pytest.mark.parametrize("fmt, extra", [("tsv", []), ("json", ["--k", "1"])])
def test_predict_in_partitions_writes_the_one_process_output(cluster, wv, data, tmp_path, capsys, fmt, extra):  # noqa: F811
    """300 lines (more than one batch of 256) with empty and all-unknown lines, no final line end, cut into 7
    byte ranges: the same bytes and the same note on stderr as one process."""
    model = tmp_path / "model.npz"
    RNNClassifier(vectors=wv, **FAST).fit(*data).save(model)
    texts, _ = sentences(300, 5)
    for i in (0, 17, 255, 256):
        texts[i] = "" if i % 2 else "unknown words only"
    source = tmp_path / "big.txt"
    source.write_text("\n".join(texts), encoding="utf-8")
    outputs, notes = [], []
    for how in ([], ["--cluster", cluster[0], "--partitions", "7"]):
        out = tmp_path / f"out{len(outputs)}.{fmt}"
        assert main(["--quiet", "predict", "--model", str(model), "--input", str(source), "--output", str(out),
                     "--format", fmt, *extra, *how]) == 0
        outputs.append(out.read_bytes())
        notes.append([line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")])
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") == 300
    assert notes[0] == notes[1] and "empty lines (lines 18, 256)" in notes[0][0]
    assert "no known word (lines 1, 257)" in notes[0][0]
    assert not list(tmp_path.glob(".*parts*"))                         # the part files are gone


def test_predict_on_a_cluster_needs_input_and_output_files(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "m.npz"), "--cluster", "local", "a text"]) == 2
    assert "--input FILE and --output FILE" in capsys.readouterr().err


def search_run(tmp_path, name, *extra):
    """train-rnn's tiny problem (test_classifier.tiny_run) as a search; its metrics.json."""
    from test_classifier import tiny_run
    folder = tmp_path / name
    folder.mkdir()
    assert tiny_run(folder, extra=["--set", "train.epochs=3", "--set", "data.folds=3", "--set", "data.test=[]",
                                   *extra]) == 0
    return json.loads((folder / "run" / "metrics.json").read_text())


def test_train_rnn_search_on_the_cluster_equals_one_process(cluster, tmp_path):
    """folds x seeds x grid = 3 x 2 x (2 x 2) models as Dask tasks: the metrics of the same tasks run one after
    the other; and each task trains a fold as the one-process k-fold driver does."""
    grid = ["--set", "train.seeds=[1, 2]", "--set", "grid.model.hidden_size=[4, 8]", "--set", "grid.train.lr=[0.002, 0.02]"]
    one = search_run(tmp_path, "one", *grid)
    dask = search_run(tmp_path, "dask", *grid, "--set", f"cluster.address={cluster[0]}")
    assert one["points"] == dask["points"] and one["best"] == dask["best"]
    assert [p["params"] for p in one["points"]] == [{"model.hidden_size": h, "train.lr": lr}
                                                     for h in (4, 8) for lr in (0.002, 0.02)]
    assert all(p["models"] == 6 and len(p["runs"]) == 6 for p in one["points"])
    assert len({p["accuracy"] for p in one["points"]}) > 1               # the points differ
    assert one["best"]["by"] == "accuracy" and one["best"]["score"] == max(p["accuracy"] for p in one["points"])
    plain = search_run(tmp_path, "plain", "--set", "model.hidden_size=8", "--set", "train.lr=0.02",
                       "--set", "train.seed=2")                            # the ordinary k-fold run
    assert [f["accuracy"] for f in plain["folds"]] == [r["accuracy"] for r in one["points"][3]["runs"][3:]]
    # model.npz: the best point's model of seed 1, last fold, the same arrays from both (each run has its own
    # vectors file: only vectors_path differs); predict reads it
    models = [tmp_path / name / "run" / "model.npz" for name in ("one", "dask")]
    with np.load(models[0]) as a, np.load(models[1]) as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files if k != "vectors_path")
    assert one["best"]["model"] == {"seed": 1, "fold": 3, "file": "model.npz"}
    from pipeline.classifier.predict import Classifier
    clf = Classifier.load(models[1])
    assert clf.mc.hidden_size == one["best"]["params"]["model.hidden_size"]
    assert len(clf.predict_proba(["a short text", "another one"])) == 2


@pytest.mark.parametrize("setting, message", [
    ("grid.model.hiden_size=[4]", "grid.model.hiden_size[0]: unknown config key 'model.hiden_size'; did you mean"),
    ("grid.model.hidden_size=[4, big]", "grid.model.hidden_size[1]: model.hidden_size: expected a whole number"),
    ("grid.train.seed=[1, 2]", "seeds go in train.seeds"),
    ("grid.train.lr=[]", "grid.train.lr: empty"),
    ("train.seeds=[1, x]", "train.seeds[1]: expected a whole number")])
def test_bad_grid_or_seeds_is_one_line(tmp_path, capsys, setting, message):
    from test_classifier import tiny_run
    assert tiny_run(tmp_path, extra=["--set", setting]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_a_worker_killed_during_a_search_loses_no_model(cluster, tmp_path, monkeypatch):
    """The first model task ends its own worker process, as a crashed machine would: the search still trains
    every model once and its metrics are those of the same search in one process. Last in the module: the
    nanny restarts the worker."""
    from pipeline.cluster import TEST_KILL_HOOK
    grid = ["--set", "grid.model.hidden_size=[4, 8]"]
    one = search_run(tmp_path, "one", *grid)
    marker = tmp_path / "kill-once"
    marker.touch()
    monkeypatch.setenv(TEST_KILL_HOOK, str(marker))
    killed = search_run(tmp_path, "killed", *grid, "--set", f"cluster.address={cluster[0]}")
    assert not marker.exists()                             # the hook fired
    assert killed["points"] == one["points"] and killed["best"] == one["best"]


def test_lost_shared_data_sends_the_untrained_models_again(monkeypatch, capsys):
    """When Dask cannot recover the scattered table (it died with a worker), run_tasks sends again only the models
    not trained yet, says so on stderr, and gives up with one line after TASK_ATTEMPTS tries."""
    from distributed.client import FutureCancelledError

    from pipeline.classifier import search
    from pipeline.errors import UserError
    calls = []

    def flaky(client, fn, args_list, shared, todo, results, pbar, fail_times=1):
        calls.append(list(todo))
        for i in todo[:2]:                        # two models end, then the shared data is lost
            results[i] = fn(*args_list[i], shared)
        if len(calls) <= fail_times:
            raise FutureCancelledError("rnn-task-x", "lost")
        for i in todo[2:]:
            results[i] = fn(*args_list[i], shared)

    monkeypatch.setattr(search, "_submit_and_collect", flaky)
    square = lambda x, shared: x * x                # noqa: E731
    assert search.run_tasks(object(), square, [(i,) for i in range(5)], {}) == [0, 1, 4, 9, 16]
    assert calls == [[0, 1, 2, 3, 4], [2, 3, 4]]
    assert "the 3 models not trained yet are sent again" in capsys.readouterr().err
    calls.clear()
    monkeypatch.setattr(search, "_submit_and_collect",
                        lambda *a: flaky(*a, fail_times=search.TASK_ATTEMPTS))
    with pytest.raises(UserError, match=f"failed {search.TASK_ATTEMPTS} times on the cluster"):
        search.run_tasks(object(), square, [(i,) for i in range(9)], {})
