"""`pipeline compare-gensim` (pipeline/embeddings/compare.py) on a tiny corpus: JSON keys, ratios, errors,
and the RESULTS.md writer. Timings are never asserted (they belong in benchmarks/)."""
import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.embeddings.compare import KEYS, SECTION, SECTION_TEXT, append_results, summarise

ROOT = Path(__file__).resolve().parents[1]
TINY = ["corpus.paths=[gensim:lee_background.cor]", "train.epochs=1", "train.vector_size=20"]


def compare(tmp_path, *extra):
    args = ["--quiet", "compare-gensim", "--config", str(ROOT / "configs" / "bench-en-mixed.yaml")]
    for s in TINY + [f"corpus.cache_dir={tmp_path / 'cache'}"]:
        args += ["--set", s]
    return main(args + list(extra))


def test_json_keys_and_ratios(tmp_path, capsys):
    path = tmp_path / "cmp.json"
    assert compare(tmp_path, "--repeats", "1", "--no-results", "--json", str(path)) == 0
    table = capsys.readouterr().out
    assert "ours/gensim" in table and "WordSim-353" in table
    result = json.loads(path.read_text())
    for side in ("ours", "gensim", "ratio"):
        assert set(KEYS) <= set(result[side]), side
    for key in KEYS:
        ours, theirs, ratio = result["ours"][key], result["gensim"][key], result["ratio"][key]
        if ours is None or not theirs:
            assert ratio is None, key
        else:
            assert ratio == pytest.approx(ours / theirs), key
    assert result["gensim"]["loss"] is None and result["ours"]["loss"] > 0
    assert result["ours"]["seconds"] > 0 and result["gensim"]["peak_rss_mb"] > 10
    assert result["info"]["vocab_ours"] == result["info"]["vocab_gensim"]     # same tokens, same min_count
    assert result["info"]["corpus_words"] == 59890
    assert not list((tmp_path / "cache" / "compare-gensim").glob("run-*"))   # work folders removed


@pytest.mark.parametrize("extra, message", [
    (["--repeats", "0"], "--repeats 0"),
    (["--set", "corpus.paths=[/nonexistent/corpus.txt]"], "file not found"),
])
def test_bad_input_exits_2(tmp_path, capsys, extra, message):
    assert compare(tmp_path, "--no-results", *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_results_rows_go_into_their_own_section(tmp_path):
    run = {k: 2.0 for k in KEYS}
    summary = summarise({"ours": [dict(run, seconds=1.0, loss=3.0)], "gensim": [dict(run, loss=None)]})
    assert summary["ratio"]["seconds"] == 0.5 and summary["ratio"]["loss"] is None
    info = {"corpus": "c.txt", "corpus_words": 10, "settings": "dim 2", "repeats": 1, "load": "1.0 / 2.0"}
    machine = {"processor": "x86_64", "cores": 2, "cpu": "cpu", "python": "3", "numba": "0", "gensim": "4"}
    path = tmp_path / "RESULTS.md"
    append_results(path, summary, info, machine, "pipeline compare-gensim --config a|b")
    # another benchmark's section after ours must not receive our rows
    path.write_text(path.read_text() + "\n## Other\n\n| a |\n| --- |\n| 1 |\n")
    append_results(path, summary, info, machine, "pipeline compare-gensim --config x")
    text = path.read_text()
    assert text.count(SECTION) == 1 and text.endswith("| 1 |\n")
    ours = text[text.index(SECTION):text.index("## Other")]
    rows = ours[len(SECTION_TEXT):].strip().splitlines()
    columns = SECTION_TEXT.strip().splitlines()[-1].count("|")
    assert len(rows) == 2 and all(r.replace("\\|", "").count("|") == columns for r in rows)
    assert "2.00x" in rows[0] and "--config x" in rows[1]
