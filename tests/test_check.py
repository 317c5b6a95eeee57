"""`python -m drywet check`: the pair's report and verdict, on material unlike the bench (plucked
notes with silences between them, through a filter -> tanh drive -> filter chain), and the exits."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from drywet.app.cli import main
from drywet.audio import write_wav
from drywet.bench.chain import delay
from drywet.check import DEFAULT_ALIGN, check_pair, render, report_json
from drywet.errors import InputError

SR = 48000
SECONDS = 4.0
EARLY, LATE = -1.0, 0.25  # found - true latency must lie in this window (samples)
NOISE_DBFS = -80.0  # the wet's noise floor (RMS)
REPO = Path(__file__).resolve().parents[1]


def plucks(seconds: float, sr: int, seed: int, top_hz: float = 12000.0, harmonics: int | None = None) -> np.ndarray:
    """Decaying plucked notes of random pitch (E2 up two octaves), 0.05-0.3 s of silence between them.

    Each note's partials, 1/h in level, reach `top_hz` (or stop after `harmonics`), the higher
    ones dying faster, with a -95 dBFS floor under everything; peak 0.5. Made here, not taken from
    any data set.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * sr))
    pos = int(0.05 * sr)
    while pos < out.size:
        n = int(rng.uniform(0.25, 0.6) * sr)
        t = np.arange(n) / sr
        f0 = 82.4 * 2 ** (rng.integers(0, 28) / 12)
        count = harmonics or int(min(top_hz, 0.45 * sr) / f0)
        h = np.arange(1, count + 1)[:, None]
        amp = rng.uniform(0.3, 1.0, h.shape) / h
        phase = rng.uniform(0, 2 * np.pi, h.shape)
        tone = np.sum(amp * np.sin(2 * np.pi * f0 * h * t + phase) * np.exp(-t * h / rng.uniform(0.1, 0.3)), axis=0)
        note = tone * (1 - np.exp(-t * sr / 20)) * rng.uniform(0.3, 1.0)
        m = min(n, out.size - pos)
        out[pos:pos + m] += note[:m]
        pos += n + int(rng.uniform(0.05, 0.3) * sr)
    out = 0.5 * out / np.max(np.abs(out))
    return out + 10 ** (-95 / 20) * rng.standard_normal(out.size)


def chain(dry: np.ndarray, sr: int, latency: float, drive: float = 10.0, seed: int = 9) -> np.ndarray:
    """720 Hz high-pass -> tanh drive -> 5 kHz 2nd-order low-pass, delayed by `latency` samples,
    plus a noise floor at NOISE_DBFS."""
    pre = signal.butter(1, 720, "high", fs=sr, output="sos")
    post = signal.butter(2, 5000, fs=sr, output="sos")
    wet = delay(0.5 * signal.sosfilt(post, np.tanh(drive * signal.sosfilt(pre, dry))), latency)
    return wet + 10 ** (NOISE_DBFS / 20) * np.random.default_rng(seed).standard_normal(wet.size)


@pytest.fixture(scope="module")
def dry() -> np.ndarray:
    return plucks(SECONDS, SR, seed=2)


def in_window(found: float, truth: float) -> bool:
    return EARLY <= found - truth <= LATE


# --- the library: arrays in, a report out ---------------------------------------------------------


def test_a_good_pair_is_ok_to_train(dry):
    r = check_pair(dry, chain(dry, SR, 137.0), SR)
    assert r.ok and r.problems == () and r.conclusion == "OK to train"
    assert in_window(r.latency_samples, 137.0) and r.polarity == 1
    assert r.latency_ms == pytest.approx(1000 * r.latency_samples / SR)
    assert r.peak_clarity_db > r.min_peak_clarity_db and 0 < r.peak_correlation <= 1
    assert r.sample_rate == SR and r.dry_seconds == SECONDS and r.search_range_ms == 50.0
    assert abs(r.noise_floor_dbfs - NOISE_DBFS) < 3.0  # measured in the silences between notes
    assert 0 < r.esr_floor < 1e-4
    assert r.repeat_esr is None and r.dry_full_scale_fraction == r.wet_full_scale_fraction == 0.0
    assert r.dry_peak_dbfs == pytest.approx(-6.0, abs=0.1) and r.dry_rms_dbfs < r.dry_peak_dbfs
    text = render(r, "dry.wav", "wet.wav")
    assert text.splitlines()[-1] == "OK to train" and "no repeated passage" in text
    assert len(text.splitlines()) <= 12


