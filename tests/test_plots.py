"""Plots: each function writes a readable, non-empty PNG and reports its panel count."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from drywet import plots

SR = 16000
TITLE = "test · l1_u16_f32 · 2 epochs"
Signals = tuple[np.ndarray, np.ndarray, np.ndarray]  # dry, target, prediction


@pytest.fixture(scope="module")
def signals() -> Signals:
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    dry = 0.4 * np.sin(2 * np.pi * 220.0 * t) * np.exp(-t) + 0.001 * rng.standard_normal(t.size)
    target = np.tanh(3.0 * dry)
    pred = 0.9 * target + 0.002 * rng.standard_normal(t.size)
    return dry, target, pred


def _assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 0
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 0 and image.shape[1] > 0


def test_plot_spectrograms(tmp_path: Path, signals: Signals) -> None:
    _, target, pred = signals
    path = tmp_path / "new" / "folder" / "spectrograms.png"
    assert plots.plot_spectrograms(target, pred, SR, path, TITLE) == 2
    _assert_png(path)


def test_plot_error_spectrum(tmp_path: Path, signals: Signals) -> None:
    _, target, pred = signals
    path = tmp_path / "error_spectrum.png"
    assert plots.plot_error_spectrum(target, pred, SR, path, TITLE, hf_cutoff_hz=4000.0) == 1
    _assert_png(path)


@pytest.mark.parametrize("start_s", [None, 0.5, 100.0])
def test_plot_waveforms(tmp_path: Path, signals: Signals, start_s: float | None) -> None:
    dry, target, pred = signals
    path = tmp_path / "waveforms.png"
    assert plots.plot_waveforms(dry, target, pred, SR, path, TITLE, start_s=start_s) == 2
    _assert_png(path)


def test_loudest_start_is_the_loud_part() -> None:
    from drywet.audio import loudest_window_start

    x = np.zeros(1000)
    x[600:650] = 1.0
    assert loudest_window_start(x, 50) == 600
    assert loudest_window_start(x, 50, lo=0, hi=300) == 0  # ties: first window
    assert loudest_window_start(x, 50, lo=550, hi=1000) == 600
    assert loudest_window_start(x, 50, hop=7) == 602  # the first candidate start on the hop grid
    assert loudest_window_start(np.stack([x, 2 * x], axis=1), 50) == 600


def test_plot_checkpoint_grid(tmp_path: Path, signals: Signals) -> None:
    _, target, pred = signals
    preds = {80: pred, 20: 0.5 * pred, 35: 0.7 * pred, 50: 0.8 * pred, 200: pred}
    path = tmp_path / "checkpoints.png"
    assert plots.plot_checkpoint_grid(target, preds, SR, path, TITLE) == len(preds) + 1
    _assert_png(path)


def test_plot_checkpoint_grid_without_checkpoints(tmp_path: Path, signals: Signals) -> None:
    _, target, _ = signals
    path = tmp_path / "checkpoints.png"
    assert plots.plot_checkpoint_grid(target, {}, SR, path, TITLE) == 1
    _assert_png(path)


def test_spectrogram_is_bounded_and_calibrated() -> None:
    t = np.arange(60 * SR) / SR
    # 62.5 Hz sits on a bin centre (4096-point frames at 16 kHz), where bands are sub-bin
    t_edges, level = plots._spectrogram_db(np.sin(2 * np.pi * 62.5 * t), SR)
    assert level.shape == (plots.SPEC_FREQ_ROWS, plots.SPEC_MAX_COLUMNS)
    assert t_edges.size == plots.SPEC_MAX_COLUMNS + 1
    assert level.max() == pytest.approx(0.0, abs=0.5)  # full-scale sine ≈ 0 dBFS


def test_mismatched_lengths_raise(tmp_path: Path, signals: Signals) -> None:
    _, target, pred = signals
    with pytest.raises(ValueError, match="length"):
        plots.plot_spectrograms(target, pred[:-1], SR, tmp_path / "x.png", TITLE)
    with pytest.raises(ValueError, match="samples"):
        plots.plot_checkpoint_grid(target, {20: pred[:-1]}, SR, tmp_path / "y.png", TITLE)
    assert not list(tmp_path.iterdir())
