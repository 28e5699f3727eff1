"""The recurrent cells: Elman, LSTM and GRU, each a pair of functions on ONE row, forward beside backward.

The kernels (recurrence.py) run the steps, the GEMMs, the packing and BPTT for every cell; a cell only turns
one row's pre-activations into its next state, and back. Shapes (legend of recurrence.py): H hidden size,
G = gates x H, E extra state, Q cache row; zx = W x_t and zh = U h_{t-1} (G,) arrive without biases.
Weights are the tuple w = (W (G, D), U (G, H), b (G,), b_h (G,), or (0,) for cells without b_h).

Formulas (PyTorch's conventions, so weights map one to one onto nn.RNN / nn.LSTM / nn.GRU):
- Elman (the project's seed notation): z_t = U h_{t-1} + W x_t + b, h_t = f(z_t), f = tanh or sigmoid (two
  registered cells). Nothing cached: backward reads h_t (f' = 1 - h^2, or h (1 - h)).
- LSTM, gate blocks in the order i, f, g, o: a = W x_t + U h_{t-1} + b, i, f, o = sigmoid(a_i, a_f, a_o),
  g = tanh(a_g), c_t = f c_{t-1} + i g, h_t = o tanh(c_t). PyTorch's two biases b_ih + b_hh are one bias b
  (the driver sets the forget block b[H:2H] to 1). Extra state c (E = H); cache row (5H,) = i, f, g, o, c_t.
  Both recurrent paths, U h_{t-1} and f c_{t-1}, count as one step for truncated BPTT.
- GRU (Cho et al. 2014), blocks r, z, n, with TWO biases, b on the input side and b_h on the recurrent side,
  because the reset gate multiplies the recurrent part with its bias:
  r = sigmoid(W_r x + b_r + U_r h + b_hr), z = sigmoid(W_z x + b_z + U_z h + b_hz),
  n = tanh(W_n x + b_n + r (U_n h + b_hn)), h_t = (1 - z) n + z h_{t-1}. Cache row (4H,) = r, z, n,
  U_n h + b_hn. U h enters apart from W x ("split"), and z h_{t-1} is a "direct" path besides U.

Choices. float32 uses a rational tanh (and sigmoid(x) = (1 + tanh(x/2)) / 2) that vectorises; float64, the
dtype of the gradient checks, keeps np.tanh. A forward row makes ONE pass over j, all gate blocks of unit j
together (no gate buffer between passes). Rows are inlined into the kernels at compile time.

Adding a cell: write `<cell>_row_forward` and `<cell>_row_backward` with the signatures of the stubs
row_forward / row_backward below and `register` them (bottom of this file); tests/test_rnn_kernels.py adds
a minimal gated unit that way, from the test file.
"""
import hashlib
import inspect

import numpy as np
from numba import types
from numba.extending import NativeValue, models, overload, register_jitable, register_model, typeof_impl, unbox

# ----------------------------------------------------------------------------------------------------------
# The row interface: what the kernels call, for a cell chosen by its type at compile time


def row_forward(cell, h, c, zx, zh, cr, w):
    """One step of one row: h (H,) and c (E,) hold h_{t-1}, c_{t-1} and receive h_t, c_t (in place); zx, zh (G,)
    are W x_t and U h_{t-1}, no biases; w the weights. Training writes the cache row cr (Q,) with `save`;
    in inference cr is None, a compile-time constant: `save` then generates no code."""


def row_backward(cell, dzx, dz, dh_prev, dc_prev, dh, dc, h, h_prev, cr, cr_prev):
    """One step of one row for one gradient carrier, from dh (H,) = dL/dh_t and dc (E,) = dL/dc_t:
    dz (G,) <- dL/d(U h_{t-1}) (the kernel sums it into dL/d(W x_t) too, unless the cell is split, whose row
    then adds its input side into dzx (G,)); dh_prev (H,) <- dL/dh_{t-1} by the direct path (direct cells
    only); dc_prev (E,) <- dL/dc_{t-1}. Reads h, h_prev (H,) and the cache rows cr, cr_prev (Q,) of steps
    t and t-1 (zeros before the first step)."""


