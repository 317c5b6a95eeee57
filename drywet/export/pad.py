"""Zero-padding an LSTM stack to a plugin's compiled width, exactly.

An added unit has all-zero weights and bias: its rows in every gate block (i, f, c, o) of the input
and recurrent kernels, its recurrent column, and its head weight (or the next layer's input row).
Its gates then read i = f = o = sigmoid(0) = 1/2 and c~ = tanh(0) = 0, so from c = h = 0 its cell
stays c = c/2 + 0 = 0 and its output h = tanh(0) / 2 = 0 forever, whatever the input: the padded
model computes what the original does. (The initial state must be zero, as every export writes it.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from drywet.lstm.weights import LstmLayer, SequenceWeights


def _pad_gates(a: np.ndarray, units: int, width: int) -> np.ndarray:
    """(rows, 4 * units) gate-blocked columns -> (rows, 4 * width), each block zero-extended."""
    blocks = np.split(np.asarray(a, np.float32), 4, axis=-1)
    pad = [(0, 0)] * (a.ndim - 1) + [(0, width - units)]
    return np.concatenate([np.pad(b, pad) for b in blocks], axis=-1)


def pad_units(weights: SequenceWeights, widths: int | Sequence[int]) -> SequenceWeights:
    """The same model with layer k widened to widths[k] units (one int: every layer); a width
    below a layer's units is a ValueError (padding never drops a unit)."""
    if isinstance(widths, int):
        widths = [widths] * len(weights.layers)
    if len(widths) != len(weights.layers):
        raise ValueError(f"{len(widths)} widths for {len(weights.layers)} layers")
    layers = []
    fan_in = weights.inputs
    for layer, width in zip(weights.layers, widths, strict=True):
        units = layer.units
        if width < units:
            raise ValueError(f"cannot pad a layer of {units} units to {width}")
        kernel = _pad_gates(layer.kernel, units, width)
        kernel = np.pad(kernel, [(0, fan_in - kernel.shape[0]), (0, 0)])  # rows for the previous layer's new units
        recurrent = np.pad(_pad_gates(layer.recurrent, units, width), [(0, width - units), (0, 0)])
        bias = _pad_gates(layer.bias[None], units, width)[0]
        layers.append(LstmLayer(kernel, recurrent, bias))
        fan_in = width
    head_w = np.pad(np.asarray(weights.head_w, np.float32), (0, widths[-1] - weights.layers[-1].units))
    return SequenceWeights(tuple(layers), head_w, weights.head_b, weights.skip, weights.name)


DRY_CANCEL_EPS = 1e-3  # input weight of the dry-cancelling unit (its output error is (2/3) eps^2 |x|^3)
GATE_OPEN = 30.0  # gate bias that holds a gate open (sigmoid(30) is 1 in float32) or, negated, shut


def cancel_dry(weights: SequenceWeights, eps: float = DRY_CANCEL_EPS) -> SequenceWeights:
    """A model without the skip path as one with it (for plugins that always add the dry input):
    one more unit on the last layer carries the dry audio, eps x, and its head weight -1/eps takes
    it away again. Its input and output gates are held open and its forget gate shut, so it keeps
    no memory: c = tanh(eps x), h = tanh(c) = eps x - (2/3)(eps x)^3 + ..., and the output differs
    from the model's by (2/3) eps^2 x^3 (7e-7 at full scale; measured with float32 weights 6.6e-7 at peak
    1.0, 1.3e-6 at 1.25, Proteus' default Drive; under 2e-6 in a float32 plugin). One layer only."""
    if weights.skip:
        return weights
    if len(weights.layers) != 1:
        raise ValueError("the dry-cancelling unit is built for one LSTM layer")
    layer = weights.layers[0]
    units = layer.units
    grown = pad_units(weights, units + 1)
    kernel, recurrent, bias = (np.array(a, np.float32) for a in (grown.layers[0].kernel, grown.layers[0].recurrent,
                                                                  grown.layers[0].bias))
    width = units + 1
    new = units  # the added unit's index within each gate block (i, f, c, o)
    kernel[0, 2 * width + new] = eps  # the cell input reads the audio channel only
    bias[0 * width + new] = GATE_OPEN
    bias[1 * width + new] = -GATE_OPEN
    bias[3 * width + new] = GATE_OPEN
    head_w = np.array(grown.head_w, np.float32)
    head_w[new] = -1.0 / eps
    return SequenceWeights((LstmLayer(kernel, recurrent, bias),), head_w, weights.head_b, True, weights.name)
