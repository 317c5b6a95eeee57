"""Exact streaming of sequence models: the LSTM state runs from the first sample to the last, as in
a plugin, compiled to one per-sample loop (Numba) that runs on the calling thread only: about 150x
real time at 44.1 kHz for 1 x 32 units and 60x for 2 x 32 on one core of the 2.6 GHz AVX-512 VM
(benchmarks/stream_speed.py).

The loop is the Keras LSTM step in float32 with one change: tanh (and the logistic, written as
0.5 + 0.5 tanh(z / 2)) is a clamped rational function, which the compiler vectorises over all the
gates at once; it is within TANH_MAX_ERROR of tanh, and a whole stream stays within 1e-4 of the exact
float64 carried-state output (`reference_sequence`; tests/test_stream.py checks both bounds). The
cost is the multiply-adds (4 x units x (inputs + units) per layer and sample, one 16-wide vector
instruction per cycle at best) and the activations (about 15 vector instructions per 16 gates);
each sample waits for the previous sample's state, so one layer's steps cannot overlap.

`SequenceWeights` reads a Keras sequence model (stacked LSTMs, a Dense(1) head named `wet`, an
optional `skip` Add of the dry input) into plain arrays, once per model; the exporters in
`drywet.export` read models through it too. `drywet.inference.predict` is the way in at the audio
rate (oversampling, knobs by name).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from drywet import show_progress
from drywet.errors import ConfigError, InputError

PROGRESS_BLOCK = 1 << 16  # samples per compiled call when a progress bar is shown
BLOCK = 64  # samples per layer-by-layer block inside the compiled loop

# tanh(x) ~ x P(x^2) / Q(x^2) for |x| <= TANH_CLIP and +-1 beyond: a minimax fit on [0, TANH_CLIP]
# (Lawson-weighted least squares; coefficients in increasing powers of x^2). Evaluated in float32
# it is within TANH_MAX_ERROR of tanh everywhere, the clamp included (1 - tanh(7.9) = 2.7e-7).
TANH_CLIP = 7.9
TANH_P = (9.99999426e-01, 1.29226993e-01, 2.94852558e-03, 1.14148137e-05)
TANH_Q = (1.0, 4.62558200e-01, 2.38035714e-02, 2.38397288e-04, 2.45728158e-07)
TANH_MAX_ERROR = 5e-7


@dataclass(frozen=True)
class LstmLayer:
    """One Keras LSTM layer's weights (gate order i, f, c, o along the 4H axis)."""

    kernel: np.ndarray  # (inputs, 4H)
    recurrent: np.ndarray  # (H, 4H)
    bias: np.ndarray  # (4H,)

    @property
    def units(self) -> int:
        return int(self.recurrent.shape[0])

    @property
    def inputs(self) -> int:
        return int(self.kernel.shape[0])


