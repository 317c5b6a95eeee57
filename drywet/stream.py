"""Exact streaming of sequence models: the LSTM state runs from the first sample to the last, as
in a plugin, compiled to one per-sample loop (Numba) that runs many times faster than real time on
one thread.

The loop is the Keras LSTM step in float32 with one change: tanh (and the logistic, written as
0.5 + 0.5 tanh(z / 2)) is a rational function fitted on [-9, 9] (clamped outside), which the
compiler vectorises; it is within 5e-7 of tanh, and a whole stream stays within 1e-4 of the exact
carried-state output (tests/test_stream.py). `SequenceWeights` reads a Keras sequence model (stacked
LSTMs, a Dense(1) head named `wet`, an optional `skip` Add of the dry input) into plain arrays; the
exporters in `drywet.export` read models through it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from drywet.errors import ConfigError, InputError

PROGRESS_BLOCK = 1 << 16  # samples per compiled call when a progress bar is shown
BLOCK = 128  # samples per layer-by-layer block inside the compiled loop

# tanh(x) ~ x P(x^2) / Q(x^2) for |x| <= TANH_CLIP, fitted by iteratively reweighted least squares
# (coefficients in increasing powers of x^2); tanh(9) differs from 1 by 3e-8.
TANH_CLIP = 9.0
TANH_P = (9.99999906e-01, 1.33732653e-01, 3.48666175e-03, 2.04731260e-05, 1.31859843e-08)
TANH_Q = (1.0, 4.67065623e-01, 2.58422842e-02, 3.27151518e-04, 7.70339129e-07)


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
        this reader misunderstands is refused rather than streamed wrongly.
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
        weights._check_against(model)
        return weights

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
    """numba.njit with the options below, or the plain function when Numba is missing."""
    if numba is None:  # pragma: no cover
        return lambda f: f
    # fastmath lets the gate loops vectorise; error_model="numpy" drops the zero-division branch
    return numba.njit(fastmath=True, error_model="numpy", **options)


_F32 = np.float32
_CLIP = _F32(TANH_CLIP)
_P0, _P1, _P2, _P3, _P4 = (_F32(v) for v in TANH_P)
_Q1, _Q2, _Q3, _Q4 = (_F32(v) for v in TANH_Q[1:])
_HALF, _ONE = _F32(0.5), _F32(1.0)


@_compiled(inline="always")
def fast_tanh(x):
    """tanh within 5e-7 (float32), as a branch-free rational function the compiler vectorises."""
    x = _HALF * (abs(x + _CLIP) - abs(x - _CLIP))  # clamp to [-clip, clip] without branches
    u = x * x
    num = (((_P4 * u + _P3) * u + _P2) * u + _P1) * u + _P0
    return x * num / ((((_Q4 * u + _Q3) * u + _Q2) * u + _Q1) * u + _ONE)


@_compiled(inline="always")
def _addmv(z, v, w):
    """z += v @ w, sixteen (then eight) rows at a time, so z is loaded and stored once per 16 FMAs."""
    g = z.shape[0]
    m = v.shape[0]
    m16 = m - m % 16
    for j in range(0, m16, 16):
        v0, v1, v2, v3, v4, v5, v6, v7 = v[j], v[j + 1], v[j + 2], v[j + 3], v[j + 4], v[j + 5], v[j + 6], v[j + 7]
        v8, v9, va, vb, vc, vd, ve, vf = (v[j + 8], v[j + 9], v[j + 10], v[j + 11], v[j + 12], v[j + 13],
                                          v[j + 14], v[j + 15])
        for k in range(g):
            z[k] += (((v0 * w[j, k] + v1 * w[j + 1, k]) + (v2 * w[j + 2, k] + v3 * w[j + 3, k]))
                     + ((v4 * w[j + 4, k] + v5 * w[j + 5, k]) + (v6 * w[j + 6, k] + v7 * w[j + 7, k]))) + (
                ((v8 * w[j + 8, k] + v9 * w[j + 9, k]) + (va * w[j + 10, k] + vb * w[j + 11, k]))
                + ((vc * w[j + 12, k] + vd * w[j + 13, k]) + (ve * w[j + 14, k] + vf * w[j + 15, k])))
    m8 = m16 + (m - m16) // 8 * 8
    for j in range(m16, m8, 8):
        v0, v1, v2, v3, v4, v5, v6, v7 = v[j], v[j + 1], v[j + 2], v[j + 3], v[j + 4], v[j + 5], v[j + 6], v[j + 7]
        for k in range(g):
            z[k] += ((v0 * w[j, k] + v1 * w[j + 1, k]) + (v2 * w[j + 2, k] + v3 * w[j + 3, k])) + (
                (v4 * w[j + 4, k] + v5 * w[j + 5, k]) + (v6 * w[j + 6, k] + v7 * w[j + 7, k]))
    for j in range(m8, m):
        vj = v[j]
        for k in range(g):
            z[k] += vj * w[j, k]


@_compiled(cache=True)
def _run(x, w_ins, w_recs, bs, hs, cs, head_w, head_b, skip, y):
    """The loop, layer by layer over blocks of BLOCK samples (exact: a layer's output over a block
    does not depend on the layers above it). Per layer, the input part b + in[t] @ w_in of every
    sample in the block comes first, then the recurrence adds h @ w_rec sample by sample; each phase
    keeps one weight matrix in the L1 cache. The i, f, o columns are halved beforehand, so one tanh
    serves all four gates (sigmoid(z) = 0.5 + 0.5 tanh(z / 2)); hs and cs (state) change in place."""
    n = x.shape[0]
    n_layers = len(w_recs)
    width = x.shape[1]
    g_max = 0
    for layer in range(n_layers):
        width = max(width, w_recs[layer].shape[0])
        g_max = max(g_max, w_recs[layer].shape[1])
    src = np.empty(BLOCK * width, np.float32)
    dst = np.empty(BLOCK * width, np.float32)
    u = np.empty(BLOCK * g_max, np.float32)
    a = np.empty(g_max, np.float32)
    for start in range(0, n, BLOCK):
        size = min(BLOCK, n - start)
        n_in = x.shape[1]
        for t in range(size):
            for i in range(n_in):
                src[t * n_in + i] = x[start + t, i]
        for layer in range(n_layers):
            w_in = w_ins[layer]
            w_rec = w_recs[layer]
            b = bs[layer]
            h = hs[layer]
            c = cs[layer]
            units = h.shape[0]
            g = 4 * units
            for t in range(size):
                z = u[t * g:(t + 1) * g]
                for k in range(g):
                    z[k] = b[k]
                _addmv(z, src[t * n_in:(t + 1) * n_in], w_in)
            for t in range(size):
                z = u[t * g:(t + 1) * g]
                _addmv(z, h, w_rec)
                for k in range(g):
                    a[k] = fast_tanh(z[k])
                for k in range(units):
                    c[k] = (_HALF + _HALF * a[units + k]) * c[k] + (_HALF + _HALF * a[k]) * a[2 * units + k]
                for k in range(units):
                    hk = (_HALF + _HALF * a[3 * units + k]) * fast_tanh(c[k])
                    h[k] = hk
                    dst[t * units + k] = hk
            src, dst = dst, src
            n_in = units
        for t in range(size):
            acc = head_b
            for k in range(n_in):
                acc += head_w[k] * src[t * n_in + k]
            if skip:
                acc += x[start + t, 0]
            y[start + t] = acc


def _halved(weights: np.ndarray, units: int) -> np.ndarray:
    """`weights` (..., 4H) with the i, f, o gate columns halved (exact: a power of 2), C-contiguous."""
    scale = np.full(4 * units, 0.5, np.float32)
    scale[2 * units:3 * units] = 1.0
    return np.ascontiguousarray(np.asarray(weights, np.float32) * scale)


class SequenceStream:
    """A sequence model running like a plugin: `process` continues from the state the last call
    left; `reset` returns to silence (zero state, as Keras starts).

    `knobs` (one value per knob channel, in channel order) are constant for the stream; they are
    folded into the first layer's bias, so the loop reads one input channel whatever their number.
    """

    def __init__(self, weights: SequenceWeights, knobs: Sequence[float] = ()):
        n_knobs = weights.inputs - 1
        knobs = np.asarray(knobs, np.float32).ravel()
        if knobs.size != n_knobs:
            raise InputError(f"model '{weights.name}' has {n_knobs} knob input(s); got {knobs.size} value(s)")
        self.weights = weights
        layers = weights.layers
        first_bias = layers[0].bias + (knobs @ layers[0].kernel[1:] if n_knobs else 0.0)
        self._w_ins = tuple(_halved(lyr.kernel[:1] if i == 0 else lyr.kernel, lyr.units)
                            for i, lyr in enumerate(layers))
        self._w_recs = tuple(_halved(lyr.recurrent, lyr.units) for lyr in layers)
        self._bs = tuple(_halved(first_bias if i == 0 else lyr.bias, lyr.units) for i, lyr in enumerate(layers))
        self._head_w = np.ascontiguousarray(weights.head_w, np.float32)
        self._head_b = np.float32(weights.head_b)
        self.reset()

    def reset(self) -> None:
        self._hs = tuple(np.zeros(w.shape[0], np.float32) for w in self._w_recs)
        self._cs = tuple(np.zeros(w.shape[0], np.float32) for w in self._w_recs)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Output (float32, same length) for the mono signal `x`, continuing the stream."""
        x = np.ascontiguousarray(np.asarray(x, np.float32).reshape(-1, 1))
        y = np.empty(x.shape[0], np.float32)
        _run(x, self._w_ins, self._w_recs, self._bs, self._hs, self._cs, self._head_w, self._head_b,
             self.weights.skip, y)
        return y


