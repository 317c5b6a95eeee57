"""Neural Amp Modeler's `.nam` format (architectures `LSTM` and `WaveNet`), and a NumPy player for
LSTM files (`drywet.export.players.read_nam` plays both).

A WaveNet file's `config` is NAM's classic layout (`layers`: the layer arrays, `head`: null,
`head_scale`) and its `weights` NeuralAmpModelerCore's `set_weights_` order (`drywet.wavenet.weights`).
NAM/wavenet/model.cpp (v0.5.4) lines 525-530: per array rechannel, layers, head rechannel; 623-632:
the arrays, then head_scale last; NAM/conv1d.cpp set_weights_: conv W (out, in, k) row-major, then
bias; NAM/get_dsp.cpp builds it from the architecture name "WaveNet".

A `.nam` file is JSON: `version`, `architecture` ("LSTM"), `config` (input_size, hidden_size,
num_layers), a flat `weights` list, `sample_rate` (Hz) and `metadata`. The weights follow NAM's own
LSTM exporter (PyTorch layout), layer by layer:

    W   (4H, in + H)  [input | recurrent] kernel, row-major, gate rows in the order i, f, g, o
    b   (4H,)         one bias (PyTorch's bias_ih + bias_hh)
    h0  (H,)          initial hidden state
    c0  (H,)          initial cell state

followed by the linear head's weight (H,) and bias (1,). The player computes, per sample,
z = W [x; h] + b, c = sig(f) c + sig(i) tanh(g), h = sig(o) tanh(c), y = w . h + bias; there is no
input or output scaling and no residual path, so models with a skip connection or knob inputs are
refused. Layers of unequal widths are zero-padded to the widest (`drywet.export.pad`, exact): the
file has one `hidden_size`.

Metadata follows NAM's trainer (nam/models/metadata.py UserMetadata: name, modeled_by, gear_type,
gear_make, gear_model, tone_type, input_level_dbu, output_level_dbu; nam/models/base.py: loudness,
gain; nam/models/exportable.py: date, written only when given so the same model gives the same
bytes; nam/train/metadata.py: the `training` key, here test_esr, verdict and latency_samples).

The plugin that loads it (`NAM_PLUGIN`), read from its sources (sdatkinson/NeuralAmpModelerCore, tag
v0.5.4; the plugin resamples to the file's `sample_rate` since NeuralAmpModelerPlugin PR #397): any
number of LSTM layers of one width, audio only.

    NAM/lstm.cpp:9-29               per layer W (4H x (in + H)) row-major, b, h0, c0
    NAM/lstm.cpp:76-96              layers of one hidden_size, then head weights (H) and bias
    NAM/lstm.cpp:151-164            y = head(h_last): no path from input to output
    NAM/lstm.cpp:168-175            input_size from config; one audio channel in
    NAM/lstm.cpp:125-131            0.5 s of zeros run through the model at reset (prewarm)
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from drywet.errors import ConfigError, InputError
from drywet.export.checks import compact, playable_weights, save_json
from drywet.export.format import Format, Provenance
from drywet.export.hosts import NAM_HOST
from drywet.export.loudness import loudness_and_gain
from drywet.export.pad import pad_units
from drywet.export.players import read_nam
from drywet.export.plugins import Plugin
from drywet.lstm.weights import SequenceWeights
from drywet.wavenet.weights import WaveNetWeights

if TYPE_CHECKING:
    from drywet.config import GearParams

NAM_VERSION = "0.5.4"  # .nam file version; NAM players accept 0.5.x
GEAR_TYPES = ("amp", "pedal", "pedal_amp", "amp_cab", "amp_pedal_cab", "preamp", "studio")
TONE_TYPES = ("clean", "overdrive", "crunch", "hi_gain", "fuzz")
_REQUIRED_KEYS = ("version", "architecture", "config", "weights")

NAM_PLUGIN = Plugin("Neural Amp Modeler", None, None, (1,), False, prewarm_s=0.5, default=NAM_HOST)


def to_nam(model, sample_rate: int, metadata: dict | None = None, meta=None) -> dict:
    """The `.nam` dict of a sequence model (stacked Keras LSTMs + Dense(1)) or a WaveNet, run at
    `sample_rate` Hz.

    Framed models and LSTMs with a skip connection or knob inputs are refused (ConfigError); a
    stack of unequal widths is padded to the widest. `metadata` is merged over the defaults
    (modeled_by "drywet", gear_type "pedal"); the initial hidden and cell states are zeros, as in Keras.
    """
    return from_weights(playable_weights(model, ".nam", meta), sample_rate, metadata)


def from_weights(weights: SequenceWeights | WaveNetWeights, sample_rate: int, metadata: dict | None = None) -> dict:
    """`to_nam` for weights already read from the model."""
    if isinstance(weights, WaveNetWeights):
        return _file("WaveNet", wavenet_config(weights.config), weights.to_flat(), sample_rate,
                     _info("drywet wavenet", metadata))
    name = weights.name
    wants = []
    if weights.skip:
        wants.append("model.skip: false (.nam LSTMs have no path from input to output)")
    if weights.inputs != 1:
        wants.append(f"no knobs (.nam LSTMs take the audio only; this model has {weights.inputs - 1} knob inputs)")
    if wants:
        raise ConfigError(f"model '{name}' cannot export to .nam; train with {' and '.join(wants)}")
    units = max(layer.units for layer in weights.layers)
    if any(layer.units != units for layer in weights.layers):
        weights = pad_units(weights, units)  # one hidden_size for every layer
    parts = []
    for layer in weights.layers:
        # Keras: kernel (in, 4H), recurrent_kernel (H, 4H), gate columns i, f, c, o, the same order
        # as PyTorch's rows i, f, g, o; so the NAM matrix is the transposed stack.
        parts += [np.concatenate([layer.kernel, layer.recurrent], axis=0).T, layer.bias,
                  np.zeros(units, np.float32), np.zeros(units, np.float32)]
    parts += [weights.head_w, np.float32([weights.head_b])]
    flat = np.concatenate([np.asarray(p, np.float32).ravel() for p in parts])
    return _file("LSTM", {"input_size": 1, "hidden_size": int(units), "num_layers": len(weights.layers)}, flat,
                 sample_rate, _info(name, metadata))


def wavenet_config(config) -> dict:
    """A WaveNet's `config` as both generations of NAM read it: the classic keys (`head_size`,
    `head_bias`, `gated`: NeuralAmpModelerCore's legacy path, older plugins) and each array's `head`
    object (`out_channels`, `kernel_size` 1, `bias`), which NAM's trainer writes since its 0.7 files,
    which its Python loader requires, and which the core prefers (NAM/wavenet/model.cpp:882-904)."""
    if any(array.gated for array in config.arrays):
        raise ConfigError("gated WaveNets are not exported: NAM's Python loader reads gating from a newer "
                          "key than the core's `gated`")
    out = config.to_nam()
    for layer in out["layers"]:
        layer["head"] = {"out_channels": layer["head_size"], "kernel_size": 1, "bias": layer["head_bias"]}
    return out


def _info(name: str, metadata: dict | None) -> dict:
    """The metadata: `metadata` over the defaults (the name, modeled_by "drywet", a pedal), checked."""
    info = {"name": name, "modeled_by": "drywet", "gear_type": "pedal", "tone_type": None}
    info.update(metadata or {})
    if info.get("gear_type") not in (*GEAR_TYPES, None):
        raise ConfigError(f"gear_type '{info['gear_type']}'; valid: {', '.join(GEAR_TYPES)}")
    if info.get("tone_type") not in (*TONE_TYPES, None):
        raise ConfigError(f"tone_type '{info['tone_type']}'; valid: {', '.join(TONE_TYPES)}")
    return info


def _file(architecture: str, config: dict, flat: np.ndarray, sample_rate: int, info: dict) -> dict:
    return {"version": NAM_VERSION, "architecture": architecture, "config": config, "weights": compact(flat),
            "sample_rate": int(sample_rate), "metadata": info}


def gear_metadata(gear: GearParams | None, name: str, test_esr: float | None = None,
                  verdict: str | None = None, latency_samples=None,
                  date: dt.datetime | dt.date | None = None) -> dict:
    """The `.nam` metadata for a capture described by `gear` (GearParams of `gear.<fx>`; None: a
    pedal, nothing else known): NAM's user fields, `training` (test ESR, verdict, the latency measured by
    alignment in samples) and `date` only when given (no clock: the same inputs give the same bytes)."""
    fields = ("gear_type", "gear_make", "gear_model", "tone_type", "modeled_by", "input_level_dbu",
              "output_level_dbu")
    info = {key: getattr(gear, key, None) for key in fields}
    info["gear_type"] = info["gear_type"] or "pedal"
    info["name"] = getattr(gear, "name", None) or name
    training = {"test_esr": test_esr, "verdict": verdict, "latency_samples": latency_samples}
    if any(v is not None for v in training.values()):
        info["training"] = training
    if date is not None:
        if not isinstance(date, dt.datetime):
            date = dt.datetime(date.year, date.month, date.day)
        info["date"] = {"year": date.year, "month": date.month, "day": date.day, "hour": date.hour,
                        "minute": date.minute, "second": date.second}
    return info


def with_levels(nam: dict) -> dict:
    """`nam` with metadata `loudness` (dBFS) and `gain` (0-1) measured as NAM's trainer measures them
    (`drywet.export.loudness`), by playing the file's own weights from its initial state."""
    player = read_nam(nam)

    def play(x):
        player.reset(prewarm=False)  # NAM measures from the model's initial state
        return player.process(x)

    loudness, gain = loudness_and_gain(play)
    meta = {**nam.get("metadata", {}), "gain": round(gain, 4)}
    if loudness is not None:
        meta["loudness"] = round(loudness, 4)
    return {**nam, "metadata": meta}


