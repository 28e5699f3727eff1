"""Named data sets: bundled corpora, checksummed downloads, labelled-text formats.

Three jobs, one module:

* `prepare_corpus(name)` turns a `dataset:NAME` corpus spec into plain-text files. `gensim-wiki` is the
  shortened English Wikipedia dump that ships inside gensim's test data, extracted once (about 6 s) with
  gensim's own WikiCorpus parts to `data/gensim-wiki.txt`, one paragraph per line; `text8` is Mahoney's
  100M-character Wikipedia sample, which must have been downloaded first.
* `download(names)` fetches the real data sets from their canonical homes (the `SOURCES` registry), checks
  every byte against published checksums before anything is used, unpacks archives without letting a
  member escape its folder, and renames the result into place so a half-finished download never looks
  finished. Data sets already present and verified are skipped.
* `labelled_dataset(name, path)` tells stage two where a named labelled set lives and in which format.

Run it:

    pipeline download text8 mr sst2        # or: make data   (needs the network)
    python -m pipeline.datasets mr sst2    # the same, without the CLI

Everything lands under `DATA_DIR` (`data/`, or `$PIPELINE_DATA`), which git ignores. `$PIPELINE_MIRROR`
(e.g. `http://127.0.0.1:8000`) replaces the scheme and host of every download URL: tests serve archives
from a local server that way, and users behind a mirror can do the same.
"""
from __future__ import annotations

import bz2
import contextlib
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import progress
from .atomicio import atomic_path
from .errors import UserError

DATA_DIR = Path(os.environ.get("PIPELINE_DATA", "data"))

WIKI_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
CHUNK = 1 << 20               # bytes per read while streaming and hashing
TIMEOUT = 60                  # seconds without a byte before a download is given up


# ---------------------------------------------------------------------------------------------------
# Registry of downloadable data sets
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Remote:
    """One file to fetch. `digests` ("sha1:..." / "sha256:...") are checked before the file is used;
    empty when no trustworthy checksum is published (the extracted files are then what is verified).
    `members` maps archive member names to file names in the data set's folder; empty = not an archive."""
    url: str
    digests: tuple[str, ...] = ()
    size: int | None = None
    members: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    name: str
    folder: str                   # under DATA_DIR
    remotes: tuple[Remote, ...]
    files: dict                   # final file name -> (size in bytes, digests...): what "present and verified" means
    about: str = ""


SOURCES: dict[str, Source] = {
    "text8": Source(
        name="text8", folder="text8",
        # Checksums as published by dmlc/gluon-nlp (gluonnlp/data/corpora/text8.py, which downloads this very
        # URL and checks its sha1); the zip's size as checked by TensorFlow's word2vec tutorial.
        remotes=(Remote("http://mattmahoney.net/dc/text8.zip",
                        digests=("sha1:6c70299b93b7e1f927b42cd8f6ac1a31547c7a2e",), size=31_344_016,
                        members={"text8": "text8"}),),
        files={"text8": (100_000_000, "sha1:0dc3edebc970dcc96137e7deda4d9995af9d93de")},
        about="first 10^8 characters of cleaned English Wikipedia (2006), Mahoney's text8",
    ),
    "mr": Source(
        name="mr", folder="MR",
        # No checksum of the tarball itself is published; its two members are verified instead (sha1 from
        # harvardnlp/sent-conv-torch@d61ded0 and yoonkim/CNN_sentence, sha256 computed from the same bytes).
        remotes=(Remote("http://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz",
                        members={"rt-polaritydata/rt-polarity.pos": "rt-polarity.pos",
                                 "rt-polaritydata/rt-polarity.neg": "rt-polarity.neg"}),),
        files={
            "rt-polarity.pos": (626_139, "sha1:5a4794a3e0b1824e634105c307736393b13ccbe3",
                                "sha256:2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0"),
            "rt-polarity.neg": (612_256, "sha1:a4ddb399dc5a8042f4d9247bc239b429cbd46e1a",
                                "sha256:4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"),
        },
        about="Movie Review sentence polarity v1.0 (Pang & Lee 2005), cp1252",
    ),
    "sst2": Source(
        name="sst2", folder="SST2",
        remotes=tuple(
            Remote("https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/"
                   f"d61ded09c99c0199d8c5bca946cd65864de2b296/data/stsa.binary.{split}")
            for split in ("train", "dev", "test")),
        files={
            "stsa.binary.train": (738_844, "sha1:cbcc9c50de1a36dedb2e4cddaf57f0dea5cb517a",
                                  "sha256:71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338"),
            "stsa.binary.dev": (94_400, "sha1:a42cc7e0b53e1d1b1b2bf46d2f6cbd63a3d340bc",
                                "sha256:02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1"),
            "stsa.binary.test": (193_562, "sha1:a132fd23d730e1924071b983657f429f7d225abd",
                                 "sha256:6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b"),
        },
        about="SST-2 sentence level, Kim (2014) split, '<label> <sentence>' per line",
    ),
}

