"""Bad recordings stop the stages with one line naming the file and the problem, exit status 2,
and no output left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from drywet import audio
from drywet.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SR = 16000


def guitarish(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    env = np.exp(-3 * (t % 0.5))
    x = env * (np.sin(2 * np.pi * 110 * t) + 0.3 * np.sin(2 * np.pi * 330 * t)) * 0.3
    return (x + 1e-3 * rng.standard_normal(len(t))).astype(np.float32)


def run_record(tmp_path: Path, dry, wet, sr_dry=SR, sr_wet=SR, channel=None):
    folder = tmp_path / "rec"
    folder.mkdir(exist_ok=True)
    if dry is not None:
        sf.write(folder / "dry.wav", dry, sr_dry, subtype="FLOAT")
    if wet is not None:
        sf.write(folder / "wet.wav", wet, sr_wet, subtype="FLOAT")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["effects"]["sd1"] = {"source": str(folder), "channel": channel}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "stages.record", "--effect", "sd1", "--out", "out/raw",
                           "--truth", "out/truth.json"], cwd=tmp_path, env=env, capture_output=True, text=True)
    return proc, tmp_path / "out"


def assert_clean_failure(proc, out: Path, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not (out / "raw").exists() and not (out / "truth.json").exists()


def test_good_recordings_are_copied(tmp_path: Path) -> None:
    x = guitarish(3)
    proc, out = run_record(tmp_path, x, np.tanh(4 * x))
    assert proc.returncode == 0, proc.stderr
    y, sr = sf.read(out / "raw" / "wet.wav")
    assert sr == SR and np.allclose(y, np.tanh(4 * x), atol=1e-6)


def test_sample_rate_mismatch(tmp_path: Path) -> None:
    x = guitarish(3)
    proc, out = run_record(tmp_path, x, x, sr_wet=22050)
    assert_clean_failure(proc, out, "wet.wav", "sample rate")


def test_stereo_without_channel(tmp_path: Path) -> None:
    x = guitarish(3)
    proc, out = run_record(tmp_path, np.stack([x, x], 1), x)
    assert_clean_failure(proc, out, "dry.wav", "2 channels")


def test_stereo_with_channel_picked(tmp_path: Path) -> None:
    x = guitarish(3)
    proc, out = run_record(tmp_path, np.stack([x * 0, x], 1), np.stack([x * 0, x], 1), channel=1)
    assert proc.returncode == 0, proc.stderr
    assert np.allclose(sf.read(out / "raw" / "dry.wav")[0], x, atol=1e-6)


def test_channel_out_of_range(tmp_path: Path) -> None:
    x = guitarish(3)
    proc, out = run_record(tmp_path, x, x, channel=3)
    assert_clean_failure(proc, out, "dry.wav", "channel 3")


def test_length_mismatch(tmp_path: Path) -> None:
    proc, out = run_record(tmp_path, guitarish(3), guitarish(5))
    assert_clean_failure(proc, out, "wet.wav", "length")


def test_too_short(tmp_path: Path) -> None:
    x = guitarish(0.5)
    proc, out = run_record(tmp_path, x, x)
    assert_clean_failure(proc, out, "too short")


def test_silent(tmp_path: Path) -> None:
    x = guitarish(3)
    proc, out = run_record(tmp_path, x, x * 1e-5)
    assert_clean_failure(proc, out, "wet.wav", "silent")


def test_nan(tmp_path: Path) -> None:
    x = guitarish(3)
    y = x.copy()
    y[100] = np.nan
    proc, out = run_record(tmp_path, x, y)
    assert_clean_failure(proc, out, "wet.wav", "NaN")


def test_missing_and_unreadable(tmp_path: Path) -> None:
    proc, out = run_record(tmp_path, guitarish(3), None)
    assert_clean_failure(proc, out, "wet.wav", "not found")
    (tmp_path / "rec" / "wet.wav").write_bytes(b"RIFF....not a wav at all")
    proc, out = run_record(tmp_path, guitarish(3), None)
    assert_clean_failure(proc, out, "wet.wav", "unreadable")


def test_clipped_wet_warns_but_passes(tmp_path: Path) -> None:
    x = guitarish(3)
    proc, out = run_record(tmp_path, x, np.clip(x * 20, -1, 1))
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and "clipped" in proc.stderr


def test_check_signal_levels() -> None:
    x = guitarish(2)
    assert audio.check_signal(x, "x", 100) == []
    with pytest.raises(InputError, match="silent"):
        audio.check_signal(np.zeros(1000, np.float32), "x", 100)


def test_write_wav_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    audio.write_wav(path, guitarish(0.1), SR)
    with pytest.raises(ValueError):
        audio.write_wav(path, np.ones((2, 2, 2)), SR)  # not writable as audio
    assert sf.read(path)[0].shape == (int(0.1 * SR),)
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]
