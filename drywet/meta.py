"""`model.json`: the metadata saved beside every trained model, the contract between the train
stage and everything that runs a model (predict, evaluate, report, process, export)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from drywet.errors import InputError
from drywet.fileio import read_json_object, write_json

META_NAME = "model.json"
CHECKPOINT_GLOB = "epoch_*.keras"


@dataclass(frozen=True)
class ModelMeta:
    """What is needed to run, score and export a model, besides its weights.

    kind: `framed` or `sequence`; structure/layers/units/frame: the named structure.
    sample_rate: Hz of the audio the model was trained on; oversample: the model runs at that many
        times the rate between interpolation and decimation filters.
    epochs: epochs trained; best_epoch: the epoch whose weights were kept (None = the last).
    skip: the model adds its dry input to its output (output = dense(LSTM) + dry).
    inputs: input channels (1 = audio only; more = knob channels after the audio).
    knobs: names of the knob channels, in channel order.
    highpass_hz: corner of the DC-blocking high-pass applied to the input before the model (0 = none).
    """

    effect: str
    kind: str
    structure: str
    layers: int
    units: int
    frame: int
    sample_rate: int
    oversample: int
    epochs: int
    train_examples: int
    supervised_samples: int
    params: int
    best_epoch: int | None = None
    skip: bool = False
    inputs: int = 1
    knobs: tuple[str, ...] = field(default_factory=tuple)
    highpass_hz: float = 0.0

    @property
    def final_epoch(self) -> int:
        """The epoch whose weights the saved model holds (the best one, when training kept it)."""
        return self.best_epoch if self.best_epoch is not None else self.epochs

    @property
    def epochs_label(self) -> str:
        """`50 epochs`, or `8 epochs (best: 7)` when the weights of an earlier epoch were kept."""
        if self.best_epoch is None or self.best_epoch == self.epochs:
            return f"{self.epochs} epochs"
        return f"{self.epochs} epochs (best: {self.best_epoch})"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["knobs"] = list(self.knobs)
        return d

    def save(self, folder: str | os.PathLike) -> Path:
        """Write `model.json` into `folder` (sorted keys, atomically); returns its path."""
        path = Path(folder) / META_NAME
        write_json(path, self.to_dict())
        return path

    @classmethod
    def from_dict(cls, d: dict, source: str = META_NAME) -> ModelMeta:
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(d))
        if missing:
            raise InputError(f"{source}: model metadata lacks {', '.join(missing)}")
        kw = {k: v for k, v in d.items() if k in names}
        if "knobs" in kw:
            kw["knobs"] = tuple(kw["knobs"] or ())
        return cls(**kw)

    @classmethod
    def load(cls, folder_or_file: str | os.PathLike) -> ModelMeta:
        """Read `model.json` from a model folder, or the one beside a `.keras` file."""
        path = Path(folder_or_file)
        if path.suffix == ".keras" or path.is_file():
            path = path.parent
        path = path / META_NAME
        if not path.is_file():
            raise InputError(f"{path}: model metadata not found (expected beside the model)")
        return cls.from_dict(read_json_object(path), str(path))


def checkpoint_name(epoch: int) -> str:
    """File name of the checkpoint saved after `epoch` (1-based)."""
    return f"epoch_{int(epoch):03d}.keras"


def checkpoint_epoch(path: str | os.PathLike) -> int:
    """The epoch a checkpoint (or a checkpoint's prediction, `ckpt_epoch_NNN.wav`) belongs to."""
    return int(Path(path).stem.rsplit("_", 1)[-1])
