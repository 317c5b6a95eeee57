"""Training glue: tf.data pipelines that build batches as index gathers, the ESR metric,
checkpoint and logging callbacks, and the fit loop for framed and sequence models."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from drywet.models import Structure, build_model, check_kind


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (params.yaml `train` section plus the model kind)."""

    epochs: int
    batch_size: int
    learning_rate: float
    loss: str
    seed: int
    checkpoints: tuple[int, ...]
    kind: str = "framed"
    segment: int = 2048  # sequence kind: samples per training segment, warm-up included
    warmup: int = 256  # sequence kind: leading samples of a segment excluded from the loss
    preemph: float = 0.0  # sequence kind: first-order pre-emphasis coefficient on the loss (0 = off)
    seq_batch_size: int = 16  # sequence kind: segments per batch


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TF and ask TF for deterministic kernels (same seed -> same run)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _held(x: np.ndarray):
    """The audio as a non-trainable variable: held once, not copied into every traced function."""
    import tensorflow as tf

    return tf.Variable(np.asarray(x, np.float32), trainable=False)


def _start_batches(starts: np.ndarray, batch_size: int, shuffle_seed: int | None):
    """Batches of start indices; with a seed, a fresh permutation every epoch (drawn in-graph, so
    no shuffle buffer holds the examples)."""
    import tensorflow as tf

    starts_t = tf.constant(np.asarray(starts, np.int64))
    if shuffle_seed is None:
        return tf.data.Dataset.from_tensor_slices(starts_t).batch(batch_size)
    rng = tf.random.Generator.from_seed(shuffle_seed)

    def one_epoch(_):
        order = tf.argsort(rng.uniform([tf.size(starts_t)]))
        return tf.data.Dataset.from_tensor_slices(tf.gather(starts_t, order)).batch(batch_size)

    n_batches = -(-len(starts) // batch_size)
    # flat_map hides the length; stating it keeps Keras' progress and epoch ends exact.
    return tf.data.Dataset.from_tensors(0).flat_map(one_epoch).apply(
        tf.data.experimental.assert_cardinality(n_batches))


def framed_dataset(dry: np.ndarray, wet: np.ndarray, starts: np.ndarray, frame: int,
                   batch_size: int, shuffle_seed: int | None):
    """tf.data of (frames, targets): each batch gathers `frame` dry samples per start index.

    Only the audio and the start indices are held; a batch is built on the fly, so memory is
    O(samples), not O(samples x frame). The target is the wet sample at the frame's last sample.
    """
    import tensorflow as tf

    dry_t, wet_t = _held(dry), _held(wet)
    offsets = tf.range(frame, dtype=tf.int64)

    def gather(s):
        x = tf.gather(dry_t, s[:, None] + offsets[None, :])[..., None]
        y = tf.gather(wet_t, s + frame - 1)[:, None]
        return x, y

    return _start_batches(starts, batch_size, shuffle_seed).map(gather).prefetch(2)


def sequence_dataset(dry: np.ndarray, wet: np.ndarray, starts: np.ndarray, segment: int,
                     batch_size: int, shuffle_seed: int | None):
    """tf.data of (segments, segments): `segment`-long dry/wet excerpts starting at `starts`."""
    import tensorflow as tf

    dry_t, wet_t = _held(dry), _held(wet)
    offsets = tf.range(segment, dtype=tf.int64)

    def gather(s):
        idx = s[:, None] + offsets[None, :]
        return tf.gather(dry_t, idx)[..., None], tf.gather(wet_t, idx)[..., None]

    return _start_batches(starts, batch_size, shuffle_seed).map(gather).prefetch(2)


def segment_starts(n_samples: int, count: int, segment: int, warmup: int, seed: int) -> np.ndarray:
    """Seeded, sorted segment starts so that about `count` samples (warm-up excluded) are supervised."""
    n_valid = n_samples - segment + 1
    if n_valid < 1:
        return np.zeros(0, np.int64)
    n_seg = max(1, int(np.ceil(count / max(1, segment - warmup))))
    rng = np.random.default_rng(seed)
    if n_seg >= n_valid:
        return np.arange(n_valid, dtype=np.int64)
    return np.sort(rng.choice(n_valid, size=n_seg, replace=False)).astype(np.int64)


def _preemph(x, coeff: float):
    """First-order pre-emphasis along time, y[n] = x[n] - coeff * x[n-1]; identity when coeff is 0."""
    return x[:, 1:, :] - coeff * x[:, :-1, :] if coeff else x


def sequence_loss(warmup: int, preemph: float, base: str = "mse") -> Callable:
    """Loss over a segment's samples after the warm-up, optionally after pre-emphasis."""
    import tensorflow as tf

    def loss(y_true, y_pred):
        t = _preemph(y_true[:, warmup:, :], preemph)
        p = _preemph(y_pred[:, warmup:, :], preemph)
        err = t - p
        return tf.reduce_mean(tf.abs(err)) if base == "mae" else tf.reduce_mean(tf.square(err))

    loss.__name__ = f"seq_{base}"
    return loss


def make_esr_metric(warmup: int = 0):
    """Keras metric: error-to-signal ratio accumulated over all batches of an epoch."""
    import keras
    import tensorflow as tf

    class ESR(keras.metrics.Metric):
        def __init__(self, name: str = "esr", **kw):
            super().__init__(name=name, **kw)
            self.err = self.add_variable(shape=(), initializer="zeros", name="err")
            self.sig = self.add_variable(shape=(), initializer="zeros", name="sig")

        def update_state(self, y_true, y_pred, sample_weight=None):
            if warmup:
                y_true, y_pred = y_true[:, warmup:], y_pred[:, warmup:]
            y_true = tf.cast(y_true, "float32")
            self.err.assign_add(tf.reduce_sum(tf.square(y_true - y_pred)))
            self.sig.assign_add(tf.reduce_sum(tf.square(y_true)))

        def result(self):
            return self.err / (self.sig + 1e-12)

        def reset_state(self):
            self.err.assign(0.0)
            self.sig.assign(0.0)

    return ESR()


def _callbacks(live, checkpoint_dir: str | None, checkpoints: tuple[int, ...], log_path: str | None):
    import keras

    class EpochLog(keras.callbacks.Callback):
        """Appends one readable line per epoch to a log file."""

        def on_train_begin(self, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            items = " ".join(f"{k}={v:.6g}" for k, v in sorted((logs or {}).items()) if k != "learning_rate")
            with open(log_path, "a") as fh:
                fh.write(f"epoch {epoch + 1:4d}  {time.perf_counter() - self.t0:8.1f}s  {items}\n")

    class LiveLogger(keras.callbacks.Callback):
        """Logs every epoch's metrics to DVCLive: `val_x` as `eval/x`, the rest as `train/x`."""

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                if key == "learning_rate":
                    continue
                name = f"eval/{key[4:]}" if key.startswith("val_") else f"train/{key}"
                live.log_metric(name, float(value))
            live.next_step()

    class Checkpoints(keras.callbacks.Callback):
        """Saves the model after each epoch listed in `checkpoints` (1-based)."""

        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) in checkpoints:
                path = os.path.join(checkpoint_dir, f"epoch_{epoch + 1:03d}.keras")
                self.model.save(path)

    cbs = []
    if log_path is not None:
        cbs.append(EpochLog())
    if live is not None:
        cbs.append(LiveLogger())
    if checkpoint_dir is not None:
        os.makedirs(checkpoint_dir, exist_ok=True)
        cbs.append(Checkpoints())
    return cbs


def fit(structure: Structure, cfg: TrainConfig, train_ds, val_ds, live=None,
        checkpoint_dir: str | None = None, log_path: str | None = None, verbose: int = 2):
    """Build, compile and fit a model; returns (model, seconds spent in fit)."""
    import keras

    check_kind(cfg.kind)
    set_determinism(cfg.seed)
    model = build_model(structure, cfg.kind, seed=cfg.seed)
    if cfg.kind == "sequence":
        loss = sequence_loss(cfg.warmup, cfg.preemph, cfg.loss)
        metric = make_esr_metric(cfg.warmup)
    else:
        loss = cfg.loss
        metric = make_esr_metric(0)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=loss, metrics=[metric])
    checkpoints = tuple(e for e in cfg.checkpoints if e <= cfg.epochs)
    t0 = time.perf_counter()
    model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, verbose=verbose, shuffle=False,
              callbacks=_callbacks(live, checkpoint_dir, checkpoints, log_path))
    return model, time.perf_counter() - t0