def stage_metadata(about: Provenance) -> dict:
    """`gear_metadata` for the export stage: the gear's `date` (YYYY-MM-DD) when it names one."""
    date = getattr(about.gear, "date", None)
    return gear_metadata(about.gear, about.name, about.esr, about.verdict, about.latency_samples,
                         dt.date.fromisoformat(date) if date else None)


def save_nam(nam: dict, path: str | os.PathLike) -> None:
    """Write a `.nam` dict as JSON (sorted keys) atomically."""
    save_json(nam, path)


def load_nam(path: str | os.PathLike) -> dict:
    """Read a `.nam` file; InputError when it is missing, not JSON, or lacks the required keys."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        nam = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .nam file ({exc})") from None
    if not isinstance(nam, dict):
        raise InputError(f"{path}: not a .nam file (top level is not a JSON object)")
    missing = [k for k in _REQUIRED_KEYS if k not in nam]
    if missing:
        raise InputError(f"{path}: not a .nam file (missing {', '.join(missing)})")
    if not isinstance(nam["weights"], list) or not isinstance(nam["config"], dict):
        raise InputError(f"{path}: not a .nam file (weights must be a list, config an object)")
    return nam


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # exact logistic, without overflow warnings


class NamLSTM:
    """Runs an LSTM `.nam` dict sample by sample, like a NAM player, from the file's contents alone.

    The state carries over between `process` calls (a stream); `reset` returns to the file's initial
    state.
    """

    def __init__(self, nam: dict):
        if nam.get("architecture") != "LSTM":
            raise InputError(f".nam architecture '{nam.get('architecture')}' is not LSTM")
        try:
            cfg = nam["config"]
            n_in, hidden, n_layers = int(cfg["input_size"]), int(cfg["hidden_size"]), int(cfg["num_layers"])
            flat = np.asarray(nam["weights"], np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f".nam LSTM config or weights unusable ({exc})") from None
        if n_in != 1:
            raise InputError(f".nam LSTM input_size {n_in}; only mono (1) is supported")
        if hidden < 1 or n_layers < 1:
            raise InputError(f".nam LSTM needs hidden_size and num_layers >= 1 (got {hidden}, {n_layers})")
        expected = sum(4 * hidden * ((n_in if i == 0 else hidden) + hidden + 1) + 2 * hidden
                       for i in range(n_layers)) + hidden + 1
        if flat.ndim != 1 or flat.size != expected:
            raise InputError(f".nam LSTM has {flat.size} weights; config implies {expected}")
        self.hidden = hidden
        self.layers: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        pos = 0

        def take(n: int) -> np.ndarray:
            nonlocal pos
            pos += n
            return flat[pos - n:pos]

        for i in range(n_layers):
            width = (n_in if i == 0 else hidden) + hidden
            w = take(4 * hidden * width).reshape(4 * hidden, width)  # row-major, as PyTorch
            self.layers.append((w, take(4 * hidden), take(hidden), take(hidden)))
        self.head_w, self.head_b = take(hidden), float(take(1)[0])
        self.reset()

    def reset(self) -> None:
        """Return every layer to the initial hidden and cell state stored in the file."""
        self._h = [h0.copy() for _, _, h0, _ in self.layers]
        self._c = [c0.copy() for _, _, _, c0 in self.layers]

    def process(self, x: np.ndarray) -> np.ndarray:
        """Wet output for a mono signal (float32, same length), continuing from the current state."""
        x = np.asarray(x, np.float64).ravel()
        hs = self.hidden
        y = np.empty(x.size, np.float64)
        for t in range(x.size):
            layer_in = x[t:t + 1]
            for k, (w, b, _, _) in enumerate(self.layers):
                z = w @ np.concatenate([layer_in, self._h[k]]) + b  # W [x; h] + b -> i, f, g, o rows
                gates = _sigmoid(z)  # i, f, o use these; g is recomputed with tanh
                self._c[k] = gates[hs:2 * hs] * self._c[k] + gates[:hs] * np.tanh(z[2 * hs:3 * hs])
                self._h[k] = gates[3 * hs:] * np.tanh(self._c[k])
                layer_in = self._h[k]
            y[t] = self.head_w @ layer_in + self.head_b
        return y.astype(np.float32)


FORMAT = Format(name="nam", suffix=".nam", label=".nam", build=from_weights, plugins=(NAM_PLUGIN,), reader=read_nam,
                metadata=stage_metadata, finish=with_levels, architectures=("LSTM", "WaveNet"))
