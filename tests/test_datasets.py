"""Downloads, checksums, safe unpacking and the named data sets, all without the network.

A local HTTP server (127.0.0.1, a free port) serves archives the tests build in the real layouts; the
registry's checksums are patched to those archives' digests and `PIPELINE_MIRROR` points the canonical
URLs at the server.
"""
import functools
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from pipeline import datasets
from pipeline.datasets import Remote, Source
from pipeline.errors import UserError


def sha1(data: bytes) -> str:
    return "sha1:" + hashlib.sha1(data).hexdigest()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, list of requested paths)."""
    root = tmp_path / "www"
    root.mkdir()
    requests = []

    class Handler(_QuietHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "data"
    monkeypatch.setattr(datasets, "DATA_DIR", d)
    monkeypatch.delenv("PIPELINE_MIRROR", raising=False)
    return d


def serve(root: Path, url: str, data: bytes) -> None:
    """Put `data` where the server answers `url`'s path."""
    path = root / url.split("://", 1)[1].split("/", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def make_tar(members: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


POS = b"a gripping , beautifully acted film \n" * 3 + b"caf\xe9 society \n"
NEG = b"a dull , lifeless mess \n" * 4


def patch_mr(monkeypatch, archive: bytes, pos=POS, neg=NEG):
    """Register `mr` with the test archive's digest and the test members' digests."""
    real = datasets.SOURCES["mr"]
    src = Source("mr", "MR", (Remote(real.remotes[0].url, (sha256(archive),), len(archive),
                                     real.remotes[0].members),),
                 {"rt-polarity.pos": (len(pos), sha1(pos), sha256(pos)),
                  "rt-polarity.neg": (len(neg), sha1(neg))})
    monkeypatch.setitem(datasets.SOURCES, "mr", src)
    return src


def mr_archive(**extra) -> bytes:
    return make_tar({"rt-polaritydata/rt-polarity.pos": POS, "rt-polaritydata/rt-polarity.neg": NEG, **extra})


def test_registry_is_complete():
    for name, src in datasets.SOURCES.items():
        assert src.name == name and src.remotes and src.files
        for size, *digests in src.files.values():
            assert size > 0 and digests
            for spec in digests:
                algo, hexd = spec.split(":")
                assert len(hexd) == {"sha1": 40, "sha256": 64}[algo]


def test_mr_download_lands_verifies_and_is_not_repeated(server, data_dir, monkeypatch):
    base, root, requests = server
    archive = mr_archive(**{"rt-polaritydata/README": b"readme"})
    src = patch_mr(monkeypatch, archive)
    serve(root, src.remotes[0].url, archive)
    monkeypatch.setenv("PIPELINE_MIRROR", base)

    out = datasets.download(["mr"], quiet=True)
    assert out == {"mr": data_dir / "MR"}
    assert (data_dir / "MR" / "rt-polarity.pos").read_bytes() == POS
    assert (data_dir / "MR" / "rt-polarity.neg").read_bytes() == NEG
    assert sorted(p.name for p in (data_dir / "MR").iterdir()) == ["rt-polarity.neg", "rt-polarity.pos"]
    assert len(requests) == 1

    datasets.download(["mr"], quiet=True)
    assert len(requests) == 1                      # present and verified: no second fetch


def test_text8_zip_and_override_argument(server, data_dir, monkeypatch):
    base, root, requests = server
    text = b" anarchism originated as a term of abuse" * 50
    archive = make_zip({"text8": text})
    url = datasets.SOURCES["text8"].remotes[0].url
    monkeypatch.setitem(datasets.SOURCES, "text8", Source(
        "text8", "text8", (Remote(url, (sha1(archive),), len(archive), {"text8": "text8"}),),
        {"text8": (len(text), sha1(text))}))
    serve(root, url, archive)
    datasets.download(["text8"], base_url_override={"text8": base}, quiet=True)
    assert requests == ["/dc/text8.zip"]
    assert datasets.prepare_corpus("text8") == [data_dir / "text8" / "text8"]
    assert (data_dir / "text8" / "text8").read_bytes() == text


def test_plain_files_sst2(server, data_dir, monkeypatch):
    base, root, _ = server
    real = datasets.SOURCES["sst2"]
    contents = {"train": b"1 good\n0 bad\n", "dev": b"1 fine\n", "test": b"0 awful\n"}
    for remote, split in zip(real.remotes, ("train", "dev", "test")):
        serve(root, remote.url, contents[split])
    files = {f"stsa.binary.{s}": (len(b), sha1(b)) for s, b in contents.items()}
    monkeypatch.setitem(datasets.SOURCES, "sst2", Source("sst2", "SST2", real.remotes, files))
    datasets.download(["sst2"], base_url_override={"sst2": base + "/"}, quiet=True)
    spec = datasets.labelled_dataset("sst2", None)
    assert spec["format"] == "label_first"
    assert Path(spec["train"][0]).read_bytes() == contents["train"]
    assert Path(spec["test"][0]).name == "stsa.binary.test"


def test_checksum_mismatch_raises_and_leaves_nothing(server, data_dir, monkeypatch):
    base, root, _ = server
    archive = mr_archive()
    src = patch_mr(monkeypatch, archive)
    corrupted = bytearray(archive)
    corrupted[len(corrupted) // 2] ^= 0xFF
    serve(root, src.remotes[0].url, bytes(corrupted))
    with pytest.raises(UserError, match="rt-polaritydata.tar.gz") as err:
        datasets.download(["mr"], base_url_override={"mr": base}, quiet=True)
    expected = src.remotes[0].digests[0].split(":")[1]
    assert expected in str(err.value)
    assert hashlib.sha256(bytes(corrupted)).hexdigest() in str(err.value)
    assert list((data_dir / "MR").iterdir()) == []


def test_member_checksum_mismatch_raises(server, data_dir, monkeypatch):
    base, root, _ = server
    archive = mr_archive()
    src = patch_mr(monkeypatch, archive, pos=POS + b"tampered\n")
    serve(root, src.remotes[0].url, archive)
    with pytest.raises(UserError, match="rt-polarity.pos"):
        datasets.download(["mr"], base_url_override={"mr": base}, quiet=True)
    assert list((data_dir / "MR").iterdir()) == []


@pytest.mark.parametrize("evil", ["../evil", "/tmp/evil-absolute", "rt-polaritydata/../../evil"])
def test_tar_with_escaping_member_is_refused(server, data_dir, monkeypatch, tmp_path, evil):
    base, root, _ = server
    archive = mr_archive(**{evil: b"owned"})
    src = patch_mr(monkeypatch, archive)
    serve(root, src.remotes[0].url, archive)
    with pytest.raises(UserError, match="refusing"):
        datasets.download(["mr"], base_url_override={"mr": base}, quiet=True)
    assert not (tmp_path / "evil").exists() and not (data_dir / "evil").exists()
    assert list((data_dir / "MR").iterdir()) == []


def test_tar_with_symlink_outside_is_refused(server, data_dir, monkeypatch):
    base, root, _ = server
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        link = tarfile.TarInfo("rt-polaritydata/rt-polarity.pos")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    archive = buf.getvalue()
    src = patch_mr(monkeypatch, archive)
    serve(root, src.remotes[0].url, archive)
    with pytest.raises(UserError, match="refusing"):
        datasets.download(["mr"], base_url_override={"mr": base}, quiet=True)


def test_zip_with_escaping_member_is_refused(server, data_dir, monkeypatch):
    base, root, _ = server
    archive = make_zip({"text8": b"x", "../evil": b"owned"})
    url = datasets.SOURCES["text8"].remotes[0].url
    monkeypatch.setitem(datasets.SOURCES, "text8", Source(
        "text8", "text8", (Remote(url, (sha1(archive),), None, {"text8": "text8"}),), {"text8": (1, sha1(b"x"))}))
    serve(root, url, archive)
    with pytest.raises(UserError, match="unsafe member"):
        datasets.download(["text8"], base_url_override={"text8": base}, quiet=True)


def test_unreachable_url_raises_user_error(data_dir, monkeypatch):
    with socket.socket() as s:            # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PIPELINE_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(UserError, match=r"cannot download sst2 from http://127\.0\.0\.1.*check your connection"):
        datasets.download(["sst2"], quiet=True)
    assert not any((data_dir / "SST2").iterdir())


def test_http_404_raises_user_error(server, data_dir):
    base, _, _ = server
    with pytest.raises(UserError, match="HTTP 404"):
        datasets.download(["sst2"], base_url_override={"sst2": base}, quiet=True)


def test_unknown_names():
    with pytest.raises(UserError, match="known: text8, mr, sst2"):
        datasets.download(["imdb"])
    with pytest.raises(UserError, match="dataset:gensim-wiki"):
        datasets.prepare_corpus("wiki103")
    with pytest.raises(UserError, match="gensim-polarity"):
        datasets.labelled_dataset("imdb", None)


def test_text8_missing_points_at_make_data(data_dir):
    with pytest.raises(UserError, match="text8 is not downloaded; run `make data`"):
        datasets.prepare_corpus("text8")


def test_labelled_gensim_polarity():
    spec = datasets.labelled_dataset("gensim-polarity", None)
    assert spec["format"] == "fasttext" and spec["dev"] == [] and spec["test"] == []
    (path,) = spec["train"]
    lines = Path(path).read_bytes().decode(spec["encoding"]).split("\n")   # strict: every byte decodes
    assert all(line.startswith("__label__") for line in lines if line)


def test_labelled_mr_missing_and_present(data_dir, tmp_path):
    with pytest.raises(UserError, match=r"make data.*--set data\.path=FOLDER"):
        datasets.labelled_dataset("mr", None)
    folder = tmp_path / "mr-copy"
    folder.mkdir()
    (folder / "rt-polarity.pos").write_bytes(POS)
    (folder / "rt-polarity.neg").write_bytes(NEG)
    spec = datasets.labelled_dataset("mr", str(folder))
    assert spec["format"] == "class_files" and spec["encoding"] == "cp1252"
    assert [Path(p).name for p in spec["train"]] == ["rt-polarity.pos", "rt-polarity.neg"]


@pytest.fixture(scope="module")
def wiki_dir(tmp_path_factory):
    """DATA_DIR with gensim-wiki extracted once for the module (about 6-10 s)."""
    d = tmp_path_factory.mktemp("wiki-data")
    mp = pytest.MonkeyPatch()
    mp.setattr(datasets, "DATA_DIR", d)
    (path,) = datasets.prepare_corpus("gensim-wiki")
    yield d, path
    mp.undo()


def test_gensim_wiki_extraction(wiki_dir):
    d, path = wiki_dir
    assert path == d / "gensim-wiki.txt"
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""                            # ends with a newline
    lines = lines[:-1]
    tokens = [t for line in lines for t in line.split(" ")]
    assert all(lines) and "" not in tokens            # no empty paragraph, single spaces
    assert 300_000 < len(tokens) < 700_000
    assert all(t == t.lower() and 1 <= len(t) <= 30 for t in tokens)
    assert {"the", "of", "anarchism"} <= set(tokens)
    assert not any(line.startswith("redirect ") for line in lines)
    assert not list(d.glob(".gensim-wiki.txt.*"))     # no temporary left behind


def test_gensim_wiki_is_reused(wiki_dir, monkeypatch):
    d, path = wiki_dir
    before = path.stat().st_mtime_ns
    monkeypatch.setattr(datasets, "DATA_DIR", d)

    def boom(*a, **k):
        raise AssertionError("re-extracted")
    import gensim.corpora.wikicorpus as wc
    monkeypatch.setattr(wc, "extract_pages", boom)
    assert datasets.prepare_corpus("gensim-wiki") == [path]
    assert path.stat().st_mtime_ns == before
