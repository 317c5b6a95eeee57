"""Read, write and validate WAV files; the one module that touches audio files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from drywet.errors import InputError

SILENCE_DBFS = -60.0  # RMS below this counts as silent / near-silent input
CLIP_LEVEL = 0.999  # |x| at or above this counts as clipped at full scale
CLIP_WARN_FRACTION = 1e-3  # fraction of clipped samples that triggers a warning


def read_wav(path: str | os.PathLike, channel: int | None = None) -> tuple[np.ndarray, int]:
    """Read a WAV as float32 mono; `channel` picks one channel of a multi-channel file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for broken files
        raise InputError(f"{path}: unreadable audio file ({exc})") from None
    n_ch = data.shape[1]
    if channel is None:
        if n_ch != 1:
            raise InputError(
                f"{path}: has {n_ch} channels; expected mono (or set the effect's 'channel' param)"
            )
        x = data[:, 0]
    else:
        if not 0 <= channel < n_ch:
            raise InputError(f"{path}: channel {channel} requested but the file has {n_ch} channels")
        x = data[:, channel]
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{path}: contains NaN or infinite samples")
    return x, int(sr)


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level in dBFS (full scale = 1.0); -inf for digital silence."""
    if x.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def check_signal(x: np.ndarray, name: str, min_samples: int) -> list[str]:
    """Raise InputError for a too short, silent, or non-finite signal; return warnings (clipping)."""
    if x.size < min_samples:
        raise InputError(f"{name}: too short ({x.size} samples; at least {min_samples} needed)")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name}: contains NaN or infinite samples")
    level = rms_dbfs(x)
    if level < SILENCE_DBFS:
        raise InputError(f"{name}: silent or near-silent (RMS {level:.1f} dBFS < {SILENCE_DBFS:.0f} dBFS)")
    warnings = []
    clipped = float(np.mean(np.abs(x) >= CLIP_LEVEL))
    if clipped > CLIP_WARN_FRACTION:
        warnings.append(f"{name}: {100 * clipped:.2f}% of samples are clipped at full scale")
    return warnings


def write_wav(path: str | os.PathLike, x: np.ndarray, sr: int, subtype: str = "FLOAT") -> None:
    """Write mono float audio atomically (temp file + rename) so no half-written WAV remains."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, np.asarray(x, dtype=np.float32), int(sr), subtype=subtype)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def loudest_window_start(x: np.ndarray, length: int) -> int:
    """Start index of the `length`-sample window with the most energy (first one on ties)."""
    if length >= len(x):
        return 0
    energy = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
    window = energy[length:] - energy[:-length]
    return int(np.argmax(window))