CORPORA = ("gensim-wiki", "text8")


# ---------------------------------------------------------------------------------------------------
# Named corpora for stage one (`dataset:NAME`)
# ---------------------------------------------------------------------------------------------------
def prepare_corpus(name: str) -> list[Path]:
    """Plain-text files of a named unlabelled corpus, preparing them on first use."""
    if name == "gensim-wiki":
        return [_extract_gensim_wiki(DATA_DIR / "gensim-wiki.txt")]
    if name == "text8":
        path = DATA_DIR / "text8" / "text8"
        if not path.is_file():
            raise UserError(f"text8 is not downloaded; run `make data` (needs the network) or "
                            f"`pipeline download text8` to fetch it into {path.parent}")
        return [path]
    raise UserError(f"unknown corpus dataset:{name}; known: {', '.join('dataset:' + n for n in CORPORA)}")


def _extract_gensim_wiki(out: Path) -> Path:
    """Write the wiki dump's articles as one tokenised paragraph per line, keeping what WikiCorpus keeps:
    main-namespace pages (ns 0), no IGNORED_NAMESPACES titles, at least ARTICLE_MIN_WORDS tokens (which
    is how WikiCorpus drops redirects and stubs). Markup is stripped per article (templates span lines),
    then each line of the plain text is one paragraph, tokenised as WikiCorpus does (1-30 chars, lower)."""
    if out.is_file() and out.stat().st_size > 0:
        return out
    from gensim.corpora.wikicorpus import (ARTICLE_MIN_WORDS, IGNORED_NAMESPACES, extract_pages,
                                           filter_wiki, tokenize)
    from gensim.test.utils import datapath

    dump = Path(datapath(WIKI_DUMP))
    if not dump.is_file():
        raise UserError(f"gensim's test data has no {WIKI_DUMP}; reinstall gensim (pip install -e .)")
    progress.say(f"extracting {dump.name} to {out} (once)")
    articles = 0
    with atomic_path(out) as tmp, bz2.open(dump, "rb") as dump_f, \
            open(tmp, "w", encoding="utf-8", newline="\n") as f, progress.bar(unit="article") as bar:
        for title, text, _pageid in extract_pages(dump_f, filter_namespaces=("0",)):
            if any(title.startswith(ns + ":") for ns in IGNORED_NAMESPACES):
                continue
            paragraphs = [tokenize(line, 1, 30, lower=True) for line in filter_wiki(text).split("\n")]
            paragraphs = [p for p in paragraphs if p]
            if sum(len(p) for p in paragraphs) < ARTICLE_MIN_WORDS:
                continue
            f.writelines(" ".join(p) + "\n" for p in paragraphs)
            articles += 1
            bar.update(1)
    if articles == 0:
        out.unlink()
        raise UserError(f"no article survived extraction from {dump}; is gensim's test data intact?")
    return out


# ---------------------------------------------------------------------------------------------------
# Named labelled sets for stage two
# ---------------------------------------------------------------------------------------------------
LABELLED = ("gensim-polarity", "mr", "sst2")


