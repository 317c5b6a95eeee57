"""The streaming loop in Numba: what `drywet.lstm.stream` runs where its C loop (`stream_kernel.c`) cannot
be compiled (no C compiler) or does not fit (a layer over 128 units, over 8 layers), and the exact
float64 reference both are measured against. Imported only then: a `process` with the C loop never
imports Numba.

The loop is the Keras LSTM step in float32 with one change: tanh (and the logistic, written as
0.5 + 0.5 tanh(z / 2)) is the clamped rational function of `drywet.lstm.stream` (TANH_P, TANH_Q), which the
compiler vectorises over all the gates at once. Layer by layer over blocks of BLOCK samples (exact:
a layer's output over a block does not depend on the layers above it), so each phase keeps one weight
matrix in the L1 cache. It takes the arrays `SequenceStream` lays out, at any width that is a multiple
of 4.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from drywet.lstm.activation import TANH_CLIP, TANH_P, TANH_Q

BLOCK = 64  # samples per layer-by-layer block inside the compiled loop

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
def loop(units: int):
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



def scratch(width: int, aligned) -> tuple[np.ndarray, ...]:
    """The loop's scratch arrays at `width` (u, src, dst, a), made with `aligned` (64-byte aligned
    zeros)."""
    return aligned((BLOCK, 4 * width)), aligned((BLOCK, width)), aligned((BLOCK, width)), aligned((4 * width,))


def reference(weights, audio: np.ndarray, knobs: np.ndarray) -> np.ndarray:
    """`drywet.lstm.stream.reference_sequence` for the audio and its knob values (float64)."""
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

