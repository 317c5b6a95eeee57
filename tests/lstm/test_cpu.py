"""drywet.lstm.cpu: the C kernel computes Keras's LSTM and its gradients, trains like Keras's layer,
gives the same model every run, and refuses what it cannot train with a one-line way out."""

from __future__ import annotations

import numpy as np
import pytest

from drywet import native
from drywet.errors import ConfigError
from drywet.lstm import cpu


def _keras_layer(units: int, n_in: int, steps: int, sequences: bool, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    layer = keras.layers.LSTM(units, return_sequences=sequences)
    layer.build((None, steps, n_in))
    rng = np.random.default_rng(seed)
    layer.weights[2].assign(rng.standard_normal(4 * units).astype(np.float32) * 0.5)  # not Keras's 0/1 init
    return layer


@pytest.mark.parametrize("units", [16, 32])
@pytest.mark.parametrize("inputs", ["one", "units"])
@pytest.mark.parametrize("sequences", [True, False])
def test_forward_and_gradients_match_keras(units: int, inputs: str, sequences: bool) -> None:
    import tensorflow as tf

    n_in = 1 if inputs == "one" else units
    batch, steps = 5, 9  # odd: two-sample pairs and a lone last sample, each chunk
    layer = _keras_layer(units, n_in, steps, sequences, seed=units + n_in)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((batch, steps, n_in)).astype(np.float32)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        w = tf.constant(rng.standard_normal(y.shape).astype(np.float32))
        loss = tf.reduce_sum(y * w)
    want = tape.gradient(loss, [xt, *layer.weights])
    k, r, b = (v.numpy() for v in layer.weights)

    hs, cs, tcs, gs = cpu.forward(x, k, r, b)
    got_y = hs if sequences else hs[:, -1]
    np.testing.assert_allclose(got_y, y.numpy(), atol=2e-6)
    np.testing.assert_allclose(tcs, np.tanh(cs), atol=2e-6)
    got = cpu.backward(x, k, r, hs, cs, tcs, gs, w.numpy())
    for g, ref in zip(got, want, strict=True):
        ref = ref.numpy()
        np.testing.assert_allclose(g, ref, atol=2e-6 * max(1.0, np.abs(ref).max()))


def test_every_step_gradient_equals_last_step_gradient_padded() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, 1)).astype(np.float32)
    k, r, b = (rng.standard_normal(s).astype(np.float32) * 0.3 for s in ((1, 64), (16, 64), (64,)))
    rec = cpu.forward(x, k, r, b)
    dy = rng.standard_normal((4, 16)).astype(np.float32)
    padded = np.zeros((4, 6, 16), np.float32)
    padded[:, -1] = dy
    for a, p in zip(cpu.backward(x, k, r, *rec, dy), cpu.backward(x, k, r, *rec, padded), strict=True):
        np.testing.assert_array_equal(a, p)


def test_results_do_not_depend_on_the_number_of_threads(monkeypatch) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 5, 32)).astype(np.float32)
    k, r, b = (rng.standard_normal(s).astype(np.float32) * 0.3 for s in ((32, 128), (32, 128), (128,)))
    rec = cpu.forward(x, k, r, b)
    dy = rng.standard_normal((7, 5, 32)).astype(np.float32)
    two = cpu.backward(x, k, r, *rec, dy)
    monkeypatch.setattr(cpu.os, "sched_getaffinity", lambda pid: {0})  # one core: chunks run in turn
    for a, c in zip(cpu.forward(x, k, r, b), rec, strict=True):
        np.testing.assert_array_equal(a, c)
    for a, c in zip(cpu.backward(x, k, r, *rec, dy), two, strict=True):
        np.testing.assert_array_equal(a, c)


