"""Reference tier for stage two: our classifier and optimisers against PyTorch's (skipped without PyTorch:
`pip install -e '.[compare]'`).

The model is driven through pipeline/classifier/model.py (init_params, forward, and loss_and_grads = forward +
backward), the stable surface over the cell kernels, and rebuilt in PyTorch with the same numbers copied in:

    ours                          PyTorch
    table[ids]                    the same gather (frozen: no gradient)
    P (projection, D)             X @ P^T (a leaf tensor)
    l{k}.{fwd,bwd}.W / .U         nn.RNN(tanh) / nn.LSTM / nn.GRU weight_ih_l{k}[_reverse] / weight_hh_...
                                  (gate order i, f, g, o and r, z, n: the same as ours)
    .b (Elman, LSTM)              bias_ih + bias_hh (split at random: only their sum matters, and each gets dL/db)
    .b / .b_h (GRU)               bias_ih / bias_hh (b_hn stays inside r * (W_hn h + b_hn))
    lengths                       pack_padded_sequence(enforce_sorted=False), pad_packed_sequence
    pooling last / mean / max     h_n of the last layer / masked mean / masked max of its outputs, per direction
    dropout mask, V, c            R * mask, R @ V^T + c, F.cross_entropy (mean)

Everything in float64, so agreement is to rounding (rtol 1e-9). Every parameter's gradient is compared; dL/dX
is checked where we compute it: into the projection P (layer 0's input), and between stacked layers (through
layer 0's gradients in the 2-layer cases). The optimisers: Adam and SGD (with and without momentum) against
torch.optim for a few steps, with weight decay as ours defines it (g + wd p on weight matrices only, which is
torch's L2 `weight_decay` given to a parameter group holding only the matrices); clip_global_norm against
torch.nn.utils.clip_grad_norm_, which divides by (norm + 1e-6) where ours divides by (norm + 1e-12), hence rtol 1e-6
there. Not compared: truncated BPTT (bptt_steps) and clip_norm 0 (ours: off; torch: zero gradients).
"""
import numpy as np
import pytest

from pipeline.classifier import model as M
from pipeline.classifier.optim import SGD, Adam, clip_global_norm
from pipeline.config import RNNModelConfig

torch = pytest.importorskip("torch")

T, D, H, C, V = 7, 6, 4, 3, 20
LENGTHS = np.array([7, 3, 5, 1, 6], np.int32)    # B = 5, unsorted, one of length 1, one full
CONFIGS = {
    "1 layer, last": dict(layers=1, bidirectional=False, pooling="last", dropout=0.0),
    "2 layers bidirectional, last, projection, dropout": dict(layers=2, bidirectional=True, pooling="last",
                                                              projection=5, dropout=0.3),
    "2 layers, mean": dict(layers=2, bidirectional=False, pooling="mean", dropout=0.0),
    "bidirectional, max": dict(layers=1, bidirectional=True, pooling="max", dropout=0.0),
}
TOL = dict(rtol=1e-9, atol=1e-12)


def problem(lengths, seed=0):
    """table (V+2, D), ids (B, T) padded with the PAD row, labels (B,)."""
    rng = np.random.default_rng(seed)
    table = np.zeros((V + 2, D))                      # words, UNK, PAD (zeros)
    table[:V + 1] = rng.normal(0, 0.5, (V + 1, D))
    ids = np.full((len(lengths), T), V + 1, np.int32)
    for row, L in enumerate(lengths):
        ids[row, :L] = rng.integers(0, V + 1, L)
    return table, ids, rng.integers(0, C, len(lengths)).astype(np.int32)


def random_params(mc, seed=1):
    """init_params' names and shapes in float64, every entry random (zero biases would hide a swapped bias)."""
    rng = np.random.default_rng(seed)
    return {k: rng.normal(0, 0.5, v.shape) for k, v in M.init_params(mc, D, C, seed, np.float64).items()}


