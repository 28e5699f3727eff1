"""Tokenizer and streaming readers shared by both stages.

Input is one sentence per line (split on b"\\n" only), from files, folders or globs, plain or compressed
(.gz, .bz2, .xz), in any encoding Python knows. With `errors: strict` the first undecodable line stops the
run with its file and line number; with `errors: replace` bad bytes become U+FFFD and the lines touched are
counted and reported. A byte-order mark is never part of a token or a label; a NUL byte anywhere is an
error naming its line (U+FFFD with `errors: replace`); UTF-16 and UTF-32 files are read when that encoding is
declared, and recognised (byte-order mark, NUL pattern) with a hint when it is not; compressed or binary
data under a text name is refused with what it is. The same `Tokenizer` is saved with stage one's vectors and
reused by stage two, so a sentence becomes the same tokens in both.
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
HEAD_BYTES = 4096       # bytes looked at to tell text from UTF-16/32, compressed or binary data

_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32 (little-endian)", "utf-32"), (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)", "utf-32"),
         (b"\xff\xfe", "UTF-16 (little-endian)", "utf-16"), (b"\xfe\xff", "UTF-16 (big-endian)", "utf-16"))
_MAGIC = ((b"\x1f\x8b", "gzip", ".gz"), (b"BZh", "bzip2", ".bz2"), (b"\xfd7zXZ\x00", "xz", ".xz"),
          (b"PK\x03\x04", "zip", None))
_ENCODING_KEYS = "corpus.encoding, data.encoding or --encoding"


def ascii_compatible(encoding: str) -> bool:
    """True when the encoding writes ASCII (and so "\\n") as itself: lines can be cut in the bytes."""
    try:
        return "\n a".encode(encoding) == b"\n a"
    except (LookupError, UnicodeError):
        return False


def sniff(path, head: bytes, encoding: str, compressed: bool = False) -> None:
    """UserError when the first bytes of `path` show it is not text in `encoding`: UTF-16/32 text (its
    byte-order mark, or NUL bytes between the letters) read with an 8-bit encoding, compressed data whose
    name lacks the suffix, or binary data. Declared UTF-16/32 files are left to their decoder."""
    if not ascii_compatible(encoding):
        start = head[:HEAD_BYTES]
        if len(start) >= 16 and b"\x00" not in start and _is_utf8(start):
            raise UserError(f"{path} looks like UTF-8 text (no NUL bytes), not {encoding}; set the encoding to "
                            f"utf-8 ({_ENCODING_KEYS})")
        return
    for bom, what, name in _BOMS:
        if head.startswith(bom):
            raise UserError(f"{path} is {what} text (it starts with that byte-order mark), not {encoding}; set "
                            f"the encoding to {name} ({_ENCODING_KEYS})")
    guess = _wide_guess(head[:HEAD_BYTES])
    if guess:
        raise UserError(f"{path} looks like {guess} text without a byte-order mark (NUL bytes between the "
                        f"letters); set the encoding to {guess.lower()} ({_ENCODING_KEYS})")
    for magic, kind, suffix in _MAGIC:
        if head.startswith(magic) and not compressed:
            fix = f"name it *{suffix} to read it compressed" if suffix else "unpack it and give the text files"
            raise UserError(f"{path} is {kind}-compressed data, not text; {fix}")
    start = head[:HEAD_BYTES]
    if start.count(b"\x00") >= max(4, len(start) // 100):   # a stray NUL is left to _clean, as anywhere else
        raise UserError(f"{path} looks like a binary file (NUL bytes near the start); give a text file, one "
                        f"sentence per line")


def _is_utf8(data: bytes) -> bool:
    """True when `data` is UTF-8, allowing a character cut at its end."""
    for cut in range(4):
        try:
            data[:len(data) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            pass
    return False


def _wide_guess(head: bytes):
    """"UTF-16-LE" etc. when the NUL bytes of `head` fall where ASCII text in that encoding puts them."""
    n = len(head) - len(head) % 4
    if n < 8 or b"\x00" not in head:
        return None
    nul = [sum(1 for b in head[k:n:4] if b == 0) / (n // 4) for k in range(4)]
    if min(nul[1:]) > 0.9 and nul[0] < 0.5:
        return "UTF-32-LE"
    if min(nul[:3]) > 0.9 and nul[3] < 0.5:
        return "UTF-32-BE"
    if min(nul[1], nul[3]) > 0.7 and max(nul[0], nul[2]) < 0.3:
        return "UTF-16-LE"
    if min(nul[0], nul[2]) > 0.7 and max(nul[1], nul[3]) < 0.3:
        return "UTF-16-BE"
    return None


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
    undecodable byte is still reported with its file and line number. Everywhere in a file: a byte-order
    mark (U+FEFF) is dropped, never part of a token or a label; a NUL is an error naming its line, or U+FFFD
    (counted) with `errors: replace`. Encodings that do not write "\\n" as one byte (UTF-16, UTF-32) are
    decoded before lines are cut."""
    stats = stats if stats is not None else ReadStats()
    wide = not ascii_compatible(encoding)
    for source in paths:
        stats.files += 1
        if wide and isinstance(source, ByteRange):
            raise UserError(f"{source.path}: {encoding} text cannot be cut into byte ranges for a cluster; give "
                            f"one file per shard, or convert it to utf-8")
        path, f, line_base = _open_source(source)
        compressed = Path(path).suffix.lower() in _OPENERS
        head = not isinstance(source, ByteRange) or source.start == 0     # sniff a file's first bytes only
        with f:
            at = [0]                  # lines yielded so far (a list: the generators below advance it)
            try:
                blocks = (_wide_blocks if wide else _byte_blocks)(f, path, encoding, errors, stats, at, compressed,
                                                                  head, line_base)
                for text in blocks:
                    text = _clean(text, path, line_base, at[0], errors, stats)
                    n_lines = text.count("\n") + 1
                    yield text
                    at[0] += n_lines
                    stats.lines += n_lines
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise UserError(f"{path}:{line_base() + at[0] + 1}: cannot read ({exc}); the file may be "
                                f"truncated or not really compressed") from None


