"""Latency, polarity and gain estimation, and applying an alignment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from drywet.align import (
    Alignment,
    apply_alignment,
    check_lengths,
    estimate_alignment,
    search_range_samples,
)
from drywet.errors import AlignmentError, ConfigError, InputError

SR = 44100
MAX_MS = 50.0  # +-2205 samples at 44.1 kHz
MIN_CORR = 0.5


def guitarish(seconds: float, seed: int) -> np.ndarray:
    """Decaying harmonic notes of random pitch, a few per second, lowpassed like a pickup."""
    rng = np.random.default_rng(seed)
    n_note = int(0.25 * SR)
    t = np.arange(n_note) / SR
    notes = []
    for _ in range(int(seconds / 0.25)):
        f0 = 82.4 * 2 ** (rng.integers(0, 30) / 12)
        harmonics = np.arange(1, 9)[:, None]
        phases = rng.uniform(0, 2 * np.pi, (8, 1))
        tone = np.sum(np.sin(2 * np.pi * f0 * harmonics * t + phases) / harmonics, axis=0)
        notes.append(tone * np.exp(-t / 0.15) * rng.uniform(0.3, 1.0))
    x = np.concatenate(notes)
    b, a = signal.butter(2, 4000 / (SR / 2))
    x = signal.lfilter(b, a, x)
    return 0.5 * x / np.max(np.abs(x))


def delay(x: np.ndarray, samples: float) -> np.ndarray:
    """Band-limited delay by a (fractional) number of samples; positive = later."""
    pad = int(abs(samples)) + 4096
    spec = np.fft.rfft(np.concatenate([x, np.zeros(pad)]))
    f = np.fft.rfftfreq(x.size + pad)
    return np.fft.irfft(spec * np.exp(-2j * np.pi * f * samples), x.size + pad)[: x.size]


def tone_filter(x: np.ndarray, cutoff_hz: float = 3000.0) -> np.ndarray:
    """One-pole lowpass (its impulse response peaks at lag 0, like a pedal's tone control)."""
    a = np.exp(-2 * np.pi * cutoff_hz / SR)
    return signal.lfilter([1 - a], [1, -a], x)


@pytest.fixture(scope="module")
def dry() -> np.ndarray:
    return guitarish(2.0, seed=1).astype(np.float32)


def test_search_range_samples():
    assert search_range_samples(50.0, 44100) == 2205
    assert search_range_samples(10.0, 48000) == 480
    with pytest.raises(ConfigError):
        search_range_samples(0.0, 44100)


@pytest.mark.parametrize(
    ("latency", "polarity"),
    [(0.0, 1), (37.0, -1), (123.4, 1), (-250.0, 1), (-61.7, -1), (2000.5, 1), (5.3, -1)],
)
def test_finds_latency_of_delayed_copy(dry, latency, polarity):
    wet = (0.5 * polarity * delay(dry, latency)).astype(np.float32)
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CORR)
    assert al.latency_samples == pytest.approx(latency, abs=0.05)
    assert al.latency_ms == pytest.approx(1000 * latency / SR, abs=0.05 * 1000 / SR)
    assert al.polarity == polarity
    assert al.peak_correlation > 0.99
    assert al.gain == pytest.approx(0.5, rel=0.01)
    assert al.gain_db == pytest.approx(20 * np.log10(0.5), abs=0.1)
    assert al.search_range_samples == 2205


@pytest.mark.parametrize(("latency", "polarity"), [(123.4, 1), (-80.3, -1), (1500.0, 1)])
def test_finds_latency_of_distorted_filtered_noisy_wet(dry, latency, polarity):
    rng = np.random.default_rng(3)
    wet = polarity * 0.8 * tone_filter(np.tanh(10 * delay(dry, latency)))
    wet += 0.01 * np.std(wet) * rng.standard_normal(wet.size)
    al = estimate_alignment(dry, wet.astype(np.float32), SR, MAX_MS, MIN_CORR)
    assert abs(al.latency_samples - latency) <= 1.0
    assert al.polarity == polarity
    assert MIN_CORR < al.peak_correlation < 0.99  # the distortion makes it less than a copy


def test_asymmetric_distortion_with_dc_offset(dry):
    wet = np.tanh(20 * delay(dry, 300.0) + 0.3)  # asymmetric clipping leaves a DC offset
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CORR)
    assert abs(al.latency_samples - 300.0) <= 1.0
    assert al.polarity == 1


