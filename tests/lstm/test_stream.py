"""Exact streaming: both loops (C, and Numba where there is no compiler) carry the LSTM state from
the first sample to the last and stay within 1e-4 of an exact float64 run on real program material
(1 and 2 layers, with and without skip, with knob inputs); their tanh and logistic stay within the
stated error bounds; the weights are read once per model; `drywet.inference.predict` is the one way
in."""

import re
from functools import cache

import numpy as np
import pytest

from drywet import native
from drywet.bench.material import make_dry
from drywet.errors import ConfigError, InputError
from drywet.inference import predict
from drywet.kinds import build_model
from drywet.knobs import knob_values
from drywet.lstm import stream
from drywet.lstm.activation import TANH_CLIP, TANH_MAX_ERROR
from drywet.lstm.stream import SequenceStream, activations, reference_sequence, run_sequence, stream_model
from drywet.lstm.weights import LstmLayer, SequenceWeights
from drywet.meta import ModelMeta
from drywet.models import get_structure
from tests.lstm_models import keras_run, sequence_model, with_knobs

SR = 44100
STREAM_TOL = 1e-4


@pytest.fixture
def loop(request, monkeypatch):
    """Runs the test with DRYWET_STREAM_LOOP set to the parameter (and checks that loop is used)."""
    monkeypatch.setenv("DRYWET_STREAM_LOOP", request.param)
    return request.param


@cache
def model(layers: int, units: int, inputs: int, skip: bool, seed: int = 3):
    return sequence_model(layers, units, inputs, skip, seed, input_gain=8.0)


@cache
def material(seconds: float = 2.0) -> np.ndarray:
    """The virtual bench's dry guitar material: plucks, chords, dynamics, long decays."""
    return make_dry(seconds, SR, seed=5)


def meta_for(layers: int, units: int, inputs: int, skip: bool, knobs=(), oversample: int = 1) -> ModelMeta:
    return ModelMeta(effect="sd1", kind="sequence", structure=f"l{layers}_u{units}", layers=layers, units=units,
                     frame=32, sample_rate=SR, oversample=oversample, epochs=1, train_examples=0,
                     supervised_samples=0, params=0, skip=skip, inputs=inputs, knobs=tuple(knobs))


def numpy_reference(model, x: np.ndarray) -> np.ndarray:
    """The exact carried-state output in float64 NumPy, written from the Keras LSTM equations
    (gate columns i, f, c, o; sigmoid and tanh exact), independent of drywet.lstm.stream."""
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


@pytest.mark.parametrize("loop", ["c", "numba"], indirect=True)
def test_tanh_and_logistic_are_within_their_bounds(loop):
    """Over the whole float32 range that matters (and far into the clamp), on a fine grid."""
    grid = np.concatenate([np.linspace(-3 * TANH_CLIP, 3 * TANH_CLIP, 400_001),
                           np.geomspace(1e-6, 1e4, 2001), -np.geomspace(1e-6, 1e4, 2001)]).astype(np.float32)
    tanh, sigmoid = activations(grid, loop)
    exact = grid.astype(np.float64)
    assert np.max(np.abs(tanh - np.tanh(exact))) < TANH_MAX_ERROR
    assert np.max(np.abs(sigmoid - 0.5 * (1.0 + np.tanh(0.5 * exact)))) < TANH_MAX_ERROR / 2
    assert np.all(np.abs(tanh) <= 1.0) and np.all((sigmoid >= 0.0) & (sigmoid <= 1.0))


@pytest.mark.parametrize("layers,units,skip", [(1, 16, True), (2, 32, False)])
def test_references_and_stream_match_keras(layers, units, skip):
    """The float64 references (NumPy, and drywet.lstm.stream's compiled one) and the stream all agree with
    Keras itself on a short piece (models with two knob inputs)."""
    m = model(layers, units, 3, skip)
    x = with_knobs(material(0.25)[:3000], (0.3, 0.9))
    expected = keras_run(m, x)
    by_numpy = numpy_reference(m, x)
    weights = SequenceWeights.from_keras(m)
    assert np.max(np.abs(by_numpy - expected)) < 1e-5
    assert np.max(np.abs(reference_sequence(weights, x) - by_numpy)) < 1e-12
    assert np.max(np.abs(run_sequence(weights, x) - expected)) < 1e-5


@pytest.mark.parametrize("loop", ["c", "numba"], indirect=True)
@pytest.mark.parametrize("layers,units,inputs,skip", [(1, 32, 1, True), (1, 32, 1, False), (2, 32, 1, True),
                                                      (2, 32, 3, False)])
