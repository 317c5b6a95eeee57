"""Latency, polarity and gain estimation, and applying an alignment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from drywet.align import (
    Alignment,
    apply_alignment,
    causal_bound,
    check_full_scale,
    check_lengths,
    clean_and_estimate,
    estimate_alignment,
    highpass,
    search_range_samples,
)
from drywet.errors import AlignmentError, ConfigError, InputError

SR = 44100
MAX_MS = 50.0  # +-2205 samples at 44.1 kHz
MIN_CLARITY = 25.0  # dB
EARLY, LATE = -1.0, 0.25  # found - true latency must lie in this window (samples)


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
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY)
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
    al = estimate_alignment(dry, wet.astype(np.float32), SR, MAX_MS, MIN_CLARITY)
    # This dry has nothing above 3.5 kHz, where the tone filter's group delay (~1.9 samples) could
    # be told from latency; with real material (content across the band) the window is [-1, +0.25].
    assert EARLY <= al.latency_samples - latency <= 1.0
    assert al.polarity == polarity
    assert 0.3 < al.peak_correlation < 0.99  # the distortion makes it less than a copy
    assert al.peak_clarity_db > MIN_CLARITY


def test_asymmetric_distortion_with_dc_offset(dry):
    wet = np.tanh(20 * delay(dry, 300.0) + 0.3)  # asymmetric clipping leaves a DC offset
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY)
    assert EARLY <= al.latency_samples - 300.0 <= LATE
    assert al.polarity == 1


def test_without_subsample_latency_is_integer(dry):
    al = estimate_alignment(dry, delay(dry, 123.4), SR, MAX_MS, MIN_CLARITY, subsample=False)
    assert al.latency_samples == 123.0


def test_unequal_lengths(dry):
    wet = delay(dry, 40.0)[:-700]
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY)
    assert al.latency_samples == pytest.approx(40.0, abs=0.05)
    assert al.peak_correlation > 0.99


@pytest.mark.parametrize("latency", [3000.0, -4000.0, 2300.0])
def test_latency_beyond_search_range_raises(dry, latency):
    with pytest.raises(AlignmentError, match=r"50\.0 ms"):
        estimate_alignment(dry, np.tanh(10 * delay(dry, latency)), SR, MAX_MS, MIN_CLARITY)


def test_peak_on_edge_of_search_range_raises(dry):
    with pytest.raises(AlignmentError, match="edge of the search range"):
        estimate_alignment(dry, delay(dry, 2206.0), SR, MAX_MS, MIN_CLARITY)


def test_uncorrelated_noise_raises():
    rng = np.random.default_rng(0)
    dry, wet = rng.standard_normal((2, SR))
    with pytest.raises(AlignmentError, match="not trustworthy"):
        estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY)


def test_unrelated_material_raises(dry):
    other = np.tanh(10 * guitarish(2.0, seed=99))
    with pytest.raises(AlignmentError, match="not trustworthy"):
        estimate_alignment(dry, other, SR, MAX_MS, MIN_CLARITY)


def test_bad_parameters_and_inputs(dry):
    with pytest.raises(ConfigError):
        estimate_alignment(dry, dry, SR, MAX_MS, float("nan"))
    with pytest.raises(ConfigError):
        estimate_alignment(dry, dry, SR, MAX_MS, MIN_CLARITY, polarity=2)
    with pytest.raises(ConfigError):
        estimate_alignment(dry, dry, SR, -1.0, MIN_CLARITY)
    with pytest.raises(InputError, match="too short"):
        estimate_alignment(dry[:5000], dry[:5000], SR, MAX_MS, MIN_CLARITY)
    with pytest.raises(AlignmentError, match="silent"):
        estimate_alignment(dry, np.zeros_like(dry), SR, MAX_MS, MIN_CLARITY)


def test_check_lengths():
    check_lengths(1000, 1000, 10, "sd1", 1000)
    check_lengths(1000, 990, 10, "sd1", 1000)
    with pytest.raises(InputError, match=r"sd1: the dry lasts 1\.000 s and the wet 0\.989 s; they differ by "
                                         r"0\.011 s.*trim both to the same take"):
        check_lengths(1000, 989, 10, "sd1", 1000)


def test_apply_fractional_alignment_is_near_identity(dry):
    wet = delay(dry.astype(np.float64), 5.3)
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY)
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
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY)
    d, w = apply_alignment(dry, wet, al)
    assert d.size == w.size
    corr = np.corrcoef(d, w)[0, 1]
    assert corr == pytest.approx(al.peak_correlation, abs=0.02)
    assert corr > 0  # polarity undone


@pytest.mark.parametrize(
    ("effect", "seconds", "sr", "seed"),
    [("sd1", 4.0, 48000, 2024), ("sd1", 4.0, 44100, 7), ("b65", 4.0, 48000, 2024),
     ("b65", 4.0, 44100, 7), ("fuzz", 6.0, 44100, 1), ("fuzz", 6.0, 44100, 7),
     ("fuzz", 4.0, 48000, 13)],
)
def test_finds_the_bench_latency_never_late(effect, seconds, sr, seed):
    """The bench's hidden recording latency is found within [-1, +0.25] samples, although each
    stand-in pedal's own response peaks a sample or two after it; the fuzz's inversion is found."""
    from drywet.bench import run_bench

    dry, wet, truth = run_bench(effect, seconds, sr, 8, -90.0, seed)
    _, _, al, cleanup = clean_and_estimate(dry, wet, sr, max_latency_ms=MAX_MS, min_peak_clarity_db=MIN_CLARITY)
    assert EARLY <= al.latency_samples - truth["latency_samples"] <= LATE
    assert al.polarity == truth["polarity"] == (-1 if effect == "fuzz" else 1)
    if effect == "fuzz":
        assert cleanup.dc_wet >= 0.3 * 10 ** (truth["gain_db"] / 20) - 0.05  # the fuzz's offset, recorded


def _causal_cases(sr: int, seconds: float) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """(dry, wet, true chain delay) for linear filters and a filtered drive after a known delay."""
    from drywet.bench import make_dry
    from drywet.bench.chain import delay as chain_delay

    d = make_dry(seconds, sr, seed=3).astype(np.float64)

    def after(y: np.ndarray, latency: float) -> np.ndarray:
        return chain_delay(y, latency)

    lp3 = signal.butter(2, 3000, fs=sr, output="sos")
    lp5 = signal.butter(2, 5000, fs=sr, output="sos")
    hp80 = signal.butter(2, 80, "high", fs=sr, output="sos")
    pre = signal.butter(1, 720, "high", fs=sr, output="sos")
    post = signal.butter(1, 5000, fs=sr, output="sos")
    drive = signal.sosfilt(post, np.tanh(20 * signal.sosfilt(pre, d)))
    return {
        "integer": (d, after(d, 137.0), 137.0),
        "fraction": (d, after(d, 123.4), 123.4),
        "lowpass 3 kHz": (d, after(signal.sosfilt(lp3, d), 137.3), 137.3),
        "lowpass 5 kHz": (d, after(signal.sosfilt(lp5, d), 90.7), 90.7),
        "one-pole 3 kHz": (d, after(tone_filter(d), 99.5), 99.5),
        "highpass 80 Hz": (d, after(signal.sosfilt(hp80, d), 150.25), 150.25),
        "filtered drive": (d, after(drive, 137.0), 137.0),
    }


@pytest.mark.parametrize("sr", [44100, 48000])
def test_latency_is_never_later_than_the_chain_delay(sr):
    for name, (d, w, truth) in _causal_cases(sr, 3.0).items():
        al = estimate_alignment(d, w, sr, MAX_MS, MIN_CLARITY)
        assert EARLY <= al.latency_samples - truth <= LATE, (name, al.latency_samples, truth)


@pytest.mark.parametrize("latency", [137.0, 211.8])
def test_heavy_drive_chain_is_not_late(latency):
    """High-pass -> x60 -> tanh -> 4th-order 3.5 kHz low-pass: its linear approximation rises over
    six samples behind a slow pedestal, which once put the onset 3.5 samples early."""
    from drywet.bench import make_dry
    from drywet.bench.chain import delay as chain_delay

    sr = 48000
    d = make_dry(6.0, sr, seed=3).astype(np.float64)
    pre = signal.butter(1, 720, "high", fs=sr, output="sos")
    post = signal.butter(4, 3500, fs=sr, output="sos")
    w = chain_delay(signal.sosfilt(post, np.tanh(60 * signal.sosfilt(pre, d))), latency)
    al = estimate_alignment(d, w, sr, MAX_MS, MIN_CLARITY)
    assert EARLY <= al.latency_samples - latency <= LATE
    assert al.polarity == 1


def test_manual_latency_and_polarity_skip_the_search(dry):
    wet = -0.5 * delay(dry, 40.0)
    al = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY, latency=40.0)
    assert al.latency_samples == 40.0 and al.polarity == -1 and al.search_range_samples == 0
    assert al.peak_correlation > 0.99  # reported at the given lag
    off = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY, latency=345.0, polarity=1)
    assert off.latency_samples == 345.0 and off.polarity == 1
    assert off.peak_correlation < 0.5  # a wrong lag shows in the correlation, but is not refused
    forced = estimate_alignment(dry, wet, SR, MAX_MS, MIN_CLARITY, polarity=1)
    assert forced.polarity == 1 and forced.latency_samples == pytest.approx(40.0, abs=0.05)
    # A given latency beyond the search range is taken as is.
    far = estimate_alignment(dry, delay(dry, 2500.0), SR, MAX_MS, MIN_CLARITY, latency=2500)
    assert far.latency_samples == 2500.0 and far.peak_correlation > 0.99


def test_highpass_is_causal_removes_dc_and_can_be_off():
    sr = 48000
    impulse = np.zeros(4800)
    impulse[100] = 1.0
    h = highpass(impulse, sr, 5.0)
    assert np.all(h[:100] == 0.0) and h[100] > 0.99  # causal, and passes the audio band
    x = (0.3 + 0.1 * np.sin(2 * np.pi * 440 * np.arange(2 * sr) / sr)).astype(np.float32)
    y = highpass(x, sr, 5.0)
    assert y.dtype == np.float32
    assert abs(float(np.mean(y[sr:]))) < 1e-3  # the offset is gone after a second
    np.testing.assert_array_equal(highpass(x, sr, 0.0), x)
    with pytest.raises(ConfigError, match="highpass_hz"):
        highpass(x, sr, -1.0)
    with pytest.raises(ConfigError, match="highpass_hz"):
        highpass(x, sr, 30000.0)


def test_clean_up_reports_offsets_and_full_scale(dry):
    wet = np.clip(np.tanh(10 * delay(dry, 60.0)) + 0.2, -1.0, 1.0)
    d, w, al, cleanup = clean_and_estimate(
        dry + 0.05, wet, SR, max_latency_ms=MAX_MS, min_peak_clarity_db=MIN_CLARITY
    )
    assert cleanup.dc_dry == pytest.approx(0.05, abs=1e-3)
    assert cleanup.dc_wet == pytest.approx(float(np.mean(wet)), abs=1e-9)
    assert 0.001 < cleanup.wet_full_scale_fraction  # clipped by the drive: explained, not refused
    assert EARLY <= al.latency_samples - 60.0 <= LATE
    assert abs(float(np.mean(w[SR:]))) < 0.01 and abs(float(np.mean(d[SR:]))) < 0.01


def test_wet_stuck_at_full_scale_is_refused(dry):
    """Every half-second take of the wet starts with a start-up transient pinned at -1."""
    wet = 0.6 * np.tanh(10 * delay(dry, 60.0)) - 0.13
    pinned = (np.arange(wet.size) % (SR // 2)) < int(0.14 * SR)
    wet[pinned] = -1.0
    assert 0.25 < np.mean(pinned) < 0.3 and abs(np.mean(wet)) > 0.3
    with pytest.raises(AlignmentError, match="stuck at full scale") as err:
        clean_and_estimate(dry, wet, SR, max_latency_ms=MAX_MS, min_peak_clarity_db=MIN_CLARITY)
    assert "not explained by the dry" in str(err.value)


def test_check_full_scale_accepts_a_clipping_effect(dry):
    wet = np.clip(-8.0 * delay(dry, 30.0), -1.0, 1.0)  # inverted, clipped hard on loud notes
    al = Alignment(30.0, 0.0, -1, 0.9, 3.0, 9.5, 2205)
    assert check_full_scale(dry, wet, al) > 0.01
    stuck = wet.copy()
    stuck[: stuck.size // 10] = 1.0  # the same take with a rail stuck for its first tenth
    with pytest.raises(AlignmentError, match="stuck at full scale"):
        check_full_scale(dry, stuck, al)


def test_check_full_scale_accepts_clipping_after_a_pre_emphasis(dry):
    """A drive after a 720 Hz high-pass clips to the rail its filtered input points to, which the
    dry's own sign often does not: the sign is predicted through a fitted linear filter."""
    hp = signal.butter(1, 720.0, "highpass", fs=SR, output="sos")
    wet = np.clip(30.0 * signal.sosfilt(hp, delay(dry, 30.0)), -1.0, 1.0)
    al = Alignment(30.0, 0.0, 1, 0.5, 3.0, 9.5, 2205)
    assert check_full_scale(dry, wet, al) > 0.05