def run_sequence(weights: SequenceWeights, x: np.ndarray) -> np.ndarray:
    """The model's output for a whole signal from zero state: `x` is (n,) audio, or (n, C) with the
    knob channels after the audio (each constant over the signal)."""
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != weights.inputs:
        raise InputError(f"model '{weights.name}' takes {weights.inputs} input channel(s); got shape {x.shape}")
    knobs = x[0, 1:] if x.shape[0] else np.zeros(weights.inputs - 1, np.float32)
    if x.shape[0] and np.any(x[:, 1:] != knobs):
        raise InputError("knob channels must be constant over the signal")
    return SequenceStream(weights, knobs).process(x[:, 0])


def knob_values(meta, knobs: Mapping[str, float] | Sequence[float] | None) -> list[float]:
    """Knob values in channel order from a name -> value mapping (or a sequence in order);
    InputError naming what is missing or unknown."""
    names = tuple(getattr(meta, "knobs", ()) or ())
    if knobs is None:
        knobs = {}
    if not isinstance(knobs, Mapping):
        values = [float(v) for v in knobs]
        if len(values) != len(names):
            raise InputError(f"the model has {len(names)} knob(s); got {len(values)} value(s)")
        return values
    unknown = sorted(set(knobs) - set(names))
    if unknown:
        raise InputError(f"unknown knob(s) {', '.join(unknown)}; the model's knobs: {', '.join(names) or 'none'}")
    missing = [k for k in names if k not in knobs]
    if missing:
        raise InputError(f"the model needs a value for knob(s) {', '.join(missing)} (--knob NAME=VALUE, 0 to 1)")
    return [float(knobs[k]) for k in names]