def _byte_blocks(f, path, encoding, errors, stats, at, compressed, first, line_base):
    """Blocks of an ASCII-compatible file, cut at the last b"\\n" of each read and decoded."""
    carry = b""
    while True:
        data = f.read(BLOCK_BYTES)
        if first:
            first = False
            sniff(path, data, encoding, compressed)
        if not data:
            if not carry:
                return
            block, carry = carry, b""
        else:
            data = carry + data
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            block, carry = data[:cut], data[cut + 1:]
        yield _decode_block(block, path, at[0], encoding, errors, stats, line_base)


def _wide_blocks(f, path, encoding, errors, stats, at, compressed, first, line_base):
    """Blocks of a UTF-16/32 (or other wide) file: decoded as a stream, then cut at the last "\\n". With
    `errors: strict` the first U+FFFD the decoder makes is reported with its line."""
    import codecs
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    carry = ""
    while True:
        data = f.read(BLOCK_BYTES)
        if first:
            first = False
            sniff(path, data, encoding, compressed)
        try:
            text = carry + decoder.decode(data, final=not data)
        except UnicodeError as exc:           # utf-16 / utf-32 without a byte-order mark
            raise UserError(f"{path}: not {encoding} text ({exc}); for a file without a byte-order mark give "
                            f"the byte order, e.g. {encoding}-le ({_ENCODING_KEYS})") from None
        if data:
            cut = text.rfind("\n")
            if cut < 0:
                carry = text
                continue
            text, carry = text[:cut], text[cut + 1:]
        elif not text:
            return
        else:
            carry = ""
        if "\ufffd" in text:
            if errors != "replace":
                line = at[0] + text.count("\n", 0, text.index("\ufffd")) + 1
                raise UserError(f"{path}:{line}: bytes are not valid {encoding}; set the right encoding or "
                                f"errors: replace")
            stats.replaced_lines += sum(1 for line in text.split("\n") if "\ufffd" in line)
        yield text
        if not data:
            return


def _clean(text: str, path, line_base, lineno, errors, stats) -> str:
    """Drop byte-order marks; refuse NUL characters (or, with errors: replace, make them U+FFFD)."""
    if "\ufeff" in text:
        text = text.replace("\ufeff", "")
    if "\x00" in text:
        if errors != "replace":
            line = line_base() + lineno + text.count("\n", 0, text.index("\x00")) + 1
            raise UserError(f"{path}:{line}: a NUL byte in the text (binary data?); remove it, or set errors: "
                            f"replace to read it as U+FFFD")
        stats.replaced_lines += sum(1 for line in text.split("\n") if "\x00" in line)
        text = text.replace("\x00", "\ufffd")
    return text


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
