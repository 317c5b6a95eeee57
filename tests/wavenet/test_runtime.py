"""drywet.wavenet, NAM's classic WaveNet without Keras: the presets' sizes, the `.nam` config and
flat weight list both ways (NAM core's order), the float64 reference against a per-sample loop
written here from the model's equations, and both streaming loops (C, and Numba where there is no
compiler) against the reference within 1e-5, whatever the cut into blocks, after a reset too."""

import json
import subprocess
import sys

import numpy as np
import pytest

from drywet.errors import ConfigError
from drywet.wavenet import (
    PRESETS,
    LayerArray,
    WaveNetConfig,
    WaveNetStream,
    WaveNetWeights,
    from_flat,
    random_weights,
    reference,
    run_wavenet,
)
from drywet.wavenet import stream as wavenet_stream

TOL = 1e-5
N = 4000  # samples of noise: a few thousand, past the standard preset's receptive field (4093) with LONG
LONG = 6000

# The config of NAM core's example model `example_models/wavenet_a1_standard.nam` (v0.5.4), written out
STANDARD_NAM = {
    "layers": [
        {"input_size": 1, "condition_size": 1, "head_size": 8, "channels": 16, "kernel_size": 3,
         "dilations": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], "activation": "Tanh", "gated": False,
         "head_bias": False},
        {"input_size": 16, "condition_size": 1, "head_size": 1, "channels": 8, "kernel_size": 3,
         "dilations": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], "activation": "Tanh", "gated": False,
         "head_bias": True},
    ],
    "head": None,
    "head_scale": 0.02,
}

# Three arrays, gated and not, kernels 2 to 4, odd channel counts, a dilation over one C block (128)
GATED = WaveNetConfig((
    LayerArray(input_size=1, condition_size=1, head_size=5, channels=6, kernel_size=3, dilations=(1, 3, 9, 27),
               gated=True, head_bias=True),
    LayerArray(input_size=6, condition_size=1, head_size=3, channels=5, kernel_size=2, dilations=(1, 2, 200),
               gated=True, head_bias=False),
    LayerArray(input_size=5, condition_size=1, head_size=1, channels=3, kernel_size=4, dilations=(5, 1),
               gated=False, head_bias=True),
), head_scale=0.05)


