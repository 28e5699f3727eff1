"""Stage one's corpus on a cluster: shards read, tokenised and counted on the workers, the vocabulary merged
on the driver, each shard encoded where it was read and kept there for training.

The result is the corpus that `corpus.encode_corpus` builds in one process, cut into pieces: the same
vocabulary (words, counts, order) and, shard after shard, the same int32 tokens and sentences.

- A shard is a list of `text.ByteRange` pieces (pipeline/cluster.py plans them); shards are contiguous and
  in corpus order, so their lines, read in shard order, are the corpus's lines in order.
- `read_shard` gives every token of its lines a shard-local id in order of first appearance and keeps
  the ids and line lengths (cut at max_sentence_length as one process cuts them); `shard_counts` returns
  the local words in that order with their counts.
- `merge_counts` walks the shards in order: a word's global first appearance is its first appearance in
  the first shard that holds it, and its count is the sum over shards, exactly as one pass over the whole
  corpus counts; then `Vocab.from_counts` cuts (min_count, max_vocab_size) and orders it as gensim.
- `encode_shard` maps local ids to vocabulary rows, drops words outside the vocabulary and the sentences
  they empty, as corpus.py does: tokens int32 (n,) and sentence offsets int64 (S + 1,).

The worker functions take and return plain values; Dask (pipeline/embeddings/distributed.py) calls them.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..text import ReadStats, iter_sentences
from ..vocab import Vocab
from .corpus import _AutoId


@dataclass
class ShardText:
    """One shard read: every token as a shard-local id (first appearance order), kept on its worker."""
    words: list               # local id -> word
    ids: np.ndarray           # (tokens,) int32 local ids
    lengths: np.ndarray       # (sentences,) int32 tokens per sentence (empty lines included)
    lines: int
    replaced_lines: int


@dataclass
class EncodedShard:
    """One shard encoded with the final vocabulary, kept on its worker: sentence s is
    tokens[offsets[s]:offsets[s + 1]] (no empty sentence)."""
    tokens: np.ndarray        # (n,) int32 vocabulary rows
    offsets: np.ndarray       # (S + 1,) int64


def read_shard(pieces, tokenizer, corpus_cfg) -> ShardText:
    """Read and tokenise the lines of `pieces` (ByteRanges) as corpus.py reads whole files."""
    stats = ReadStats()
    index = _AutoId()
    ids_of = index.__getitem__
    ids, lengths = array("i"), array("i")
    for tokens in iter_sentences(pieces, tokenizer, corpus_cfg.encoding, corpus_cfg.errors,
                                 corpus_cfg.max_sentence_length, stats):
        ids.extend(map(ids_of, tokens))
        lengths.append(len(tokens))
    return ShardText(list(index), np.frombuffer(ids, np.int32).copy(), np.frombuffer(lengths, np.int32).copy(),
                     stats.lines, stats.replaced_lines)


def shard_counts(text: ShardText) -> tuple:
    """(local words in first-appearance order, their counts int64, lines, replaced lines): the shard's map."""
    return text.words, np.bincount(text.ids, minlength=len(text.words)).astype(np.int64), text.lines, \
        text.replaced_lines


def merge_counts(parts, vocab_cfg, paths) -> tuple[Vocab, list, int]:
    """The reduce: (vocabulary, per shard an int32 map local id -> vocabulary row or -1, corpus words) from
    the shards' `shard_counts` in shard order (see the module docstring)."""
    index: dict[str, int] = {}
    positions = []
    for words, _, _, _ in parts:
        positions.append(np.fromiter((index.setdefault(w, len(index)) for w in words), np.int64, len(words)))
    counts = np.zeros(len(index), np.int64)
    for pos, (_, c, _, _) in zip(positions, parts):
        counts[pos] += c                                   # a shard lists each word once
    if not len(counts):
        raise UserError(f"the corpus is empty: no tokens in {', '.join(map(str, paths))}; check corpus.paths")
    vocab, old_to_new = Vocab.from_counts(list(index), counts, vocab_cfg.min_count, vocab_cfg.max_vocab_size)
    if len(vocab) == 0:
        raise UserError(f"every word occurs fewer than min_count={vocab_cfg.min_count} times "
                        f"(most frequent: {int(counts.max())}); lower vocab.min_count")
    return vocab, [old_to_new[pos] for pos in positions], int(counts.sum())


def kept_tokens(part, local_to_row) -> int:
    """Tokens of a shard that its encoding keeps (its words in the vocabulary), from its counts."""
    return int(part[1][local_to_row >= 0].sum())


def encode_shard(text: ShardText, local_to_row: np.ndarray) -> EncodedShard:
    """Vocabulary rows of the shard's tokens, out-of-vocabulary words and emptied sentences dropped."""
    rows = local_to_row[text.ids]
    keep = rows >= 0
    raw = np.zeros(len(text.lengths) + 1, np.int64)
    np.cumsum(text.lengths, out=raw[1:])
    kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    offsets = kept_before[raw]                             # each raw sentence start, in kept tokens
    nonempty = np.ones(len(offsets), bool)
    nonempty[1:] = offsets[1:] != offsets[:-1]
    return EncodedShard(rows[keep].astype(np.int32), offsets[nonempty])


def slice_bounds(shard: EncodedShard, rounds: int) -> np.ndarray:
    """(2, rounds + 1) int64: the sentence ids cutting the shard into `rounds` slices of about equal tokens
    (whole sentences; a short shard may have empty slices), and the token offsets of those sentences."""
    n = int(shard.offsets[-1])
    targets = np.arange(rounds + 1, dtype=np.int64) * n // rounds
    sentences = np.searchsorted(shard.offsets, targets).astype(np.int64)
    return np.stack([sentences, shard.offsets[sentences]])
