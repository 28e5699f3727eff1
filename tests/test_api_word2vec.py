"""pipeline.Word2Vec: the same vectors as `pipeline train-embeddings` for the same config and seed (one worker),
from token lists and from files; keyword options checked as the YAML loader checks them; the run directory
saved and loaded; gensim's names on the model and its vectors (analogies against gensim's KeyedVectors)."""
import gc

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV
from gensim.test.utils import datapath

from pipeline import UserError, Word2Vec
from pipeline.cli import main

LEE = datapath("lee_background.cor")
SMALL = dict(vector_size=16, min_count=3, epochs=2, workers=1, seed=3, evaluate=False, cache_dir=None)


def lee_sentences():
    """Lee's lines as token lists, a generator (read once): what a gensim user would pass."""
    with open(LEE, encoding="utf-8") as f:
        for line in f:
            yield line.split()


@pytest.fixture(scope="module")
def from_file():
    return Word2Vec(corpus_file=LEE, **SMALL)


def test_same_vectors_as_the_command_from_files_and_from_token_lists(tmp_path, from_file):
    sets = ["corpus.paths=[gensim:lee_background.cor]", "train.vector_size=16", "vocab.min_count=3",
            "train.epochs=2", "train.workers=1", "train.seed=3", "output.evaluate=false", "corpus.cache_dir=null",
            f"output.dir={tmp_path / 'cli'}"]
    assert main(["--quiet", "train-embeddings", *[a for s in sets for a in ("--set", s)]]) == 0
    cli = GensimKV.load_word2vec_format(str(tmp_path / "cli" / "vectors.bin"), binary=True)
    from_lists = Word2Vec(sentences=lee_sentences(), **SMALL)
    for model in (from_file, from_lists):
        assert model.wv.index_to_key == cli.index_to_key
        assert model.wv.vectors.tobytes() == cli.vectors.tobytes()
    # lower-cased as a file's lines are: upper-case token lists give the same vectors
    shouted = Word2Vec(sentences=[[t.upper() for t in s] for s in lee_sentences()], **SMALL)
    assert shouted.wv.vectors.tobytes() == cli.vectors.tobytes()
    kept = Word2Vec(sentences=[["The", "Cat"], ["the", "cat"]], min_count=1, lowercase=False, epochs=1,
                    vector_size=4, workers=1, evaluate=False)
    assert sorted(kept.wv.index_to_key) == ["Cat", "The", "cat", "the"]


def test_model_attributes_history_and_evaluation(from_file):
    m = from_file
    assert (m.vector_size, m.window, m.min_count, m.epochs) == (16, 5, 3, 2)      # gensim's attribute names
    assert [h["epoch"] for h in m.history] == [1, 2] and m.history[1]["loss"] < m.history[0]["loss"]
    assert m.metrics["vocab_size"] == len(m.wv) and m.output_dir is None
    assert m.wv.tokenizer.lowercase is True
    scores = m.evaluate()
    assert {"wordsim353.tsv", "simlex999.txt", "questions-words.txt"} == set(scores)
    assert -1 <= scores["wordsim353.tsv"]["spearman"] <= 1


def test_analogies_and_neighbours_as_gensim(tmp_path, from_file):
    wv = from_file.wv
    wv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    kv = GensimKV.load_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    for positive, negative in ((["government"], []), (["australia", "police"], ["man"]), ("fire", None)):
        ours = wv.most_similar(positive=positive, negative=negative, topn=8)
        theirs = kv.most_similar(positive=positive, negative=negative, topn=8)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)
    assert wv.similarity("fire", "police") == pytest.approx(float(kv.similarity("fire", "police")), abs=1e-6)


def test_run_directory_written_saved_and_loaded(tmp_path):
    model = Word2Vec(sentences=lee_sentences(), output_dir=tmp_path / "run", **SMALL)
    assert model.output_dir == tmp_path / "run"
    assert {"vectors.bin", "vocab.tsv", "config.yaml", "metrics.json"} <= {f.name for f in (tmp_path / "run").iterdir()}
    model.save(tmp_path / "copy")
    back = Word2Vec.load(tmp_path / "copy")
    assert back.wv.index_to_key == model.wv.index_to_key and np.array_equal(back.wv.vectors, model.wv.vectors)
    assert back.config.output.dir == str(tmp_path / "copy") and back.config.train == model.config.train
    assert back.metrics["loss"] == model.metrics["loss"]
    with pytest.raises(UserError, match="no vectors.bin"):
        Word2Vec.load(tmp_path / "nothing")
    (tmp_path / "copy" / "history.csv").write_text("epoch,loss,words_per_second\n1,3.5,1000.5\n2,2.9,1200\n")
    assert back.history == [{"epoch": 1, "loss": 3.5, "words_per_second": 1000.5},
                            {"epoch": 2, "loss": 2.9, "words_per_second": 1200}]     # a run's table when it has one


def test_temporary_run_directory_goes_with_the_model(tmp_path):
    model = Word2Vec(sentences=[["a", "b", "c"]] * 20, min_count=1, vector_size=4, epochs=1, workers=1,
                     evaluate=False)
    run_dir = model._run_dir
    assert (run_dir / "vectors.bin").is_file() and model.output_dir is None
    model.save(tmp_path / "kept")
    assert Word2Vec.load(tmp_path / "kept").wv.index_to_key == model.wv.index_to_key
    del model
    gc.collect()
    assert not run_dir.exists()


def test_config_then_keywords():
    model = Word2Vec(sentences=[["a", "b", "c"]] * 20, config={"train": {"epochs": 3, "window": 2}}, epochs=1,
                     min_count=1, vector_size=4, workers=1, evaluate=False, sg=1, hs=0)     # gensim's sg, hs
    assert (model.config.train.epochs, model.config.train.window) == (1, 2)


@pytest.mark.parametrize("kwargs, error, needles", [
    (dict(sentences=[["a"]], vector_sise=3), TypeError, ["vector_sise", "did you mean 'vector_size'"]),
    (dict(sentences=[["a"]], vector_size=-3), ValueError, ["vector_size", "positive"]),
    (dict(sentences=[["a"]], sg=0), UserError, ["CBOW", "not implemented"]),
    (dict(sentences=[["a"]], hs=1), UserError, ["hierarchical softmax"]),
    (dict(sentences=[["a"]], window="wide"), ValueError, ["window", "whole number"]),
    (dict(sentences=[["a"]], corpus_file=LEE), UserError, ["not both"]),
    (dict(), UserError, ["nothing to train on"]),
    (dict(sentences=[["a"]], resume=True), UserError, ["output_dir"]),
    (dict(sentences="the cat sat"), UserError, ["corpus_file"]),
    (dict(sentences=["the cat sat", "on the mat"]), UserError, ["sentences[0] is a string"]),
    (dict(sentences=[["a", 3]]), UserError, ["not a string"]),
    (dict(sentences=[["new york", "city"]] * 6), UserError, ["'new york'", "white space"]),
    (dict(sentences=[[], []]), UserError, ["empty"]),
    (dict(corpus_file="/no/such/file.txt"), UserError, ["file not found"]),
])
def test_bad_options_and_input(kwargs, error, needles):
    with pytest.raises(error) as info:
        Word2Vec(**kwargs, workers=1, evaluate=False)
    for needle in needles:
        assert needle in str(info.value)
