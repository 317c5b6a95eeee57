"""benchmarks.make_recording's hard cases: the high-gain amp with its cabinet and the Klon-like clipper
render deterministically, stay below full scale, arrive exactly `latency` samples late, distort as
promised (the amp strongly and low-passed, the clipper flat-topped) without aliasing; the strummed
material has chords, palm mutes, single notes and silences."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal

from benchmarks import make_recording as mr

SECONDS = 2.0


@pytest.fixture(scope="module")
def renders() -> dict[str, tuple[np.ndarray, np.ndarray, dict]]:
    return {chain: mr.render(chain, SECONDS, seed=3) for chain in ("amp", "clipper")}


def _sine(f0: float, amp: float, sr: int, seconds: float = 1.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * f0 * np.arange(int(seconds * sr)) / sr)


def _spectrum(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of the last 2^14 samples (the filters settled), Blackman-Harris window."""
    seg = y[-(1 << 14):]
    return np.fft.rfftfreq(seg.size, 1 / sr), np.abs(np.fft.rfft(seg * signal.windows.blackmanharris(seg.size))) ** 2


def _thd(y: np.ndarray, f0: float, sr: int) -> float:
    """Total harmonic distortion: RMS of harmonics 2.. over the fundamental's."""
    freqs, spec = _spectrum(y, sr)
    near = [spec[np.abs(freqs - k * f0) < 15.0].sum() for k in range(1, int(sr / 2 / f0) + 1)]
    return float(np.sqrt(sum(near[1:]) / near[0]))


def _inharmonic_db(y: np.ndarray, f0: float, sr: int) -> float:
    """Energy away from the harmonics of f0 (aliases) relative to all energy, dB."""
    freqs, spec = _spectrum(y, sr)
    harmonic = np.zeros(freqs.size, bool)
    for k in range(int(sr / 2 / f0) + 1):
        harmonic |= np.abs(freqs - k * f0) < 40.0
    return float(10 * np.log10(spec[~harmonic].sum() / spec.sum()))


def test_oversampling_block_by_block_is_the_whole_signal_s() -> None:
    """Blocks read with the filter's reach either side, and a section carrying its state: the same
    samples as resampling the whole signal at once."""
    x = np.random.default_rng(0).standard_normal(5000)

    def section():
        lp = mr.Sos(signal.butter(2, 0.05, output="sos"))
        return lambda u: np.tanh(3.0 * lp(u))

    h = mr.resampling_filter(4)
    whole = signal.resample_poly(section()(signal.resample_poly(x, 4, 1, window=h)), 1, 4, window=h)
    for block in (300, 1777, 8192):
        np.testing.assert_array_equal(mr.oversampled(x, section(), 4, block), whole)


