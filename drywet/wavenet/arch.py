"""The classic `.nam` WaveNet architecture as frozen data: `LayerArray` (one array of dilated layers),
`WaveNetConfig` (the arrays and the output scale), its `.nam` config dict both ways, and the presets
of NAM's trainer (`nam/train/core.py`, `get_wavenet_config`). Sizes are counted here once:
`receptive_field` (samples), `param_count` (floats in the file), `macs_per_sample`.

The checks follow what NeuralAmpModelerCore's loader needs for this layout (`NAM/wavenet/model.cpp`):
array i + 1 reads array i's residual stream (`input_size` = previous `channels`) and starts its head
sum from array i's head output (previous `head_size` = `channels`); the last head is one channel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drywet.errors import ConfigError

ACTIVATIONS = ("Tanh",)
LAYER_KEYS = ("input_size", "condition_size", "head_size", "channels", "kernel_size", "dilations", "activation",
              "gated", "head_bias")
CONFIG_KEYS = ("layers", "head", "head_scale")


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class LayerArray:
    """One layer array: a 1x1 rechannel (no bias), one gated or plain dilated layer per dilation, and a
    1x1 head rechannel of the summed activations (bias iff `head_bias`)."""

    input_size: int
    condition_size: int
    head_size: int
    channels: int
    kernel_size: int
    dilations: tuple[int, ...]
    activation: str = "Tanh"
    gated: bool = False
    head_bias: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.dilations, (list, tuple)):
            raise ConfigError(f"layer array: dilations must be a list, got {self.dilations!r}")
        object.__setattr__(self, "dilations", tuple(self.dilations))
        _check_array({name: getattr(self, name) for name in LAYER_KEYS}, "layer array")

    @property
    def mid(self) -> int:
        """Rows of each dilated conv's output: 2 x channels when gated (tanh half, sigmoid half)."""
        return 2 * self.channels if self.gated else self.channels

    @property
    def lookback(self) -> int:
        """Past samples the array's layers reach back over, summed: (kernel_size - 1) x sum(dilations)."""
        return (self.kernel_size - 1) * sum(self.dilations)

    def param_count(self) -> int:
        """Floats of this array in a `.nam` file's weights."""
        c, m = self.channels, self.mid
        per_layer = m * c * self.kernel_size + m + m * self.condition_size + c * c + c
        head = self.head_size * c + (self.head_size if self.head_bias else 0)
        return self.input_size * c + len(self.dilations) * per_layer + head

    def macs_per_sample(self) -> int:
        """Weight multiply-adds per sample (biases and activations not counted)."""
        c, m = self.channels, self.mid
        per_layer = m * c * self.kernel_size + m * self.condition_size + c * c
        return self.input_size * c + len(self.dilations) * per_layer + self.head_size * c

    def to_nam(self) -> dict[str, Any]:
        """This array as a `.nam` config's layer entry (dilations as a list)."""
        return {"input_size": self.input_size, "condition_size": self.condition_size, "head_size": self.head_size,
                "channels": self.channels, "kernel_size": self.kernel_size, "dilations": list(self.dilations),
                "activation": self.activation, "gated": self.gated, "head_bias": self.head_bias}


