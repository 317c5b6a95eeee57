"""Plays an exported model file from its contents alone, the way its plugin does: the check that a
file sounds like the model it came from.

Each reader knows only its format's description (see the format modules' docstrings and the plugin
sources named there) and shares no code with the exporters or with `drywet.lstm.stream`: this module
imports neither; a format's `Format` names its reader from here (`reader=read_nam`). The readers
of the built-in formats live together because what they share is this module's float64 player
(`Player`, `Layer`), never a line of the writers; a new format may instead define its reader in its
own module, on `Player` and `Layer`, as long as the reader uses nothing of that module's writer.
Each turns the file into per-layer input and recurrent matrices
in PyTorch's row layout (gate rows i, f, g, o), a bias, an initial state and a linear head, then runs
them in float64 with the exact logistic and tanh (or, with `Player.fast_tanh`, NAM's approximation of
both, `fast_tanh`). Like the plugins it starts from the file's state
after running zeros through the model for the plugin's prewarm (NAM 0.5 s, AIDA-X 2048 samples,
Proteus none), and Proteus / NeuralPi add the dry input to the output whatever the file says.

A `.nam` WaveNet is read back into drywet.wavenet's arrays (its config and flat-order readers, not
the Keras-to-file writer in drywet.kinds.wavenet) and streamed by drywet.wavenet's compiled loop in
float32: a float64 forward pass over a test part takes minutes. The float64 reference forward
(`drywet.wavenet.weights.reference`) and NAM's own loader check that loop and that reader in the tests;
with `fast_tanh` (the NAM plugin's default processing) the file plays through that reference with
NAM's fast tanh, which the compiled loop does not compute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drywet.errors import ConfigError, InputError
from drywet.lstm.activation import fast_tanh as _fast_tanh

try:
    import numba
except ImportError:  # pragma: no cover - numba is in requirements.txt
    numba = None

BLOCK = 8192  # samples per compiled call (the state carries across)
NAM_PREWARM_S = 0.5  # NeuralAmpModelerCore NAM/lstm.cpp GetPrewarmSamples
AIDAX_PREWARM = 2048  # AIDA-X aidadsp-plugin.cpp: zeros run through a newly loaded model


def njit(f):
    """`f` compiled by Numba (cached; NumPy's error model), or as it is without Numba."""
    return f if numba is None else numba.njit(cache=True, error_model="numpy")(f)


# NeuralAmpModelerCore's approximation of tanh (drywet.lstm.activation, one copy), compiled; its
# logistic is 0.5 (fast_tanh(x / 2) + 1) (`fast_sigmoid`), the identity `_lstm_run` uses for the exact one.
fast_tanh = njit(_fast_tanh)


@njit
def _tanh(x, fast):  # pragma: no cover - compiled
    return fast_tanh(x) if fast else np.tanh(x)


@njit
def _lstm_run(x, w_in, w_rec, bias, h, c, out, fast):  # pragma: no cover - compiled
    """One LSTM layer over x (n, in): w_in (in, 4H), w_rec (H, 4H) (transposed PyTorch rows, so the
    inner loops run along contiguous memory), gate order i, f, g, o; h and c carry over (in place);
    out (n, H) receives h at every step; `fast`: NAM's `fast_tanh` for every tanh and logistic."""
    n, n_in = x.shape
    hidden = h.shape[0]
    z = np.empty(4 * hidden)
    for t in range(n):
        for k in range(4 * hidden):
            z[k] = bias[k]
        for j in range(n_in):
            v = x[t, j]
            for k in range(4 * hidden):
                z[k] += v * w_in[j, k]
        for j in range(hidden):
            v = h[j]
            for k in range(4 * hidden):
                z[k] += v * w_rec[j, k]
        for k in range(hidden):
            i = 0.5 + 0.5 * _tanh(0.5 * z[k], fast)
            f = 0.5 + 0.5 * _tanh(0.5 * z[hidden + k], fast)
            g = _tanh(z[2 * hidden + k], fast)
            o = 0.5 + 0.5 * _tanh(0.5 * z[3 * hidden + k], fast)
            c[k] = f * c[k] + i * g
            h[k] = o * _tanh(c[k], fast)
            out[t, k] = h[k]


@dataclass
class Layer:
    """One LSTM layer as a file gives it, in PyTorch's row layout (gate rows i, f, g, o), for `Player`."""

    w_ih: np.ndarray  # (4H, in)
    w_hh: np.ndarray  # (4H, H)
    b: np.ndarray  # (4H,)
    h0: np.ndarray
    c0: np.ndarray


class Player:
    """A model file as its plugin plays it: `process` continues from the current state; `reset`
    returns to the file's initial state and runs the plugin's prewarm; `fast_tanh` (off: exact)
    computes every tanh and logistic with NAM's approximation."""

    fast_tanh = False

    def __init__(self, layers: list[Layer], head_w: np.ndarray, head_b: float, skip: bool, inputs: int,
                 rate: int | None, prewarm: int, in_gain: float = 1.0, out_gain: float = 1.0):
        self.inputs, self.rate, self.prewarm, self.skip = inputs, rate, prewarm, skip
        self.hidden = [layer.b.size // 4 for layer in layers]
        self._layers = [(np.ascontiguousarray(layer.w_ih.T), np.ascontiguousarray(layer.w_hh.T),
                         np.ascontiguousarray(layer.b), layer.h0, layer.c0) for layer in layers]
        self._head_w, self._head_b = head_w, float(head_b)
        self._in_gain, self._out_gain = in_gain, out_gain
        self.reset()

    def reset(self, prewarm: bool = True) -> None:
        """Back to the file's initial state, then (with `prewarm`) the plugin's zeros."""
        self._h = [h0.copy() for *_, h0, _ in self._layers]
        self._c = [c0.copy() for *_, c0 in self._layers]
        if prewarm and self.prewarm:
            self.process(np.zeros((self.prewarm, self.inputs)))

    def process(self, x: np.ndarray) -> np.ndarray:
        """Output (float64, n) for input (n,) audio or (n, inputs) audio then knob channels."""
        x = np.asarray(x, np.float64)
        x = x[:, None] if x.ndim == 1 else x
        if x.shape[1] != self.inputs:
            raise InputError(f"the file takes {self.inputs} input channel(s); got {x.shape[1]}")
        x = x.copy()
        x[:, 0] *= self._in_gain
        y = np.empty(len(x))
        for start in range(0, len(x), BLOCK):
            v = np.ascontiguousarray(x[start:start + BLOCK])
            for k, (w_in, w_rec, b, _, _) in enumerate(self._layers):
                out = np.empty((len(v), self.hidden[k]))
                _lstm_run(v, w_in, w_rec, b, self._h[k], self._c[k], out, self.fast_tanh)
                v = out
            y[start:start + BLOCK] = v @ self._head_w + self._head_b
        if self.skip:
            y += x[:, 0]
        return y * self._out_gain


def _array(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    try:
        a = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what}: not an array of numbers") from None
    if a.shape != shape:
        raise InputError(f"{what}: shape {a.shape}, expected {shape}")
    return a


class WaveNetPlayer:
    """A `.nam` WaveNet as NAM plays it: its config and flat weights read back (`WaveNetConfig.from_nam`,
    `WaveNetWeights.from_flat`) and streamed by drywet.wavenet's loop, from long silence: NAM's
    prewarm (0.5 s) outlasts the receptive field, so every reset runs that many zeros through it.
    With `fast_tanh` (NAM's approximation, as the NAM plugin plays by default) it plays through the
    float64 reference instead (drywet.wavenet.weights.reference with fast_tanh; the compiled loop
    computes the exact tanh only), over everything heard since the reset."""

    inputs = 1
    skip = False
    fast_tanh = False

    def __init__(self, data: dict, rate: int, prewarm: int):
        from drywet.wavenet.arch import WaveNetConfig
        from drywet.wavenet.stream import WaveNetStream
        from drywet.wavenet.weights import WaveNetWeights

        try:
            weights = WaveNetWeights.from_flat(WaveNetConfig.from_nam(_classic(data["config"])), data["weights"])
        except ConfigError as exc:
            raise InputError(f".nam WaveNet unusable: {exc}") from None
        self.rate, self.prewarm = rate, prewarm
        self._weights = weights
        self._settle = weights.config.receptive_field - 1
        self._stream = WaveNetStream(weights)
        self.reset()

    def reset(self, prewarm: bool = True) -> None:
        """Back to long silence (the plugin's prewarm, or the receptive field's zeros when that is
        longer: the state is the same once it is past)."""
        silence = np.zeros(max(self._settle, self.prewarm if prewarm else 0))
        self._heard = silence  # the fast-tanh player's input since the reset
        self._stream.reset()
        if not self.fast_tanh:
            self.process(silence)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Output (float64, n) for (n,) or (n, 1) audio, continuing from the current state."""
        x = np.asarray(x, np.float64)
        if x.ndim == 2:
            if x.shape[1] != 1:
                raise InputError(f"the file takes 1 input channel; got {x.shape[1]}")
            x = x[:, 0]
        if self.fast_tanh:
            from drywet.wavenet.weights import reference

            self._heard = np.concatenate([self._heard, x])
            return reference(self._weights, self._heard, fast_tanh=True)[self._heard.size - x.size:]
        return self._stream.process(x.astype(np.float32)).astype(np.float64)


def _classic(config: dict) -> dict:
    """A WaveNet config with each array's `head` object (NAM's newer files) as the classic `head_size`
    and `head_bias`; a head wider than one tap is refused."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        return config
    layers = []
    for layer in config["layers"]:
        if isinstance(layer, dict) and isinstance(layer.get("head"), dict):
            head = layer["head"]
            if head.get("kernel_size", 1) != 1:
                raise InputError(f".nam WaveNet head kernel_size {head.get('kernel_size')}; only 1 is supported")
            layer = {k: v for k, v in layer.items() if k != "head"}
            layer.setdefault("head_size", head.get("out_channels"))
            layer.setdefault("head_bias", head.get("bias"))
            layer.setdefault("gated", False)
        layers.append(layer)
    return {**config, "layers": layers}


def read_nam(data: dict) -> Player | WaveNetPlayer:
    """A `.nam` LSTM: config {input_size, hidden_size, num_layers}; flat weights, per layer W
    (4H, in + H) row-major, b (4H), h0 (H), c0 (H); then head weights (H) and bias. A `.nam` WaveNet:
    `WaveNetPlayer`."""
    try:
        if data["architecture"] == "WaveNet":
            rate = int(data.get("sample_rate", 48000))
            return WaveNetPlayer(data, rate, int(NAM_PREWARM_S * rate))
        if data["architecture"] != "LSTM":
            raise InputError(f".nam architecture {data['architecture']!r} is not LSTM or WaveNet")
        cfg = data["config"]
        n_in, hidden, n_layers = int(cfg["input_size"]), int(cfg["hidden_size"]), int(cfg["num_layers"])
        flat = np.asarray(data["weights"], np.float64)
        rate = int(data.get("sample_rate", 48000))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f".nam file unusable ({exc!r})") from None
    layers, pos = [], 0
    for k in range(n_layers):
        width = (n_in if k == 0 else hidden) + hidden
        sizes = (4 * hidden * width, 4 * hidden, hidden, hidden)
        if pos + sum(sizes) > flat.size:
            raise InputError(f".nam file has {flat.size} weights; too few for its config")
        w = flat[pos:pos + sizes[0]].reshape(4 * hidden, width)
        pos += sizes[0]
        b, h0, c0 = (flat[pos:pos + sizes[1]], flat[pos + sizes[1]:pos + sizes[1] + hidden],
                     flat[pos + sizes[1] + hidden:pos + sizes[1] + 2 * hidden])
        pos += sum(sizes[1:])
        layers.append(Layer(w[:, :width - hidden], w[:, width - hidden:], b, h0.copy(), c0.copy()))
    if flat.size != pos + hidden + 1:
        raise InputError(f".nam file has {flat.size} weights; its config implies {pos + hidden + 1}")
    return Player(layers, flat[pos:pos + hidden], flat[pos + hidden], False, n_in, rate,
                  int(NAM_PREWARM_S * rate))


