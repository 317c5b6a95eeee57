"""The clean-up high-pass as a stream: `align.highpass`'s filter (causal 2nd-order Butterworth, float64)
run block by block with its state carried, so `python -m drywet process` filters a file of any length
one block at a time. Joined, the blocks equal `align.highpass` of the whole signal to float32
rounding (tests/test_highpass.py).

The coefficients are the bilinear-transform Butterworth in closed form (scipy.signal.butter's, to
the last bit or two) and the filter is sosfilt's transposed direct form II, compiled with Numba:
importing scipy.signal would add most of a second to the command's start-up.
"""

from __future__ import annotations

import math

import numpy as np

from drywet.errors import ConfigError

try:
    import numba
except ImportError:  # pragma: no cover - numba is in requirements.txt
    numba = None


def _compiled(function):
    """numba.njit without fastmath (IEEE arithmetic in sosfilt's order), cached on disk."""
    return function if numba is None else numba.njit(cache=True, nogil=True)(function)


@_compiled
def _biquad(x, y, b0, b1, b2, a1, a2, state):
    """y = the section applied to float32 x in float64 (scipy's sosfilt loop); state (2,) carried."""
    z0 = state[0]
    z1 = state[1]
    for n in range(x.shape[0]):
        xn = np.float64(x[n])
        yn = b0 * xn + z0
        z0 = b1 * xn - a1 * yn + z1
        z1 = b2 * xn - a2 * yn
        y[n] = yn
    state[0] = z0
    state[1] = z1


class HighpassStream:
    """The causal 2nd-order Butterworth high-pass at `corner_hz` (Hz) for audio at `sr`, state carried
    from one `process` call to the next (zero at the start, as `align.highpass` starts)."""

    def __init__(self, sr: int, corner_hz: float):
        if not corner_hz > 0:
            raise ConfigError(f"align.highpass_hz must be > 0 to filter, got {corner_hz}")
        if not corner_hz < 0.5 * sr:
            raise ConfigError(f"align.highpass_hz must be below half the sample rate ({sr / 2:g} Hz), "
                              f"got {corner_hz}")
        k = math.tan(math.pi * corner_hz / sr)  # the pre-warped corner, bilinear transform at fs = 1 / 2
        norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
        self.coefficients = (norm, -2.0 * norm, norm, 2.0 * (k * k - 1.0) * norm,
                             (1.0 - math.sqrt(2.0) * k + k * k) * norm)  # b0, b1, b2, a1, a2
        self._state = np.zeros(2, np.float64)

    def process(self, x: np.ndarray) -> np.ndarray:
        """The filtered block (float32, same length), continuing from the last call."""
        x = np.ascontiguousarray(x, np.float32).ravel()
        y = np.empty(x.shape[0], np.float32)
        _biquad(x, y, *self.coefficients, self._state)
        return y
