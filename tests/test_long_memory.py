"""Long memory: the label is the FIRST of T tokens, the other T - 1 are random distractors, `last` pooling.

At T = 20 the plain Elman cell stays at chance while the LSTM (forget bias 1, the default) and the GRU find the
key token: the issue's facts, tested on seeds 0-2 (a majority must learn, none of the Elman runs may). At T = 50
the LSTM needs its forget gate to start open (model.forget_bias = 5); with the bias at 1 it does NOT learn
within this step budget: both facts are tested too. Fixed seeds, one BLAS thread: the runs are deterministic.

Measured (2026-11-27, lr 0.005, 1,000 steps, seeds 0-9, best held-out accuracy):
- T = 20: LSTM (bias 1) learns 9 of 10 seeds (1.00 x 8, 0.95; seed 8 at 0.55), GRU 8 of 10, Elman 0 of 10
  (best 0.57; still 0 of 10 after 3,000 steps).
- T = 25: LSTM 6 of 10, GRU 5 of 10, Elman 0 of 10. T = 30 (seeds 0-2): LSTM 1 of 3, GRU 0 of 3 at lr 0.005
  (3 of 3 at lr 0.02), Elman 0 of 3.
So "Elman fails where LSTM and GRU succeed" holds from T = 20; the longer the sequence, the more the LSTM
with bias 1 depends on the seed, which is what the T = 50 tests pin down.

What was tried before (seeds 0-2, batch 32, Adam, clip 5, key tokens 0/1 among V = 10, D = 16, H = 16 unless
noted; accuracy on 400 held-out sequences every 50 steps):
- distractor embeddings N(0, 0.5^2): Elman LEARNS T = 30, T = 40 (2/2 seeds, ~900 steps) and even T = 100
  (1 of 3 seeds reached 0.85 in 400 steps): orthogonal U keeps its gradient alive at this scale.
- a single repeated filler token instead of random distractors: Elman learned T = 200 at once (seed 1).
- embeddings N(0, 1.5^2) (these tests), T = 50, lr 0.02: Elman at chance after 600 steps (3/3 seeds: best
  0.56, 0.52, 0.535), GRU at 1.0 after 300 (seed 0) and 450 (seed 1) steps but at chance for seed 2.
  LSTM, forget bias 1: at chance after 1,500 steps (2/2 seeds; also H = 32, lr 0.01; H = 64, lr 0.01,
  1,000 steps; lr 0.05, 1,000 steps, 2/2 seeds; lr 0.005 and N(0, 0.5^2) or N(0, 1) distractors, 2/2 seeds,
  where the GRU and one Elman seed learn). With the bias at 1, f ~ 0.73 and the gradient to the first step
  shrinks like 0.73^49 ~ 2e-7 before the gate can learn to stay open. Forget bias 2 / 3 / 5 (2026-11-26,
  1,000 steps, seeds 0-2): lr 0.02: 1 / 2 / 3 seeds of 3 learn, those at 3 and 5 within 50 steps;
  lr 0.005: 2 / 3 / 3. At T = 100 (lr 0.01) bias 3 learned 1 seed of 2 tried.

Run: .venv/bin/python -m pytest -q tests/test_long_memory.py   (about 20 s once the kernels are cached)
"""
import numpy as np

from pipeline.config import RNNModelConfig
from pipeline.classifier import model as M
from pipeline.classifier.optim import Adam, clip_global_norm
from pipeline.classifier.threads import blas_threads

K, V, D, H = 2, 10, 16, 16


def train_first_token(cell, seed, steps, T=50, lr=0.02, batch=32, forget_bias=1.0):
    """Best held-out accuracy (checked every 50 steps) after up to `steps` Adam steps."""
    rng = np.random.default_rng(seed)
    table = np.zeros((V + 2, D), np.float32)
    table[:V] = rng.standard_normal((V, D)) * 1.5

    def sample(n):
        ids = rng.integers(K, V, (n, T)).astype(np.int32)  # distractors
        ids[:, 0] = rng.integers(0, K, n)  # the key token decides the label
        return ids, np.full(n, T, np.int32), ids[:, 0].copy()

    mc = RNNModelConfig(cell=cell, hidden_size=H, pooling="last", forget_bias=forget_bias)
    p = M.init_params(mc, D, K, seed=seed)
    opt = Adam(p, lr)
    test_ids, test_len, test_y = sample(400)
    best = 0.0
    with blas_threads(1):
        for step in range(1, steps + 1):
            ids, lengths, y = sample(batch)
            _, grads, _ = M.loss_and_grads(p, mc, table, ids, lengths, y)
            clip_global_norm(grads, 5.0)
            opt.step(p, grads)
            if step % 50 == 0:
                logits, _ = M.forward(p, mc, table, test_ids, test_len, keep_cache=False)
                best = max(best, float((logits.argmax(1) == test_y).mean()))
                if best > 0.95:
                    break
    return best


def learned(cell, T, seeds=(0, 1, 2)):
    """How many of `seeds` reach > 0.9 held-out accuracy at length T (lr 0.005, up to 1,000 steps)."""
    return sum(train_first_token(cell, seed, 1000, T=T, lr=0.005) > 0.9 for seed in seeds)


def test_at_length_20_elman_fails_where_lstm_and_gru_succeed():
    assert learned("elman", 20) == 0
    assert learned("lstm", 20) >= 2   # default forget bias 1
    assert learned("gru", 20) >= 2


def test_at_length_50_elman_fails():
    assert train_first_token("elman", seed=0, steps=600) < 0.65


def test_at_length_50_gru_succeeds():
    assert train_first_token("gru", seed=0, steps=600) > 0.9


def test_at_length_50_lstm_with_open_forget_gate_succeeds():
    assert train_first_token("lstm", seed=0, steps=600, forget_bias=5.0) > 0.9


def test_at_length_50_lstm_with_forget_bias_1_stays_at_chance():
    """The limitation, measured: with the usual bias of 1 the LSTM does not find the key at T = 50."""
    assert train_first_token("lstm", seed=0, steps=600) < 0.65
