"""Sequence models in drywet's layout for the benchmarks and the tests, built here so they do not
depend on how `drywet.models` builds them: input `dry` (batch, time, C), LSTM layers `lstm_1`,
`lstm_2`, ..., a Dense(1) `wet`, and with `skip` an Add `skip` of input channel 0 to the dense output."""

from __future__ import annotations

import numpy as np


def sequence_model(layers: int = 1, units: int = 16, inputs: int = 1, skip: bool = False, seed: int = 0,
                   input_gain: float = 1.0):
    """A Keras sequence model whose weights are moved off their initial values, so every gate and
    bias matters (fresh biases are zeros and ones). Matrix noise is scaled by fan-in so the
    recurrence stays stable, as in a trained model; an unstable one would amplify float32 rounding.
    `input_gain` scales the first layer's audio weights, as training on quiet guitar material does."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape=(None, inputs), name="dry")
    h = inp
    for i in range(layers):
        h = keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i + 1}")(h)
    out = keras.layers.Dense(1, name="wet")(h)
    if skip:
        out = keras.layers.Add(name="skip")([out, inp[..., :1]])
    model = keras.Model(inp, out, name=f"l{layers}_u{units}_in{inputs}{'_skip' if skip else ''}")
    unsettle(model, seed)
    first = model.get_layer("lstm_1")
    kernel, recurrent, bias = first.get_weights()
    kernel[0] *= input_gain
    first.set_weights([kernel, recurrent, bias])
    return model


def unsettle(model, seed: int) -> None:
    """Move every weight off its initial value, matrix noise scaled by fan-in (see `sequence_model`)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            scales = [0.5 if w.ndim == 1 else 0.5 / np.sqrt(w.shape[0]) for w in weights]
            layer.set_weights([w + rng.normal(0.0, s, w.shape).astype(np.float32)
                               for w, s in zip(weights, scales, strict=True)])
