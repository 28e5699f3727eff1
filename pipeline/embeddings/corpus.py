"""Encode a text corpus once into an int32 token array on disk, memory-mapped for training.

One pass over the text: every token gets a provisional id in order of first appearance (appended to a
file in blocks, so memory stays flat however long the corpus), counts come from those ids, the vocabulary
is cut by `min_count` / `max_vocab_size` and put in gensim's order, then the provisional ids are remapped
block by block into `tokens.npy` (int32, out-of-vocabulary words removed, as gensim and word2vec.c skip
them before windowing) with `offsets.npy` (int64, sentence s is tokens[offsets[s]:offsets[s+1]]). With a white-space
tokenizer (`tokenizer.pattern: null`) the first pass runs in a Numba kernel on each block's UTF-8 bytes
(wordids.py: the same ids as str.split() and a dict, which cost 4.5 of 4.9 s on a 7.7M-word file); a
`pattern` goes through Python's `re`.

The result is cached under `corpus.cache_dir` by a key over the files (path, size, mtime), the tokenizer
and the vocabulary settings, so later runs and benchmarks skip reading and tokenising. A cache entry is
trusted only when it is whole and consistent: its format version, its offsets, and every token id within
the vocabulary with counts equal to vocab.tsv's (the kernels index without bounds checks); otherwise a note
names it and it is rebuilt. Every vocabulary word must be storable in the vectors file (no white space: a
tokenizer pattern that matches spaces is refused here, before any training).

The same pass encodes an iterable of token lists instead of files (`encode_corpus(..., sentences=...)`, what
`Word2Vec(sentences=...)` trains on): read once, in order, lower-cased when the tokenizer lower-cases, cut
at `max_sentence_length` like a file's lines; never cached (there is no file to key the cache by).
"""
from __future__ import annotations

import contextlib
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
from ..text import ReadStats, iter_sentences, iter_text_blocks, resolve_paths
from ..vectors import check_words
from ..vocab import Vocab
from .wordids import UNICODE_SPACES, WordTable

FORMAT_VERSION = 1
BLOCK = 1 << 20  # tokens per block read, remapped and written at once (4 MB of int32)
FAST_SPLIT = True   # white-space tokenizers read through wordids.py's kernel (tests compare it with str.split)


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
            return _load(cache, cached=True, verify=True)
        except Exception as exc:     # noqa: BLE001 - whatever is wrong with it, a damaged cache is never trusted
            progress.say(f"note: the corpus cache {cache} is damaged or from another version ({type(exc).__name__}: "
                         f"{str(exc)[:80]}); rebuilding it")
            shutil.rmtree(cache, ignore_errors=True)
    made = cache is not None and not cache.parent.exists()
    workdir = Path(tempfile.mkdtemp(prefix=".encode-", dir=_temp_parent(cache)))
    try:
        stats = ReadStats()
        if tokenizer.pattern is None and FAST_SPLIT:
            blocks = iter_text_blocks(paths, corpus_cfg.encoding, corpus_cfg.errors, stats)
            first_pass = _whitespace_ids(blocks, tokenizer.lowercase, corpus_cfg.max_sentence_length)
        else:
            first_pass = _python_ids(iter_sentences(paths, tokenizer, corpus_cfg.encoding, corpus_cfg.errors,
                                                    corpus_cfg.max_sentence_length, stats))
        vocab = _encode_into(workdir, first_pass, stats, ", ".join(map(str, paths)), vocab_cfg,
                             [str(p) for p in paths])
        if cache is None:
            return _load(workdir, cached=False, temporary=True, vocab=vocab)
        try:
            os.replace(workdir, cache)        # atomic publish of the whole cache entry
        except OSError:
            shutil.rmtree(workdir, ignore_errors=True)   # another run published it first
        return _load(cache, cached=False, vocab=vocab)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        if made:                          # a refused run leaves no empty cache folder behind
            with contextlib.suppress(OSError):
                cache.parent.rmdir()
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
        vocab = _encode_into(workdir, _python_ids(lines), stats, "sentences=", vocab_cfg, [], from_lists=True)
        return _load(workdir, cached=False, temporary=True, vocab=vocab)
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


def _python_ids(sentences):
    """The first pass over token lists: provisional ids (a new id for each new word, in order of first
    appearance) written to `f` block by block; returns (words in id order, tokens per sentence, tokens)."""
    def first_pass(f, pbar):
        index = _AutoId()
        ids_of = index.__getitem__        # known words: a C-level lookup; new ones: _AutoId.__missing__
        lengths = array("i")              # tokens per line (<= max_sentence_length)
        buf = array("i")
        n_tokens = 0
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
        return list(index), np.frombuffer(lengths, dtype=np.int32), n_tokens
    return first_pass