def read_aidax(data: dict) -> Player:
    """An RTNeural / AIDA-X JSON: in_shape [.., C]; layers: `lstm` with Keras weights [kernel (C, 4H),
    recurrent kernel (H, 4H), bias (4H)] (gate columns i, f, c, o), then one `dense` (H, 1), (1,);
    in_skip adds channel 0; in_gain / out_gain in dB as AIDA-X applies them."""
    try:
        inputs = int(data["in_shape"][-1])
        raw = data["layers"]
        rate = data.get("metadata", {}).get("samplerate")
        skip = bool(data.get("in_skip", 0))
        in_gain = 10.0 ** (float(data.get("in_gain", 0.0)) / 20.0)
        out_gain = 10.0 ** (float(data.get("out_gain", 0.0)) / 20.0)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InputError(f"AIDA-X file unusable ({exc!r})") from None
    if not raw or raw[-1].get("type") != "dense" or any(layer.get("type") != "lstm" for layer in raw[:-1]):
        raise InputError("AIDA-X file: this reader plays LSTM layers followed by one dense layer")
    layers, fan_in = [], inputs
    for k, layer in enumerate(raw[:-1]):
        hidden = int(layer["shape"][-1])
        kernel, recurrent, bias = layer["weights"]
        kernel = _array(kernel, (fan_in, 4 * hidden), f"layer {k} kernel")
        recurrent = _array(recurrent, (hidden, 4 * hidden), f"layer {k} recurrent kernel")
        bias = _array(bias, (4 * hidden,), f"layer {k} bias")
        layers.append(Layer(kernel.T, recurrent.T, bias, np.zeros(hidden), np.zeros(hidden)))
        fan_in = hidden
    dense_w, dense_b = raw[-1]["weights"]
    dense_w = _array(dense_w, (fan_in, 1), "dense kernel")[:, 0]
    dense_b = _array(dense_b, (1,), "dense bias")[0]
    return Player(layers, dense_w, dense_b, skip, inputs, None if rate is None else int(rate), AIDAX_PREWARM,
                  in_gain, out_gain)


