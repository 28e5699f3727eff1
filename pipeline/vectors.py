"""Word vectors: the one thing both stages share, in word2vec's file formats.

Stage one writes `vectors.bin` in word2vec.c's binary format (header "V D\\n", then per word: the UTF-8
word, a space, D little-endian float32, a newline); stage two reads it, and so do gensim's
`KeyedVectors.load_word2vec_format(binary=True)` and word2vec.c's tools. The text format ("word v1 ... vD"
per line) is read and written too. Loading validates as it goes: the header, every row's size, duplicate
words and non-finite values are reported with the file and the place, and the loader never allocates
more than the file's size can justify.

    wv = load_vectors("runs/embeddings/vectors.bin")          # or KeyedVectors.load_word2vec_format(...)
    wv.most_similar("king", topn=5); wv.most_similar(positive=["king", "woman"], negative=["man"])
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomicio import atomic_path
from .errors import UserError
from .similarity import most_similar, unit_rows, unitvec


class WordVectors:
    """Word vectors with gensim's KeyedVectors interface (exported as `pipeline.KeyedVectors`).

    `words` in file order (most frequent first), `vectors` (V, D) float32, optional `counts` (int64, V) and
    `tokenizer` (the TokenizerConfig the words were made with, when known: stage one sets it, so stage two
    tokenizes new text the same way). gensim's names work as they do there: `wv["king"]` (a list of words
    gives a (n, D) array), `"king" in wv`, `wv.key_to_index`, `wv.index_to_key`, `wv.vectors`,
    `wv.vector_size`, `most_similar(positive=, negative=, topn=)` (analogies by 3CosAdd), `similarity`,
    `save_word2vec_format`, `KeyedVectors.load_word2vec_format`. Unknown words raise KeyError, as in gensim.
    """

    def __init__(self, words, vectors, counts=None, tokenizer=None):
        self.words = list(words)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self.tokenizer = tokenizer
        self.index = {w: i for i, w in enumerate(self.words)}
        self._unit = None
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
            raise ValueError("vectors must be (len(words), D)")

    def __len__(self):
        return len(self.words)

    def __deepcopy__(self, memo):
        """The same object: the table is read-only to both stages, and scikit-learn's clone deep-copies every
        parameter of every estimator it clones (GridSearchCV: one per candidate and fold). For a copy you
        can change, build one: WordVectors(wv.words, wv.vectors.copy())."""
        return self

    def __repr__(self):
        return f"KeyedVectors<{len(self)} words x {self.dim}>"

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    # gensim's names
    vector_size = dim

    @property
    def index_to_key(self) -> list:
        return self.words

    @property
    def key_to_index(self) -> dict:
        return self.index

    def __contains__(self, word):
        return word in self.index

    def get_index(self, word) -> int:
        if word not in self.index:
            raise KeyError(f"Key '{word}' not present")
        return self.index[word]

    def get_vector(self, word, norm=False) -> np.ndarray:
        """The (D,) vector of `word`; scaled to unit length with `norm` (gensim's get_vector)."""
        row = self.get_index(word)
        return self.unit[row] if norm else self.vectors[row]

    def __getitem__(self, words) -> np.ndarray:
        """(D,) vector of one word, (n, D) of a list of words."""
        if isinstance(words, str):
            return self.get_vector(words)
        return np.vstack([self.get_vector(w) for w in words])

    @property
    def unit(self) -> np.ndarray:
        """Rows scaled to unit length as gensim scales them (zero rows stay zero); computed once."""
        if self._unit is None:
            self._unit = unit_rows(self.vectors)
        return self._unit

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """[(word, cosine), ...] nearest to the mean of the positive words' unit vectors minus the negative
        ones', best first, the query words left out: gensim's most_similar (similarity.py). An analogy "man is
        to king as woman is to ?" is `most_similar(positive=["king", "woman"], negative=["man"])` (3CosAdd).
        `topn=None` returns every word's cosine (V,). KeyError for an unknown word."""
        try:
            return most_similar(self.words, self.unit, positive, negative, topn, restrict_vocab, self.index)
        except KeyError as exc:
            raise KeyError(f"Key '{exc.args[0]}' not present") from None

    def similarity(self, w1, w2) -> float:
        """Cosine similarity of two words (gensim: dot of the two unit vectors, float32)."""
        return float(np.dot(unitvec(self.get_vector(w1)), unitvec(self.get_vector(w2))))

    def save_word2vec_format(self, fname, binary=False) -> None:
        """Write word2vec's binary or text format (atomically); gensim and word2vec.c read both."""
        save_vectors(fname, self, binary=binary)

    @classmethod
    def load_word2vec_format(cls, fname, binary=None, limit=None) -> "WordVectors":
        """Read a word2vec binary or text file (`binary=None` tells them apart); `limit`: the first words only."""
        return load_vectors(fname, "auto" if binary is None else binary, max_words=limit)


def saved_tokenizer(vectors_path):
    """The TokenizerConfig that stage one saved in config.yaml beside `vectors_path`, or None when there is
    none (vectors from gensim or word2vec.c); a note on stderr when the file is there but unreadable."""
    saved = Path(vectors_path).parent / "config.yaml"
    if not saved.is_file():
        return None
    import yaml
    from .config import ConfigError, TokenizerConfig, from_dict
    try:
        section = (yaml.safe_load(saved.read_text(encoding="utf-8")) or {}).get("tokenizer")
        if isinstance(section, dict):
            return from_dict(TokenizerConfig, section, "tokenizer")
    except (yaml.YAMLError, ConfigError, OSError, UnicodeDecodeError, AttributeError):
        from . import progress
        progress.say(f"note: cannot read the tokenizer section of {saved}; using lowercase + whitespace")
    return None


# ---------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------
def save_vectors(path, wv: WordVectors, binary: bool = True) -> None:
    """Write word2vec binary (word2vec.c layout) or text format, atomically."""
    for w in wv.words:
        if not w or any(ch.isspace() for ch in w):
            raise UserError(f"word {w!r} contains whitespace and cannot be stored in word2vec format")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        V, D = wv.vectors.shape
        f.write(f"{V} {D}\n".encode())
        rows = wv.vectors.astype("<f4", copy=False)
        if binary:
            for w, row in zip(wv.words, rows):
                f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            for w, row in zip(wv.words, rows):
                f.write((w + " " + " ".join(repr(float(x)) for x in row) + "\n").encode("utf-8"))


# ---------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------
def _bad(path, what, fix="check that it is a word2vec .bin or .txt file"):
    return UserError(f"vectors file {path}: {what}; {fix}")


def _read_header(path, data: bytes):
    end = data.find(b"\n")
    if end < 0:
        raise _bad(path, "no header line")
    parts = data[:end].split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise _bad(path, f"header {data[:min(end, 60)]!r} is not 'vocab_size dimension'")
    V, D = int(parts[0]), int(parts[1])
    if V <= 0 or D <= 0:
        raise _bad(path, f"header says {V} words of dimension {D}")
    return V, D, end + 1


def _looks_binary(data: bytes, start: int, D: int) -> bool:
    end = data.find(b"\n", start)
    line = data[start:end if end >= 0 else len(data)]
    try:
        return len(line.decode("utf-8").split()) != D + 1
    except UnicodeDecodeError:
        return True


def load_vectors(path, binary="auto", max_words=None, expect_dim=None) -> WordVectors:
    """Read a word2vec binary or text file. `binary`: 'auto', 'binary'/True or 'text'/False."""
    path = Path(path)
    if not path.is_file():
        from .config import command_that_writes
        make = command_that_writes(path)
        how = f"`{make}` writes it" if make else \
            "train them with `pipeline train-embeddings --set output.dir=...`, or set vectors.path"
        raise UserError(f"vectors file not found: {path}; {how}")
    size = path.stat().st_size
    if size == 0:
        raise _bad(path, "the file is empty")
    with open(path, "rb") as f:
        data = f.read()
    V, D, pos = _read_header(path, data)
    if expect_dim is not None and D != expect_dim:
        raise _bad(path, f"dimension is {D}, expected {expect_dim}", "use vectors of the dimension the model was trained on")
    if binary == "auto":
        binary = _looks_binary(data, pos, D)
    elif isinstance(binary, str):
        binary = binary == "binary"
    # Each row needs at least 4*D bytes (binary) or 2*D (text: a digit and a space): a header that
    # promises more rows than the file can hold is refused before anything is allocated.
    min_row = 4 * D + 2 if binary else 2 * D + 2
    if V * min_row > size - pos:
        raise _bad(path, f"header promises {V} rows of dimension {D} but the file has only {size} bytes "
                         f"(truncated?)")
    n = V if max_words is None else min(V, max_words)
    words, vectors = (_parse_binary if binary else _parse_text)(path, data, pos, n, D)
    if not np.isfinite(vectors).all():
        bad = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
        raise _bad(path, f"the vector of '{words[bad]}' (row {bad + 1}) holds NaN or infinity",
                   "re-train the vectors (a NaN loss usually means the learning rate is too high)")
    seen = {}
    for i, w in enumerate(words):
        if w in seen:
            raise _bad(path, f"word '{w}' appears twice (rows {seen[w] + 1} and {i + 1})",
                       "remove the duplicate rows")
        seen[w] = i
    return WordVectors(words, vectors)


def _parse_binary(path, data, pos, n, D):
    words = []
    vectors = np.empty((n, D), dtype=np.float32)
    row_bytes = 4 * D
    for i in range(n):
        while pos < len(data) and data[pos:pos + 1] in (b"\n", b"\r"):
            pos += 1
        space = data.find(b" ", pos, pos + 10_000)
        if space < 0 or space + 1 + row_bytes > len(data):
            raise _bad(path, f"row {i + 1} of {n} is truncated")
        try:
            word = data[pos:space].decode("utf-8")
        except UnicodeDecodeError:
            word = data[pos:space].decode("utf-8", errors="replace")
        words.append(word)
        vectors[i] = np.frombuffer(data, dtype="<f4", count=D, offset=space + 1)
        pos = space + 1 + row_bytes
    return words, vectors


def _parse_text(path, data, pos, n, D):
    lines = data[pos:].split(b"\n")
    words = []
    vectors = np.empty((n, D), dtype=np.float32)
    i = 0
    for lineno, raw in enumerate(lines, start=2):
        if i == n:
            break
        if not raw.strip():
            continue
        parts = raw.decode("utf-8", errors="replace").rstrip().split(" ")
        if len(parts) != D + 1:
            raise _bad(path, f"line {lineno} has {len(parts) - 1} values, the header says {D}")
        try:
            vectors[i] = [float(x) for x in parts[1:]]
        except ValueError:
            raise _bad(path, f"line {lineno} holds a value that is not a number") from None
        words.append(parts[0])
        i += 1
    if i < n:
        raise _bad(path, f"only {i} rows of the {n} the header promises (truncated?)")
    return words, vectors

