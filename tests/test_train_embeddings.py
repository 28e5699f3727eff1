"""Stage one end to end through the real CLI, on the Lee corpus that ships with gensim."""
import json

import numpy as np
import pytest
import yaml
from gensim.models import KeyedVectors

from pipeline.cli import main
from pipeline.vectors import load_vectors

TINY = ["corpus.paths=[gensim:lee_background.cor]", "vocab.min_count=3", "train.epochs=3",
        "train.vector_size=32", "output.evaluate=false"]


def train(tmp_path, name, *extra, workers=1):
    out = tmp_path / name
    args = ["--quiet", "train-embeddings"]
    for s in TINY + [f"output.dir={out}", f"corpus.cache_dir={tmp_path / 'cache'}",
                     f"train.workers={workers}", *extra]:
        args += ["--set", s]
    return main(args), out


def test_outputs_metrics_and_gensim_interop(tmp_path):
    code, out = train(tmp_path, "run", "output.write_text=true")
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    for key in ("vocab_size", "corpus_words", "epochs", "loss", "words_per_second", "seconds"):
        assert key in m
    assert m["epochs"] == 3 and len(m["loss"]) == 3
    assert m["loss"][-1] < m["loss"][0]                     # the loss falls
    assert m["corpus_words"] == 59890                       # whitespace tokens of lee_background.cor
    kv = KeyedVectors.load_word2vec_format(str(out / "vectors.bin"), binary=True)
    ours = load_vectors(out / "vectors.txt")
    assert kv.index_to_key == ours.words and len(ours) == m["vocab_size"]
    assert np.allclose(kv.vectors, ours.vectors, atol=1e-6)
    vocab = [line.split("\t")[0] for line in (out / "vocab.tsv").read_text().splitlines()]
    assert vocab == ours.words
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 3 and saved["vocab"]["min_count"] == 3
    assert not (out / "checkpoint.npz").exists()
    assert not list(out.glob(".*.tmp"))                      # no temporary files left behind


def test_same_seed_one_worker_identical_bytes(tmp_path):
    assert train(tmp_path, "a")[0] == 0
    assert train(tmp_path, "b")[0] == 0
    assert train(tmp_path, "c", "train.seed=2")[0] == 0
    a, b, c = ((tmp_path / n / "vectors.bin").read_bytes() for n in "abc")
    assert a == b
    assert a != c


def test_two_workers_train_sensible_vectors(tmp_path):
    code, out = train(tmp_path, "w2", workers=2)
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["workers"] == 2 and all(np.isfinite(m["loss"])) and m["loss"][-1] < m["loss"][0]


