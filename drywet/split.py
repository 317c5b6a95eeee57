"""Contiguous train / validation / test split and causal frame indexing, without copies.

A framed model reads `frame` dry samples and predicts the wet sample aligned with the frame's
last sample (causal). Frames are never materialised for a whole signal: a frame is named by its
start index into a sliding-window view, and only one batch at a time is gathered into an array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from drywet.errors import ConfigError, InputError


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


def frame_views(x: np.ndarray, frame: int) -> np.ndarray:
    """All frames of x as a read-only (n - frame + 1, frame) view; no data is copied."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise InputError(f"framing needs a mono signal, got shape {x.shape}")
    frame = _check_frame(frame)
    if x.size < frame:
        raise InputError(f"a signal of {x.size} samples is shorter than the frame ({frame} samples)")
    return sliding_window_view(x, frame)


def targets_for_starts(wet: np.ndarray, starts: np.ndarray, frame: int) -> np.ndarray:
    """Wet samples aligned with the last sample of each frame: wet[starts + frame - 1]."""
    return np.asarray(wet)[np.asarray(starts, dtype=np.int64) + (_check_frame(frame) - 1)]


def batch_frames(x: np.ndarray, starts: np.ndarray, frame: int) -> np.ndarray:
    """Gather the frames starting at `starts` into a (len(starts), frame, 1) float32 array."""
    frames = frame_views(x, frame)[np.asarray(starts, dtype=np.int64)]
    return frames.astype(np.float32, copy=False)[:, :, np.newaxis]


def pad_for_causal(x: np.ndarray, frame: int) -> np.ndarray:
    """Left-pad x with frame - 1 zeros, so its frames end at every sample of x (len(x) frames)."""
    x = np.asarray(x)
    pad = np.zeros(_check_frame(frame) - 1, dtype=x.dtype)
    return np.concatenate([pad, x])
