"""Parity with gensim 4.4's skip-gram: the same vocabulary, sampling tables, vector files and
quality, each checked through the path a real run takes (encoded corpus, driver tables, files on disk).

Already covered elsewhere, not repeated here:
* vocabulary of token lists vs `build_vocab` (several min_count): tests/test_text_vocab.py;
* `keep_probabilities` vs gensim's `sample_int` and `noise_probabilities` vs `cum_table`, on gensim's
  vocabulary: tests/test_sampling.py. Here: the tables the DRIVER builds from an encoded corpus file;
* evaluator vs `evaluate_word_pairs` / `evaluate_word_analogies` on gensim-trained vectors (1e-6 and
  question by question): tests/test_evaluate.py.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors, Word2Vec

from pipeline.config import EmbeddingsConfig, load_config
from pipeline.embeddings.corpus import encode_corpus
from pipeline.embeddings.evaluate import evaluate_all
from pipeline.embeddings.sampling import alias_table, keep_probabilities, keep_thresholds, noise_probabilities
from pipeline.embeddings.train import train_embeddings
from pipeline.text import Tokenizer
from pipeline.vectors import load_vectors

LEE = "gensim:lee_background.cor"
# the side-by-side benchmark's mapping of our config onto gensim's arguments and its prepared plain corpus
_spec = importlib.util.spec_from_file_location(
    "compare_gensim", Path(__file__).resolve().parents[1] / "benchmarks" / "compare_gensim.py")
compare_gensim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_gensim)
gensim_arguments, prepare_plain_corpus = compare_gensim.gensim_arguments, compare_gensim.prepare_plain_corpus


def config(tmp_path, *overrides):
    return load_config(EmbeddingsConfig, None, [f"corpus.cache_dir={tmp_path / 'cache'}",
                                                 f"output.dir={tmp_path / 'run'}", *overrides])


def gensim_vocab_model(cfg, tmp_path, **extra):
    """gensim's build_vocab on the plain file of our tokens (the file compare-gensim feeds it)."""
    plain, _ = prepare_plain_corpus(cfg, tmp_path)
    model = Word2Vec(**{**gensim_arguments(cfg, workers=1), **extra})
    model.build_vocab(corpus_file=str(plain))
    return model


# ---------------------------------------------------------------------------------------------------
# (1) vocabulary of the encoded corpus
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("min_count", [1, 2, 5, 20])
def test_encoded_vocabulary_equals_gensims(tmp_path, min_count):
    cfg = config(tmp_path, f"corpus.paths=[{LEE}]", f"vocab.min_count={min_count}")
    ours = encode_corpus(cfg.corpus, Tokenizer.from_config(cfg.tokenizer), cfg.vocab)
    model = gensim_vocab_model(cfg, tmp_path)
    assert ours.vocab.words == model.wv.index_to_key
    assert ours.vocab.counts.tolist() == [model.wv.get_vecattr(w, "count") for w in ours.vocab.words]
    assert ours.corpus_words == model.corpus_total_words


def test_max_vocab_size_vs_gensim_max_final_vocab(tmp_path):
    """Ours keeps exactly N words; gensim's max_final_vocab drops every word tied at the cut. Without a
    tie at the cut both keep the same N words."""
    cfg = config(tmp_path, f"corpus.paths=[{LEE}]", "vocab.min_count=1")
    full = encode_corpus(cfg.corpus, Tokenizer(), cfg.vocab).vocab.counts
    no_tie = next(n for n in range(300, 1000) if full[n - 1] != full[n])
    tie = next(n for n in range(300, 1000) if full[n - 1] == full[n])
    for n in (no_tie, tie):
        cfg_n = config(tmp_path, f"corpus.paths=[{LEE}]", "vocab.min_count=1", f"vocab.max_vocab_size={n}")
        ours = encode_corpus(cfg_n.corpus, Tokenizer(), cfg_n.vocab).vocab.words
        theirs = gensim_vocab_model(cfg_n, tmp_path).wv.index_to_key
        assert len(ours) == n
        if n == no_tie:
            assert ours == theirs
        else:
            assert len(theirs) < n and ours[:len(theirs)] == theirs


# ---------------------------------------------------------------------------------------------------
# (2) the driver's sampling tables
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample, ns_exponent", [(1e-3, 0.75), (0.00001, 0.75), (0.0, 0.5), (0.0001, 1.0)])
def test_driver_tables_equal_gensims(tmp_path, sample, ns_exponent):
    """The tables train.py builds from the encoded corpus (same calls) against gensim's on the same file."""
    cfg = config(tmp_path, f"corpus.paths=[{LEE}]", "vocab.min_count=2", f"train.sample={sample:f}",
                 f"train.ns_exponent={ns_exponent}")
    vocab = encode_corpus(cfg.corpus, Tokenizer(), cfg.vocab).vocab
    model = gensim_vocab_model(cfg, tmp_path)
    assert vocab.words == model.wv.index_to_key
    # keep: the kernel keeps a word when a 32-bit draw r <= threshold, as gensim with sample_int
    keep_threshold = keep_thresholds(keep_probabilities(vocab.counts, cfg.train.sample))
    sample_int = model.wv.expandos["sample_int"].astype(np.int64)
    assert np.abs(keep_threshold.astype(np.int64) - sample_int).max() <= 1
    # noise: the distribution the alias table realises, against gensim's cum_table differences
    alias_prob, alias_index = alias_table(noise_probabilities(vocab.counts, cfg.train.ns_exponent))
    V = len(vocab)
    realised = alias_prob.copy()
    np.add.at(realised, alias_index, 1.0 - alias_prob)
    realised /= V
    cum = model.cum_table.astype(np.float64)
    gensim_probs = np.diff(np.concatenate([[0.0], cum])) / cum[-1]
    np.testing.assert_allclose(realised, gensim_probs, rtol=1e-5, atol=2 ** -30)   # rare words too


