"""Encode a text corpus once into an int32 token array on disk, memory-mapped for training.

One pass over the text: every token gets a provisional id in order of first appearance (appended to a
file in blocks, so memory stays flat however long the corpus), counts come from those ids, the vocabulary
is cut by `min_count` / `max_vocab_size` and put in gensim's order, then the provisional ids are remapped
block by block into `tokens.npy` (int32, out-of-vocabulary words removed, as gensim and word2vec.c skip
them before windowing) with `offsets.npy` (int64, sentence s is tokens[offsets[s]:offsets[s+1]]).

The result is cached under `corpus.cache_dir` by a key over the files (path, size, mtime), the tokenizer
and the vocabulary settings, so later runs and benchmarks skip reading and tokenising.

The same pass encodes an iterable of token lists instead of files (`encode_corpus(..., sentences=...)`, what
`Word2Vec(sentences=...)` trains on): read once, in order, lower-cased when the tokenizer lower-cases, cut
at `max_sentence_length` like a file's lines; never cached (there is no file to key the cache by).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import progress
from ..errors import UserError
from ..signals import StopFlag
from ..text import ReadStats, iter_sentences, resolve_paths
from ..vocab import Vocab

FORMAT_VERSION = 1
BLOCK = 1 << 20  # tokens per block read, remapped and written at once (4 MB of int32)


@dataclass
class EncodedCorpus:
    """The encoded corpus: `tokens.npy` (int32, on disk) and sentence `offsets` (S+1,) int64.

    Training reads the tokens chunk by chunk with plain file reads (`read_tokens`), so however long
    the corpus, only one chunk of it is in memory; `tokens` memory-maps the whole array for small uses
    (tests). Without a cache the files live in a temporary folder that `close()` removes."""
    folder: Path
    offsets: np.ndarray       # (S+1,) int64: sentence s is tokens[offsets[s]:offsets[s+1]]
    vocab: Vocab
    corpus_words: int         # every token read, in or out of the vocabulary
    lines: int
    replaced_lines: int
    cached: bool
    temporary: bool = False
    _header: int | None = None    # bytes before the array data in tokens.npy

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    @property
    def tokens(self) -> np.ndarray:
        return np.load(self.folder / "tokens.npy", mmap_mode="r")

    def read_tokens(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """tokens[start:stop] read from the file into `out` (int32, len >= stop - start)."""
        view = out[:stop - start]
        if self._header is None:
            self._header = _header_size(self.folder / "tokens.npy")
        with open(self.folder / "tokens.npy", "rb") as f:
            f.seek(self._header + 4 * start)
            if f.readinto(memoryview(view).cast("B")) != 4 * len(view):
                raise UserError(f"{self.folder / 'tokens.npy'} is shorter than expected; delete the folder "
                                f"and run again")
        return view

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.folder, ignore_errors=True)


def cache_key(paths, tokenizer, corpus_cfg, vocab_cfg) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    h.update(repr((FORMAT_VERSION, tokenizer.lowercase, tokenizer.pattern, corpus_cfg.encoding,
                   corpus_cfg.errors, corpus_cfg.max_sentence_length, vocab_cfg.min_count,
                   vocab_cfg.max_vocab_size)).encode())
    return h.hexdigest()[:20]


def encode_corpus(corpus_cfg, tokenizer, vocab_cfg, sentences=None) -> EncodedCorpus:
    """The corpus of `corpus_cfg.paths` (cached), or of the token lists `sentences` when given (not cached)."""
    if sentences is not None:
        return _encode_sentences(sentences, corpus_cfg, tokenizer, vocab_cfg)
    paths = resolve_paths(corpus_cfg.paths)
    key = cache_key(paths, tokenizer, corpus_cfg, vocab_cfg)
    cache = Path(corpus_cfg.cache_dir) / key if corpus_cfg.cache_dir else None
    if cache is not None and (cache / "meta.json").is_file():
        try:
            return _load(cache, cached=True)
        except (OSError, ValueError, KeyError):
            shutil.rmtree(cache, ignore_errors=True)   # a damaged cache is rebuilt, never trusted
    workdir = Path(tempfile.mkdtemp(prefix=".encode-", dir=_temp_parent(cache)))
    try:
        stats = ReadStats()
        lines = iter_sentences(paths, tokenizer, corpus_cfg.encoding, corpus_cfg.errors,
                               corpus_cfg.max_sentence_length, stats)
        _encode_into(workdir, lines, stats, ", ".join(map(str, paths)), vocab_cfg, [str(p) for p in paths])
        if cache is None:
            return _load(workdir, cached=False, temporary=True)
        try:
            os.replace(workdir, cache)        # atomic publish of the whole cache entry
        except OSError:
            shutil.rmtree(workdir, ignore_errors=True)   # another run published it first
        return _load(cache, cached=False)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _temp_parent(cache):
    if cache is None:
        return None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the corpus cache {cache.parent}: {exc.strerror}; "
                        f"set corpus.cache_dir to a writable folder or null") from None
    return cache.parent


def _encode_sentences(sentences, corpus_cfg, tokenizer, vocab_cfg) -> EncodedCorpus:
    """Encode token lists into a temporary folder (removed by close())."""
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-encode-"))
    try:
        stats = ReadStats()
        lines = iter_token_lists(sentences, tokenizer.lowercase, corpus_cfg.max_sentence_length, stats)
        _encode_into(workdir, lines, stats, "sentences=", vocab_cfg, [], check_words=True)
        return _load(workdir, cached=False, temporary=True)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def iter_token_lists(sentences, lowercase, max_sentence_length, stats: ReadStats):
    """Yield the token lists of `sentences` (lower-cased when `lowercase`), cut at `max_sentence_length`;
    UserError for a string or a path where token lists belong."""
    if isinstance(sentences, (str, bytes, os.PathLike)):
        raise UserError("sentences= takes token lists, e.g. [['the', 'cat', 'sat'], ...]; to read a file, "
                        "folder or glob pass corpus_file= instead")
    for n, tokens in enumerate(sentences):
        if isinstance(tokens, (str, bytes)):
            raise UserError(f"sentences[{n}] is a string, not a list of tokens: split it (e.g. line.split()) "
                            f"or pass the file as corpus_file=")
        stats.lines += 1
        if lowercase:
            try:
                tokens = [t.lower() for t in tokens]
            except (AttributeError, TypeError):
                raise UserError(f"sentences[{n}] holds a token that is not a string") from None
        elif not isinstance(tokens, list):
            tokens = list(tokens)
        for start in range(0, max(len(tokens), 1), max_sentence_length):
            yield tokens[start:start + max_sentence_length]


def _check_words(words) -> None:
    """UserError for a vocabulary word word2vec's formats cannot store (not a string, empty, white space)."""
    for w in words:
        if not isinstance(w, str) or not w or any(ch.isspace() for ch in w):
            raise UserError(f"token {w!r} cannot be a word of the vectors (word2vec files need non-empty "
                            f"strings without white space); clean the token lists")