# Models whose weights passed the probe check in `from_keras`, with those weights: reading a model
# again (every `predict` call does) costs a weight read and a comparison, not a Keras run.
_CHECKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class SequenceWeights:
    """A sequence model as arrays: y[t] = head_w . h_last[t] + head_b (+ x[t, 0] when skip)."""

    layers: tuple[LstmLayer, ...]
    head_w: np.ndarray  # (H,)
    head_b: float
    skip: bool
    name: str = "model"

    @property
    def inputs(self) -> int:
        """Input channels: the audio, then any knob channels."""
        return self.layers[0].inputs

    @classmethod
    def from_keras(cls, model, meta=None) -> SequenceWeights:
        """Read a Keras sequence model; ConfigError for a framed model or an unsupported layout.

        The layout is checked by running the model and these weights over a short probe, so a model
        this reader misunderstands is refused rather than streamed wrongly. The check runs once per
        model and set of weights (a model whose weights change is checked again).
        """
        import keras

        name = model.name
        lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
        denses = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
        known = (keras.layers.LSTM, keras.layers.Dense, keras.layers.Add, keras.layers.InputLayer)
        others = [layer.name for layer in model.layers if not isinstance(layer, known)]
        if not lstms or len(denses) != 1 or others or len(adds) > 1:
            raise ConfigError(f"model '{name}': expected stacked LSTM layers, one Dense head and an "
                              f"optional skip Add (found {', '.join(lyr.name for lyr in model.layers)})")
        if not lstms[-1].return_sequences:
            raise ConfigError(f"model '{name}' is a framed model; only sequence models stream or export "
                              "(train with model.kind: sequence)")
        for layer in lstms:
            cfg = layer.get_config()
            if (cfg["activation"], cfg["recurrent_activation"]) != ("tanh", "sigmoid"):
                raise ConfigError(f"model '{name}': layer '{layer.name}' must use tanh / sigmoid activations")
            if cfg.get("go_backwards"):
                raise ConfigError(f"model '{name}': layer '{layer.name}' runs backwards")
        head = denses[0]
        if head.units != 1 or head.get_config()["activation"] != "linear":
            raise ConfigError(f"model '{name}': the head must be Dense(1) without activation")
        layers = []
        for layer in lstms:
            w = [np.asarray(a, np.float32) for a in layer.get_weights()]
            bias = w[2] if len(w) == 3 else np.zeros(w[0].shape[1], np.float32)
            layers.append(LstmLayer(w[0], w[1], bias))
        hw = [np.asarray(a, np.float32) for a in head.get_weights()]
        weights = cls(tuple(layers), hw[0][:, 0].copy(), float(hw[1][0]) if len(hw) == 2 else 0.0,
                      bool(adds), name)
        if meta is not None and bool(getattr(meta, "skip", weights.skip)) != weights.skip:
            raise ConfigError(f"model '{name}': model.json says skip={meta.skip} but the model "
                              f"{'has' if weights.skip else 'has no'} skip connection")
        checked = _CHECKED.get(model)
        if checked is not None and checked.same_as(weights):
            return checked
        weights._check_against(model)
        _CHECKED[model] = weights
        return weights

    def same_as(self, other: SequenceWeights) -> bool:
        """Whether `other` holds exactly these weights (and the same skip path)."""
        mine = [a for layer in self.layers for a in (layer.kernel, layer.recurrent, layer.bias)]
        theirs = [a for layer in other.layers for a in (layer.kernel, layer.recurrent, layer.bias)]
        return (len(self.layers) == len(other.layers) and (self.skip, self.head_b) == (other.skip, other.head_b)
                and all(np.array_equal(a, b) for a, b in zip([*mine, self.head_w], [*theirs, other.head_w],
                                                             strict=True)))

    def _check_against(self, model, n: int = 256) -> None:
        rng = np.random.default_rng(0)
        probe = np.zeros((n, self.inputs), np.float32)
        probe[:, 0] = 0.3 * np.sin(np.arange(n) * 0.21) + 0.1 * rng.standard_normal(n)
        probe[:, 1:] = rng.uniform(0.0, 1.0, self.inputs - 1)
        import keras

        expected = keras.ops.convert_to_numpy(model(probe[None], training=False))[0, :, 0]
        if np.max(np.abs(run_sequence(self, probe) - expected)) > 1e-3:
            raise ConfigError(f"model '{self.name}': its layers do not compute stacked LSTMs + Dense"
                              f"{' + dry input' if self.skip else ''}; cannot stream or export it")


try:
    import numba
except ImportError:  # pragma: no cover - numba is in requirements.txt; without it the loop runs uncompiled
    numba = None


def _compiled(**options):
    """numba.njit with the options below, or the plain function when Numba is missing. No `parallel`:
    the loop runs on the calling thread only."""
    if numba is None:  # pragma: no cover
        return lambda f: f
    # fastmath lets the gate loops vectorise (and divide by a refined reciprocal); error_model="numpy"
    # drops the zero-division branch
    return numba.njit(fastmath=True, error_model="numpy", **options)


