"""The named structures build with the documented shapes; unknown names are clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from drywet.errors import ConfigError
from drywet.models import STRUCTURES, build_model, get_structure, lstm_param_count, macs_per_sample


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
