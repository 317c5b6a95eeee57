"""The study's grid: presets of structures x dataset sizes x epochs x kinds, each point one DVC
experiment with its `-S key=value` overrides and a readable name."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from drywet.errors import ConfigError
from drywet.kinds import macs_per_sample
from drywet.models import STRUCTURES, get_structure

STUDY_COUNTS = (10_000, 40_000, 100_000, 500_000)


@dataclass(frozen=True)
class Preset:
    """A grid: every combination of structures x frame counts x epochs x kinds (+ fixed overrides)."""

    structures: tuple[str, ...]
    counts: tuple[int, ...]
    epochs: tuple[int, ...]
    kinds: tuple[str, ...] = ("framed",)
    fixed: tuple[tuple[str, str], ...] = ()
    about: str = ""
    sequence_epochs: int = 8  # sequence points: train_sequence.epochs (each epoch is the whole training part)
    also: tuple[Preset, ...] = ()  # further grids whose points join this one's
    cheap_first: bool = False  # queue in order of training cost, so the first results come early


PRESETS: dict[str, Preset] = {
    # The original study: 5 structures x 4 dataset sizes, checkpoints at 20/35/50/80/200 epochs.
    "study": Preset(tuple(STRUCTURES), STUDY_COUNTS, (200,),
                    about="the full study grid: days of CPU time; spread it over machines"),
    # The shape of the results in under an hour on 2 cores.
    "small": Preset(("l1_u16_f32", "l1_u32_f32", "l2_u16_f32", "l1_u32_f64"), (10_000, 40_000), (20,),
                    fixed=(("train.checkpoints", "[5,10,15,20]"),),
                    about="4 structures x 2 dataset sizes x 20 epochs, under an hour on 2 cores"),
    # Framed against sequence models for each structure: framed as the study trains it (40k frames,
    # 50 epochs), sequence with its own recipe (skip path, whole training part every epoch).
    "kinds": Preset(tuple(STRUCTURES), (40_000,), (50,), kinds=("framed", "sequence"),
                    about="framed (40k frames, 50 epochs) vs sequence (skip, whole part, 8 epochs) per structure"),
    # The seed's findings at the seed's epochs: model size and epochs (every structure, 40k frames,
    # 200 epochs, checkpoints 20/35/50/80/200) and dataset size (l1_u16_f32, 10k/100k/500k, 50 epochs).
    "findings": Preset(tuple(STRUCTURES), (40_000,), (200,),
                       also=(Preset(("l1_u16_f32",), (10_000, 100_000, 500_000), (50,)),), cheap_first=True,
                       about="every structure 40k frames x 200 epochs + l1_u16_f32 at 10k/100k/500k x 50 epochs"),
}


def training_cost(point: dict[str, str]) -> float:
    """Relative training cost of a grid point: multiply-adds per example x examples x epochs."""
    kind = point.get("model.kind", "framed")
    macs = macs_per_sample(get_structure(point["model.structure"]), kind) if "model.structure" in point else 1
    return float(macs) * float(point.get("frame.count", 1)) * float(point.get("train.epochs", 1))


def grid(preset: Preset) -> list[dict[str, str]]:
    """Every grid point as the `-S key=value` overrides it needs."""
    points = []
    for s, count, epochs, kind in itertools.product(preset.structures, preset.counts, preset.epochs,
                                                     preset.kinds):
        get_structure(s)
        if kind == "sequence":  # its own recipe: frame.count and train.epochs do not apply
            point = {"model.structure": s, "model.kind": kind, "model.skip": "true",
                     "train_sequence.epochs": str(preset.sequence_epochs)}
            if point not in points:
                points.append(point)
            continue
        points.append({"model.structure": s, "model.kind": kind, "frame.count": str(count),
                       "train.epochs": str(epochs), **dict(preset.fixed)})
    for other in preset.also:
        points += [p for p in grid(other) if p not in points]
    return sorted(points, key=training_cost) if preset.cheap_first else points


def experiment_name(preset_name: str, point: dict[str, str]) -> str:
    """A readable, unique experiment name for a grid point."""
    if point["model.kind"] == "sequence":
        return f"{preset_name}-{point['model.structure']}-seq-e{point['train_sequence.epochs']}".replace("_", "-")
    return (f"{preset_name}-{point['model.structure']}-"
            f"{int(point['frame.count']) // 1000}k-e{point['train.epochs']}").replace("_", "-")


def queue_commands(preset_name: str) -> list[list[str]]:
    """The `dvc exp run --queue` command lines for a preset."""
    if preset_name not in PRESETS:
        raise ConfigError(f"unknown preset '{preset_name}'; valid presets: {', '.join(PRESETS)}")
    cmds = []
    for point in grid(PRESETS[preset_name]):
        cmd = ["dvc", "exp", "run", "--queue", "-n", experiment_name(preset_name, point)]
        for key, value in point.items():
            cmd += ["-S", f"{key}={value}"]
        cmds.append(cmd)
    return cmds
