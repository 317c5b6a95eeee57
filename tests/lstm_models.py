"""Sequence models in drywet's layout, built here so the stream and export tests do not depend on
how `drywet.models` builds them: input `dry` (batch, time, C), LSTM layers `lstm_1`, `lstm_2`, ...,
a Dense(1) `wet`, and with `skip` an Add `skip` of input channel 0 to the dense output (the builder,
`sequence_model`, is benchmarks/lstm_models.py's, which benchmarks/stream_speed.py uses too); here
the helpers that run them."""

from __future__ import annotations

import numpy as np

from benchmarks.lstm_models import sequence_model, unsettle  # noqa: F401 - the tests' builders


def with_knobs(x: np.ndarray, knobs: tuple[float, ...]) -> np.ndarray:
    """(n, 1 + len(knobs)) input: the audio, then each knob value held constant."""
    out = np.empty((x.size, 1 + len(knobs)), np.float32)
    out[:, 0] = x
    out[:, 1:] = knobs
    return out


def keras_run(model, x: np.ndarray) -> np.ndarray:
    """The model's output for a whole signal in one call (the exact carried-state output); `x` is
    (n,) or (n, C). Run as a compiled graph: eager Keras steps an LSTM in Python."""
    import tensorflow as tf

    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[:, None]
    call = tf.function(lambda b: model(b, training=False))
    return call(tf.constant(x[None])).numpy()[0, :, 0]
