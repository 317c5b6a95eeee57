"""Read, write and validate WAV files; the one module that touches audio files."""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from drywet.errors import InputError
from drywet.fileio import atomic_write

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
    x = np.ascontiguousarray(data[:, _channel_index(path, data.shape[1], channel)], dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{path}: contains NaN or infinite samples")
    return x, int(sr)


def _channel_index(path: Path, n_ch: int, channel: int | None) -> int:
    """The channel to read: the only one, or `channel`; InputError otherwise."""
    if channel is None:
        if n_ch != 1:
            raise InputError(
                f"{path}: has {n_ch} channels; expected mono (or set the effect's 'channel' param)"
            )
        return 0
    if not 0 <= channel < n_ch:
        raise InputError(f"{path}: channel {channel} requested but the file has {n_ch} channels")
    return channel


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file's header says: its length (frames), rate (Hz) and channels."""

    frames: int
    sample_rate: int
    channels: int


def info(path: str | os.PathLike) -> AudioInfo:
    """An audio file's length, rate and channels, without reading the samples; InputError when the
    file is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        found = sf.info(str(path))
    except Exception as exc:  # soundfile raises several types for broken files
        raise InputError(f"{path}: unreadable audio file ({exc})") from None
    return AudioInfo(int(found.frames), int(found.samplerate), int(found.channels))


def wav_info(path: str | os.PathLike, channel: int | None = None) -> tuple[int, int]:
    """(frames, sample rate) of an audio file, with `read_wav`'s checks of the file and the channel,
    without reading the samples."""
    found = info(path)
    _channel_index(Path(path), found.channels, channel)
    return found.frames, found.sample_rate


def read_channels(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Every channel of an audio file as stored, (frames, channels) float64, and its rate; no checks
    of the samples (for comparing two files)."""
    try:
        data, sr = sf.read(str(path), always_2d=True)
    except Exception as exc:  # soundfile raises several types for broken files
        raise InputError(f"{path}: unreadable audio file ({exc})") from None
    return data, int(sr)


def read_wav_blocks(path: str | os.PathLike, channel: int | None = None,
                    block: int = 1 << 16) -> Iterator[np.ndarray]:
    """`read_wav`'s samples as float32 mono blocks of `block` frames (the last one shorter), one block
    in memory at a time; the same checks, a non-finite sample reported when its block is reached."""
    path = Path(path)
    wav_info(path, channel)
    try:
        with sf.SoundFile(str(path)) as f:
            index = _channel_index(path, f.channels, channel)
            while True:
                data = f.read(block, dtype="float32", always_2d=True)
                if not data.shape[0]:
                    return
                x = np.ascontiguousarray(data[:, index])
                if not np.all(np.isfinite(x)):
                    raise InputError(f"{path}: contains NaN or infinite samples")
                yield x
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise InputError(f"{path}: unreadable audio file ({exc})") from None


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


def float_wav_bytes(x: np.ndarray, sr: int) -> bytes:
    """A mono 32-bit IEEE-float WAV file as bytes: `fmt `, `fact` and `data` chunks only.

    libsndfile adds a PEAK chunk holding a timestamp to every float WAV, so the same samples would
    give different bytes on every run and DVC would rerun everything downstream; this writer's
    output depends on the samples and the rate alone.
    """
    data = np.ascontiguousarray(x, dtype="<f4").tobytes()
    return _float_wav_header(len(data) // 4, sr) + data


def _float_wav_header(frames: int, sr: int) -> bytes:
    """Everything before the samples in `float_wav_bytes`'s file of `frames` mono samples."""
    size = 4 * int(frames)
    fmt = struct.pack("<HHIIHHH", 3, 1, int(sr), int(sr) * 4, 4, 32, 0)  # IEEE float, mono, cbSize 0
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"fact" + struct.pack("<II", 4, int(frames))
    chunks += b"data" + struct.pack("<I", size)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks) + size) + b"WAVE" + chunks


def pcm16_wav_bytes(x: np.ndarray, sr: int) -> bytes:
    """A 16-bit PCM WAV file of `x` (1-D mono or frames x channels, full scale = 1.0) as bytes."""
    buf = io.BytesIO()
    sf.write(buf, x, int(sr), format="WAV", subtype="PCM_16")
    return buf.getvalue()


def write_wav(path: str | os.PathLike, x: np.ndarray, sr: int, subtype: str = "FLOAT") -> None:
    """Write mono audio atomically (temp file + rename), byte-stable: the same samples always give
    the same file. `FLOAT` (32-bit float, the default) or a PCM subtype (`PCM_16`, `PCM_24`)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"write_wav writes mono audio; got shape {x.shape}")
    if subtype == "FLOAT":
        payload = float_wav_bytes(x, sr)
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(payload), ".wav")
    else:  # libsndfile writes no PEAK chunk (no timestamp) for PCM
        atomic_write(path, lambda tmp: sf.write(tmp, x, int(sr), subtype=subtype, format="WAV"), ".wav")


def write_wav_blocks(path: str | os.PathLike, blocks: Iterable[np.ndarray], frames: int, sr: int) -> None:
    """Write mono float32 `blocks`, `frames` samples in all, as one float WAV, atomically: the same
    bytes as `write_wav` of the joined blocks, one block in memory at a time. The blocks are drawn
    while the file is written, so an error in making them leaves no file."""

    def write(tmp: str) -> None:
        done = 0
        with open(tmp, "wb") as f:
            f.write(_float_wav_header(frames, sr))
            for block in blocks:
                data = np.ascontiguousarray(block, dtype="<f4").ravel()
                done += data.size
                if done > frames:
                    break
                f.write(data.data)
        if done != frames:
            raise ValueError(f"write_wav_blocks: {frames} samples announced, {done} given")

    atomic_write(path, write, ".wav")


def loudest_window_start(x: np.ndarray, length: int, lo: int = 0, hi: int | None = None, hop: int = 1) -> int:
    """Start index of the `length`-sample window within x[lo:hi] with the most energy.

    Candidate starts are lo, lo + hop, ...; the first of the loudest wins. Cumulative sums carry
    rounding error of order eps x total energy, so windows within that of the maximum count as ties
    and the pick does not depend on where the rounding fell. A 2-D `x` (samples x channels) sums
    the channels' energy.
    """
    hi = x.shape[0] if hi is None else min(hi, x.shape[0])
    length = min(int(length), hi - lo)
    if length <= 0 or length >= hi - lo:
        return lo
    power = np.square(np.asarray(x[lo:hi]), dtype=np.float64)
    if power.ndim > 1:
        power = power.sum(axis=tuple(range(1, power.ndim)))
    energy = np.concatenate(([0.0], np.cumsum(power)))
    starts = np.arange(0, hi - lo - length + 1, max(1, int(hop)))
    window = energy[starts + length] - energy[starts]
    tol = 1e-9 * max(float(energy[-1]), np.finfo(np.float64).tiny)
    return lo + int(starts[np.flatnonzero(window >= window.max() - tol)[0]])


def loudest_part_window(x: np.ndarray, bounds: np.ndarray, length: int) -> tuple[int, int]:
    """(part, start) of the `length`-sample window of `x` with the most energy that lies inside one
    of the parts [bounds[i], bounds[i + 1]) laid end to end in `x` (knob positions, for instance);
    the first of equally loud parts wins."""
    starts = [loudest_window_start(x, length, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    energy = [float(np.sum(np.square(x[s:s + length], dtype=np.float64))) for s in starts]
    at = int(np.argmax(energy))
    return at, starts[at]