def test_inverted_wet_with_dc_offsets_and_a_fractional_latency(dry):
    r = check_pair(dry + 0.02, 0.05 - chain(dry, SR, 90.6), SR)
    assert r.ok and r.polarity == -1 and in_window(r.latency_samples, 90.6)
    assert r.dc_dry == pytest.approx(0.02, abs=1e-3) and r.dc_wet == pytest.approx(0.05, abs=0.01)
    assert abs(r.noise_floor_dbfs - NOISE_DBFS) < 3.0  # the offset is no noise
    assert "(inverted)" in render(r)


def test_heavy_clipping_in_the_wet_is_fine(dry):
    wet = np.clip(5.0 * chain(dry, SR, 137.0), -1.0, 1.0)
    r = check_pair(dry, wet, SR)
    assert r.ok and r.wet_full_scale_fraction > 0.02 and in_window(r.latency_samples, 137.0)
    assert any("full scale" in n for n in r.notes)


def test_a_clipped_dry_is_refused(dry):
    clipped = np.clip(4.0 * dry, -1.0, 1.0)  # the interface's input overloaded
    r = check_pair(clipped, chain(clipped, SR, 137.0), SR, dry_name="dry.wav")
    assert not r.ok and r.dry_full_scale_fraction > 1e-3
    assert r.problems[0].startswith("dry.wav: ") and "clipped at full scale" in r.problems[0]
    assert render(r).splitlines()[-1] == f"not OK to train: {r.problems[0]}"


def test_a_wet_stuck_at_a_rail_is_refused(dry):
    wet = chain(dry, SR, 137.0)
    wet[(np.arange(wet.size) % SR) < int(0.25 * SR)] = -1.0  # a quarter of every second pinned at -1
    r = check_pair(dry, wet, SR)
    assert not r.ok and "stuck at full scale" in r.conclusion
    assert not any("full scale" in n for n in r.notes)


def test_a_latency_beyond_the_search_range(dry):
    wet = chain(dry, SR, 3000.0)  # 62.5 ms
    r = check_pair(dry, wet, SR)
    assert not r.ok and ("search range" in r.conclusion or "not trustworthy" in r.conclusion)
    wide = check_pair(dry, wet, SR, dataclasses.replace(DEFAULT_ALIGN, max_latency_ms=100.0))
    assert wide.ok and in_window(wide.latency_samples, 3000.0) and wide.search_range_ms == 100.0


def test_a_wet_of_another_take_is_ambiguous(dry):
    r = check_pair(dry, chain(plucks(SECONDS, SR, seed=5), SR, 137.0), SR)
    assert not r.ok and "not trustworthy" in r.conclusion
    assert r.peak_clarity_db < 25.0 and "not trusted" in render(r)


def test_another_rate():
    d = plucks(3.0, 96000, seed=2)
    r = check_pair(d, -chain(d, 96000, 211.0), 96000)
    assert r.ok and r.sample_rate == 96000 and r.polarity == -1 and in_window(r.latency_samples, 211.0)


def test_a_passage_played_twice_measures_repeatability(dry):
    twice = np.concatenate([dry[: int(1.5 * SR)], dry])
    r = check_pair(twice, chain(twice, SR, 137.0), SR)
    assert r.ok and 1.2 <= r.repeat_seconds <= 1.5  # the copy, less the silence it starts with
    assert 0 < r.repeat_esr < 1e-3  # the two takes differ by their noise only
    assert "played twice" in render(r)


