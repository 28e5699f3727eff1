"""Tokenizer and streaming readers shared by both stages.

Input is one sentence per line (split on b"\\n" only), from files, folders or globs, plain or compressed
(.gz, .bz2, .xz), in any encoding Python knows. With `errors: strict` the first undecodable line stops the
run with its file and line number; with `errors: replace` bad bytes become U+FFFD and the lines touched are
counted and reported. The same `Tokenizer` is saved with stage one's vectors and reused by stage two, so a
sentence becomes the same tokens in both.
"""
from __future__ import annotations

import bz2
import glob
import gzip
import io
import lzma
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


class Tokenizer:
    """Lower-case (optionally) and split on whitespace, or keep the matches of a regular expression."""

    def __init__(self, lowercase: bool = True, pattern: str | None = None):
        self.lowercase = lowercase
        self.pattern = pattern
        self._regex = re.compile(pattern) if pattern else None

    @classmethod
    def from_config(cls, cfg) -> "Tokenizer":
        return cls(lowercase=cfg.lowercase, pattern=cfg.pattern)

    def __call__(self, line: str) -> list[str]:
        if self.lowercase:
            line = line.lower()
        if self._regex is not None:
            return self._regex.findall(line)
        return line.split()

    def tokenize_block(self, text: str) -> list[list[str]]:
        """Tokens of every line of a block of lines ('\n'-separated), lower-casing it once."""
        if self.lowercase:
            text = text.lower()
        if self._regex is not None:
            return [self._regex.findall(line) for line in text.split("\n")]
        return [line.split() for line in text.split("\n")]

    def __repr__(self):
        return f"Tokenizer(lowercase={self.lowercase}, pattern={self.pattern!r})"


def gensim_data(name: str) -> Path:
    """A file of gensim's bundled test data (WordSim-353, the Lee corpus, the polarity sample...)."""
    from gensim.test.utils import datapath
    path = Path(datapath(name))
    if not path.is_file():
        raise UserError(f"gensim's test data has no file {name!r}; check the name (e.g. lee_background.cor)")
    return path


def resolve_paths(specs) -> list[Path]:
    """Expand files, folders (every regular file inside, sorted) and globs; resolve `gensim:` and
    `dataset:` names. A spec that matches nothing is an error naming it."""
    out: list[Path] = []
    for spec in specs:
        spec = str(spec)
        if spec.startswith("gensim:"):
            out.append(gensim_data(spec[len("gensim:"):]))
            continue
        if spec.startswith("dataset:"):
            from .datasets import prepare_corpus
            out.extend(prepare_corpus(spec[len("dataset:"):]))
            continue
        p = Path(spec)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            if not files:
                raise UserError(f"corpus folder {spec} holds no files; point corpus.paths at text files")
            out.extend(files)
        elif p.is_file():
            out.append(p)
        elif any(ch in spec for ch in "*?["):
            files = sorted(Path(f) for f in glob.glob(spec, recursive=True) if os.path.isfile(f))
            if not files:
                raise UserError(f"no file matches the pattern {spec}; check corpus.paths")
            out.extend(files)
        else:
            raise UserError(f"file not found: {spec}; check the path (relative paths start at {os.getcwd()})")
    return out


def open_binary(path: Path):
    opener = _OPENERS.get(Path(path).suffix.lower(), open)
    try:
        return opener(path, "rb")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}; check the file's permissions") from None


@dataclass
class ReadStats:
    files: int = 0
    lines: int = 0
    replaced_lines: int = 0       # lines where undecodable bytes became U+FFFD (errors: replace)


BLOCK_BYTES = 1 << 20   # text is read, decoded and lower-cased 1 MB at a time (8 MB: 2x the peak memory)


@dataclass(frozen=True)
class ByteRange:
    """The lines of `path` whose first byte lies in [start, end): one piece of a shard (pipeline/cluster.py).

    Offsets count uncompressed bytes, also for .gz/.bz2/.xz files (which cannot seek: their reader
    decompresses from the start and discards what precedes `start`). Ranges that tile [0, file size)
    read every line exactly once, in order: a range skips the line that began before `start` and reads
    through the line that begins before `end`."""
    path: Path
    start: int
    end: int


