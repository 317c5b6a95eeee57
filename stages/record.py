"""Stage `record@<fx>`: the raw dry/wet recordings, from the virtual bench or the user's folder.

A knob-conditioned effect (`effects.<fx>.knobs`) gets one take per knob position, each in a subfolder
named by its label beside `knobs.json`: the bench records its stand-in at each setting from the same
dry take; your own recordings come from each position's folder under the effect's `source`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet import audio, knobs
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
    positions = knobs.from_params(fx)  # None: a plain effect, one take
    truth: dict = {"source": source}
    recorded = []  # (subfolder, dry, wet, sr, dry name, wet name), one per take

    if source == "bench":
        from drywet.bench import record_dry, record_wet

        b = load_section(BenchParams)
        sr = b.sample_rate
        dry = record_dry(b.duration_s, sr, b.noise_dbfs, b.seed)  # one dry take, played at every setting
        for sub, knob in _settings(positions):
            wet, truth_bench = record_wet(fx.bench_pedal, dry, sr, b.oversample, b.noise_dbfs, b.seed,
                                          gain=knob.get("gain"))
            name = f"bench:{fx.bench_pedal}" + (f"@{sub}" if sub else "")
            recorded.append((sub, dry, wet, sr, f"{name}/dry", f"{name}/wet"))
            truth.update({k: v for k, v in truth_bench.items() if k != "gain"})  # one chain for every take
            if sub:
                truth.setdefault("positions", {})[sub] = truth_bench
        truth["pedal"] = fx.bench_pedal
    else:
        folders = [Path(source)] if positions is None else [Path(source) / p.folder for p in fx.knobs]
        for (sub, _), folder in zip(_settings(positions), folders, strict=True):
            recorded.append((sub, *_read_pair(folder, fx.channel)))
    truth["effect"] = args.effect

    for _, dry, wet, sr, dry_name, wet_name in recorded:
        min_len = int(sr)  # one second: anything shorter cannot be aligned, split and framed
        for x, name in ((dry, dry_name), (wet, wet_name)):
            for message in audio.check_signal(x, name, min_len):
                warn(message)
    rates = {r[3] for r in recorded}
    if len(rates) > 1:
        raise audio.InputError(f"{recorded[0][4]}: the knob positions' recordings differ in sample rate "
                               f"({', '.join(f'{r} Hz' for r in sorted(rates))})")

    with staged_dir(args.out) as tmp:
        for sub, dry, wet, sr, _, _ in recorded:
            (tmp / sub).mkdir(exist_ok=True)
            audio.write_wav(tmp / sub / "dry.wav", dry, sr)
            audio.write_wav(tmp / sub / "wet.wav", wet, sr)
        knobs.write_positions(tmp, positions)
    write_json(args.truth, truth)
    sr = recorded[0][3]
    takes = "" if positions is None else f" at {len(positions)} knob positions ({positions.describe()})"
    print(f"{args.effect}: wrote {len(recorded[0][1]) / sr:.1f} s at {sr} Hz from {source}{takes}", flush=True)


def _settings(positions: knobs.Positions | None) -> list[tuple[str, dict[str, float]]]:
    """(subfolder, knob values) per take: ("", {}) for a plain effect."""
    if positions is None:
        return [("", {})]
    return [(label, positions.settings(i)) for i, label in enumerate(positions.labels)]


def _read_pair(folder: Path, channel: int | None):
    """dry, wet, sample rate and the two file names of a user's recording folder, checked."""
    dry_name, wet_name = str(folder / "dry.wav"), str(folder / "wet.wav")
    dry, sr = audio.read_wav(dry_name, channel)
    wet, sr_wet = audio.read_wav(wet_name, channel)
    if sr != sr_wet:
        raise audio.InputError(f"{wet_name}: sample rate {sr_wet} Hz differs from {dry_name} ({sr} Hz)")
    if abs(len(dry) - len(wet)) > MAX_LENGTH_MISMATCH_S * sr:
        raise audio.InputError(
            f"{wet_name}: length {len(wet)} differs from dry ({len(dry)}) by more than "
            f"{MAX_LENGTH_MISMATCH_S:g} s; trim the recordings to the same take")
    return dry, wet, sr, dry_name, wet_name


if __name__ == "__main__":
    run(main)
