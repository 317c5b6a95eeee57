"""Framed kind (the study's): a frame of `structure.frame` dry samples -> the wet sample at the
frame's last sample. Trained on `frame.count` seeded frame starts with the `train` recipe."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from drywet.config import FrameParams, TrainParams
from drywet.errors import ConfigError
from drywet.kinds.common import Audio, Index, held, make_esr_metric, start_batches
from drywet.models import Structure, lstm_stack
from drywet.progress import Progress
from drywet.split import sample_frame_starts

INDEX_PARAMS = FrameParams  # params.yaml `frame`
TRAIN_PARAMS = TrainParams  # params.yaml `train`
KEEP_BEST = False  # the study's models are the last epoch's
CPU_STEPS_PER_EXECUTION = 32  # batches per graph call with `train.kernel: cpu` (Keras's per-batch overhead)


def training_kernel(cfg: TrainParams) -> str:
    """The LSTM kernel `fit` trains with (drywet.lstm.kernels): `train.kernel`, "cpu" (drywet.lstm.cpu)
    or "keras" (keras.layers.LSTM)."""
    return cfg.kernel


def build_model(structure: Structure, skip: bool = False):
    """(batch, frame, 1) -> (batch, 1): the LSTM's last state through Dense(1)."""
    import keras

    if skip:
        raise ConfigError("model.skip is for the sequence kind; a framed model has no per-sample dry input")
    inp = keras.Input(shape=(structure.frame, 1), name="dry")
    # Layers are made in input-to-output order: each draws its initializer seeds when constructed.
    h = lstm_stack(inp, structure, sequences=False)
    out = keras.layers.Dense(1, name="wet")(h)
    return keras.Model(inp, out, name=f"{structure.name}_framed")


def lstm_steps(structure: Structure) -> int:
    """The LSTM reruns over a whole frame for every output sample."""
    return structure.frame


def make_index(n_train: int, n_val: int, structure: Structure, cfg: FrameParams) -> Index:
    """`count` distinct seeded frame starts in the training part, `val_count` in the validation part."""
    train = sample_frame_starts(n_train, structure.frame, cfg.count, cfg.seed)
    val = sample_frame_starts(n_val, structure.frame, cfg.val_count, cfg.seed + 1)
    return Index(train=train, val=val, length=structure.frame, supervised=len(train))


def framed_dataset(dry: np.ndarray, wet: np.ndarray, starts: np.ndarray, frame: int,
                   batch_size: int, shuffle_seed: int | None, skip_epochs: int = 0):
    """tf.data of (frames, targets): each batch gathers `frame` dry samples per start index.

    Only the audio and the start indices are held; a batch is built on the fly, so memory is
    O(samples), not O(samples x frame). The target is the wet sample at the frame's last sample.
    `skip_epochs`: the first epoch's order is that of epoch `skip_epochs + 1` (a resumed training).
    """
    import tensorflow as tf

    dry_t, wet_t = held(dry), held(wet)
    offsets = tf.range(frame, dtype=tf.int64)

    def gather(s):
        x = tf.gather(dry_t, s[:, None] + offsets[None, :])[..., None]
        y = tf.gather(wet_t, s + frame - 1)[:, None]
        return x, y

    return start_batches(starts, batch_size, shuffle_seed, skip_epochs).map(gather).prefetch(2)


def datasets(audio: Audio, index: Index, cfg: TrainParams, start_epoch: int = 0):
    """(train_ds, val_ds, steps_per_epoch): training frames in a fresh seeded order every epoch;
    a training resumed after `start_epoch` epochs gets the orders of the epochs after it."""
    train_ds = framed_dataset(audio.train_dry, audio.train_wet, index.train, index.length, cfg.batch_size, cfg.seed,
                              start_epoch)
    val_ds = framed_dataset(audio.val_dry, audio.val_wet, index.val, index.length, cfg.batch_size, None)
    return train_ds, val_ds, None


def compile_args(cfg: TrainParams, steps_per_epoch: int | None = None, structure: Structure | None = None) -> dict:
    """Adam at a constant rate, the `train.loss` Keras loss, ESR as the metric; with the CPU kernel,
    32 batches per graph call (the same batches in the same order: only the loop's overhead changes)."""
    import keras

    return {"optimizer": keras.optimizers.Adam(cfg.learning_rate), "loss": cfg.loss,
            "metrics": [make_esr_metric(0)],
            "steps_per_execution": CPU_STEPS_PER_EXECUTION if cfg.kernel == "cpu" else 1}


def predict(model, x: np.ndarray, batch_size: int = 8192, progress: bool = False) -> np.ndarray:
    """One prediction per sample, each from the frame ending at it (zeros before the start)."""
    return predict_framed(model, x, int(model.input_shape[1]), batch_size, progress)


def predict_framed(model, dry: np.ndarray, frame: int, batch_size: int = 8192,
                   progress: bool = False) -> np.ndarray:
    """One prediction per dry sample (causal: the frame ends at that sample; zeros before start).

    Frames are views of the left-padded signal; only one batch is materialised at a time.
    """
    import tensorflow as tf

    x = np.concatenate([np.zeros(frame - 1, np.float32), np.asarray(dry, np.float32)])
    windows = sliding_window_view(x, frame)
    call = tf.function(lambda b: model(b, training=False), reduce_retracing=True)
    out = np.empty(len(dry), np.float32)
    bar = Progress(len(dry), progress)
    for i in range(0, len(dry), batch_size):
        batch = np.ascontiguousarray(windows[i:i + batch_size])[..., None]
        out[i:i + len(batch)] = call(tf.constant(batch)).numpy()[:, 0]
        bar.update(min(i + batch_size, len(dry)))
    return out
