"""The plugin exports: each file, read back by a NumPy reader written here from the format's
description alone (and by NAM's loader or PyTorch when installed), sounds like the Keras model it
came from; models a format cannot hold are refused with one line naming the setting to train with."""

import datetime
import json
import sys
from functools import cache

import numpy as np
import pytest

from drywet.app.cli import main
from drywet.config import GearParams
from drywet.errors import ConfigError, InputError
from drywet.export import (
    FORMATS,
    NAM_VERSION,
    Format,
    NamLSTM,
    aidax,
    export_model,
    format_notes,
    load_nam,
    nam,
    plan,
    players,
    save_json,
    save_nam,
    to_nam,
)
from drywet.export.bundle import framed_skips
from drywet.export.format import registry
from drywet.export.loudness import loudness_and_gain, reference_input
from drywet.export.plugins import Plugin
from drywet.kinds import build_model
from drywet.lstm.weights import SequenceWeights
from drywet.models import get_structure
from stages import export as stage
from tests.lstm_models import keras_run, sequence_model, with_knobs
from tests.pipeline.test_export_stage import FX, _meta, _setup

TOL = 1e-5
N_SAMPLES = 1000
KNOBS = (0.25, 0.8)


@cache
def model(layers: int, units: int, inputs: int, skip: bool, seed: int = 1):
    return sequence_model(layers, units, inputs, skip, seed)


def dry_signal(seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / 8000.0
    x = 0.3 * np.sin(2 * np.pi * 220.0 * t) + 0.2 * rng.uniform(-1.0, 1.0, N_SAMPLES)
    return x.astype(np.float32)  # peak about 0.5


def model_input(inputs: int, seed: int = 7) -> np.ndarray:
    x = dry_signal(seed)
    return x[:, None] if inputs == 1 else with_knobs(x, KNOBS[:inputs - 1])


# ---- independent readers: each knows only its format's description --------------------------------


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _lstm_step(z: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM update from the pre-activations z = (i, f, g, o) blocks; returns (h, c)."""
    i, f, g, o = np.split(z, 4)
    c = _sig(f) * c + _sig(i) * np.tanh(g)
    return _sig(o) * np.tanh(c), c


def read_nam(nam: dict, x: np.ndarray) -> np.ndarray:
    """`.nam` LSTM: flat weights, per layer W (4H, in+H) row-major, b, h0, c0; then head w, b."""
    cfg = nam["config"]
    hidden, n_layers, n_in = cfg["hidden_size"], cfg["num_layers"], cfg["input_size"]
    flat = np.asarray(nam["weights"], np.float64)
    pos, layers = 0, []
    for k in range(n_layers):
        width = (n_in if k == 0 else hidden) + hidden
        w = flat[pos:pos + 4 * hidden * width].reshape(4 * hidden, width)
        pos += 4 * hidden * width
        b = flat[pos:pos + 4 * hidden]
        h0, c0 = flat[pos + 4 * hidden:pos + 5 * hidden], flat[pos + 5 * hidden:pos + 6 * hidden]
        pos += 6 * hidden
        layers.append([w, b, h0.copy(), c0.copy()])
    head_w, head_b = flat[pos:pos + hidden], flat[pos + hidden]
    assert pos + hidden + 1 == flat.size
    y = np.empty(len(x))
    for t, sample in enumerate(np.asarray(x, np.float64).reshape(len(x), -1)):
        v = sample
        for layer in layers:
            w, b, h, c = layer
            layer[2], layer[3] = _lstm_step(w @ np.concatenate([v, h]) + b, c)
            v = layer[2]
        y[t] = head_w @ v + head_b
    return y


def read_aidax(data: dict, x: np.ndarray) -> np.ndarray:
    """RTNeural JSON: lstm layers [kernel (in, 4H), recurrent (H, 4H), bias], then a dense layer;
    `in_skip` adds input channel 0 to the output."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    assert x.shape[1] == data["in_shape"][-1]
    lstms = [layer for layer in data["layers"] if layer["type"] == "lstm"]
    dense = data["layers"][-1]
    assert dense["type"] == "dense" and len(lstms) == len(data["layers"]) - 1
    params = [[np.asarray(w, np.float64) for w in layer["weights"]] for layer in lstms]
    for layer, (kernel, recurrent, bias) in zip(lstms, params, strict=True):
        assert recurrent.shape == (layer["shape"][-1], 4 * layer["shape"][-1]) and bias.shape == (kernel.shape[1],)
    state = [(np.zeros(p[1].shape[0]), np.zeros(p[1].shape[0])) for p in params]
    dense_w, dense_b = (np.asarray(w, np.float64) for w in dense["weights"])
    y = np.empty(len(x))
    for t in range(len(x)):
        v = x[t]
        for k, (kernel, recurrent, bias) in enumerate(params):
            h, c = _lstm_step(v @ kernel + state[k][0] @ recurrent + bias, state[k][1])
            state[k] = (h, c)
            v = h
        y[t] = (v @ dense_w)[0] + dense_b[0] + (x[t, 0] if data.get("in_skip", 0) else 0.0)
    return y


def read_proteus(data: dict, x: np.ndarray) -> np.ndarray:
    """Proteus JSON: PyTorch LSTM state dict (rows i, f, g, o; biases summed) + linear; the dry
    input (channel 0) is always added to the output."""
    md, sd = data["model_data"], data["state_dict"]
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    assert md["unit_type"] == "LSTM" and md["num_layers"] == 1 and x.shape[1] == md["input_size"]
    w_ih, w_hh = np.asarray(sd["rec.weight_ih_l0"]), np.asarray(sd["rec.weight_hh_l0"])
    b = np.asarray(sd["rec.bias_ih_l0"]) + np.asarray(sd["rec.bias_hh_l0"])
    lin_w, lin_b = np.asarray(sd["lin.weight"]), np.asarray(sd["lin.bias"])
    hidden = md["hidden_size"]
    assert w_ih.shape == (4 * hidden, md["input_size"]) and w_hh.shape == (4 * hidden, hidden)
    assert lin_w.shape == (1, hidden) and lin_b.shape == (1,)
    h, c = np.zeros(hidden), np.zeros(hidden)
    y = np.empty(len(x))
    for t in range(len(x)):
        h, c = _lstm_step(w_ih @ x[t] + w_hh @ h + b, c)
        y[t] = (lin_w @ h)[0] + lin_b[0] + x[t, 0]
    return y


READERS = {"nam": read_nam, "aidax": read_aidax, "proteus": read_proteus, "neuralpi": read_proteus}


# ---- every format against Keras ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt,layers,inputs,skip", [
    ("nam", 1, 1, False), ("nam", 2, 1, False),
    ("aidax", 1, 1, False), ("aidax", 1, 3, True),
    ("proteus", 1, 1, True), ("proteus", 1, 3, True), ("neuralpi", 1, 2, True),
    ("proteus", 1, 1, False), ("neuralpi", 1, 2, False),
])
def test_file_read_back_matches_keras(tmp_path, fmt, layers, inputs, skip):
    m = model(layers, 16, inputs, skip)
    x = model_input(inputs)
    path = tmp_path / f"model.{fmt}"
    save_json(export_model(m, fmt, 48000, {"effect": "sd1"}), path)
    data = json.loads(path.read_text())
    expected = keras_run(m, x)
    assert np.std(expected - (x[:, 0] if skip else 0)) > 0.005  # the LSTM does something
    y = READERS[fmt](data, x)
    assert np.max(np.abs(y - expected)) < TOL


