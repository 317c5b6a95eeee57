"""Run a trained model over audio: batched framed prediction and (chunked or streaming) sequence
prediction; saving and loading a model together with the metadata needed to run it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from drywet.errors import InputError

META_NAME = "model.json"


def save_model(model, path: str | os.PathLike, meta: dict) -> None:
    """Save a Keras model and, beside it, its metadata (kind, structure, frame, sample rate)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    (path.parent / META_NAME).write_text(json.dumps(meta, indent=2) + "\n")


def load_keras(path: str | os.PathLike):
    """Load a `.keras` file for inference only (no optimizer or loss needed)."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - keras raises many types for a bad file
        raise InputError(f"{path}: cannot load model ({exc})") from None


def load_model(path: str | os.PathLike):
    """Load a `.keras` model (or a folder holding model.keras) and the metadata beside it."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    meta_path = path.parent / META_NAME
    if not path.exists():
        raise InputError(f"{path}: model file not found")
    if not meta_path.is_file():
        raise InputError(f"{meta_path}: model metadata not found (expected beside the model)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{meta_path}: not valid JSON ({exc})") from None
    return load_keras(path), meta


def _progress(done: int, total: int, enabled: bool) -> None:
    if enabled:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done / max(total, 1):5.1f}%")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


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
    for i in range(0, len(dry), batch_size):
        batch = np.ascontiguousarray(windows[i:i + batch_size])[..., None]
        out[i:i + len(batch)] = call(tf.constant(batch)).numpy()[:, 0]
        _progress(min(i + batch_size, len(dry)), len(dry), progress)
    return out


def predict_sequence(model, dry: np.ndarray, chunk: int = 16384, warmup: int = 2048,
                     batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """Sequence prediction in parallel chunks: each chunk starts `warmup` samples early so the LSTM
    state has settled from the preceding audio (the first chunk starts from silence).

    This runs ~15x faster than one sample-by-sample stream; `stream_sequence` is the exact version.
    """
    import tensorflow as tf

    n = len(dry)
    x = np.concatenate([np.zeros(warmup, np.float32), np.asarray(dry, np.float32),
                        np.zeros(chunk, np.float32)])
    starts = np.arange(0, n, chunk)
    call = tf.function(lambda b: model(b, training=False), reduce_retracing=True)
    out = np.empty(len(starts) * chunk, np.float32)
    for b in range(0, len(starts), batch_size):
        s = starts[b:b + batch_size]
        batch = np.stack([x[i:i + warmup + chunk] for i in s])[..., None]
        y = call(tf.constant(batch)).numpy()[:, warmup:, 0]
        out[b * chunk:(b + len(s)) * chunk] = y.reshape(-1)
        _progress(min(b + batch_size, len(starts)), len(starts), progress)
    return out[:n]


def stream_sequence(model, dry: np.ndarray, block: int = 4096, progress: bool = False) -> np.ndarray:
    """Exact streaming sequence prediction: one stream, LSTM state carried from block to block."""
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    dense = model.layers[-1]
    inp = keras.Input(batch_shape=(1, None, 1))
    h = inp
    stateful = []
    for layer in layers:
        new = keras.layers.LSTM(layer.units, return_sequences=True, stateful=True)
        h = new(h)
        stateful.append((new, layer))
    out = keras.layers.Dense(1)(h)
    twin = keras.Model(inp, out)
    for new, old in stateful:
        new.set_weights(old.get_weights())
    twin.layers[-1].set_weights(dense.get_weights())
    y = np.empty(len(dry), np.float32)
    x = np.asarray(dry, np.float32)
    for i in range(0, len(x), block):
        y[i:i + block] = twin(x[None, i:i + block, None], training=False).numpy()[0, :, 0]
        _progress(min(i + block, len(x)), len(x), progress)
    return y


def predict(model, meta: dict, dry: np.ndarray, batch_size: int = 8192,
            progress: bool = False) -> np.ndarray:
    """Predict the wet signal for `dry` with a model of either kind (same length as `dry`).

    A model trained with `oversample` k runs at k times the rate between interpolation and decimation.
    """
    from drywet.antialias import downsample, upsample

    factor = int(meta.get("oversample", 1))
    x = upsample(dry, factor)
    if meta["kind"] == "framed":
        y = predict_framed(model, x, int(meta["frame"]), batch_size, progress)
    else:
        y = predict_sequence(model, x, progress=progress)
    return downsample(y, factor, len(dry))
