"""Run a trained model over audio, one `predict` for both kinds (each kind's own `predict`: framed,
batched frames; sequence, drywet.lstm.stream's exact carried-state loop); saving and loading a model
together with the metadata needed to run it."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from drywet import quiet_tensorflow
from drywet.antialias import downsample, upsample
from drywet.errors import InputError
from drywet.fileio import atomic_write
from drywet.kinds import get_kind
from drywet.knobs import knob_values
from drywet.lstm.stream import run_sequence
from drywet.lstm.weights import SequenceWeights
from drywet.meta import CHECKPOINT_GLOB, ModelMeta, checkpoint_epoch

# Fixed stamps inside a saved .keras file (a zip): the same weights always give the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_KERAS_DATE = "1980-01-01@00:00:00"


def save_keras(model, path: str | os.PathLike) -> None:
    """Save a Keras model to a `.keras` file atomically and byte-stably.

    Keras stamps the save date into the archive's `metadata.json` and the weights entry's zip time;
    both are replaced by fixed values (and entries written in a fixed order), so DVC sees an
    unchanged model as unchanged.
    """
    quiet_tensorflow()

    def write(tmp: str) -> None:
        raw = tmp + ".raw.keras"
        try:
            model.save(raw)
            with zipfile.ZipFile(raw) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
                for name in sorted(src.namelist()):
                    data = src.read(name)
                    if name == "metadata.json":
                        meta = json.loads(data)
                        meta["date_saved"] = _KERAS_DATE
                        data = json.dumps(meta, sort_keys=True).encode()
                    elif name == "config.json":
                        data = json.dumps(_renumber_shared_ids(json.loads(data))).encode()
                    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    dst.writestr(info, data)
        finally:
            Path(raw).unlink(missing_ok=True)

    atomic_write(path, write, ".keras")


def _renumber_shared_ids(config, ids: dict | None = None):
    """Keras writes `shared_object_id` as the Python id() of each shared object, a memory address
    that differs from run to run; number them 1, 2, ... in order of appearance instead (the same
    ids still mark the same shared objects)."""
    ids = {} if ids is None else ids
    if isinstance(config, dict):
        return {k: (ids.setdefault(v, len(ids) + 1) if k == "shared_object_id" else _renumber_shared_ids(v, ids))
                for k, v in config.items()}
    if isinstance(config, list):
        return [_renumber_shared_ids(v, ids) for v in config]
    return config


def save_model(model, path: str | os.PathLike, meta: ModelMeta) -> None:
    """Save a Keras model and, beside it, its metadata (`model.json`)."""
    path = Path(path)
    save_keras(model, path)
    meta.save(path.parent)


def load_keras(path: str | os.PathLike):
    """Load a `.keras` file for inference only (no optimizer or loss needed)."""
    quiet_tensorflow()
    import keras

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - keras raises many types for a bad file
        raise InputError(f"{path}: cannot load model ({' '.join(str(exc).split())})") from None


def load_model(path: str | os.PathLike):
    """Load a `.keras` model (or a folder holding model.keras) and the ModelMeta beside it."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.exists():
        raise InputError(f"{path}: model file not found")
    meta = ModelMeta.load(path.parent)
    return load_keras(path), meta


def checkpoints(model_dir: str | os.PathLike) -> dict[int, Path]:
    """The checkpoints saved in a model folder, by epoch."""
    folder = Path(model_dir) / "checkpoints"
    return {checkpoint_epoch(p): p for p in sorted(folder.glob(CHECKPOINT_GLOB))}


def predict(model, meta: ModelMeta, dry: np.ndarray, batch_size: int = 8192, progress: bool = False,
            knobs: Mapping[str, float] | Sequence[float] | None = None) -> np.ndarray:
    """Predict the wet signal for `dry` with a model of either kind (same length as `dry`, float32).

    A model trained with `oversample` k runs at k times the rate between interpolation and decimation.
    A sequence model streams exactly (drywet.lstm.stream: the state carried from the first sample to the
    last); a knob model takes its settings in `knobs` (by name, see `drywet.knobs.knob_values`),
    which become its constant input channels after the audio. `model` is a Keras model, or a
    sequence model's `SequenceWeights` (as `drywet.lstm.keras_file` reads them, without Keras).
    """
    values = knob_values(meta, knobs)
    factor = meta.oversample
    x = upsample(dry, factor)
    if values:
        x = np.column_stack([x, np.broadcast_to(np.float32(values), (len(x), len(values)))])
    if isinstance(model, SequenceWeights):
        y = run_sequence(model, x, progress)
    else:
        y = get_kind(meta.kind).predict(model, x, batch_size, progress)
    return downsample(y, factor, len(dry))
