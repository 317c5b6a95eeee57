"""Stage `align@<fx>`: clean up (DC, sub-sonic drift), find the wet recording's latency, polarity
and gain, and write the aligned audio and the alignment report.

A knob-conditioned effect's takes (one subfolder per knob position, see drywet.knobs) are aligned
one by one; its report then holds one entry per position, named by the position's label."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from drywet import audio, knobs
from drywet.align import align_pair, check_lengths
from drywet.errors import InputError
from drywet.fileio import write_json
from drywet.params import AlignParams, load_section
from stages.common import run, staged_dir, warn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", default=None, help="effect name (its `effects.<fx>.align` overrides apply)")
    ap.add_argument("--raw", required=True, help="folder with dry.wav and wet.wav")
    ap.add_argument("--out", required=True, help="folder for the aligned dry.wav and wet.wav")
    ap.add_argument("--metrics", required=True, help="alignment report (JSON)")
    args = ap.parse_args()
    p = load_section(AlignParams, effect=args.effect)
    raw = Path(args.raw)
    positions = knobs.read_positions(raw)  # None: a plain effect
    reports = {}
    with staged_dir(args.out) as tmp:
        for take in knobs.takes(raw, positions):
            sub = take.relative_to(raw)
            (tmp / sub).mkdir(exist_ok=True)
            reports[str(sub)] = align_take(take, tmp / sub, p)
        knobs.write_positions(tmp, positions)
    write_json(args.metrics, reports["."] if positions is None else reports)
    for sub, report in reports.items():
        print(f"aligned{'' if sub == '.' else ' ' + sub}: latency {report['latency_samples']} samples "
              f"({report['latency_ms']} ms, {report['latency_source']}), polarity {report['polarity']:+d}, peak "
              f"clarity {report['peak_clarity_db']} dB, correlation {report['peak_correlation']}", flush=True)


def align_take(raw: Path, out: Path, p: AlignParams) -> dict:
    """Align one take (raw/dry.wav, raw/wet.wav) into `out`; returns its alignment report."""
    dry, sr = audio.read_wav(raw / "dry.wav")
    wet, sr_wet = audio.read_wav(raw / "wet.wav")
    if sr != sr_wet:
        raise InputError(f"{raw / 'wet.wav'}: sample rate {sr_wet} Hz differs from dry ({sr} Hz)")
    check_lengths(len(dry), len(wet), int(round(p.max_latency_ms * 1e-3 * sr)), str(raw / "wet.wav"))

    dry_a, wet_a, found, cleanup = align_pair(dry, wet, sr, p)
    if cleanup.wet_full_scale_fraction > audio.CLIP_WARN_FRACTION:
        warn(f"{raw / 'wet.wav'}: {100 * cleanup.wet_full_scale_fraction:.2f}% of samples are clipped at full scale")
    audio.write_wav(out / "dry.wav", dry_a, sr)
    audio.write_wav(out / "wet.wav", wet_a, sr)
    # What a model trained on this audio expects of new input: the same clean-up high-pass, or none.
    dry_hp = float(p.highpass_hz) if p.highpass_dry else 0.0
    write_json(out / "clean.json", {"highpass_hz": dry_hp, "sample_rate": int(sr)})
    return {
        "latency_samples": round(float(found.latency_samples), 4),
        "latency_ms": round(float(found.latency_ms), 4),
        "latency_source": "auto" if p.latency == "auto" else "manual",
        "polarity": int(found.polarity),
        "peak_correlation": round(float(found.peak_correlation), 5),
        "peak_clarity_db": round(found.peak_clarity_db, 2) if math.isfinite(found.peak_clarity_db) else None,
        "gain_db": round(float(found.gain_db), 3),
        "dc_dry": round(cleanup.dc_dry, 6),
        "dc_wet": round(cleanup.dc_wet, 6),
        "wet_full_scale_fraction": round(cleanup.wet_full_scale_fraction, 6),
        "highpass_hz": float(p.highpass_hz),
        "highpass_dry": bool(p.highpass_dry),
        "aligned_seconds": round(len(dry_a) / sr, 3),
        "sample_rate": int(sr),
    }


if __name__ == "__main__":
    run(main)
