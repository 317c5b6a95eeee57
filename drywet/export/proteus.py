"""GuitarML Proteus / NeuralPi JSON: a PyTorch-style state dict of one LSTM layer and a linear head.

    model_data  {model: "SimpleRNN", input_size: C, skip: 1, output_size: 1, unit_type: "LSTM",
                 num_layers: 1, hidden_size: H, bias_fl: true}
    state_dict  rec.weight_ih_l0 (4H x C), rec.weight_hh_l0 (4H x H), rec.bias_ih_l0 (4H),
                rec.bias_hh_l0 (4H), lin.weight (1 x H), lin.bias (1)

Gate rows i, f, g, o (PyTorch's order, the same as Keras'); the loader sums the two biases, so the
Keras bias goes in `bias_ih` and zeros in `bias_hh`. The plugins add the dry input to the output
whatever `skip` says, and are compiled for one hidden size (Proteus 40, NeuralPi 20), so only
single-layer models with the skip connection export; `notes` names a size mismatch.
"""

from __future__ import annotations

import numpy as np

from drywet.errors import ConfigError
from drywet.export.checks import nested, sequence_weights
from drywet.stream import SequenceWeights

PLUGIN_UNITS = {"Proteus": 40, "NeuralPi": 20}


def to_proteus(model, sample_rate: int, metadata: dict | None = None, meta=None) -> dict:
    """The Proteus dict of a single-layer skip-connection sequence model; others are refused."""
    return from_weights(sequence_weights(model, "Proteus", meta), sample_rate, metadata)


def from_weights(weights: SequenceWeights, sample_rate: int, metadata: dict | None = None) -> dict:
    """`to_proteus` for weights already read from the model."""
    wants = []
    if not weights.skip:
        wants.append("model.skip: true (Proteus adds the dry input to every model's output)")
    if len(weights.layers) != 1:
        wants.append(f"a 1-layer structure (this model has {len(weights.layers)} LSTM layers)")
    if wants:
        raise ConfigError(f"model '{weights.name}' cannot export to Proteus; train with {' and '.join(wants)}")
    layer = weights.layers[0]
    info = {"name": weights.name, "samplerate": int(sample_rate), "source": "drywet"}
    info.update(metadata or {})
    return {
        "model_data": {"model": "SimpleRNN", "input_size": layer.inputs, "skip": 1, "output_size": 1,
                       "unit_type": "LSTM", "num_layers": 1, "hidden_size": layer.units, "bias_fl": True,
                       "sample_rate": int(sample_rate)},
        "state_dict": {
            "rec.weight_ih_l0": nested(layer.kernel.T),
            "rec.weight_hh_l0": nested(layer.recurrent.T),
            "rec.bias_ih_l0": nested(layer.bias),
            "rec.bias_hh_l0": nested(np.zeros_like(layer.bias)),
            "lin.weight": nested(weights.head_w[None, :]),
            "lin.bias": nested([weights.head_b]),
        },
        "metadata": info,
    }


def notes(data: dict) -> list[str]:
    """Which plugin builds load this file's hidden size."""
    units = data["model_data"]["hidden_size"]
    loads = [name for name, size in PLUGIN_UNITS.items() if size == units]
    if loads:
        return []
    sizes = ", ".join(f"{name} {size}" for name, size in PLUGIN_UNITS.items())
    return [f"hidden size {units}: the released plugin builds load {sizes} units only"]
