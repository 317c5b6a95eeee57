"""Model kinds: how a model of each kind sees the audio, one module per kind.

Each kind module (`framed`, `sequence`) provides the same small interface:

    INDEX_PARAMS, TRAIN_PARAMS                     drywet.params sections for its examples and recipe
    build_model(structure, skip) -> keras.Model    the Keras model (the caller seeds Keras)
    lstm_steps(structure) -> int                   LSTM steps run per output sample (cost)
    make_index(n_train, n_val, structure, cfg)     training / validation examples as start indices
    datasets(audio, index, cfg)                    tf.data pipelines and the steps per epoch
    compile_args(cfg, steps_per_epoch) -> dict     optimizer, loss and metrics for `compile`
    KEEP_BEST                                      keep the best validation epoch's weights (else the last)
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
    """The training and validation parts (float32, at the model's rate)."""

    train_dry: np.ndarray
    train_wet: np.ndarray
    val_dry: np.ndarray
    val_wet: np.ndarray
