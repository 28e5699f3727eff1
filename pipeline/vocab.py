"""Vocabulary: counts, `min_count`, `max_vocab_size`, frequency order, `vocab.tsv`.

Order is gensim's (`KeyedVectors.sort_by_descending_frequency`): descending count, and among equal counts
the word seen LAST in the corpus comes first (gensim sorts with `lexsort((-first_seen, -count))`). Keeping
gensim's order makes our vocabulary, vectors files and evaluation (which restricts to the most frequent
words) line up with gensim's row for row.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomicio import atomic_path
from .errors import UserError


class Vocab:
    def __init__(self, words, counts):
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    @classmethod
    def from_counts(cls, words, counts, min_count=5, max_vocab_size=None):
        """`words` in order of first appearance with their `counts`; returns (vocab, old_to_new) where
        old_to_new maps each input position to its row in the vocabulary or -1 when dropped."""
        counts = np.asarray(counts, dtype=np.int64)
        first_seen = np.arange(len(counts))
        kept = np.flatnonzero(counts >= min_count)
        order = kept[np.lexsort((-first_seen[kept], -counts[kept]))]
        if max_vocab_size is not None:
            order = order[:max_vocab_size]
        old_to_new = np.full(len(counts), -1, dtype=np.int32)
        old_to_new[order] = np.arange(len(order), dtype=np.int32)
        return cls([words[i] for i in order], counts[order]), old_to_new

    @classmethod
    def build(cls, sentences, min_count=5, max_vocab_size=None):
        """Count words of an iterable of token lists (small corpora and tests)."""
        index: dict[str, int] = {}
        counts: list[int] = []
        for tokens in sentences:
            for w in tokens:
                i = index.setdefault(w, len(index))
                if i == len(counts):
                    counts.append(0)
                counts[i] += 1
        return cls.from_counts(list(index), counts, min_count, max_vocab_size)[0]

    def save(self, path) -> None:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for w, c in zip(self.words, self.counts):
                f.write(f"{w}\t{c}\n")

    @classmethod
    def load(cls, path) -> "Vocab":
        path = Path(path)
        if not path.is_file():
            raise UserError(f"vocabulary file not found: {path}")
        words, counts = [], []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 2 or not parts[1].isdigit():
                    raise UserError(f"{path}:{lineno}: expected 'word<TAB>count'")
                words.append(parts[0])
                counts.append(int(parts[1]))
        return cls(words, counts)
