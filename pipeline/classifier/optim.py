"""Optimisers on a dict of named parameter arrays: SGD with momentum, Adam; clipping by global norm.

    g <- g + weight_decay * p           (L2 on weight matrices only, never on biases; in `step`)
    SGD:  m <- momentum m + g,  p <- p - lr m
    Adam: m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,
          p <- p - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)      (Kingma & Ba 2015, bias-corrected)

Gradients are clipped in one place (`clip_global_norm`, before `step`): when the L2 norm over all
gradients exceeds clip_norm every gradient is scaled by clip_norm / norm (Pascanu et al. 2013, the answer
to exploding gradients in BPTT). Updates happen in place; state arrays are saved with checkpoints.
"""
from __future__ import annotations

import numpy as np


def clip_global_norm(grads: dict, max_norm: float) -> float:
    """Scale `grads` in place so their global L2 norm is at most `max_norm` (0 = off); returns the norm
    before clipping (float64; inf/NaN pass through so the driver can stop)."""
    norm = float(np.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads.values())))
    if max_norm > 0 and np.isfinite(norm) and norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= scale
    return norm


class Optimizer:
    """Shared bookkeeping: state arrays per parameter, step count, save/restore."""

    def __init__(self, params: dict, lr: float, weight_decay: float = 0.0):
        self.lr, self.weight_decay, self.t = lr, weight_decay, 0
        self.state = {}

    def _decay(self, name, p, g):
        if self.weight_decay > 0 and p.ndim >= 2:
            return g + self.weight_decay * p
        return g

    def state_arrays(self) -> dict:
        out = {f"opt.{k}": v for k, v in self.state.items()}
        out["opt_t"] = np.array(self.t, np.int64)
        return out

    def load_state_arrays(self, arrays: dict) -> None:
        for k in self.state:
            self.state[k][...] = arrays[f"opt.{k}"]
        self.t = int(arrays["opt_t"])


class SGD(Optimizer):
    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = momentum
        if momentum > 0:
            self.state = {f"m.{k}": np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        for k, p in params.items():
            g = self._decay(k, p, grads[k])
            if self.momentum > 0:
                m = self.state[f"m.{k}"]
                m *= self.momentum
                m += g
                g = m
            p -= self.lr * g


class Adam(Optimizer):
    def __init__(self, params, lr, weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(params, lr, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.state = {}
        for k, v in params.items():
            self.state[f"m.{k}"] = np.zeros_like(v)
            self.state[f"v.{k}"] = np.zeros_like(v)

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = self.lr * np.sqrt(1.0 - b2 ** self.t) / (1.0 - b1 ** self.t)  # both bias corrections folded in
        eps_t = self.eps * np.sqrt(1.0 - b2 ** self.t)
        for k, p in params.items():
            g = self._decay(k, p, grads[k])
            m, v = self.state[f"m.{k}"], self.state[f"v.{k}"]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            p -= (lr_t * m / (np.sqrt(v) + eps_t)).astype(p.dtype)


def make_optimizer(tc, params: dict) -> Optimizer:
    """From RNNTrainConfig `tc`."""
    if tc.optimizer == "sgd":
        return SGD(params, tc.lr, tc.momentum, tc.weight_decay)
    return Adam(params, tc.lr, tc.weight_decay)