def noise(n: int = N, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


@pytest.fixture
def loop(request, monkeypatch):
    """Runs the test with DRYWET_STREAM_LOOP set to the parameter."""
    monkeypatch.setenv("DRYWET_STREAM_LOOP", request.param)
    return request.param


# -- architecture ------------------------------------------------------------------------------------


def test_preset_sizes():
    standard = PRESETS["standard"]
    assert standard.param_count() == 13801  # NAM core's example file: 13,802 floats with head_scale
    assert standard.receptive_field == 4093
    assert standard.macs_per_sample() == 13801 - 481 + 1  # the biases (481) are not multiply-adds
    lite = PRESETS["lite"]  # by hand: 12 + 7 x 612 + 72, then 72 + 13 x 162 + 7
    assert lite.param_count() == 6553 and lite.receptive_field == 1 + 2 * 127 + 2 * 1919
    assert [c.arrays[0].channels for c in PRESETS.values()] == [16, 12, 8, 4]
    assert [c.arrays[1].channels for c in PRESETS.values()] == [8, 6, 4, 2]
    for config in PRESETS.values():
        assert random_weights(config).to_flat().size == config.param_count() + 1


def test_standard_preset_is_nams():
    assert PRESETS["standard"].to_nam() == STANDARD_NAM
    assert WaveNetConfig.from_nam(STANDARD_NAM) == PRESETS["standard"]


@pytest.mark.parametrize("config", [*PRESETS.values(), GATED], ids=[*PRESETS, "gated"])
def test_nam_config_round_trip(config):
    text = json.dumps(config.to_nam())
    assert WaveNetConfig.from_nam(json.loads(text)) == config
    assert isinstance(config.to_nam()["layers"][0]["dilations"], list)


def _broken(change) -> dict:
    config = json.loads(json.dumps(STANDARD_NAM))
    change(config)
    return config


@pytest.mark.parametrize(("change", "words"), [
    (lambda c: c.update(head={"channels": 8}), "head must be null"),
    (lambda c: c.update(extra=1), "unknown key(s) extra"),
    (lambda c: c["layers"][0].pop("gated"), "missing key(s) gated"),
    (lambda c: c["layers"][1].update(groups_input=1), "layer array 1: unknown key(s) groups_input"),
    (lambda c: c["layers"][0].update(activation="ReLU"), "layer array 0: activation"),
    (lambda c: c["layers"][1].update(condition_size=2), "layer array 1: condition_size must be 1"),
    (lambda c: c["layers"][0].update(head_size=4), "head_size of layer array 0 (4) must equal channels of layer"),
    (lambda c: c["layers"][1].update(input_size=8), "input_size of layer array 1 (8) must equal channels"),
    (lambda c: c["layers"][1].update(head_size=2), "head_size of the last layer array must be 1"),
    (lambda c: c["layers"][0].update(dilations=[]), "layer array 0: dilations must not be empty"),
    (lambda c: c["layers"][0].update(kernel_size=0), "layer array 0: kernel_size must be a positive integer"),
    (lambda c: c["layers"][0].update(gated="no"), "layer array 0: gated must be true or false"),
    (lambda c: c.update(layers=[]), "at least one layer array"),
    (lambda c: c.update(head_scale=float("nan")), "head_scale must be a finite number"),
])
def test_config_errors_are_one_line(change, words):
    with pytest.raises(ConfigError) as info:
        WaveNetConfig.from_nam(_broken(change))
    assert words in str(info.value) and "\n" not in str(info.value)


# -- weights -------------------------------------------------------------------------------------------


def test_flat_round_trip_and_order():
    config = PRESETS["standard"]
    flat = np.arange(config.param_count() + 1, dtype=np.float32)
    weights = WaveNetWeights.from_flat(config, flat)
    assert np.array_equal(weights.to_flat(), flat) and weights.to_flat().dtype == np.float32
    first, second = weights.arrays
    assert np.array_equal(first.rechannel[:, 0], np.arange(16))  # (out 16, in 1)
    layer = first.layers[0]  # conv (out, in, k) row-major, then bias, mixer, layer1x1, its bias
    assert layer.conv[2, 5, 1] == 16 + (2 * 16 + 5) * 3 + 1
    assert layer.conv_bias[0] == 16 + 768 and layer.mixer[0, 0] == 16 + 784
    assert layer.layer1x1[1, 0] == 16 + 800 + 16 and layer.layer1x1_bias[0] == 16 + 800 + 256
    assert first.head_bias is None and first.head[0, 0] == 16 + 10 * 1072
    assert second.head_bias is not None and second.head_bias[0] == config.param_count() - 1
    assert weights.head_scale == config.param_count()  # the last float
    assert np.array_equal(from_flat(config, flat).to_flat(), flat)


def test_flat_of_the_wrong_length():
    with pytest.raises(ConfigError, match=r"has 13802 weights \(with head_scale\), got 13801"):
        WaveNetWeights.from_flat(PRESETS["standard"], np.zeros(13801))


def test_weight_shapes_are_checked():
    weights = random_weights(GATED)
    layer = weights.arrays[1].layers[0]
    bad = type(layer)(layer.conv[:, :, :1], layer.conv_bias, layer.mixer, layer.layer1x1, layer.layer1x1_bias)
    arrays = list(weights.arrays)
    arrays[1] = type(arrays[1])(arrays[1].rechannel, (bad, *arrays[1].layers[1:]), arrays[1].head, None)
    with pytest.raises(ConfigError, match=r"layer array 1 layer 0 conv: expected shape \(10, 5, 2\), got \(10, 5, 1\)"):
        WaveNetWeights(GATED, tuple(arrays), weights.head_scale)


def per_sample(weights: WaveNetWeights, x: np.ndarray, tanh=np.tanh) -> np.ndarray:
    """The model one sample at a time with explicit histories, written from NAM's equations: the
    dilated conv out[n] = b + sum_k W[k] in[n - (K - 1 - k) d], zeros before the first sample;
    `tanh` the activation (the gate's logistic stays exact, as in NAM)."""
    histories = [[[] for _ in a.layers] for a in weights.arrays]
    y = np.empty(len(x))
    for n, xn in enumerate(np.asarray(x, np.float64)):
        v, head = np.array([xn]), None
        for array, w, hist in zip(weights.config.arrays, weights.arrays, histories, strict=True):
            h = w.rechannel @ v
            for d, layer, past in zip(array.dilations, w.layers, hist, strict=True):
                past.append(h)
                k = array.kernel_size
                z = layer.conv_bias + layer.mixer[:, 0] * xn
                for tap in range(k):
                    back = (k - 1 - tap) * d
                    if back < len(past):
                        z = z + layer.conv[:, :, tap] @ past[-1 - back]
                c = array.channels
                a = tanh(z[:c]) / (1 + np.exp(-z[c:])) if array.gated else tanh(z)
                head = a if head is None else head + a
                h = h + layer.layer1x1 @ a + layer.layer1x1_bias
            head = w.head @ head + (w.head_bias if w.head_bias is not None else 0.0)
            v = h
        y[n] = weights.head_scale * head[0]
    return y


def test_reference_is_the_model():
    weights = random_weights(GATED, seed=4)
    x = noise(400, seed=2)
    assert np.max(np.abs(reference(weights, x) - per_sample(weights, x))) < 1e-12


def nam_fast_tanh(x):
    """NAM's fast tanh (NeuralAmpModelerCore NAM/activations.h), written out here from its source."""
    ax, x2 = np.abs(x), x * x
    return (x * (2.45550750702956 + 2.45550750702956 * ax + (0.893229853513558 + 0.821226666969744 * ax) * x2)
            / (2.44506634652299 + (2.44506634652299 + x2) * np.abs(x + 0.814642734961073 * x * ax)))


def test_fast_tanh_plays_as_nam_by_default():
    """A `.nam` WaveNet played with the NAM plugin's fast tanh (drywet.export.players, through the
    float64 reference) is the direct evaluation with NAM's fast tanh, and a small ESR from exact."""
    from drywet.export import players
    from drywet.lstm.activation import fast_tanh
    from drywet.metrics import esr

    grid = np.linspace(-12, 12, 4001)
    assert np.array_equal(fast_tanh(grid), nam_fast_tanh(grid))  # the one copy is NAM's formula
    weights = random_weights(GATED, seed=4)
    data = {"architecture": "WaveNet", "config": GATED.to_nam(), "weights": weights.to_flat().tolist(),
            "sample_rate": 48000}
    player = players.read_nam(data)
    player.fast_tanh = True
    player.reset(prewarm=False)
    x = noise(400, seed=2)
    played = np.concatenate([player.process(x[:150]), player.process(x[150:])])  # the state carries on
    settle = np.zeros(GATED.receptive_field - 1)
    direct = per_sample(weights, np.concatenate([settle, x]), nam_fast_tanh)[settle.size:]
    np.testing.assert_allclose(played, direct, rtol=0, atol=1e-12)
    exact = per_sample(weights, np.concatenate([settle, x]))[settle.size:]
    assert 1e-6 < esr(exact, played) < 1e-3
    player.fast_tanh = False
    player.reset(prewarm=False)
    assert np.max(np.abs(player.process(x) - exact)) < TOL  # the compiled loop, exact tanh


# -- streaming ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("loop", ["c", "numba"], indirect=True)
@pytest.mark.parametrize("name", ["standard", "lite", "gated"])
def test_stream_matches_reference(loop, name):
    config = GATED if name == "gated" else PRESETS[name]
    weights = random_weights(config, seed=1)
    x = noise(LONG if name == "standard" else N)
    expected = reference(weights, x)
    assert 0.05 < np.sqrt(np.mean(expected ** 2)) < 2.0  # a test of size, not of near-silence
    stream = WaveNetStream(weights)
    assert stream.loop == loop
    y = stream.process(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y - expected)) < TOL