def test_stream_is_exact_on_program_material(layers, units, inputs, skip, loop):
    """Two seconds of plucks and chords at 44.1 kHz: no drift from the exact carried-state run."""
    m = model(layers, units, inputs, skip)
    dry = material()
    x = dry[:, None] if inputs == 1 else with_knobs(dry, (0.7, 0.2))
    weights = SequenceWeights.from_keras(m)
    exact = reference_sequence(weights, x)
    assert SequenceStream(weights, (0.7, 0.2)[:inputs - 1]).loop == loop
    y = run_sequence(weights, x)
    assert y.dtype == np.float32 and y.shape == dry.shape
    lstm_part = exact - (dry if skip else 0.0)
    assert np.std(lstm_part) > 0.02  # the model does a lot, so agreement means something
    assert np.max(np.abs(y - exact)) < STREAM_TOL


@pytest.mark.parametrize("loop", ["c", "numba"], indirect=True)
def test_unequal_widths_are_padded_exactly(loop):
    """A stack of 8 then 16 units (other sources' models): the loop pads the narrow layer with
    all-zero units, which stay exactly 0."""
    rng = np.random.default_rng(1)

    def layer(inputs, units):
        return LstmLayer(rng.normal(0, 2.0 / np.sqrt(inputs), (inputs, 4 * units)).astype(np.float32),
                         rng.normal(0, 0.5 / np.sqrt(units), (units, 4 * units)).astype(np.float32),
                         rng.normal(0, 0.5, 4 * units).astype(np.float32))

    weights = SequenceWeights((layer(2, 8), layer(8, 16)), rng.normal(0, 0.3, 16).astype(np.float32), 0.1,
                              True, "mixed")
    x = with_knobs(material(0.5), (0.4,))
    assert np.max(np.abs(run_sequence(weights, x) - reference_sequence(weights, x))) < STREAM_TOL


@pytest.mark.parametrize("loop", ["c", "numba"], indirect=True)
def test_state_carries_across_calls_and_reset(loop):
    weights = SequenceWeights.from_keras(model(2, 32, 1, True))
    x = material(0.25)
    whole = run_sequence(weights, x)
    s = SequenceStream(weights)
    parts = np.concatenate([s.process(x[:1000]), s.process(x[1000:1001]), s.process(x[1001:])])
    np.testing.assert_allclose(parts, whole, atol=1e-6, rtol=0)
    if loop == "c":  # each layer's arithmetic is the same in every round: cutting changes no bit
        np.testing.assert_array_equal(parts, whole)
    s.reset()
    np.testing.assert_allclose(s.process(x), whole, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(run_sequence(weights, x, progress=True), whole)


def test_weights_are_read_once_per_model(monkeypatch):
    """The Keras probe check runs once per model and weights, not on every predict; new weights are
    read (and checked) again."""
    m = sequence_model(1, 16, 1, False, seed=7)
    calls = []
    check = SequenceWeights._check_against
    monkeypatch.setattr(SequenceWeights, "_check_against", lambda self, mdl: calls.append(1) or check(self, mdl))
    first = SequenceWeights.from_keras(m)
    assert SequenceWeights.from_keras(m) is first and len(calls) == 1
    meta = meta_for(1, 16, 1, False)
    predict(m, meta, material(0.05))
    predict(m, meta, material(0.05))
    assert len(calls) == 1
    head = m.get_layer("wet")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 2, bias])
    again = SequenceWeights.from_keras(m)
    assert len(calls) == 2 and np.array_equal(again.head_w, first.head_w * 2)


def test_predict_is_the_one_path():
    """inference.predict streams sequence models (oversampled ones between the filters), with knobs by
    name or in channel order; stream_model gives the same output."""
    m = model(1, 16, 3, True)
    meta = meta_for(1, 16, 3, True, ("gain", "tone"))
    x = material(0.1)
    by_channel = run_sequence(SequenceWeights.from_keras(m), with_knobs(x, (0.6, 0.2)))
    np.testing.assert_array_equal(predict(m, meta, x, knobs={"tone": 0.2, "gain": 0.6}), by_channel)
    np.testing.assert_array_equal(predict(m, meta, x, knobs=[0.6, 0.2]), by_channel)
    np.testing.assert_array_equal(stream_model(m, meta, with_knobs(x, (0.6, 0.2))), by_channel)

    from drywet.antialias import downsample, upsample

    plain = model(1, 32, 1, False)
    twice = predict(plain, meta_for(1, 32, 1, False, oversample=2), x)
    np.testing.assert_array_equal(twice, downsample(stream_model(plain, None, upsample(x, 2)), 2, len(x)))


