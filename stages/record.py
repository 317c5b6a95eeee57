"""Stage `record@<fx>`: the raw dry/wet recordings, from the virtual bench or the user's folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet import audio
from stages.common import load_params, run, staged_dir, warn, write_json

# Lengths of the two recordings may differ by at most this much before alignment (seconds).
MAX_LENGTH_MISMATCH_S = 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--out", required=True, help="folder for dry.wav and wet.wav")
    ap.add_argument("--truth", required=True, help="JSON with the bench's recording truth (tests only)")
    args = ap.parse_args()
    params = load_params()
    fx = params["effects"][args.effect]
    source = str(fx.get("source", "bench"))
    truth: dict = {"effect": args.effect, "source": source}

    if source == "bench":
        from drywet.bench import run_bench

        b = params["bench"]
        dry, wet, truth_bench = run_bench(args.effect, float(b["duration_s"]), int(b["sample_rate"]),
                                          int(b["oversample"]), float(b["noise_dbfs"]), int(b["seed"]))
        truth.update(truth_bench)
        sr = int(b["sample_rate"])
        dry_name, wet_name = f"bench:{args.effect}/dry", f"bench:{args.effect}/wet"
    else:
        folder = Path(source)
        channel = fx.get("channel")
        dry_name, wet_name = str(folder / "dry.wav"), str(folder / "wet.wav")
        dry, sr = audio.read_wav(dry_name, channel)
        wet, sr_wet = audio.read_wav(wet_name, channel)
        if sr != sr_wet:
            raise audio.InputError(f"{wet_name}: sample rate {sr_wet} Hz differs from {dry_name} ({sr} Hz)")
        if abs(len(dry) - len(wet)) > MAX_LENGTH_MISMATCH_S * sr:
            raise audio.InputError(
                f"{wet_name}: length {len(wet)} differs from dry ({len(dry)}) by more than "
                f"{MAX_LENGTH_MISMATCH_S:g} s; trim the recordings to the same take")

    min_len = int(sr)  # one second: anything shorter cannot be aligned, split and framed
    for x, name in ((dry, dry_name), (wet, wet_name)):
        for message in audio.check_signal(x, name, min_len):
            warn(message)

    with staged_dir(args.out) as tmp:
        audio.write_wav(tmp / "dry.wav", dry, sr)
        audio.write_wav(tmp / "wet.wav", wet, sr)
    write_json(args.truth, truth)
    print(f"{args.effect}: wrote {len(dry) / sr:.1f} s at {sr} Hz from {source}", flush=True)


if __name__ == "__main__":
    run(main)
