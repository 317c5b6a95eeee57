"""Export a sequence model to a plugin's model file: one module per format.

    nam      Neural Amp Modeler `.nam` (architecture LSTM): audio only, no skip connection
    aidax    RTNeural / AIDA-X JSON: any stack, optional skip (`in_skip`) and knob inputs
    proteus  GuitarML Proteus / NeuralPi JSON: one LSTM layer with the skip connection

Every format refuses framed models; each refusal is one line naming the setting to train with.
"""

from __future__ import annotations

from drywet.errors import ConfigError
from drywet.export import aidax, nam, proteus
from drywet.export.checks import model_rate, save_json, sequence_weights
from drywet.export.nam import NAM_VERSION, NamLSTM, load_nam, save_nam, to_nam
from drywet.stream import SequenceWeights

# format -> (builder from SequenceWeights, file extension, the name refusals use)
FORMATS = {"nam": (nam.from_weights, ".nam", ".nam"), "aidax": (aidax.from_weights, ".json", "AIDA-X"),
           "proteus": (proteus.from_weights, ".json", "Proteus")}

__all__ = ["FORMATS", "NAM_VERSION", "NamLSTM", "export_model", "exportable_formats", "format_notes", "load_nam",
           "model_rate", "save_json", "save_nam", "to_nam"]


def export_model(model, fmt: str, sample_rate: int, metadata: dict | None = None, meta=None) -> dict:
    """The model as the `fmt` format's dict (see FORMATS), run at `sample_rate` Hz."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}'; valid: {', '.join(FORMATS)}")
    build, _, label = FORMATS[fmt]
    return build(sequence_weights(model, label, meta), sample_rate, metadata)


def format_notes(fmt: str, data: dict) -> list[str]:
    """Loadable-but-limited cases worth telling the user (e.g. a plugin build's fixed hidden size)."""
    if fmt == "aidax":
        return aidax.notes(data)
    if fmt == "proteus":
        return proteus.notes(data)
    return []


def exportable_formats(model, meta) -> list[str]:
    """The formats `model` exports to (each built in memory from one reading of the weights; a
    refusal means not that format)."""
    try:
        weights = SequenceWeights.from_keras(model, meta)
    except ConfigError:
        return []
    return [fmt for fmt, (build, _, _) in FORMATS.items() if _builds(build, weights, model_rate(meta))]


def _builds(build, weights: SequenceWeights, rate: int) -> bool:
    try:
        build(weights, rate)
    except ConfigError:
        return False
    return True
