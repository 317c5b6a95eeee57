"""The anti-aliasing remedy: run a model at an integer multiple of the audio rate.

A model's nonlinearity creates harmonics; at the audio rate those above Nyquist fold back as
aliasing (and training can grow high-band noise). At k-times the rate they land above the original
Nyquist instead, where the decimation filter removes them, as in an oversampled analog-modelling
plugin. Costs k times the compute per second of audio.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import resample_poly

from drywet.errors import ConfigError

FACTORS = (1, 2, 4)


def check_factor(factor: int) -> int:
    if factor not in FACTORS:
        raise ConfigError(f"model.oversample must be one of {', '.join(map(str, FACTORS))}, got {factor}")
    return factor


def upsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Interpolate by `factor` with a polyphase anti-imaging low-pass (Kaiser window)."""
    if check_factor(factor) == 1:
        return np.asarray(x, np.float32)
    return resample_poly(x, factor, 1, window=("kaiser", 8.0)).astype(np.float32)


def downsample(y: np.ndarray, factor: int, length: int | None = None) -> np.ndarray:
    """Decimate by `factor` with a polyphase anti-alias low-pass; optionally fix the output length."""
    if check_factor(factor) == 1:
        out = np.asarray(y, np.float32)
    else:
        out = resample_poly(y, 1, factor, window=("kaiser", 8.0)).astype(np.float32)
    if length is not None:
        out = out[:length] if len(out) >= length else np.pad(out, (0, length - len(out)))
    return out
