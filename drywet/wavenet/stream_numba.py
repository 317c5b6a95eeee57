"""The WaveNet streaming loop in Numba: what `drywet.wavenet.stream` runs where its C loop
(`wavenet_kernel.c`) cannot be compiled, or where `DRYWET_STREAM_LOOP=numba`. Imported only then.

It reads the arrays `drywet.wavenet.stream` lays out for the C loop (plan, packed weights, rings,
positions; layout in wavenet_kernel.c) and does the same work in the same order: blocks of up to
`block` samples through each layer, channel-major, the sample loop innermost so it vectorises.
No padding: a block of n samples is n samples wide. tanh is np.tanh (the C library's tanhf), the
logistic 1 / (1 + exp(-x)); the only licence taken is contracting multiply-adds into FMAs.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is in requirements.txt; without it the loop runs uncompiled
    numba = None


def _compiled(function):
    """numba.njit (FMA contraction only, cached on disk, releasing the GIL), or the plain function."""
    if numba is None:  # pragma: no cover
        return function
    return numba.njit(cache=True, nogil=True, fastmath={"contract"})(function)


_ONE = np.float32(1.0)


@_compiled
def _matmul(rows, cols, params, at, has_bias, src, size, out, acc, tmp):
    """out[o, :size] (+)= bias[o] + params[at + o cols + j] src[j, :size]; the bias (rows floats)
    follows the matrix in params when `has_bias`; tmp (size floats at least) is scratch. Returns the
    index after what it read."""
    bias_at = at + rows * cols
    for o in range(rows):
        if acc == 0:
            for t in range(size):
                out[o, t] = params[bias_at + o] if has_bias else np.float32(0.0)
            for j in range(cols):
                wv = params[at + o * cols + j]
                for t in range(size):
                    out[o, t] += wv * src[j, t]
        else:
            for t in range(size):
                tmp[t] = params[bias_at + o] if has_bias else np.float32(0.0)
            for j in range(cols):
                wv = params[at + o * cols + j]
                for t in range(size):
                    tmp[t] += wv * src[j, t]
            for t in range(size):
                out[o, t] += tmp[t]
    return bias_at + (rows if has_bias else 0)


@_compiled
def run(plan, params, state, pos, x, y, head_scale, block, scratch):
    """The loop over x (float32), writing y; state and pos (the rings and their write positions)
    change in place; scratch holds at least `block` x (1 + 4 rows + mid) floats, as the C loop's."""
    arrays = plan[0]
    rows = 1
    mid = 1
    p = 1
    for _ in range(arrays):
        rows = max(rows, plan[p], plan[p + 1], plan[p + 2])
        mid = max(mid, 2 * plan[p + 1] if plan[p + 4] else plan[p + 1])
        p += 6 + 2 * plan[p + 5]
    xs = scratch[:block].reshape(1, block)
    res0 = scratch[block:block * (1 + rows)].reshape(rows, block)
    res1 = scratch[block * (1 + rows):block * (1 + 2 * rows)].reshape(rows, block)
    hd0 = scratch[block * (1 + 2 * rows):block * (1 + 3 * rows)].reshape(rows, block)
    ho0 = scratch[block * (1 + 3 * rows):block * (1 + 4 * rows)].reshape(rows, block)
    z = scratch[block * (1 + 4 * rows):block * (1 + 4 * rows + mid)].reshape(mid, block)
    tmp = np.empty(block, np.float32)
    n = x.shape[0]
    for start in range(0, n, block):
        size = min(block, n - start)
        for t in range(size):
            xs[0, t] = x[start + t]
        p = 1
        w = 0
        ring_at = 0
        layer_index = 0
        src = xs
        h, other, hd, ho = res0, res1, hd0, ho0
        for a in range(arrays):
            n_in, ch, head, k, gated, layers = plan[p], plan[p + 1], plan[p + 2], plan[p + 3], plan[p + 4], plan[p + 5]
            m = 2 * ch if gated else ch
            p += 6
            w = _matmul(ch, n_in, params, w, False, src, size, h, 0, tmp)
            if a == 0:
                for c in range(ch):
                    for t in range(size):
                        hd[c, t] = 0.0
            else:  # the head sum goes on from the previous array's head output
                hd, ho = ho, hd
            for _ in range(layers):
                d, cap = plan[p], plan[p + 1]
                p += 2
                lookback = (k - 1) * d
                ring = state[ring_at:ring_at + ch * cap].reshape(ch, cap)
                wp = pos[layer_index]
                if wp + block > cap:
                    for c in range(ch):
                        ring[c, :lookback] = ring[c, wp - lookback:wp].copy()
                    wp = lookback
                for c in range(ch):
                    for t in range(size):
                        ring[c, wp + t] = h[c, t]
                cols = ch * k + 1
                bias_at = w + m * cols
                for o in range(m):
                    row = w + o * cols
                    b = params[bias_at + o]
                    for t in range(size):
                        z[o, t] = b
                    for i in range(ch):
                        for tap in range(k):
                            wv = params[row + i * k + tap]
                            base = wp - (k - 1 - tap) * d
                            for t in range(size):
                                z[o, t] += wv * ring[i, base + t]
                    wv = params[row + ch * k]
                    for t in range(size):
                        z[o, t] += wv * xs[0, t]
                w = bias_at + m
                for c in range(ch):
                    if gated:
                        for t in range(size):
                            z[c, t] = np.tanh(z[c, t]) * (_ONE / (_ONE + np.exp(-z[ch + c, t])))
                    else:
                        for t in range(size):
                            z[c, t] = np.tanh(z[c, t])
                    for t in range(size):
                        hd[c, t] += z[c, t]
                w = _matmul(ch, ch, params, w, True, z, size, h, 1, tmp)
                pos[layer_index] = wp + size
                ring_at += ch * cap
                layer_index += 1
            w = _matmul(head, ch, params, w, True, hd, size, ho, 0, tmp)
            src = h
            h, other = other, h
        for t in range(size):
            y[start + t] = head_scale * ho[0, t]