def test_fuzz_with_low_plain_correlation_is_trusted():
    """A fuzz's plain correlation can be low; the whitened peak stays clear."""
    from drywet.bench import run_bench

    dry, wet, truth = run_bench("fuzz", 3.0, 44100, 8, -90.0, 5)
    _, _, al, _ = clean_and_estimate(dry, wet, 44100, max_latency_ms=MAX_MS, min_peak_clarity_db=MIN_CLARITY)
    assert al.peak_correlation < 0.8 and al.peak_clarity_db > MIN_CLARITY + 5
    assert al.polarity == -1


@pytest.mark.parametrize("sr,seed,pickup_hz,polarity", [(48000, 11, 4000.0, 1), (48000, 13, 2500.0, -1),
                                                         (44100, 12, 6000.0, 1), (96000, 14, 4000.0, 1)])
def test_plucked_notes_with_rests_are_not_late(sr, seed, pickup_hz, polarity):
    """Isolated plucked notes (a pickup's dark top filled with hiss, rests between notes) through a
    player's drive (HP 80 Hz, +18 dB, tanh x4, LP 4.5 kHz): the onset stays causal, within the window."""
    from benchmarks.make_recording import player_chain, plucked_notes
    from drywet.bench.chain import record

    dry = plucked_notes(30.0, sr, seed, pickup_hz=pickup_hz)
    wet = record(player_chain(dry, sr), sr, 137.0, 0.0, polarity, -84.0, seed=seed + 1) + 0.05
    _, _, al, _ = clean_and_estimate(dry, wet, sr, max_latency_ms=50.0, min_peak_clarity_db=25.0)
    assert al.polarity == polarity
    assert EARLY <= al.latency_samples - 137.0 <= LATE, al.latency_samples


