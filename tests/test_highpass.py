"""The streaming high-pass: block by block, state carried, it gives `align.highpass` of the whole
signal to float32 rounding (within one float32 step at the signal's peak), whatever the block
sizes, and refuses the corners `align.highpass` does."""

import numpy as np
import pytest

from drywet.align import highpass
from drywet.bench.material import make_dry
from drywet.errors import ConfigError
from drywet.highpass import HighpassStream


@pytest.mark.parametrize("sr,corner", [(44100, 20.0), (48000, 10.0), (8000, 35.0)])
def test_blocks_equal_the_whole_signal_filter(sr, corner):
    rng = np.random.default_rng(1)
    x = (make_dry(3.0, sr, seed=2) + 0.05).astype(np.float32)  # a DC offset for the filter to remove
    expected = highpass(x, sr, corner)
    stream = HighpassStream(sr, corner)
    cuts = np.sort(rng.choice(np.arange(1, x.size), 40, replace=False))
    y = np.concatenate([stream.process(part) for part in np.split(x, cuts)] + [stream.process(x[:0])])
    assert y.dtype == np.float32 and y.shape == x.shape
    # float32 rounding of the same float64 filter (coefficients equal to the last bit or two): within
    # one float32 step at the signal's peak, and most samples identical
    assert np.max(np.abs(y - expected)) <= np.spacing(np.max(np.abs(expected)))
    assert np.mean(y == expected) > 0.8
    assert abs(float(np.mean(y[sr:]))) < 1e-3  # the DC is gone


def test_refuses_corners_align_refuses():
    with pytest.raises(ConfigError, match="below half the sample rate"):
        HighpassStream(8000, 4000.0)
    with pytest.raises(ConfigError, match="> 0"):
        HighpassStream(8000, 0.0)
