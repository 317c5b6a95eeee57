"""A WaveNet's weights as float32 arrays shaped like the maths (`WaveNetWeights`), read from and
written to the flat list of a `.nam` file in NeuralAmpModelerCore's `set_weights_` order, and
`reference`, the plain float64 NumPy forward pass over a whole signal that the streaming loops are
measured against (with NAM's fast tanh on request, as its plugin plays by default).

Flat order, per layer array: rechannel W (out, in) row-major; per layer: conv W (out, in, k)
row-major, conv bias, input mixer W (out, in), layer1x1 W (out, in), layer1x1 bias; head rechannel
W (out, in), its bias when `head_bias`. Then head_scale, the last float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drywet.errors import ConfigError
from drywet.lstm.activation import fast_tanh as _fast_tanh
from drywet.wavenet.arch import LayerArray, WaveNetConfig


def _checked(value: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    """`value` as a C-contiguous float32 array of `shape`; ConfigError naming `what` otherwise."""
    array = np.ascontiguousarray(value, np.float32)
    if array.shape != shape:
        raise ConfigError(f"{what}: expected shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{what}: holds a NaN or infinity")
    return array


@dataclass(frozen=True, eq=False)
class LayerWeights:
    """One dilated layer: z = conv(h) + mixer @ x, a = activation(z), h += layer1x1 @ a + layer1x1_bias.

    Shapes (mid = 2 x channels when gated): conv (mid, channels, kernel_size), tap kernel_size - 1 the
    current sample and tap k the sample (kernel_size - 1 - k) x dilation earlier; conv_bias (mid,);
    mixer (mid, condition_size); layer1x1 (channels, channels); layer1x1_bias (channels,).
    """

    conv: np.ndarray
    conv_bias: np.ndarray
    mixer: np.ndarray
    layer1x1: np.ndarray
    layer1x1_bias: np.ndarray

    def checked(self, array: LayerArray, where: str) -> LayerWeights:
        """These weights as float32 arrays of `array`'s shapes; ConfigError naming the first that is not."""
        c, m = array.channels, array.mid
        return LayerWeights(_checked(self.conv, (m, c, array.kernel_size), f"{where} conv"),
                            _checked(self.conv_bias, (m,), f"{where} conv_bias"),
                            _checked(self.mixer, (m, array.condition_size), f"{where} mixer"),
                            _checked(self.layer1x1, (c, c), f"{where} layer1x1"),
                            _checked(self.layer1x1_bias, (c,), f"{where} layer1x1_bias"))


@dataclass(frozen=True, eq=False)
class ArrayWeights:
    """One layer array: rechannel (channels, input_size), its layers in dilation order, head
    (head_size, channels) and head_bias (head_size,), or None when the array has no head bias."""

    rechannel: np.ndarray
    layers: tuple[LayerWeights, ...]
    head: np.ndarray
    head_bias: np.ndarray | None

    def checked(self, array: LayerArray, where: str) -> ArrayWeights:
        """These weights as float32 arrays of `array`'s shapes; ConfigError naming the first that is not."""
        if len(self.layers) != len(array.dilations):
            raise ConfigError(f"{where}: {len(array.dilations)} layers in the config, "
                              f"{len(self.layers)} in the weights")
        if (self.head_bias is not None) != array.head_bias:
            raise ConfigError(f"{where}: head_bias is {array.head_bias} in the config but the weights "
                              f"{'have' if self.head_bias is not None else 'have no'} head bias")
        return ArrayWeights(
            _checked(self.rechannel, (array.channels, array.input_size), f"{where} rechannel"),
            tuple(layer.checked(array, f"{where} layer {j}") for j, layer in enumerate(self.layers)),
            _checked(self.head, (array.head_size, array.channels), f"{where} head"),
            None if self.head_bias is None else _checked(self.head_bias, (array.head_size,), f"{where} head_bias"))


