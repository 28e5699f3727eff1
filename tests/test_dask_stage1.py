"""Stage one on a real Dask cluster: LocalCluster(n_workers=2, threads_per_worker=1, processes=True), one for
the whole module. The vocabulary and encoded shards equal the one-process corpus; training through the CLI is
deterministic whatever the cluster (the module's cluster by address, and one `local` started by the command),
resumes to the same bytes after Ctrl-C between rounds, and survives a worker killed in the middle of an epoch
with the same vectors (the re-run counted). The front: a bad or unreachable address is one error line, and
the one-process path never imports Dask."""
import json
import os
import socket
import subprocess
import sys
import uuid

import numpy as np
import pytest
from gensim.models import KeyedVectors

from pipeline.cli import main
from pipeline.cluster import TEST_KILL_HOOK
from pipeline.config import EmbeddingsConfig, load_config
from pipeline.embeddings.corpus import encode_corpus
from pipeline.signals import TEST_HOOK
from pipeline.text import Tokenizer

from test_shards import corpus_files

distributed = pytest.importorskip("distributed")

# Lee corpus, 2 shards of ~25k words, 5 rounds of ~5k words each per epoch, 2 epochs
TINY = ["corpus.paths=[gensim:lee_background.cor]", "vocab.min_count=3", "train.epochs=2", "train.vector_size=16",
        "train.workers=1", "output.evaluate=false", "cluster.sync_words=6000", "cluster.shards=2"]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as lc, distributed.Client(lc) as client:
        yield lc.scheduler_address, client


def train(out, address, *extra, quiet=True):
    args = ["--quiet"] * quiet + ["train-embeddings"]
    for s in TINY + [f"output.dir={out}", f"cluster.address={address}", *extra]:
        args += [s] if s.startswith("--") else ["--set", s]
    return main(args)


@pytest.fixture(scope="module")
def reference(cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("dask") / "reference"
    assert train(out, cluster[0]) == 0
    return out, (out / "vectors.bin").read_bytes(), json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("n_shards, files, settings", [
    (5, [0, 1, 2], ["vocab.min_count=1"]),
    (3, [0, 1, 2], ["vocab.min_count=3", "vocab.max_vocab_size=10"]),
    (4, [1], ["vocab.min_count=2"])])
def test_vocabulary_and_shards_equal_one_process(cluster, tmp_path, n_shards, files, settings):
    """Counted on the workers, merged on the driver: the one-process vocabulary (words, counts, gensim's order
    with its ties) and, shard after shard, the same tokens; a multi-file corpus, one .gz file in byte ranges,
    long lines cut at max_sentence_length, replaced bytes counted."""
    from pipeline.embeddings.distributed import shard_corpus
    paths = [str(corpus_files(tmp_path)[i]) for i in files]
    cfg = load_config(EmbeddingsConfig, None, [f"corpus.paths={paths}", "corpus.errors=replace", "corpus.cache_dir=null",
                                               "corpus.max_sentence_length=7", *settings])
    enc = encode_corpus(cfg.corpus, Tokenizer(), cfg.vocab)
    corpus, futures, _ = shard_corpus(cluster[1], cfg, n_shards, uuid.uuid4().hex)
    assert corpus.vocab.words == enc.vocab.words and np.array_equal(corpus.vocab.counts, enc.vocab.counts)
    assert (corpus.corpus_words, corpus.lines, corpus.replaced_lines) == (enc.corpus_words, enc.lines,
                                                                        enc.replaced_lines)
    shards = cluster[1].gather(futures)
    assert np.array_equal(np.concatenate([s.tokens for s in shards]), enc.tokens)
    assert [len(s.offsets) - 1 for s in shards] and sum(len(s.offsets) - 1 for s in shards) == len(enc.offsets) - 1
    enc.close()


def test_a_bad_line_in_a_shard_is_reported_as_in_one_process(cluster, tmp_path, capsys):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"".join(b"line %d\n" % i for i in range(1000)) + b"bad \xff\n" + b"ok\n" * 50)
    assert train(tmp_path / "out", cluster[0], f"corpus.paths=[{p}]", "cluster.shards=3") == 2
    assert capsys.readouterr().err.strip() == f"error: {p}:1001: bytes are not valid utf-8; set the right " \
                                              f"encoding or errors: replace"


