"""`python -m drywet export --format FORMAT MODEL OUT`: a sequence model (or WaveNet) written as a
plugin's model file, with the same metadata as the export stage's files where this folder's
params.yaml and metrics/ hold it."""

from __future__ import annotations

from pathlib import Path

from drywet.app.model_file import load
from drywet.errors import InputError


def run(args) -> int:
    """`export`: the model as the plugin format's file, with the export stage's metadata; prints which
    plugins load it."""
    from drywet.capture import verdict
    from drywet.config import PARAMS_FILE, load_effects
    from drywet.export import export_model, get_format, model_rate, save_json
    from drywet.export.bundle import provenance
    from drywet.export.plugins import notes, refusal
    from drywet.lstm.weights import SequenceWeights
    from drywet.pipeline.contracts import AlignFile, QualityMetrics

    fmt = args.format
    form = get_format(fmt)  # an unknown name stops here, before the model is loaded
    if fmt != "nam" and args.tone_type:
        raise InputError("--tone-type applies to --format nam only")
    model, meta = load(args.model)
    # the same metadata as the export stage's files (`provenance`): the effect's gear, test ESR and latency
    # where this folder's params.yaml and metrics/ hold them, else unknown (null)
    effect = load_effects().get(meta.effect) if Path(PARAMS_FILE).is_file() else None
    metrics_path = Path(args.metrics or f"metrics/{meta.effect}.json")
    align_path = Path(f"metrics/align/{meta.effect}.json")
    esr = QualityMetrics.load(metrics_path).esr if metrics_path.is_file() else None
    latency = AlignFile.load(align_path).latency_samples if align_path.is_file() else None
    about = provenance(meta, meta.effect, getattr(effect, "gear", None), esr, None if esr is None else verdict(esr),
                       latency)
    # the training run's own record (kind, epochs, knobs, ...), kept apart from the format's fields
    extra = {"effect": meta.effect, "structure": meta.structure, "drywet": meta.to_dict()}
    extra.update({"name": args.name} if args.name else {})
    if fmt == "nam":
        extra.update({"tone_type": args.tone_type} if args.tone_type else {})
        extra.update({} if getattr(about.gear, "modeled_by", None) else {"modeled_by": "drywet"})
    rate = model_rate(meta)
    data = export_model(model, fmt, rate, form.file_metadata(about, extra), meta)
    data = form.finish(data)  # .nam: loudness and gain, as NAM's trainer writes them
    try:
        save_json(data, args.output)
    except OSError as exc:
        raise InputError(f"{args.output}: cannot write ({exc})") from None
    layers, units = meta.layers, meta.units
    print(f"wrote {args.output} ({fmt}: {layers} x LSTM({units}), {meta.inputs} input(s), "
          f"{'skip, ' if meta.skip else ''}{rate} Hz)")
    weights = SequenceWeights.from_keras(model, meta)
    for plugin in form.plugins:
        reason = refusal(plugin, weights, rate)
        print(f"note: no released plugin plays it: {reason}" if reason else f"loads in {plugin.name}")
        for note in [] if reason else notes(plugin, weights, rate):
            print(f"note: {note}")
    if meta.highpass_hz:
        print(f"note: the model expects its input high-passed at {meta.highpass_hz:g} Hz; the file does not "
              "carry that filter")
    return 0
