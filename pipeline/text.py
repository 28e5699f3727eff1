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


def iter_text_blocks(paths, encoding="utf-8", errors="strict", stats: ReadStats | None = None):
    """Yield decoded text in blocks of whole lines ('\n' between lines, none at the end).

    Decoding and lower-casing whole blocks instead of line by line is what makes reading fast; an
    undecodable byte is still reported with its file and line number."""
    stats = stats if stats is not None else ReadStats()
    for path in paths:
        stats.files += 1
        with open_binary(path) as f:
            lineno, carry, first = 0, b"", True
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
                    yield _decode_block(block, path, lineno, encoding, errors, stats)
                    lineno += n_lines
                    stats.lines += n_lines
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise UserError(f"{path}:{lineno + 1}: cannot read ({exc}); the file may be truncated "
                                f"or not really compressed") from None


def _decode_block(block: bytes, path, lineno, encoding, errors, stats) -> str:
    try:
        return block.decode(encoding)
    except UnicodeDecodeError as exc:
        if errors != "replace":
            line = lineno + block.count(b"\n", 0, exc.start) + 1
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