def stream_model(model, meta, dry: np.ndarray, knobs: Mapping[str, float] | Sequence[float] | None = None,
                 progress: bool = False) -> np.ndarray:
    """Exact streaming output of a Keras sequence model for `dry` at the model's own rate (same length,
    float32); knob values by name from `meta.knobs`."""
    from drywet.inference import _progress

    weights = SequenceWeights.from_keras(model, meta)
    stream = SequenceStream(weights, knob_values(meta, knobs) if weights.inputs > 1 else ())
    x = np.asarray(dry, np.float32).ravel()
    if not progress:
        return stream.process(x)
    y = np.empty_like(x)
    for i in range(0, x.size, PROGRESS_BLOCK):
        y[i:i + PROGRESS_BLOCK] = stream.process(x[i:i + PROGRESS_BLOCK])
        _progress(min(i + PROGRESS_BLOCK, x.size), x.size, True)
    return y


def predict_stream(model, meta, dry: np.ndarray, knobs: Mapping[str, float] | Sequence[float] | None = None,
                   progress: bool = False) -> np.ndarray:
    """`stream_model` at the audio rate: a model trained with `oversample` k runs at k times the rate
    between interpolation and decimation filters (same length as `dry`, float32)."""
    from drywet.antialias import downsample, upsample

    factor = int(meta.oversample or 1)
    y = stream_model(model, meta, upsample(np.asarray(dry, np.float32), factor), knobs, progress)
    return downsample(y, factor, len(dry))