# --- the causal bound: a 1st-order filter chain whose onset alone lands a sample late ---------------


def first_order_player_chain(x: np.ndarray, sr: int) -> np.ndarray:
    """High-pass 80 Hz (1st order) -> +18 dB -> tanh drive with 12 dB of gain -> low-pass 4.5 kHz
    (1st order) -> -14 dB: a drive whose low-pass's first tap is its largest."""
    hp = signal.butter(1, 80.0, "highpass", fs=sr, output="sos")
    lp = signal.butter(1, 4500.0, "lowpass", fs=sr, output="sos")
    return 10 ** (-14 / 20) * signal.sosfilt(lp, np.tanh(10 ** (30 / 20) * signal.sosfilt(hp, x)))


@pytest.fixture(scope="module")
def notes() -> np.ndarray:
    """4 s of isolated plucked notes at 48 kHz (a pickup's 2.5 kHz roll-off, hiss above it)."""
    from benchmarks.make_recording import plucked_notes

    return plucked_notes(4.0, 48000, 12, pickup_hz=2500.0)


def first_order_wet(notes: np.ndarray, latency: float, polarity: int) -> np.ndarray:
    from drywet.bench.chain import record

    return record(first_order_player_chain(notes, 48000), 48000, latency, 0.0, polarity, -84.0, seed=13) + 0.05