@dataclass(frozen=True)
class WaveNetConfig:
    """A classic `.nam` WaveNet: its layer arrays in order and `head_scale`, the output's factor."""

    arrays: tuple[LayerArray, ...]
    head_scale: float = 0.02

    def __post_init__(self) -> None:
        object.__setattr__(self, "arrays", tuple(self.arrays))
        if not self.arrays:
            raise ConfigError("a WaveNet needs at least one layer array")
        if isinstance(self.head_scale, bool) or not isinstance(self.head_scale, (int, float)) \
                or not math.isfinite(self.head_scale):
            raise ConfigError(f"head_scale must be a finite number, got {self.head_scale!r}")
        object.__setattr__(self, "head_scale", float(self.head_scale))
        for i, array in enumerate(self.arrays):
            if not isinstance(array, LayerArray):
                raise ConfigError(f"layer array {i} is a {type(array).__name__}, not a LayerArray")
        if self.arrays[0].input_size != 1:
            raise ConfigError(f"input_size of layer array 0 must be 1 (mono audio), got {self.arrays[0].input_size}")
        for i, (prev, nxt) in enumerate(zip(self.arrays, self.arrays[1:], strict=False)):
            if nxt.input_size != prev.channels:
                raise ConfigError(f"input_size of layer array {i + 1} ({nxt.input_size}) must equal channels of "
                                  f"layer array {i} ({prev.channels})")
            if prev.head_size != nxt.channels:
                raise ConfigError(f"head_size of layer array {i} ({prev.head_size}) must equal channels of "
                                  f"layer array {i + 1} ({nxt.channels})")
        if self.arrays[-1].head_size != 1:
            raise ConfigError(f"head_size of the last layer array must be 1 (mono output), "
                              f"got {self.arrays[-1].head_size}")

    @classmethod
    def from_nam(cls, config: Mapping[str, Any]) -> WaveNetConfig:
        """The `config` of a `.nam` file whose architecture is "WaveNet"; ConfigError (one line) for a
        missing or unknown key, a post-stack head, or sizes that do not chain."""
        if not isinstance(config, Mapping):
            raise ConfigError(f"a WaveNet config must be a JSON object, got {type(config).__name__}")
        _keys(config, CONFIG_KEYS, "WaveNet config")
        if config["head"] is not None:
            raise ConfigError("WaveNet config: head must be null (a post-stack head is not supported)")
        layers = config["layers"]
        if not isinstance(layers, (list, tuple)):
            raise ConfigError(f"WaveNet config: layers must be a list, got {type(layers).__name__}")
        arrays = []
        for i, layer in enumerate(layers):
            where = f"layer array {i}"
            if not isinstance(layer, Mapping):
                raise ConfigError(f"{where} must be a JSON object, got {type(layer).__name__}")
            _keys(layer, LAYER_KEYS, where)
            if not isinstance(layer["dilations"], (list, tuple)):
                raise ConfigError(f"{where}: dilations must be a list, got {layer['dilations']!r}")
            fields = {key: layer[key] for key in LAYER_KEYS}
            _check_array(fields, where)
            arrays.append(LayerArray(**fields))
        return cls(tuple(arrays), config["head_scale"])

    def to_nam(self) -> dict[str, Any]:
        """The `config` object of a `.nam` file (dilations as lists, `head` null)."""
        return {"layers": [array.to_nam() for array in self.arrays], "head": None, "head_scale": self.head_scale}

    @property
    def receptive_field(self) -> int:
        """Samples of input one output sample depends on: 1 + sum over arrays of (k - 1) x sum(dilations)."""
        return 1 + sum(array.lookback for array in self.arrays)

    def param_count(self) -> int:
        """Floats in a `.nam` file's weights, head_scale (the last float) not counted."""
        return sum(array.param_count() for array in self.arrays)

    def macs_per_sample(self) -> int:
        """Weight multiply-adds per output sample (+1: the head_scale product)."""
        return sum(array.macs_per_sample() for array in self.arrays) + 1


def _check_array(fields: Mapping[str, Any], where: str) -> None:
    """ConfigError (one line, starting with `where`) for a layer array field this runtime cannot play."""
    for name in ("input_size", "condition_size", "head_size", "channels", "kernel_size"):
        _positive_int(fields[name], f"{where}: {name}")
    if not fields["dilations"]:
        raise ConfigError(f"{where}: dilations must not be empty")
    for d in fields["dilations"]:
        _positive_int(d, f"{where}: each dilation")
    if fields["condition_size"] != 1:
        raise ConfigError(f"{where}: condition_size must be 1 (the input audio), got {fields['condition_size']}")
    if fields["activation"] not in ACTIVATIONS:
        raise ConfigError(f"{where}: activation must be one of {', '.join(ACTIVATIONS)}, "
                          f"got {fields['activation']!r}")
    for name in ("gated", "head_bias"):
        if not isinstance(fields[name], bool):
            raise ConfigError(f"{where}: {name} must be true or false, got {fields[name]!r}")


def _keys(obj: Mapping[str, Any], expected: tuple[str, ...], where: str) -> None:
    """ConfigError naming the keys of `obj` missing from `expected`, or else those not in it."""
    missing = [key for key in expected if key not in obj]
    unknown = sorted(str(key) for key in obj if key not in expected)
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} "
                          "(only the classic WaveNet layout is supported)")


_LITE_DILATIONS = ((1, 2, 4, 8, 16, 32, 64), (128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
_STANDARD_DILATIONS = tuple(2 ** i for i in range(10))


def _two_arrays(first: int, second: int, dilations: tuple[tuple[int, ...], tuple[int, ...]]) -> WaveNetConfig:
    """NAM's trainer presets: `first` then `second` channels, kernel 3, Tanh, not gated."""
    return WaveNetConfig((
        LayerArray(input_size=1, condition_size=1, head_size=second, channels=first, kernel_size=3,
                   dilations=dilations[0], activation="Tanh", gated=False, head_bias=False),
        LayerArray(input_size=first, condition_size=1, head_size=1, channels=second, kernel_size=3,
                   dilations=dilations[1], activation="Tanh", gated=False, head_bias=True),
    ), head_scale=0.02)


PRESETS: dict[str, WaveNetConfig] = {
    "standard": _two_arrays(16, 8, (_STANDARD_DILATIONS, _STANDARD_DILATIONS)),
    "lite": _two_arrays(12, 6, _LITE_DILATIONS),
    "feather": _two_arrays(8, 4, _LITE_DILATIONS),
    "nano": _two_arrays(4, 2, _LITE_DILATIONS),
}