def test_unusable_pairs_raise_one_line_errors_naming_the_file(dry):
    wet = chain(dry, SR, 137.0)
    names = {"dry_name": "d.wav", "wet_name": "w.wav"}
    with pytest.raises(InputError, match=r"^w\.wav: sample rate 96000 Hz differs"):
        check_pair(dry, wet, SR, wet_sr=96000, **names)
    with pytest.raises(InputError, match=r"^d\.wav: too short"):
        check_pair(dry[: SR // 2], wet, SR, **names)
    with pytest.raises(InputError, match=r"^w\.wav: silent"):
        check_pair(dry, np.full_like(wet, 0.3), SR, **names)  # a DC offset alone is silence
    bad = dry.copy()
    bad[100] = np.nan
    with pytest.raises(InputError, match=r"^d\.wav: contains NaN"):
        check_pair(bad, wet, SR, **names)


def test_json_is_flat_sorted_and_finite(dry):
    r = check_pair(dry, chain(dry, SR, 137.0), SR)
    text = report_json(r)
    data = json.loads(text)
    assert list(data) == sorted(data) and data["ok"] is True and data["conclusion"] == "OK to train"
    assert data["repeat_esr"] is None and data["polarity"] == 1 and data["problems"] == []
    assert report_json(r) == text  # byte-stable


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture()
def wavs(tmp_path, dry):
    """Writes named pairs under tmp_path; returns a function name -> (dry path, wet path)."""

    def make(name: str, d: np.ndarray, w: np.ndarray, sr: int = SR, wet_sr: int | None = None):
        paths = tmp_path / f"{name}-dry.wav", tmp_path / f"{name}-wet.wav"
        for path, x, rate in zip(paths, (d, w), (sr, wet_sr or sr), strict=True):
            if x.ndim > 1:  # several channels: 24-bit PCM, as an interface writes them
                sf.write(str(path), x, rate, subtype="PCM_24")
            else:
                write_wav(path, x, rate)
        return str(paths[0]), str(paths[1])

    return make


def one_error_line(err: str, path: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), err
    return lines[0]


def test_command_exit_0_prints_the_report(wavs, dry, capsys):
    d, w = wavs("good", dry, chain(dry, SR, 137.0))
    assert main(["check", d, w]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"{d} -> {w}: 48000 Hz") and out.strip().endswith("OK to train")
    assert main(["check", d, w, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and in_window(data["latency_samples"], 137.0)


def test_command_exit_1_when_not_ok(wavs, dry, capsys):
    clipped = np.clip(3.0 * dry, -1.0, 1.0)
    d, w = wavs("clipped", clipped, chain(clipped, SR, 137.0))
    assert main(["check", d, w]) == 1
    captured = capsys.readouterr()
    assert captured.err == "" and "latency" in captured.out
    assert captured.out.strip().splitlines()[-1].startswith(f"not OK to train: {d}: ")
    far_d, far_w = wavs("far", dry, chain(dry, SR, 3000.0))
    assert main(["check", far_d, far_w]) == 1
    assert main(["check", far_d, far_w, "--max-latency-ms", "100"]) == 0


def test_command_exit_2_for_unusable_input(wavs, dry, tmp_path, capsys):
    wet = chain(dry, SR, 137.0)
    d, w = wavs("stereo", np.stack([wet, dry], axis=1), np.stack([dry, wet], axis=1))
    assert main(["check", d, w]) == 2
    assert "--channel" in one_error_line(capsys.readouterr().err, d)
    assert main(["check", d, w, "--channel", "1"]) == 0  # channel 1: the dry in one, the wet in the other
    capsys.readouterr()
    cases = {
        "rate": (dry, wet, SR, 96000, "wet", "sample rate"),
        "short": (dry[: SR // 4], wet[: SR // 4], SR, None, "dry", "too short"),
        "silent": (dry, 1e-5 * wet, SR, None, "wet", "silent"),
        "nan": (np.where(np.arange(dry.size) == 5, np.nan, dry), wet, SR, None, "dry", "NaN"),
    }
    for name, (dd, ww, sr, wet_sr, which, words) in cases.items():
        d, w = wavs(name, dd, ww, sr, wet_sr)
        assert main(["check", d, w]) == 2, name
        captured = capsys.readouterr()
        assert captured.out == "" and words in one_error_line(captured.err, d if which == "dry" else w)
    missing = str(tmp_path / "missing.wav")
    assert main(["check", missing, w]) == 2
    one_error_line(capsys.readouterr().err, missing)


def test_command_imports_no_tensorflow(wavs, dry):
    d, w = wavs("light", dry, chain(dry, SR, 137.0))
    code = ("import sys; from drywet.app.cli import main; rc = main(sys.argv[1:]); "
            "sys.exit(rc or 10 * any(m in sys.modules for m in ('tensorflow', 'keras')))")
    done = subprocess.run([sys.executable, "-c", code, "check", d, w], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# --- where the align stage's latency leaves the window on this material -------------------------------


@pytest.mark.xfail(strict=True, reason="align.py: on a dry of few partials (nothing above ~3 kHz but "
                   "its noise floor) the onset is read early, here by more than a sample for an exact delay")
def test_sparse_partials_exact_delay_is_found_in_the_window():
    d = plucks(SECONDS, SR, seed=1, harmonics=8)
    r = check_pair(d, delay(d, 137.0), SR)
    assert in_window(r.latency_samples, 137.0)


def test_honest_heavy_clipping_after_a_pre_emphasis_is_accepted():
    d = plucks(SECONDS, SR, seed=1)
    assert check_pair(d, np.clip(10.0 * chain(d, SR, 137.0), -1.0, 1.0), SR).ok


def test_a_first_order_drive_chain_is_not_late():
    """check runs the align stage's estimate, causal bound included: plucked notes through a 1st-order
    HP 80 Hz -> tanh (x32) -> 1st-order LP 4.5 kHz chain, read a sample late by the onset alone."""
    from benchmarks.make_recording import plucked_notes

    d = plucked_notes(SECONDS, SR, 12, pickup_hz=2500.0)
    hp = signal.butter(1, 80.0, "highpass", fs=SR, output="sos")
    lp = signal.butter(1, 4500.0, "lowpass", fs=SR, output="sos")
    w = delay(0.2 * signal.sosfilt(lp, np.tanh(31.6 * signal.sosfilt(hp, d))), 137.0)
    w += 10 ** (NOISE_DBFS / 20) * np.random.default_rng(9).standard_normal(w.size)
    r = check_pair(d, w, SR)
    assert r.ok
    assert in_window(r.latency_samples, 137.0)


# --- the mistakes players make --------------------------------------------------------------------


@pytest.mark.parametrize("latency", [137.0, 0.0])
def test_swapped_files_are_refused_by_name(dry, latency):
    """The gear's output passed as the dry: an output before its input (a late chain), or, at no
    latency, a 'wet' that predicts the 'dry' better than the reverse (the drive lost what it clipped)."""
    wet = chain(dry, SR, latency)
    assert check_pair(dry, wet, SR).ok
    r = check_pair(wet, dry, SR, dry_name="out.wav", wet_name="di.wav")
    assert not r.ok
    assert "look swapped" in r.problems[0] and "di.wav" in r.problems[0] and "out.wav" in r.problems[0]
    assert r.conclusion.startswith("not OK to train: ") and "\n" not in r.conclusion


def test_a_swap_is_named_before_the_clipping_it_explains(dry):
    """A hot output passed as the dry sits at full scale: the swap is the first reason, not the clipping."""
    wet = np.clip(8.0 * chain(dry, SR, 60.0), -1.0, 1.0)
    r = check_pair(wet, dry, SR)
    assert "look swapped" in r.problems[0]


def test_lengths_that_differ_beyond_the_search_range_say_so_in_seconds(dry):
    r = check_pair(dry, chain(dry, SR, 137.0)[: dry.size - SR // 2], SR, wet_name="w.wav")
    assert not r.ok
    assert "differ by 0.500 s" in r.conclusion and "trim both to the same take" in r.conclusion