@pytest.mark.parametrize(("latency", "polarity"), [(137.0, 1), (211.3, -1)])
def test_first_order_drive_chain_is_not_late(notes, latency, polarity):
    """The onset of this chain's response is read about a sample late (+1.07 here); the causal
    bound puts the latency back at or just before the chain's delay."""
    _, _, al, _ = clean_and_estimate(notes, first_order_wet(notes, latency, polarity), 48000,
                                     max_latency_ms=MAX_MS, min_peak_clarity_db=MIN_CLARITY)
    assert al.polarity == polarity
    assert EARLY <= al.latency_samples - latency <= LATE, al.latency_samples
    whole = estimate_alignment(highpass(notes, 48000, 5.0), highpass(first_order_wet(notes, latency, polarity),
                               48000, 5.0), 48000, MAX_MS, MIN_CLARITY, subsample=False)
    assert whole.latency_samples == float(int(whole.latency_samples))  # align.subsample false: whole samples
    assert EARLY <= whole.latency_samples - latency <= LATE


def test_causal_bound_is_the_chain_delay(notes):
    d = highpass(notes, 48000, 5.0)
    w = highpass(first_order_wet(notes, 137.0, 1), 48000, 5.0)
    assert causal_bound(d, w, 138.07) == 137  # from a late onset: the delay itself
    assert causal_bound(d, w, 138.07) == causal_bound(d.copy(), w.copy(), 138.07)  # deterministic
    assert causal_bound(d[:20000], w[:20000], 138.07) is None  # too little audio to tell


