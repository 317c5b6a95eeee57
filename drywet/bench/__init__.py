"""The virtual bench: deterministic stand-ins for a real reamp session (dry, wet, and the truth).

The pedals here are physically motivated stand-ins for the kind of circuit an SD-1, a Black '65 or
a fuzz is, not models of those products. Pure functions on numpy arrays; no files.
"""

from __future__ import annotations

import zlib

import numpy as np

from drywet.bench.chain import chain_truth, record
from drywet.bench.material import make_dry
from drywet.bench.pedals import PEDAL_KNOBS, PEDAL_POLARITY, PEDALS, apply_pedal
from drywet.errors import ConfigError

__all__ = [
    "PEDALS",
    "PEDAL_KNOBS",
    "PEDAL_POLARITY",
    "apply_pedal",
    "chain_truth",
    "make_dry",
    "record",
    "record_dry",
    "record_wet",
    "run_bench",
]


def run_bench(
    effect: str,
    duration_s: float = 480.0,
    sample_rate: int = 44100,
    oversample: int = 8,
    noise_dbfs: float = -90.0,
    seed: int = 2024,
    gain: float | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Dry and wet recordings (float32, equal length) of one stand-in pedal, and the chain truth.

    dry: program material plus its own noise floor (a DI recording is never digitally clean).
    wet: the pedal's response to that dry signal, recorded with the latency, gain and polarity of
    `chain_truth` and another noise floor. The dry signal depends only on the seed, so every
    effect of one bench shares it. truth: latency_samples, latency_ms, gain_db, polarity (of the
    whole dry -> wet path: the chain's times the pedal's, -1 for the inverting fuzz), effect,
    oversample. `gain`: the pedal's drive knob, 0 to 1 (None: its default setting; see `record_wet`).
    """
    if effect not in PEDALS:
        raise ConfigError(f"unknown pedal {effect!r}; the bench has {', '.join(sorted(PEDALS))}")
    dry = record_dry(duration_s, sample_rate, noise_dbfs, seed)
    wet, truth = record_wet(effect, dry, sample_rate, oversample, noise_dbfs, seed, gain)
    return dry, wet, truth


def record_dry(duration_s: float, sample_rate: int, noise_dbfs: float, seed: int) -> np.ndarray:
    """The dry take: `make_dry` material plus a noise floor at noise_dbfs (RMS), float32."""
    dry = make_dry(duration_s, sample_rate, seed)
    # The floor comes from a stream no effect shares, so every effect sees the same dry signal.
    return record(dry, sample_rate, 0.0, 0.0, 1, noise_dbfs, seed=_sub_seed(seed, "dry-floor"))


def record_wet(
    effect: str, dry: np.ndarray, sample_rate: int, oversample: int, noise_dbfs: float, seed: int,
    gain: float | None = None,
) -> tuple[np.ndarray, dict]:
    """The wet take of `effect` played from `dry` (float32), and the truth of its recording chain.

    The truth's polarity is that of the whole path (chain times pedal): what alignment should find.
    `gain` sets the pedal's drive knob (0 to 1; None: its default setting). Every setting goes
    through the same recording chain (latency, level, polarity), as one reamp rig records them, with
    a noise floor of its own; the truth then also holds the `gain`.
    """
    truth = chain_truth(effect, seed, sample_rate)
    wet = apply_pedal(effect, dry, sample_rate, oversample, gain)
    floor = f"wet-floor-{effect}" if gain is None else f"wet-floor-{effect}-gain-{float(gain)!r}"
    wet = record(
        wet,
        sample_rate,
        truth["latency_samples"],
        truth["gain_db"],
        truth["polarity"],
        noise_dbfs,
        seed=_sub_seed(seed, floor),
    )
    polarity = int(truth["polarity"]) * PEDAL_POLARITY[effect]
    knob = {} if gain is None else {"gain": float(gain)}
    return wet, {**truth, "polarity": polarity, "effect": effect, "oversample": int(oversample), **knob}


def _sub_seed(seed: int, stream: str) -> int:
    """A seed for one named stream (record() takes an int seed)."""
    return int(np.random.default_rng([int(seed), zlib.crc32(stream.encode())]).integers(2**62))