def save(cr, j, Hd, values):
    """cr[q * Hd + j] = values[q] for each q: the cache entries of unit j; no code at all when cr is None."""


def cell_layout(cell):
    """(extra, split, direct) of the cell, as compile-time constants."""


class CellType(types.Dummy):
    """Numba type of a Cell: one type per (name, digest of its row maths), hence one compiled kernel each."""

    def __init__(self, name, digest):
        self.cell_name, self.digest = name, digest
        super().__init__(f"Cell({name}, {digest})")


class Cell:
    """A cell as the kernels see it: G = gates x H, E = extra x H, Q = cache x H; split: U h enters apart
    from W x (so dL/d(U h) gets its own array); direct: h_t depends on h_{t-1} outside U as well."""

    def __init__(self, name, gates, row_forward, row_backward, extra=0, cache=0, split=False, direct=False):
        self.name, self.gates, self.extra, self.cache = name, gates, extra, cache
        self.split, self.direct, self.row_forward, self.row_backward = split, direct, row_forward, row_backward
        self.numba_type = CellType(name, _digest(row_forward, row_backward))

    def __repr__(self):
        return f"Cell({self.name!r}, gates={self.gates}, extra={self.extra}, cache={self.cache})"


_CELLS = {}  # name -> Cell, read by the overloads below when a kernel compiles


def register(name, gates, row_forward, row_backward, extra=0, cache=0, split=False, direct=False) -> Cell:
    """Make a cell known to the kernels; returns the handle they take as their `cell` argument."""
    cell = Cell(name, gates, row_forward, row_backward, extra, cache, split, direct)
    old = _CELLS.setdefault(name, cell)
    if vars(old) != vars(cell):
        raise ValueError(f"a different cell is already registered as {name!r}")
    return old


def _digest(*functions):
    """sha1 of the files defining `functions` and the modules and functions they name (NumPy and Numba
    aside). Numba's disk cache checks only the kernel's own file, recurrence.py; this digest is in the
    cell's type, hence in the cache key, so an edited row function compiles afresh."""
    files = set()
    for fn in functions:
        files.add(fn.__code__.co_filename)
        for name in fn.__code__.co_names:
            obj = fn.__globals__.get(name)
            mod = obj if inspect.ismodule(obj) else inspect.getmodule(obj) if callable(obj) else None
            if getattr(mod, "__file__", None) and mod.__name__.split(".")[0] not in ("numpy", "numba"):
                files.add(mod.__file__)
    sha = hashlib.sha1()
    for path in sorted(files):
        with open(path, "rb") as f:
            sha.update(f.read())
    return sha.hexdigest()[:16]


# A Cell crosses into jitted code as its type alone: no data at run time (a first-class function would put an
# address into the cache key and compile again in every process).
register_model(CellType)(models.OpaqueModel)
typeof_impl.register(Cell)(lambda val, c: val.numba_type)
unbox(CellType)(lambda typ, obj, c: NativeValue(c.context.get_dummy_value()))


@overload(row_forward, inline="always")
def _row_forward_impl(cell, h, c, zx, zh, cr, w):
    return _CELLS[cell.cell_name].row_forward


@overload(row_backward, inline="always")
def _row_backward_impl(cell, dzx, dz, dh_prev, dc_prev, dh, dc, h, h_prev, cr, cr_prev):
    return _CELLS[cell.cell_name].row_backward


@overload(cell_layout)
def _cell_layout_impl(cell):
    spec = _CELLS[cell.cell_name]
    layout = (spec.extra, spec.split, spec.direct)
    return lambda cell: layout


@overload(save, inline="always")
def _save_impl(cr, j, Hd, values):
    if isinstance(cr, types.NoneType):
        return lambda cr, j, Hd, values: None
    # one store per value at a constant offset: a loop over the tuple kept the row's j loop from vectorising
    code = "def store(cr, j, Hd, values):\n" + "".join(f"    cr[{q} * Hd + j] = values[{q}]\n"
                                                      for q in range(len(values)))
    scope = {}
    exec(code, scope)
    return scope["store"]


