"""The virtual bench: deterministic material, stand-in pedals with the promised physics, the chain."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from drywet.audio import rms_dbfs
from drywet.bench import PEDALS, apply_pedal, chain_truth, make_dry, material, pedals, record, run_bench
from drywet.errors import ConfigError

SR = 16000


def _sine(freq: float, amp: float, seconds: float, sr: int) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def _inharmonic_db(y: np.ndarray, f0: float, sr: int) -> float:
    """Energy away from the harmonics of f0 (aliases, noise) relative to all energy, dB."""
    seg = y[sr // 4 : sr // 4 + 16384].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * signal.windows.blackmanharris(seg.size))) ** 2
    freqs = np.fft.rfftfreq(seg.size, 1 / sr)
    harmonic = np.zeros(freqs.size, bool)
    for k in range(int(sr / 2 / f0) + 1):
        harmonic |= np.abs(freqs - k * f0) < 40.0
    return float(10 * np.log10(spec[~harmonic].sum() / spec.sum()))


# ------------------------------------------------------------------------------------------ material


def test_dry_material_is_deterministic_per_seed() -> None:
    a = make_dry(3.0, SR, seed=1)
    assert a.dtype == np.float32 and a.shape == (3 * SR,)
    assert np.array_equal(a, make_dry(3.0, SR, seed=1))
    assert not np.allclose(a, make_dry(3.0, SR, seed=2))
    assert 0.05 < np.abs(a).max() <= 0.9
    assert -45.0 < rms_dbfs(a) < -10.0


def test_short_material_still_holds_every_kind_and_level(monkeypatch) -> None:
    seen = []
    real = material._render_phrase

    def spy(kind, length, peak_dbfs, sr, rng):
        seen.append((kind, peak_dbfs))
        return real(kind, length, peak_dbfs, sr, rng)

    monkeypatch.setattr(material, "_render_phrase", spy)
    x = make_dry(3.0, SR, seed=5)
    assert {kind for kind, _ in seen} == set(material.KINDS)
    levels = [p for _, p in seen]
    assert min(levels) < -24.0 and max(levels) > -10.0  # a soft and a hard phrase
    # The test-signal section opens with silence, then the sweep starts.
    assert np.all(x[:50] == 0.0) and np.abs(x[: int(0.1 * SR)]).max() > 0.1


def test_plucked_note_has_its_pitch_and_darkens_as_it_rings() -> None:
    sr = 44100
    tone = material.Tone(pickup_pos=0.12, pickup_hz=4000.0, pickup_q=2.0, pick_hz=4000.0)
    note = material.Note(onset=0.0, dur=2.0, string=1, fret=0, vel=1.0)  # open A, 110 Hz
    y = material._render_note(note, tone, sr, np.random.default_rng(0))

    def spectrum(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
        seg = y[int(a * sr) : int(b * sr)]
        return np.fft.rfftfreq(seg.size, 1 / sr), np.abs(np.fft.rfft(seg * np.hanning(seg.size)))

    f, s_early = spectrum(0.05, 0.55)
    _, s_late = spectrum(1.3, 1.8)
    # Plucked and sensed near the bridge, the 2nd-4th harmonics can outweigh the fundamental:
    # the strongest peak is a harmonic of 110 Hz, and the fundamental itself is clearly there.
    band = f < 1000
    peak = f[band][np.argmax(s_early[band])]
    assert round(peak / 110.0) >= 1 and abs(peak - 110.0 * round(peak / 110.0)) < 2.0
    assert s_early[np.argmin(np.abs(f - 110.0))] > 0.05 * s_early.max()
    centroid = [float((f * s).sum() / s.sum()) for s in (s_early, s_late)]
    assert centroid[1] < 0.8 * centroid[0]  # high partials decay faster
    assert np.sqrt(np.mean(y[int(1.3 * sr) : int(1.8 * sr)] ** 2)) < 0.5 * np.sqrt(np.mean(y[: int(0.5 * sr)] ** 2))


def test_bend_raises_the_pitch() -> None:
    sr = 44100
    tone = material.Tone(pickup_pos=0.12, pickup_hz=4000.0, pickup_q=2.0, pick_hz=4000.0)
    note = material.Note(0.0, 1.0, string=4, fret=7, vel=1.0, bend_cents=200.0, bend_at=0.0, bend_rise=0.05)
    y = material._render_note(note, tone, sr, np.random.default_rng(0))
    seg = y[int(0.3 * sr) : int(0.8 * sr)]
    f = np.fft.rfftfreq(seg.size, 1 / sr)
    s = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    target = material.midi_hz(material.OPEN_MIDI[4] + 7 + 2)  # two semitones up
    low = f < 1.5 * target
    assert abs(f[low][np.argmax(s[low])] - target) < 4.0


# ------------------------------------------------------------------------------------------- pedals


def test_unknown_pedal_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown pedal"):
        apply_pedal("wah", np.zeros(100, np.float32), SR, 8)
    with pytest.raises(ConfigError):
        run_bench("wah", 1.0, SR, 8, -90.0, 0)
    with pytest.raises(ConfigError):
        apply_pedal("sd1", np.zeros(100, np.float32), SR, 0)
    assert set(PEDALS) == {"sd1", "b65", "fuzz"}


def test_fuzz_is_inverting_gated_square_with_dc_and_full_scale() -> None:
    sr = 44100
    x = make_dry(4.0, sr, seed=2024)
    y = apply_pedal("fuzz", x, sr, 8).astype(np.float64)
    assert np.array_equal(y, apply_pedal("fuzz", x, sr, 8))  # deterministic
    assert np.mean(y) >= 0.3  # the collector bias shows at the output
    assert np.mean(np.abs(y) >= 0.999) > 0.0005  # some samples at full scale
    assert y.max() <= 1.0 and y.min() >= -1.0
    # Inverting: a soft-ish positive step drives the output down.
    loud = _sine(200.0, 0.3, 0.5, sr)
    out = apply_pedal("fuzz", loud, sr, 8)[sr // 4 :].astype(np.float64) - pedals.FUZZ_BIAS_V
    assert np.dot(loud[sr // 4 :], out) < 0
    # Square-ish: most of a loud sine's output sits near its two rails.
    near_rails = np.mean((out > 0.9 * out.max()) | (out < 0.9 * out.min()))
    assert near_rails > 0.6
    # Gated: a very soft note gives (almost) nothing but the bias.
    soft = apply_pedal("fuzz", _sine(200.0, 0.003, 0.5, sr), sr, 8)[sr // 4 :].astype(np.float64)
    assert np.std(soft) < 0.01 * np.std(out)
    # Oversampled like the others: aliases stay low.
    tone = _sine(3000.0, 0.3, 0.75, sr)
    naive = _inharmonic_db(apply_pedal("fuzz", tone, sr, 1), 3000.0, sr)
    assert _inharmonic_db(apply_pedal("fuzz", tone, sr, 8), 3000.0, sr) < naive - 15.0


def test_the_converter_clips_at_full_scale() -> None:
    x = np.linspace(-1.0, 1.0, 1001)
    y = record(x, SR, 0.0, 6.0, 1, float("-inf"), seed=0).astype(np.float64)
    assert y.max() == 1.0 and y.min() == -1.0
    inside = np.abs(x) < 0.4  # 6 dB up stays below full scale
    assert np.allclose(y[inside], 10 ** (6 / 20) * x[inside], atol=1e-6)


def test_bench_truth_polarity_is_the_whole_paths() -> None:
    _, _, truth = run_bench("fuzz", 1.0, SR, 8, -90.0, 3)
    assert truth["polarity"] == -1 and truth["effect"] == "fuzz"


def test_sd1_clips_asymmetrically() -> None:
    sr = 44100
    y = apply_pedal("sd1", _sine(500.0, 0.1, 1.0, sr), sr, 8)[sr // 2 :].astype(np.float64)
    # One diode one way, two the other: the peaks differ and even harmonics appear.
    assert abs(y.max() / -y.min() - 1.0) > 0.08
    spec = np.abs(np.fft.rfft(y[: sr // 2] * np.hanning(sr // 2)))
    h1, h2 = spec[250], spec[500]  # 2 Hz bins: 500 Hz and 1 kHz
    assert 20 * np.log10(h2 / h1) > -30.0


def test_sd1_gain_rises_with_frequency() -> None:
    sr = 44100
    gains = [np.std(apply_pedal("sd1", _sine(f, 0.002, 0.5, sr), sr, 8)[sr // 4 :]) / np.std(_sine(f, 0.002, 1, sr))
             for f in (100.0, 1500.0)]
    assert 20 * np.log10(gains[1] / gains[0]) > 10.0


@pytest.mark.parametrize("name,amp", [("sd1", 0.3), ("b65", 0.9)])
def test_oversampling_keeps_aliases_out(name: str, amp: float) -> None:
    sr = 44100
    x = _sine(7000.0, amp, 0.75, sr)  # harmonics at 28, 35, 42 kHz ... fold back at 1x
    oversampled = _inharmonic_db(apply_pedal(name, x, sr, 8), 7000.0, sr)
    naive = _inharmonic_db(apply_pedal(name, x, sr, 1), 7000.0, sr)
    assert oversampled < -70.0
    assert naive > -45.0


def test_b65_remembers_what_came_before_and_sd1_does_not() -> None:
    sr = 44100
    n, pre, gap, burst = int(0.5 * sr), int(0.3 * sr), int(0.05 * sr), int(0.02 * sr)
    t = np.arange(n) / sr
    x = np.zeros(n)
    x[:pre] = 0.8 * np.sin(2 * np.pi * 150 * t[:pre])  # loud playing ...
    b0 = pre + gap  # ... then, 50 ms later, a soft 1 kHz burst
    x[b0 : b0 + burst] = 0.1 * np.sin(2 * np.pi * 1000 * t[b0 : b0 + burst])
    alone = np.where(np.arange(n) >= b0, x, 0.0)

    def change_db(name: str) -> float:
        after_loud = apply_pedal(name, x.astype(np.float32), sr, 8)[b0 : b0 + burst].astype(np.float64)
        fresh = apply_pedal(name, alone.astype(np.float32), sr, 8)[b0 : b0 + burst].astype(np.float64)
        return float(20 * np.log10(np.std(after_loud - fresh) / np.std(fresh)))

    assert change_db("b65") > -20.0  # the bias is still shifted: a different response
    assert change_db("sd1") < -40.0  # only linear filter tails remain


def test_overdrives_keep_polarity() -> None:
    x = _sine(300.0, 0.01, 0.5, SR)
    for name in ("sd1", "b65"):
        y = apply_pedal(name, x, SR, 8)
        assert np.dot(x[SR // 4 :], y[SR // 4 :]) > 0


def test_block_seams_do_not_show(monkeypatch) -> None:
    x = make_dry(1.5, SR, seed=3)
    monkeypatch.setattr(pedals, "BLOCK_SAMPLES", 10**9)
    monkeypatch.setattr(pedals, "KERNEL_SAMPLES", 10**9)
    whole = {name: apply_pedal(name, x, SR, 8) for name in PEDALS}
    monkeypatch.setattr(pedals, "BLOCK_SAMPLES", 1000)
    monkeypatch.setattr(pedals, "KERNEL_SAMPLES", 777)
    for name in PEDALS:
        blocks = apply_pedal(name, x, SR, 8)
        assert np.max(np.abs(blocks - whole[name])) < 1e-5 * np.abs(whole[name]).max()


# -------------------------------------------------------------------------------------------- chain


def test_record_applies_fractional_latency_gain_and_polarity() -> None:
    rng = np.random.default_rng(0)
    x = signal.sosfilt(signal.butter(8, 0.7, output="sos"), rng.standard_normal(1 << 14)) * 0.1
    latency, gain_db = 123.37, -4.0
    y = record(x, SR, latency, gain_db, -1, float("-inf"), seed=0).astype(np.float64)
    assert y.shape == x.shape
    # Reference: an ideal band-limited delay by a phase ramp.
    f = np.fft.rfftfreq(x.size)
    ref = -(10 ** (gain_db / 20)) * np.fft.irfft(np.fft.rfft(x) * np.exp(-2j * np.pi * f * latency), x.size)
    inner = slice(400, -400)
    assert 20 * np.log10(np.std(y[inner] - ref[inner]) / np.std(ref[inner])) < -60.0
    # Cross-correlation finds the latency (parabolic peak), the gain and the inverted polarity.
    corr = signal.correlate(y, x, mode="full", method="fft")
    lags = signal.correlation_lags(y.size, x.size, mode="full")
    k = int(np.argmax(np.abs(corr)))
    a, b, c = np.abs(corr[k - 1 : k + 2])
    assert abs(lags[k] + 0.5 * (a - c) / (a - 2 * b + c) - latency) < 0.1
    assert corr[k] < 0
    assert abs(rms_dbfs(y[inner]) - rms_dbfs(x[inner]) - gain_db) < 0.1


def test_record_adds_noise_at_the_requested_level() -> None:
    quiet = record(np.zeros(4 * SR), SR, 0.0, 0.0, 1, -90.0, seed=1)
    assert abs(rms_dbfs(quiet) - (-90.0)) < 0.2
    assert np.array_equal(quiet, record(np.zeros(4 * SR), SR, 0.0, 0.0, 1, -90.0, seed=1))
    assert not np.array_equal(quiet, record(np.zeros(4 * SR), SR, 0.0, 0.0, 1, -90.0, seed=2))
    with pytest.raises(ConfigError):
        record(np.zeros(10), SR, 0.0, 0.0, 2, -90.0, seed=1)


def test_chain_truth_is_drawn_from_the_seed() -> None:
    for effect in PEDALS:
        truth = chain_truth(effect, 7, 44100)
        assert truth == chain_truth(effect, 7, 44100)
        assert 3.0 <= truth["latency_ms"] <= 12.0
        assert 0.1 <= truth["latency_samples"] % 1.0 <= 0.9
        assert -6.0 <= truth["gain_db"] <= 3.0 and truth["polarity"] == 1
    assert chain_truth("sd1", 7, 44100) != chain_truth("b65", 7, 44100)
    assert chain_truth("sd1", 7, 44100) != chain_truth("sd1", 8, 44100)


# -------------------------------------------------------------------------------------------- bench


def test_run_bench_is_deterministic_and_shares_the_dry_signal() -> None:
    dry, wet, truth = run_bench("sd1", 2.0, SR, 8, -90.0, 11)
    dry2, wet2, truth2 = run_bench("sd1", 2.0, SR, 8, -90.0, 11)
    assert np.array_equal(dry, dry2) and np.array_equal(wet, wet2) and truth == truth2
    dry_b, wet_b, truth_b = run_bench("b65", 2.0, SR, 8, -90.0, 11)
    assert np.array_equal(dry, dry_b)  # both effects hear the same performance
    assert not np.allclose(wet, wet_b)
    _, wet_other, _ = run_bench("sd1", 2.0, SR, 8, -90.0, 12)
    assert not np.allclose(wet, wet_other)
    for d, w, t, name in ((dry, wet, truth, "sd1"), (dry_b, wet_b, truth_b, "b65")):
        assert d.dtype == w.dtype == np.float32 and d.shape == w.shape == (2 * SR,)
        assert set(t) == {"latency_samples", "latency_ms", "gain_db", "polarity", "effect", "oversample"}
        assert t["effect"] == name and t["oversample"] == 8
        assert -30.0 < rms_dbfs(w) < -6.0 and np.abs(w).max() < 1.0


def test_dry_has_its_own_noise_floor() -> None:
    dry, _, _ = run_bench("b65", 2.0, SR, 8, -90.0, 4)
    clean = make_dry(2.0, SR, 4)
    residual = dry.astype(np.float64) - clean
    assert abs(rms_dbfs(residual) - (-90.0)) < 0.5


def test_wet_lags_the_dry_by_the_truth() -> None:
    sr = 44100
    dry, wet, truth = run_bench("b65", 2.0, sr, 8, -90.0, 9)
    corr = signal.correlate(wet.astype(np.float64), dry.astype(np.float64), mode="full", method="fft")
    lags = signal.correlation_lags(wet.size, dry.size, mode="full")
    found = lags[int(np.argmax(corr))]
    # The pedal's own filters add well under two samples of group delay.
    assert 0 <= found - truth["latency_samples"] < 2.0
