"""What the training benchmarks share: a split stage folder read once, and a fitted model scored on
its test part as the predict and evaluate stages do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PARTS = ("train_dry", "train_wet", "val_dry", "val_wet", "test_dry", "test_wet")


@dataclass(frozen=True)
class Split:
    """A split stage folder's six parts (float32 arrays by name) and their sample rate (Hz)."""

    name: str
    parts: dict[str, np.ndarray]
    sample_rate: int

    def audio(self):
        """The training and validation parts as `drywet.kinds.Audio`."""
        from drywet.kinds import Audio

        p = self.parts
        return Audio(p["train_dry"], p["train_wet"], p["val_dry"], p["val_wet"])


def read_split(folder: Path) -> Split:
    """Every part of a split stage folder (data/split/<fx>), each WAV read once."""
    from drywet import audio

    read = {n: audio.read_wav(folder / f"{n}.wav") for n in PARTS}
    return Split(folder.name, {n: x for n, (x, _) in read.items()}, read["test_dry"][1])


def test_esr(split: Split, result, structure, kind: str, index, skip: bool = False) -> float:
    """Test ESR of `result` (a `drywet.train.fit` result) on `split`'s test part, run through
    `drywet.inference.predict` with the model metadata the train stage would write."""
    from drywet import metrics
    from drywet.inference import predict
    from drywet.meta import ModelMeta

    meta = ModelMeta(effect=split.name, kind=kind, structure=structure.name, layers=structure.layers,
                     units=structure.units, frame=structure.frame, sample_rate=split.sample_rate, oversample=1,
                     epochs=result.epochs_run, train_examples=int(index.train.shape[-1]),
                     supervised_samples=int(index.supervised), params=result.model.count_params(),
                     best_epoch=result.best_epoch, skip=skip)
    return metrics.esr(split.parts["test_wet"], predict(result.model, meta, split.parts["test_dry"]))
