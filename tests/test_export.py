"""The plugin exports: each file, read back by a NumPy reader written here from the format's
description alone (and by NAM's loader or PyTorch when installed), sounds like the Keras model it
came from; models a format cannot hold are refused with one line naming the setting to train with."""

import json
from functools import cache

import numpy as np
import pytest

from drywet.errors import ConfigError, InputError
from drywet.export import NAM_VERSION, NamLSTM, export_model, format_notes, load_nam, save_json, save_nam, to_nam
from drywet.models import build_model, get_structure
from tests.lstm_models import keras_run, sequence_model, with_knobs

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


READERS = {"nam": read_nam, "aidax": read_aidax, "proteus": read_proteus}


# ---- every format against Keras ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt,layers,inputs,skip", [
    ("nam", 1, 1, False), ("nam", 2, 1, False),
    ("aidax", 1, 1, False), ("aidax", 1, 3, True), ("aidax", 2, 1, True), ("aidax", 2, 3, False),
    ("proteus", 1, 1, True), ("proteus", 1, 3, True),
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
    assert format_notes("aidax", data)  # knob inputs: AIDA-X itself plays audio-only models
    assert format_notes("aidax", export_model(model(1, 16, 1, True), "aidax", 44100)) == []
    assert any("one LSTM layer" in n for n in format_notes("aidax", export_model(model(2, 16, 1, True),
                                                                                 "aidax", 44100)))


def test_proteus_fields():
    data = export_model(model(1, 16, 3, True), "proteus", 44100)
    md = data["model_data"]
    assert md == {"model": "SimpleRNN", "input_size": 3, "skip": 1, "output_size": 1, "unit_type": "LSTM",
                  "num_layers": 1, "hidden_size": 16, "bias_fl": True, "sample_rate": 44100}
    assert set(data["state_dict"]) == {"rec.weight_ih_l0", "rec.weight_hh_l0", "rec.bias_ih_l0",
                                       "rec.bias_hh_l0", "lin.weight", "lin.bias"}
    assert format_notes("proteus", data) and "Proteus 40" in format_notes("proteus", data)[0]


def test_exports_are_byte_stable(tmp_path):
    m = model(1, 16, 1, True)
    for fmt in ("aidax", "proteus"):
        save_json(export_model(m, fmt, 8000), tmp_path / "a.json")
        save_json(export_model(m, fmt, 8000), tmp_path / "b.json")
        assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


# ---- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["nam", "aidax", "proteus"])
def test_framed_model_is_refused(fmt):
    framed = build_model(get_structure("l1_u16_f32"), "framed", seed=0)
    with pytest.raises(ConfigError, match="only sequence models export .*train with model.kind: sequence"):
        export_model(framed, fmt, 8000)


def test_nam_refuses_skip_and_knobs():
    with pytest.raises(ConfigError, match=r"train with model.skip: false"):
        to_nam(model(1, 16, 1, True), 8000)
    with pytest.raises(ConfigError, match=r"train with no knobs .*2 knob inputs"):
        to_nam(model(1, 16, 3, False), 8000)


def test_proteus_refuses_no_skip_and_two_layers():
    with pytest.raises(ConfigError, match=r"train with model.skip: true") as info:
        export_model(model(1, 16, 1, False), "proteus", 8000)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=r"train with a 1-layer structure"):
        export_model(model(2, 16, 1, True), "proteus", 8000)
    with pytest.raises(ConfigError, match=r"model.skip: true .* and a 1-layer structure"):
        export_model(model(2, 16, 1, False), "proteus", 8000)


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
