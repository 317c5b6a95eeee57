"""WaveNet kind: Neural Amp Modeler's convolutional model (layer arrays of dilated causal 1-D
convolutions, tanh or gated activations, residual and head sums, `head_scale` on the output), one
output per sample, as NAM's plugin plays it. The named structures are NAM's presets
(`drywet.wavenet.arch.PRESETS`: standard, lite, feather, nano). Trained with the sequence kind's
`train_sequence` recipe (segments tiling the training part, ESR loss, best validation epoch kept);
each segment is lengthened by the receptive field less one sample at its start, unscored, so
`segment` and `warmup` count the same scored samples as for an LSTM."""

from __future__ import annotations

import dataclasses

import numpy as np

from drywet.config import TrainSequenceParams
from drywet.errors import ConfigError
from drywet.kinds import sequence
from drywet.kinds.common import Audio, Index
from drywet.models import Structure
from drywet.wavenet.arch import PRESETS, WaveNetConfig

INDEX_PARAMS = TRAIN_PARAMS = TrainSequenceParams  # params.yaml `train_sequence`, as the sequence kind
KEEP_BEST = True
KERNEL_KEY = sequence.KERNEL_KEY
# The capture's recipe: NAM's trainer's segments (8,192 scored samples after the context) and learning
# rate, 8 segments a batch (more steps per CPU-second than NAM's 16), the sequence kind's clipping;
# without a trial, a fifteenth of the LSTM's samples (a standard WaveNet step costs about 15x).
CAPTURE_RECIPE = {"batch_size": 8, "grad_clip": 1.0, "segment": 8192, "warmup": 0, "learning_rate": 0.004}
CAPTURE_SAMPLES = sequence.CAPTURE_SAMPLES // 15


def config(structure: Structure) -> WaveNetConfig:
    """The NAM architecture a structure names."""
    return PRESETS[structure.name]


def _structure(name: str, cfg: WaveNetConfig) -> Structure:
    # layers: dilated convolutions in all; units: the first array's channels; no frame.
    return Structure(name, sum(len(a.dilations) for a in cfg.arrays), cfg.arrays[0].channels, 1)


STRUCTURES: dict[str, Structure] = {name: _structure(name, cfg) for name, cfg in PRESETS.items()}


def training_kernel(cfg: TrainSequenceParams) -> str:
    """Keras's own convolutions: `train_sequence.kernel` chooses among LSTM kernels only."""
    return "keras"


def context(structure: Structure) -> int:
    """Samples of history one output needs beyond its own: the receptive field less one."""
    return config(structure).receptive_field - 1


def build_model(structure: Structure, skip: bool = False):
    """(batch, time, 1) -> (batch, time, 1), causal (zeros before the first sample, as a stream
    starting from silence). Layers per array i and layer j: `a{i}_rechannel`, `a{i}_l{j}_conv`,
    `a{i}_l{j}_mixer`, `a{i}_l{j}_1x1`, `a{i}_head`; `wet` scales by head_scale. The last layer's
    1x1 feeds nothing (NAM computes it and drops it), so it is not built."""
    import keras

    if skip:
        raise ConfigError("model.skip is for the sequence kind; a WaveNet (as NAM plays it) has no dry path")
    if getattr(structure, "inputs", 1) != 1:
        raise ConfigError("knob inputs are for the sequence kind; the WaveNet kind takes the audio only")
    cfg = config(structure)
    dry = keras.Input(shape=(None, 1), name="dry")
    y, head = dry, None
    last_array = len(cfg.arrays) - 1
    for i, arr in enumerate(cfg.arrays):
        h = keras.layers.Conv1D(arr.channels, 1, use_bias=False, name=f"a{i}_rechannel")(y)
        for j, d in enumerate(arr.dilations):
            z = keras.layers.Conv1D(arr.mid, arr.kernel_size, dilation_rate=d, padding="causal",
                                    name=f"a{i}_l{j}_conv")(h)
            z = keras.layers.Add(name=f"a{i}_l{j}_sum")(
                [z, keras.layers.Conv1D(arr.mid, 1, use_bias=False, name=f"a{i}_l{j}_mixer")(dry)])
            if arr.gated:
                a = keras.layers.Multiply(name=f"a{i}_l{j}_gate")(
                    [keras.activations.tanh(z[..., :arr.channels]), keras.activations.sigmoid(z[..., arr.channels:])])
            else:
                a = keras.layers.Activation("tanh", name=f"a{i}_l{j}_tanh")(z)
            head = a if head is None else keras.layers.Add(name=f"a{i}_l{j}_skip")([head, a])
            if not (i == last_array and j == len(arr.dilations) - 1):
                h = keras.layers.Add(name=f"a{i}_l{j}_res")(
                    [h, keras.layers.Conv1D(arr.channels, 1, name=f"a{i}_l{j}_1x1")(a)])
        head = keras.layers.Conv1D(arr.head_size, 1, use_bias=arr.head_bias, name=f"a{i}_head")(head)
        y = h
    out = keras.layers.Rescaling(cfg.head_scale, name="wet")(head)
    return keras.Model(dry, out, name=f"{structure.name}_wavenet")


