"""The README's Python example runs as it stands (in a scratch folder: it writes vectors.bin and model.npz)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_example() -> str:
    """The first ```python block of the README's "Python API" section."""
    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the Python API section has no python code block"
    return blocks[0]


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(python_example(), "README.md (Python API)", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert (tmp_path / "vectors.bin").is_file() and (tmp_path / "model.npz").is_file()
    assert "['neg' 'pos']" in out                      # clf.classes_
