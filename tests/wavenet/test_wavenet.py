"""The WaveNet kind: its Keras model is NAM's WaveNet (the same outputs as the float64 reference forward
of drywet.wavenet from the weights in `.nam` order), it trains on the sequence recipe with the context
unscored, exports to `.nam` only, and NAM's own loader plays the file like Keras (`make test-nam`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drywet.config import TrainSequenceParams
from drywet.errors import ConfigError
from drywet.export import FORMATS, export_model, plan, save_nam
from drywet.export.players import read_nam
from drywet.kinds import build_model, get_kind, get_structure, macs_per_sample, playable, structures
from drywet.kinds import wavenet as wn
from drywet.meta import ModelMeta
from drywet.wavenet.arch import PRESETS
from drywet.wavenet.weights import WaveNetWeights, reference

TOL = 1e-5


def random_model(name: str = "lite", seed: int = 3):
    """A WaveNet with every weight (biases too) moved off its initial value, so no term is zero."""
    s = get_structure(name, "wavenet")
    m = build_model(s, "wavenet", seed=seed)
    rng = np.random.default_rng(seed)
    for layer in m.layers:
        if layer.get_weights():
            layer.set_weights([w + 0.05 * rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    return m, s


def dry(n: int = 6000, seed: int = 2) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def keras_run(m, x: np.ndarray, settled: bool = False) -> np.ndarray:
    """Keras's output; `settled`: after long silence (zeros the receptive field long before `x`), as a
    plugin plays after its prewarm, rather than with every layer's history zero (causal padding)."""
    pad = wn.config(wn.STRUCTURES[m.name.removesuffix("_wavenet")]).receptive_field - 1 if settled else 0
    return m.predict(np.pad(x, (pad, 0))[None, :, None], verbose=0)[0, pad:, 0]


def test_structures_are_nams_presets_with_their_sizes():
    assert set(structures("wavenet")) == set(PRESETS)
    m, s = random_model("standard")
    # NAM's standard WaveNet: 13,801 floats; the last layer's 1x1 (8 x 8 + 8) feeds nothing and is not built
    assert wn.config(s).param_count() == 13_801 and m.count_params() == 13_801 - 72
    assert wn.context(s) == 4092
    assert macs_per_sample(s, "wavenet") == wn.config(s).macs_per_sample()
    with pytest.raises(ConfigError, match="unknown model.structure 'l1_u32_f32' for model.kind wavenet"):
        get_structure("l1_u32_f32", "wavenet")
    with pytest.raises(ConfigError, match="model.skip"):
        build_model(s, "wavenet", skip=True)


@pytest.mark.parametrize("name", ["lite", "standard"])
def test_keras_model_is_the_reference_forward_of_its_nam_weights(name):
    """Keras's causal convolutions and the float64 forward of the weights in `.nam` order agree, and so
    does the compiled stream the predict stage scores with."""
    m, s = random_model(name)
    x = dry()
    y_keras = keras_run(m, x)
    weights = wn.weights_of(m, s)
    assert isinstance(weights, WaveNetWeights)
    assert np.max(np.abs(y_keras - reference(weights, x))) < TOL
    assert np.max(np.abs(get_kind("wavenet").predict(m, x) - keras_run(m, x, settled=True))) < TOL
    assert np.std(y_keras) > 1e-3  # not a trivially silent model


def test_flat_order_puts_each_tensor_where_nam_reads_it():
    """Swapping two weights of the first conv changes the played output: the order is not symmetric."""
    m, s = random_model("nano")
    flat = wn.flat_weights(m, s)
    cfg = wn.config(s)
    assert flat.size == cfg.param_count() + 1 and flat[-1] == np.float32(cfg.head_scale)
    swapped = flat.copy()
    first = cfg.arrays[0].channels  # after the rechannel: conv W (out, in, k), the first row's taps
    swapped[first], swapped[first + 1] = flat[first + 1], flat[first]
    x = dry(3000)
    a = reference(WaveNetWeights.from_flat(cfg, flat), x)
    b = reference(WaveNetWeights.from_flat(cfg, swapped), x)
    assert np.max(np.abs(a - keras_run(m, x))) < TOL and np.max(np.abs(b - a)) > 1e-4


