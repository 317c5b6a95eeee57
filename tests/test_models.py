"""The named structures build with the documented shapes and layer names; the skip model's output
is dense(LSTM) + dry; unknown names are clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from drywet.errors import ConfigError
from drywet.kinds import build_model, get_kind, macs_per_sample
from drywet.models import STRUCTURES, get_structure, lstm_param_count


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
    assert {s.units for s in STRUCTURES.values()} == {16, 32}
    assert {s.frame for s in STRUCTURES.values()} == {32, 64}


def test_unknown_structure_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        get_structure("l3_u64_f128")
    assert "l3_u64_f128" in str(err.value) and all(n in str(err.value) for n in STRUCTURES)


def test_unknown_kind() -> None:
    with pytest.raises(ConfigError, match="framed, sequence"):
        build_model(get_structure("l1_u16_f32"), "wavenet")


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
        get_kind("wavenet")