def flat_weights(model, structure: Structure) -> np.ndarray:
    """The model's weights as one flat float32 vector in NAM's `.nam` order (see
    `drywet.wavenet.weights`): per array the rechannel, per layer conv (out, in, k) + bias, mixer,
    1x1 + bias (zeros for the last layer's, which nothing reads), then the head; head_scale last."""
    cfg = config(structure)
    parts: list[np.ndarray] = []

    def kernel(name: str) -> list[np.ndarray]:
        return model.get_layer(name).get_weights()

    def one_by_one(w: np.ndarray) -> np.ndarray:  # Keras (1, in, out) -> NAM (out, in)
        return w[0].T

    for i, arr in enumerate(cfg.arrays):
        parts.append(one_by_one(kernel(f"a{i}_rechannel")[0]))
        for j in range(len(arr.dilations)):
            w, b = kernel(f"a{i}_l{j}_conv")
            parts += [np.transpose(w, (2, 1, 0)), b, one_by_one(kernel(f"a{i}_l{j}_mixer")[0])]
            try:
                w1, b1 = kernel(f"a{i}_l{j}_1x1")
            except ValueError:  # the last layer's: not built
                w1, b1 = np.zeros((1, arr.channels, arr.channels)), np.zeros(arr.channels)
            parts += [one_by_one(w1), b1]
        head = kernel(f"a{i}_head")
        parts.append(one_by_one(head[0]))
        if arr.head_bias:
            parts.append(head[1])
    parts.append(np.array([cfg.head_scale]))
    return np.concatenate([np.asarray(p, np.float32).ravel() for p in parts])


def weights_of(model, structure: Structure):
    """`drywet.wavenet.weights.WaveNetWeights` of a Keras WaveNet (what the stream and the export play)."""
    from drywet.wavenet.weights import WaveNetWeights

    return WaveNetWeights.from_flat(config(structure), flat_weights(model, structure))


def playable(model, meta=None):
    """The WaveNetWeights a `.nam` file holds (the structure from the metadata, else the model's name)."""
    name = meta.structure if meta is not None else model.name.removesuffix("_wavenet")
    if name not in STRUCTURES:
        raise ConfigError(f"model '{model.name}': unknown WaveNet structure '{name}'; valid: {', '.join(STRUCTURES)}")
    return weights_of(model, STRUCTURES[name])


def macs(structure: Structure) -> int:
    """Multiply-adds per output sample."""
    return config(structure).macs_per_sample()


def lstm_steps(structure: Structure) -> int:
    """No LSTM: `macs` gives the cost."""
    return 0


def recipe(cfg: TrainSequenceParams, structure: Structure) -> TrainSequenceParams:
    """The sequence recipe with each segment and its unscored warm-up lengthened by the context."""
    extra = context(structure)
    return dataclasses.replace(cfg, segment=cfg.segment + extra, warmup=cfg.warmup + extra)


def make_index(n_train: int, n_val: int, structure: Structure, cfg: TrainSequenceParams) -> Index:
    """The sequence kind's segments, each with the context before it."""
    long = recipe(cfg, structure)
    if long.segment > min(n_train, n_val):
        raise ConfigError(f"train_sequence.segment ({cfg.segment}) plus the {structure.name} WaveNet's "
                          f"{long.segment - cfg.segment}-sample context is longer than the training or "
                          f"validation part ({min(n_train, n_val)} samples)")
    return sequence.make_index(n_train, n_val, structure, long)


def datasets(audio: Audio, index: Index, cfg: TrainSequenceParams, start_epoch: int = 0):
    """As the sequence kind's (segments of `index.length`, context included); audio only."""
    if audio.knobs is not None:
        raise ConfigError("knob inputs are for the sequence kind; the WaveNet kind takes the audio only")
    return sequence.datasets(audio, index, cfg, start_epoch)


def compile_args(cfg: TrainSequenceParams, steps_per_epoch: int | None = None,
                 structure: Structure | None = None) -> dict:
    """The sequence recipe's optimizer and loss, the context unscored."""
    if structure is None:
        raise ConfigError("the WaveNet kind compiles with its structure (its context is unscored)")
    return sequence.compile_args(recipe(cfg, structure), steps_per_epoch)


def settled_stream(weights):
    """drywet.wavenet's stream in the state long silence leaves (the receptive field's worth of zeros
    run through it), as NAM's plugin plays after its prewarm and NAM's trainer pads: every layer's
    history holds what zeros make of it (its biases through tanh), not zeros."""
    from drywet.wavenet.stream import WaveNetStream

    stream = WaveNetStream(weights)
    stream.process(np.zeros(weights.config.receptive_field - 1, np.float32))
    return stream


def predict(model, x: np.ndarray, batch_size: int = 8192, progress: bool = False) -> np.ndarray:
    """One output per sample, streamed from long silence as NAM's plugin plays it (drywet.wavenet's
    compiled loop, `settled_stream`). Training's causal padding fills each layer's history with
    zeros instead, but only over each segment's unscored context."""
    if x.ndim == 2:
        x = x[:, 0]
    return settled_stream(playable(model)).process(np.asarray(x, np.float32))