@pytest.mark.parametrize("chain", ["amp", "clipper"])
def test_same_seed_same_bytes(tmp_path, chain) -> None:
    for out in ("a", "b"):
        mr.main([str(tmp_path / out), "--chain", chain, "--seconds", "1", "--seed", "5"])
    for name in ("dry.wav", "wet.wav", "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    truth = json.loads((tmp_path / "a" / "truth.json").read_text())
    rate = {"amp": 48000, "clipper": 44100}[chain]
    assert truth["chain_name"] == chain and truth["sample_rate"] == rate and truth["latency_samples"] == 64
    assert truth["material"] == {"amp": "strums", "clipper": "bench"}[chain]
    assert truth["polarity"] == 1 and truth["dc"] == 0.05 and truth["settings"]["oversample"] == mr.OVERSAMPLE
    with pytest.raises(SystemExit):
        mr.main([str(tmp_path / "c"), "--chain", chain, "--gain", "3"])  # --gain is the drive chain's


@pytest.mark.parametrize("chain", ["amp", "clipper"])
def test_finite_below_full_scale_and_late_by_the_latency(renders, chain) -> None:
    dry, wet, truth = renders[chain]
    rate = truth["sample_rate"]
    assert dry.size == wet.size == int(SECONDS * rate)
    assert np.all(np.isfinite(dry)) and np.all(np.isfinite(wet))
    assert np.max(np.abs(dry)) < 1.0 and np.max(np.abs(wet)) < 1.0
    effect, _ = mr.apply_chain(chain, dry, rate)
    recorded = wet - truth["dc"]
    lags = signal.correlation_lags(recorded.size, effect.size)
    xc = signal.correlate(recorded, effect, method="fft")
    assert lags[np.argmax(xc)] == truth["latency_samples"] == 64
    # what is left after the stated latency, polarity and level change is the stated noise floor
    lat = int(truth["latency_samples"])
    expected = truth["polarity"] * 10 ** (truth["gain_db"] / 20) * effect[:effect.size - lat]
    residual = recorded[lat:] - expected
    assert abs(20 * np.log10(np.std(residual)) - truth["noise_dbfs"]) < 1.0


def test_the_amp_is_strongly_nonlinear_and_low_passed() -> None:
    sr = 48000
    assert _thd(mr.amp_chain(_sine(220.0, 0.01, sr), sr), 220.0, sr) > 0.2  # a soft note already distorts
    assert _thd(mr.amp_chain(_sine(220.0, 0.1, sr), sr), 220.0, sr) > 0.35
    noise = 0.05 * np.random.default_rng(1).standard_normal(sr)

    def above_8k(x):
        freqs, power = signal.welch(x, sr, nperseg=4096)
        return power[freqs > 8000].sum() / power.sum()

    assert above_8k(noise) > 0.6 and above_8k(mr.amp_chain(noise, sr)) < 0.005  # the cabinet's 4.8 kHz roll-off


def test_the_clipper_clips_flat() -> None:
    sr = 44100
    s = mr.ClipperSettings()
    drive = np.abs(mr.clipper_drive(_sine(500.0, 0.3, sr), sr, s)[sr // 4:])
    # the diodes hold it at the knee (band-limiting a square wave overshoots by 9 %, its corners more) ...
    assert 0.95 * s.knee < np.max(drive) < 1.2 * s.knee
    # ... with flat tops: 97 % of the time within 15 % of it (a sine's 0.85-1 band holds 35 % of its time)
    assert np.mean((drive > 0.85 * s.knee) & (drive < 1.15 * s.knee)) > 0.9
    assert _thd(mr.clipper_chain(_sine(220.0, 0.1, sr), sr, s), 220.0, sr) > 0.2


@pytest.mark.parametrize("chain,sr", [("amp", 48000), ("clipper", 44100)])
def test_the_chains_do_not_alias(chain, sr) -> None:
    """A loud 1234.5 Hz sine: everything off its harmonics (what folding back would put there) stays
    85 dB below the output (at 8x the amp's aliases reach -80 dB, the clipper's -65 dB)."""
    y, _ = mr.apply_chain(chain, _sine(1234.5, 0.3, sr), sr)
    assert _inharmonic_db(y, 1234.5, sr) < -85.0


def test_strums_have_chords_mutes_notes_and_rests() -> None:
    events = mr.strum_events(60.0, seed=13)
    kinds = {p.kind for p in events}
    assert kinds == {"down", "up", "mute", "single"}
    strums = {}
    for p in events:
        strums.setdefault(p.group, []).append(p)
    chords = [g for g in strums.values() if g[0].kind in ("down", "up")]
    assert chords and all(4 <= len(g) <= 6 and len({p.string for p in g}) == len(g) for g in chords)
    for g in chords:
        gaps = np.diff([p.onset for p in g]) * 1e3
        assert np.all((gaps >= 0.8 * mr.STRUM_GAP_MS[0]) & (gaps <= 1.2 * mr.STRUM_GAP_MS[1]))
        strings = [p.string for p in g]
        assert strings == sorted(strings, reverse=g[0].kind == "up")  # down: low E first; up: high E first
    assert all(p.ring <= 0.25 and p.bright == 0.0 for p in events if p.kind == "mute")
    levels = 20 * np.log10([max(p.level for p in g) for g in chords])
    assert levels.max() - levels.min() > 15.0  # soft and hard strumming

    sr = 16000
    x = mr.strums(20.0, sr, seed=13)
    assert np.max(np.abs(x)) < 1.0
    rms_db = 10 * np.log10(np.mean(x[: x.size // 1600 * 1600].reshape(-1, 1600) ** 2, axis=1))  # 100 ms windows
    assert rms_db.min() < -60.0 and rms_db.max() > -30.0  # rests (the hiss alone) and loud playing
    assert np.mean(rms_db < -60.0) > 0.05
