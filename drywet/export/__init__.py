"""Export a sequence model to a plugin's model file: one module per format.

    nam      Neural Amp Modeler `.nam` (architecture LSTM): audio only, no skip connection
    aidax    RTNeural / AIDA-X JSON: any stack, optional skip (`in_skip`) and knob inputs
    proteus  GuitarML Proteus / NeuralPi JSON: one LSTM layer with the skip connection

Every format refuses framed models; each refusal is one line naming the setting to train with.
"""

from __future__ import annotations

from drywet.errors import ConfigError
from drywet.export import aidax, proteus
from drywet.export.checks import model_rate, save_json
from drywet.export.nam import NAM_VERSION, NamLSTM, load_nam, save_nam, to_nam

FORMATS = {"nam": (to_nam, ".nam"), "aidax": (aidax.to_aidax, ".json"), "proteus": (proteus.to_proteus, ".json")}

__all__ = ["FORMATS", "NAM_VERSION", "NamLSTM", "export_model", "exportable_formats", "format_notes", "load_nam",
           "model_rate", "save_json", "save_nam", "to_nam"]


def export_model(model, fmt: str, sample_rate: int, metadata: dict | None = None, meta=None) -> dict:
    """The model as the `fmt` format's dict (see FORMATS), run at `sample_rate` Hz."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}'; valid: {', '.join(FORMATS)}")
    return FORMATS[fmt][0](model, sample_rate, metadata, meta)


def format_notes(fmt: str, data: dict) -> list[str]:
    """Loadable-but-limited cases worth telling the user (e.g. a plugin build's fixed hidden size)."""
    if fmt == "aidax":
        return aidax.notes(data)
    if fmt == "proteus":
        return proteus.notes(data)
    return []


def exportable_formats(model, meta) -> list[str]:
    """The formats `model` exports to (each tried in memory; a refusal means not that format)."""
    return [fmt for fmt in FORMATS if _exports(model, fmt, meta)]


def _exports(model, fmt: str, meta) -> bool:
    try:
        export_model(model, fmt, model_rate(meta), None, meta)
    except ConfigError:
        return False
    return True
