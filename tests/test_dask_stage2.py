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
