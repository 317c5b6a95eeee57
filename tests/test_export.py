"""The .nam export: the file, read back by a NumPy player (and by NAM itself when installed), sounds
like the Keras model it came from."""

import json

import numpy as np
import pytest

from drywet.errors import ConfigError, InputError
from drywet.export import NAM_VERSION, NamLSTM, load_nam, save_nam, to_nam
from drywet.models import build_model, get_structure, lstm_param_count

TOL = 1e-5
N_SAMPLES = 1000


def perturbed_model(structure: str, seed: int):
    """A sequence model whose weights are moved off their initial values, so that every gate and
    bias matters (fresh biases are zeros and ones). Matrix noise is scaled by fan-in so the recurrence
    stays stable, as in a trained model; an unstable one would amplify float32 rounding."""
    model = build_model(get_structure(structure), "sequence", seed=seed)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            scales = [0.5 if w.ndim == 1 else 0.5 / np.sqrt(w.shape[0]) for w in weights]
            layer.set_weights([w + rng.normal(0.0, s, w.shape).astype(np.float32)
                               for w, s in zip(weights, scales, strict=True)])
    return model


def dry_signal(seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / 8000.0
    x = 0.3 * np.sin(2 * np.pi * 220.0 * t) + 0.2 * rng.uniform(-1.0, 1.0, N_SAMPLES)
    return x.astype(np.float32)  # peak about 0.5


def keras_out(model, x: np.ndarray) -> np.ndarray:
    return model(x[None, :, None], training=False).numpy()[0, :, 0]


@pytest.mark.parametrize("structure,seed", [("l1_u16_f32", 1), ("l1_u32_f32", 2), ("l2_u16_f32", 3)])
def test_nam_file_matches_keras(tmp_path, structure, seed):
    model = perturbed_model(structure, seed)
    x = dry_signal(seed)
    path = tmp_path / "model.nam"
    save_nam(to_nam(model, 8000, {"name": "test", "effect": "sd1"}), path)
    nam = load_nam(path)

    s = get_structure(structure)
    assert nam["version"] == NAM_VERSION
    assert nam["architecture"] == "LSTM"
    assert nam["config"] == {"input_size": 1, "hidden_size": s.units, "num_layers": s.layers}
    assert nam["sample_rate"] == 8000
    assert nam["metadata"]["modeled_by"] == "drywet" and nam["metadata"]["gear_type"] == "pedal"
    assert nam["metadata"]["effect"] == "sd1"
    # Keras' parameters plus an initial hidden and cell state per layer
    assert len(nam["weights"]) == lstm_param_count(s.layers, s.units) + 2 * s.layers * s.units

    y = NamLSTM(nam).process(x)
    expected = keras_out(model, x)
    assert np.std(expected) > 0.005  # the model does something, so agreement means something
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.max(np.abs(y - expected)) < TOL


def test_gate_order_matters():
    """Swapping two gates' rows in the file changes the sound: the agreement above is not luck."""
    model = perturbed_model("l1_u16_f32", 6)
    x = dry_signal(6)
    nam = to_nam(model, 8000)
    h = 16
    w = np.asarray(nam["weights"])
    rows = w[:4 * h * (1 + h)].reshape(4 * h, 1 + h)
    w[:4 * h * (1 + h)] = np.concatenate([rows[h:2 * h], rows[:h], rows[2 * h:]]).ravel()  # f, i, g, o
    swapped = NamLSTM({**nam, "weights": w.tolist()}).process(x)
    assert np.max(np.abs(swapped - keras_out(model, x))) > 1e-2


def test_player_streams_across_calls():
    nam = to_nam(perturbed_model("l2_u16_f32", 4), 8000)
    x = dry_signal(4)
    whole = NamLSTM(nam).process(x)
    player = NamLSTM(nam)
    halves = np.concatenate([player.process(x[:300]), player.process(x[300:])])
    np.testing.assert_array_equal(whole, halves)
    player.reset()
    np.testing.assert_array_equal(player.process(x), whole)


def test_weights_are_exact_float32(tmp_path):
    model = perturbed_model("l1_u16_f32", 5)
    path = tmp_path / "m.nam"
    save_nam(to_nam(model, 48000), path)
    kernel = model.get_layer("lstm_1").get_weights()[0]  # (1, 4H): the input column of W
    flat = np.asarray(json.loads(path.read_text())["weights"], np.float32)
    units = kernel.shape[1] // 4
    w = flat[:4 * units * (1 + units)].reshape(4 * units, 1 + units)
    np.testing.assert_array_equal(w[:, 0], kernel[0])


def test_framed_model_is_refused():
    model = build_model(get_structure("l1_u16_f32"), "framed", seed=0)
    with pytest.raises(ConfigError, match="only sequence models export to .nam"):
        to_nam(model, 8000)


def test_bad_metadata_values_are_refused():
    model = build_model(get_structure("l1_u16_f32"), "sequence", seed=0)
    with pytest.raises(ConfigError, match="tone_type"):
        to_nam(model, 8000, {"tone_type": "loud"})


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
    nam = to_nam(build_model(get_structure("l1_u16_f32"), "sequence", seed=0), 8000)
    nam["weights"] = nam["weights"][:-1]
    with pytest.raises(InputError, match="weights; config implies"):
        NamLSTM(nam)
    with pytest.raises(InputError, match="not LSTM"):
        NamLSTM({**nam, "architecture": "WaveNet"})


def test_nam_package_reads_the_file_like_keras(tmp_path):
    """NAM's own loader (neural-amp-modeler, PyTorch) plays the exported file like Keras does."""
    try:
        import torch
        from nam.models import init_from_nam
    except ImportError:
        pytest.skip("neural-amp-modeler (the `nam` package, needs PyTorch) is not installed; "
                    "the NumPy player tests cover the format")
    for structure, seed in (("l1_u16_f32", 11), ("l2_u16_f32", 12)):
        model = perturbed_model(structure, seed)
        x = dry_signal(seed)
        path = tmp_path / f"{structure}.nam"
        save_nam(to_nam(model, 8000), path)
        nam_model = init_from_nam(json.loads(path.read_text()))
        nam_model.eval()
        with torch.no_grad():
            y = nam_model(torch.from_numpy(x)).numpy()
        assert np.max(np.abs(y - keras_out(model, x))) < TOL
