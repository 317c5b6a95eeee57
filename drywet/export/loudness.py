"""The `loudness` and `gain` a `.nam` file's metadata carries, defined as Neural Amp Modeler's trainer
defines them (neural-amp-modeler v0.12.3, nam/models/base.py:122-157):

    loudness  20 log10 of the RMS of the model's output for a standard input (dBFS); the NAM plugin
              uses it to normalise output levels across models
    gain      the model's output RMS y(g) for that input scaled by g = 0, 0.1, ..., 1 (11 values),
              then (sum y - Y / 2) / (Y - Y / 2) with Y = 11 y(1), clipped to [0, 1]: 0 for a
              linear model (a "triangle"), 1 for one whose output level does not depend on the input

NAM's standard input is a file it ships (models/_resources/loudness_input.wav: 48000 samples at
48 kHz, pink-spectrum noise of about -15 dBFS RMS). That file is not copied here: `reference_input`
generates a documented equivalent (seeded Gaussian noise shaped to a 1/f power spectrum, 48000
samples, RMS exactly -15 dBFS), so the values are NAM's definition on a comparable signal, not
bit-for-bit NAM's numbers. Like NAM, the samples are fed at the model's own rate, from the model's
initial state (no prewarm).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

REFERENCE_SAMPLES = 48000
REFERENCE_RMS_DBFS = -15.0
REFERENCE_SEED = 20230316
GAINS = np.linspace(0.0, 1.0, 11)


@cache
def reference_input() -> np.ndarray:
    """The standard input (float64, REFERENCE_SAMPLES): pink noise at REFERENCE_RMS_DBFS RMS. Read-only."""
    rng = np.random.default_rng(REFERENCE_SEED)
    spectrum = np.fft.rfft(rng.standard_normal(REFERENCE_SAMPLES))
    bins = np.arange(spectrum.size, dtype=np.float64)
    spectrum[0] = 0.0
    spectrum[1:] /= np.sqrt(bins[1:])  # power ~ 1/f: equal energy per octave
    x = np.fft.irfft(spectrum, REFERENCE_SAMPLES)
    x *= 10.0 ** (REFERENCE_RMS_DBFS / 20.0) / np.sqrt(np.mean(np.square(x)))
    x.flags.writeable = False
    return x


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(y, np.float64)))))


def loudness_and_gain(play: Callable[[np.ndarray], np.ndarray]) -> tuple[float | None, float]:
    """(loudness in dBFS, gain 0-1) of a model; `play(x)` returns its output for x from its initial
    state. A model silent at full input has no loudness (None) and gain 0 (NAM's formula divides by
    zero there)."""
    x = reference_input()
    levels = np.array([_rms(play(g * x)) for g in GAINS])
    loud = levels[-1]
    loudness = float(20.0 * np.log10(loud)) if loud > 0 else None
    top = loud * len(GAINS)  # every level at the full-input one: 100 % compression
    bottom = 0.5 * top  # levels rising linearly from 0: no compression
    gain = float(np.clip((levels.sum() - bottom) / (top - bottom), 0.0, 1.0)) if top > 0 else 0.0
    return loudness, gain