def _encode_into(out: Path, sentences, stats: ReadStats, source: str, vocab_cfg, files, check_words=False) -> None:
    """Encode the token lists `sentences` (read from `source`, whose reading `stats` counts) into `out`."""
    index = _AutoId()
    ids_of = index.__getitem__        # known words: a C-level lookup; new ones: _AutoId.__missing__
    lengths = array("i")          # tokens per line (<= max_sentence_length)
    buf = array("i")
    n_tokens = 0
    with open(out / "provisional.i32", "wb") as f, progress.bar(unit="w", desc="reading corpus") as pbar:
        for tokens in sentences:
            buf.extend(map(ids_of, tokens))
            lengths.append(len(tokens))
            if len(buf) >= BLOCK:
                StopFlag.check("reading the corpus")
                n_tokens += len(buf)
                pbar.update(len(buf))
                buf.tofile(f)
                buf = array("i")
        n_tokens += len(buf)
        buf.tofile(f)
    if n_tokens == 0:
        raise UserError(f"the corpus is empty: no tokens in {source}; "
                        f"{'give non-empty token lists' if check_words else 'check corpus.paths'}")
    counts = np.zeros(len(index), dtype=np.int64)
    for ids in _blocks(out / "provisional.i32"):
        counts += np.bincount(ids, minlength=len(index))
    vocab, old_to_new = Vocab.from_counts(list(index), counts, vocab_cfg.min_count, vocab_cfg.max_vocab_size)
    del index
    if len(vocab) == 0:
        raise UserError(f"every word occurs fewer than min_count={vocab_cfg.min_count} times "
                        f"(most frequent: {int(counts.max())}); lower vocab.min_count")
    if check_words:
        _check_words(vocab.words)
    kept_total = int(vocab.counts.sum())
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(lengths, dtype=np.int32), out=offsets[1:])
    del lengths
    # `offsets` is turned from raw-token offsets into kept-token offsets in place, block by block
    # (one array, not two: memory per sentence matters for long corpora). It stays sorted: an
    # updated entry is never larger than its raw value, so searchsorted still finds a block's lines.
    written = 0
    # Blocks are read and written with plain file I/O (not memory maps), so the pages of the two
    # token files never pile up in this process's resident memory however long the corpus is.
    with open(out / "tokens.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.int32)), "fortran_order": False,
                "shape": (kept_total,)})
        a = 0
        for block in _blocks(out / "provisional.i32"):
            ids = old_to_new[block]
            keep = ids >= 0
            # kept tokens before each old sentence offset that falls in this block
            lo, hi = np.searchsorted(offsets, [a, a + len(ids)])
            before = np.concatenate(([0], np.cumsum(keep, dtype=np.int32)))
            offsets[lo:hi] = written + before[offsets[lo:hi] - a]
            ids[keep].tofile(f)
            written += int(keep.sum())
            a += len(ids)
    # Offsets equal to the raw end (the last sentence's end, and those of empty sentences after it) fall in
    # no block above: all of them are the end. (Only offsets[-1] was set here once, and a corpus ending in
    # an empty sentence kept a raw offset past the kept tokens: the kernel then read beyond them.)
    offsets[offsets >= a] = written
    os.unlink(out / "provisional.i32")
    keep = np.ones(len(offsets), dtype=bool)
    keep[1:] = offsets[1:] != offsets[:-1]           # sentences emptied by the vocabulary vanish
    np.save(out / "offsets.npy", offsets[keep])
    vocab.save(out / "vocab.tsv")
    meta = {"format": FORMAT_VERSION, "corpus_words": n_tokens, "lines": stats.lines,
            "replaced_lines": stats.replaced_lines, "files": files}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


class _AutoId(dict):
    """word -> provisional id, a new id for each new word in order of first appearance."""

    def __missing__(self, word):
        self[word] = i = len(self)
        return i


def _blocks(path):
    """The int32 ids of a raw file, BLOCK at a time."""
    with open(path, "rb") as f:
        while True:
            block = np.fromfile(f, dtype=np.int32, count=BLOCK)
            if not len(block):
                return
            yield block


def _load(folder: Path, cached: bool, temporary: bool = False) -> EncodedCorpus:
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError("old cache format")
    offsets = np.load(folder / "offsets.npy")
    vocab = Vocab.load(folder / "vocab.tsv")
    n_tokens = (os.path.getsize(folder / "tokens.npy") - _header_size(folder / "tokens.npy")) // 4
    if (n_tokens != int(vocab.counts.sum()) or offsets[0] != 0 or offsets[-1] != n_tokens
            or np.any(offsets[1:] < offsets[:-1])):    # the kernels index without bounds checks
        raise ValueError("inconsistent cache")
    return EncodedCorpus(folder, offsets, vocab, meta["corpus_words"], meta["lines"],
                         meta["replaced_lines"], cached, temporary)


def _header_size(path) -> int:
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.tell()