def test_aidax_fields(tmp_path):
    data = export_model(model(1, 16, 3, True), "aidax", 44100, {"effect": "sd1"})
    assert data["in_shape"] == [None, None, 3] and data["in_skip"] == 1
    lstm, dense = data["layers"]
    assert lstm["type"] == "lstm" and lstm["shape"] == [None, None, 16] and lstm["activation"] == ""
    assert [np.shape(w) for w in lstm["weights"]] == [(3, 64), (16, 64), (64,)]
    assert dense["type"] == "dense" and [np.shape(w) for w in dense["weights"]] == [(16, 1), (1,)]
    assert data["metadata"]["samplerate"] == 44100 and data["metadata"]["effect"] == "sd1"
    assert "in_skip" not in export_model(model(1, 16, 1, False), "aidax", 44100)
    assert format_notes("aidax", data) == []  # AIDA-X 1.1.0 plays knob models (PARAM1, PARAM2)
    assert format_notes("aidax", export_model(model(1, 16, 1, True), "aidax", 44100)) == []
    stacked = {**data, "layers": [data["layers"][0], *data["layers"]]}  # another source's 2-layer file
    assert any("plays as silence" in n for n in format_notes("aidax", stacked))


@pytest.mark.parametrize("fmt,width", [("proteus", 40), ("neuralpi", 20)])
def test_proteus_fields(fmt, width):
    data = export_model(model(1, 16, 3, True), fmt, 44100)
    md = data["model_data"]
    assert md == {"model": "SimpleRNN", "input_size": 3, "skip": 1, "output_size": 1, "unit_type": "LSTM",
                  "num_layers": 1, "hidden_size": width, "bias_fl": True, "sample_rate": 44100}
    assert set(data["state_dict"]) == {"rec.weight_ih_l0", "rec.weight_hh_l0", "rec.bias_ih_l0",
                                       "rec.bias_hh_l0", "lin.weight", "lin.bias"}
    shapes = {k: np.shape(v) for k, v in data["state_dict"].items()}
    assert shapes == {"rec.weight_ih_l0": (4 * width, 3), "rec.weight_hh_l0": (4 * width, width),
                      "rec.bias_ih_l0": (4 * width,), "rec.bias_hh_l0": (4 * width,), "lin.weight": (1, width),
                      "lin.bias": (1,)}
    assert format_notes(fmt, data) == []


