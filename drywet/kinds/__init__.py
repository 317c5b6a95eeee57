"""Model kinds: how a model of each kind sees the audio, one module per kind.

Each kind module (`framed`, `sequence`) provides the same small interface:

    INDEX_PARAMS, TRAIN_PARAMS                     drywet.params sections for its examples and recipe
    build_model(structure, skip) -> keras.Model    the Keras model (the caller seeds Keras)
    lstm_steps(structure) -> int                   LSTM steps run per output sample (cost)
    make_index(n_train, n_val, structure, cfg)     training / validation examples as start indices
    datasets(audio, index, cfg, start_epoch=0)     tf.data pipelines and the steps per epoch (from an epoch on)
    compile_args(cfg, steps_per_epoch) -> dict     optimizer, loss and metrics for `compile`
    KEEP_BEST                                      keep the best validation epoch's weights (else the last)
    training_kernel(cfg) -> str | None             the LSTM kernel `fit` trains with: "block" (drywet.fused),
                                                   "cpu" (drywet.cpu_lstm), None (keras.layers.LSTM);
                                                   models are saved as plain Keras either way
    predict(model, x, batch_size, progress)        one output sample per input sample

A new kind is one new module here plus its name in KINDS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from drywet.errors import ConfigError

KINDS = ("framed", "sequence")


def check_kind(kind: str) -> str:
    """Validate model.kind."""
    if kind not in KINDS:
        raise ConfigError(f"unknown model.kind '{kind}'; valid kinds: {', '.join(KINDS)}")
    return kind


def get_kind(kind: str) -> ModuleType:
    """The module implementing `kind` (ConfigError listing the valid kinds when unknown)."""
    return importlib.import_module(f"drywet.kinds.{check_kind(kind)}")


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
