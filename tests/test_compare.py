"""benchmarks/compare_gensim.py on a tiny corpus: JSON keys, ratios, the side that goes first alternating, errors,
the gensim child importing nothing of ours, and its RESULTS.md rows. Timings are never asserted (they belong in
benchmarks/)."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "compare_gensim.py"
spec = importlib.util.spec_from_file_location("compare_gensim", SCRIPT)
cg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cg)

TINY = ["corpus.paths=[gensim:lee_background.cor]", "train.epochs=1", "train.vector_size=20"]


def compare(tmp_path, *extra):
    args = ["--quiet", "--config", str(ROOT / "configs" / "bench-en-mixed.yaml")]
    for s in TINY + [f"corpus.cache_dir={tmp_path / 'cache'}"]:
        args += ["--set", s]
    return cg.main(args + list(extra))


def test_json_keys_ratios_and_alternation(tmp_path, capsys, monkeypatch):
    order = []
    real_run = cg._run
    monkeypatch.setattr(cg, "_run", lambda side, *a: order.append(side) or real_run(side, *a))
    path = tmp_path / "cmp.json"
    assert compare(tmp_path, "--repeats", "2", "--no-results", "--json", str(path)) == 0
    assert order == ["ours", "gensim", "gensim", "ours"]
    out = capsys.readouterr().out
    assert "ours/gensim" in out and "WordSim-353" in out and "seconds (training)" in out
    assert out.count("load ") >= 4                      # checked before every child
    result = json.loads(path.read_text())
    for side in ("ours", "gensim", "ratio"):
        assert set(cg.KEYS) <= set(result[side]), side
    for key in cg.KEYS:
        ours, theirs, ratio = result["ours"][key], result["gensim"][key], result["ratio"][key]
        if ours is None or not theirs:
            assert ratio is None, key
        else:
            assert ratio == pytest.approx(ours / theirs), key
    assert result["gensim"]["loss"] is None and result["ours"]["loss"] > 0
    for side in ("ours", "gensim"):
        for run in result["runs"][side]:                # training is a part of the whole run
            assert 0 < run["train_seconds"] < run["seconds"] and run["read_vocab_seconds"] > 0
    assert result["gensim"]["peak_rss_mb"] > 10
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


def test_gensim_child_imports_nothing_of_ours(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"corpus_file": str(corpus), "arguments": {"sg": 1, "hs": 0, "negative": 2,
                                  "vector_size": 8, "min_count": 1, "epochs": 1, "workers": 1}}))
    probe = ("import runpy, sys\n"
             f"sys.argv = [{str(SCRIPT)!r}, 'gensim', {str(params)!r}, {str(tmp_path / 'out')!r}, '3']\n"
             "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'pipeline', 'numba', 'results', 'yaml'}))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["vocab_size"] == 7 and m["corpus_words"] == 240 and m["train_seconds"] > 0
    assert (tmp_path / "out" / "vectors.bin").stat().st_size > 0


def test_results_rows_go_into_their_own_section(tmp_path):
    run = {k: 2.0 for k in cg.KEYS}
    summary = cg.summarise({"ours": [dict(run, seconds=1.0, train_seconds=0.5, loss=3.0)],
                            "gensim": [dict(run, loss=None)]})
    assert summary["ratio"]["seconds"] == 0.5 and summary["ratio"]["loss"] is None
    info = {"corpus": "c.txt", "corpus_words": 10, "settings": "dim 2", "repeats": 1}
    load = cg.results.Load()
    path = tmp_path / "RESULTS.md"
    cg.results.append(cg.SECTION, cg.SECTION_TEXT, [cg.result_row(summary, info, load, "compare --config a|b")],
                      path=path)
    # another benchmark's section after ours must not receive our rows
    path.write_text(path.read_text() + "\n## Other\n\n| a |\n| --- |\n| 1 |\n")
    cg.results.append(cg.SECTION, cg.SECTION_TEXT, [cg.result_row(summary, info, load, "compare --config x")],
                      path=path)
    text = path.read_text()
    assert text.count(cg.SECTION) == 1 and text.endswith("| 1 |\n")
    ours = text[text.index(cg.SECTION):text.index("## Other")]
    rows = ours[len(cg.SECTION_TEXT):].strip().splitlines()
    columns = cg.SECTION_TEXT.strip().splitlines()[-1].count("|")
    assert len(rows) == 2 and all(r.replace("\\|", "").count("|") == columns for r in rows)
    assert "2.00x" in rows[0] and "4.00x" in rows[0] and "--config x" in rows[1]   # end to end, training
