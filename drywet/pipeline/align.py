"""Stage `align@<fx>`: clean up (DC, sub-sonic drift), find the wet recording's latency, polarity
and gain, and write the aligned audio and the alignment report.

A knob-conditioned effect's takes (one subfolder per knob position, see drywet.knobs) are aligned
one by one; its report then holds one entry per position, named by the position's label."""

from __future__ import annotations

import math
from pathlib import Path

from drywet import audio, capture, knobs
from drywet.align import align_pair, check_lengths, search_range_samples
from drywet.config import AlignParams
from drywet.errors import InputError
from drywet.pipeline.contracts import AlignFile, AlignReport, CleanInfo
from drywet.pipeline.outputs import staged_dir, warn


def align(raw: Path, out: Path, metrics: Path, p: AlignParams) -> AlignFile:
    """Align every take under `raw` into the folder `out` (replaced as a whole); the report goes to
    `metrics` (metrics/align/<fx>.json) and is returned."""
    positions = knobs.read_positions(raw)  # None: a plain effect
    reports = {}
    with staged_dir(out) as tmp:
        for take in knobs.takes(raw, positions):
            sub = take.relative_to(raw)
            (tmp / sub).mkdir(exist_ok=True)
            reports[str(sub)] = align_take(take, tmp / sub, p)
        knobs.write_positions(tmp, positions)
    found = AlignFile(reports)
    found.save(metrics)
    for sub, report in reports.items():
        print(f"aligned{'' if sub == '.' else ' ' + sub}: latency {report.latency_samples} samples "
              f"({report.latency_ms} ms, {report.latency_source}), polarity {report.polarity:+d}, peak "
              f"clarity {report.peak_clarity_db} dB, correlation {report.peak_correlation}", flush=True)
    return found


def align_take(raw: Path, out: Path, p: AlignParams) -> AlignReport:
    """Align one take (raw/dry.wav, raw/wet.wav) into `out`; returns its alignment report."""
    dry, sr = audio.read_wav(raw / "dry.wav")
    wet, sr_wet = audio.read_wav(raw / "wet.wav")
    if sr != sr_wet:
        raise InputError(f"{raw / 'wet.wav'}: sample rate {sr_wet} Hz differs from dry ({sr} Hz)")
    check_lengths(len(dry), len(wet), search_range_samples(p.max_latency_ms, sr), str(raw / "wet.wav"), sr)

    dry_a, wet_a, found, cleanup = align_pair(dry, wet, sr, p)
    if cleanup.wet_full_scale_fraction > audio.CLIP_WARN_FRACTION:
        warn(f"{raw / 'wet.wav'}: {100 * cleanup.wet_full_scale_fraction:.2f}% of samples are clipped at full scale")
    audio.write_wav(out / "dry.wav", dry_a, sr)
    audio.write_wav(out / "wet.wav", wet_a, sr)
    # What a model trained on this audio expects of new input: the same clean-up high-pass, or none.
    dry_hp = float(p.highpass_hz) if p.highpass_dry else 0.0
    CleanInfo(highpass_hz=dry_hp, sample_rate=int(sr)).save(out)
    return AlignReport(
        latency_samples=round(float(found.latency_samples), 4),
        latency_ms=round(float(found.latency_ms), 4),
        latency_source="auto" if p.latency == "auto" else "manual",
        polarity=int(found.polarity),
        peak_correlation=round(float(found.peak_correlation), 5),
        peak_clarity_db=round(found.peak_clarity_db, 2) if math.isfinite(found.peak_clarity_db) else None,
        gain_db=round(float(found.gain_db), 3),
        dc_dry=round(cleanup.dc_dry, 6),
        dc_wet=round(cleanup.dc_wet, 6),
        wet_full_scale_fraction=round(cleanup.wet_full_scale_fraction, 6),
        highpass_hz=float(p.highpass_hz),
        highpass_dry=bool(p.highpass_dry),
        aligned_seconds=round(len(dry_a) / sr, 3),
        # The best ESR a model can reach on this take (what `check` reports from the same audio).
        esr_floor=capture.sig(capture.esr_floor(dry_a, wet_a, sr)),
        noise_floor_dbfs=capture.sig(capture.noise_floor_dbfs(wet_a, sr)),
        sample_rate=int(sr),
    )