def test_exports_are_byte_stable(tmp_path):
    m = model(1, 16, 1, True)
    for fmt in ("aidax", "proteus", "neuralpi"):
        save_json(export_model(m, fmt, 8000), tmp_path / "a.json")
        save_json(export_model(m, fmt, 8000), tmp_path / "b.json")
        assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


# ---- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["nam", "aidax", "proteus", "neuralpi"])
def test_framed_model_is_refused(fmt):
    framed = build_model(get_structure("l1_u16_f32"), "framed", seed=0)
    with pytest.raises(ConfigError, match="framed models play in no plugin; train with model.kind: sequence"):
        export_model(framed, fmt, 8000)


def test_nam_refuses_skip_and_knobs():
    with pytest.raises(ConfigError, match=r"train with model.skip: false"):
        to_nam(model(1, 16, 1, True), 8000)
    with pytest.raises(ConfigError, match=r"train with no knobs .*2 knob inputs"):
        to_nam(model(1, 16, 3, False), 8000)


def test_proteus_refuses_two_layers_and_too_wide():
    with pytest.raises(ConfigError, match=r"train with a 1-layer structure") as info:
        export_model(model(2, 16, 1, True), "proteus", 8000)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=r"at most 19 units .*one of them to cancel the dry input"):
        export_model(model(1, 20, 1, False), "neuralpi", 8000)


def test_no_skip_model_in_proteus_cancels_the_dry_it_adds():
    """Proteus adds the dry input to every output: a model without the skip path gets one unit that
    carries the dry (eps x) and a head weight of -1/eps; the independent reader (which adds the dry,
    as the plugin does) plays it within 1e-6 of Keras at full scale."""
    m = model(1, 16, 1, False)
    x = np.linspace(-1.0, 1.0, 400, dtype=np.float32)[:, None]  # full scale, where the cubic error peaks
    data = export_model(m, "proteus", 8000)
    assert data["model_data"]["hidden_size"] == 40 and data["model_data"]["skip"] == 1
    assert np.max(np.abs(read_proteus(data, x) - keras_run(m, x))) < 1e-6
    with pytest.raises(ConfigError, match=r"at most 39 units"):
        export_model(model(1, 40, 1, False), "proteus", 8000)


def test_unknown_format():
    with pytest.raises(ConfigError, match="unknown export format 'vst'"):
        export_model(model(1, 16, 1, True), "vst", 8000)


# ---- the .nam specifics (kept from the first exporter) ------------------------------------------------