def read_proteus(data: dict) -> Player:
    """A Proteus / NeuralPi JSON: model_data {input_size, hidden_size}; state_dict rec.weight_ih_l0
    (4H, C), rec.weight_hh_l0 (4H, H), rec.bias_ih_l0 + rec.bias_hh_l0 (4H), lin.weight (1, H),
    lin.bias (1); the plugin adds the dry input to the output."""
    try:
        md, sd = data["model_data"], data["state_dict"]
        inputs, hidden = int(md["input_size"]), int(md["hidden_size"])
        if md.get("unit_type", "LSTM") != "LSTM" or int(md.get("num_layers", 1)) != 1:
            raise InputError("Proteus file: this reader plays one LSTM layer")
        w_ih = _array(sd["rec.weight_ih_l0"], (4 * hidden, inputs), "rec.weight_ih_l0")
        w_hh = _array(sd["rec.weight_hh_l0"], (4 * hidden, hidden), "rec.weight_hh_l0")
        b = (_array(sd["rec.bias_ih_l0"], (4 * hidden,), "rec.bias_ih_l0")
             + _array(sd["rec.bias_hh_l0"], (4 * hidden,), "rec.bias_hh_l0"))
        lin_w = _array(sd["lin.weight"], (1, hidden), "lin.weight")[0]
        lin_b = _array(sd["lin.bias"], (1,), "lin.bias")[0]
        rate = md.get("sample_rate")
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"Proteus file unusable ({exc!r})") from None
    layer = Layer(w_ih, w_hh, b, np.zeros(hidden), np.zeros(hidden))
    return Player([layer], lin_w, lin_b, True, inputs, None if rate is None else int(rate), 0)

