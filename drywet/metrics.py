"""How close a prediction came to the target (wet) signal: MAE, R², ESR and spectral metrics, and
METRICS, the table of every number and word in metrics/<fx>.json.

Every metric function takes two 1-D arrays of equal length, `target` and `pred`, in full-scale units
(1.0 = 0 dBFS), and accumulates in float64 whatever the input dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal

from drywet.errors import ConfigError, InputError

STFT_FFT_SIZES = (256, 1024, 4096)
STFT_EPS = 1e-5  # magnitude floor (-100 dBFS) so silence on both sides compares as equal
HF_WELCH_NPERSEG = 4096  # ~10.8 Hz bins at 44.1 kHz: sharp enough around the cutoff
HF_MIN_REL_DB = -120.0  # target HF energy below this, re its total, counts as none (rounding)
HF_DB_FLOOR = -200.0  # hf_error_db of a perfect prediction (keeps metrics JSON finite)
_CHUNK_ELEMENTS = 1 << 20  # samples per FFT batch in stft_distance (~8 MB of float64)


def _pair(target: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return both signals as float64 1-D arrays; ValueError if shapes differ or are empty."""
    t = np.asarray(target, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"expected 1-D signals, got shapes {t.shape} and {p.shape}")
    if t.size != p.size:
        raise ValueError(f"target and prediction differ in length ({t.size} vs {p.size} samples)")
    if t.size == 0:
        raise ValueError("target and prediction are empty")
    return t, p


def _check_sr(sr: float) -> None:
    if not sr > 0:
        raise ConfigError(f"sample rate must be positive, got {sr}")


