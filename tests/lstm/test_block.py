"""drywet.lstm.block through drywet.lstm.kernels: the BlockLSTM twin computes Keras's LSTM and its
gradients, and hands its weights back."""

from __future__ import annotations

import numpy as np
import pytest

from drywet.kinds import build_model
from drywet.lstm import kernels
from drywet.models import get_structure


@pytest.mark.parametrize(("structure", "skip"), [("l1_u16_f32", False), ("l2_u16_f32", True)])
def test_fused_twin_matches_keras_outputs_and_gradients(structure: str, skip: bool) -> None:
    import tensorflow as tf

    plain = build_model(get_structure(structure), "sequence", seed=3, skip=skip)
    twin = kernels.twin(plain, "block")
    assert [w.shape for w in twin.weights] == [w.shape for w in plain.weights]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 300, 1)) * 0.5).astype(np.float32)
    y = np.tanh(3 * x)
    np.testing.assert_allclose(twin(x).numpy(), plain(x).numpy(), atol=1e-6)
    with tf.GradientTape(persistent=True) as tape:
        loss_plain = tf.reduce_mean((plain(x) - y) ** 2)
        loss_twin = tf.reduce_mean((twin(x) - y) ** 2)
    for gp, gt in zip(tape.gradient(loss_plain, plain.trainable_weights),
                      tape.gradient(loss_twin, twin.trainable_weights), strict=True):
        # every gate's gradient, forget and cell gates included (their order differs in the kernel)
        np.testing.assert_allclose(gt.numpy(), gp.numpy(), atol=1e-6, rtol=1e-4)


def test_framed_shape_and_weights_back_into_the_plain_model() -> None:
    plain = build_model(get_structure("l1_u16_f32"), "framed", seed=1)
    twin = kernels.twin(plain, "block")
    x = np.random.default_rng(1).standard_normal((5, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(twin(x).numpy(), plain(x).numpy(), atol=1e-6)
    moved = [w + 0.01 for w in twin.get_weights()]
    twin.set_weights(moved)
    kernels.plain_weights_into(twin, plain)
    np.testing.assert_allclose(plain(x).numpy(), twin(x).numpy(), atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), moved, strict=True))


def test_knob_inputs_with_skip() -> None:
    import dataclasses

    structure = dataclasses.replace(get_structure("l1_u16_f32"), inputs=3)  # audio + 2 knob channels
    plain = build_model(structure, "sequence", seed=2, skip=True)
    twin = kernels.twin(plain, "block")
    x = np.random.default_rng(2).standard_normal((2, 200, 3)).astype(np.float32)
    np.testing.assert_allclose(twin(x).numpy(), plain(x).numpy(), atol=1e-6)


def test_unsupported_lstm_has_no_twin() -> None:
    import keras

    inp = keras.Input((None, 1))
    model = keras.Model(inp, keras.layers.LSTM(4, activation="relu", name="odd")(inp))
    with pytest.raises(ValueError, match="odd"):
        kernels.twin(model, "block")
