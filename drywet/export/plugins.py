"""What the released plugin builds load, read from their sources, and the one-line reason a model
does not play in one of them.

Sources (tag, file:line):

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
    AIDA-X 1.1.0 (AidaDSP/AIDA-X, tag 1.1.0)
        src/model_variant.hpp:4         MAX_INPUT_SIZE 3
        src/model_variant.hpp:33-59     LSTM (and GRU) of 8, 12, 16, 20, 24, 32, 40, 64 or 80 units,
                                        1-3 inputs, one recurrent layer + DenseT<H, 1>
        src/model_variant.hpp:62-72     the variant is chosen from layers[0] type and width and
                                        in_shape's last entry; RTNeural's parseJson then expects
                                        exactly those two layers
        src/aidadsp-plugin.cpp:652-678  in_shape, in_skip (0 or 1), in_gain / out_gain (dB)
        src/aidadsp-plugin.cpp:202-258  knob inputs are PARAM1 / PARAM2 (0-1); in_skip adds channel 0
        src/aidadsp-plugin.cpp:718-719  2048 zero samples run through a new model before it plays
        runs at the host's rate (only IRs and audio files are resampled)
    Neural Amp Modeler (sdatkinson/NeuralAmpModelerCore, tag v0.5.4; the plugin resamples to the
    file's `sample_rate` since NeuralAmpModelerPlugin PR #397)
        NAM/lstm.cpp:9-29               per layer W (4H x (in + H)) row-major, b, h0, c0
        NAM/lstm.cpp:76-96              layers of one hidden_size, then head weights (H) and bias
        NAM/lstm.cpp:151-164            y = head(h_last): no path from input to output
        NAM/lstm.cpp:168-175            input_size from config; one audio channel in
        NAM/lstm.cpp:125-131            0.5 s of zeros run through the model at reset (prewarm)

Any number of LSTM layers of one width, audio only.
"""

from __future__ import annotations

from dataclasses import dataclass

from drywet.stream import SequenceWeights

FRAMED_REASON = "framed models play in no plugin; train with model.kind: sequence"


@dataclass(frozen=True)
class Plugin:
    """One released plugin build: the model files it loads and how it plays them.

    widths: the compiled hidden sizes (None: any); layers: LSTM layers it loads (None: any, of one
    width); inputs: input channels it plays (audio first, then knobs); skip: True when it always
    adds the dry input, False when the format has no skip path, None when the file says; rate: the
    one rate it runs every model at (None: the file's rate or the host's, see `host_rate`);
    prewarm_s / prewarm_samples: zeros run through a model when it is loaded.
    """

    name: str
    fmt: str
    widths: tuple[int, ...] | None
    layers: int | None
    inputs: tuple[int, ...]
    skip: bool | None
    rate: int | None = None
    host_rate: bool = False  # runs the model at whatever rate the host runs at
    prewarm_s: float = 0.0
    prewarm_samples: int = 0

    def width_for(self, units: int) -> int | None:
        """The compiled width a model of `units` pads to (the smallest that holds it), or None."""
        if self.widths is None:
            return units
        fits = [w for w in self.widths if w >= units]
        return min(fits) if fits else None

    def prewarm(self, rate: int) -> int:
        """Zero samples the plugin runs through a model at `rate` Hz before it plays."""
        return int(self.prewarm_s * rate) + self.prewarm_samples


NAM = Plugin("Neural Amp Modeler", "nam", None, None, (1,), False, prewarm_s=0.5)
AIDAX = Plugin("AIDA-X 1.1.0", "aidax", (8, 12, 16, 20, 24, 32, 40, 64, 80), 1, (1, 2, 3), None,
               host_rate=True, prewarm_samples=2048)
PROTEUS = Plugin("Proteus 1.2", "proteus", (40,), 1, (1, 2), True, rate=44100)
NEURALPI = Plugin("NeuralPi 1.3.0", "neuralpi", (20,), 1, (1, 2), True, host_rate=True)

# file format -> the released plugins that load its files (Proteus and NeuralPi share a layout but
# not a width, so each has its own file)
PLUGINS = {"nam": (NAM,), "aidax": (AIDAX,), "proteus": (PROTEUS,), "neuralpi": (NEURALPI,)}


def refusal(plugin: Plugin, weights: SequenceWeights, rate: int) -> str | None:
    """Why `plugin` cannot play this model run at `rate` Hz (one line naming what to train with),
    or None when it can (after zero-padding to its width)."""
    name = plugin.name
    layers = len(weights.layers)
    widest = max(layer.units for layer in weights.layers)
    if plugin.skip is True and not weights.skip and layers == 1 and plugin.width_for(widest + 1) is None:
        return (f"{name} adds the dry input to every model's output, and a model without the skip path needs "
                f"one of its {max(plugin.widths)} units to cancel it; train with at most {max(plugin.widths) - 1} "
                "units or model.skip: true")
    if plugin.skip is False and weights.skip:
        return f"{name} LSTMs have no path from input to output; train with model.skip: false"
    if plugin.layers is not None and layers != plugin.layers:
        return f"{name} loads {plugin.layers} LSTM layer; this model has {layers} (train with a 1-layer structure)"
    if plugin.width_for(widest) is None:
        return (f"{name} is built for {', '.join(map(str, plugin.widths))} units; this model has {widest} "
                f"(train with at most {max(plugin.widths)})")
    if weights.inputs not in plugin.inputs:
        knobs = weights.inputs - 1
        if max(plugin.inputs) == 1:
            return f"{name} plays audio only; this model has {knobs} knob input{'s' if knobs != 1 else ''}"
        return f"{name} plays at most {max(plugin.inputs) - 1} knob; this model has {knobs}"
    return None


def notes(plugin: Plugin, weights: SequenceWeights, rate: int) -> list[str]:
    """What to set in `plugin` for it to play this (loadable) model as trained."""
    found = []
    units = max(layer.units for layer in weights.layers)
    cancels = plugin.skip is True and not weights.skip
    width = plugin.width_for(units + cancels)
    if cancels:
        found.append(f"one unit cancels the dry input {plugin.name} adds (output within 7e-7 of the model's)")
    if width != units + cancels:
        found.append(f"padded from {units + cancels} to {width} units with silent ones (same output)")
    if plugin.rate is not None and rate != plugin.rate:
        found.append(f"{plugin.name} runs every model at {plugin.rate} Hz, this one was trained at {rate} Hz: "
                     f"it plays with its frequencies scaled by {plugin.rate / rate:.3f} (plugin_esr is measured "
                     f"so); record at {plugin.rate} Hz for an exact match")
    if plugin.host_rate:
        found.append(f"{plugin.name} runs the model at the host's rate: set the host to {rate} Hz")
    if plugin is PROTEUS:
        found.append("Proteus scales its input by 2.5 x Drive (unity at Drive 0.4)" if weights.inputs == 1
                     else "Proteus boosts a knob model's input by 1.5 (3.5 dB); Drive is the knob")
    if plugin is NEURALPI:
        found.append("NeuralPi scales its input by 2 x Gain (unity at Gain 0.5)" if weights.inputs == 1
                     else "NeuralPi's Gain is the knob")
    if plugin is AIDAX and weights.inputs > 1:
        found.append("AIDA-X's PARAM1" + (" and PARAM2 are the knobs" if weights.inputs == 3 else " is the knob"))
    return found
