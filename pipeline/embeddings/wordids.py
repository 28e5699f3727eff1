"""Whitespace tokens of UTF-8 text to provisional word ids, in one Numba pass (the corpus reader's fast path).

`Tokenizer(pattern=None)` splits each line with `str.split()`; reading a corpus that way spends most of its time
in Python (a new str per token and a dict lookup for its id: 4.5 s of a 7.7M-word file's 4.9 s, cProfile). Here
the text's UTF-8 bytes are cut at white space and each token's bytes are looked up in an open-addressing hash
table (FNV-1a 64, linear probing), giving every new word the next id in order of first appearance: the ids,
lines and words `str.split()` and a dict give, without a Python object per token.

White space is str.split()'s: the ASCII bytes 9-13, 28-31 and 32, and the Unicode spaces of `UNICODE_SPACES`,
which the driver turns into " " before encoding (the kernel sees bytes). "\\n" ends a line.

Shapes: data uint8[B] (one block's UTF-8 bytes). The vocabulary so far lives in arrays the driver owns and
grows (`WordTable`): table int64[H] (H a power of two, at most half full; a slot holds a word's hash's high 32 bits
and its id, -1 = empty), word_hash uint64[cap], word_start int64[cap], word_len int32[cap], word_bytes uint8[bytes
cap] (each word's bytes, then b"\\n"); state int64[6] (POS ... BYTES below)."""
from __future__ import annotations

import re

import numpy as np
from numba import njit

# str.split() white space beyond ASCII (str.isspace() of U+0080..U+10FFFF); see tests/test_text_vocab.py
UNICODE_SPACES = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
EMPTY = -1


@njit(cache=True, inline="always")
def _is_space(b):
    return b == 32 or 9 <= b <= 13 or 28 <= b <= 31


# state: int64[6], what split_ids has done so far in a block and in all blocks, updated in place
POS, TOKENS, LINES, LINE_TOKENS, WORDS, BYTES = range(6)
_HIGH = np.uint64(0xFFFFFFFF00000000)
_LOW = np.int64(0xFFFFFFFF)


@njit(cache=True)
def split_ids(data, ids, lengths, table, word_hash, word_start, word_len, word_bytes, state, word_limit):
    """Cut data (uint8[B], lines separated by b"\\n", none at the end) at white space from byte state[POS]; write
    each token's id in ids (int32, capacity >= B // 2 + 1) and each line's token count in lengths (int32,
    capacity >= lines). A table slot holds the word's hash's high 32 bits and its id (low 32 bits), so most
    lookups read one slot; a match is confirmed on the word's bytes.

    Stops early, before adding a word, when the vocabulary reaches `word_limit` words (the driver then grows
    the table and calls again from state[POS]). Returns True when the block is done."""
    B = data.shape[0]
    mask = table.shape[0] - 1
    i = state[POS]
    n_tok, n_lines, line_tokens = state[TOKENS], state[LINES], state[LINE_TOKENS]
    n_words, n_bytes = state[WORDS], state[BYTES]
    done = False
    while True:
        start = i
        while i < B and _is_space(data[i]) and data[i] != 10:
            i += 1
        if i >= B or data[i] == 10:              # end of a line (or of the block: its last line)
            lengths[n_lines] = line_tokens
            n_lines += 1
            line_tokens = 0
            if i >= B:
                done = True
                break
            i += 1
            continue
        a = i
        h = _FNV_OFFSET
        while i < B and not _is_space(data[i]):
            h = (h ^ np.uint64(data[i])) * _FNV_PRIME
            i += 1
        L = i - a
        high = np.int64(h & _HIGH)
        slot = np.int64(h & np.uint64(mask))
        w = -1
        while True:
            entry = table[slot]
            if entry == EMPTY:
                break
            if (entry & ~_LOW) == high:
                c = entry & _LOW
                if word_len[c] == L:
                    s = word_start[c]
                    k = 0
                    while k < L and word_bytes[s + k] == data[a + k]:
                        k += 1
                    if k == L:
                        w = c
                        break
            slot = (slot + 1) & mask
        if w < 0:
            if n_words >= word_limit:            # no room: the driver grows the table, then resumes here
                i = start
                break
            w = n_words
            table[slot] = high | w
            word_hash[w] = h
            word_start[w] = n_bytes
            word_len[w] = L
            for k in range(L):
                word_bytes[n_bytes + k] = data[a + k]
            word_bytes[n_bytes + L] = 10         # b"\n" after each word: words() decodes them all at once
            n_words += 1
            n_bytes += L + 1
        ids[n_tok] = w
        n_tok += 1
        line_tokens += 1
    state[POS], state[TOKENS], state[LINES], state[LINE_TOKENS] = i, n_tok, n_lines, line_tokens
    state[WORDS], state[BYTES] = n_words, n_bytes
    return done


@njit(cache=True)
def rehash(word_hash, n_words, size):
    """A table of `size` slots (a power of two) holding ids 0..n_words-1 at their hashes' slots."""
    table = np.full(size, EMPTY, np.int64)
    mask = size - 1
    for w in range(n_words):
        h = word_hash[w]
        slot = np.int64(h & np.uint64(mask))
        while table[slot] != EMPTY:
            slot = (slot + 1) & mask
        table[slot] = np.int64(h & _HIGH) | w
    return table


class WordTable:
    """The words seen so far and their ids: the kernel's arrays, grown by the driver between calls."""

    def __init__(self):
        self.table = np.full(1 << 16, EMPTY, np.int64)
        self.word_hash = np.zeros(1 << 15, np.uint64)
        self.word_start = np.zeros(1 << 15, np.int64)
        self.word_len = np.zeros(1 << 15, np.int32)
        self.word_bytes = np.zeros(1 << 18, np.uint8)
        self.state = np.zeros(6, np.int64)

    @property
    def n_words(self) -> int:
        return int(self.state[WORDS])

    def _grow(self) -> None:
        """Twice the slots (the table stays at most half full) and room for the words they allow."""
        n = self.n_words
        if n >= len(self.table) // 2:
            self.table = rehash(self.word_hash, n, 2 * len(self.table))
        cap = len(self.table) // 2
        for name in ("word_hash", "word_start", "word_len"):
            old = getattr(self, name)
            if len(old) < cap:
                new = np.zeros(cap, old.dtype)
                new[:n] = old[:n]
                setattr(self, name, new)

    def split(self, data: np.ndarray, ids: np.ndarray, lengths: np.ndarray) -> tuple[int, int]:
        """split_ids over one block, growing the table whenever it fills; returns (tokens, lines)."""
        n_bytes = int(self.state[BYTES])
        need = n_bytes + 2 * len(data) + 1         # every token new: its bytes and a b"\n" each
        if len(self.word_bytes) < need:
            new = np.zeros(max(need, 2 * len(self.word_bytes)), np.uint8)
            new[:n_bytes] = self.word_bytes[:n_bytes]
            self.word_bytes = new
        self.state[POS:LINE_TOKENS + 1] = 0
        while not split_ids(data, ids, lengths, self.table, self.word_hash, self.word_start, self.word_len,
                            self.word_bytes, self.state, min(len(self.table) // 2, len(self.word_hash))):
            self._grow()
        return int(self.state[TOKENS]), int(self.state[LINES])

    def words(self) -> list[str]:
        """Every word, in id order."""
        return self.word_bytes[:self.state[BYTES]].tobytes().decode("utf-8").split("\n")[:self.n_words]
