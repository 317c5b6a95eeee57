"""Figures a person reads: spectrograms, error spectrum, waveforms, the checkpoint grid (PNG).

Each function takes 1-D arrays in full-scale units plus the sample rate, writes one PNG to
`path` (creating its folder), and returns the number of data panels drawn. Spectrograms are
computed on a bounded number of time columns, so their cost barely grows with the input length.
"""

from __future__ import annotations

import math
import os

import matplotlib
import numpy as np
import scipy.fft
import scipy.signal
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from drywet.audio import loudest_window_start
from drywet.fileio import atomic_write
from drywet.metrics import hf_error_db

# Headless rendering. Figures are built with Figure() rather than pyplot, so none is kept in
# pyplot's global registry and nothing needs closing.
matplotlib.use("Agg")

DPI = 120
F_MIN_HZ = 20.0
SPEC_NPERSEG = 4096  # ~10.8 Hz bins at 44.1 kHz: enough detail for the low end on a log axis
SPEC_MAX_COLUMNS = 600  # time columns per spectrogram; longer inputs are sampled, not averaged
SPEC_FREQ_ROWS = 256  # log-spaced frequency rows
SPEC_RANGE_DB = 100.0  # colour scale spans this far below the loudest cell
WELCH_NPERSEG = 8192
COLOURS = {"dry": "0.6", "target": "tab:blue", "prediction": "tab:orange", "error": "tab:red"}


def _as_1d(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D signal, got shape {x.shape}")
    return x


def _same_length(**signals: np.ndarray) -> list[np.ndarray]:
    arrays = [_as_1d(x, name) for name, x in signals.items()]
    lengths = {name: x.size for name, x in zip(signals, arrays, strict=True)}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"signals differ in length: {lengths} samples")
    return arrays


