"""RTNeural / AIDA-X model JSON (`.json`, also shipped as `.aidax`).

    in_shape  [null, null, C]      C input channels: the audio, then the knob channels
    in_skip   1                    only when the model adds input channel 0 to its output
    layers    [{"type": "lstm", "activation": "", "shape": [null, null, H],
                "weights": [kernel (C x 4H), recurrent kernel (H x 4H), bias (4H)]}, ...,
               {"type": "dense", "activation": "", "shape": [null, null, 1],
                "weights": [kernel (H x 1), bias (1)]}]
    metadata  name, author, style, esr, samplerate (Hz), ...

Weights keep Keras' layout (rows = inputs; gate columns i, f, c, o), which is what RTNeural's Keras
loader reads. The AIDA-X plugin is compiled for one LSTM layer of 8, 12, 16, 20, 24, 32, 40, 64 or 80
units and 1-3 inputs (`AIDAX_PLUGIN`), so a one-layer model of another width is zero-padded to the
next compiled one (`drywet.export.pad`, exact: 48 units play as 64). A stack of two or more layers is
refused: RTNeural would load it, but AIDA-X 1.1.0 loads such a file without an error and plays
silence, so no file of more than one layer is ever written.

The plugin, read from its sources (AidaDSP/AIDA-X, tag 1.1.0; it runs the model at the host's rate,
only IRs and audio files are resampled):

    src/model_variant.hpp:4         MAX_INPUT_SIZE 3
    src/model_variant.hpp:33-59     LSTM (and GRU) of 8, 12, 16, 20, 24, 32, 40, 64 or 80 units,
                                    1-3 inputs, one recurrent layer + DenseT<H, 1>
    src/model_variant.hpp:62-72     the variant is chosen from layers[0] type and width and
                                    in_shape's last entry; RTNeural's parseJson then expects
                                    exactly those two layers
    src/aidadsp-plugin.cpp:652-678  in_shape, in_skip (0 or 1), in_gain / out_gain (dB)
    src/aidadsp-plugin.cpp:202-258  knob inputs are PARAM1 / PARAM2 (0-1); in_skip adds channel 0
    src/aidadsp-plugin.cpp:718-719  2048 zero samples run through a new model before it plays
"""

from __future__ import annotations

from drywet.errors import ConfigError
from drywet.export.checks import nested
from drywet.export.format import Format, Provenance
from drywet.export.hosts import AIDAX_HOST
from drywet.export.pad import pad_units
from drywet.export.players import read_aidax
from drywet.export.plugins import Plugin, refusal
from drywet.lstm.weights import SequenceWeights

AIDAX_PLUGIN = Plugin("AIDA-X 1.1.0", (8, 12, 16, 20, 24, 32, 40, 64, 80), 1, (1, 2, 3), None, host_rate=True,
                      prewarm_samples=2048,
                      controls=("", "AIDA-X's PARAM1 is the knob", "AIDA-X's PARAM1 and PARAM2 are the knobs"),
                      more_layers="a file of more loads without an error and plays silence", default=AIDAX_HOST)
AIDAX_UNITS = AIDAX_PLUGIN.widths


def from_weights(weights: SequenceWeights, sample_rate: int, metadata: dict | None = None) -> dict:
    """The RTNeural/AIDA-X dict of a sequence model's weights run at `sample_rate` Hz; a model of more
    than one LSTM layer is a ConfigError (AIDA-X would play its file as silence)."""
    if len(weights.layers) != 1:
        raise ConfigError(f"model '{weights.name}' cannot export to AIDA-X: "
                          f"{refusal(AIDAX_PLUGIN, weights, int(sample_rate))}")
    width = AIDAX_PLUGIN.width_for(weights.layers[0].units)
    if width is not None:
        weights = pad_units(weights, width)
    layers = [{"type": "lstm", "activation": "", "shape": [None, None, layer.units],
               "weights": [nested(layer.kernel), nested(layer.recurrent), nested(layer.bias)]}
              for layer in weights.layers]
    layers.append({"type": "dense", "activation": "", "shape": [None, None, 1],
                   "weights": [nested(weights.head_w[:, None]), nested([weights.head_b])]})
    info = {"name": weights.name, "samplerate": int(sample_rate), "source": "drywet"}
    info.update(metadata or {})
    out = {"in_shape": [None, None, weights.inputs], "layers": layers, "metadata": info}
    if weights.skip:
        out["in_skip"] = 1
    return out


def gear_metadata(gear, name: str, esr: float | None, sample_rate: int) -> dict:
    """AIDA-X's metadata fields for a capture described by `gear` (GearParams of `gear.<fx>`, or
    None): name, author (modeled_by), style (tone_type), esr (the test ESR) and samplerate (Hz)."""
    return {"name": getattr(gear, "name", None) or name, "author": getattr(gear, "modeled_by", None),
            "style": getattr(gear, "tone_type", None), "esr": esr, "samplerate": int(sample_rate)}


def stage_metadata(about: Provenance) -> dict:
    """`gear_metadata` for the export stage."""
    return gear_metadata(about.gear, about.name, about.esr, about.rate)


def notes(data: dict) -> list[str]:
    """Why the AIDA-X plugin (as opposed to RTNeural itself) would not play this file as written (the
    files `from_weights` writes have one layer; another source's may not)."""
    lstms = [layer for layer in data["layers"] if layer["type"] == "lstm"]
    found = []
    if len(lstms) != 1:
        found.append(f"AIDA-X loads one LSTM layer; this file has {len(lstms)}, which AIDA-X 1.1.0 loads without "
                     "an error and plays as silence (RTNeural plays it)")
    if lstms and lstms[0]["shape"][-1] not in AIDAX_UNITS:
        found.append(f"AIDA-X is built for {', '.join(map(str, AIDAX_UNITS))} units; this file has "
                     f"{lstms[0]['shape'][-1]}")
    if data["in_shape"][-1] not in AIDAX_PLUGIN.inputs:
        found.append(f"AIDA-X plays 1-3 inputs; this file has {data['in_shape'][-1]}")
    return found


FORMAT = Format(name="aidax", suffix=".aidax.json", label="AIDA-X", build=from_weights, plugins=(AIDAX_PLUGIN,),
                reader=read_aidax, metadata=stage_metadata, notes=notes)