def mae(target: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error, in full-scale units (0 = perfect)."""
    t, p = _pair(target, pred)
    return float(np.mean(np.abs(t - p)))


def r2(target: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res/SS_tot (1 = perfect, 0 = as good as the mean)."""
    t, p = _pair(target, pred)
    ss_tot = float(np.sum(np.square(t - t.mean())))
    if ss_tot == 0.0:
        raise InputError("R² is undefined: the target is constant")
    return 1.0 - float(np.sum(np.square(t - p))) / ss_tot


def esr(target: np.ndarray, pred: np.ndarray) -> float:
    """Error-to-signal ratio sum((t - p)²) / sum(t²), dimensionless (0 = perfect, 1 = silence)."""
    t, p = _pair(target, pred)
    energy = float(np.sum(np.square(t)))
    if energy == 0.0:
        raise InputError("ESR is undefined: the target is digital silence")
    return float(np.sum(np.square(t - p))) / energy


def preemphasis(x: np.ndarray, coeff: float = 0.95) -> np.ndarray:
    """First-order pre-emphasis y[n] = x[n] - coeff·x[n-1] (x[-1] = 0), in float64."""
    x = np.asarray(x, dtype=np.float64)
    y = x.copy()
    y[1:] -= coeff * x[:-1]
    return y


def esr_preemph(target: np.ndarray, pred: np.ndarray, coeff: float = 0.95) -> float:
    """ESR after pre-emphasis of both signals: weights the error towards high frequencies."""
    t, p = _pair(target, pred)
    return esr(preemphasis(t, coeff), preemphasis(p, coeff))


def _padded(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    """Zero-pad the end so that frames of `size` every `hop` samples cover every sample."""
    n_frames = 1 + max(0, -(-(x.size - size) // hop))
    return np.pad(x, (0, (n_frames - 1) * hop + size - x.size))


def stft_distance(
    target: np.ndarray,
    pred: np.ndarray,
    sr: float,
    fft_sizes: tuple[int, ...] = STFT_FFT_SIZES,
) -> float:
    """Multi-resolution STFT log-magnitude distance, in decades (×20 for dB; 0 = perfect).

    For each FFT size N (Hann window, hop N/4, end zero-padded) the magnitudes are scaled so a
    full-scale sine reads 1.0, then the mean over all frames and bins of
    |log10(|T| + eps) - log10(|P| + eps)| is taken (eps = 1e-5, i.e. -100 dBFS); the result is
    the mean over sizes. Frames are transformed in batches, so memory stays bounded for long
    signals. `sr` is only validated: the distance does not depend on it.
    """
    t, p = _pair(target, pred)
    _check_sr(sr)
    if not fft_sizes or any(int(s) < 4 for s in fft_sizes):
        raise ConfigError(f"fft_sizes must be a non-empty list of sizes >= 4, got {fft_sizes}")
    per_size = []
    for size in (int(s) for s in fft_sizes):
        hop = size // 4
        window = scipy.signal.get_window("hann", size)
        scale = 2.0 / window.sum()
        frames_t = np.lib.stride_tricks.sliding_window_view(_padded(t, size, hop), size)[::hop]
        frames_p = np.lib.stride_tricks.sliding_window_view(_padded(p, size, hop), size)[::hop]
        rows = max(1, _CHUNK_ELEMENTS // size)
        total = 0.0
        for start in range(0, frames_t.shape[0], rows):
            mag_t = np.abs(scipy.fft.rfft(frames_t[start : start + rows] * window, axis=1))
            mag_p = np.abs(scipy.fft.rfft(frames_p[start : start + rows] * window, axis=1))
            diff = np.log10(mag_t * scale + STFT_EPS) - np.log10(mag_p * scale + STFT_EPS)
            total += float(np.sum(np.abs(diff)))
        per_size.append(total / (frames_t.shape[0] * (size // 2 + 1)))
    return float(np.mean(per_size))


def _hf_energy(x: np.ndarray, sr: float, cutoff_hz: float) -> tuple[float, float]:
    """Welch power summed over the bins at and above `cutoff_hz`, and over all bins."""
    nperseg = min(HF_WELCH_NPERSEG, x.size)
    freqs, psd = scipy.signal.welch(x, fs=sr, window="hann", nperseg=nperseg, detrend=False)
    return float(np.sum(psd[freqs >= cutoff_hz])), float(np.sum(psd))


def hf_error_ratio(target: np.ndarray, pred: np.ndarray, sr: float, cutoff_hz: float = 8000.0) -> float:
    """Error energy above `cutoff_hz` relative to the target's energy there (0 = perfect).

    Both energies come from the same Welch PSD (Hann, 4096 samples), summed over bins at or
    above the cutoff, so the ratio is dimensionless: aliasing or fizz a model adds up high
    shows here while it barely moves the broadband ESR.
    """
    t, p = _pair(target, pred)
    _check_sr(sr)
    if not 0 < cutoff_hz < sr / 2:
        raise ConfigError(f"hf cutoff must lie between 0 and {sr / 2:g} Hz, got {cutoff_hz:g} Hz")
    reference, total = _hf_energy(t, sr, cutoff_hz)
    if reference <= total * 10.0 ** (HF_MIN_REL_DB / 10.0):
        raise InputError(f"HF error is undefined: the target has no energy above {cutoff_hz:g} Hz")
    return _hf_energy(t - p, sr, cutoff_hz)[0] / reference


def ratio_db(ratio: float) -> float:
    """An energy ratio in dB, floored at HF_DB_FLOOR (-200 dB) so zero stays a finite number."""
    return max(HF_DB_FLOOR, 10.0 * float(np.log10(ratio))) if ratio > 0 else HF_DB_FLOOR


def hf_error_db(target: np.ndarray, pred: np.ndarray, sr: float, cutoff_hz: float = 8000.0) -> float:
    """hf_error_ratio in dB (0 dB = error as loud as the target above the cutoff)."""
    return ratio_db(hf_error_ratio(target, pred, sr, cutoff_hz))


def compute_all(
    target: np.ndarray, pred: np.ndarray, sr: float, hf_cutoff_hz: float = 8000.0
) -> dict[str, float]:
    """Every metric of METRICS computed from the two signals, as a flat dict (mae, r2, esr,
    esr_preemph, stft_distance, hf_error_ratio, hf_error_db), ready to be written as metrics JSON."""
    t, p = _pair(target, pred)
    # The HF ratio first: its checks (rate, cutoff, HF energy in the target) speak before R²'s and ESR's.
    done = {"hf_error_ratio": hf_error_ratio(t, p, sr, hf_cutoff_hz)}
    return {m.name: done[m.name] if m.name in done else m.function(t, p, sr, hf_cutoff_hz)
            for m in METRICS.values() if m.function is not None}


# ----------------------------------------------------------------------------------------------
# The table of metrics: what metrics/<fx>.json holds, and where each entry is shown.


@dataclass(frozen=True)
class Metric:
    """One entry of metrics/<fx>.json.

    function: (target, pred, sample_rate, hf_cutoff_hz) -> value, for the metrics of the two signals
        (`compute_all` runs them); None for those measured elsewhere, named by `source`.
    source: "signals" (here), "capture" (drywet.capture's checks) or "evaluate" (the evaluate stage,
        from the model, its cost and the earlier stages' timings).
    unit: "" when dimensionless; "text" for a word. digits: decimals metrics JSON keeps (None: as
        measured; drywet.capture keeps 4 significant digits). better: "lower", "higher" or "" (neither).
    report: its column in the report's per-effect table (1 first; None: not shown). study: a column of
        the study table. checkpoint: also scored on every checkpoint (metrics/epochs/<fx>.json).
    """

    name: str
    function: Callable[[np.ndarray, np.ndarray, float, float], float] | None
    unit: str
    digits: int | None
    better: str
    source: str = "signals"
    report: int | None = None
    study: bool = False
    checkpoint: bool = False

    @property
    def is_text(self) -> bool:
        return self.unit == "text"


DEFAULT_DIGITS = 6  # a float metrics JSON holds that the table does not name (a knob position's esr_<label>)

# In the order of the study's columns. A new metric: its function above and one line here.
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("macs_per_sample", None, "multiply-adds per sample", None, "lower", "evaluate", report=11, study=True),
    Metric("mae", lambda t, p, sr, hz: mae(t, p), "full scale", 6, "lower", report=5, study=True),
    Metric("r2", lambda t, p, sr, hz: r2(t, p), "", 6, "higher", report=6, study=True),
    Metric("esr", lambda t, p, sr, hz: esr(t, p), "", 6, "lower", report=2, study=True, checkpoint=True),
    Metric("esr_preemph", lambda t, p, sr, hz: esr_preemph(t, p), "", 6, "lower", report=7, study=True),
    Metric("stft_distance", lambda t, p, sr, hz: stft_distance(t, p, sr), "decades", 6, "lower", report=8,
           study=True, checkpoint=True),
    Metric("hf_error_ratio", hf_error_ratio, "", 6, "lower", study=True),
    Metric("hf_error_db", hf_error_db, "dB", 6, "lower", report=9, study=True, checkpoint=True),
    Metric("esr_floor", None, "", None, "lower", "capture", report=3, study=True),
    Metric("noise_floor_dbfs", None, "dBFS", None, "lower", "capture", study=True),
    Metric("repeat_esr", None, "", None, "lower", "capture", report=4, study=True),
    Metric("model_kib", None, "KiB", 1, "lower", "evaluate", study=True),
    Metric("rtf", None, "x real time", 3, "higher", "evaluate", report=12, study=True),
    Metric("rtf_1thread", None, "x real time", 3, "higher", "evaluate", study=True),
    Metric("train_seconds", None, "s", 3, "lower", "evaluate", study=True),
    Metric("test_seconds", None, "s", 3, "", "evaluate", study=True),
    Metric("verdict", None, "text", None, "", "capture", report=1, study=True),
    Metric("exports", None, "text", None, "", "evaluate", study=True),
    Metric("params", None, "weights", None, "", "evaluate", report=10),
    Metric("repeat_seconds", None, "s", None, "", "capture"),
)}

REPORT_KEYS = tuple(sorted((m.name for m in METRICS.values() if m.report), key=lambda k: METRICS[k].report))
STUDY_NUMBERS = tuple(m.name for m in METRICS.values() if m.study and not m.is_text)
STUDY_WORDS = tuple(m.name for m in METRICS.values() if m.study and m.is_text)
CHECKPOINT_KEYS = tuple(m.name for m in METRICS.values() if m.checkpoint)


def rounded(name: str, value):
    """`value` with the decimals METRICS keeps for `name` (DEFAULT_DIGITS for a float it does not name);
    integers, words and None as they are."""
    if not isinstance(value, float):
        return value
    digits = METRICS[name].digits if name in METRICS else DEFAULT_DIGITS
    return value if digits is None else round(value, digits)