def _save(fig: Figure, path: str | os.PathLike) -> None:
    """Save a PNG atomically with fixed metadata (no software version or date): byte-stable."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None}))


def _hz_axis(axis: Axis, sr: float) -> None:
    """Log frequency axis from 20 Hz to Nyquist, ticked 20, 50, 100, ... 10k, 20k."""
    ticks = [f for f in (20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4) if f <= sr / 2]
    axis.set_ticks(ticks, [f"{f / 1000:g}k" if f >= 1000 else f"{f:g}" for f in ticks])
    axis.set_minor_formatter(NullFormatter())


def _log_edges(sr: float) -> np.ndarray:
    return np.geomspace(F_MIN_HZ, sr / 2, SPEC_FREQ_ROWS + 1)


def _spectrogram_db(x: np.ndarray, sr: float) -> tuple[np.ndarray, np.ndarray]:
    """Level in dBFS on log-spaced frequency bands (rows) × time columns; returns (time edges, S).

    At most SPEC_MAX_COLUMNS Hann frames are taken, evenly spaced. Each log band holds the mean
    power per linear bin over the bins it overlaps (weighted by overlap): noise floors stay flat,
    and a full-scale sine reads 0 dBFS where bands are narrower than a bin (the low end) and
    less higher up, where its power is averaged with neighbouring bins.
    """
    nperseg = min(SPEC_NPERSEG * max(1, round(sr / 44100)), x.size)  # same bin width (Hz) at 88.2/96 kHz
    if x.size < nperseg:
        x = np.pad(x, (0, nperseg - x.size))
    n_cols = min(SPEC_MAX_COLUMNS, 1 + (x.size - nperseg) // max(1, nperseg // 4))
    starts = np.linspace(0, x.size - nperseg, n_cols).astype(np.int64)
    window = scipy.signal.get_window("hann", nperseg)
    frames = x[starts[:, None] + np.arange(nperseg)] * window
    power = np.square(np.abs(scipy.fft.rfft(frames, axis=1)) * (2.0 / window.sum()))
    # Integral of the piecewise-constant power over frequency, sampled at the band edges.
    bin_hz = sr / nperseg
    bin_edges = (np.arange(power.shape[1] + 1) - 0.5) * bin_hz
    cumulative = np.concatenate([np.zeros((n_cols, 1)), np.cumsum(power, axis=1)], axis=1)
    band_edges = _log_edges(sr)
    pos = np.clip((band_edges - bin_edges[0]) / bin_hz, 0, power.shape[1])
    lo = np.minimum(pos.astype(np.int64), power.shape[1] - 1)
    frac = pos - lo
    at_edges = cumulative[:, lo] + frac * (cumulative[:, lo + 1] - cumulative[:, lo])
    band_power = np.diff(at_edges, axis=1) / np.diff(pos)
    level = 10.0 * np.log10(band_power.T + 1e-20)
    centres = (starts + nperseg / 2) / sr
    step = centres[1] - centres[0] if n_cols > 1 else nperseg / sr
    t_edges = np.concatenate([centres - step / 2, [centres[-1] + step / 2]])
    return t_edges, level


def _colour_range(levels: list[np.ndarray]) -> tuple[float, float]:
    vmax = math.ceil(max(float(s.max()) for s in levels) / 10.0) * 10.0
    return vmax - SPEC_RANGE_DB, vmax


def _draw_spectrogram(
    ax: Axes,
    t_edges: np.ndarray,
    level: np.ndarray,
    sr: float,
    vmin: float,
    vmax: float,
    label: str,
) -> QuadMesh:
    mesh = ax.pcolormesh(
        t_edges,
        _log_edges(sr),
        level,
        vmin=vmin,
        vmax=vmax,
        cmap="magma",
        shading="flat",
        rasterized=True,
    )
    ax.set_yscale("log")
    ax.set_ylim(F_MIN_HZ, sr / 2)
    _hz_axis(ax.yaxis, sr)
    ax.set_title(label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    return mesh


def plot_spectrograms(
    target: np.ndarray, pred: np.ndarray, sr: float, path: str | os.PathLike, title: str
) -> int:
    """Target and prediction spectrograms side by side on one dBFS colour scale."""
    target, pred = _same_length(target=target, pred=pred)
    specs = [_spectrogram_db(target, sr), _spectrogram_db(pred, sr)]
    vmin, vmax = _colour_range([s for _, s in specs])
    fig = Figure(figsize=(13, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (t_edges, level), label in zip(axes, specs, ["target (wet)", "prediction"], strict=True):
        mesh = _draw_spectrogram(ax, t_edges, level, sr, vmin, vmax, label)
    axes[1].set_ylabel("")
    fig.colorbar(mesh, ax=axes, label="power per bin (dBFS)")
    fig.suptitle(title)
    _save(fig, path)
    return 2


def plot_error_spectrum(
    target: np.ndarray,
    pred: np.ndarray,
    sr: float,
    path: str | os.PathLike,
    title: str,
    hf_cutoff_hz: float = 8000.0,
) -> int:
    """Long-term (Welch) spectra of target, prediction and error, with the HF cutoff marked."""
    target, pred = _same_length(target=target, pred=pred)
    nperseg = min(WELCH_NPERSEG, target.size)
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.subplots()
    curves = {"target": target, "prediction": pred, "error": target - pred}
    for name, x in curves.items():
        freqs, psd = scipy.signal.welch(x, fs=sr, window="hann", nperseg=nperseg, detrend=False)
        keep = freqs >= F_MIN_HZ
        ax.semilogx(
            freqs[keep],
            10.0 * np.log10(psd[keep] + 1e-30),
            color=COLOURS[name],
            label=f"{name} (target - prediction)" if name == "error" else name,
            lw=2.0 if name == "target" else 1.0,
        )  # wide target stays visible under a match
    hf_db = hf_error_db(target, pred, sr, hf_cutoff_hz)
    ax.axvline(hf_cutoff_hz, color="k", ls="--", lw=1.0)
    ax.axvspan(hf_cutoff_hz, sr / 2, color="k", alpha=0.06)
    ax.annotate(
        f"cutoff {hf_cutoff_hz:g} Hz\nHF error {hf_db:.1f} dB re target",
        xy=(hf_cutoff_hz, 0.97),
        xycoords=("data", "axes fraction"),
        xytext=(-6, 0),
        textcoords="offset points",
        va="top",
        ha="right",
    )
    ax.set_xlim(F_MIN_HZ, sr / 2)
    _hz_axis(ax.xaxis, sr)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power spectral density (dB re FS²/Hz)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, frameon=False, borderaxespad=0.2)
    fig.suptitle(title)
    _save(fig, path)
    return 1


def plot_waveforms(
    dry: np.ndarray,
    target: np.ndarray,
    pred: np.ndarray,
    sr: float,
    path: str | os.PathLike,
    title: str,
    zoom_ms: float = 10.0,
    long_s: float = 2.0,
    start_s: float | None = None,
) -> int:
    """Dry, target and prediction overlaid: a `long_s` excerpt and a `zoom_ms` close-up inside it.

    The long excerpt starts at `start_s`, or by default where the target is loudest; the
    close-up is the loudest `zoom_ms` within it and is shaded on the long panel.
    """
    dry, target, pred = _same_length(dry=dry, target=target, pred=pred)
    n = target.size
    long_len = max(1, min(n, round(long_s * sr)))
    if start_s is None:
        long_start = loudest_window_start(target, long_len)
    else:
        long_start = min(max(0, round(start_s * sr)), n - long_len)
    zoom_len = max(1, min(long_len, round(zoom_ms * sr / 1000.0)))
    zoom_start = loudest_window_start(target, zoom_len, long_start, long_start + long_len)

    fig = Figure(figsize=(12, 7), layout="constrained")
    ax_long, ax_zoom = fig.subplots(2, 1)
    signals = {"dry": dry, "target": target, "prediction": pred}
    long_idx = np.arange(long_start, long_start + long_len)
    zoom_idx = np.arange(zoom_start, zoom_start + zoom_len)
    for name, x in signals.items():
        ax_long.plot(long_idx / sr, x[long_idx], color=COLOURS[name], lw=0.6, label=name)
        ax_zoom.plot(
            (zoom_idx - zoom_start) * 1000.0 / sr,
            x[zoom_idx],
            color=COLOURS[name],
            lw=1.2,
            label=name,
            marker="." if zoom_len <= 200 else None,
            ms=3,
        )
    ax_long.axvspan(
        zoom_start / sr, (zoom_start + zoom_len) / sr, color="k", alpha=0.12, label="close-up below"
    )
    ax_long.set_title(f"{long_len / sr:.2f} s excerpt")
    ax_long.set_xlabel("time (s)")
    ax_zoom.set_title(f"{zoom_len * 1000.0 / sr:.1f} ms close-up")
    ax_zoom.set_xlabel(f"time (ms) from {zoom_start / sr:.4f} s")
    for ax in (ax_long, ax_zoom):
        ax.set_ylabel("amplitude (full scale)")
        ax.grid(True, alpha=0.3)
        ax.legend(
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncols=4,
            fontsize="small",
            frameon=False,
            borderaxespad=0.2,
        )
    fig.suptitle(title)
    _save(fig, path)
    return 2


def plot_checkpoint_grid(
    target: np.ndarray,
    preds: dict[int, np.ndarray],
    sr: float,
    path: str | os.PathLike,
    title: str,
) -> int:
    """The target and one spectrogram per checkpoint epoch (ascending), on one dBFS colour scale.

    Returns the number of spectrogram panels (checkpoints + 1).
    """
    target = _as_1d(target, "target")
    epochs = sorted(preds)
    signals = [("target (wet)", target)]
    for epoch in epochs:
        pred = _as_1d(preds[epoch], f"prediction at epoch {epoch}")
        if pred.size != target.size:
            raise ValueError(f"prediction at epoch {epoch} has {pred.size} samples, target has {target.size}")
        signals.append((f"epoch {epoch}", pred))
    specs = [_spectrogram_db(x, sr) for _, x in signals]
    vmin, vmax = _colour_range([s for _, s in specs])
    n_panels = len(signals)
    n_cols = min(3, n_panels)
    n_rows = math.ceil(n_panels / n_cols)
    fig = Figure(figsize=(4.6 * n_cols + 1.2, 3.6 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=True, sharey=True)
    flat = axes.ravel()
    for ax, (label, _), (t_edges, level) in zip(flat[:n_panels], signals, specs, strict=True):
        mesh = _draw_spectrogram(ax, t_edges, level, sr, vmin, vmax, label)
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    for ax in flat[:n_panels]:
        if not ax.get_subplotspec().is_first_col():
            ax.set_ylabel("")
        ax.tick_params(labelbottom=True)
    fig.colorbar(mesh, ax=flat[:n_panels].tolist(), label="power per bin (dBFS)")
    fig.suptitle(title if epochs else f"{title} (no checkpoints saved)")
    _save(fig, path)
    return n_panels
