"""Reading a sequence model's weights straight from its `.keras` file gives exactly what
`SequenceWeights.from_keras` reads from the loaded model (1 and 2 layers, with and without skip, with
knob inputs, as tests/lstm_models.py and as drywet.kinds build them); anything but that layout is
refused with a LayoutError."""

import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from drywet.errors import ConfigError
from drywet.inference import save_keras
from drywet.kinds import build_model
from drywet.lstm.keras_file import LayoutError, model_file, read_sequence_weights
from drywet.lstm.weights import SequenceWeights
from drywet.meta import ModelMeta
from drywet.models import get_structure
from tests.lstm_models import sequence_model


def assert_same(read: SequenceWeights, expected: SequenceWeights) -> None:
    assert (read.name, read.skip, read.head_b, len(read.layers)) == (
        expected.name, expected.skip, expected.head_b, len(expected.layers))
    for mine, theirs in zip(read.layers, expected.layers, strict=True):
        for a, b in ((mine.kernel, theirs.kernel), (mine.recurrent, theirs.recurrent), (mine.bias, theirs.bias)):
            assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
    assert read.head_w.dtype == np.float32
    np.testing.assert_array_equal(read.head_w, expected.head_w)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("inputs", [1, 3])
def test_equals_from_keras(tmp_path, layers, skip, inputs):
    model = sequence_model(layers, 12, inputs, skip, seed=10 * layers + inputs + skip)
    path = tmp_path / "model.keras"
    save_keras(model, path)
    assert_same(read_sequence_weights(path), SequenceWeights.from_keras(model))


@pytest.mark.parametrize("name,inputs,skip", [("l1_u32_f32", 1, True), ("l2_u16_f32", 3, True),
                                              ("l2_u16_f32", 1, False)])
def test_equals_from_keras_for_the_kinds_models(tmp_path, name, inputs, skip):
    """drywet.kinds builds the skip of a knob model as an Add of `dry[..., :1]` (a GetItem op)."""
    structure = replace(get_structure(name), inputs=inputs)
    model = build_model(structure, "sequence", seed=4, skip=skip)
    path = tmp_path / "model.keras"
    save_keras(model, path)
    assert_same(read_sequence_weights(path), SequenceWeights.from_keras(model))


def test_model_file_and_skip_check(tmp_path):
    assert model_file(tmp_path) == tmp_path / "model.keras"
    assert model_file(tmp_path / "x.keras") == tmp_path / "x.keras"
    save_keras(sequence_model(1, 8, 1, True, seed=1), tmp_path / "model.keras")
    meta = ModelMeta(effect="sd1", kind="sequence", structure="l1_u8", layers=1, units=8, frame=32,
                     sample_rate=8000, oversample=1, epochs=1, train_examples=0, supervised_samples=0, params=0)
    with pytest.raises(ConfigError, match="skip=False"):
        read_sequence_weights(tmp_path / "model.keras", meta)
    assert read_sequence_weights(tmp_path / "model.keras", replace(meta, skip=True)).skip


def rewrite_config(src, dst, change) -> None:
    """Copy a .keras file with its config.json changed by `change(config)`."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for name in a.namelist():
            data = a.read(name)
            if name == "config.json":
                config = json.loads(data)
                change(config)
                data = json.dumps(config).encode()
            b.writestr(name, data)


def layer(config, name):
    return next(item for item in config["config"]["layers"] if item["name"] == name)


@pytest.mark.parametrize("change,message", [
    (lambda c: layer(c, "lstm_1")["config"].update(activation="relu"), "tanh / sigmoid"),
    (lambda c: layer(c, "lstm_2")["config"].update(go_backwards=True), "forwards"),
    (lambda c: layer(c, "wet")["config"].update(activation="tanh"), r"Dense\(1\) without activation"),
    (lambda c: layer(c, "wet")["config"].update(dtype="mixed_float16"), "float32"),
    (lambda c: c.update(class_name="Sequential"), "not a functional one"),
    (lambda c: layer(c, "lstm_2")["inbound_nodes"][0]["args"][0]["config"]["keras_history"].__setitem__(0, "dry"),
     "layers outside the stack: lstm_1"),
])
def test_other_layouts_are_refused(tmp_path, change, message):
    good = tmp_path / "good.keras"
    save_keras(sequence_model(2, 8, 1, False, seed=2), good)
    bad = tmp_path / "bad.keras"
    rewrite_config(good, bad, change)
    with pytest.raises(LayoutError, match=message):
        read_sequence_weights(bad)


def test_framed_models_and_other_files_are_refused(tmp_path):
    framed = tmp_path / "framed.keras"
    save_keras(build_model(get_structure("l1_u16_f32"), "framed", seed=0), framed)
    with pytest.raises(LayoutError, match="framed model"):
        read_sequence_weights(framed)
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip")
    with pytest.raises(LayoutError, match="junk.keras: not a .keras file"):
        read_sequence_weights(junk)
