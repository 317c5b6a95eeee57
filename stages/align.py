"""Stage `align@<fx>`: find the wet recording's latency, polarity and gain; write aligned audio."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet import audio
from drywet.align import apply_alignment, check_lengths, estimate_alignment
from stages.common import load_params, run, staged_dir, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", required=True, help="folder with dry.wav and wet.wav")
    ap.add_argument("--out", required=True, help="folder for the aligned dry.wav and wet.wav")
    ap.add_argument("--metrics", required=True, help="alignment report (JSON)")
    args = ap.parse_args()
    p = load_params()["align"]
    raw = Path(args.raw)
    dry, sr = audio.read_wav(raw / "dry.wav")
    wet, sr_wet = audio.read_wav(raw / "wet.wav")
    if sr != sr_wet:
        raise audio.InputError(f"{raw / 'wet.wav'}: sample rate {sr_wet} Hz differs from dry ({sr} Hz)")
    max_latency = float(p["max_latency_ms"])
    check_lengths(len(dry), len(wet), int(round(max_latency * 1e-3 * sr)), str(raw / "wet.wav"))

    found = estimate_alignment(dry, wet, sr, max_latency, float(p["min_correlation"]), bool(p["subsample"]))
    dry_a, wet_a = apply_alignment(dry, wet, found)
    with staged_dir(args.out) as tmp:
        audio.write_wav(tmp / "dry.wav", dry_a, sr)
        audio.write_wav(tmp / "wet.wav", wet_a, sr)
    report = {
        "latency_samples": round(float(found.latency_samples), 4),
        "latency_ms": round(float(found.latency_ms), 4),
        "polarity": int(found.polarity),
        "peak_correlation": round(float(found.peak_correlation), 5),
        "gain_db": round(float(found.gain_db), 3),
        "aligned_seconds": round(len(dry_a) / sr, 3),
        "sample_rate": int(sr),
    }
    write_json(args.metrics, report)
    print(f"aligned: latency {report['latency_samples']} samples ({report['latency_ms']} ms), "
          f"polarity {report['polarity']:+d}, correlation {report['peak_correlation']}", flush=True)


if __name__ == "__main__":
    run(main)