@pytest.mark.parametrize("loop", ["c", "numba"], indirect=True)
@pytest.mark.parametrize("block", [1, 7, 300])
def test_output_does_not_depend_on_blocks(loop, block):
    weights = random_weights(GATED, seed=2)
    x = noise(3000, seed=3)
    whole = run_wavenet(weights, x)
    stream = WaveNetStream(weights)
    cut = np.concatenate([stream.process(x[i:i + block]) for i in range(0, x.size, block)])
    assert np.array_equal(cut, whole)
    ragged = WaveNetStream(weights)  # irregular cuts, an empty call among them
    edges = [0, 5, 5, 133, 134, 1500, 2999, 3000]
    pieces = [ragged.process(x[a:b]) for a, b in zip(edges, edges[1:], strict=False)]
    assert np.array_equal(np.concatenate(pieces), whole)


@pytest.mark.parametrize("loop", ["c", "numba"], indirect=True)
def test_reset_returns_to_silence(loop):
    weights = random_weights(PRESETS["nano"], seed=3)
    x = noise(2500, seed=4)
    stream = WaveNetStream(weights)
    first = stream.process(x)
    assert not np.array_equal(stream.process(x), first)  # the history carried over
    stream.reset()
    assert np.array_equal(stream.process(x), first)


def test_run_wavenet_with_progress(capsys):
    weights = random_weights(PRESETS["nano"])
    x = noise(wavenet_stream.PROGRESS_BLOCK + 100)
    assert np.array_equal(run_wavenet(weights, x, progress=True), run_wavenet(weights, x))
    assert "100.0%" in capsys.readouterr().err
    assert run_wavenet(weights, np.zeros(0, np.float32)).shape == (0,)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Float32 steps between `a` and `b` (+0 and -0 the same value)."""

    def ordered(v: np.ndarray) -> np.ndarray:
        bits = v.astype(np.float32).view(np.int32).astype(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)

    return np.abs(ordered(a) - ordered(b))


def test_c_activations_are_exact():
    """Within one ulp of float64 tanh and logistic rounded to float32, equal to them almost everywhere."""
    x = np.concatenate([np.linspace(-12, 12, 400_001, dtype=np.float32),
                        np.float32(10) ** np.linspace(-30, 1, 20_000, dtype=np.float32)])
    x = np.concatenate([x, -x])
    tanh, sigmoid = wavenet_stream.activations(x)
    wide = x.astype(np.float64)
    for got, exact in ((tanh, np.tanh(wide)), (sigmoid, 1 / (1 + np.exp(-wide)))):
        ulps = ulp_distance(got, exact.astype(np.float32))
        assert ulps.max() <= 1 and np.count_nonzero(ulps) <= 10


def test_numba_without_a_compiler(monkeypatch):
    gone = wavenet_stream.native.LazyLibrary(wavenet_stream.KERNEL_SOURCE, wavenet_stream._declare)
    gone.forget("no C compiler (cc, gcc or clang) on PATH")
    monkeypatch.setattr(wavenet_stream, "KERNEL", gone)
    weights = random_weights(GATED, seed=5)
    x = noise(500)
    stream = WaveNetStream(weights)
    assert stream.loop == "numba"
    assert np.max(np.abs(stream.process(x) - reference(weights, x))) < TOL


def test_unknown_loop_is_refused(monkeypatch):
    monkeypatch.setenv("DRYWET_STREAM_LOOP", "fortran")
    with pytest.raises(ConfigError, match="DRYWET_STREAM_LOOP must be one of c, numba"):
        WaveNetStream(random_weights(PRESETS["nano"]))


def test_no_keras_anywhere():
    code = ("import sys, numpy as np, drywet.wavenet as w; "
            "w.run_wavenet(w.random_weights(w.PRESETS['nano']), np.zeros(64, np.float32)); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