def test_training_is_deterministic_whatever_the_cluster(reference, tmp_path, capsys):
    """The module's cluster by address, then a LocalCluster that the command starts and stops (its dashboard
    link printed): same vectors."""
    out, expected, m = reference
    assert m["loss"][1] < m["loss"][0] and m["cluster"]["shards"] == 2 and m["cluster"]["reruns"] == 0
    assert m["cluster"]["rounds_per_epoch"] == 5 and sum(m["cluster"]["shard_words"]) == m["trained_words"]
    assert all(b > 0 for b in m["cluster"]["model_bytes_per_epoch"] + m["cluster"]["pair_bytes_per_epoch"])
    V = m["vocab_size"]       # every epoch sends each worker the sub-sampling, bucket and noise tables (>= 8V bytes)
    assert all(b >= 8 * V * m["cluster"]["workers"] for b in m["cluster"]["table_bytes_per_epoch"])
    assert len(m["cluster"]["table_bytes_per_epoch"]) == len(m["cluster"]["model_bytes_per_epoch"])
    kv = KeyedVectors.load_word2vec_format(str(out / "vectors.bin"), binary=True)
    assert len(kv) == m["vocab_size"] and np.isfinite(kv.vectors).all()
    capsys.readouterr()
    assert train(tmp_path / "local", "local", "cluster.workers=2", quiet=False) == 0
    assert "cluster: a local cluster, 2 workers, 2 threads; dashboard http://" in capsys.readouterr().err
    assert (tmp_path / "local" / "vectors.bin").read_bytes() == expected
    assert train(tmp_path / "seed2", reference[2]["cluster"]["address"], "train.seed=2") == 0
    assert (tmp_path / "seed2" / "vectors.bin").read_bytes() != expected


def test_the_epoch_loss_is_the_one_process_loss(reference, tmp_path):
    """Summed over every task's pairs: within 2% of one process's per-pair loss in each epoch (the same model and
    schedule; only the order of the pairs and the noise words' buckets differ)."""
    assert train(tmp_path / "one", "null") == 0
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert one["pairs"] and reference[2]["loss"] == pytest.approx(one["loss"], rel=0.02)


def test_ctrl_c_between_rounds_then_resume_gives_the_same_bytes(cluster, reference, tmp_path, monkeypatch):
    out = tmp_path / "run"
    monkeypatch.setenv(TEST_HOOK, "3")                     # the 3rd round's end: mid epoch 1
    assert train(out, cluster[0]) == 130 and (out / "checkpoint.npz").is_file()
    monkeypatch.setenv(TEST_HOOK, "4:TERM")                # 4 rounds later: inside epoch 2
    assert train(out, cluster[0], "--resume") == 130
    monkeypatch.delenv(TEST_HOOK)
    assert train(out, cluster[0], "--resume") == 0 and not (out / "checkpoint.npz").exists()
    assert (out / "vectors.bin").read_bytes() == reference[1]


def test_a_worker_killed_mid_epoch_costs_a_retry_not_the_run(cluster, reference, tmp_path, monkeypatch, capsys):
    """A task of round 3 of epoch 1 ends its own worker process; the task runs again elsewhere (the shards
    that worker held are read again from their lineage) and the run ends with the vectors of an undisturbed
    run. Last in the module: the nanny restarts the worker."""
    marker = tmp_path / "kill-once"
    marker.touch()
    monkeypatch.setenv(TEST_KILL_HOOK, str(marker))
    out = tmp_path / "killed"
    assert train(out, cluster[0]) == 0
    assert not marker.exists()                             # the hook fired
    m = json.loads((out / "metrics.json").read_text())
    assert m["cluster"]["reruns"] >= 1 and m["cluster"]["reruns_per_epoch"][0] >= 1
    assert "re-run" in capsys.readouterr().err
    assert (out / "vectors.bin").read_bytes() == reference[1]


def test_unreachable_scheduler_is_one_line_and_no_dask_on_the_one_process_path(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                          # free once closed: nobody listens there
    env = dict(os.environ, DASK_PIPELINE__CONNECT_TIMEOUT="1s")
    res = subprocess.run([sys.executable, "-m", "pipeline", "--quiet", "train-embeddings", "--set",
                          f"cluster.address=tcp://127.0.0.1:{port}", "--set", f"output.dir={tmp_path}"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in res.stderr
    code = ("import sys; from pipeline.cli import run, build_parser; from pipeline.cluster import connect; "
            "from pipeline.config import ClusterConfig; import pipeline.embeddings.train, pipeline.classifier.train\n"
            "with connect(ClusterConfig()) as c: assert c is None\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


@pytest.mark.parametrize("override, message", [
    ("cluster.address=not an address", "cluster.address"),
    ("cluster.workers=0", "cluster.workers"),
    ("cluster.sync_words=0", "cluster.sync_words"),
    ("cluster.shards=-1", "cluster.shards"),
    ("cluster.adress=local", "did you mean 'cluster.address'")])
def test_bad_cluster_settings_name_the_key(override, message):
    from pipeline.config import ConfigError, RNNConfig
    with pytest.raises(ConfigError, match=message):
        load_config(EmbeddingsConfig, None, [override])
    with pytest.raises(ConfigError, match=message):       # the same section in stage two's config
        load_config(RNNConfig, None, [override])