@pytest.mark.parametrize("override, message", [
    ("corpus.paths=[/nonexistent/file.txt]", "file not found"),
    ("vocab.min_count=100000", "min_count"),
    ("train.epochz=1", "did you mean 'train.epochs'"),
    ("train.window=0", "train.window"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, override, message):
    code, out = train(tmp_path, "bad", override)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    assert not (out / "vectors.bin").exists()


def test_nan_loss_stops_with_advice(tmp_path, capsys, monkeypatch):
    """A diverging run (simulated: NaN in the initial vectors) stops with advice, writes no vectors."""
    import pipeline.embeddings.train as driver
    real_init = driver.init_vectors

    def poisoned(V, D, seed):
        W = real_init(V, D, seed)
        W[:] = np.nan
        return W

    monkeypatch.setattr(driver, "init_vectors", poisoned)
    code, out = train(tmp_path, "nan")
    err = capsys.readouterr().err
    assert code == 2 and "NaN" in err and "lower train.alpha" in err
    assert not (out / "vectors.bin").exists()


def test_alpha_schedules():
    """linear: one line over all epochs. gensim: each epoch advances the line by 1/workers of an epoch
    (gensim 4's corpus_file mode: get_next_alpha with each worker's own word count over the epoch's),
    so epoch e runs from (e / E) to (e + 1/W) / E and the next starts lower; with one worker they agree."""
    from pipeline.config import SGNSConfig
    from pipeline.embeddings.train import _alpha
    lin = SGNSConfig(alpha=0.025, min_alpha=0.0001, epochs=5)
    gen = SGNSConfig(alpha=0.025, min_alpha=0.0001, epochs=5, alpha_schedule="gensim")
    line = lambda progress: 0.025 - (0.025 - 0.0001) * progress
    N = 1000
    for e in range(5):
        for w in (0, 250, 1000):
            assert _alpha(lin, e, w, N, 2) == pytest.approx(line((e + w / N) / 5))
            assert _alpha(gen, e, w, N, 1) == _alpha(lin, e, w, N, 1)
            assert _alpha(gen, e, w, N, 2) == pytest.approx(line((e + w / N / 2) / 5))
    assert _alpha(gen, 4, N, N, 2) == pytest.approx(0.00259)      # gensim ends at 0.0026, not min_alpha
    assert _alpha(gen, 1, 0, N, 2) < _alpha(gen, 0, N, N, 2)       # the drop at an epoch's start


def test_gensim_schedule_reaches_the_kernel(tmp_path, monkeypatch):
    """The driver hands the kernel each chunk's rates from the chosen schedule and records the option."""
    from pipeline.embeddings import train as train_mod
    real, seen = train_mod.sgns_train_parallel, []

    def spy(*args):
        if len(args[0]) > 2:                            # not the warm-up's call on a two-word table
            seen.append(args[-3:-1])                    # (alpha at the chunk's start, at its end)
        return real(*args)

    monkeypatch.setattr(train_mod, "sgns_train_parallel", spy)
    code, out = train(tmp_path, "g", "train.alpha_schedule=gensim", "train.chunk_words=20000", workers=2)
    assert code == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["alpha_schedule"] == "gensim"
    per_epoch = len(seen) // 3
    line = lambda progress: 0.025 - (0.025 - 0.0001) * progress
    assert seen[0][0] == pytest.approx(0.025)
    assert seen[per_epoch - 1][1] == pytest.approx(line(0.5 / 3))     # epoch 1 ends halfway down its share
    assert seen[per_epoch][0] == pytest.approx(line(1 / 3))           # epoch 2 starts where linear would
    assert seen[-1][1] == pytest.approx(line(2.5 / 3))


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_chunk_plan_gives_each_thread_its_own_contiguous_part(parts):
    """Thread t walks part t (about 1/parts of the tokens) in pieces of about chunk_words / parts tokens,
    as word2vec.c's and gensim's corpus_file threads each read their own share of the file."""
    from pipeline.embeddings.train import chunk_plan
    lengths = np.random.default_rng(parts).integers(1, 40, 3000)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    n, S, chunk_words = int(offsets[-1]), len(lengths), 5000
    plan = chunk_plan(offsets, chunk_words, parts)                 # (chunks, parts, 2)
    assert plan.shape[1:] == (parts, 2) and plan.dtype == np.int64
    lo, hi = plan[:, :, 0], plan[:, :, 1]
    assert (lo <= hi).all() and lo[0, 0] == 0 and hi[-1, -1] == S
    assert (lo[1:] == hi[:-1]).all()                               # each part's pieces follow one another
    assert (lo[0, 1:] == hi[-1, :-1]).all()                        # part t + 1 starts where part t ends
    part_tokens = offsets[hi[-1]] - offsets[lo[0]]
    assert np.abs(part_tokens - n / parts).max() < 40              # equal parts, to a sentence
    piece_tokens = offsets[hi] - offsets[lo]
    assert np.abs(piece_tokens[:-1] - chunk_words // parts).max() < 40
    if parts == 1:                                                 # consecutive chunks, as before
        assert len(plan) == -(-n // chunk_words)


def test_two_workers_walk_their_own_halves(tmp_path, monkeypatch):
    """Over an epoch, thread 0 trains exactly the first half of the encoded corpus and thread 1 the second,
    each in corpus order, one piece per kernel call."""
    from pipeline.embeddings import train as train_mod
    real, seen = train_mod.sgns_train_parallel, {0: [], 1: []}

    def spy(W_in, W_out, loss, words, pairs, tokens, starts, *rest):
        thread_bounds = rest[3]
        for t in (0, 1):
            seen[t].append(tokens[starts[thread_bounds[t]]:starts[thread_bounds[t + 1]]].copy())
        return real(W_in, W_out, loss, words, pairs, tokens, starts, *rest)

    monkeypatch.setattr(train_mod, "sgns_train_parallel", spy)
    monkeypatch.setattr(train_mod, "_warm_up", lambda run: None)      # its tiny compile call is not the corpus
    code, out = train(tmp_path, "halves", "train.epochs=1", "train.chunk_words=8000", workers=2)
    assert code == 0
    from pipeline.config import EmbeddingsConfig, load_config
    from pipeline.embeddings.corpus import encode_corpus
    from pipeline.text import Tokenizer
    cfg = load_config(EmbeddingsConfig, None, [*TINY, f"corpus.cache_dir={tmp_path / 'cache'}"])
    corpus = encode_corpus(cfg.corpus, Tokenizer.from_config(cfg.tokenizer), cfg.vocab)
    tokens = np.asarray(corpus.tokens)
    first, second = np.concatenate(seen[0]), np.concatenate(seen[1])
    assert len(seen[0]) > 3 and abs(len(first) - len(tokens) / 2) < 1000   # lee: lines of up to ~1000 words
    assert np.array_equal(np.concatenate([first, second]), tokens)
    corpus.close()
