"""Export a sequence model to a plugin's model file: one module per format.

    nam      Neural Amp Modeler `.nam` (architecture LSTM): audio only, no skip connection
    aidax    RTNeural / AIDA-X JSON: optional skip (`in_skip`) and knob inputs; padded to AIDA-X's widths
    proteus  GuitarML Proteus JSON: one LSTM layer with the skip connection, padded to 40 units
    neuralpi the same layout for NeuralPi, padded to 20 units

`plugins` says what each released plugin build loads (with the sources' lines), `pad` widens a model
exactly, `players` plays a written file from its contents alone, `loudness` measures a `.nam`'s
level metadata and `bundle` makes one effect's set of files. Every format refuses framed models;
each refusal is one line naming the setting to train with.
"""

from __future__ import annotations

from functools import partial

from drywet.errors import ConfigError
from drywet.export import aidax, nam, proteus
from drywet.export.checks import model_rate, save_json, sequence_weights
from drywet.export.nam import NAM_VERSION, NamLSTM, load_nam, save_nam, to_nam
from drywet.export.plugins import PLUGINS, refusal
from drywet.stream import SequenceWeights

# format -> (builder from SequenceWeights, file name suffix, the name refusals use)
FORMATS = {"nam": (nam.from_weights, ".nam", ".nam"),
           "aidax": (aidax.from_weights, ".aidax.json", "AIDA-X"),
           "proteus": (partial(proteus.from_weights, plugin="Proteus"), ".proteus.json", "Proteus"),
           "neuralpi": (partial(proteus.from_weights, plugin="NeuralPi"), ".neuralpi.json", "NeuralPi")}

__all__ = ["FORMATS", "NAM_VERSION", "NamLSTM", "export_model", "exportable_formats", "format_notes", "load_nam",
           "model_rate", "plan", "save_json", "save_nam", "to_nam"]


def export_model(model, fmt: str, sample_rate: int, metadata: dict | None = None, meta=None) -> dict:
    """The model as the `fmt` format's dict (see FORMATS), run at `sample_rate` Hz."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}'; valid: {', '.join(FORMATS)}")
    build, _, label = FORMATS[fmt]
    return build(sequence_weights(model, label, meta), sample_rate, metadata)


def plan(weights: SequenceWeights, rate: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Which formats released plugins load for this model run at `rate` Hz: (format -> the plugins
    that load its file, format -> the one-line reason none does)."""
    loads, skipped = {}, {}
    for fmt, plugins in PLUGINS.items():
        reasons = [refusal(plugin, weights, rate) for plugin in plugins]
        names = [plugin.name for plugin, reason in zip(plugins, reasons, strict=True) if reason is None]
        if names:
            loads[fmt] = names
        else:
            skipped[fmt] = reasons[0]
    return loads, skipped


def format_notes(fmt: str, data: dict) -> list[str]:
    """Why a written file would not load in its released plugin (RTNeural itself loads any AIDA-X stack)."""
    if fmt == "aidax":
        return aidax.notes(data)
    if fmt in ("proteus", "neuralpi"):
        return proteus.notes(data)
    return []


def exportable_formats(model, meta) -> list[str]:
    """The formats whose files a released plugin loads for `model` (none for framed models)."""
    try:
        weights = SequenceWeights.from_keras(model, meta)
    except ConfigError:
        return []
    return list(plan(weights, model_rate(meta))[0])