@pytest.mark.parametrize(("latency", "polarity"), [(137.0, 1), (123.4, -1)])
def test_pure_delay_stays_exact_with_the_causal_bound(notes, latency, polarity):
    from drywet.bench.chain import delay as chain_delay

    al = estimate_alignment(notes, polarity * 0.5 * chain_delay(notes, latency), 48000, MAX_MS, MIN_CLARITY)
    assert al.latency_samples == pytest.approx(latency, abs=0.05)
    assert al.polarity == polarity


def test_a_given_latency_is_not_refined(notes):
    wet = first_order_wet(notes, 137.0, 1)
    al = estimate_alignment(highpass(notes, 48000, 5.0), highpass(wet, 48000, 5.0), 48000, MAX_MS, MIN_CLARITY,
                            latency=138.5)
    assert al.latency_samples == 138.5 and al.search_range_samples == 0


def test_keep_polarity_trains_an_inverting_gear_to_invert(dry):
    """align.keep_polarity: the wet keeps its recorded inversion (the report still says -1)."""
    from drywet.align import align_pair
    from drywet.config import AlignParams

    wet = -0.5 * np.roll(np.tanh(3.0 * dry), 40)
    base = AlignParams(max_latency_ms=MAX_MS, min_peak_clarity_db=MIN_CLARITY)
    d, w, found, _ = align_pair(dry, wet, SR, base)
    d_kept, w_kept, found_kept, _ = align_pair(dry, wet, SR, AlignParams(
        max_latency_ms=MAX_MS, min_peak_clarity_db=MIN_CLARITY, keep_polarity=True))
    assert found.polarity == found_kept.polarity == -1
    assert np.array_equal(d, d_kept) and np.allclose(w_kept, -w)
    assert np.corrcoef(d, w)[0, 1] > 0.5 > -0.5 > np.corrcoef(d_kept, w_kept)[0, 1]
