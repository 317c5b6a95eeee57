"""Export a sequence model or a WaveNet to a plugin's model file: one module per format.

    nam      Neural Amp Modeler `.nam` (architectures LSTM and WaveNet): audio only, no skip connection
    aidax    RTNeural / AIDA-X JSON: optional skip (`in_skip`) and knob inputs; padded to AIDA-X's widths
    proteus  GuitarML Proteus JSON: one LSTM layer with the skip connection, padded to 40 units
    neuralpi the same layout for NeuralPi, padded to 20 units

Each format module declares everything about its format in one `Format` (`drywet.export.format`:
name, file suffix, builder, the released plugins that load the file, the reader that plays it, the
export stage's metadata, notes), and `FORMATS` below lists them, one line each: the registry that
`plan`, `export_model`, `format_notes`, `bundle` and `python -m drywet export --format` walk.
`plugins` turns a `Plugin` into refusals and notes, `pad` widens a model exactly, `players` plays a
written file from its contents alone, `loudness` measures a `.nam`'s level metadata and `bundle`
makes one effect's set of files. Every format refuses framed models; each refusal is one line naming
the setting to train with.
"""

from __future__ import annotations

from drywet.errors import ConfigError
from drywet.export import aidax, nam, proteus
from drywet.export.checks import model_rate, playable_weights, save_json
from drywet.export.format import Format, Provenance, architecture, registry
from drywet.export.nam import NAM_VERSION, NamLSTM, load_nam, save_nam, to_nam
from drywet.export.plugins import refusal

# the format registry: one line per format, in the order files are planned and written
FORMATS = registry(nam.FORMAT, aidax.FORMAT, proteus.FORMAT, proteus.NEURALPI)

__all__ = ["FORMATS", "NAM_VERSION", "Format", "NamLSTM", "Provenance", "export_model", "exportable_formats",
           "format_notes", "get_format", "load_nam", "model_rate", "plan", "save_json", "save_nam", "to_nam"]


def get_format(fmt: str) -> Format:
    """The registered format named `fmt`; ConfigError (one line, with the valid names) for another."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}'; valid: {', '.join(FORMATS)}")
    return FORMATS[fmt]


def export_model(model, fmt: str, sample_rate: int, metadata: dict | None = None, meta=None) -> dict:
    """The model as the `fmt` format's dict (see FORMATS), run at `sample_rate` Hz."""
    form = get_format(fmt)
    weights = playable_weights(model, form.label, meta)
    if architecture(weights) not in form.architectures:
        raise ConfigError(f"model '{model.name}': {_wrong_architecture(form, weights)}")
    return form.build(weights, sample_rate, metadata)


def _wrong_architecture(form: Format, weights) -> str:
    holders = [f.label for f in FORMATS.values() if architecture(weights) in f.architectures]
    return (f"{form.label} files hold {' and '.join(form.architectures)} models; this {architecture(weights)} "
            f"exports to {', '.join(holders)}")


def plan(weights, rate: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Which formats released plugins load for this model (SequenceWeights or WaveNetWeights) run at
    `rate` Hz: (format -> the plugins that load its file, format -> the one-line reason none does)."""
    loads, skipped = {}, {}
    for fmt, form in FORMATS.items():
        if architecture(weights) not in form.architectures:
            skipped[fmt] = _wrong_architecture(form, weights)
            continue
        plugins = form.plugins
        reasons = [refusal(plugin, weights, rate) for plugin in plugins]
        names = [plugin.name for plugin, reason in zip(plugins, reasons, strict=True) if reason is None]
        if names:
            loads[fmt] = names
        else:
            skipped[fmt] = reasons[0]
    return loads, skipped


def format_notes(fmt: str, data: dict) -> list[str]:
    """Why a written file would not load in its released plugin (RTNeural itself loads any AIDA-X stack)."""
    return get_format(fmt).notes(data)


def exportable_formats(model, meta) -> list[str]:
    """The formats whose files a released plugin loads for `model` (none for framed models)."""
    try:
        weights = playable_weights(model, "a plugin", meta)
    except ConfigError:
        return []
    return list(plan(weights, model_rate(meta))[0])