@dataclass(frozen=True, eq=False)
class WaveNetWeights:
    """A WaveNet's weights: `config`, one `ArrayWeights` per layer array (float32, shapes checked on
    construction) and `head_scale`, the output's factor as stored in the file (NAM's loader uses this
    one, not the config's)."""

    config: WaveNetConfig
    arrays: tuple[ArrayWeights, ...]
    head_scale: float

    def __post_init__(self) -> None:
        if len(self.arrays) != len(self.config.arrays):
            raise ConfigError(f"{len(self.config.arrays)} layer arrays in the config, "
                              f"{len(self.arrays)} in the weights")
        arrays = tuple(weights.checked(array, f"layer array {i}")
                       for i, (weights, array) in enumerate(zip(self.arrays, self.config.arrays, strict=True)))
        object.__setattr__(self, "arrays", arrays)
        if not np.isfinite(self.head_scale):
            raise ConfigError(f"head_scale must be finite, got {self.head_scale}")
        object.__setattr__(self, "head_scale", float(np.float32(self.head_scale)))

    @classmethod
    def from_flat(cls, config: WaveNetConfig, flat: Sequence[float] | np.ndarray) -> WaveNetWeights:
        """The weights of a `.nam` file's `weights` list (head_scale last); ConfigError naming the
        expected and the actual length."""
        flat = np.asarray(flat, np.float32).ravel()
        expected = config.param_count() + 1
        if flat.size != expected:
            raise ConfigError(f"a WaveNet of this config has {expected} weights (with head_scale), got {flat.size}")
        at = 0

        def take(*shape: int) -> np.ndarray:
            nonlocal at
            size = int(np.prod(shape))
            out = flat[at:at + size].reshape(shape).copy()
            at += size
            return out

        arrays = []
        for array in config.arrays:
            c, m = array.channels, array.mid
            rechannel = take(c, array.input_size)
            layers = tuple(LayerWeights(take(m, c, array.kernel_size), take(m), take(m, array.condition_size),
                                        take(c, c), take(c)) for _ in array.dilations)
            head = take(array.head_size, c)
            head_bias = take(array.head_size) if array.head_bias else None
            arrays.append(ArrayWeights(rechannel, layers, head, head_bias))
        return cls(config, tuple(arrays), float(flat[at]))

    def to_flat(self) -> np.ndarray:
        """The `.nam` file's `weights` list as float32, in NAM's order, head_scale last."""
        parts: list[np.ndarray] = []
        for array in self.arrays:
            parts.append(array.rechannel)
            for layer in array.layers:
                parts += [layer.conv, layer.conv_bias, layer.mixer, layer.layer1x1, layer.layer1x1_bias]
            parts.append(array.head)
            if array.head_bias is not None:
                parts.append(array.head_bias)
        parts.append(np.array([self.head_scale], np.float32))
        return np.concatenate([part.ravel() for part in parts]).astype(np.float32)


def from_flat(config: WaveNetConfig, flat: Sequence[float] | np.ndarray) -> WaveNetWeights:
    """`WaveNetWeights.from_flat`."""
    return WaveNetWeights.from_flat(config, flat)


def random_weights(config: WaveNetConfig, seed: int = 0) -> WaveNetWeights:
    """Random weights for tests and benchmarks, scaled so that noise of about 0.3 RMS in gives an
    output of about 0.1 to 1 RMS (each conv near unit gain, the residual updates small)."""
    rng = np.random.default_rng(seed)

    def normal(scale: float, *shape: int) -> np.ndarray:
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    arrays = []
    for i, array in enumerate(config.arrays):
        c, m, k, n = array.channels, array.mid, array.kernel_size, len(array.dilations)
        layers = tuple(LayerWeights(normal(1.5 / np.sqrt(c * k), m, c, k), normal(0.1, m), normal(1.0, m, 1),
                                    normal(0.3 / np.sqrt(c), c, c), normal(0.05, c)) for _ in range(n))
        last = i == len(config.arrays) - 1
        head = normal((30.0 if last else 1.0) / np.sqrt(c * n), array.head_size, c)
        head_bias = normal(0.1, array.head_size) if array.head_bias else None
        arrays.append(ArrayWeights(normal(1.0 / np.sqrt(array.input_size), c, array.input_size), layers, head,
                                   head_bias))
    return WaveNetWeights(config, tuple(arrays), config.head_scale)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def reference(weights: WaveNetWeights, x: np.ndarray, fast_tanh: bool = False) -> np.ndarray:
    """The WaveNet's output for the mono signal `x` from silence, in float64 (exact tanh and logistic,
    time-major matrix products over the whole signal): the ground truth for the streaming loops.
    `fast_tanh`: every tanh is NAM's approximation (drywet.lstm.activation.fast_tanh), as the NAM
    plugin plays a WaveNet by default (its "Tanh" activation; the gate's logistic stays exact)."""
    tanh = _fast_tanh if fast_tanh else np.tanh
    x = np.asarray(x, np.float64).ravel()
    n = x.size
    cond = x[:, None]
    y = cond
    head = None
    for array, w in zip(weights.config.arrays, weights.arrays, strict=True):
        c, k = array.channels, array.kernel_size
        h = y @ w.rechannel.astype(np.float64).T
        for d, layer in zip(array.dilations, w.layers, strict=True):
            past = np.concatenate([np.zeros(((k - 1) * d, c)), h])  # silence before the first sample
            conv = layer.conv.astype(np.float64)
            z = layer.conv_bias.astype(np.float64) + cond @ layer.mixer.astype(np.float64).T
            for tap in range(k):  # tap k reads (k - 1 - tap) x d samples back: past[t + tap x d]
                z = z + past[tap * d:tap * d + n] @ conv[:, :, tap].T
            a = tanh(z[:, :c]) * _sigmoid(z[:, c:]) if array.gated else tanh(z)
            head = a if head is None else head + a
            h = h + a @ layer.layer1x1.astype(np.float64).T + layer.layer1x1_bias
        head = head @ w.head.astype(np.float64).T
        if w.head_bias is not None:
            head = head + w.head_bias
        y = h
    return weights.head_scale * head[:, 0]
