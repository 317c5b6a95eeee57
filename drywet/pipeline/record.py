"""Stage `record@<fx>`: the raw dry/wet recordings, from the virtual bench or the user's folder.

A knob-conditioned effect (`effects.<fx>.knobs`) gets one take per knob position, each in a subfolder
named by its label beside `knobs.json`: the bench records its stand-in at each setting from the same
dry take; your own recordings come from each position's folder under the effect's `source`.
"""

from __future__ import annotations

from pathlib import Path

from drywet import audio, knobs
from drywet.config import BenchParams, EffectParams
from drywet.fileio import write_json
from drywet.pipeline.outputs import staged_dir, warn

# Lengths of the two recordings may differ by at most this much before alignment (seconds).
MAX_LENGTH_MISMATCH_S = 1.0


def record(name: str, fx: EffectParams, out: Path, truth_path: Path, bench: BenchParams | None) -> None:
    """Write effect `name`'s takes (dry.wav, wet.wav) into the folder `out` (replaced as a whole) and
    the bench's recording truth (tests only) to `truth_path`; `bench` is needed for a bench source."""
    source = fx.source
    positions = knobs.from_params(fx)  # None: a plain effect, one take
    truth: dict = {"source": source}
    recorded = []  # (subfolder, dry, wet, sr, dry name, wet name), one per take

    if source == "bench":
        from drywet.bench import record_dry, record_wet

        b = bench
        sr = b.sample_rate
        dry = record_dry(b.duration_s, sr, b.noise_dbfs, b.seed)  # one dry take, played at every setting
        for sub, knob in _settings(positions):
            wet, truth_bench = record_wet(fx.bench_pedal, dry, sr, b.oversample, b.noise_dbfs, b.seed,
                                          gain=knob.get("gain"))
            take = f"bench:{fx.bench_pedal}" + (f"@{sub}" if sub else "")
            recorded.append((sub, dry, wet, sr, f"{take}/dry", f"{take}/wet"))
            truth.update({k: v for k, v in truth_bench.items() if k != "gain"})  # one chain for every take
            if sub:
                truth.setdefault("positions", {})[sub] = truth_bench
        truth["pedal"] = fx.bench_pedal
    else:
        folders = [Path(source)] if positions is None else [Path(source) / p.folder for p in fx.knobs]
        for (sub, _), folder in zip(_settings(positions), folders, strict=True):
            recorded.append((sub, *_read_pair(folder, fx.channel)))
    truth["effect"] = name

    for _, dry, wet, sr, dry_name, wet_name in recorded:
        min_len = int(sr)  # one second: anything shorter cannot be aligned, split and framed
        for x, label in ((dry, dry_name), (wet, wet_name)):
            for message in audio.check_signal(x, label, min_len):
                warn(message)
    rates = {r[3] for r in recorded}
    if len(rates) > 1:
        raise audio.InputError(f"{recorded[0][4]}: the knob positions' recordings differ in sample rate "
                               f"({', '.join(f'{r} Hz' for r in sorted(rates))})")

    with staged_dir(out) as tmp:
        for sub, dry, wet, sr, _, _ in recorded:
            (tmp / sub).mkdir(exist_ok=True)
            audio.write_wav(tmp / sub / "dry.wav", dry, sr)
            audio.write_wav(tmp / sub / "wet.wav", wet, sr)
        knobs.write_positions(tmp, positions)
    write_json(truth_path, truth)
    sr = recorded[0][3]
    takes = "" if positions is None else f" at {len(positions)} knob positions ({positions.describe()})"
    print(f"{name}: wrote {len(recorded[0][1]) / sr:.1f} s at {sr} Hz from {source}{takes}", flush=True)


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
