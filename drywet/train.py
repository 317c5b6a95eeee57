"""Training glue: shared tf.data helpers, the ESR metric, checkpoint / logging / best-epoch
callbacks, and the fit loop (the kind supplies model, data, optimizer and loss)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from drywet.kinds import get_kind
from drywet.meta import checkpoint_name
from drywet.models import Structure, build_model


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TF and ask TF for deterministic kernels (same seed -> same run)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def held(x: np.ndarray):
    """The audio as a non-trainable variable: held once, not copied into every traced function."""
    import tensorflow as tf

    return tf.Variable(np.asarray(x, np.float32), trainable=False)


def start_batches(starts: np.ndarray, batch_size: int, shuffle_seed: int | None):
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


@dataclass(frozen=True)
class FitResult:
    """A fitted model and how it went: seconds in fit, epochs run, the epoch whose weights it holds."""

    model: object
    seconds: float
    epochs_run: int
    best_epoch: int | None  # None: the last epoch's weights (no validation-based choice)


def _callbacks(live, checkpoint_dir: str | None, checkpoints: tuple[int, ...], log_path: str | None,
               keep_best: bool, patience: int | None):
    import keras

    from drywet.inference import save_keras

    def log_line(text: str) -> None:
        with open(log_path, "a") as fh:
            fh.write(text + "\n")

    class EpochLog(keras.callbacks.Callback):
        """Appends one readable line per epoch to a log file (no times: the log lives in the model
        folder, which DVC hashes; DVCLive's curves carry timestamps)."""

        def on_epoch_end(self, epoch, logs=None):
            items = " ".join(f"{k}={v:.6g}" for k, v in sorted((logs or {}).items()) if k != "learning_rate")
            log_line(f"epoch {epoch + 1:4d}  {items}")

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
                save_keras(self.model, os.path.join(checkpoint_dir, checkpoint_name(epoch + 1)))

    cbs = []
    if log_path is not None:
        cbs.append(EpochLog())
    if live is not None:
        cbs.append(LiveLogger())
    if checkpoint_dir is not None:
        os.makedirs(checkpoint_dir, exist_ok=True)
        cbs.append(Checkpoints())
    if keep_best:
        cbs.append(best_epoch_callback(patience, log_line if log_path is not None else None))
    return cbs


def best_epoch_callback(patience: int | None, log=None):
    """Keras callback: tracks the epoch with the lowest `val_esr` (`.best_epoch`, 1-based), stops
    after `patience` epochs without a new best (None = never) and puts the best epoch's weights
    back when training ends; `log(text)` hears which epoch that was."""
    import keras

    class BestEpoch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.best_epoch, self.best_weights = np.inf, None, None

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_esr")
            if value is None:
                return
            if value < self.best:
                self.best, self.best_epoch = float(value), epoch + 1
                self.best_weights = self.model.get_weights()
            elif patience is not None and epoch + 1 - self.best_epoch >= patience:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is None:
                return
            self.model.set_weights(self.best_weights)
            if log is not None:
                log(f"best epoch {self.best_epoch} (val_esr={self.best:.6g}): its weights are kept")

    return BestEpoch()


def fit(structure: Structure, kind: str, cfg, train_ds, val_ds, steps_per_epoch: int | None = None,
        skip: bool = False, live=None, checkpoint_dir: str | None = None, log_path: str | None = None,
        verbose: int = 2) -> FitResult:
    """Build, compile and fit a model of `kind` with its recipe `cfg` (the kind's TRAIN_PARAMS:
    TrainParams for framed, TrainSequenceParams for sequence). `steps_per_epoch` as the kind's
    `datasets` gives it. Kinds that keep the best epoch end with its weights."""
    k = get_kind(kind)
    set_determinism(cfg.seed)
    model = build_model(structure, kind, seed=cfg.seed, skip=skip)
    model.compile(**k.compile_args(cfg, steps_per_epoch))
    checkpoints = tuple(e for e in cfg.checkpoints if e <= cfg.epochs)
    keep_best = k.KEEP_BEST and val_ds is not None
    callbacks = _callbacks(live, checkpoint_dir, checkpoints, log_path, keep_best, getattr(cfg, "patience", None))
    t0 = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, steps_per_epoch=steps_per_epoch,
                        verbose=verbose, shuffle=False, callbacks=callbacks)
    seconds = time.perf_counter() - t0
    best = callbacks[-1].best_epoch if keep_best else None
    return FitResult(model, seconds, len(history.epoch), best)

