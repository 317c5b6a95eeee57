"""Contiguous split bounds, causal frame indexing and segment tiling."""

from __future__ import annotations

import numpy as np
import pytest

from drywet.errors import ConfigError, InputError
from drywet.split import (
    SplitBounds,
    epoch_segment_starts,
    frame_starts,
    sample_frame_starts,
    split_bounds,
    tile_segment_starts,
)


def test_split_bounds_exact_indices():
    b = split_bounds(1000, test_fraction=0.2, val_fraction=0.1, min_part=10)
    assert b == SplitBounds(train=(0, 720), val=(720, 800), test=(800, 1000))
    x = np.arange(1000)
    assert x[b.slice("test")].tolist() == list(range(800, 1000))
    with pytest.raises(ConfigError):
        b.slice("holdout")


@pytest.mark.parametrize(
    ("n", "test_fraction", "val_fraction"),
    [(12345, 0.2, 0.1), (21_168_000, 0.2, 0.1), (999, 0.25, 0.15), (101, 0.5, 0.5), (1000, 0.3, 0.0)],
)
def test_split_parts_are_contiguous_disjoint_and_cover(n, test_fraction, val_fraction):
    b = split_bounds(n, test_fraction, val_fraction, min_part=1 if val_fraction == 0 else 8)
    assert b.train[0] == 0
    assert b.train[1] == b.val[0]
    assert b.val[1] == b.test[0]
    assert b.test[1] == n
    n_test = b.test[1] - b.test[0]
    n_val = b.val[1] - b.val[0]
    assert n_test == round(n * test_fraction)
    assert n_val == round((n - n_test) * val_fraction)
    covered = np.zeros(n, dtype=int)
    for part in ("train", "val", "test"):
        covered[b.slice(part)] += 1
    assert np.all(covered == 1)


def test_split_without_validation_part():
    b = split_bounds(1000, 0.2, 0.0, min_part=32)
    assert b.val == (800, 800)
    assert b.train == (0, 800)


def test_split_too_short_raises():
    with pytest.raises(InputError, match="too short for the split with frame size 64"):
        split_bounds(500, 0.2, 0.1, min_part=64)  # val would be 40 samples
    with pytest.raises(InputError, match="test part"):
        split_bounds(200, 0.1, 0.0, min_part=32)


@pytest.mark.parametrize(
    ("test_fraction", "val_fraction"), [(0.0, 0.1), (1.0, 0.1), (-0.2, 0.1), (0.2, 1.0), (0.2, -0.1)]
)
def test_split_bad_fractions_raise(test_fraction, val_fraction):
    with pytest.raises(ConfigError):
        split_bounds(1000, test_fraction, val_fraction, min_part=1)


def test_frame_starts_counts_every_full_frame():
    assert frame_starts(10, 4) == 7
    assert frame_starts(3, 4) == 0


def test_sample_frame_starts_deterministic_and_within_part():
    b = split_bounds(10_000, 0.2, 0.1, min_part=32)
    train = np.arange(10_000)[b.slice("train")]
    frame = 32
    a = sample_frame_starts(train.size, frame, count=500, seed=7)
    assert np.array_equal(a, sample_frame_starts(train.size, frame, count=500, seed=7))
    assert not np.array_equal(a, sample_frame_starts(train.size, frame, count=500, seed=8))
    assert a.dtype == np.int64 and a.size == 500
    assert np.all(np.diff(a) > 0)  # sorted, distinct
    assert a.min() >= 0 and a.max() + frame <= train.size
    assert train[a.max() + frame - 1] < b.train[1]  # no frame reaches into val or test


def test_sample_frame_starts_all_when_count_exceeds():
    starts = sample_frame_starts(100, 10, count=1000, seed=0)
    np.testing.assert_array_equal(starts, np.arange(91))
    with pytest.raises(InputError):
        sample_frame_starts(5, 10, count=3, seed=0)


@pytest.mark.parametrize(("n", "segment", "warmup"), [(10, 4, 1), (1000, 64, 16), (1000, 64, 0), (777, 100, 99)])
def test_tiles_score_every_sample_after_the_warmup_at_any_offset(n, segment, warmup):
    stride = segment - warmup
    counts = set()
    for offset in sorted({1, min(2, stride), stride // 2 or 1, stride - 1 or 1, stride}):
        starts = tile_segment_starts(n, segment, warmup, offset)
        assert starts.min() == 0 and starts.max() == n - segment
        scored = np.zeros(n, int)
        for s in starts:
            scored[s + warmup:s + segment] += 1
        assert np.all(scored[warmup:] >= 1)
        counts.add(len(starts))
    assert counts == {-(-(n - warmup) // stride) + 1}  # the same count whatever the offset


def test_tile_segment_starts_exact_case():
    # stride 3: grid 1 - 3, 1, 4, 7 clipped to [0, 6]
    assert tile_segment_starts(10, 4, 1, offset=1).tolist() == [0, 1, 4, 6]
    with pytest.raises(ConfigError):
        tile_segment_starts(10, 4, 1, offset=0)
    with pytest.raises(ConfigError):
        tile_segment_starts(10, 4, 4, offset=1)
    with pytest.raises(InputError):
        tile_segment_starts(3, 4, 1, offset=1)


def test_epoch_segment_starts_fresh_offset_and_order_each_epoch():
    rows = epoch_segment_starts(5000, 256, 56, epochs=4, seed=3)
    assert rows.shape == (4, -(-(5000 - 56) // 200) + 1)
    assert np.array_equal(rows, epoch_segment_starts(5000, 256, 56, epochs=4, seed=3))
    assert not np.array_equal(rows, epoch_segment_starts(5000, 256, 56, epochs=4, seed=4))
    assert len({tuple(np.sort(r)) for r in rows}) == 4  # a new tiling each epoch
    assert all(not np.array_equal(r, np.sort(r)) for r in rows)  # in a random order
    capped = epoch_segment_starts(5000, 256, 56, epochs=2, seed=3, max_segments=5)
    assert capped.shape == (2, 5) and np.array_equal(capped, rows[:2, :5])