def _whitespace_ids(blocks, lowercase: bool, max_sentence_length: int):
    """`_python_ids` for text blocks split on white space (`Tokenizer(pattern=None)`), in a Numba kernel
    (wordids.py): the same ids, sentences and words; reading took 4.6-5.4x less time than with str.split() and a
    dict (benchmarks/bench_reader.py, RESULTS.md)."""
    def first_pass(f, pbar):
        table = WordTable()
        lengths = []
        n_tokens = 0
        for text in blocks:
            if lowercase:
                text = text.lower()
            if not text.isascii():
                text = UNICODE_SPACES.sub(" ", text)
            data = np.frombuffer(text.encode("utf-8"), np.uint8)
            ids = np.empty(len(data) // 2 + 1, np.int32)
            line_lengths = np.empty(text.count("\n") + 1, np.int32)
            n_tok, n_lines = table.split(data, ids, line_lengths)
            ids[:n_tok].tofile(f)
            lengths.append(_cut_long(line_lengths[:n_lines], max_sentence_length))
            n_tokens += n_tok
            pbar.update(n_tok)
            StopFlag.check("reading the corpus")
        return table.words(), np.concatenate(lengths) if lengths else np.zeros(0, np.int32), n_tokens
    return first_pass


def _cut_long(lengths: np.ndarray, most: int) -> np.ndarray:
    """Line lengths with every line longer than `most` tokens cut into lines of `most` and a remainder, as
    iter_sentences cuts them."""
    if not len(lengths) or lengths.max() <= most:
        return lengths
    out = []
    for n in lengths.tolist():
        if n <= most:
            out.append(n)
        else:
            out.extend([most] * (n // most) + ([n % most] if n % most else []))
    return np.array(out, np.int32)


def _encode_into(out: Path, first_pass, stats: ReadStats, source: str, vocab_cfg, files, from_lists=False) -> Vocab:
    """Encode a corpus into `out`: `first_pass(f, pbar)` (_python_ids or _whitespace_ids) writes its provisional
    ids to f and returns (words, tokens per sentence, tokens); then the vocabulary, and the final ids."""
    with open(out / "provisional.i32", "wb") as f, progress.bar(unit="w", desc="reading corpus") as pbar:
        words, lengths, n_tokens = first_pass(f, pbar)
    if n_tokens == 0:
        raise UserError(f"the corpus is empty: no tokens in {source}; "
                        f"{'give non-empty token lists' if from_lists else 'check corpus.paths'}")
    counts = np.zeros(len(words), dtype=np.int64)
    for ids in _blocks(out / "provisional.i32"):
        counts += np.bincount(ids, minlength=len(words))
    vocab, old_to_new = Vocab.from_counts(words, counts, vocab_cfg.min_count, vocab_cfg.max_vocab_size)
    del words
    if len(vocab) == 0:
        raise UserError(f"every word occurs fewer than min_count={vocab_cfg.min_count} times "
                        f"(most frequent: {int(counts.max())}); lower vocab.min_count")
    check_words(vocab.words, "clean the token lists" if from_lists else
                "tokenizer.pattern must not match white space (e.g. \\S+ or \\w+)")
    kept_total = int(vocab.counts.sum())
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
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
    return vocab


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


def _load(folder: Path, cached: bool, temporary: bool = False, verify: bool = False, vocab=None) -> EncodedCorpus:
    """The encoded corpus in `folder`; ValueError when it is inconsistent. `verify` (a cache made by an
    earlier run) also reads every token id: within the vocabulary, and counted as vocab.tsv says. `vocab`: the
    vocabulary _encode_into just wrote there (not read again)."""
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError("old cache format")
    offsets = np.load(folder / "offsets.npy", allow_pickle=False)
    vocab = vocab if vocab is not None else Vocab.load(folder / "vocab.tsv")
    n_tokens = (os.path.getsize(folder / "tokens.npy") - _header_size(folder / "tokens.npy")) // 4
    if (offsets.dtype != np.int64 or offsets.ndim != 1 or len(offsets) < 2 or n_tokens != int(vocab.counts.sum())
            or offsets[0] != 0 or offsets[-1] != n_tokens
            or np.any(offsets[1:] < offsets[:-1])):    # the kernels index without bounds checks
        raise ValueError("inconsistent cache")
    if verify:
        _verify_tokens(folder / "tokens.npy", vocab)
    return EncodedCorpus(folder, offsets, vocab, meta["corpus_words"], meta["lines"],
                         meta["replaced_lines"], cached, temporary)


def _verify_tokens(path: Path, vocab: Vocab) -> None:
    """ValueError unless every id in tokens.npy is in [0, V) and their counts are vocab.tsv's counts."""
    V = len(vocab)
    counts = np.zeros(V, np.int64)
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        if dtype != np.int32 or len(shape) != 1:
            raise ValueError(f"tokens.npy holds {dtype} {shape}, not int32 (N,)")
        while len(block := np.fromfile(f, dtype=np.int32, count=BLOCK)):
            if block.min() < 0 or block.max() >= V:
                raise ValueError(f"token ids outside the vocabulary of {V} words")
            counts += np.bincount(block, minlength=V)
    if not np.array_equal(counts, vocab.counts):
        raise ValueError("token counts differ from vocab.tsv")


def _header_size(path) -> int:
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.tell()
