"""Rows land at the end of their own section's table, wherever the section stands in RESULTS.md."""
from pipeline.results import insert_rows

A = "## A\n\n| x |\n| --- |\n| a1 |\n"
B = "## B\n\nprose\n\n| y |\n| --- |\n| b1 |\n"


def test_rows_go_to_their_own_section_in_the_middle_of_the_file():
    text = insert_rows("# Results\n\n" + A + "\n" + B, "## A", A, ["| a2 |\n"])
    assert text == "# Results\n\n" + A + "| a2 |\n\n" + B


def test_missing_section_is_appended_then_filled():
    text = insert_rows("# Results\n\n" + A, "## B", "## B\n\n| y |\n| --- |\n", ["| b1 |\n"])
    assert text.endswith("## B\n\n| y |\n| --- |\n| b1 |\n") and text.startswith("# Results\n\n" + A)
