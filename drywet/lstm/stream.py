"""Exact streaming of sequence models: the LSTM state runs from the first sample to the last, as in
a plugin, in one per-sample loop on the calling thread. The loop is C (`stream_kernel.c`, compiled
once per machine by drywet.native; its vector helpers and tanh, `tanh_fit`, are drywet/native/vec.h's):
about 195x real time at 44.1 kHz for 1 x 32 units and 100x for 2 x 32 on one core of the 2-core Xeon
VM (benchmarks/stream_speed.py). Where no C compiler is found (or a layer is over 128 units wide, or
there are over 8 layers) the same loop runs in Numba (drywet.lstm.stream_numba), at 0.55-0.7 times
the speed; `DRYWET_STREAM_LOOP=numba` picks it by hand.

The loop is the Keras LSTM step in float32 with one change: tanh (and the logistic, written as
0.5 + 0.5 tanh(z / 2)) is a clamped rational function (TANH_CLIP, TANH_P, TANH_Q), vectorised over
all the gates at once; it is within TANH_MAX_ERROR of tanh, and a whole stream stays within 1e-4 of
the exact float64 carried-state output (`reference_sequence`; tests/lstm/test_stream.py checks both
bounds, for both loops). The cost is the multiply-adds (4 x units x (inputs + units) per layer and
sample, 16 per vector instruction, two a cycle at best) and the activations (about 16 vector
instructions per 16 gates); each sample waits for the previous sample's state, so the C loop runs
the layers of a stack on different blocks of samples at once, their steps interleaved.

The loop runs a model's `SequenceWeights` (drywet.lstm.weights: plain arrays, which the exporters
read too). `drywet.inference.predict` is the way in at the audio rate (oversampling, knobs by name).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drywet import native
from drywet.errors import ConfigError, InputError
from drywet.lstm.activation import TANH_CLIP, TANH_MAX_ERROR, TANH_P, TANH_Q  # noqa: F401 - the loop's tanh
from drywet.lstm.weights import SequenceWeights
from drywet.progress import play_with_progress

PROGRESS_BLOCK = 1 << 16  # samples per compiled call when a progress bar is shown
KERNEL_SOURCE = Path(__file__).with_name("stream_kernel.c")
KERNEL_MAX_WIDTH, KERNEL_MAX_LAYERS = 128, 8  # what stream_kernel.c has room for (MAX_WIDTH, MAX_LAYERS)
LOOPS = ("c", "numba")


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
        from drywet.lstm import stream_numba

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
            from drywet.lstm import stream_numba

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
    from drywet.lstm.stream_numba import reference

    audio, knobs = _audio_and_knobs(weights, x)
    return reference(weights, audio, knobs)
