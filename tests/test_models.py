"""The named structures build with the documented shapes and layer names; the skip model's output
is dense(LSTM) + dry; unknown names are clear errors. The larger one-layer LSTMs (48, 64, 80 units)
go everywhere a sequence model goes: both streaming loops, the block training kernel (the cpu kernel
refuses them in one line), the .keras reader, and AIDA-X files (48 padded to 64, exactly)."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from drywet.errors import ConfigError
from drywet.kinds import build_model, get_kind, macs_per_sample
from drywet.models import STRUCTURES, get_structure, lstm_param_count
from tests.lstm_models import unsettle


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_framed_structure_shapes(name: str) -> None:
    s = get_structure(name)
    model = build_model(s, "framed")
    assert model.input_shape == (None, s.frame, 1)
    assert model.output_shape == (None, 1)
    lstms = [layer for layer in model.layers if layer.__class__.__name__ == "LSTM"]
    assert len(lstms) == s.layers and all(layer.units == s.units for layer in lstms)
    assert model.count_params() == lstm_param_count(s.layers, s.units)
    y = model(np.zeros((3, s.frame, 1), np.float32))
    assert tuple(y.shape) == (3, 1)


@pytest.mark.parametrize("name", ["l1_u16_f32", "l2_u32_f64"])
def test_sequence_structure_shapes(name: str) -> None:
    s = get_structure(name)
    model = build_model(s, "sequence")
    assert model.input_shape == (None, None, 1)
    y = model(np.zeros((2, 100, 1), np.float32))
    assert tuple(y.shape) == (2, 100, 1)
    assert model.count_params() == lstm_param_count(s.layers, s.units)


def test_names_encode_layers_units_frame() -> None:
    for name, s in STRUCTURES.items():
        assert name == f"l{s.layers}_u{s.units}_f{s.frame}"
    assert {s.layers for s in STRUCTURES.values()} == {1, 2}
    assert {s.units for s in STRUCTURES.values()} == {16, 32, 48, 64, 80}
    assert {s.units for s in STRUCTURES.values() if s.layers == 2} == {16, 32}
    assert {s.frame for s in STRUCTURES.values()} == {32, 64}


def test_unknown_structure_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        get_structure("l3_u64_f128")
    assert "l3_u64_f128" in str(err.value) and all(n in str(err.value) for n in STRUCTURES)


def test_unknown_kind() -> None:
    with pytest.raises(ConfigError, match="framed, sequence"):
        build_model(get_structure("l1_u16_f32"), "gru")  # not a kind (GRU is not offered: docs/models.md)


def test_macs_framed_scale_with_frame() -> None:
    s = get_structure("l1_u32_f32")
    per_step = 4 * 32 * (1 + 32)
    assert macs_per_sample(s, "sequence") == per_step + 32
    assert macs_per_sample(s, "framed") == 32 * per_step + 32


def test_sequence_layer_names() -> None:
    model = build_model(get_structure("l2_u16_f32"), "sequence", skip=True)
    assert [layer.name for layer in model.layers] == ["dry", "lstm_1", "lstm_2", "wet", "skip"]
    assert [layer.name for layer in build_model(get_structure("l2_u16_f32"), "sequence").layers] == \
        ["dry", "lstm_1", "lstm_2", "wet"]


def test_skip_output_is_dense_plus_dry(tmp_path) -> None:
    import keras

    model = build_model(get_structure("l1_u16_f32"), "sequence", seed=2, skip=True)
    x = np.random.default_rng(0).standard_normal((2, 50, 1)).astype(np.float32)
    h = keras.Model(model.input, model.get_layer("lstm_1").output)(x).numpy()
    w, b = model.get_layer("wet").get_weights()
    expected = h @ w + b + x
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert model.count_params() == lstm_param_count(1, 16)  # the skip adds no weights
    model.save(tmp_path / "skip.keras")  # plain Keras layers: saves and loads without custom objects
    loaded = keras.models.load_model(tmp_path / "skip.keras", compile=False)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_framed_models_have_no_skip() -> None:
    with pytest.raises(ConfigError, match="sequence kind"):
        build_model(get_structure("l1_u16_f32"), "framed", skip=True)


def test_kinds_are_modules_with_one_interface() -> None:
    for kind in ("framed", "sequence"):
        module = get_kind(kind)
        for name in ("INDEX_PARAMS", "TRAIN_PARAMS", "KEEP_BEST", "build_model", "lstm_steps", "make_index",
                     "datasets", "compile_args", "predict"):
            assert hasattr(module, name), (kind, name)
    with pytest.raises(ConfigError, match="framed, sequence"):
        get_kind("gru")


# ---- the larger one-layer structures ---------------------------------------------------------------

SR = 44100
STREAM_TOL = 1e-4  # tests/test_stream.py's, for 1 x 32


@cache
def big_model(units: int, skip: bool = True):
    """A sequence model of the structure l1_u<units>_f32 as drywet.kinds builds it, its weights moved
    off their initial values (fan-in scaled, as tests/lstm_models.py does) and its audio input gain
    raised, so every unit and gate matters."""
    model = build_model(get_structure(f"l1_u{units}_f32"), "sequence", seed=units, skip=skip)
    unsettle(model, units)
    kernel, recurrent, bias = model.get_layer("lstm_1").get_weights()
    model.get_layer("lstm_1").set_weights([kernel * np.float32(8.0), recurrent, bias])
    return model


@cache
def material(seconds: float) -> np.ndarray:
    """The virtual bench's dry guitar material (tests/test_stream.py's)."""
    from drywet.bench.material import make_dry

    return make_dry(seconds, SR, seed=5)


@pytest.mark.parametrize("loop,seconds", [("c", 2.0), ("numba", 0.25)])
@pytest.mark.parametrize("units", [64, 80])
def test_larger_models_stream_within_the_1x32_tolerance(monkeypatch, units, loop, seconds) -> None:
    from drywet.lstm.stream import SequenceStream, reference_sequence, run_sequence
    from drywet.lstm.weights import SequenceWeights

    monkeypatch.setenv("DRYWET_STREAM_LOOP", loop)
    weights = SequenceWeights.from_keras(big_model(units))  # checks its reading against Keras
    dry = material(seconds)
    assert SequenceStream(weights).loop == loop
    exact = reference_sequence(weights, dry[:, None])
    y = run_sequence(weights, dry[:, None])
    assert np.std(exact - dry) > 0.02  # the LSTM does a lot, so agreement means something
    assert np.max(np.abs(y - exact)) < STREAM_TOL


@pytest.mark.parametrize("units", [64, 80])
def test_larger_models_play_the_same_from_their_aidax_file(units) -> None:
    from drywet.export import export_model, players
    from drywet.lstm.stream import reference_sequence
    from drywet.lstm.weights import SequenceWeights

    model = big_model(units)
    data = json.loads(json.dumps(export_model(model, "aidax", SR)))
    assert data["layers"][0]["shape"][-1] == units and data["in_skip"] == 1  # a compiled width: as it is
    player = players.read_aidax(data)
    player.reset(prewarm=False)
    x = material(0.25)
    exact = reference_sequence(SequenceWeights.from_keras(model), x[:, None])
    # both float64; the file's weights are the float32 ones' shortest decimals, a few 1e-9 apart as float64
    assert np.max(np.abs(player.process(x) - exact)) < 1e-6


def test_an_80_unit_model_plays_the_same_from_its_nam_file() -> None:
    from drywet.export import export_model, players
    from drywet.lstm.stream import reference_sequence
    from drywet.lstm.weights import SequenceWeights

    model = big_model(80, skip=False)  # .nam LSTMs have no skip path
    data = json.loads(json.dumps(export_model(model, "nam", SR)))
    assert data["config"] == {"input_size": 1, "hidden_size": 80, "num_layers": 1}
    player = players.read_nam(data)
    player.reset(prewarm=False)
    x = material(0.25)
    exact = reference_sequence(SequenceWeights.from_keras(model), x[:, None])
    assert np.max(np.abs(player.process(x) - exact)) < 1e-6


def _aidax_unpadded(model) -> dict:
    """The RTNeural file of a one-layer model at its own width, written here from the format (each
    float32 weight as its shortest decimal, as the exporter writes them)."""

    def decimals(a: np.ndarray) -> list:
        return [decimals(row) for row in a] if a.ndim > 1 else [float(str(v)) for v in a]

    kernel, recurrent, bias = model.get_layer("lstm_1").get_weights()
    head_w, head_b = model.get_layer("wet").get_weights()
    return {"in_shape": [None, None, 1], "in_skip": 1,
            "layers": [{"type": "lstm", "activation": "", "shape": [None, None, recurrent.shape[0]],
                        "weights": [decimals(kernel), decimals(recurrent), decimals(bias)]},
                       {"type": "dense", "activation": "", "shape": [None, None, 1],
                        "weights": [decimals(head_w), decimals(head_b)]}]}


def test_a_48_unit_model_is_padded_to_64_for_aidax_and_plays_identically() -> None:
    from drywet.export import export_model, format_notes, players

    model = big_model(48)
    data = json.loads(json.dumps(export_model(model, "aidax", SR)))
    assert data["layers"][0]["shape"][-1] == 64 and format_notes("aidax", data) == []
    padded, own = players.read_aidax(data), players.read_aidax(_aidax_unpadded(model))
    x = material(0.25)
    for player in (padded, own):
        player.reset(prewarm=False)
    assert np.max(np.abs(padded.process(x) - own.process(x))) < 1e-12  # the 16 added units stay exactly 0


@pytest.mark.parametrize("units", [48, 80])
def test_larger_models_train_with_the_block_kernel_and_are_refused_by_the_cpu_kernel(units) -> None:
    from drywet.lstm import cpu, kernels

    model = big_model(units, skip=False)
    x = (0.3 * np.random.default_rng(2).standard_normal((2, 300, 1))).astype(np.float32)
    twin = kernels.twin(model, "block")
    np.testing.assert_allclose(twin(x).numpy(), model(x).numpy(), atol=2e-5, rtol=0)
    key, way_out = get_kind("sequence").KERNEL_KEY
    with pytest.raises(ConfigError) as err:
        cpu.check_model(model, key, way_out)
    message = str(err.value)
    assert "\n" not in message and message.startswith("params.yaml: train_sequence.kernel: cpu cannot train")
    assert f"not {units} units" in message and message.endswith("set train_sequence.kernel: block")


def test_larger_models_read_from_their_keras_file(tmp_path) -> None:
    from drywet.inference import save_keras
    from drywet.lstm.keras_file import read_sequence_weights
    from drywet.lstm.weights import SequenceWeights

    model = big_model(80)
    save_keras(model, tmp_path / "model.keras")
    read, expected = read_sequence_weights(tmp_path / "model.keras"), SequenceWeights.from_keras(model)
    assert read.skip and read.layers[0].units == 80
    np.testing.assert_array_equal(read.layers[0].recurrent, expected.layers[0].recurrent)
    np.testing.assert_array_equal(read.head_w, expected.head_w)