def test_twin_layer_matches_the_plain_model_in_both_modes() -> None:
    import tensorflow as tf

    from drywet.kinds import build_model
    from drywet.lstm import kernels
    from drywet.models import get_structure

    plain = build_model(get_structure("l2_u16_f32"), "framed", seed=2)
    twin = kernels.twin(plain, "cpu")
    assert [w.shape for w in twin.weights] == [w.shape for w in plain.weights]
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((6, 32, 1)) * 0.5).astype(np.float32)
    y = np.tanh(3 * x[:, -1])
    np.testing.assert_allclose(twin(x, training=False).numpy(), plain(x).numpy(), atol=2e-6)
    with tf.GradientTape(persistent=True) as tape:
        loss_plain = tf.reduce_mean((plain(x, training=True) - y) ** 2)
        loss_twin = tf.reduce_mean((twin(x, training=True) - y) ** 2)
    np.testing.assert_allclose(loss_twin.numpy(), loss_plain.numpy(), rtol=1e-5)
    for gp, gt in zip(tape.gradient(loss_plain, plain.trainable_weights),
                      tape.gradient(loss_twin, twin.trainable_weights), strict=True):
        np.testing.assert_allclose(gt.numpy(), gp.numpy(), atol=1e-6, rtol=1e-4)
    twin.set_weights([w + 0.01 for w in twin.get_weights()])
    kernels.plain_weights_into(twin, plain)
    np.testing.assert_allclose(plain(x).numpy(), twin(x, training=False).numpy(), atol=2e-6)


def _tiny_fit(kernel: str):
    from drywet import train
    from drywet.config import TrainParams
    from drywet.kinds import framed
    from drywet.models import get_structure

    rng = np.random.default_rng(0)
    dry = (rng.standard_normal(6000) * 0.3).astype(np.float32)
    wet = np.tanh(3 * dry).astype(np.float32)
    s = get_structure("l1_u16_f32")
    cfg = TrainParams(epochs=2, batch_size=32, learning_rate=1e-3, loss="mse", seed=3, kernel=kernel)
    starts = rng.choice(len(dry) - s.frame, 200, replace=False)
    ds = framed.framed_dataset(dry, wet, starts, s.frame, cfg.batch_size, cfg.seed)
    val = framed.framed_dataset(dry, wet, starts[:64], s.frame, cfg.batch_size, None)
    return train.fit(s, "framed", cfg, ds, val, verbose=0)


def test_fit_is_repeatable_and_follows_the_keras_kernel() -> None:
    import keras

    a, b, ref = _tiny_fit("cpu"), _tiny_fit("cpu"), _tiny_fit("keras")
    assert all(isinstance(layer, keras.layers.LSTM) for layer in a.model.layers if "lstm" in layer.name)
    for wa, wb, wr in zip(a.model.get_weights(), b.model.get_weights(), ref.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)  # same seed, same model, bit for bit
        np.testing.assert_allclose(wa, wr, atol=1e-4)  # 14 Adam steps later, still the same math
    assert a.history["loss"][-1] == pytest.approx(ref.history["loss"][-1], rel=1e-3)
    assert a.history["val_esr"] == b.history["val_esr"]


def test_unsupported_sizes_are_a_config_error_with_the_way_out() -> None:
    import keras

    inp = keras.Input((32, 1))
    model = keras.Model(inp, keras.layers.LSTM(24, name="odd")(inp))
    with pytest.raises(ConfigError, match=r"layer odd: .*24 units.*set train\.kernel: keras"):
        cpu.check_model(model)


def test_no_compiler_is_reported(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("DRYWET_CACHE", str(tmp_path / "cache"))
    with pytest.raises(OSError, match="no-such-cc"):
        native.compile_library(cpu.SOURCE)


def test_kernel_param_is_checked() -> None:
    from drywet.config import TrainParams, parse

    base = {"epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "loss": "mse", "seed": 1}
    assert parse(TrainParams, base, "train").kernel == "cpu"
    assert parse(TrainParams, {**base, "kernel": "keras"}, "train").kernel == "keras"
    with pytest.raises(ConfigError, match=r"train\.kernel must be one of cpu, keras, got 'gpu'"):
        parse(TrainParams, {**base, "kernel": "gpu"}, "train")