class _RangeReader:
    """A binary file that reads only the bytes of a ByteRange's lines (`read(n)` as a file's)."""

    def __init__(self, rng: ByteRange):
        self.rng, self.f = rng, open_binary(rng.path)
        self.first = None           # offset of the range's first line; None until the first read
        self.pos = 0                # offset of the next byte returned
        self.done = False
        self._pending = b""

    def _start(self) -> None:
        """Move to the first line start >= rng.start: just after the first b"\n" at or after start - 1."""
        if self.rng.start > 0:
            self._discard(self.rng.start - 1)
            self.pos = self.rng.start - 1
            while True:
                data = self.f.read(BLOCK_BYTES)
                cut = data.find(b"\n")
                if not data:
                    self.done = True                     # no line starts in the range
                    break
                if cut >= 0:
                    self.pos, self._pending = self.pos + cut + 1, data[cut + 1:]
                    break
                self.pos += len(data)
        self.first = self.pos
        self.done = self.done or self.pos >= self.rng.end

    def _discard(self, n: int) -> None:
        if isinstance(self.f, io.BufferedReader):        # a plain file seeks
            self.f.seek(n)
            return
        while n > 0:                                     # compressed: decompress and drop
            data = self.f.read(min(n, BLOCK_BYTES))
            if not data:
                break
            n -= len(data)

    def read(self, size: int) -> bytes:
        if self.first is None:
            self._start()
        if self.done:
            return b""
        data, self._pending = self._pending or self.f.read(size), b""
        last = self.rng.end - 1 - self.pos              # the line holding byte end - 1 is the range's last
        if last < len(data):
            cut = data.find(b"\n", max(last, 0))
            if cut >= 0:
                data, self.done = data[:cut + 1], True
        self.done = self.done or not data
        self.pos += len(data)
        return data

    def lines_before(self) -> int:
        """Lines of the file before this range's first line (read only to report an error's line number)."""
        n, left = 0, self.first or 0
        with open_binary(self.rng.path) as f:
            while left > 0:
                data = f.read(min(left, BLOCK_BYTES))
                if not data:
                    break
                n, left = n + data.count(b"\n"), left - len(data)
        return n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def _open_source(source):
    """(path, binary file, first-line number function) for a path or a ByteRange."""
    if isinstance(source, ByteRange):
        reader = _RangeReader(source)
        return source.path, reader, reader.lines_before
    return source, open_binary(source), _no_lines


def _no_lines() -> int:
    return 0


def iter_text_blocks(paths, encoding="utf-8", errors="strict", stats: ReadStats | None = None):
    """Yield decoded text in blocks of whole lines ('\n' between lines, none at the end) of every path
    (or ByteRange) in turn.

    Decoding and lower-casing whole blocks instead of line by line is what makes reading fast; an
    undecodable byte is still reported with its file and line number."""
    stats = stats if stats is not None else ReadStats()
    for source in paths:
        stats.files += 1
        path, f, line_base = _open_source(source)
        with f:
            lineno, carry = 0, b""
            first = not isinstance(source, ByteRange) or source.start == 0
            try:
                while True:
                    data = f.read(BLOCK_BYTES)
                    if first:
                        first = False
                        if b"\x00" in data[:4096] and "16" not in encoding and "32" not in encoding:
                            raise UserError(f"{path} looks like a binary file (NUL bytes near the start); "
                                            f"give a text file, one sentence per line")
                    if not data:
                        if not carry:
                            break
                        block, carry = carry, b""
                    else:
                        data = carry + data
                        cut = data.rfind(b"\n")
                        if cut < 0:
                            carry = data
                            continue
                        block, carry = data[:cut], data[cut + 1:]
                    n_lines = block.count(b"\n") + 1
                    yield _decode_block(block, path, lineno, encoding, errors, stats, line_base)
                    lineno += n_lines
                    stats.lines += n_lines
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise UserError(f"{path}:{line_base() + lineno + 1}: cannot read ({exc}); the file may be "
                                f"truncated or not really compressed") from None


def _decode_block(block: bytes, path, lineno, encoding, errors, stats, line_base=_no_lines) -> str:
    try:
        return block.decode(encoding)
    except UnicodeDecodeError as exc:
        if errors != "replace":
            line = line_base() + lineno + block.count(b"\n", 0, exc.start) + 1
            raise UserError(f"{path}:{line}: bytes are not valid {encoding}; "
                            f"set the right encoding or errors: replace") from None
    lines = []
    for raw in block.split(b"\n"):
        try:
            lines.append(raw.decode(encoding))
        except UnicodeDecodeError:
            lines.append(raw.decode(encoding, errors="replace"))
            stats.replaced_lines += 1
    return "\n".join(lines)


def iter_lines(paths, encoding="utf-8", errors="strict", stats: ReadStats | None = None):
    """Yield decoded lines (without the line end) from every file in turn."""
    for text in iter_text_blocks(paths, encoding, errors, stats):
        for line in text.split("\n"):
            yield line.rstrip("\r")


def iter_sentences(paths, tokenizer: Tokenizer, encoding="utf-8", errors="strict",
                   max_sentence_length=10000, stats: ReadStats | None = None):
    """Yield token lists, one per line, cutting lines longer than `max_sentence_length` into chunks."""
    for text in iter_text_blocks(paths, encoding, errors, stats):
        for tokens in tokenizer.tokenize_block(text):
            if len(tokens) <= max_sentence_length:
                yield tokens
            else:
                for start in range(0, len(tokens), max_sentence_length):
                    yield tokens[start:start + max_sentence_length]