def torch_reference(params, mc, table, ids, lengths, y, mask, seed=2):
    """(loss, logits, grads named as ours) of the same model written with torch.nn."""
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(seed)
    leaf = {k: torch.tensor(v, requires_grad=True) for k, v in params.items() if k in ("P", "V", "c")}
    X = torch.from_numpy(table)[torch.from_numpy(ids.astype(np.int64))]              # (B, T, D)
    if "P" in leaf:
        X = X @ leaf["P"].T                                                           # (B, T, projection)
    kind = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[mc.cell]
    rnn = kind(X.shape[2], H, num_layers=mc.layers, bidirectional=mc.bidirectional, batch_first=True,
               dtype=torch.float64)
    names, split_biases = {}, []                      # our name -> torch parameter; (bias_ih, bias_hh) pairs
    with torch.no_grad():
        for layer in range(mc.layers):
            for d in M.directions(mc):
                pre, sfx = f"l{layer}.{d}.", f"_l{layer}" + ("_reverse" if d == "bwd" else "")
                for ours, theirs in (("W", "weight_ih"), ("U", "weight_hh"), ("b", "bias_ih")):
                    names[pre + ours] = getattr(rnn, theirs + sfx)
                if mc.cell == "gru":
                    names[pre + "b_h"] = getattr(rnn, "bias_hh" + sfx)
                    names[pre + "b"].copy_(torch.from_numpy(params[pre + "b"]))
                    names[pre + "b_h"].copy_(torch.from_numpy(params[pre + "b_h"]))
                else:
                    split = rng.normal(0, 0.5, params[pre + "b"].shape)
                    names[pre + "b"].copy_(torch.from_numpy(params[pre + "b"] - split))
                    getattr(rnn, "bias_hh" + sfx).copy_(torch.from_numpy(split))
                    split_biases.append((names[pre + "b"], getattr(rnn, "bias_hh" + sfx)))
                names[pre + "W"].copy_(torch.from_numpy(params[pre + "W"]))
                names[pre + "U"].copy_(torch.from_numpy(params[pre + "U"]))
    lengths = torch.from_numpy(lengths.astype(np.int64))
    packed = nn.utils.rnn.pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)
    h_n = h_n[0] if mc.cell == "lstm" else h_n                                        # (layers * dirs, B, H)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, dirs * H)
    real = (torch.arange(T)[None, :] < lengths[:, None])[:, :, None]                   # (B, T, 1)
    if mc.pooling == "last":
        R = torch.cat(list(h_n[-len(M.directions(mc)):]), dim=1)   # forward's final state, then backward's (t = 0)
    elif mc.pooling == "mean":
        R = out.sum(1) / lengths[:, None]
    else:
        R = out.masked_fill(~real, -torch.inf).max(1).values
    if mask is not None:
        R = R * torch.from_numpy(mask)
    logits = R @ leaf["V"].T + leaf["c"]
    loss = F.cross_entropy(logits, torch.from_numpy(y.astype(np.int64)))
    loss.backward()
    grads = {k: t.grad.numpy() for k, t in leaf.items()}
    grads.update({k: t.grad.numpy() for k, t in names.items()})
    for b_ih, b_hh in split_biases:                   # each half of a split bias gets the whole dL/db
        np.testing.assert_allclose(b_ih.grad, b_hh.grad, **TOL)
    return float(loss.detach()), logits.detach().numpy(), grads


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_forward_and_every_gradient_equal_pytorchs(cell, config):
    mc = RNNModelConfig(cell=cell, hidden_size=H, input_dropout=0.0, **CONFIGS[config])   # masks: pooled only
    table, ids, y = problem(LENGTHS)
    params = random_params(mc)
    mask = M.dropout_mask(mc, len(y), np.random.default_rng(7), np.float64) if mc.dropout else None
    loss, grads, probs = M.loss_and_grads(params, mc, table, ids, LENGTHS, y, train=True,
                                          rng=np.random.default_rng(7))   # the same mask as `mask`
    want_loss, want_logits, want = torch_reference(params, mc, table, ids, LENGTHS, y, mask)
    logits, _ = M.forward(params, mc, table, ids, LENGTHS, train=True, mask=mask)
    np.testing.assert_allclose(logits, want_logits, **TOL)
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(want_logits), 1).numpy(), **TOL)
    assert loss == pytest.approx(want_loss, rel=1e-9)
    assert set(grads) == set(want) == set(params)
    for k in params:
        np.testing.assert_allclose(grads[k], want[k], err_msg=k, **TOL)


