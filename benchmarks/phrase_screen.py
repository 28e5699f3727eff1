"""Screen of a stage-one lever: frequent phrases joined into single tokens before stage one (gensim's `Phrases`).

Writes phrase-joined copies of stage one's text and of MR, so that the classification report can run on them
unchanged: stage one learns a vector for `new_york`, and stage two's tokenizer (the regular expression saved
beside the vectors keeps `_` inside a word) reads MR sentences in which the same pairs are joined.

    .venv/bin/python benchmarks/report_classification.py --embeddings-config configs/bench-report-embeddings.yaml \\
        --movie-reviews '../shared/data/corpora/nltk-en-7.4m/movie_reviews_*.txt.gz' \\
        --mr ../shared/data/classification/MR --sst2 ../shared/data/classification/SST2 --prepare-only
    .venv/bin/python benchmarks/phrase_screen.py --out runs/phrases \\
        --text ../shared/data/corpora/en-mixed-7.7m.txt.gz '../shared/data/corpora/nltk-en-7.4m/[!m]*.txt.gz' \\
               data/report/movie_reviews-filtered.txt.gz --mr ../shared/data/classification/MR
    .venv/bin/python benchmarks/report_classification.py ... --mr runs/phrases/MR --datasets MR \\
        --set-vectors "corpus.paths=['runs/phrases/text.txt.gz']" --set-vectors output.dir=runs/emb-phrases

The phrase table is learnt from the unlabelled text only (the movie-review text already without any MR or SST-2
sentence), with gensim's defaults (min_count 5, threshold 10, the original word2vec scorer) on the tokens of the
stage-one config's tokenizer. Pairs whose parts are not both words (punctuation) are left apart, so that the
joined text tokenizes back to the same tokens. This is a screen: the product does not join phrases (a phrase
table beside the vectors, read by train-rnn and predict, would be needed first).
"""
from __future__ import annotations

import argparse
import gzip
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.atomicio import atomic_path, atomic_write_bytes  # noqa: E402
from pipeline.config import EmbeddingsConfig, load_config  # noqa: E402
from pipeline.text import Tokenizer, iter_sentences, resolve_paths  # noqa: E402

WORD = re.compile(r"^\w+(?:'\w+)*$")


def learn(paths, tokenizer, min_count, threshold):
    from gensim.models.phrases import Phrases
    phrases = Phrases(iter_sentences(paths, tokenizer), min_count=min_count, threshold=threshold, delimiter="_")
    frozen = phrases.freeze()
    # keep only word + word: "(_)" or ",_and" would not tokenize back to the same tokens
    frozen.phrasegrams = {k: v for k, v in frozen.phrasegrams.items() if all(WORD.match(p) for p in k.split("_"))}
    return frozen


def joined_lines(frozen, sentences, counts):
    """Each token list with its phrases joined, as a line; counts[0] += tokens, counts[1] += pairs joined."""
    for sentence in sentences:
        new = frozen[sentence]
        counts[0] += len(sentence)
        counts[1] += len(sentence) - len(new)
        yield " ".join(new)


def report(where, counts):
    tokens, joined = counts
    print(f"phrases: {where}: {tokens:,} tokens, {joined:,} pairs joined ({100 * joined / max(tokens, 1):.1f}%)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text", nargs="+", required=True, help="stage one's text, in its order (files or globs)")
    p.add_argument("--mr", required=True, help="the MR folder (rt-polarity.pos / .neg, cp1252)")
    p.add_argument("--out", default="runs/phrases")
    p.add_argument("--config", default="configs/bench-report-embeddings.yaml", help="whose tokenizer to use")
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--threshold", type=float, default=10.0)
    args = p.parse_args(argv)

    cfg = load_config(EmbeddingsConfig, args.config, [])
    tokenizer = Tokenizer.from_config(cfg.tokenizer)
    paths = resolve_paths(args.text)
    out = Path(args.out)   # atomic_path makes the folders

    t0 = time.perf_counter()
    frozen = learn(paths, tokenizer, args.min_count, args.threshold)
    print(f"phrases: {len(frozen.phrasegrams):,} pairs learnt from {len(paths)} files in {time.perf_counter() - t0:.0f} s")
    top = sorted(frozen.phrasegrams.items(), key=lambda kv: -kv[1])[:15]
    print("phrases: highest scores:", ", ".join(k for k, _ in top))

    counts = [0, 0]
    with atomic_path(out / "text.txt.gz") as tmp, gzip.open(tmp, "wt", encoding="utf-8") as f:
        for line in joined_lines(frozen, iter_sentences(paths, tokenizer), counts):
            f.write(line + "\n")
    report(out / "text.txt.gz", counts)

    counts = [0, 0]
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        lines = (Path(args.mr) / name).read_bytes().decode("cp1252").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        new_lines = list(joined_lines(frozen, map(tokenizer, lines), counts))
        atomic_write_bytes(out / "MR" / name, ("\n".join(new_lines) + "\n").encode("cp1252"))
    report(out / "MR", counts)


if __name__ == "__main__":
    main()
