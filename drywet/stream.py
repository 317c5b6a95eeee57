"""Exact streaming of sequence models: the LSTM state runs from the first sample to the last, as in
a plugin, in one per-sample loop on the calling thread. The loop is C (`stream_kernel.c`, compiled
once per machine by drywet.native): about 195x real time at 44.1 kHz for 1 x 32 units and 100x for
2 x 32 on one core of the 2-core Xeon VM (benchmarks/stream_speed.py). Where no C compiler is found
(or a layer is over 128 units wide, or there are over 8 layers) the same loop runs in Numba
(drywet.stream_numba), at 0.55-0.7 times the speed; `DRYWET_STREAM_LOOP=numba` picks it by hand.

The loop is the Keras LSTM step in float32 with one change: tanh (and the logistic, written as
0.5 + 0.5 tanh(z / 2)) is a clamped rational function (TANH_CLIP, TANH_P, TANH_Q), vectorised over
all the gates at once; it is within TANH_MAX_ERROR of tanh, and a whole stream stays within 1e-4 of
the exact float64 carried-state output (`reference_sequence`; tests/test_stream.py checks both
bounds, for both loops). The cost is the multiply-adds (4 x units x (inputs + units) per layer and
sample, 16 per vector instruction, two a cycle at best) and the activations (about 16 vector
instructions per 16 gates); each sample waits for the previous sample's state, so the C loop runs
the layers of a stack on different blocks of samples at once, their steps interleaved.

`SequenceWeights` reads a Keras sequence model (stacked LSTMs, a Dense(1) head named `wet`, an
optional `skip` Add of the dry input) into plain arrays, once per model; the exporters in
`drywet.export` read models through it too. `drywet.inference.predict` is the way in at the audio
rate (oversampling, knobs by name).
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drywet import native, play_with_progress
from drywet.activation import TANH_CLIP, TANH_MAX_ERROR, TANH_P, TANH_Q  # noqa: F401 - the loop's tanh
from drywet.errors import ConfigError, InputError

PROGRESS_BLOCK = 1 << 16  # samples per compiled call when a progress bar is shown
KERNEL_SOURCE = Path(__file__).with_name("stream_kernel.c")
KERNEL_MAX_WIDTH, KERNEL_MAX_LAYERS = 128, 8  # what stream_kernel.c has room for (MAX_WIDTH, MAX_LAYERS)
LOOPS = ("c", "numba")


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


def _declare(lib: ctypes.CDLL) -> None:
    ptr = ctypes.c_void_p
    lib.drywet_stream.argtypes = [ctypes.c_int, ctypes.c_int, ptr, ctypes.c_long, *[ptr] * 7,
                                  ctypes.c_float, ctypes.c_int, ptr, ptr]
    lib.drywet_stream.restype = ctypes.c_int
    lib.drywet_stream_scratch_bytes.restype = ctypes.c_long
    lib.drywet_activations.argtypes = [ptr, ctypes.c_long, ptr, ptr]


KERNEL = native.LazyLibrary(KERNEL_SOURCE, _declare)


def kernel() -> ctypes.CDLL | None:
    """The compiled C loop (compiled on first use, then read from the cache), or None when it cannot
    be compiled (`kernel_error` says why)."""
    return KERNEL.get()


def kernel_error() -> str | None:
    """Why the C loop is not available (None when it is, or was never asked for)."""
    return KERNEL.error


def loop_for(weights: SequenceWeights) -> str:
    """The loop a stream of `weights` runs in: "c", or "numba" where C cannot run it, or where
    $DRYWET_STREAM_LOOP says so."""
    wanted = native.wanted_loop(LOOPS)
    fits = len(weights.layers) <= KERNEL_MAX_LAYERS and max(layer.units for layer in weights.layers) <= KERNEL_MAX_WIDTH
    return "c" if wanted == "c" and fits and kernel() is not None else "numba"


def activations(x: np.ndarray, loop: str = "c") -> tuple[np.ndarray, np.ndarray]:
    """(tanh, logistic) of float32 `x` as `loop` computes them, for checking their error bounds."""
    if loop == "numba":
        from drywet import stream_numba

        return stream_numba.activations(x)
    x = np.ascontiguousarray(x, np.float32).ravel()
    tanh_out, sigmoid_out = np.empty_like(x), np.empty_like(x)
    lib = kernel()
    if lib is None:
        raise OSError(kernel_error())
    lib.drywet_activations(x.ctypes.data, x.size, tanh_out.ctypes.data, sigmoid_out.ctypes.data)
    return tanh_out, sigmoid_out


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
    Layers narrower than the widest (and every layer, to a multiple of 16 units for the C loop, of 4
    for Numba's) are padded with units whose weights are all zero: such a unit's cell and output stay
    exactly 0, so padding changes nothing. `loop` ("c" or "numba") is the loop it runs in
    (`loop_for`).
    """

    def __init__(self, weights: SequenceWeights, knobs: Sequence[float] = ()):
        n_knobs = weights.inputs - 1
        knobs = np.asarray(knobs, np.float32).ravel()
        if knobs.size != n_knobs:
            raise InputError(f"model '{weights.name}' has {n_knobs} knob input(s); got {knobs.size} value(s)")
        self.weights = weights
        self.loop = loop_for(weights)
        layers = weights.layers
        step = 16 if self.loop == "c" else 4  # rows of 4 * width floats stay 64-byte aligned
        width = -(-max(layer.units for layer in layers) // step) * step
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
        self._hs = _aligned((len(layers), width))
        self._cs = _aligned((len(layers), width))
        if self.loop == "c":
            self._scratch = _aligned((kernel().drywet_stream_scratch_bytes() // 4,))
        else:
            from drywet import stream_numba

            self._numba = stream_numba.loop(width)
            self._scratch = stream_numba.scratch(width, _aligned)

    def reset(self) -> None:
        self._hs[:] = 0.0
        self._cs[:] = 0.0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Output (float32, same length) for the mono signal `x`, continuing the stream."""
        x = np.ascontiguousarray(x, np.float32).ravel()
        y = np.empty(x.shape[0], np.float32)
        if self.loop == "numba":
            self._numba(x, self._w_in0, self._w_ins, self._w_recs, self._bs, self._hs, self._cs, self._head_w,
                        self._head_b, self.weights.skip, y, *self._scratch)
            return y
        if x.size and kernel().drywet_stream(
                len(self.weights.layers), self._width, x.ctypes.data, x.size, self._w_in0.ctypes.data,
                self._w_ins.ctypes.data, self._w_recs.ctypes.data, self._bs.ctypes.data, self._hs.ctypes.data,
                self._cs.ctypes.data, self._head_w.ctypes.data, self._head_b, int(self.weights.skip),
                y.ctypes.data, self._scratch.ctypes.data):
            raise ConfigError(f"model '{self.weights.name}': the C loop refused its layout")  # pragma: no cover
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
    return play_with_progress(SequenceStream(weights, knobs).process, audio, progress, PROGRESS_BLOCK)


def stream_model(model, meta, x: np.ndarray, progress: bool = False) -> np.ndarray:
    """`run_sequence` for a Keras sequence model at the model's own rate (its weights read once per
    model; `meta`, when given, is checked against the model's skip path). `drywet.inference.predict`
    is the entry point at the audio rate, with oversampling and knobs by name."""
    return run_sequence(SequenceWeights.from_keras(model, meta), x, progress)


def reference_sequence(weights: SequenceWeights, x: np.ndarray) -> np.ndarray:
    """The exact carried-state output in float64 (tanh and the logistic from the C library, no
    approximation, no reordering): what the fast loops are measured against. About 50 times slower."""
    from drywet.stream_numba import reference

    audio, knobs = _audio_and_knobs(weights, x)
    return reference(weights, audio, knobs)