def test_without_subsample_latency_is_integer(dry):
    al = estimate_alignment(dry, delay(dry, 123.4), SR, MAX_MS, MIN_CORR, subsample=False)
    assert al.latency_samples == 123.0


def test_unequal_lengths(dry):
    wet = delay(dry, 40.0)[:-700]
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CORR)
    assert al.latency_samples == pytest.approx(40.0, abs=0.05)
    assert al.peak_correlation > 0.99


@pytest.mark.parametrize("latency", [3000.0, -4000.0, 2300.0])
def test_latency_beyond_search_range_raises(dry, latency):
    with pytest.raises(AlignmentError, match=r"50\.0 ms"):
        estimate_alignment(dry, np.tanh(10 * delay(dry, latency)), SR, MAX_MS, MIN_CORR)


def test_peak_on_edge_of_search_range_raises(dry):
    with pytest.raises(AlignmentError, match="edge of the search range"):
        estimate_alignment(dry, delay(dry, 2206.0), SR, MAX_MS, MIN_CORR)


def test_uncorrelated_noise_raises():
    rng = np.random.default_rng(0)
    dry, wet = rng.standard_normal((2, SR))
    with pytest.raises(AlignmentError, match="not trustworthy"):
        estimate_alignment(dry, wet, SR, MAX_MS, MIN_CORR)


def test_unrelated_material_raises(dry):
    other = np.tanh(10 * guitarish(2.0, seed=99))
    with pytest.raises(AlignmentError, match="not trustworthy"):
        estimate_alignment(dry, other, SR, MAX_MS, MIN_CORR)


def test_bad_parameters_and_inputs(dry):
    with pytest.raises(ConfigError):
        estimate_alignment(dry, dry, SR, MAX_MS, 1.5)
    with pytest.raises(ConfigError):
        estimate_alignment(dry, dry, SR, -1.0, MIN_CORR)
    with pytest.raises(InputError, match="too short"):
        estimate_alignment(dry[:5000], dry[:5000], SR, MAX_MS, MIN_CORR)
    with pytest.raises(AlignmentError, match="silent"):
        estimate_alignment(dry, np.zeros_like(dry), SR, MAX_MS, MIN_CORR)


def test_check_lengths():
    check_lengths(1000, 1000, 10, "sd1")
    check_lengths(1000, 990, 10, "sd1")
    with pytest.raises(InputError, match="sd1"):
        check_lengths(1000, 989, 10, "sd1")


def test_apply_fractional_alignment_is_near_identity(dry):
    wet = delay(dry.astype(np.float64), 5.3)
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CORR)
    d, w = apply_alignment(dry, wet, al)
    assert d.shape == w.shape
    assert dry.size - 80 < d.size < dry.size
    err = np.sqrt(np.mean((w - d) ** 2) / np.mean(d.astype(np.float64) ** 2))
    assert err < 1e-3


@pytest.mark.parametrize("latency", [17, -17])
def test_apply_integer_alignment_is_exact_and_keeps_gain(dry, latency):
    wet = -0.5 * np.roll(dry, latency)
    al = Alignment(float(latency), 0.0, -1, 1.0, 0.5, -6.02, 2205)
    d, w = apply_alignment(dry, wet, al)
    assert d.size == w.size == dry.size - abs(latency)
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, 0.5 * d)  # polarity undone, gain left for the model


def test_estimate_then_apply_round_trip_on_distorted_wet(dry):
    wet = -tone_filter(np.tanh(10 * delay(dry, 250.6)))
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CORR)
    d, w = apply_alignment(dry, wet, al)
    assert d.size == w.size
    corr = np.corrcoef(d, w)[0, 1]
    assert corr == pytest.approx(al.peak_correlation, abs=0.02)
    assert corr > 0  # polarity undone


@pytest.mark.parametrize("effect", ["sd1", "b65"])
@pytest.mark.parametrize(("seconds", "sr", "seed"), [(6.0, 16000, 2024), (12.0, 44100, 7)])
def test_finds_the_bench_latency_within_one_sample(effect, seconds, sr, seed):
    """The bench's hidden recording latency is found within +-1 sample, although each stand-in
    pedal's own response peaks a sample or two after it."""
    from drywet.bench import run_bench

    dry, wet, truth = run_bench(effect, seconds, sr, 8, -90.0, seed)
    al = estimate_alignment(dry, wet, sr, MAX_MS, 0.3)
    assert abs(al.latency_samples - truth["latency_samples"]) <= 1.0
    assert al.polarity == truth["polarity"]