# ----------------------------------------------------------------------------------------------------------
# Activations. tanh(x) ~ x P(x^2) / Q(x^2) on |x| <= 9, clamped beyond: a least-squares rational fit, max abs
# error 2e-8 (below float32 resolution near 1). It vectorises only in pure float32 with nothing that can
# raise: float32 constants, np.minimum/np.maximum for the clamp (Python's min/max with float literals promote
# to float64), error_model="numpy" on the kernels. libm's tanhf does not vectorise.
_TANH_P = tuple(np.float32(v) for v in (0.9999999064507668, 0.13372936897656687, 0.0034862705633633305,
                                         2.0466666521936835e-05, 1.3177058805213804e-08))
_TANH_Q = tuple(np.float32(v) for v in (1.0, 0.4670623375790806, 0.02584079873807659, 0.00032708741034623696,
                                         7.699728951440776e-07))
_F32_CLAMP = np.float32(9.0)
_F32_HALF = np.float32(0.5)


@register_jitable
def _tanh_rational(x):
    x = np.minimum(np.maximum(x, -_F32_CLAMP), _F32_CLAMP)
    s = x * x
    p = _TANH_P[0] + s * (_TANH_P[1] + s * (_TANH_P[2] + s * (_TANH_P[3] + s * _TANH_P[4])))
    q = _TANH_Q[0] + s * (_TANH_Q[1] + s * (_TANH_Q[2] + s * (_TANH_Q[3] + s * _TANH_Q[4])))
    return x * p / q


def tanh(x, dtype):
    """tanh in the dtype's precision: the rational fit for float32, np.tanh otherwise."""
    return np.tanh(x)


@overload(tanh, jit_options={"cache": True, "error_model": "numpy"})
def _tanh_overload(x, dtype):
    if isinstance(dtype, types.DType) and dtype.dtype == types.float32:
        return lambda x, dtype: _tanh_rational(x)
    return lambda x, dtype: np.tanh(x)


