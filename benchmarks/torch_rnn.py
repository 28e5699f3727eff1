"""bench_rnn.py's PyTorch side: the same classifier in PyTorch, and an inference variant that reads the frozen
table's input projection from a precomputed table, as ours does.

    TorchModel(cell, table, torch)   nn.Embedding.from_pretrained(freeze=True) -> pack_padded_sequence(
                                     enforce_sorted=True) -> nn.RNN(tanh) / nn.LSTM / nn.GRU -> h_n -> nn.Linear;
                                     training: cross_entropy, backward, clip_grad_norm_(5.0), torch.optim.Adam
    Precomputed(model, torch, cold)  the same model's inference with W_ih E[w] (+ biases) read from a table

Why a custom loop for the precomputed variant. nn.RNN / nn.LSTM / nn.GRU take the input x_t and always multiply
it by W_ih inside (on CPU, one GEMM over all packed tokens, then a C++ loop over steps: ATen's PackedLayer with
pre_compute_input). There is no entry point that takes W_ih x_t ready-made, and feeding a G-wide table through
an identity weight_ih replaces the (D x G) input GEMM by a larger (G x G) one. So `Precomputed` runs the loop
PackedLayer runs, in Python, with the gate maths of nn.LSTM / nn.GRU / nn.RNN and the packed batch sizes of a
length-sorted batch (step t updates the first batch_sizes[t] rows, those still running), starting from
Z[packed ids] instead of the GEMM:

    Z[w] = W_ih E[w] + b_ih (+ b_hh for Elman and the LSTM, where the two biases simply add; the GRU keeps b_hh
    apart since b_hn sits inside r * (W_hn h + b_hn)), one row per word: torch.addmm over the table's rows.

It keeps only the states the classifier needs (h_n, and c for the LSTM), not every step's output.
`benchmarks/torch_alone.py` times this loop against the plain modules, the identity-weight_ih formulation and the
same loop without the table (one GEMM over the packed tokens per batch).

`cold=False` computes every word's row once, when built (a loaded model); `cold=True` computes, in each call,
the rows of the words that call's batches hold (torch.unique, one addmm), as a fresh model must: the same work
as our Predictor's fill. tests/test_bench_rnn.py checks both against TorchModel's logits.
"""
from __future__ import annotations

import numpy as np

B_CLASSES = 2


class TorchModel:
    """The benchmark's classifier in PyTorch (float32, one layer, one direction, `last` pooling = h_n)."""

    def __init__(self, cell, table, torch, hidden=128, classes=B_CLASSES):
        nn = self.nn = torch.nn
        self.torch, self.cell = torch, cell
        self.emb = nn.Embedding.from_pretrained(torch.from_numpy(np.array(table)), freeze=True)
        kind = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = kind(table.shape[1], hidden, batch_first=True)      # nn.RNN: nonlinearity tanh
        self.out = nn.Linear(hidden, classes)
        self.params = list(self.rnn.parameters()) + list(self.out.parameters())
        self.opt = torch.optim.Adam(self.params, lr=0.002)

    def convert(self, batches):
        """numpy (ids, lengths, y) -> int64 tensors (lengths on the CPU, as pack_padded_sequence wants)."""
        t = self.torch
        return [(t.from_numpy(ids.astype(np.int64)), t.from_numpy(lengths.astype(np.int64)),
                 t.from_numpy(y.astype(np.int64))) for ids, lengths, y in batches]

    def logits(self, ids, lengths):
        packed = self.nn.utils.rnn.pack_padded_sequence(self.emb(ids), lengths, batch_first=True,
                                                        enforce_sorted=True)
        _, h_n = self.rnn(packed)
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n                 # LSTM: (h_n, c_n)
        return self.out(h_n[-1])                                        # (B, C)

    def train(self, batches):
        F = self.nn.functional
        for ids, lengths, y in batches:
            self.opt.zero_grad(set_to_none=True)
            F.cross_entropy(self.logits(ids, lengths), y).backward()
            self.nn.utils.clip_grad_norm_(self.params, 5.0)
            self.opt.step()

    def infer(self, batches):
        with self.torch.inference_mode():
            for ids, lengths, _ in batches:
                self.torch.softmax(self.logits(ids, lengths), dim=1)