def test_two_threads_give_pytorchs_gradients_too():
    """loss_and_grads splits a batch's rows over threads and sums the parts' gradients: still PyTorch's."""
    lengths = np.array([7, 6, 6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1], np.int32)   # 16 rows: 2 parts of 8
    mc = RNNModelConfig(cell="lstm", hidden_size=H, bidirectional=True, pooling="mean", dropout=0.0)
    table, ids, y = problem(lengths, 3)
    params = random_params(mc, 4)
    loss, grads, _ = M.loss_and_grads(params, mc, table, ids, lengths, y, threads=2)
    want_loss, _, want = torch_reference(params, mc, table, ids, lengths, y, None)
    assert loss == pytest.approx(want_loss, rel=1e-9)
    for k in params:
        np.testing.assert_allclose(grads[k], want[k], err_msg=k, **TOL)


# ------------------------------------------------------------------------------------------- optimisers
def optimiser_problem(steps=6, seed=5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = {"W": rng.normal(0, 1, (3, 4)).astype(dtype), "b": rng.normal(0, 1, 4).astype(dtype)}
    grads = [{k: rng.normal(0, 1, v.shape).astype(dtype) for k, v in params.items()} for _ in range(steps)]
    return params, grads


def run_both(ours, make_torch, params, grads, rtol):
    """Step ours and torch's optimiser on the same gradients; compare the parameters after every step.
    Weight decay goes to a torch parameter group holding the matrix only (ours decays matrices only)."""
    leaves = {k: torch.tensor(v.copy()) for k, v in params.items()}
    opt = make_torch([{"params": [leaves["W"]]}, {"params": [leaves["b"]], "weight_decay": 0.0}])
    for g in grads:
        ours.step(params, {k: v.copy() for k, v in g.items()})
        for k, t in leaves.items():
            t.grad = torch.from_numpy(g[k].copy())
        opt.step()
        for k in params:
            np.testing.assert_allclose(params[k], leaves[k].numpy(), rtol=rtol, atol=rtol * 1e-3, err_msg=k)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_equals_torch_adam(weight_decay):
    params, grads = optimiser_problem()
    ours = Adam(params, lr=0.01, weight_decay=weight_decay, beta1=0.8, beta2=0.99, eps=1e-6)
    run_both(ours, lambda groups: torch.optim.Adam(groups, lr=0.01, betas=(0.8, 0.99), eps=1e-6,
                                                   weight_decay=weight_decay), params, grads, 1e-12)


def test_adam_in_float32_equals_torch_adam_to_float32_rounding():
    params, grads = optimiser_problem(dtype=np.float32)
    run_both(Adam(params, lr=0.002), lambda groups: torch.optim.Adam(groups, lr=0.002), params, grads, 1e-5)


@pytest.mark.parametrize("momentum, weight_decay", [(0.9, 0.0), (0.9, 0.1), (0.0, 0.1)])
def test_sgd_equals_torch_sgd(momentum, weight_decay):
    params, grads = optimiser_problem()
    ours = SGD(params, lr=0.05, momentum=momentum, weight_decay=weight_decay)
    run_both(ours, lambda groups: torch.optim.SGD(groups, lr=0.05, momentum=momentum,
                                                  weight_decay=weight_decay), params, grads, 1e-12)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])     # clipped, and left alone
def test_clip_global_norm_equals_clip_grad_norm(max_norm):
    _, grads = optimiser_problem(steps=1)
    grads = grads[0]
    leaves = []
    for v in grads.values():
        leaves.append(torch.zeros(v.shape, dtype=torch.float64))
        leaves[-1].grad = torch.from_numpy(v.copy())
    want_norm = float(torch.nn.utils.clip_grad_norm_(leaves, max_norm))
    assert clip_global_norm(grads, max_norm) == pytest.approx(want_norm, rel=1e-12)
    for v, t in zip(grads.values(), leaves):
        np.testing.assert_allclose(v, t.grad.numpy(), rtol=1e-6)   # torch: norm + 1e-6, ours: norm + 1e-12
    if max_norm < want_norm:
        assert np.sqrt(sum((v ** 2).sum() for v in grads.values())) == pytest.approx(max_norm, rel=1e-9)
