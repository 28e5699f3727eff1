"""The results file (benchmarks/RESULTS.md): each benchmark owns a "## " section holding one table, and
appends its dated rows at the end of that table, wherever the section stands in the file.

    text = insert_rows(text, SECTION, SECTION_TEXT, ["| 2026-11-26 | ... |\\n"])
"""
from __future__ import annotations


def table_end(lines: list[str], section: str) -> int:
    """Index in `lines` of the last row of the first table under the heading line starting with `section`
    (its line ending made sure, so rows can go right after it)."""
    at = next(i for i, ln in enumerate(lines) if ln.startswith(section))
    at = next(i for i in range(at, len(lines)) if lines[i].startswith("| ---"))
    while at + 1 < len(lines) and lines[at + 1].startswith("|"):
        at += 1
    if not lines[at].endswith("\n"):
        lines[at] += "\n"
    return at


def insert_rows(text: str, section: str, section_text: str, rows: list[str]) -> str:
    """`text` with `rows` added to `section`'s table; the section (`section_text`: heading, prose and the
    table's header) is appended first when the file does not have it yet."""
    if section not in text:
        text = text.rstrip("\n") + "\n\n" + section_text
    lines = text.splitlines(keepends=True)
    at = table_end(lines, section)
    lines[at + 1:at + 1] = rows
    return "".join(lines)
