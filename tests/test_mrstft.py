"""The optional multi-resolution STFT term of the sequence loss (`train_sequence.mrstft_weight`,
`mrstft_fft`): off it changes nothing, on it is a finite, differentiable distance, and its params are
checked as the others are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from drywet.config import TrainSequenceParams, load_section, parse
from drywet.errors import ConfigError
from drywet.kinds import sequence

ROOT = Path(__file__).resolve().parents[1]
RECIPE = {"epochs": 1, "batch_size": 2, "segment": 1024, "warmup": 128, "learning_rate": 1e-3,
          "loss": "esr", "seed": 1}


def pair(seed: int = 0, batch: int = 2, n: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(target, prediction), (batch, n, 1) float32: a tone plus noise, and a slightly different one."""
    rng = np.random.default_rng(seed)
    t = np.sin(2 * np.pi * 0.01 * np.arange(n))[None, :, None] + 0.1 * rng.standard_normal((batch, n, 1))
    p = 0.8 * t + 0.05 * rng.standard_normal((batch, n, 1))
    return t.astype(np.float32), p.astype(np.float32)


@pytest.mark.parametrize(("loss", "preemph"), [("mse", "none"), ("esr", "aweight"), ("esr_dc", "first_order")])
def test_weight_zero_is_the_old_loss_exactly(loss: str, preemph: str) -> None:
    t, p = pair()
    old = sequence.sequence_loss(128, loss, preemph, 0.9)
    off = sequence.sequence_loss(128, loss, preemph, 0.9, 0.0, (512, 4096))  # sizes unused when off
    assert float(off(t, p)) == float(old(t, p))
    assert off.__name__ == old.__name__ == (f"seq_{loss}" if preemph == "none" else f"seq_{loss}_{preemph}")
    on = sequence.sequence_loss(128, loss, preemph, 0.9, 0.5, (256, 512))
    assert on.__name__ == old.__name__ + "_mrstft"
    expected = float(old(t, p)) + 0.5 * float(sequence.mrstft_term(t[:, 128:, 0], p[:, 128:, 0], (256, 512)))
    assert float(on(t, p)) == pytest.approx(expected, rel=1e-6)


def test_term_is_zero_for_identical_signals_and_positive_otherwise() -> None:
    t, p = pair()
    assert float(sequence.mrstft_term(t[..., 0], t[..., 0], (64, 256, 1024))) == 0.0
    assert float(sequence.mrstft_term(np.zeros((2, 512), np.float32), np.zeros((2, 512), np.float32), (128,))) == 0.0
    far = float(sequence.mrstft_term(t[..., 0], p[..., 0], (64, 256, 1024)))
    near = float(sequence.mrstft_term(t[..., 0], (0.99 * t)[..., 0], (64, 256, 1024)))
    assert far > near > 0.0 and np.isfinite(far)
    # only the scored samples count: an error in the warm-up leaves the term at 0
    bad = t.copy()
    bad[:, :128] += 1.0
    fn = sequence.sequence_loss(128, "esr", mrstft_weight=1.0, mrstft_fft=(256,))
    assert float(fn(t, bad)) == 0.0


def test_term_is_differentiable_through_a_tiny_model() -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(1)
    inp = keras.Input(shape=(None, 1))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Dense(4, activation="tanh")(inp)))
    t, _ = pair(n=640)
    x = np.roll(t, 3, axis=1)
    fn = sequence.sequence_loss(128, "esr", mrstft_weight=1.0, mrstft_fft=(128, 512))
    with tf.GradientTape() as tape:
        value = fn(t, model(x))
    grads = tape.gradient(value, model.trainable_variables)
    flat = np.concatenate([np.ravel(g.numpy()) for g in grads])
    assert np.all(np.isfinite(flat)) and np.any(flat != 0)
    # at a perfect prediction the gradient is 0, not NaN (sqrt and log of zero are guarded)
    y = tf.Variable(t)
    with tf.GradientTape() as tape:
        value = sequence.sequence_loss(0, "mse", mrstft_weight=1.0, mrstft_fft=(128,))(t, y)
    g = tape.gradient(value, y).numpy()
    assert float(value) == 0.0 and np.all(g == 0)


def test_compile_args_passes_the_term_on() -> None:
    cfg = parse(TrainSequenceParams, {**RECIPE, "mrstft_weight": 0.1, "mrstft_fft": [256, 512]}, "train_sequence")
    assert cfg.mrstft_fft == (256, 512)
    assert sequence.compile_args(cfg)["loss"].__name__ == "seq_esr_mrstft"
    default = parse(TrainSequenceParams, RECIPE, "train_sequence")
    assert (default.mrstft_weight, default.mrstft_fft) == (0.0, (256, 512, 1024))
    assert sequence.compile_args(default)["loss"].__name__ == "seq_esr"


@pytest.mark.parametrize(("raw", "message"), [
    ({"mrstft_fft": [512, 1000]}, r"^params\.yaml: train_sequence\.mrstft_fft must list powers of two >= 64 "
                                  r"\(FFT sizes in samples\), got 1000$"),
    ({"mrstft_fft": [32]}, r"^params\.yaml: train_sequence\.mrstft_fft must be a list of integers >= 64, got \[32\]$"),
    ({"mrstft_weight": 0.1, "mrstft_fft": [512, 1024]},
     r"^params\.yaml: train_sequence\.mrstft_fft size 1024 is longer than the scored part of a segment, "
     r"train_sequence\.segment - train_sequence\.warmup = 896 samples \(lower it or raise train_sequence\.segment\)$"),
    ({"mrstft_weight": 0.1, "mrstft_fft": []}, r"mrstft_fft must list at least one FFT size"),
    ({"mrstft_weight": -0.1}, r"^params\.yaml: train_sequence\.mrstft_weight must be a number >= 0, got -0\.1$"),
])
def test_bad_sizes_and_weights_are_one_line_errors(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse(TrainSequenceParams, {**RECIPE, **raw}, "train_sequence")
    assert "\n" not in str(err.value)


def test_sizes_too_long_are_fine_while_the_term_is_off() -> None:
    """Short test segments (64 samples) keep the default sizes: they are only checked when used."""
    cfg = parse(TrainSequenceParams, {**RECIPE, "segment": 64, "warmup": 16}, "train_sequence")
    assert cfg.mrstft_weight == 0.0


@pytest.mark.parametrize(("key", "value", "message"), [
    ("mrstft_weight", "lots", r"train_sequence\.mrstft_weight must be a number >= 0, got 'lots'"),
    ("mrstft_weight", [0.1], r"train_sequence\.mrstft_weight must be a number >= 0, got \[0\.1\]"),
    ("mrstft_fft", 512, r"train_sequence\.mrstft_fft must be a list of integers >= 64, got 512"),
    ("mrstft_fft", [512, "big"], r"train_sequence\.mrstft_fft must be a list of integers >= 64, got \[512, 'big'\]"),
])
def test_wrong_types_in_params_yaml(tmp_path, key: str, value, message: str) -> None:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["train_sequence"][key] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"^params\.yaml: " + message + "$"):
        load_section(TrainSequenceParams, path)


def test_params_yaml_has_the_keys_off() -> None:
    cfg = load_section(TrainSequenceParams, ROOT / "params.yaml")
    assert cfg.mrstft_weight == 0.0 and cfg.mrstft_fft == (256, 512, 1024)
