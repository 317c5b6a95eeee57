"""The recording chain of the virtual bench: latency, level, polarity and a noise floor.

A real reamp session returns the pedal's output through an interface that adds a round-trip latency
(rarely a whole number of samples), a level change and its own noise. `chain_truth` draws these per
effect from the seed; later stages must estimate them from the audio alone.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy import signal

from drywet.errors import ConfigError

LATENCY_MS = (3.0, 12.0)
GAIN_DB = (-6.0, 3.0)
FRACTION = (0.1, 0.9)  # the latency's fractional part stays clear of whole samples
DELAY_HALF_TAPS = 64  # windowed-sinc fractional delay: 129 taps
DELAY_KAISER_BETA = 8.0  # flat within 0.01 dB and 0.001 samples of group delay up to 0.45 fs


def _rng(seed: int, stream: str) -> np.random.Generator:
    """A generator for one named random stream of the seed (streams are independent)."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode())])


def fractional_delay_fir(fraction: float, half_taps: int = DELAY_HALF_TAPS) -> np.ndarray:
    """Kaiser-windowed sinc that delays by half_taps + fraction samples (unity gain at DC)."""
    m = np.arange(2 * half_taps + 1) - half_taps - fraction  # tap time relative to the delay
    # The Kaiser window moves with the sinc (centred on the delay, not on the middle tap), so the
    # kernel is symmetric about the delay point and the group delay stays flat across the band.
    window = np.i0(DELAY_KAISER_BETA * np.sqrt(np.clip(1.0 - (m / (half_taps + 1)) ** 2, 0.0, 1.0)))
    h = np.sinc(m) * window
    return h / h.sum()


def delay(x: np.ndarray, latency_samples: float) -> np.ndarray:
    """x delayed by a (fractional, >= 0) number of samples; same length, zeros shifted in."""
    if not latency_samples >= 0:
        raise ConfigError(f"latency must be >= 0 samples, got {latency_samples}")
    x = np.asarray(x, dtype=np.float64)
    whole = int(np.floor(latency_samples))
    frac = latency_samples - whole
    if frac > 1e-12:
        h = fractional_delay_fir(frac)
        y = signal.oaconvolve(x, h)[DELAY_HALF_TAPS : DELAY_HALF_TAPS + x.size]
    else:
        y = x
    out = np.zeros_like(x)
    if whole < x.size:
        out[whole:] = y[: x.size - whole]
    return out


def record(
    wet: np.ndarray,
    sr: int,
    latency_samples: float,
    gain_db: float,
    polarity: int,
    noise_dbfs: float,
    seed: int,
) -> np.ndarray:
    """The pedal output as the interface records it: delayed, scaled, polarity-flipped, plus noise,
    and clipped at full scale (+-1) as a converter does.

    latency_samples: round-trip latency (fractional samples). gain_db: level change (dB).
    polarity: +1 or -1. noise_dbfs: RMS of added white noise (dBFS; -inf for none). float32 out.
    """
    if polarity not in (1, -1):
        raise ConfigError(f"polarity must be +1 or -1, got {polarity}")
    if sr <= 0:
        raise ConfigError(f"sample_rate must be positive, got {sr}")
    y = delay(wet, latency_samples)
    y *= polarity * 10.0 ** (gain_db / 20.0)
    if np.isfinite(noise_dbfs):
        y += 10.0 ** (noise_dbfs / 20.0) * _rng(seed, "record-noise").standard_normal(y.size)
    np.clip(y, -1.0, 1.0, out=y)
    return y.astype(np.float32)


def chain_truth(effect: str, seed: int, sample_rate: int) -> dict:
    """The recording chain's settings for one effect, drawn from the seed (same seed, same truth).

    latency_samples: 3-12 ms, never a whole number of samples. gain_db: -6..+3 dB. polarity: +1.
    """
    rng = _rng(seed, f"chain-{effect}")
    lo, hi = (ms * 1e-3 * sample_rate for ms in LATENCY_MS)
    whole = int(rng.integers(int(np.ceil(lo)), int(np.floor(hi))))
    latency = whole + float(rng.uniform(*FRACTION))
    return {
        "latency_samples": latency,
        "latency_ms": 1e3 * latency / sample_rate,
        "gain_db": float(rng.uniform(*GAIN_DB)),
        "polarity": 1,
    }
