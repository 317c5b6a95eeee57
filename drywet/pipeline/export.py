"""Stage `export@<fx>`: the model as every plugin file a released plugin loads (exports/<fx>/:
`<fx>.nam`, `<fx>.aidax.json`, `<fx>.proteus.json`, `<fx>.neuralpi.json`, as the model allows) and
`exports.json`: per file the plugins that load it and its test ESR played from the file alone next
to the scored one (they must agree within 1e-4), per plugin the test ESR as it plays the file with its
default settings (`played`), and per format not written the reason.
"""

from __future__ import annotations

from pathlib import Path

from drywet import audio, knobs, metrics, quiet_tensorflow
from drywet.capture import verdict
from drywet.config import GearParams
from drywet.errors import InputError
from drywet.export.bundle import (
    ESR_AGREEMENT,
    Take,
    build_exports,
    framed_skips,
    highpass_note,
    played,
    played_by_plugins,
    plugin_rate,
    wet_of,
)
from drywet.export.checks import save_json
from drywet.kinds import plays_in_plugins
from drywet.meta import ModelMeta
from drywet.pipeline.contracts import AlignFile, ExportsSummary, QualityMetrics
from drywet.pipeline.outputs import staged_dir


def export(fx: str, gear: GearParams | None, model_dir: Path, split: Path, metrics_path: Path, align_path: Path,
           out: Path) -> ExportsSummary:
    """Write effect `fx`'s plugin files and exports.json into the folder `out` (replaced as a whole):
    the model in `model_dir`, played on the test part of the takes under `split`; its scored ESR from
    `metrics_path` (metrics/<fx>.json), its latency from `align_path` (metrics/align/<fx>.json)."""
    meta = ModelMeta.load(model_dir)
    esr = QualityMetrics.load(metrics_path).esr
    summary = {"effect": fx, "esr": esr, "formats": {}, "notes": []}
    if not plays_in_plugins(meta.kind):
        summary["skipped"] = framed_skips()
        with staged_dir(out) as tmp:
            ExportsSummary(**summary).save(tmp)
        print(f"{fx}: no plugin files ({summary['skipped']['nam']})", flush=True)
        return ExportsSummary(**summary)

    from drywet.inference import load_model
    from drywet.kinds import playable

    quiet_tensorflow()
    model, meta = load_model(model_dir)
    weights = playable(model, meta)
    align = AlignFile.load(align_path)
    exports, skipped = build_exports(weights, meta, fx, gear, esr, verdict(esr), align.latency_samples)
    takes = _takes(split, meta)
    summary["skipped"] = skipped
    if meta.highpass_hz:
        summary["notes"].append(highpass_note(meta.highpass_hz, fx))
    with staged_dir(out) as tmp:
        for export in exports:
            rate = int(meta.sample_rate)
            play_rate = plugin_rate(export, rate)
            alone = played(export, takes, meta.oversample, rate, play_rate)
            plugin_esr = metrics.esr(wet_of(takes), alone)
            # a plugin that runs the model at another rate plays something else: measured, not required
            # relative for a model far off (ESR > 0.1: float32 streaming drifts from the float64 reader)
            tolerance = max(ESR_AGREEMENT, 1e-3 * esr)
            if play_rate == rate and abs(plugin_esr - esr) > tolerance:
                raise InputError(f"{export.file}: played from the file, test ESR {plugin_esr:.6f} differs from the "
                                 f"scored {esr:.6f} by more than {tolerance:g}; the export is wrong")
            save_json(export.data, tmp / export.file)
            summary["formats"][export.fmt] = {"file": export.file, "plugins": list(export.plugins),
                                              "plugin_esr": round(plugin_esr, 6), "esr": esr, "plugin_rate": play_rate,
                                              "notes": list(export.notes),
                                              "played": played_by_plugins(export, takes, alone, meta.oversample, rate,
                                                                          play_rate)}
        ExportsSummary(**summary).save(tmp)
    for entry in summary["formats"].values():
        print(f"{fx}: {entry['file']} loads in {', '.join(entry['plugins'])}; test ESR played from the file "
              f"{entry['plugin_esr']:.6f} (scored {esr:.6f})", flush=True)
        for plugin, heard in entry["played"].items():
            print(f"{fx}: {plugin} with its default settings: test ESR {heard['esr']:.6g} ({heard['vs_model']:.4g} "
                  "from the model alone)", flush=True)
    for fmt, reason in skipped.items():
        print(f"{fx}: no {fmt} file: {reason}", flush=True)
    for note in summary["notes"]:
        print(f"{fx}: note: {note}", flush=True)
    return ExportsSummary(**summary)


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
