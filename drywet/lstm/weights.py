"""A sequence model's weights as plain arrays (`SequenceWeights`: stacked LSTM layers, a Dense(1)
head, an optional skip path of the dry input), read once per model from Keras (`from_keras`) or from
its `.keras` file (drywet.lstm.keras_file). The streaming loop (drywet.lstm.stream) and the exporters
(drywet.export) read models through it; this module imports neither."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from drywet.errors import ConfigError


@dataclass(frozen=True)
class LstmLayer:
    """One Keras LSTM layer's weights (gate order i, f, c, o along the 4H axis)."""

    kernel: np.ndarray  # (inputs, 4H)
    recurrent: np.ndarray  # (H, 4H)
    bias: np.ndarray  # (4H,)

    @property
    def units(self) -> int:
        return int(self.recurrent.shape[0])

    @property
    def inputs(self) -> int:
        return int(self.kernel.shape[0])


# Models whose weights passed the probe check in `from_keras`, with those weights: reading a model
# again (every `predict` call does) costs a weight read and a comparison, not a Keras run.
_CHECKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class SequenceWeights:
    """A sequence model as arrays: y[t] = head_w . h_last[t] + head_b (+ x[t, 0] when skip)."""

    layers: tuple[LstmLayer, ...]
    head_w: np.ndarray  # (H,)
    head_b: float
    skip: bool
    name: str = "model"

    @property
    def inputs(self) -> int:
        """Input channels: the audio, then any knob channels."""
        return self.layers[0].inputs

    @classmethod
    def from_keras(cls, model, meta=None) -> SequenceWeights:
        """Read a Keras sequence model; ConfigError for a framed model or an unsupported layout.

        The layout is checked by running the model and these weights over a short probe, so a model
        this reader misunderstands is refused rather than streamed wrongly. The check runs once per
        model and set of weights (a model whose weights change is checked again).
        """
        import keras

        name = model.name
        lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
        denses = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
        known = (keras.layers.LSTM, keras.layers.Dense, keras.layers.Add, keras.layers.InputLayer)
        others = [layer.name for layer in model.layers if not isinstance(layer, known)]
        if not lstms or len(denses) != 1 or others or len(adds) > 1:
            raise ConfigError(f"model '{name}': expected stacked LSTM layers, one Dense head and an "
                              f"optional skip Add (found {', '.join(lyr.name for lyr in model.layers)})")
        if not lstms[-1].return_sequences:
            raise ConfigError(f"model '{name}' is a framed model; only sequence models stream or export "
                              "(train with model.kind: sequence)")
        for layer in lstms:
            cfg = layer.get_config()
            if (cfg["activation"], cfg["recurrent_activation"]) != ("tanh", "sigmoid"):
                raise ConfigError(f"model '{name}': layer '{layer.name}' must use tanh / sigmoid activations")
            if cfg.get("go_backwards"):
                raise ConfigError(f"model '{name}': layer '{layer.name}' runs backwards")
        head = denses[0]
        if head.units != 1 or head.get_config()["activation"] != "linear":
            raise ConfigError(f"model '{name}': the head must be Dense(1) without activation")
        layers = []
        for layer in lstms:
            w = [np.asarray(a, np.float32) for a in layer.get_weights()]
            bias = w[2] if len(w) == 3 else np.zeros(w[0].shape[1], np.float32)
            layers.append(LstmLayer(w[0], w[1], bias))
        hw = [np.asarray(a, np.float32) for a in head.get_weights()]
        weights = cls(tuple(layers), hw[0][:, 0].copy(), float(hw[1][0]) if len(hw) == 2 else 0.0,
                      bool(adds), name)
        if meta is not None and bool(getattr(meta, "skip", weights.skip)) != weights.skip:
            raise ConfigError(f"model '{name}': model.json says skip={meta.skip} but the model "
                              f"{'has' if weights.skip else 'has no'} skip connection")
        checked = _CHECKED.get(model)
        if checked is not None and checked.same_as(weights):
            return checked
        weights._check_against(model)
        _CHECKED[model] = weights
        return weights

    def same_as(self, other: SequenceWeights) -> bool:
        """Whether `other` holds exactly these weights (and the same skip path)."""
        mine = [a for layer in self.layers for a in (layer.kernel, layer.recurrent, layer.bias)]
        theirs = [a for layer in other.layers for a in (layer.kernel, layer.recurrent, layer.bias)]
        return (len(self.layers) == len(other.layers) and (self.skip, self.head_b) == (other.skip, other.head_b)
                and all(np.array_equal(a, b) for a, b in zip([*mine, self.head_w], [*theirs, other.head_w],
                                                             strict=True)))

    def _check_against(self, model, n: int = 256) -> None:
        rng = np.random.default_rng(0)
        probe = np.zeros((n, self.inputs), np.float32)
        probe[:, 0] = 0.3 * np.sin(np.arange(n) * 0.21) + 0.1 * rng.standard_normal(n)
        probe[:, 1:] = rng.uniform(0.0, 1.0, self.inputs - 1)
        import keras

        expected = keras.ops.convert_to_numpy(model(probe[None], training=False))[0, :, 0]
        if np.max(np.abs(plain_run(self, probe) - expected)) > 1e-3:
            raise ConfigError(f"model '{self.name}': its layers do not compute stacked LSTMs + Dense"
                              f"{' + dry input' if self.skip else ''}; cannot stream or export it")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def plain_run(weights: SequenceWeights, x: np.ndarray) -> np.ndarray:
    """The model's output for (n, inputs) input from zero state, in float64 NumPy, one step at a time
    (exact tanh and logistic): the probe check of `from_keras`, independent of the streaming loop.
    Slow (a few Python operations a sample and layer); for short signals."""
    v = np.asarray(x, np.float64)
    for layer in weights.layers:
        kernel, recurrent = layer.kernel.astype(np.float64), layer.recurrent.astype(np.float64)
        units = layer.units
        drive = v @ kernel + layer.bias.astype(np.float64)
        h, c = np.zeros(units), np.zeros(units)
        out = np.empty((len(v), units))
        for t in range(len(v)):
            z = drive[t] + h @ recurrent
            i, f, o = _sigmoid(z[:units]), _sigmoid(z[units:2 * units]), _sigmoid(z[3 * units:])
            c = f * c + i * np.tanh(z[2 * units:3 * units])
            h = o * np.tanh(c)
            out[t] = h
        v = out
    y = v @ weights.head_w.astype(np.float64) + weights.head_b
    return y + np.asarray(x, np.float64)[:, 0] if weights.skip else y
