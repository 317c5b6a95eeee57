"""GuitarML Proteus / NeuralPi JSON: a PyTorch-style state dict of one LSTM layer and a linear head.

    model_data  {model: "SimpleRNN", input_size: C, skip: 1, output_size: 1, unit_type: "LSTM",
                 num_layers: 1, hidden_size: H, bias_fl: true, sample_rate: Hz}
    state_dict  rec.weight_ih_l0 (4H x C), rec.weight_hh_l0 (4H x H), rec.bias_ih_l0 (4H),
                rec.bias_hh_l0 (4H), lin.weight (1 x H), lin.bias (1)

Gate rows i, f, g, o (PyTorch's order, the same as Keras'); the loader sums the two biases, so the
Keras bias goes in `bias_ih` and zeros in `bias_hh`. The plugins add the dry input to the output
whatever `skip` says, and are compiled for one hidden size (Proteus 40, NeuralPi 20): a narrower
model is zero-padded to that width (`drywet.export.pad`, exact); a model without the skip connection
gets one unit that cancels the dry input the plugin adds (within 2e-6, `drywet.export.pad.cancel_dry`);
a wider model or a second layer is refused. The two share this layout but not a width, so each has
its own file and `Format` (`FORMAT`: Proteus, `NEURALPI`).

The plugins, read from their sources:

    Proteus 1.2 (GuitarML/Proteus, tag v1.2)
        src/RTNeuralLSTM.h:26-36        one LSTMLayerT of 40 units + DenseT<40, 1>, for 1, 2 or 3 inputs
        src/RTNeuralLSTM.cpp:40-41      sums exactly 160 (4 x 40) biases: another width reads out of range
        src/RTNeuralLSTM.cpp:59-71      model_data.input_size picks the 1/2/3-input model
        src/RTNeuralLSTM.cpp:88, 113    output = model(x) + x: the skip path whatever the file says
        src/PluginProcessor.cpp:222-233 a knob model always plays through the 2-input model (Drive is
                                        its knob), so a 3-input file loads but does not play
        src/PluginProcessor.cpp:129-131 every model runs at 44.1 kHz (the host's audio is resampled)
        src/PluginProcessor.cpp:203, 222 input gain 2.5 x Drive (audio-only model), 1.5 (knob model)
    NeuralPi 1.3.0 (GuitarML/NeuralPi, tag v1.3.0)
        Source/RTNeuralLSTM.h:20-26     one LSTMLayerT of 20 units, for 1 or 2 inputs
        Source/RTNeuralLSTM.cpp:39, 69  sums exactly 80 (4 x 20) biases
        Source/RTNeuralLSTM.cpp:92, 100 output = model(x) + x
        Source/PluginProcessor.cpp:343-352  input_size 1 -> audio-only model, anything else -> 2 inputs
        Source/PluginProcessor.cpp:208-209  input gain 2 x Gain for an audio-only model (unity at 0.5)
        runs at the host's rate (no resampler)
"""

from __future__ import annotations

from functools import partial

import numpy as np

from drywet.errors import ConfigError
from drywet.export.checks import nested
from drywet.export.format import Format
from drywet.export.hosts import PROTEUS_HOST
from drywet.export.pad import cancel_dry, pad_units
from drywet.export.players import read_proteus
from drywet.export.plugins import Plugin
from drywet.lstm.weights import SequenceWeights

PROTEUS_PLUGIN = Plugin("Proteus 1.2", (40,), 1, (1, 2), True, rate=44100,
                        controls=("Proteus scales its input by 2.5 x Drive (unity at Drive 0.4)",
                                  "Proteus boosts a knob model's input by 1.5 (3.5 dB); Drive is the knob"),
                        default=PROTEUS_HOST)
NEURALPI_PLUGIN = Plugin("NeuralPi 1.3.0", (20,), 1, (1, 2), True, host_rate=True,
                         controls=("NeuralPi scales its input by 2 x Gain (unity at Gain 0.5)",
                                   "NeuralPi's Gain is the knob"))
PLUGIN_UNITS = {"Proteus": PROTEUS_PLUGIN.widths[0], "NeuralPi": NEURALPI_PLUGIN.widths[0]}


def from_weights(weights: SequenceWeights, sample_rate: int, metadata: dict | None = None,
                 plugin: str = "Proteus") -> dict:
    """The Proteus (or NeuralPi) dict of a single-layer sequence model's weights (others are refused);
    `plugin` (Proteus or NeuralPi) sets the width the file is padded to."""
    width = PLUGIN_UNITS[plugin]
    wants = []
    if len(weights.layers) != 1:
        wants.append(f"a 1-layer structure (this model has {len(weights.layers)} LSTM layers)")
    elif weights.layers[0].units + (0 if weights.skip else 1) > width:
        wants.append(f"at most {width if weights.skip else width - 1} units ({plugin} is built for {width}"
                     f"{'' if weights.skip else ', one of them to cancel the dry input it adds'}; this model has "
                     f"{weights.layers[0].units})")
    if wants:
        raise ConfigError(f"model '{weights.name}' cannot export to {plugin}; train with {' and '.join(wants)}")
    # the plugins add the dry input to every output: a model without the skip path gets a unit taking it away
    padded = pad_units(cancel_dry(weights), width)
    layer, head_w = padded.layers[0], padded.head_w
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
            "lin.weight": nested(head_w[None, :]),
            "lin.bias": nested([weights.head_b]),
        },
        "metadata": info,
    }


def notes(data: dict) -> list[str]:
    """Which plugin builds load this file's hidden size (the files this module writes always fit one)."""
    units = data["model_data"]["hidden_size"]
    if any(size == units for size in PLUGIN_UNITS.values()):
        return []
    sizes = ", ".join(f"{name} {size}" for name, size in PLUGIN_UNITS.items())
    return [f"hidden size {units}: the released plugin builds load {sizes} units only"]


FORMAT = Format(name="proteus", suffix=".proteus.json", label="Proteus",
                build=partial(from_weights, plugin="Proteus"), plugins=(PROTEUS_PLUGIN,), reader=read_proteus,
                notes=notes)
NEURALPI = Format(name="neuralpi", suffix=".neuralpi.json", label="NeuralPi",
                  build=partial(from_weights, plugin="NeuralPi"), plugins=(NEURALPI_PLUGIN,), reader=read_proteus,
                  notes=notes)
