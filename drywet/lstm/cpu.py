"""drywet's own CPU LSTM kernel for training (kernel `cpu`: the framed kind's default, the sequence
kind's on request): the same cell as keras.layers.LSTM
(same weights, same math), computed by `cpu.c` one frame at a time in cache, on the batch
split in two halves run on two threads.

Keras's LSTM on a CPU runs a graph op per time step over the whole batch, and TensorFlow's fused
`BlockLSTM` (drywet.lstm.block) still multiplies the whole batch per step; on 32-64-step frames both
spend most of their time outside the arithmetic. The C kernel is compiled once per source and
machine (`cc -O3 -march=native`, drywet.native) into `~/.cache/drywet` (or `$DRYWET_CACHE`) and called through
ctypes (the GIL released); the C code runs the second half on a thread of its own. The halves are
fixed (the first and second half of the batch, their weight gradients summed in that order)
whatever the number of cores: the same seed gives the same model. Used through
`drywet.lstm.kernels.twin(model, "cpu")`; models are saved as plain Keras LSTMs.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

import numpy as np

from drywet import native

SOURCE = Path(__file__).with_name("cpu.c")
UNITS = (16, 32)  # the shapes the kernel has code for: inputs 1 or `units`
CHUNKS = 2  # the batch is always cut in this many parts (results do not depend on the cores)



def _declare(lib: ctypes.CDLL) -> None:
    ptr, i = ctypes.c_void_p, ctypes.c_int
    lib.drywet_lstm_forward.argtypes = [i] * 6 + [ptr] * 8
    lib.drywet_lstm_backward.argtypes = [i] * 7 + [ptr] * 13
    lib.drywet_lstm_forward.restype = lib.drywet_lstm_backward.restype = i


LIBRARY = native.LazyLibrary(SOURCE, _declare)


def library() -> ctypes.CDLL:
    """The compiled kernel (compiled on first use); OSError with the reason when it cannot be."""
    lib = LIBRARY.get()
    if lib is None:
        raise OSError(LIBRARY.error)
    return lib


def unavailable_reason(units: int, inputs: int) -> str | None:
    """None when the kernel can train an LSTM of `units` on `inputs` channels, else why not."""
    if units not in UNITS or inputs not in (1, units):
        return f"the CPU kernel has code for {'/'.join(map(str, UNITS))} units on 1 or as many inputs, " \
               f"not {units} units on {inputs}"
    try:
        library()
    except OSError as e:
        return str(e)
    return None


def check_model(model, key: str = "train.kernel", way_out: str = "keras") -> None:
    """ConfigError (one line, with the way out) when the kernel cannot train `model`'s LSTM layers;
    `key` is the params key that chose the kernel, `way_out` the value that trains it instead."""
    import keras

    from drywet.errors import ConfigError

    for layer in model.layers:
        if isinstance(layer, keras.layers.LSTM):
            reason = unavailable_reason(layer.units, int(layer.input.shape[-1]))
            if reason:
                raise ConfigError(f"params.yaml: {key}: cpu cannot train layer {layer.name}: {reason}; "
                                  f"set {key}: {way_out}")


def _threads() -> int:
    """Threads for the batch's CHUNKS parts: one per core this process may use, at most CHUNKS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(CHUNKS, cores))


def _p(a: np.ndarray) -> int:
    return a.ctypes.data


class _Spares:
    """Spare float32 arrays by shape, for the big per-batch arrays of a training (a few MB each):
    reused, not freshly allocated, because fresh pages fault on first touch, and two threads
    faulting at once wait on each other in the OS. Only arrays handed back with `give` are reused."""

    PER_SHAPE = 8

    def __init__(self) -> None:
        self._free: dict[tuple, list[np.ndarray]] = {}
        self._lock = threading.Lock()

    def take(self, shape: tuple) -> np.ndarray:
        with self._lock:
            free = self._free.get(tuple(shape))
            if free:
                return free.pop()
        return np.empty(shape, np.float32)

    def give(self, *arrays: np.ndarray) -> None:
        with self._lock:
            for a in arrays:
                free = self._free.setdefault(a.shape, [])
                if len(free) < self.PER_SHAPE:
                    free.append(a)


_SPARES = _Spares()


def forward(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray):
    """x (batch, steps, inputs) -> (hs, cs, tanh(cs), gates): hidden and cell states (batch, steps,
    units) and the activated i, f, c, o gates (batch, steps, 4 units) of every step."""
    lib = library()
    x, kernel, recurrent, bias = (np.ascontiguousarray(a, np.float32) for a in (x, kernel, recurrent, bias))
    batch, steps, n_in = x.shape
    units = recurrent.shape[0]
    hs, cs, tcs = (_SPARES.take((batch, steps, units)) for _ in range(3))
    gs = _SPARES.take((batch, steps, 4 * units))
    if lib.drywet_lstm_forward(batch, CHUNKS, _threads(), steps, n_in, units, _p(x), _p(kernel), _p(recurrent),
                               _p(bias), _p(hs), _p(cs), _p(tcs), _p(gs)):
        raise ValueError(f"drywet.lstm.cpu: no code for {units} units on {n_in} inputs")
    return hs, cs, tcs, gs


