"""Stage `record@<fx>`: the raw dry/wet recordings, from the virtual bench or the user's folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet import audio
from drywet.errors import ConfigError
from drywet.params import BenchParams, load_effects, load_section
from stages.common import run, staged_dir, warn, write_json

# Lengths of the two recordings may differ by at most this much before alignment (seconds).
MAX_LENGTH_MISMATCH_S = 1.0


def main() -> None:
    # Every effect name is checked first: a name that cannot be a folder or a DVC stage key is one
    # `error:` line, even when it broke the command line DVC built from it.
    effects = load_effects()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--out", required=True, help="folder for dry.wav and wet.wav")
    ap.add_argument("--truth", required=True, help="JSON with the bench's recording truth (tests only)")
    args = ap.parse_args()
    if args.effect not in effects:
        raise ConfigError(f"params.yaml: effects has no {args.effect!r} (it has {', '.join(effects)})")
    fx = effects[args.effect]
    source = fx.source
    truth: dict = {"source": source}

    if source == "bench":
        from drywet.bench import run_bench

        b = load_section(BenchParams)
        dry, wet, truth_bench = run_bench(fx.bench_pedal, b.duration_s, b.sample_rate, b.oversample,
                                          b.noise_dbfs, b.seed)
        truth.update(truth_bench)
        truth["pedal"] = fx.bench_pedal
        sr = b.sample_rate
        dry_name, wet_name = f"bench:{fx.bench_pedal}/dry", f"bench:{fx.bench_pedal}/wet"
    else:
        folder = Path(source)
        dry_name, wet_name = str(folder / "dry.wav"), str(folder / "wet.wav")
        dry, sr = audio.read_wav(dry_name, fx.channel)
        wet, sr_wet = audio.read_wav(wet_name, fx.channel)
        if sr != sr_wet:
            raise audio.InputError(f"{wet_name}: sample rate {sr_wet} Hz differs from {dry_name} ({sr} Hz)")
        if abs(len(dry) - len(wet)) > MAX_LENGTH_MISMATCH_S * sr:
            raise audio.InputError(
                f"{wet_name}: length {len(wet)} differs from dry ({len(dry)}) by more than "
                f"{MAX_LENGTH_MISMATCH_S:g} s; trim the recordings to the same take")
    truth["effect"] = args.effect

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