# ---------------------------------------------------------------------------------------------------
# (3) vector files, through real training runs on both sides
# ---------------------------------------------------------------------------------------------------
def test_vector_files_cross_read(tmp_path):
    cfg = config(tmp_path, f"corpus.paths=[{LEE}]", "vocab.min_count=3", "train.epochs=1",
                 "train.vector_size=24", "train.workers=1", "output.write_text=true", "output.evaluate=false")
    out = train_embeddings(cfg).out
    ours_bin, ours_txt = load_vectors(out / "vectors.bin"), load_vectors(out / "vectors.txt")
    for path, binary in ((out / "vectors.bin", True), (out / "vectors.txt", False)):
        kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
        assert kv.index_to_key == ours_bin.words
        assert np.array_equal(kv.vectors, ours_bin.vectors)
    assert np.array_equal(ours_txt.vectors, ours_bin.vectors)

    plain, _ = prepare_plain_corpus(cfg, tmp_path)
    model = Word2Vec(corpus_file=str(plain), **gensim_arguments(cfg, workers=1))
    for name, binary in (("g.bin", True), ("g.txt", False)):
        model.wv.save_word2vec_format(str(tmp_path / name), binary=binary)
        back = load_vectors(tmp_path / name)
        assert back.words == model.wv.index_to_key == ours_bin.words
        assert np.array_equal(back.vectors, model.wv.vectors)


# ---------------------------------------------------------------------------------------------------
# (5) quality against gensim with the same settings
# ---------------------------------------------------------------------------------------------------
QUALITY = ["corpus.paths=[dataset:gensim-wiki, gensim:lee_background.cor]", "vocab.min_count=5",
           "train.vector_size=50", "train.epochs=5", "train.workers=1", "output.evaluate=false"]

# Calibration (benchmarks/calibrate_parity.py 1 2 3 4 5 6, the settings above, 1 worker each side, gensim 4.4.0,
# 2026-11-26): mean +- std over 6 seeds
#   WordSim-353  ours 0.1725 +- 0.0124   gensim 0.1905 +- 0.0122   ours - gensim -0.0181 +- 0.0157 (worst -0.0385)
#   SimLex-999   ours 0.1010 +- 0.0069   gensim 0.1093 +- 0.0068   ours - gensim -0.0083 +- 0.0053 (worst -0.0124)
#   analogy      ours 0.0186 +- 0.0018   gensim 0.0195 +- 0.0013   ours - gensim -0.0009 +- 0.0025 (worst -0.0035)
# Tolerance = 3 std of the per-seed difference (0.047 -> 0.05; 0.0074 -> 0.008).
# Those "ours" figures were measured with word2vec.c's initial scale U[-0.5, 0.5)/D. After switching to gensim's
# U[-1, 1)/D (kernels.init_vectors), ours over the same seeds 1-6 (same settings, 2026-11-26):
#   WordSim-353 0.1840 +- 0.0117   SimLex-999 0.1058 +- 0.0072   analogy 0.0205 +- 0.0020
# i.e. within 0.007 of gensim's means on every score (analogy above). Also tried: skipping the update when
# |u.v| >= 6 as gensim's Cython does: WordSim-353 0.1843, SimLex-999 0.1057, analogy 0.0205: no difference, so
# the kernel keeps the exact gradient.
TOLERANCE = {"wordsim353": 0.05, "analogy": 0.008}


def quality_pair(tmp_path, seed):
    """(our scores, gensim's scores) for one seed on the same tokens and settings."""
    cfg = config(tmp_path, *QUALITY, f"train.seed={seed}", f"output.dir={tmp_path / f'ours-{seed}'}")
    ours = evaluate_all(*_words_vectors(load_vectors(train_embeddings(cfg).out / "vectors.bin")))
    plain, _ = prepare_plain_corpus(cfg, tmp_path)
    model = Word2Vec(corpus_file=str(plain), **gensim_arguments(cfg, workers=1))
    theirs = evaluate_all(model.wv.index_to_key, model.wv.vectors)
    return ours, theirs


def _words_vectors(wv):
    return wv.words, wv.vectors


@pytest.mark.parametrize("seed", [1])
def test_quality_no_worse_than_gensim(tmp_path, seed):
    ours, theirs = quality_pair(tmp_path, seed)
    for key, tol in TOLERANCE.items():
        assert ours[key] >= theirs[key] - tol, (key, ours[key], theirs[key], tol)


@pytest.mark.slow
def test_quality_mean_over_three_seeds_within_target(tmp_path):
    """The target: over 3 seeds, our mean within 0.01 of gensim's mean (or above) on every score."""
    pairs = [quality_pair(tmp_path, seed) for seed in (1, 2, 3)]
    for key in ("wordsim353", "simlex999", "analogy"):
        ours = np.mean([o[key] for o, _ in pairs])
        theirs = np.mean([g[key] for _, g in pairs])
        assert ours >= theirs - 0.01, (key, ours, theirs)
