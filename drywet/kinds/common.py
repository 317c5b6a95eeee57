"""What every model kind works with: the examples as start indices (`Index`), the audio they index
(`Audio`), several takes' indexes merged into one, the tf.data helpers that gather batches from
start indices, and the ESR metric the kinds compile with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Index:
    """Training and validation examples as start indices into the audio, never copies.

    train: framed: (count,) frame starts; sequence: (epochs, segments) segment starts, one row per
        epoch. val: (n,) starts. length: samples per example. supervised: scored samples per epoch.
    """

    train: np.ndarray
    val: np.ndarray
    length: int
    supervised: int


@dataclass(frozen=True)
class Audio:
    """The training and validation parts (float32, at the model's rate).

    A knob-conditioned capture lays its positions' parts end to end: `knobs` (positions, knobs) holds
    each position's knob values and `train_bounds` / `val_bounds` (positions + 1,) where each
    position's part starts (and the last ends); examples never straddle two positions (see
    `merge_indexes`), and the sequence kind feeds the knob values as constant input channels.
    """

    train_dry: np.ndarray
    train_wet: np.ndarray
    val_dry: np.ndarray
    val_wet: np.ndarray
    knobs: np.ndarray | None = None
    train_bounds: np.ndarray | None = None
    val_bounds: np.ndarray | None = None


def merge_indexes(indexes: list[Index], train_lengths: list[int], val_lengths: list[int], seed: int,
                  cap: int | None = None) -> Index:
    """One Index over several takes laid end to end (a knob-conditioned capture's positions), from
    each take's own Index (`make_index` on its part alone, so no example straddles two takes).

    Take i's starts are offset by the lengths of the takes before it; every epoch's training row is
    then shuffled across takes (seeded) and cut to its first `cap` examples (None: all);
    validation examples stay in order. `supervised` counts the scored samples of the rows kept.
    """
    def offsets(lengths: list[int]) -> np.ndarray:
        return np.concatenate(([0], np.cumsum(np.asarray(lengths, np.int64))[:-1]))

    train = np.concatenate([ix.train + off for ix, off in zip(indexes, offsets(train_lengths), strict=True)],
                           axis=-1)
    val = np.concatenate([ix.val + off for ix, off in zip(indexes, offsets(val_lengths), strict=True)])
    rng = np.random.default_rng(seed)
    if train.ndim == 2:
        train = np.stack([row[rng.permutation(row.size)][:cap] for row in train])
    else:
        train = train[rng.permutation(train.size)][:cap]
    per_example = indexes[0].supervised // max(1, int(indexes[0].train.shape[-1]))
    return Index(train=train.astype(np.int64), val=val.astype(np.int64), length=indexes[0].length,
                 supervised=int(train.shape[-1]) * per_example)


def held(x: np.ndarray):
    """The audio as a non-trainable variable: held once, not copied into every traced function."""
    import tensorflow as tf

    return tf.Variable(np.asarray(x, np.float32), trainable=False)


def start_batches(starts: np.ndarray, batch_size: int, shuffle_seed: int | None, skip_epochs: int = 0):
    """Batches of start indices; with a seed, a fresh permutation every epoch (drawn in-graph, so
    no shuffle buffer holds the examples). `skip_epochs`: a resumed training's first epoch gets the
    order that epoch `skip_epochs + 1` of an uninterrupted one gets."""
    import tensorflow as tf

    starts_t = tf.constant(np.asarray(starts, np.int64))
    if shuffle_seed is None:
        return tf.data.Dataset.from_tensor_slices(starts_t).batch(batch_size)
    rng = tf.random.Generator.from_seed(shuffle_seed)
    for _ in range(skip_epochs):  # the same draws as the epochs done, so the generator's state matches
        rng.uniform([len(starts)])

    def one_epoch(_):
        order = tf.argsort(rng.uniform([tf.size(starts_t)]))
        return tf.data.Dataset.from_tensor_slices(tf.gather(starts_t, order)).batch(batch_size)

    n_batches = -(-len(starts) // batch_size)
    # flat_map hides the length; stating it keeps Keras' progress and epoch ends exact.
    return tf.data.Dataset.from_tensors(0).flat_map(one_epoch).apply(
        tf.data.experimental.assert_cardinality(n_batches))


def make_esr_metric(warmup: int = 0):
    """Keras metric: error-to-signal ratio accumulated over all batches of an epoch (the first
    `warmup` samples of each example unscored)."""
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