@pytest.mark.parametrize("layers", [1, 2])
def test_nam_fields_and_player(tmp_path, layers):
    m = model(layers, 16, 1, False)
    x = dry_signal(layers)
    path = tmp_path / "model.nam"
    save_nam(to_nam(m, 8000, {"name": "test", "effect": "sd1"}), path)
    nam = load_nam(path)
    assert nam["version"] == NAM_VERSION and nam["architecture"] == "LSTM"
    assert nam["config"] == {"input_size": 1, "hidden_size": 16, "num_layers": layers}
    assert nam["sample_rate"] == 8000
    assert nam["metadata"]["modeled_by"] == "drywet" and nam["metadata"]["gear_type"] == "pedal"
    assert nam["metadata"]["effect"] == "sd1"
    assert len(nam["weights"]) == m.count_params() + 2 * layers * 16  # plus h0, c0 per layer
    y = NamLSTM(nam).process(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.max(np.abs(y - keras_run(m, x))) < TOL


def test_gate_order_matters():
    """Swapping two gates' rows in the file changes the sound: the agreement above is not luck."""
    m = model(1, 16, 1, False)
    x = dry_signal(6)
    nam = to_nam(m, 8000)
    h = 16
    w = np.asarray(nam["weights"])
    rows = w[:4 * h * (1 + h)].reshape(4 * h, 1 + h)
    w[:4 * h * (1 + h)] = np.concatenate([rows[h:2 * h], rows[:h], rows[2 * h:]]).ravel()  # f, i, g, o
    swapped = read_nam({**nam, "weights": w.tolist()}, x)
    assert np.max(np.abs(swapped - keras_run(m, x))) > 1e-2


def test_player_streams_across_calls():
    nam = to_nam(model(2, 16, 1, False), 8000)
    x = dry_signal(4)
    whole = NamLSTM(nam).process(x)
    player = NamLSTM(nam)
    halves = np.concatenate([player.process(x[:300]), player.process(x[300:])])
    np.testing.assert_array_equal(whole, halves)
    player.reset()
    np.testing.assert_array_equal(player.process(x), whole)


def test_weights_are_exact_float32(tmp_path):
    m = model(1, 16, 1, False)
    path = tmp_path / "m.nam"
    save_nam(to_nam(m, 48000), path)
    kernel = m.get_layer("lstm_1").get_weights()[0]  # (1, 4H): the input column of W
    flat = np.asarray(json.loads(path.read_text())["weights"], np.float32)
    w = flat[:4 * 16 * 17].reshape(64, 17)
    np.testing.assert_array_equal(w[:, 0], kernel[0])


def test_bad_metadata_values_are_refused():
    with pytest.raises(ConfigError, match="tone_type"):
        to_nam(model(1, 16, 1, False), 8000, {"tone_type": "loud"})


def test_load_nam_rejects_bad_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_nam(tmp_path / "missing.nam")
    bad = tmp_path / "bad.nam"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a readable .nam"):
        load_nam(bad)
    bad.write_text(json.dumps({"version": "0.5.4", "weights": []}))
    with pytest.raises(InputError, match="missing architecture, config"):
        load_nam(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a JSON object"):
        load_nam(bad)


def test_player_rejects_inconsistent_weights():
    nam = to_nam(model(1, 16, 1, False), 8000)
    nam["weights"] = nam["weights"][:-1]
    with pytest.raises(InputError, match="weights; config implies"):
        NamLSTM(nam)
    with pytest.raises(InputError, match="not LSTM"):
        NamLSTM({**nam, "architecture": "WaveNet"})


# ---- zero-padding to the plugins' compiled widths ---------------------------------------------------


def _dense(m) -> tuple[np.ndarray, np.ndarray]:
    return tuple(m.get_layer("wet").get_weights())


def _proteus_by_hand(m) -> dict:
    """The unpadded Proteus file of a 1-layer Keras model, written here from the format's description."""
    kernel, recurrent, bias = m.get_layer("lstm_1").get_weights()
    dense_w, dense_b = _dense(m)
    hidden = recurrent.shape[0]
    return {"model_data": {"unit_type": "LSTM", "num_layers": 1, "input_size": kernel.shape[0], "hidden_size": hidden},
            "state_dict": {"rec.weight_ih_l0": kernel.T.tolist(), "rec.weight_hh_l0": recurrent.T.tolist(),
                           "rec.bias_ih_l0": bias.tolist(), "rec.bias_hh_l0": [0.0] * 4 * hidden,
                           "lin.weight": dense_w.T.tolist(), "lin.bias": dense_b.tolist()}}


def _aidax_by_hand(m, skip: bool) -> dict:
    """The unpadded RTNeural file of a 1-layer Keras model, written here from the format's description."""
    kernel, recurrent, bias = m.get_layer("lstm_1").get_weights()
    dense_w, dense_b = _dense(m)
    return {"in_shape": [None, None, kernel.shape[0]], "in_skip": int(skip),
            "layers": [{"type": "lstm", "shape": [None, None, recurrent.shape[0]],
                        "weights": [kernel.tolist(), recurrent.tolist(), bias.tolist()]},
                       {"type": "dense", "shape": [None, None, 1], "weights": [dense_w.tolist(), dense_b.tolist()]}]}


@pytest.mark.parametrize("fmt,units,inputs", [("proteus", 16, 1), ("proteus", 32, 2), ("proteus", 40, 1),
                                              ("neuralpi", 12, 1), ("neuralpi", 20, 2)])
def test_padded_proteus_plays_like_the_unpadded_model(fmt, units, inputs):
    m = model(1, units, inputs, True)
    x = model_input(inputs)
    padded = json.loads(json.dumps(export_model(m, fmt, 44100)))
    width = {"proteus": 40, "neuralpi": 20}[fmt]
    assert padded["model_data"]["hidden_size"] == width
    y = read_proteus(padded, x)
    assert np.max(np.abs(y - read_proteus(_proteus_by_hand(m), x))) < 1e-6
    assert np.max(np.abs(y - keras_run(m, x))) < TOL
    w_hh = np.asarray(padded["state_dict"]["rec.weight_hh_l0"])  # the added units: no weight in or out
    added = np.concatenate([np.arange(g * width + units, (g + 1) * width) for g in range(4)])
    assert not w_hh[added].any() and not w_hh[:, units:].any()
    assert not np.asarray(padded["state_dict"]["lin.weight"])[0, units:].any()


@pytest.mark.parametrize("units,width", [(10, 12), (28, 32), (50, 64), (24, 24)])
def test_aidax_pads_to_the_next_compiled_width(units, width):
    m = model(1, units, 1, True)
    x = model_input(1)
    data = json.loads(json.dumps(export_model(m, "aidax", 44100)))
    assert data["layers"][0]["shape"][-1] == width and format_notes("aidax", data) == []
    y = read_aidax(data, x)
    assert np.max(np.abs(y - read_aidax(_aidax_by_hand(m, True), x))) < 1e-6
    assert np.max(np.abs(y - keras_run(m, x))) < TOL


def test_nam_pads_layers_of_unequal_widths():
    import keras

    keras.utils.set_random_seed(3)
    inp = keras.Input(shape=(None, 1), name="dry")
    h = keras.layers.LSTM(24, return_sequences=True, name="lstm_1")(inp)
    h = keras.layers.LSTM(16, return_sequences=True, name="lstm_2")(h)
    m = keras.Model(inp, keras.layers.Dense(1, name="wet")(h), name="unequal")
    x = dry_signal(8)
    data = json.loads(json.dumps(to_nam(m, 8000)))
    assert data["config"] == {"input_size": 1, "hidden_size": 24, "num_layers": 2}
    assert np.max(np.abs(read_nam(data, x) - keras_run(m, x))) < TOL


@pytest.mark.parametrize("fmt,units,width", [("proteus", 48, 40), ("neuralpi", 32, 20)])
def test_a_model_wider_than_the_plugin_is_refused(fmt, units, width):
    with pytest.raises(ConfigError, match=rf"train with at most {width} units") as info:
        export_model(model(1, units, 1, True), fmt, 44100)
    assert "\n" not in str(info.value)


# ---- which formats released plugins load ---------------------------------------------------------------

AIDAX_WIDTHS = (8, 12, 16, 20, 24, 32, 40, 64, 80)  # AIDA-X 1.1.0 src/model_variant.hpp


def _loads_in_release(fmt: str, data: dict) -> bool:
    """The released builds' loading rules, applied to the file's own contents."""
    if fmt == "nam":
        return data["architecture"] == "LSTM" and data["config"]["input_size"] == 1
    if fmt == "aidax":
        lstms = [layer for layer in data["layers"] if layer["type"] == "lstm"]
        return (len(data["layers"]) == 2 and len(lstms) == 1 and lstms[0]["shape"][-1] in AIDAX_WIDTHS
                and data["in_shape"][-1] in (1, 2, 3) and data.get("in_skip", 0) in (0, 1))
    md = data["model_data"]
    return (md["num_layers"] == 1 and md["input_size"] in (1, 2) and md["skip"] == 1
            and md["hidden_size"] == {"proteus": 40, "neuralpi": 20}[fmt])


@pytest.mark.parametrize("layers,units,inputs,skip,rate,expected", [
    (1, 32, 1, False, 44100, {"nam", "aidax", "proteus"}),  # Proteus: one unit cancels the dry it adds
    (1, 32, 1, True, 44100, {"aidax", "proteus"}),
    (1, 16, 2, True, 44100, {"aidax", "proteus", "neuralpi"}),
    (1, 16, 3, True, 44100, {"aidax"}),  # Proteus and NeuralPi play one knob
    (2, 16, 1, False, 44100, {"nam"}),
    (2, 16, 1, True, 44100, set()),
    (1, 16, 1, True, 48000, {"aidax", "proteus", "neuralpi"}),  # Proteus plays it at 44.1 kHz (a note)
    (1, 96, 1, True, 44100, set()),
])
def test_plan_lists_only_what_released_plugins_load(layers, units, inputs, skip, rate, expected):
    weights = SequenceWeights.from_keras(model(layers, units, inputs, skip))
    loads, skipped = plan(weights, rate)
    assert set(loads) == expected and set(loads) | set(skipped) == set(FORMATS)
    assert all(reason and "\n" not in reason for reason in skipped.values())
    for fmt in FORMATS:
        try:
            data = FORMATS[fmt].build(weights, rate)
        except ConfigError:
            assert fmt not in loads
            continue
        if fmt in loads:
            assert _loads_in_release(fmt, data)
        elif not (fmt == "proteus" and rate != 44100):  # that one loads, but plays at the wrong rate
            assert not _loads_in_release(fmt, data)


# ---- metadata ------------------------------------------------------------------------------------------


def test_nam_metadata_from_gear_and_training():
    gear = GearParams(gear_type="amp", gear_make="Acme", gear_model="OD-1", tone_type="crunch",
                      modeled_by="A. Player", name="Acme OD-1", input_level_dbu=12.0, output_level_dbu=None)
    info = nam.gear_metadata(gear, "fallback", test_esr=0.02, verdict="not bad", latency_samples=3.5)
    assert info == {"name": "Acme OD-1", "gear_type": "amp", "gear_make": "Acme", "gear_model": "OD-1",
                    "tone_type": "crunch", "modeled_by": "A. Player", "input_level_dbu": 12.0,
                    "output_level_dbu": None,
                    "training": {"test_esr": 0.02, "verdict": "not bad", "latency_samples": 3.5}}
    plain = nam.gear_metadata(None, "drywet sd1", date=datetime.date(2024, 5, 1))
    assert plain["gear_type"] == "pedal" and plain["name"] == "drywet sd1" and "training" not in plain
    assert plain["date"] == {"year": 2024, "month": 5, "day": 1, "hour": 0, "minute": 0, "second": 0}
    data = nam.with_levels(to_nam(model(1, 16, 1, False), 48000, info))
    md = data["metadata"]
    assert {k: md[k] for k in info} == info and "date" not in md
    assert isinstance(md["loudness"], float) and -60.0 < md["loudness"] < 20.0 and 0.0 <= md["gain"] <= 1.0
    again = nam.with_levels(to_nam(model(1, 16, 1, False), 48000, info))
    assert json.dumps(again, sort_keys=True) == json.dumps(data, sort_keys=True)


def test_loudness_and_gain_follow_nams_definitions():
    x = reference_input()
    assert x.size == 48000 and abs(20 * np.log10(np.sqrt(np.mean(x ** 2))) + 15.0) < 1e-9
    power, f = np.abs(np.fft.rfft(x)) ** 2, np.fft.rfftfreq(x.size, 1 / 48000)
    octaves = [power[(f >= lo) & (f < 2 * lo)].sum() for lo in (125, 500, 2000, 8000)]
    assert max(octaves) / min(octaves) < 2.0  # pink: about the same energy in every octave
    loudness, gain = loudness_and_gain(lambda v: 0.5 * v)  # linear: no compression
    assert abs(loudness - (-15.0 + 20 * np.log10(0.5))) < 1e-9 and abs(gain) < 1e-12
    assert loudness_and_gain(lambda v: 0.3 * np.sign(v))[1] > 0.8  # the same level at every input gain
    assert loudness_and_gain(lambda v: 0.0 * v) == (None, 0.0)


def test_aidax_metadata_from_gear():
    gear = GearParams(tone_type="fuzz", modeled_by="A. Player", name="Fuzzy")
    info = aidax.gear_metadata(gear, "fallback", 0.012, 48000)
    assert info == {"name": "Fuzzy", "author": "A. Player", "style": "fuzz", "esr": 0.012, "samplerate": 48000}
    assert {k: v for k, v in export_model(model(1, 16, 1, True), "aidax", 48000, info)["metadata"].items()
            if k in info} == info


# ---- the library's players (what the export stage scores files with) ----------------------------------


@pytest.mark.parametrize("fmt,layers,inputs,skip", [("nam", 2, 1, False), ("aidax", 1, 3, True),
                                                    ("aidax", 1, 1, False), ("proteus", 1, 2, True),
                                                    ("neuralpi", 1, 1, True)])
def test_library_players_agree_with_these_readers(fmt, layers, inputs, skip):
    m = model(layers, 16, inputs, skip)
    x = model_input(inputs)
    data = json.loads(json.dumps(export_model(m, fmt, 8000)))
    player = FORMATS[fmt].reader(data)
    player.reset(prewarm=False)
    assert np.max(np.abs(player.process(x) - READERS[fmt](data, x))) < 1e-9


def test_players_prewarm_like_the_plugins():
    data = export_model(model(1, 16, 1, False), "nam", 8000)
    player = players.read_nam(data)
    assert player.prewarm == 4000  # 0.5 s at the file's rate
    assert players.read_aidax(export_model(model(1, 16, 1, False), "aidax", 8000)).prewarm == 2048
    assert players.read_proteus(export_model(model(1, 16, 1, True), "proteus", 8000)).prewarm == 0
    x = dry_signal(9)
    warm = player.process(x)  # the constructor's reset ran the prewarm
    player.reset(prewarm=False)
    cold = player.process(x)
    assert abs(warm[0] - cold[0]) > 1e-6 and np.max(np.abs(warm[-100:] - cold[-100:])) < 1e-4


# ---- the format registry: a new format is one Format and one FORMATS line ----------------------------


TOY_PLUGIN = Plugin("Toy 0.1", None, 1, (1,), None, host_rate=True, controls=("Toy's Level knob is unity at noon",))


def _toy_build(weights: SequenceWeights, rate: int, metadata: dict | None = None) -> dict:
    """A one-layer LSTM in Keras' layout, flat keys: what a new format's `from_weights` would write."""
    if len(weights.layers) != 1:
        raise ConfigError(f"model '{weights.name}' cannot export to Toy; train with a 1-layer structure")
    layer = weights.layers[0]
    return {"toy_version": 1, "rate": rate, "skip": int(weights.skip), "kernel": layer.kernel.tolist(),
            "recurrent": layer.recurrent.tolist(), "bias": layer.bias.tolist(), "head_w": weights.head_w.tolist(),
            "head_b": float(weights.head_b), "metadata": {"name": weights.name, **(metadata or {})}}


def _toy_read(data: dict) -> players.Player:
    """The toy file played from its keys alone, on the library's player."""
    kernel, recurrent = np.asarray(data["kernel"], np.float64), np.asarray(data["recurrent"], np.float64)
    hidden = recurrent.shape[0]
    layer = players.Layer(kernel.T, recurrent.T, np.asarray(data["bias"], np.float64), np.zeros(hidden),
                          np.zeros(hidden))
    return players.Player([layer], np.asarray(data["head_w"], np.float64), data["head_b"], bool(data["skip"]),
                          kernel.shape[0], data["rate"], 0)


TOY = Format(name="toy", suffix=".toy.json", label="Toy", build=_toy_build, plugins=(TOY_PLUGIN,), reader=_toy_read,
             metadata=lambda about: {"name": about.name, "esr": about.esr, "gear": about.gear.gear_model},
             finish=lambda data: {**data, "finished": True})


def test_a_new_format_is_one_format_object_and_its_registry_line(tmp_path, monkeypatch, capsys):
    """With only its Format registered, a format is planned, built, played from the file and written by
    the export stage, and offered by `python -m drywet export --format`."""
    monkeypatch.setitem(FORMATS, "toy", TOY)
    m = sequence_model(1, 16, 1, True, seed=2)
    assert plan(SequenceWeights.from_keras(m), 8000)[0]["toy"] == ["Toy 0.1"]
    assert "toy" in framed_skips() and format_notes("toy", {}) == []
    argv = _setup(tmp_path, monkeypatch, m, _meta(m, "sequence", 16, True))
    monkeypatch.setattr(sys, "argv", argv)
    stage.main()
    out = tmp_path / "exports" / FX
    summary = json.loads((out / "exports.json").read_text())
    entry = summary["formats"]["toy"]
    assert entry["file"] == f"{FX}.toy.json" and entry["plugins"] == ["Toy 0.1"] and entry["plugin_rate"] == 8000
    assert abs(entry["plugin_esr"] - entry["esr"]) < 1e-4 and entry["plugin_esr"] > 1e-3  # played from the file
    assert "Toy's Level knob is unity at noon" in entry["notes"] and "set the host to 8000 Hz" in entry["notes"][0]
    data = json.loads((out / f"{FX}.toy.json").read_text())
    assert data["finished"] and data["toy_version"] == 1 and np.shape(data["kernel"]) == (1, 64)
    assert data["metadata"] == {"name": f"drywet {FX} l1_u16_f32", "esr": entry["esr"], "gear": "OD-1"}
    capsys.readouterr()
    assert main(["export", "--format", "toy", f"models/{FX}", "cli.toy.json"]) == 0
    assert "loads in Toy 0.1" in capsys.readouterr().out
    assert json.loads((tmp_path / "cli.toy.json").read_text())["finished"]


def test_unknown_format_on_the_command_line(capsys):
    assert main(["export", "--format", "vst", "no-such-model", "out.json"]) == 2
    assert capsys.readouterr().err == "error: unknown export format 'vst'; valid: nam, aidax, proteus, neuralpi\n"


def test_registry_refuses_a_repeated_name_or_suffix_and_a_format_without_plugins():
    with pytest.raises(ValueError, match="repeats the name or suffix of 'toy'"):
        registry(TOY, Format(name="toy2", suffix=".toy.json", label="Toy", build=_toy_build, plugins=(TOY_PLUGIN,),
                             reader=TOY.reader))
    with pytest.raises(ValueError, match="names no plugin"):
        Format(name="toy", suffix=".toy.json", label="Toy", build=_toy_build, plugins=(), reader=TOY.reader)


# ---- the plugins' own loaders, where installed (`make test-nam`) --------------------------------------


def test_nam_package_reads_the_file_like_keras(tmp_path):
    """NAM's own loader (neural-amp-modeler, PyTorch) plays the exported file like Keras does."""
    try:
        import torch
        from nam.models import init_from_nam
    except ImportError:
        pytest.skip("neural-amp-modeler (the `nam` package, needs PyTorch) is not installed; "
                    "the NumPy reader tests cover the format")
    for layers in (1, 2):
        m = model(layers, 16, 1, False)
        x = dry_signal(10 + layers)
        path = tmp_path / f"l{layers}.nam"
        save_nam(to_nam(m, 8000), path)
        nam_model = init_from_nam(json.loads(path.read_text()))
        nam_model.eval()
        with torch.no_grad():
            y = nam_model(torch.from_numpy(x)).numpy()
        assert np.max(np.abs(y - keras_run(m, x))) < TOL


def test_nam_package_measures_the_same_loudness_and_gain():
    """NAM's own loudness and gain code, given the same standard input, reads what the metadata says."""
    try:
        import torch
        from nam.models import init_from_nam
    except ImportError:
        pytest.skip("neural-amp-modeler (the `nam` package, needs PyTorch) is not installed")
    data = nam.with_levels(to_nam(model(1, 16, 1, False), 48000))
    net = init_from_nam(json.loads(json.dumps(data)))
    net.eval()
    net._metadata_loudness_x = lambda: torch.from_numpy(np.array(reference_input(), np.float32))
    with torch.no_grad():
        loudness, gain = net._metadata_loudness(), float(net._metadata_gain())
    assert abs(loudness - data["metadata"]["loudness"]) < 1e-3 and abs(gain - data["metadata"]["gain"]) < 1e-3


@pytest.mark.parametrize("inputs", [1, 3])
def test_pytorch_lstm_loads_the_proteus_state_dict(tmp_path, inputs):
    """torch.nn.LSTM + nn.Linear, loaded from the Proteus file's state dict, play it like Keras."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (make test-nam installs it)")
    m = model(1, 16, inputs, True)
    x = model_input(inputs)
    path = tmp_path / "proteus.json"
    save_json(export_model(m, "proteus", 8000), path)
    data = json.loads(path.read_text())
    md = data["model_data"]

    class SimpleRNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rec = torch.nn.LSTM(md["input_size"], md["hidden_size"], md["num_layers"], batch_first=True)
            self.lin = torch.nn.Linear(md["hidden_size"], md["output_size"], bias=md["bias_fl"])

        def forward(self, x):
            return self.lin(self.rec(x)[0]) + x[..., :1]

    net = SimpleRNN()
    net.load_state_dict({k: torch.tensor(v) for k, v in data["state_dict"].items()})
    with torch.no_grad():
        y = net(torch.from_numpy(np.ascontiguousarray(x))[None]).numpy()[0, :, 0]
    assert np.max(np.abs(y - keras_run(m, x))) < TOL


# ---- AIDA-X never gets a file of more than one layer (it would load it and play silence) -------------


def test_a_two_layer_model_is_refused_for_aidax_by_the_library_the_command_and_the_stage(tmp_path, monkeypatch,
                                                                                       capsys):
    from dataclasses import replace

    m = sequence_model(2, 16, 1, False, seed=6)
    # the library function `python -m drywet export` calls, and the format's builder under it
    for build in (lambda: export_model(m, "aidax", 8000), lambda: aidax.from_weights(SequenceWeights.from_keras(m),
                                                                                        8000)):
        with pytest.raises(ConfigError) as info:
            build()
        reason = str(info.value)
        assert "\n" not in reason and "cannot export to AIDA-X" in reason and "plays silence" in reason
        assert reason.endswith("this model has 2 (train with a 1-layer structure)")
    # the export stage: no AIDA-X file, the reason in exports.json (the .nam, which loads, is written)
    argv = _setup(tmp_path, monkeypatch, m, replace(_meta(m, "sequence", 16, False), layers=2,
                                                    structure="l2_u16_f32"))
    monkeypatch.setattr(sys, "argv", argv)
    stage.main()
    out = tmp_path / "exports" / FX
    summary = json.loads((out / "exports.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == ["exports.json", f"{FX}.nam"]
    assert "plays silence" in summary["skipped"]["aidax"] and "\n" not in summary["skipped"]["aidax"]
    # the command: one line on standard error, exit status 2, no file
    capsys.readouterr()
    assert main(["export", "--format", "aidax", f"models/{FX}", "two.aidax.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: model ") and "plays silence" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "two.aidax.json").exists()


def test_wider_models_than_proteus_and_neuralpi_are_refused_in_one_clear_sentence():
    """A 48-unit model (l1_u48_f32) loads in NAM and, padded to 64, in AIDA-X; Proteus (40) and
    NeuralPi (20) refuse it naming the widths that fit, with and without the skip path."""
    from drywet.export.plugins import refusal
    from drywet.export.proteus import NEURALPI_PLUGIN, PROTEUS_PLUGIN

    for skip, fits in ((False, "at most 39 units, or 40 with model.skip: true"), (True, "at most 40 units")):
        weights = SequenceWeights.from_keras(model(1, 48, 1, skip))
        loads, skipped = plan(weights, 44100)
        assert set(loads) == ({"aidax"} if skip else {"nam", "aidax"})
        assert skipped["proteus"] == refusal(PROTEUS_PLUGIN, weights, 44100) == (
            f"Proteus 1.2 is built for 40 units; this model has 48 (train with {fits})")
        narrow = fits.replace("39", "19").replace("40", "20")
        assert refusal(NEURALPI_PLUGIN, weights, 44100).endswith(f"(train with {narrow})")
        with pytest.raises(ConfigError, match=r"cannot export to Proteus; train with at most (39|40) units"):
            export_model(model(1, 48, 1, skip), "proteus", 44100)
        assert export_model(model(1, 48, 1, skip), "aidax", 44100)["layers"][0]["shape"][-1] == 64
