"""Stage `export@<fx>`: the model as every plugin file a released plugin loads (exports/<fx>/:
`<fx>.nam`, `<fx>.aidax.json`, `<fx>.proteus.json`, `<fx>.neuralpi.json`, as the model allows) and
`exports.json`: per file the plugins that load it and its test ESR played from the file alone next
to the scored one (they must agree within 1e-4), and per format not written the reason.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drywet import audio, knobs, quiet_tensorflow
from drywet.capture import verdict
from drywet.errors import InputError
from drywet.export.bundle import (
    ESR_AGREEMENT,
    Take,
    build_exports,
    framed_skips,
    highpass_note,
    played_esr,
    plugin_rate,
)
from drywet.export.checks import save_json
from drywet.kinds import plays_in_plugins
from drywet.meta import ModelMeta
from drywet.params import load_effects
from stages.common import run, staged_dir, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--model", required=True, help="model folder")
    ap.add_argument("--split", required=True, help="the split folder (its test_dry.wav / test_wet.wav)")
    ap.add_argument("--metrics", required=True, help="the evaluate stage's metrics/<fx>.json (esr)")
    ap.add_argument("--align", required=True, help="the align stage's metrics/align/<fx>.json (latency)")
    ap.add_argument("--out", required=True, help="folder to write (replaced as a whole)")
    args = ap.parse_args()
    fx = args.effect
    effect = load_effects().get(fx)
    gear = effect.gear if effect is not None else None
    meta = ModelMeta.load(args.model)
    scored = json.loads(Path(args.metrics).read_text())
    esr = float(scored["esr"])
    summary = {"effect": fx, "esr": esr, "formats": {}, "notes": []}
    if not plays_in_plugins(meta.kind):
        summary["skipped"] = framed_skips()
        with staged_dir(args.out) as tmp:
            write_json(tmp / "exports.json", summary)
        print(f"{fx}: no plugin files ({summary['skipped']['nam']})", flush=True)
        return

    from drywet.inference import load_model
    from drywet.kinds import playable

    quiet_tensorflow()
    model, meta = load_model(args.model)
    weights = playable(model, meta)
    align = json.loads(Path(args.align).read_text())
    exports, skipped = build_exports(weights, meta, fx, gear, esr, verdict(esr), _latency(align))
    takes = _takes(Path(args.split), meta)
    summary["skipped"] = skipped
    if meta.highpass_hz:
        summary["notes"].append(highpass_note(meta.highpass_hz, fx))
    with staged_dir(args.out) as tmp:
        for export in exports:
            rate = int(meta.sample_rate)
            play_rate = plugin_rate(export, rate)
            played = played_esr(export, takes, meta.oversample, rate, play_rate)
            # a plugin that runs the model at another rate plays something else: measured, not required
            # relative for a model far off (ESR > 0.1: float32 streaming drifts from the float64 reader)
            tolerance = max(ESR_AGREEMENT, 1e-3 * esr)
            if play_rate == rate and abs(played - esr) > tolerance:
                raise InputError(f"{export.file}: played from the file, test ESR {played:.6f} differs from the "
                                 f"scored {esr:.6f} by more than {tolerance:g}; the export is wrong")
            save_json(export.data, tmp / export.file)
            summary["formats"][export.fmt] = {"file": export.file, "plugins": list(export.plugins),
                                              "plugin_esr": round(played, 6), "esr": esr, "plugin_rate": play_rate,
                                              "notes": list(export.notes)}
        write_json(tmp / "exports.json", summary)
    for entry in summary["formats"].values():
        print(f"{fx}: {entry['file']} loads in {', '.join(entry['plugins'])}; test ESR played from the file "
              f"{entry['plugin_esr']:.6f} (scored {esr:.6f})", flush=True)
    for fmt, reason in skipped.items():
        print(f"{fx}: no {fmt} file: {reason}", flush=True)
    for note in summary["notes"]:
        print(f"{fx}: note: {note}", flush=True)


def _latency(align: dict):
    """latency_samples from the align stage's report (one per position for a knob effect)."""
    if "latency_samples" in align:
        return align["latency_samples"]
    return {label: take["latency_samples"] for label, take in sorted(align.items())}


def _takes(split: Path, meta: ModelMeta) -> list[Take]:
    """The test part of every take, as the predict stage reads it, with its knob values."""
    positions = knobs.read_positions(split)
    out = []
    for i, folder in enumerate(knobs.takes(split, positions)):
        dry, sr = audio.read_wav(folder / "test_dry.wav")
        wet, _ = audio.read_wav(folder / "test_wet.wav")
        if sr != meta.sample_rate:
            raise InputError(f"{folder / 'test_dry.wav'}: {sr} Hz, but the model was trained at {meta.sample_rate} Hz")
        values = () if positions is None else tuple(positions.settings(i)[name] for name in meta.knobs)
        out.append(Take(dry, wet, values))
    return out


if __name__ == "__main__":
    run(main)
