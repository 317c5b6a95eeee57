"""Contiguous train / validation / test split and example indexing (frames, segments), without copies.

A framed model reads `frame` dry samples and predicts the wet sample aligned with the frame's
last sample (causal). Frames are never materialised for a whole signal: a frame is named by its
start index, and the framed kind gathers one batch at a time (drywet.kinds.framed).
A sequence model trains on segments, likewise named by their start indices: every epoch they tile
the training part at a fresh offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drywet.errors import ConfigError, InputError

# Fixed, not a param: each part must hold at least this many samples, enough for the largest frame
# (64 samples) many times over; anything shorter cannot train or score a model.
MIN_PART_SAMPLES = 1024


@dataclass(frozen=True)
class SplitBounds:
    """Sample index ranges (start, stop), stop exclusive, laid out as [train | val | test]."""

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]

    def slice(self, part: str) -> slice:
        """The index range of `part` ("train", "val" or "test") as a slice."""
        if part not in ("train", "val", "test"):
            raise ConfigError(f"unknown split part '{part}'; valid parts: train, val, test")
        start, stop = getattr(self, part)
        return slice(start, stop)


def split_bounds(n: int, test_fraction: float, val_fraction: float, min_part: int) -> SplitBounds:
    """Split n samples into contiguous [train | val | test] ranges.

    The test part is the last round(n * test_fraction) samples; the validation part is the last
    round(n_fit * val_fraction) samples of the remaining n_fit; train is the rest. Every non-empty
    part must hold at least `min_part` samples (e.g. the frame size); val is empty when
    val_fraction is 0.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"split.test_fraction must be within (0, 1), got {test_fraction}")
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"split.val_fraction must be within [0, 1), got {val_fraction}")
    if min_part < 1:
        raise ConfigError(f"the minimum part length must be at least 1 sample, got {min_part}")
    n = int(n)
    test_start = n - round(n * test_fraction)
    val_start = test_start - round(test_start * val_fraction)
    bounds = SplitBounds(train=(0, val_start), val=(val_start, test_start), test=(test_start, n))
    parts = ("train", "val", "test") if val_fraction > 0 else ("train", "test")
    for part in parts:
        start, stop = getattr(bounds, part)
        if stop - start < min_part:
            raise InputError(
                f"{n} samples are too short for the split with frame size {min_part}: the {part} "
                f"part would hold {stop - start} samples (split.test_fraction={test_fraction}, "
                f"split.val_fraction={val_fraction})"
            )
    return bounds


def _check_frame(frame: int) -> int:
    if int(frame) < 1:
        raise ConfigError(f"frame size must be at least 1 sample, got {frame}")
    return int(frame)


def frame_starts(n_samples: int, frame: int) -> int:
    """Number of valid frame starts in a signal of n_samples: n_samples - frame + 1 (or 0)."""
    return max(0, int(n_samples) - _check_frame(frame) + 1)


def sample_frame_starts(n_samples: int, frame: int, count: int, seed: int) -> np.ndarray:
    """Draw `count` distinct frame starts (int64, sorted) without replacement, reproducibly.

    Starts index the signal of n_samples given (e.g. the train part), so every frame lies inside
    it. All starts are returned when `count` is at least the number available; InputError when
    the signal is shorter than one frame.
    """
    if count < 0:
        raise ConfigError(f"frame count must be >= 0, got {count}")
    available = frame_starts(n_samples, frame)
    if available == 0:
        raise InputError(f"a part of {n_samples} samples is shorter than the frame ({frame} samples)")
    if count >= available:
        return np.arange(available, dtype=np.int64)
    rng = np.random.default_rng(seed)
    starts = rng.choice(available, size=count, replace=False)
    return np.sort(starts).astype(np.int64, copy=False)


def _check_segment(segment: int, warmup: int) -> tuple[int, int]:
    segment, warmup = int(segment), int(warmup)
    if not 0 <= warmup < segment:
        raise ConfigError(f"the warm-up ({warmup} samples) must be at least 0 and shorter than the "
                          f"segment ({segment} samples)")
    return segment, warmup


def tile_segment_starts(n_samples: int, segment: int, warmup: int, offset: int) -> np.ndarray:
    """Starts of segments whose scored parts (all but the first `warmup` samples) tile a signal.

    The scored windows [s + warmup, s + segment) step by stride = segment - warmup from
    `offset` (1 <= offset <= stride); the first start is clipped to 0 and the last ones to
    n_samples - segment, so together they cover every sample from `warmup` to the end. Always
    ceil((n_samples - warmup) / stride) + 1 starts (one may repeat at the end), whatever the offset.
    """
    segment, warmup = _check_segment(segment, warmup)
    stride = segment - warmup
    if not 1 <= offset <= stride:
        raise ConfigError(f"the tiling offset must be within [1, {stride}], got {offset}")
    if n_samples < segment:
        raise InputError(f"a part of {n_samples} samples is shorter than one segment ({segment} samples)")
    n_tiles = -(-(int(n_samples) - warmup) // stride)
    starts = offset + stride * np.arange(-1, n_tiles, dtype=np.int64)
    return np.clip(starts, 0, int(n_samples) - segment)


def epoch_segment_starts(n_samples: int, segment: int, warmup: int, epochs: int, seed: int,
                         max_segments: int | None = None) -> np.ndarray:
    """Every epoch's training segments, shape (epochs, segments): each row tiles the signal (see
    `tile_segment_starts`) at a fresh random offset, in a random order; seeded, so reproducible.

    `max_segments` keeps only the first that many of each shuffled row (a random subset, for
    quick runs); None keeps the whole tiling.
    """
    segment, warmup = _check_segment(segment, warmup)
    if epochs < 1:
        raise ConfigError(f"epochs must be at least 1, got {epochs}")
    if max_segments is not None and max_segments < 1:
        raise ConfigError(f"max_segments must be at least 1 or null, got {max_segments}")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(int(epochs)):
        offset = int(rng.integers(1, segment - warmup, endpoint=True))
        starts = tile_segment_starts(n_samples, segment, warmup, offset)
        rows.append(starts[rng.permutation(len(starts))][:max_segments])
    return np.stack(rows)
