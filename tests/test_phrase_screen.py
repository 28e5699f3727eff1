"""benchmarks/phrase_screen.py on tiny made-up text: frequent word pairs are joined in the text and in MR,
punctuation is never joined, and the joined text tokenizes back to the same tokens."""
import gzip
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("phrase_screen", ROOT / "benchmarks" / "phrase_screen.py")
phrase_screen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(phrase_screen)

from pipeline.text import Tokenizer  # noqa: E402

PATTERN = r"\w+(?:'\w+)*|'\w+|[^\w\s]"


def test_joins_word_pairs_only_and_round_trips(tmp_path):
    lines = []
    for i in range(200):
        lines.append(f"a{i} new york b{i} ( c{i} ) , d{i} .")   # ") ," is as frequent as "new york"
    text = tmp_path / "text.txt.gz"
    with gzip.open(text, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    mr = tmp_path / "MR"
    mr.mkdir()
    (mr / "rt-polarity.pos").write_bytes("New York ( again ) is caf\xe9 heaven .\n".encode("cp1252"))
    (mr / "rt-polarity.neg").write_bytes("a dull trip to new york .\n".encode("cp1252"))
    config = tmp_path / "emb.yaml"
    config.write_text(f"tokenizer:\n  lowercase: true\n  pattern: \"{PATTERN.replace(chr(92), chr(92) * 2)}\"\n")
    out = tmp_path / "out"
    phrase_screen.main(["--text", str(text), "--mr", str(mr), "--out", str(out), "--config", str(config),
                        "--min-count", "5", "--threshold", "0.5"])
    joined = gzip.open(out / "text.txt.gz", "rt", encoding="utf-8").read().split("\n")
    assert joined[0].split() == ["a0", "new_york", "b0", "(", "c0", ")", ",", "d0", "."]
    tok = Tokenizer(lowercase=True, pattern=PATTERN)
    for line in joined[:20]:
        assert tok(line) == line.split()          # the joined text tokenizes back to its own tokens
    pos = (out / "MR" / "rt-polarity.pos").read_bytes().decode("cp1252").split("\n")
    assert pos[0] == "new_york ( again ) is caf\xe9 heaven ."
    neg = (out / "MR" / "rt-polarity.neg").read_bytes().decode("cp1252").split("\n")
    assert neg[0].endswith("new_york .") and len(neg) == 2 and neg[1] == ""
