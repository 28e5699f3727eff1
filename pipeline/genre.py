"""`gensim-genre`: a labelled sentence set built from text that ships inside gensim (no download).

The demo's classifier needs more than the 200 polarity sentences of gensim's test data (10-fold accuracy at
chance; benchmarks/RESULTS.md, "Demo robustness"). gensim also ships two kinds of English prose, so the
task is: did this passage come from a news report or from an encyclopedia article?

* news: the Lee corpus (`lee_background.cor` and `lee.cor`, Australian news stories, Lee et al. 2005);
* encyclopedia: the Wikipedia sample `make demo` trains stage one on (`dataset:gensim-wiki`).

Both sides are tokenised the same way (gensim's `tokenize`, as WikiCorpus does for the Wikipedia side: lower
case, letters only, 1-30 characters), so punctuation, digits and case cannot give the source away; each
paragraph is cut into consecutive passages of 12-25 words (lengths drawn from a fixed seed; a tail shorter
than 8 words is dropped). Every news passage is kept (about 3,500); as many encyclopedia passages are taken
at evenly spaced places of the Wikipedia sample, and the two classes alternate in the file.

The file, `data/gensim-genre.txt` in fastText format (`__label__news words ...`), is built once (atomically)
and is the same on every machine.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import progress
from .atomicio import atomic_path

NAME = "gensim-genre.txt"
SEED = 0
MIN_WORDS, MAX_WORDS, TAIL = 12, 25, 8      # passage lengths 12..25 words; a shorter tail below 8 is dropped


def build_genre(out: Path, wiki: Path) -> Path:
    """Write the news-vs-encyclopedia set to `out` (unless it is there already); returns out."""
    if out.is_file() and out.stat().st_size > 0:
        return out
    from gensim.test.utils import datapath
    rng = np.random.default_rng(SEED)
    news_lines = _lines(Path(datapath("lee_background.cor")), "utf-8") + _lines(Path(datapath("lee.cor")), "cp1252")
    news = _passages(news_lines, rng)
    wiki_all = _passages(_lines(wiki, "utf-8"), rng)
    picks = np.linspace(0, len(wiki_all) - 1, len(news)).round().astype(np.int64)
    progress.say(f"building {out} (once): {len(news)} news and {len(news)} encyclopedia passages")
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for a, i in zip(news, picks):
            f.write(f"__label__news {a}\n__label__encyclopedia {wiki_all[i]}\n")
    return out


def _lines(path: Path, encoding: str) -> list[str]:
    return path.read_text(encoding=encoding).splitlines()


def _passages(lines: list[str], rng: np.random.Generator) -> list[str]:
    """Consecutive passages of MIN_WORDS..MAX_WORDS tokens of each line, in order."""
    from gensim.utils import tokenize
    out = []
    for line in lines:
        tokens = list(tokenize(line, lower=True))
        tokens = [t for t in tokens if len(t) <= 30]
        i = 0
        while len(tokens) - i >= TAIL:
            n = int(rng.integers(MIN_WORDS, MAX_WORDS + 1))
            out.append(" ".join(tokens[i:i + n]))
            i += n
    return out