_F32 = np.float32
_CLIP, _NCLIP = _F32(TANH_CLIP), _F32(-TANH_CLIP)
_P0, _P1, _P2, _P3 = (_F32(v) for v in TANH_P)
_Q1, _Q2, _Q3, _Q4 = (_F32(v) for v in TANH_Q[1:])
_HALF, _ONE = _F32(0.5), _F32(1.0)


@_compiled(inline="always")
def fast_tanh(x):
    """tanh within TANH_MAX_ERROR (float32): clamped, then a rational function (7 multiply-adds and
    one division), with no branch, so a loop of them vectorises."""
    x = min(max(x, _NCLIP), _CLIP)
    u = x * x
    num = ((_P3 * u + _P2) * u + _P1) * u + _P0
    return x * num / ((((_Q4 * u + _Q3) * u + _Q2) * u + _Q1) * u + _ONE)


@_compiled(inline="always")
def fast_sigmoid(x):
    """The logistic function within TANH_MAX_ERROR / 2, as the loop computes it: 0.5 + 0.5 tanh(x / 2)
    (the loop folds the halving into the gate weights, which is exact)."""
    return _HALF + _HALF * fast_tanh(_HALF * x)


@_compiled(cache=True)
def _activations(x, tanh_out, sigmoid_out):
    for i in range(x.shape[0]):
        tanh_out[i] = fast_tanh(x[i])
        sigmoid_out[i] = fast_sigmoid(x[i])


