"""Streaming a WaveNet like a plugin: `WaveNetStream.process` carries every dilated conv's past input
from one call to the next, so a signal cut into blocks of any size plays exactly as the whole signal
does; `run_wavenet` plays a whole signal from silence. The loop is C (`wavenet_kernel.c`, compiled
once per machine by drywet.native), blocks of BLOCK samples through each layer as small matrix
products; where no C compiler is found, or `DRYWET_STREAM_LOOP=numba` (the variable the LSTM loop
honours), the same loop runs in Numba (drywet.wavenet.stream_numba).

Neither loop approximates tanh or the logistic. Numba calls the C library's tanh (tanhf, as NAM's
loader does). The C loop evaluates both in double precision, vectorised, and rounds once: the
correctly rounded float32 value (checked for every normal float with |x| < 100: tanh equal on all,
the logistic one ulp off on 14 of 2.2e9; glibc's tanhf is off by up to 2 ulp on 5 % of them), at
about 1 ns each, where a tanhf call (about 17 ns on the 2-core EPYC VM) took nine tenths of the
loop's time. Both loops stay within float32 rounding of `reference` (the tests ask for 1e-5).
Speed on one core of that VM (benchmarks/wavenet_speed.py): the standard preset at about 35 times
real time at 48 kHz in C (3 in Numba), lite at about 60 (5.5); with a tanhf call per value the C
loop ran the standard preset at 5 times real time.

This module lays out the arrays both loops read (the layout is documented in wavenet_kernel.c): a
plan of sizes, the weights packed in the order the loop walks them, the rings and their positions.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from drywet import native
from drywet.errors import ConfigError
from drywet.progress import play_with_progress
from drywet.wavenet.arch import WaveNetConfig
from drywet.wavenet.weights import WaveNetWeights

BLOCK = 128  # samples per block through the layers (a multiple of 16, the C loop's tile)
PROGRESS_BLOCK = 1 << 16  # samples per call when a progress bar is shown
KERNEL_SOURCE = Path(__file__).with_name("wavenet_kernel.c")
KERNEL_MAX_SOURCES = 4097  # MAX_SOURCES in wavenet_kernel.c: channels x kernel_size + 1 at most
LOOPS = ("c", "numba")

def _declare(lib: ctypes.CDLL) -> None:
    ptr = ctypes.c_void_p
    lib.drywet_wavenet.argtypes = [ptr, ptr, ptr, ptr, ptr, ctypes.c_long, ptr, ctypes.c_float,
                                   ctypes.c_int, ptr, ctypes.c_long]
    lib.drywet_wavenet.restype = ctypes.c_int
    lib.drywet_wavenet_scratch_floats.argtypes = [ptr, ctypes.c_int]
    lib.drywet_wavenet_scratch_floats.restype = ctypes.c_long
    lib.drywet_wavenet_activations.argtypes = [ptr, ctypes.c_long, ptr, ptr]


KERNEL = native.LazyLibrary(KERNEL_SOURCE, _declare)  # KERNEL.get(): the loop, or None (KERNEL.error: why)


def loop_for(config: WaveNetConfig) -> str:
    """The loop a stream of `config` runs in: "c", or "numba" where C cannot run it (no compiler, a
    layer over the C loop's inputs), or where $DRYWET_STREAM_LOOP says so."""
    wanted = native.wanted_loop(LOOPS)
    fits = all(a.channels * a.kernel_size + 1 <= KERNEL_MAX_SOURCES and a.input_size <= KERNEL_MAX_SOURCES
               for a in config.arrays)
    return "c" if wanted == "c" and fits and KERNEL.get() is not None else "numba"


def activations(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tanh, logistic) of float32 `x` as the C loop computes them, for checking that they are exact;
    OSError when the C loop cannot be compiled."""
    x = np.ascontiguousarray(x, np.float32).ravel()
    padded = np.zeros(-(-x.size // 8) * 8, np.float32)  # the C function takes whole vectors of 8
    padded[:x.size] = x
    tanh_out, sigmoid_out = np.empty_like(padded), np.empty_like(padded)
    lib = KERNEL.get()
    if lib is None:
        raise OSError(KERNEL.error)
    lib.drywet_wavenet_activations(padded.ctypes.data, padded.size, tanh_out.ctypes.data, sigmoid_out.ctypes.data)
    return tanh_out[:x.size], sigmoid_out[:x.size]


def ring_frames(lookback: int, block: int = BLOCK) -> int:
    """Frames of a conv's ring: its lookback, then room for new blocks (at least `block`; as much
    as the lookback, so moving the history to the front costs under one frame per sample)."""
    room = max(lookback, 2 * block)
    return -(-(lookback + room) // 16) * 16


def plan(config: WaveNetConfig, block: int = BLOCK) -> np.ndarray:
    """The loop's int64 plan: the number of arrays, then per array input_size, channels, head_size,
    kernel_size, gated, layers, then per layer its dilation and ring frames."""
    out = [len(config.arrays)]
    for a in config.arrays:
        out += [a.input_size, a.channels, a.head_size, a.kernel_size, int(a.gated), len(a.dilations)]
        for d in a.dilations:
            out += [d, ring_frames((a.kernel_size - 1) * d, block)]
    return np.array(out, np.int64)


def pack(weights: WaveNetWeights) -> np.ndarray:
    """The weights in the order the loop walks them (float32): per array the rechannel; per layer
    the conv with the input mixer as its last column, conv bias, layer1x1, its bias; the head and
    its bias (zeros when there is none)."""
    parts: list[np.ndarray] = []
    for array, w in zip(weights.config.arrays, weights.arrays, strict=True):
        parts.append(w.rechannel)
        for layer in w.layers:
            conv = layer.conv.reshape(array.mid, array.channels * array.kernel_size)
            parts += [np.hstack([conv, layer.mixer]), layer.conv_bias, layer.layer1x1, layer.layer1x1_bias]
        parts += [w.head, w.head_bias if w.head_bias is not None else np.zeros(array.head_size, np.float32)]
    return np.ascontiguousarray(np.concatenate([p.ravel() for p in parts]), np.float32)


def scratch_floats(config: WaveNetConfig, block: int = BLOCK) -> int:
    """Floats of scratch the loop needs (as drywet_wavenet_scratch_floats counts them): the input
    block, two residual streams, the head sum and head output, the conv output, `block` each row."""
    rows = max(max(a.input_size, a.channels, a.head_size) for a in config.arrays)
    mid = max(a.mid for a in config.arrays)
    return block * (1 + 4 * rows + mid)


def _aligned(size: int) -> np.ndarray:
    """float32 zeros starting on a 64-byte boundary (the C loop stores whole 32-byte vectors)."""
    raw = np.zeros(size + 16, np.float32)
    start = (-raw.ctypes.data % 64) // 4
    return raw[start:start + size]


class WaveNetStream:
    """A WaveNet running like a plugin: `process` continues from the input history the last call
    left; `reset` returns to silence (zero history, as NAM's loader starts). `loop` ("c" or "numba")
    is the loop it runs in (`loop_for`)."""

    def __init__(self, weights: WaveNetWeights):
        self.weights = weights
        config = weights.config
        self.loop = loop_for(config)
        self._plan = plan(config)
        self._params = pack(weights)
        self._lookbacks = np.array([(a.kernel_size - 1) * d for a in config.arrays for d in a.dilations], np.int64)
        rings = sum(a.channels * ring_frames((a.kernel_size - 1) * d) for a in config.arrays for d in a.dilations)
        self._state = _aligned(rings)
        self._pos = self._lookbacks.copy()
        self._scratch = _aligned(scratch_floats(config))
        self._head_scale = np.float32(weights.head_scale)
        if self.loop == "numba":
            from drywet.wavenet import stream_numba

            self._numba = stream_numba.run

    def reset(self) -> None:
        """Back to silence: every ring zero, every write position just after its lookback."""
        self._state[:] = 0.0
        self._pos[:] = self._lookbacks

    def process(self, block: np.ndarray) -> np.ndarray:
        """Output (float32, same length) for the mono signal `block`, continuing the stream."""
        x = np.ascontiguousarray(block, np.float32).ravel()
        y = np.empty(x.size, np.float32)
        if not x.size:
            return y
        if self.loop == "numba":
            self._numba(self._plan, self._params, self._state, self._pos, x, y, self._head_scale, BLOCK,
                        self._scratch)
            return y
        if KERNEL.get().drywet_wavenet(self._plan.ctypes.data, self._params.ctypes.data, self._state.ctypes.data,
                                   self._pos.ctypes.data, x.ctypes.data, x.size, y.ctypes.data, self._head_scale,
                                   BLOCK, self._scratch.ctypes.data, self._scratch.size):
            raise ConfigError("the C WaveNet loop refused its layout")  # pragma: no cover
        return y


def run_wavenet(weights: WaveNetWeights, x: np.ndarray, progress: bool = False) -> np.ndarray:
    """The WaveNet's output for the whole mono signal `x` from silence (float32, same length);
    `progress` draws a progress bar on stderr."""
    audio = np.ascontiguousarray(x, np.float32).ravel()
    return play_with_progress(WaveNetStream(weights).process, audio, progress, PROGRESS_BLOCK)