def labelled_dataset(name: str, path: str | None) -> dict:
    """Format, encoding and files (as strings) of a named labelled set, in LabelledDataConfig's terms."""
    if name == "gensim-polarity":
        from gensim.test.utils import datapath
        # 200 MR sentences, Windows-1252 like MR itself (0x97 dashes, e-acute): not valid UTF-8.
        return {"format": "fasttext", "train": [datapath("pang_lee_polarity.cor")], "dev": [], "test": [],
                "encoding": "cp1252"}
    if name == "mr":
        folder = Path(path) if path else DATA_DIR / "MR"
        files = _require(folder, ["rt-polarity.pos", "rt-polarity.neg"], "mr")
        return {"format": "class_files", "train": files, "dev": [], "test": [], "encoding": "cp1252"}
    if name == "sst2":
        folder = Path(path) if path else DATA_DIR / "SST2"
        train, dev, test = _require(folder, [f"stsa.binary.{s}" for s in ("train", "dev", "test")], "sst2")
        return {"format": "label_first", "train": [train], "dev": [dev], "test": [test], "encoding": "utf-8"}
    raise UserError(f"unknown labelled data set {name!r}; known: {', '.join(LABELLED)} "
                    f"(or set data.name: null and give data.train files)")


def _require(folder: Path, names: list[str], dataset: str) -> list[str]:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise UserError(f"{dataset}: {', '.join(missing)} not found in {folder}; run `make data` (needs the "
                        f"network) or point at a folder holding a copy with --set data.path=FOLDER")
    return [str(folder / n) for n in names]


# ---------------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------------
def download(names, base_url_override: dict | None = None, quiet=False) -> dict:
    """Fetch, verify and unpack each named data set into DATA_DIR/<folder>; returns {name: folder}.

    `base_url_override` maps a data-set name to a base URL (scheme + host [+ path prefix]) that replaces
    the canonical URL's scheme and host, as `$PIPELINE_MIRROR` does for every data set."""
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise UserError(f"unknown data set {', '.join(unknown)}; known: {', '.join(SOURCES)}")
    out = {}
    for name in names:
        source = SOURCES[name]
        folder = DATA_DIR / source.folder
        if _verified(folder, source.files):
            if not quiet:
                progress.say(f"{name}: already in {folder}, verified")
            out[name] = folder
            continue
        base = (base_url_override or {}).get(name) or os.environ.get("PIPELINE_MIRROR")
        _fetch_source(source, folder, base, quiet)
        out[name] = folder
        if not quiet:
            progress.say(f"{name}: downloaded and verified into {folder}")
    return out