def activations(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tanh, logistic) of float32 `x` as the compiled loop computes them (a vectorised loop with its
    compiler options), for checking their error bounds."""
    x = np.ascontiguousarray(x, np.float32).ravel()
    tanh_out, sigmoid_out = np.empty_like(x), np.empty_like(x)
    _activations(x, tanh_out, sigmoid_out)
    return tanh_out, sigmoid_out


@_compiled(inline="always")
def _addmv(z, v, w, rows, width):
    """z[:width] += v[:rows] @ w[:rows, :width], eight rows per pass: per gate one chain of eight
    multiply-adds, vectorised over the gates (w's contiguous axis), z loaded and stored once a pass."""
    r8 = rows - rows % 8
    for j in range(0, r8, 8):
        v0, v1, v2, v3, v4, v5, v6, v7 = v[j], v[j + 1], v[j + 2], v[j + 3], v[j + 4], v[j + 5], v[j + 6], v[j + 7]
        w0, w1, w2, w3, w4, w5, w6, w7 = w[j], w[j + 1], w[j + 2], w[j + 3], w[j + 4], w[j + 5], w[j + 6], w[j + 7]
        for k in range(width):
            acc = z[k]
            acc += v0 * w0[k]
            acc += v1 * w1[k]
            acc += v2 * w2[k]
            acc += v3 * w3[k]
            acc += v4 * w4[k]
            acc += v5 * w5[k]
            acc += v6 * w6[k]
            acc += v7 * w7[k]
            z[k] = acc
    for j in range(r8, rows):
        vj = v[j]
        wj = w[j]
        for k in range(width):
            z[k] += vj * wj[k]


@_compiled(inline="always")
def _addmv2(z0, z1, v0, v1, w, rows, width):
    """`_addmv` for two independent samples at once (z0 += v0 @ w, z1 += v1 @ w): each weight is loaded
    once for two multiply-adds."""
    r4 = rows - rows % 4
    for j in range(0, r4, 4):
        a0, a1, a2, a3 = v0[j], v0[j + 1], v0[j + 2], v0[j + 3]
        b0, b1, b2, b3 = v1[j], v1[j + 1], v1[j + 2], v1[j + 3]
        w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
        for k in range(width):
            p = z0[k]
            q = z1[k]
            m = w0[k]
            p += a0 * m
            q += b0 * m
            m = w1[k]
            p += a1 * m
            q += b1 * m
            m = w2[k]
            p += a2 * m
            q += b2 * m
            m = w3[k]
            p += a3 * m
            q += b3 * m
            z0[k] = p
            z1[k] = q
    for j in range(r4, rows):
        aj = v0[j]
        bj = v1[j]
        wj = w[j]
        for k in range(width):
            z0[k] += aj * wj[k]
            z1[k] += bj * wj[k]


@_compiled(inline="always")
def _lstm_step(z, a, h, c, w_rec, out, units):
    """One LSTM step from the input part of the gates `z` (changed in place): z += h @ w_rec, one tanh
    over all 4 * units gates (the i, f, o columns come halved: sigmoid(v) = 0.5 + 0.5 tanh(v / 2)),
    then c and h in place; h also goes to `out`."""
    gates = 4 * units
    _addmv(z, h, w_rec, units, gates)
    for k in range(gates):
        a[k] = fast_tanh(z[k])
    for k in range(units):
        ck = (_HALF + _HALF * a[units + k]) * c[k] + (_HALF + _HALF * a[k]) * a[2 * units + k]
        c[k] = ck
        hk = (_HALF + _HALF * a[3 * units + k]) * fast_tanh(ck)
        h[k] = hk
        out[k] = hk


@cache
def _loop(units: int):
    """The streaming loop compiled for layers `units` wide (narrower layers are zero-padded). Numba
    specialises on array types, not sizes; with the width fixed at compile time the gate loops unroll
    fully (7 % faster at 2 x 32). Each width compiles once (about 6 s) and is then read from Numba's
    on-disk cache."""

    @_compiled(cache=True, nogil=True)
    def run(x, w_in0, w_ins, w_recs, bs, hs, cs, head_w, head_b, skip, y, u, src, dst, a):
        """Layer by layer over blocks of BLOCK samples (exact: a layer's output over a block does not
        depend on the layers above it), so each phase keeps one weight matrix in the L1 cache. Layer 0
        takes the audio (its knob inputs are folded into its bias); a higher layer's input part
        b + h_below[t] @ w_in is computed for the whole block, two samples per pass, before its
        recurrence. hs and cs (the state, layers x units) change in place; u (BLOCK x 4 units),
        src and dst (BLOCK x units) and a (4 units) are scratch."""
        gates = 4 * units
        n = x.shape[0]
        for start in range(0, n, BLOCK):
            size = min(BLOCK, n - start)
            for layer in range(w_recs.shape[0]):
                w_rec = w_recs[layer]
                b = bs[layer]
                h = hs[layer]
                c = cs[layer]
                if layer == 0:
                    z = u[0]
                    for t in range(size):
                        xt = x[start + t]
                        for k in range(gates):
                            z[k] = b[k] + xt * w_in0[k]
                        _lstm_step(z, a, h, c, w_rec, dst[t], units)
                else:
                    w_in = w_ins[layer]
                    for t in range(size):
                        z = u[t]
                        for k in range(gates):
                            z[k] = b[k]
                    pairs = size - size % 2
                    for t in range(0, pairs, 2):
                        _addmv2(u[t], u[t + 1], src[t], src[t + 1], w_in, units, gates)
                    if pairs < size:
                        _addmv(u[pairs], src[pairs], w_in, units, gates)
                    for t in range(size):
                        _lstm_step(u[t], a, h, c, w_rec, dst[t], units)
                src, dst = dst, src
            for t in range(size):
                acc = head_b
                row = src[t]
                for k in range(units):
                    acc += head_w[k] * row[k]
                if skip:
                    acc += x[start + t]
                y[start + t] = acc

    return run


def _aligned(shape: tuple[int, ...]) -> np.ndarray:
    """float32 zeros starting on a 64-byte boundary (NumPy's are 16-byte aligned, and a 64-byte vector
    load that straddles two cache lines costs two: a quarter of the loop's time at 1 x 32)."""
    size = int(np.prod(shape))
    raw = np.zeros(size + 16, np.float32)
    start = (-raw.ctypes.data % 64) // 4
    return raw[start:start + size].reshape(shape)


def _gate_columns(weights: np.ndarray, units: int, width: int) -> np.ndarray:
    """`weights` (rows, 4 * units) laid out for the loop: each gate's columns at gate * width (zeros
    between, for a layer narrower than the stack) and the i, f, o columns halved (exact)."""
    out = _aligned((weights.shape[0], 4 * width))
    for gate, scale in enumerate((0.5, 0.5, 1.0, 0.5)):
        out[:, gate * width:gate * width + units] = weights[:, gate * units:(gate + 1) * units] * np.float32(scale)
    return out


class SequenceStream:
    """A sequence model running like a plugin: `process` continues from the state the last call
    left; `reset` returns to silence (zero state, as Keras starts).

    `knobs` (one value per knob channel, in channel order) are constant for the stream; they are
    folded into the first layer's bias, so the loop reads one input channel whatever their number.
    Layers narrower than the widest (and every layer, to a multiple of 4 units) are padded with units
    whose weights are all zero: such a unit's cell and output stay exactly 0, so padding changes
    nothing.
    """

    def __init__(self, weights: SequenceWeights, knobs: Sequence[float] = ()):
        n_knobs = weights.inputs - 1
        knobs = np.asarray(knobs, np.float32).ravel()
        if knobs.size != n_knobs:
            raise InputError(f"model '{weights.name}' has {n_knobs} knob input(s); got {knobs.size} value(s)")
        self.weights = weights
        layers = weights.layers
        width = -(-max(layer.units for layer in layers) // 4) * 4  # rows of 4 * width floats stay aligned
        self._width = width
        self._w_ins = _aligned((len(layers), width, 4 * width))  # layer 0's is unused
        self._w_recs = _aligned((len(layers), width, 4 * width))
        self._bs = _aligned((len(layers), 4 * width))
        for i, layer in enumerate(layers):
            bias = layer.bias + (knobs @ layer.kernel[1:] if i == 0 and n_knobs else 0.0)
            self._bs[i] = _gate_columns(bias[None], layer.units, width)[0]
            self._w_recs[i, :layer.units] = _gate_columns(layer.recurrent, layer.units, width)
            if i:
                self._w_ins[i, :layer.inputs] = _gate_columns(layer.kernel, layer.units, width)
        self._w_in0 = _gate_columns(layers[0].kernel[:1], layers[0].units, width)[0]
        self._head_w = _aligned((width,))
        self._head_w[:weights.head_w.size] = weights.head_w
        self._head_b = np.float32(weights.head_b)
        self._scratch = (_aligned((BLOCK, 4 * width)), _aligned((BLOCK, width)), _aligned((BLOCK, width)),
                         _aligned((4 * width,)))
        self._hs = _aligned((len(layers), width))
        self._cs = _aligned((len(layers), width))

    def reset(self) -> None:
        self._hs[:] = 0.0
        self._cs[:] = 0.0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Output (float32, same length) for the mono signal `x`, continuing the stream."""
        x = np.ascontiguousarray(x, np.float32).ravel()
        y = np.empty(x.shape[0], np.float32)
        _loop(self._width)(x, self._w_in0, self._w_ins, self._w_recs, self._bs, self._hs, self._cs,
                           self._head_w, self._head_b, self.weights.skip, y, *self._scratch)
        return y


def _audio_and_knobs(weights: SequenceWeights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split (n,) audio or (n, C) input (knob channels after the audio, each constant) into the
    audio and the knob values; InputError for the wrong number of channels or a varying knob."""
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != weights.inputs:
        raise InputError(f"model '{weights.name}' takes {weights.inputs} input channel(s); got shape {x.shape}")
    knobs = x[0, 1:] if x.shape[0] else np.zeros(weights.inputs - 1, np.float32)
    if x.shape[0] and np.any(x[:, 1:] != knobs):
        raise InputError("knob channels must be constant over the signal")
    return x[:, 0], knobs


def run_sequence(weights: SequenceWeights, x: np.ndarray, progress: bool = False) -> np.ndarray:
    """The model's output for a whole signal from zero state (float32, one sample per input sample):
    `x` is (n,) audio, or (n, C) with the knob channels after the audio (each constant over the
    signal). `progress` draws a progress bar on stderr."""
    audio, knobs = _audio_and_knobs(weights, x)
    stream = SequenceStream(weights, knobs)
    if not progress:
        return stream.process(audio)
    y = np.empty(audio.size, np.float32)
    for i in range(0, audio.size, PROGRESS_BLOCK):
        y[i:i + PROGRESS_BLOCK] = stream.process(audio[i:i + PROGRESS_BLOCK])
        show_progress(min(i + PROGRESS_BLOCK, audio.size), audio.size, True)
    return y


def stream_model(model, meta, x: np.ndarray, progress: bool = False) -> np.ndarray:
    """`run_sequence` for a Keras sequence model at the model's own rate (its weights read once per
    model; `meta`, when given, is checked against the model's skip path). `drywet.inference.predict`
    is the entry point at the audio rate, with oversampling and knobs by name."""
    return run_sequence(SequenceWeights.from_keras(model, meta), x, progress)


def reference_sequence(weights: SequenceWeights, x: np.ndarray) -> np.ndarray:
    """The exact carried-state output in float64 (tanh and the logistic from the C library, no
    approximation, no reordering): what the fast loop is measured against. About 50 times slower."""
    audio, knobs = _audio_and_knobs(weights, x)
    inputs = np.empty((audio.size, weights.inputs), np.float64)
    inputs[:, 0] = audio
    inputs[:, 1:] = knobs
    layers = weights.layers
    y = np.empty(audio.size, np.float64)
    _reference(inputs, tuple(np.asarray(layer.kernel, np.float64) for layer in layers),
               tuple(np.asarray(layer.recurrent, np.float64) for layer in layers),
               tuple(np.asarray(layer.bias, np.float64) for layer in layers),
               np.asarray(weights.head_w, np.float64), float(weights.head_b), weights.skip, y)
    return y


def _exact(function):
    """numba.njit without fastmath (IEEE arithmetic in program order), or the plain function."""
    return function if numba is None else numba.njit(cache=True)(function)


@_exact
def _reference(x, kernels, recurrents, biases, head_w, head_b, skip, y):
    hs = [np.zeros(r.shape[0]) for r in recurrents]
    cs = [np.zeros(r.shape[0]) for r in recurrents]
    for t in range(x.shape[0]):
        v = x[t]
        for layer in range(len(kernels)):
            kernel, recurrent, h, c = kernels[layer], recurrents[layer], hs[layer], cs[layer]
            units = recurrent.shape[0]
            z = biases[layer].copy()
            for j in range(v.shape[0]):
                for k in range(4 * units):
                    z[k] += v[j] * kernel[j, k]
            for j in range(units):
                for k in range(4 * units):
                    z[k] += h[j] * recurrent[j, k]
            for k in range(units):
                i = 1.0 / (1.0 + np.exp(-z[k]))
                f = 1.0 / (1.0 + np.exp(-z[units + k]))
                o = 1.0 / (1.0 + np.exp(-z[3 * units + k]))
                c[k] = f * c[k] + i * np.tanh(z[2 * units + k])
                h[k] = o * np.tanh(c[k])
            v = h
        acc = head_b + (x[t, 0] if skip else 0.0)
        for k in range(v.shape[0]):
            acc += v[k] * head_w[k]
        y[t] = acc