class Precomputed:
    """Inference of `model` (a TorchModel, weights copied now) with layer 0's input part read from a table."""

    def __init__(self, model, torch, cold):
        self.torch, self.cell, self.cold = torch, model.cell, cold
        rnn = model.rnn
        with torch.no_grad():
            self.E = model.emb.weight.detach().clone()                  # (V, D) frozen table
            self.W_ihT = rnn.weight_ih_l0.detach().t().contiguous()     # (D, G)
            self.W_hhT = rnn.weight_hh_l0.detach().t().contiguous()     # (H, G)
            self.b_in = rnn.bias_ih_l0.detach().clone()                 # what Z holds besides W_ih x
            self.b_hh = rnn.bias_hh_l0.detach().clone()
            if self.cell != "gru":
                self.b_in += self.b_hh
            self.out_W, self.out_b = model.out.weight.detach().clone(), model.out.bias.detach().clone()
            self.Z = None if cold else torch.addmm(self.b_in, self.E, self.W_ihT)   # (V, G)
        self.pack = model.nn.utils.rnn.pack_padded_sequence

    def _rows(self, batches):
        """(Z, [ids as rows of Z per batch]): cold = rows of the words these batches hold, computed now."""
        if not self.cold:
            return self.Z, [ids for ids, _, _ in batches]
        t = self.torch
        words, inverse = t.unique(t.cat([ids.reshape(-1) for ids, _, _ in batches]), return_inverse=True)
        Z = t.addmm(self.b_in, self.E.index_select(0, words), self.W_ihT)   # (words, G)
        rows, at = [], 0
        for ids, _, _ in batches:
            rows.append(inverse[at:at + ids.numel()].view(ids.shape))
            at += ids.numel()
        return Z, rows

    def logits(self, Z, rows, lengths):
        packed = self.pack(rows, lengths, batch_first=True, enforce_sorted=True)
        h = self.last_state(Z.index_select(0, packed.data), packed.batch_sizes.tolist())
        return self.torch.addmm(self.out_b, h, self.out_W.t())          # (B, C)

    def last_state(self, Zp, batch_sizes):
        """h_n (B, H) of the packed rows Zp (N, G) = W_ih x_t + b: nn.RNN / nn.LSTM / nn.GRU's step maths."""
        t, W_hhT = self.torch, self.W_hhT
        H = W_hhT.shape[0]
        h = t.zeros(batch_sizes[0], H)
        c = t.zeros(batch_sizes[0], H) if self.cell == "lstm" else None
        at = 0
        for bs in batch_sizes:                                   # rows still running: the first bs
            z, hb = Zp[at:at + bs], h[:bs]
            at += bs
            if self.cell == "elman":
                t.tanh(t.addmm(z, hb, W_hhT), out=hb)
            elif self.cell == "lstm":
                i, f, g, o = t.addmm(z, hb, W_hhT).chunk(4, 1)   # PyTorch's gate order i, f, g, o
                cb = c[:bs]
                cb.mul_(f.sigmoid_()).addcmul_(i.sigmoid_(), g.tanh_())
                t.mul(o.sigmoid_(), cb.tanh(), out=hb)
            else:
                r_i, z_i, n_i = z.chunk(3, 1)                    # PyTorch's gate order r, z, n
                r_h, z_h, n_h = t.addmm(self.b_hh, hb, W_hhT).chunk(3, 1)
                r = (r_i + r_h).sigmoid_()
                u = (z_i + z_h).sigmoid_()
                n = n_i.addcmul(r, n_h).tanh_()
                hb.sub_(n).mul_(u).add_(n)                       # h' = (1 - u) n + u h = n + u (h - n)
        return h

    def infer(self, batches):
        with self.torch.inference_mode():
            Z, rows = self._rows(batches)
            for r, (_, lengths, _) in zip(rows, batches):
                self.torch.softmax(self.logits(Z, r, lengths), dim=1)