def _fetch_source(source: Source, folder: Path, base: str | None, quiet: bool) -> None:
    """Download every remote into a staging folder inside `folder`, verify, unpack, verify the final
    files, then rename them into place. On any failure the staging folder (and nothing else) is removed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=folder))
    except OSError as exc:
        raise UserError(f"cannot write {folder}: {exc.strerror}; set PIPELINE_DATA to a writable folder") from None
    try:
        for remote in source.remotes:
            url = _mirrored(remote.url, base)
            local = staging / PurePosixPath(urllib.parse.urlsplit(url).path).name
            _stream(url, local, source, quiet)
            _check(local, remote.size, remote.digests, what=f"{source.name}: downloaded {local.name} ({url})")
            if remote.members:
                _unpack(local, remote.members, staging, source.name)
                local.unlink()
        for fname, (size, *digests) in source.files.items():
            _check(staging / fname, size, digests, what=f"{source.name}: {fname}")
        for fname in source.files:
            os.replace(staging / fname, folder / fname)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _mirrored(url: str, base: str | None) -> str:
    """`url` with its scheme and host replaced by `base` (which may carry a path prefix)."""
    if not base:
        return url
    parts = urllib.parse.urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return base.rstrip("/") + rest


def _stream(url: str, dest: Path, source: Source, quiet: bool) -> None:
    hint = (f"check your connection or fetch it by hand into {DATA_DIR / source.folder} "
            f"(files: {', '.join(source.files)})")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp, open(dest, "wb") as f:
            total = resp.headers.get("Content-Length")
            with _bar(quiet, total=int(total) if total else None, unit="B",
                      desc=f"{source.name} {dest.name}") as bar:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise UserError(f"cannot download {source.name} from {url}: HTTP {exc.code} {exc.reason}; {hint}") from None
    except urllib.error.URLError as exc:
        raise UserError(f"cannot download {source.name} from {url}: {exc.reason}; {hint}") from None
    except (OSError, ValueError) as exc:   # timeouts, resets mid-stream, malformed URLs
        raise UserError(f"cannot download {source.name} from {url}: {exc}; {hint}") from None


class _NoBar:
    def update(self, n):
        pass


def _bar(quiet: bool, **kwargs):
    return contextlib.nullcontext(_NoBar()) if quiet else progress.bar(**kwargs)


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _check(path: Path, size: int | None, digests, what: str) -> None:
    """Raise UserError (and delete `path`) unless it exists with the expected size and every digest."""
    if not path.is_file():
        raise UserError(f"{what}: missing after download; the archive's layout has changed?")
    got_size = path.stat().st_size
    if size is not None and got_size != size:
        path.unlink()
        raise UserError(f"{what}: size mismatch, expected {size} bytes, got {got_size}; download deleted, "
                        f"try again (or the file changed upstream)")
    for spec in digests:
        algo, expected = spec.split(":", 1)
        got = _digest(path, algo)
        if got != expected.lower():
            path.unlink()
            raise UserError(f"{what}: {algo} checksum mismatch, expected {expected}, got {got}; download "
                            f"deleted, try again (or the file changed upstream)")


def _verified(folder: Path, files: dict) -> bool:
    for fname, (size, *digests) in files.items():
        path = folder / fname
        if not path.is_file() or path.stat().st_size != size:
            return False
        if any(_digest(path, spec.split(":")[0]) != spec.split(":", 1)[1] for spec in digests):
            return False
    return True


def _unsafe_name(name: str) -> bool:
    """Absolute paths, drive letters, backslashes or `..` components: a member that could land outside."""
    p = PurePosixPath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in p.parts


def _unpack(archive: Path, members: dict, dest: Path, name: str) -> None:
    """Extract `members` (archive name -> file name in `dest`) from a tar or zip, refusing the whole
    archive if any member could escape (absolute path, `..`, links pointing outside, devices)."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            listed = zf.namelist()
            bad = [m for m in listed if _unsafe_name(m)]
            if bad:
                raise UserError(f"{name}: refusing {archive.name}: unsafe member path {bad[0]!r}")
            for member, target in members.items():
                if member not in listed:
                    raise UserError(f"{name}: {archive.name} has no member {member!r} (has {listed[:5]})")
                with zf.open(member) as src, open(dest / target, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
        return
    try:
        tf = tarfile.open(archive, "r:*")
    except tarfile.TarError as exc:
        raise UserError(f"{name}: {archive.name} is neither a zip nor a tar archive ({exc})") from None
    with tf:
        listed = tf.getmembers()
        for m in listed:
            link_bad = (m.issym() or m.islnk()) and _unsafe_name(m.linkname)
            if _unsafe_name(m.name) or link_bad or m.isdev():
                raise UserError(f"{name}: refusing {archive.name}: unsafe member {m.name!r}")
        by_name = {m.name: m for m in listed}
        unpacked = dest / ".unpacked"
        for member, target in members.items():
            m = by_name.get(member)
            if m is None or not m.isfile():
                raise UserError(f"{name}: {archive.name} has no file member {member!r}")
            try:
                if hasattr(tarfile, "data_filter"):
                    tf.extract(m, unpacked, filter="data")
                else:   # Python without extraction filters: the member was vetted above
                    tf.extract(m, unpacked)
            except (tarfile.TarError, OSError) as exc:
                raise UserError(f"{name}: refusing {archive.name}: {exc}") from None
            os.replace(unpacked / member, dest / target)
        shutil.rmtree(unpacked, ignore_errors=True)


def main(argv=None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(SOURCES)
    try:
        download(names)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