def sigmoid(x, dtype):
    """sigmoid(x) = (1 + tanh(x / 2)) / 2, in the dtype's precision (see tanh)."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


@overload(sigmoid, jit_options={"cache": True, "error_model": "numpy"})
def _sigmoid_overload(x, dtype):
    if isinstance(dtype, types.DType) and dtype.dtype == types.float32:
        return lambda x, dtype: _F32_HALF * _tanh_rational(_F32_HALF * x) + _F32_HALF
    return lambda x, dtype: 0.5 * np.tanh(0.5 * x) + 0.5


# ----------------------------------------------------------------------------------------------------------
# Elman: h_t = f(U h_{t-1} + W x_t + b)

def _elman(use_sigmoid):
    """The Elman pair with f = sigmoid (use_sigmoid) or tanh, a compile-time constant of the pair."""

    def elman_row_forward(cell, h, c, zx, zh, cr, w):
        b, dt = w[2], h.dtype
        if use_sigmoid:
            for j in range(h.shape[0]):
                h[j] = sigmoid(zx[j] + zh[j] + b[j], dt)
        else:
            for j in range(h.shape[0]):
                h[j] = tanh(zx[j] + zh[j] + b[j], dt)

    def elman_row_backward(cell, dzx, dz, dh_prev, dc_prev, dh, dc, h, h_prev, cr, cr_prev):
        one = dh.dtype.type(1)  # 1.0 would promote float32 to float64 and keep the loop scalar
        if use_sigmoid:
            for j in range(h.shape[0]):
                dz[j] = dh[j] * h[j] * (one - h[j])  # f' = h (1 - h)
        else:
            for j in range(h.shape[0]):
                dz[j] = dh[j] * (one - h[j] * h[j])  # f' = 1 - h^2

    return elman_row_forward, elman_row_backward


# ----------------------------------------------------------------------------------------------------------
# LSTM: blocks i, f, g, o; cache row = i, f, g, o, c_t

def lstm_row_forward(cell, h, c, zx, zh, cr, w):
    b, dt, Hd = w[2], h.dtype, h.shape[0]
    for j in range(Hd):
        i = sigmoid(zx[j] + zh[j] + b[j], dt)
        f = sigmoid(zx[Hd + j] + zh[Hd + j] + b[Hd + j], dt)
        g = tanh(zx[2 * Hd + j] + zh[2 * Hd + j] + b[2 * Hd + j], dt)
        o = sigmoid(zx[3 * Hd + j] + zh[3 * Hd + j] + b[3 * Hd + j], dt)
        c[j] = f * c[j] + i * g
        h[j] = o * tanh(c[j], dt)
        save(cr, j, Hd, (i, f, g, o, c[j]))


def lstm_row_backward(cell, dzx, dz, dh_prev, dc_prev, dh, dc, h, h_prev, cr, cr_prev):
    one, dt, Hd = dh.dtype.type(1), dh.dtype, dh.shape[0]
    for j in range(Hd):
        i, f, g, o = cr[j], cr[Hd + j], cr[2 * Hd + j], cr[3 * Hd + j]
        tc = tanh(cr[4 * Hd + j], dt)  # tanh(c_t)
        dct = dc[j] + dh[j] * o * (one - tc * tc)  # dL/dc_t: from step t+1 and through h_t
        dz[j] = dct * g * i * (one - i)
        dz[Hd + j] = dct * cr_prev[4 * Hd + j] * f * (one - f)  # c_{t-1} from the previous cache row
        dz[2 * Hd + j] = dct * i * (one - g * g)
        dz[3 * Hd + j] = dh[j] * tc * o * (one - o)
        dc_prev[j] = dct * f


# ----------------------------------------------------------------------------------------------------------
# GRU: blocks r, z, n; cache row = r, z, n, U_n h_{t-1} + b_hn

def gru_row_forward(cell, h, c, zx, zh, cr, w):
    b, b_h, dt, Hd = w[2], w[3], h.dtype, h.shape[0]
    one = dt.type(1)
    for j in range(Hd):
        r = sigmoid(zx[j] + b[j] + zh[j] + b_h[j], dt)
        z = sigmoid(zx[Hd + j] + b[Hd + j] + zh[Hd + j] + b_h[Hd + j], dt)
        hn = zh[2 * Hd + j] + b_h[2 * Hd + j]
        n = tanh(zx[2 * Hd + j] + b[2 * Hd + j] + r * hn, dt)
        h[j] = (one - z) * n + z * h[j]
        save(cr, j, Hd, (r, z, n, hn))


def gru_row_backward(cell, dzx, dz, dh_prev, dc_prev, dh, dc, h, h_prev, cr, cr_prev):
    one, Hd = dh.dtype.type(1), dh.shape[0]
    for j in range(Hd):
        r, z, n, hn = cr[j], cr[Hd + j], cr[2 * Hd + j], cr[3 * Hd + j]
        dn = dh[j] * (one - z) * (one - n * n)  # w.r.t. n's pre-activation
        dz[j] = dn * hn * r * (one - r)  # recurrent side (U h + b_h) of r, z, n
        dz[Hd + j] = dh[j] * (h_prev[j] - n) * z * (one - z)
        dz[2 * Hd + j] = dn * r  # U_n h + b_hn sits inside r (.)
        dzx[2 * Hd + j] += dn  # input side of n: W_n x + b_n is outside r (.)
        dh_prev[j] = dh[j] * z  # the direct path z h_{t-1}
    for q in range(2 * Hd):  # input side of r and z: the same as their recurrent side
        dzx[q] += dz[q]


# ----------------------------------------------------------------------------------------------------------
# The registered cells: the handles the kernels take as `cell`

ELMAN_TANH = register("elman_tanh", 1, *_elman(False))
ELMAN_SIGMOID = register("elman_sigmoid", 1, *_elman(True))
LSTM = register("lstm", 4, lstm_row_forward, lstm_row_backward, extra=1, cache=5)
GRU = register("gru", 3, gru_row_forward, gru_row_backward, cache=4, split=True, direct=True)


def get(cell: str, activation: str = "tanh") -> Cell:
    """The handle of a configured cell: "elman" (with its activation), "lstm" or "gru"."""
    return {"lstm": LSTM, "gru": GRU}.get(cell) or (ELMAN_SIGMOID if activation == "sigmoid" else ELMAN_TANH)
