"""What every plugin format needs from a model, the one-line refusals when a model lacks it, and
the JSON writing the formats share (float32 values as short decimals, sorted keys, atomic)."""

from __future__ import annotations

import json
import os

import numpy as np

from drywet.fileio import write_text


def playable_weights(model, label: str, meta=None):
    """The weights a plugin file holds for `model` (its kind's: SequenceWeights or WaveNetWeights);
    framed models are refused."""
    from drywet.kinds import playable

    return playable(model, meta, label)


def compact(values: np.ndarray) -> list[float]:
    """float32 values, flattened, as the shortest decimals that read back to the same float32."""
    return [float(str(v)) for v in np.asarray(values, np.float32).ravel()]


def nested(values: np.ndarray) -> list:
    """An array as nested lists of `compact` floats (rows first, as NumPy and PyTorch lay them out)."""
    values = np.asarray(values, np.float32)
    if values.ndim <= 1:
        return compact(values)
    return [nested(row) for row in values]


def model_rate(meta) -> int:
    """The rate the LSTM runs at (Hz): the audio rate times the model's oversampling factor."""
    return int(meta.sample_rate) * int(meta.oversample or 1)


def save_json(data: dict, path: str | os.PathLike) -> None:
    """Write an export as one line of JSON with sorted keys, atomically (same model, same bytes)."""
    write_text(path, json.dumps(data, sort_keys=True) + "\n")
