"""Model kinds: how a model of each kind sees the audio, one module per kind, and the registry of them.

Each kind module (`framed`, `sequence`) provides the same small interface:

    INDEX_PARAMS, TRAIN_PARAMS                     drywet.config sections for its examples and recipe
    build_model(structure, skip) -> keras.Model    the Keras model (the caller seeds Keras)
    lstm_steps(structure) -> int                   LSTM steps run per output sample (cost)
    make_index(n_train, n_val, structure, cfg)     training / validation examples as start indices
    datasets(audio, index, cfg, start_epoch=0)     tf.data pipelines and the steps per epoch (from an epoch on)
    compile_args(cfg, steps_per_epoch, structure)  optimizer, loss and metrics for `compile`
    KEEP_BEST                                      keep the best validation epoch's weights (else the last)
    training_kernel(cfg) -> str                    the name of the LSTM kernel drywet.train's `fit` trains with, in
                                                   drywet.lstm.kernels' registry: "keras", "block", "cpu";
                                                   models are saved as plain Keras either way
    predict(model, x, batch_size, progress)        one output sample per input sample

`common` holds what they share (`Index`, `Audio`, the tf.data helpers, the ESR metric). A kind never
imports the training loop (drywet.train) or a training kernel: it names its kernel, `fit` picks it.
A new kind is one new module here: drywet.config finds it (KIND_NAMES) and KINDS below is built from it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from drywet.config import KIND_NAMES
from drywet.errors import ConfigError
from drywet.kinds.common import Audio, Index, merge_indexes
from drywet.models import STRUCTURES, Structure

# The registry: kind name -> its module, one per module drywet/kinds/<name>.py (drywet.config.KIND_NAMES).
KINDS: dict[str, ModuleType] = {name: importlib.import_module(f"drywet.kinds.{name}") for name in KIND_NAMES}

__all__ = ["FRAMED_REASON", "KINDS", "Audio", "Index", "build_model", "check_kind", "get_kind", "get_structure",
           "kind_of", "macs_per_sample", "merge_indexes", "playable", "plays_in_plugins", "structures"]

FRAMED_REASON = "framed models play in no plugin; train with model.kind: sequence or wavenet"


def check_kind(kind: str) -> str:
    """Validate model.kind."""
    if kind not in KINDS:
        raise ConfigError(f"unknown model.kind '{kind}'; valid kinds: {', '.join(KINDS)}")
    return kind


def get_kind(kind: str) -> ModuleType:
    """The module implementing `kind` (ConfigError listing the valid kinds when unknown)."""
    return KINDS[check_kind(kind)]


def structures(kind: str) -> dict[str, Structure]:
    """The named structures a kind builds (the LSTM stacks of drywet.models unless the kind has its own)."""
    return getattr(get_kind(kind), "STRUCTURES", STRUCTURES)


def get_structure(name: str, kind: str) -> Structure:
    """A structure of `kind` by name; unknown names are a ConfigError listing the kind's valid ones."""
    known = structures(kind)
    if name not in known:
        raise ConfigError(f"unknown model.structure '{name}' for model.kind {kind}; valid structures: "
                          f"{', '.join(known)}")
    return known[name]


def kind_of(model, meta=None) -> str:
    """The kind of a Keras model: its metadata's, else the suffix `build_model` gave its name, else
    (a model saved elsewhere) framed when its last LSTM returns only its final state."""
    if meta is not None:
        return meta.kind
    suffix = str(getattr(model, "name", "")).rpartition("_")[2]
    if suffix in KINDS:
        return suffix
    import keras

    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    return "framed" if lstms and not lstms[-1].return_sequences else "sequence"


def plays_in_plugins(kind: str) -> bool:
    """Whether models of `kind` have plugin files (the kind has `playable`)."""
    return hasattr(get_kind(kind), "playable")


def playable(model, meta=None, label: str = "a plugin"):
    """The weights a plugin file of `label` holds for this model (its kind's `playable`); ConfigError
    (one line) for a kind that plays in no plugin."""
    kind = kind_of(model, meta)
    if not plays_in_plugins(kind):
        raise ConfigError(f"model '{model.name}': {FRAMED_REASON} (to export to {label})")
    return get_kind(kind).playable(model, meta)


def build_model(structure: Structure, kind: str = "framed", seed: int = 0, skip: bool = False):
    """Keras model of `kind`: input `dry`, LSTM layer(s) `lstm_<i>`, Dense(1) `wet`; with `skip`
    (sequence kind only) an Add `skip` puts the dry input on the output.
    Keras is seeded with `seed` first, so the same seed gives the same initial weights.
    """
    import keras

    k = get_kind(kind)
    keras.utils.set_random_seed(seed)
    return k.build_model(structure, skip=skip)


def macs_per_sample(structure: Structure, kind: str) -> int:
    """Multiply-adds per output sample: the framed kind reruns the LSTM over a whole frame; a kind
    with its own `macs` (the WaveNet) says."""
    k = get_kind(kind)
    if hasattr(k, "macs"):
        return int(k.macs(structure))
    per_step, n_in = 0, 1
    for _ in range(structure.layers):
        per_step += 4 * structure.units * (n_in + structure.units)
        n_in = structure.units
    return per_step * k.lstm_steps(structure) + structure.units
