"""Exact streaming: the compiled loop carries the LSTM state from the first sample to the last and
stays within 1e-4 of an exact float64 run on real program material, with skip and knob inputs."""

from functools import cache

import numpy as np
import pytest

from drywet.bench.material import make_dry
from drywet.errors import ConfigError, InputError
from drywet.meta import ModelMeta
from drywet.models import build_model, get_structure
from drywet.stream import (
    TANH_CLIP,
    SequenceStream,
    SequenceWeights,
    fast_tanh,
    knob_values,
    predict_stream,
    run_sequence,
    stream_model,
)
from tests.lstm_models import keras_run, sequence_model, with_knobs

SR = 44100
STREAM_TOL = 1e-4


@cache
def model(layers: int, units: int, inputs: int, skip: bool, seed: int = 3):
    return sequence_model(layers, units, inputs, skip, seed, input_gain=8.0)


@cache
def material(seconds: float = 2.0) -> np.ndarray:
    """The virtual bench's dry guitar material: plucks, chords, dynamics, long decays."""
    return make_dry(seconds, SR, seed=5)


def meta_for(layers: int, units: int, inputs: int, skip: bool, knobs=()) -> ModelMeta:
    return ModelMeta(effect="sd1", kind="sequence", structure=f"l{layers}_u{units}", layers=layers, units=units,
                     frame=32, sample_rate=SR, oversample=1, epochs=1, train_examples=0, supervised_samples=0,
                     params=0, skip=skip, inputs=inputs, knobs=tuple(knobs))


def reference(model, x: np.ndarray) -> np.ndarray:
    """The exact carried-state output in float64 NumPy, written from the Keras LSTM equations
    (gate columns i, f, c, o; sigmoid and tanh exact), independent of drywet.stream."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    layers = [[np.asarray(w, np.float64) for w in model.get_layer(f"lstm_{k + 1}").get_weights()]
              for k in range(sum(1 for layer in model.layers if layer.name.startswith("lstm_")))]
    dense_w, dense_b = (np.asarray(w, np.float64) for w in model.get_layer("wet").get_weights())
    skip = any(layer.name == "skip" for layer in model.layers)
    h = [np.zeros(r.shape[0]) for _, r, _ in layers]
    c = [np.zeros(r.shape[0]) for _, r, _ in layers]
    y = np.empty(len(x))
    for t in range(len(x)):
        v = x[t]
        for k, (kernel, recurrent, bias) in enumerate(layers):
            i, f, g, o = np.split(v @ kernel + h[k] @ recurrent + bias, 4)
            c[k] = c[k] / (1 + np.exp(-f)) + np.tanh(g) / (1 + np.exp(-i))
            h[k] = np.tanh(c[k]) / (1 + np.exp(-o))
            v = h[k]
        y[t] = v @ dense_w[:, 0] + dense_b[0] + (x[t, 0] if skip else 0.0)
    return y


def test_fast_tanh_is_within_5e7():
    grid = np.linspace(-3 * TANH_CLIP, 3 * TANH_CLIP, 20001).astype(np.float32)
    approx = np.array([fast_tanh(v) for v in grid], np.float64)
    assert np.max(np.abs(approx - np.tanh(grid.astype(np.float64)))) < 5e-7


def test_short_stream_matches_keras():
    """The reference below and the stream both agree with Keras itself on a short piece."""
    m = model(2, 16, 3, True)
    x = with_knobs(material(0.25)[:3000], (0.3, 0.9))
    expected = keras_run(m, x)
    assert np.max(np.abs(reference(m, x) - expected)) < 1e-5
    assert np.max(np.abs(run_sequence(SequenceWeights.from_keras(m), x) - expected)) < 1e-5


@pytest.mark.parametrize("layers,units,inputs,skip", [(1, 32, 1, True), (2, 32, 3, False)])
def test_stream_is_exact_on_program_material(layers, units, inputs, skip):
    """Two seconds of plucks and chords at 44.1 kHz: no drift from the exact carried-state run."""
    m = model(layers, units, inputs, skip)
    dry = material()
    x = dry[:, None] if inputs == 1 else with_knobs(dry, (0.7, 0.2))
    exact = reference(m, x)
    y = run_sequence(SequenceWeights.from_keras(m), x)
    assert y.dtype == np.float32 and y.shape == dry.shape
    lstm_part = exact - (dry if skip else 0.0)
    assert np.std(lstm_part) > 0.02  # the model does a lot, so agreement means something
    assert np.max(np.abs(y - exact)) < STREAM_TOL


def test_state_carries_across_calls_and_reset():
    weights = SequenceWeights.from_keras(model(2, 16, 1, True))
    x = material(0.25)
    whole = run_sequence(weights, x)
    stream = SequenceStream(weights)
    parts = np.concatenate([stream.process(x[:1000]), stream.process(x[1000:1001]), stream.process(x[1001:])])
    np.testing.assert_allclose(parts, whole, atol=1e-6, rtol=0)
    stream.reset()
    np.testing.assert_allclose(stream.process(x), whole, atol=1e-6, rtol=0)


def test_knobs_by_name_and_errors():
    m = model(1, 16, 3, True)
    meta = meta_for(1, 16, 3, True, ("gain", "tone"))
    x = material(0.1)
    by_name = stream_model(m, meta, x, {"tone": 0.2, "gain": 0.6})
    by_channel = run_sequence(SequenceWeights.from_keras(m), with_knobs(x, (0.6, 0.2)))
    np.testing.assert_allclose(by_name, by_channel, atol=1e-6, rtol=0)
    np.testing.assert_allclose(predict_stream(m, meta, x, [0.6, 0.2]), by_channel, atol=1e-6, rtol=0)
    with pytest.raises(InputError, match="needs a value for knob.*tone"):
        knob_values(meta, {"gain": 0.5})
    with pytest.raises(InputError, match="unknown knob.*level"):
        knob_values(meta, {"gain": 0.5, "tone": 0.5, "level": 1.0})
    varying = with_knobs(x, (0.6, 0.2))
    varying[10:, 1] = 0.7
    with pytest.raises(InputError, match="constant"):
        run_sequence(SequenceWeights.from_keras(m), varying)


def test_framed_model_and_skip_mismatch_are_refused():
    framed = build_model(get_structure("l1_u16_f32"), "framed", seed=0)
    with pytest.raises(ConfigError, match="train with model.kind: sequence"):
        SequenceWeights.from_keras(framed)
    with pytest.raises(ConfigError, match="skip"):
        SequenceWeights.from_keras(model(1, 16, 1, True), meta_for(1, 16, 1, False))