def test_knob_errors():
    m = model(1, 16, 3, True)
    meta = meta_for(1, 16, 3, True, ("gain", "tone"))
    with pytest.raises(InputError, match="needs a value for knob.*tone"):
        knob_values(meta, {"gain": 0.5})
    with pytest.raises(InputError, match="unknown knob.*level"):
        knob_values(meta, {"gain": 0.5, "tone": 0.5, "level": 1.0})
    with pytest.raises(InputError, match="needs a value for knob"):
        predict(m, meta, material(0.05))
    varying = with_knobs(material(0.1), (0.6, 0.2))
    varying[10:, 1] = 0.7
    with pytest.raises(InputError, match="constant"):
        run_sequence(SequenceWeights.from_keras(m), varying)


def test_framed_model_and_skip_mismatch_are_refused():
    framed = build_model(get_structure("l1_u16_f32"), "framed", seed=0)
    with pytest.raises(ConfigError, match="train with model.kind: sequence"):
        SequenceWeights.from_keras(framed)
    with pytest.raises(ConfigError, match="skip"):
        SequenceWeights.from_keras(model(1, 32, 1, True), meta_for(1, 32, 1, False))


def test_the_loop_runs_on_one_thread():
    """No Numba parallel loops, no threads in the C loop (the speed claims are for one thread)."""
    from drywet.lstm import stream_numba

    assert not stream_numba.loop(16).targetoptions.get("parallel")
    source = stream.KERNEL_SOURCE.read_text()
    assert "pthread" not in source and "#pragma omp" not in source


@pytest.mark.parametrize("layers,units", [(1, 80), (3, 24), (2, 128), (1, 16), (2, 48)])
def test_c_loop_at_other_widths_and_depths(layers, units):
    """Widths the C loop pads (24 -> 32, 80 -> 80 at a runtime width), stacks of 3, its widest."""
    rng = np.random.default_rng(units + layers)
    n_in, stack = 1, []
    for _ in range(layers):
        stack.append(LstmLayer(rng.normal(0, 2.0 / np.sqrt(n_in), (n_in, 4 * units)).astype(np.float32),
                               rng.normal(0, 0.5 / np.sqrt(units), (units, 4 * units)).astype(np.float32),
                               rng.normal(0, 0.5, 4 * units).astype(np.float32)))
        n_in = units
    weights = SequenceWeights(tuple(stack), rng.normal(0, 0.3, units).astype(np.float32), 0.1, False, "odd")
    assert SequenceStream(weights).loop == "c"
    x = material(0.2)
    assert np.max(np.abs(run_sequence(weights, x) - reference_sequence(weights, x))) < STREAM_TOL


def test_c_loop_uses_the_fitted_tanh():
    """The C loop's tanh (drywet/native/vec.h's `tanh_fit`) writes TANH_P, TANH_Q and TANH_CLIP out;
    they must be drywet.lstm.activation's."""
    from drywet.lstm.activation import TANH_P, TANH_Q

    source = (native.INCLUDE / "vec.h").read_text()
    assert '#include "vec.h"' in stream.KERNEL_SOURCE.read_text()
    written = {name: float(value) for name, value in re.findall(r"\bTANH_([PQ]\d|CLIP) = ([-0-9.e+]+)f", source)}
    expected = {**{f"P{i}": v for i, v in enumerate(TANH_P)}, **{f"Q{i}": v for i, v in enumerate(TANH_Q) if i},
                "CLIP": TANH_CLIP}
    assert written == pytest.approx(expected, rel=0, abs=0)


def test_without_a_compiler_the_numba_loop_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("DRYWET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(stream, "KERNEL", stream.native.LazyLibrary(stream.KERNEL_SOURCE, stream._declare))
    weights = SequenceWeights.from_keras(model(1, 32, 1, True))
    assert SequenceStream(weights).loop == "numba" and "no-such-cc" in stream.kernel_error()
    x = material(0.1)
    assert np.max(np.abs(run_sequence(weights, x) - reference_sequence(weights, x))) < STREAM_TOL


def test_an_unknown_loop_name_is_one_error(monkeypatch):
    monkeypatch.setenv("DRYWET_STREAM_LOOP", "gpu")
    with pytest.raises(ConfigError, match="DRYWET_STREAM_LOOP must be one of c, numba, got 'gpu'"):
        SequenceStream(SequenceWeights.from_keras(model(1, 32, 1, True)))


def test_c_loop_flushes_denormals_only_inside_the_call():
    """A state decaying through silence would reach subnormal floats (slow on x86); the C loop flushes
    them during its call and leaves the caller's floating-point mode as it was."""
    weights = SequenceWeights.from_keras(model(1, 32, 1, False))
    silence_after_a_pluck = np.concatenate([material(0.05), np.zeros(20_000, np.float32)])
    y = run_sequence(weights, silence_after_a_pluck)
    assert np.max(np.abs(y - reference_sequence(weights, silence_after_a_pluck))) < STREAM_TOL
    tiny = np.array([1e-38], np.float32)
    assert (tiny * np.float32(0.01))[0] != 0.0  # subnormal results still exist outside the loop
