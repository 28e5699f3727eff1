"""benchmarks/results.py, the one writer of benchmarks/RESULTS.md: rows land at the end of their own section's
table wherever the section stands, a missing section is created, a section whose columns changed gets a new
table, and two processes appending at once lose no row (the lock)."""
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
import results  # noqa: E402

A = "## A\n\n| x |\n| --- |\n| a1 |\n"
B = "## B\n\nprose\n\n| y |\n| --- |\n| b1 |\n"


def test_rows_go_to_their_own_section_in_the_middle_of_the_file():
    text = results.insert_rows("# Results\n\n" + A + "\n" + B, "## A", A, ["| a2 |\n"])
    assert text == "# Results\n\n" + A + "| a2 |\n\n" + B


def test_missing_section_is_appended_then_filled():
    text = results.insert_rows("# Results\n\n" + A, "## B", "## B\n\n| y |\n| --- |\n", ["| b1 |\n"])
    assert text.endswith("## B\n\n| y |\n| --- |\n| b1 |\n") and text.startswith("# Results\n\n" + A)


def test_new_columns_start_a_new_table_and_blocks_close_the_section():
    new = "## A\n\n| x | z |\n| --- | --- |\n"
    text = results.insert_rows("# Results\n\n" + A + "\nnotes\n\n" + B, "## A", new, ["| a2 | 2 |\n"])
    assert text == "# Results\n\n" + A + "\nnotes\n\n| x | z |\n| --- | --- |\n| a2 | 2 |\n\n" + B
    text = results.insert_rows(text, "## A", new, ["| a3 | 3 |\n"], block="### Report\n\nall good")
    assert text == ("# Results\n\n" + A + "\nnotes\n\n| x | z |\n| --- | --- |\n| a2 | 2 |\n| a3 | 3 |\n"
                    "\n### Report\n\nall good\n\n" + B)


def test_header_prefix_and_row_escape_pipes():
    head = results.header("cell", "command")
    assert head.splitlines()[0] == "| date (UTC) | machine | versions | load | cell | command |"
    assert head.splitlines()[1].count("---") == 6
    assert results.row(["a|b", 2]) == "| a\\|b | 2 |\n"


def test_load_text_names_the_start_load_and_others(capsys):
    load = results.Load()
    load.check("repeat 1")
    assert "before repeat 1" in capsys.readouterr().out
    text = load.text()
    assert text.split(" / ")[0] == f"{load.start:.2f}" and ("others" in text or not Path("/proc/stat").exists())


WRITER = """
import sys
sys.path.insert(0, {bench!r})
import results
for i in range({n}):
    results.append("## S", "## S\\n\\n" + results.header("who", "i"), [results.row(["d", "m", "v", "l", {who!r}, i])],
                   path={path!r})
"""


def test_two_processes_appending_at_once_lose_no_row(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text(results.TITLE + "\n" + B)
    n = 40
    procs = [subprocess.Popen([sys.executable, "-c", WRITER.format(bench=str(BENCH), n=n, who=who, path=str(path))])
             for who in ("p", "q")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    text = path.read_text()
    for who in ("p", "q"):
        assert [int(line.split("|")[6]) for line in text.splitlines() if f"| {who} |" in line] == list(range(n))
    assert text.count("## S") == 1 and text.count("| who |") == 1 and B in text
    assert not list(tmp_path.glob(".RESULTS.md.*"))   # no temporary file left behind