def test_exports_to_nam_only_and_the_file_plays_like_keras(tmp_path):
    m, s = random_model("lite")
    weights = playable(m)
    loads, skipped = plan(weights, 48000)
    assert list(loads) == ["nam"] and set(skipped) == set(FORMATS) - {"nam"}
    assert all("hold LSTM models" in why and ".nam" in why for why in skipped.values())
    data = export_model(m, "nam", 48000, {"name": "amp"})
    assert data["architecture"] == "WaveNet"
    classic = {**wn.config(s).to_nam()}
    assert [{k: v for k, v in a.items() if k != "head"} for a in data["config"]["layers"]] == classic["layers"]
    assert data["config"]["layers"][1]["head"] == {"out_channels": 1, "kernel_size": 1, "bias": True}
    assert data["config"]["layers"][0]["dilations"] == [1, 2, 4, 8, 16, 32, 64]
    assert len(data["weights"]) == wn.config(s).param_count() + 1 and data["metadata"]["name"] == "amp"
    save_nam(data, tmp_path / "amp.nam")
    x = dry()
    player = read_nam(json.loads((tmp_path / "amp.nam").read_text()))
    player.reset(prewarm=False)
    assert np.max(np.abs(player.process(x) - keras_run(m, x, settled=True))) < TOL
    with pytest.raises(ConfigError, match="AIDA-X files hold LSTM models; this WaveNet exports to .nam"):
        export_model(m, "aidax", 48000)


def test_recipe_lengthens_segments_by_the_context():
    s = get_structure("lite", "wavenet")
    cfg = TrainSequenceParams(epochs=2, patience=None, batch_size=4, segment=1000, warmup=10, max_segments=None,
                              learning_rate=0.004, schedule="constant", loss="esr", preemph="none",
                              preemph_coeff=0.85, grad_clip=None, kernel="block", seed=1, checkpoints=())
    index = wn.make_index(50_000, 20_000, s, cfg)
    assert index.length == 1000 + wn.context(s)
    assert index.supervised == index.train.shape[1] * (1000 - 10)
    with pytest.raises(ConfigError, match="context is longer than the training or validation part"):
        wn.make_index(50_000, 3000, s, cfg)


def test_meta_names_the_structure_for_export():
    m, s = random_model("nano")
    meta = ModelMeta(effect="amp", kind="wavenet", structure="nano", layers=s.layers, units=s.units, frame=1,
                     sample_rate=48000, oversample=1, epochs=1, train_examples=1, supervised_samples=1,
                     params=m.count_params())
    assert playable(m, meta).config == wn.config(s)


# ---- NAM's own loader, where installed (`make test-nam`) ------------------------------------------------


@pytest.mark.parametrize("name", ["lite", "standard"])
def test_nam_package_plays_the_wavenet_file_like_keras(tmp_path, name):
    """NAM's own loader (neural-amp-modeler, PyTorch) reads the exported WaveNet and plays it like Keras."""
    try:
        import torch
        from nam.models import init_from_nam
    except ImportError:
        pytest.skip("neural-amp-modeler (the `nam` package, needs PyTorch) is not installed")
    m, _ = random_model(name)
    path = tmp_path / f"{name}.nam"
    save_nam(export_model(m, "nam", 48000), path)
    net = init_from_nam(json.loads(path.read_text()))
    net.eval()
    x = dry(8000)
    with torch.no_grad():
        y = net(torch.from_numpy(x[None, :])).numpy().ravel()
    assert y.size == x.size  # NAM pads the start with zeros: the output after long silence
    assert np.max(np.abs(y - keras_run(m, x, settled=True))) < TOL
