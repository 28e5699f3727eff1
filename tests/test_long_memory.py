"""Long memory: the label is the FIRST of T tokens, the other T - 1 are random distractors, `last` pooling.

Only back-propagation through all T steps finds the key token. These tests assert what DOES learn: at T = 20
the LSTM (forget bias 1, the default) and the GRU (a majority of seeds 0-2); at T = 50 the GRU and the LSTM
with its forget gate open at the start (model.forget_bias = 5). What does NOT learn (the Elman cell at
T = 20 and 50, the LSTM with forget bias 1 at T = 50) is a measured fact, not a test: it is in
benchmarks/RESULTS.md ("Long memory"), seed by seed, with the command that measured it
(`.venv/bin/python benchmarks/long_memory.py`), which also defines the task (`train_first_token`).
Fixed seeds, one BLAS thread: the runs are deterministic.

Run: .venv/bin/python -m pytest -q tests/test_long_memory.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from long_memory import train_first_token  # noqa: E402


def learned(cell, T, seeds=(0, 1, 2)):
    """How many of `seeds` reach > 0.9 held-out accuracy at length T (lr 0.005, up to 1,000 steps)."""
    return sum(train_first_token(cell, seed, 1000, T=T, lr=0.005) > 0.9 for seed in seeds)


def test_at_length_20_lstm_and_gru_learn():
    assert learned("lstm", 20) >= 2   # default forget bias 1
    assert learned("gru", 20) >= 2


def test_at_length_50_gru_succeeds():
    assert train_first_token("gru", seed=0, steps=600) > 0.9


def test_at_length_50_lstm_with_open_forget_gate_succeeds():
    assert train_first_token("lstm", seed=0, steps=600, forget_bias=5.0) > 0.9