def backward(x, kernel, recurrent, hs, cs, tcs, gs, dy):
    """Gradients (dx, dkernel, drecurrent, dbias) from `dy`, the loss gradient of the layer's output:
    every step's (batch, steps, units), or only the last step's (batch, units)."""
    lib = library()
    x, dy = np.ascontiguousarray(x, np.float32), np.ascontiguousarray(dy, np.float32)
    batch, steps, n_in = x.shape
    units = recurrent.shape[0]
    kt = np.ascontiguousarray(np.asarray(kernel, np.float32).T)
    rt = np.ascontiguousarray(np.asarray(recurrent, np.float32).T)
    hs, cs, tcs, gs = (np.ascontiguousarray(a, np.float32) for a in (hs, cs, tcs, gs))
    dx = np.empty_like(x)  # handed to TensorFlow: never a spare
    shares = [_SPARES.take((CHUNKS,) + shape) for shape in ((n_in, 4 * units), (units, 4 * units), (4 * units,))]
    for a in shares:
        a.fill(0.0)
    scratch = _SPARES.take((CHUNKS, 2 * steps * 4 * units))
    dk_all, dr_all, db_all = shares
    if lib.drywet_lstm_backward(batch, CHUNKS, _threads(), steps, n_in, units, int(dy.ndim == 3), _p(x), _p(kt),
                                _p(rt), _p(hs), _p(cs), _p(tcs), _p(gs), _p(dy), _p(dx), _p(dk_all), _p(dr_all),
                                _p(db_all), _p(scratch)):
        raise ValueError(f"drywet.lstm.cpu: no code for {units} units on {n_in} inputs")
    grads = [a[0].copy() for a in shares]
    for c in range(1, CHUNKS):  # the chunks' shares in order: the same sums every run
        for g, a in zip(grads, shares, strict=True):
            g += a[c]
    _SPARES.give(*shares, scratch)
    return (dx, *grads)


class _Records:
    """What a training forward pass keeps for its backward pass, by token, in Python memory: the
    per-step records never travel through TensorFlow. Bounded, so a forward pass whose gradient
    is never asked for (a training-mode call outside `fit`) cannot pile up."""

    KEEP = 16

    def __init__(self) -> None:
        self._items: dict[int, tuple] = {}
        self._next = 0
        self._lock = threading.Lock()

    def put(self, record: tuple) -> np.int64:
        with self._lock:
            token, self._next = self._next, self._next + 1
            self._items[token] = record
            for old in [k for k in self._items if k <= token - self.KEEP]:
                del self._items[old]
        return np.int64(token)

    def pop(self, token) -> tuple:
        with self._lock:
            return self._items.pop(int(token))


_RECORDS = _Records()


def _train_forward(x, kernel, recurrent, bias, sequences):
    kept = _SPARES.take(x.shape)  # the input, kept for the backward pass: a copy TensorFlow cannot reuse
    np.copyto(kept, x)
    hs, cs, tcs, gs = forward(kept, kernel, recurrent, bias)
    token = _RECORDS.put((kept, hs, cs, tcs, gs, sequences))
    return (hs if sequences else hs[:, -1].copy()), token  # hs itself goes to TensorFlow: never a spare again


def _train_backward(token, kernel, recurrent, dy):
    x, hs, cs, tcs, gs, sequences = _RECORDS.pop(token)
    grads = backward(x, kernel, recurrent, hs, cs, tcs, gs, dy)
    _SPARES.give(x, cs, tcs, gs, *(() if sequences else (hs,)))
    return grads


def _infer(x, kernel, recurrent, bias, sequences):
    hs, cs, tcs, gs = forward(x, kernel, recurrent, bias)
    _SPARES.give(cs, tcs, gs)
    if sequences:
        return hs
    last = hs[:, -1].copy()
    _SPARES.give(hs)
    return last


def call(layer, x, training):
    """The layer's output for (batch, time, channels) `x`, computed by the C kernel (through
    tf.numpy_function, its gradient registered): the `call` of drywet.lstm.kernels' layer."""
    import tensorflow as tf

    f32 = tf.float32
    w = [tf.convert_to_tensor(v) for v in (layer.kernel, layer.recurrent_kernel, layer.bias)]
    x, (kernel, recurrent, bias), sequences = tf.cast(x, f32), w, layer.return_sequences
    units = recurrent.shape[0]
    out_shape = x.shape[:2] + (units,) if sequences else x.shape[:1] + (units,)
    if not bool(training):
        y = tf.numpy_function(lambda *a: _infer(*a, sequences), [x, kernel, recurrent, bias], f32, stateful=False)
        y.set_shape(out_shape)
        return y

    @tf.custom_gradient
    def op(x, kernel, recurrent, bias):
        y, token = tf.numpy_function(lambda *a: _train_forward(*a, sequences), [x, kernel, recurrent, bias],
                                     [f32, tf.int64], stateful=True)
        y.set_shape(out_shape)

        def grad(dy):
            grads = tf.numpy_function(_train_backward, [token, kernel, recurrent, dy], [f32] * 4, stateful=True)
            for g, like in zip(grads, (x, kernel, recurrent, bias), strict=True):
                g.set_shape(like.shape)
            return grads

        return y, grad

    return op(x, kernel, recurrent, bias)
