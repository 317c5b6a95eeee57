"""The study's grid: presets of structures x dataset sizes x epochs x kinds, each point one DVC
experiment with its `-S key=value` overrides and a readable name."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from drywet.config import TrainParams
from drywet.errors import ConfigError
from drywet.kinds import get_kind, get_structure, macs_per_sample

STUDY_COUNTS = (10_000, 40_000, 100_000, 500_000)
# The seed study's structures: 1 or 2 LSTM layers, 16 or 32 units, frames of 32 or 64 samples (the
# larger LSTMs of drywet.models are for captures; the study stays the seed's).
SEED_STRUCTURES = ("l1_u16_f32", "l1_u32_f32", "l1_u32_f64", "l2_u16_f32", "l2_u32_f64")


@dataclass(frozen=True)
class Preset:
    """A grid: every combination of structures x frame counts x epochs x kinds (+ fixed overrides)."""

    structures: tuple[str, ...]
    counts: tuple[int, ...]
    epochs: tuple[int, ...]
    kinds: tuple[str, ...] = ("framed",)
    models: tuple[str, ...] = ()  # further `kind/structure` points, each trained with its kind's own recipe
    fixed: tuple[tuple[str, str], ...] = ()
    about: str = ""
    sequence_epochs: int = 8  # points of the sequence recipe (sequence, wavenet): train_sequence.epochs
    also: tuple[Preset, ...] = ()  # further grids whose points join this one's
    cheap_first: bool = False  # queue in order of training cost, so the first results come early


PRESETS: dict[str, Preset] = {
    # The original study: 5 structures x 4 dataset sizes, checkpoints at 20/35/50/80/200 epochs.
    "study": Preset(SEED_STRUCTURES, STUDY_COUNTS, (200,),
                    about="the full study grid: days of CPU time; spread it over machines"),
    # The shape of the results in under an hour on 2 cores.
    "small": Preset(("l1_u16_f32", "l1_u32_f32", "l2_u16_f32", "l1_u32_f64"), (10_000, 40_000), (20,),
                    fixed=(("train.checkpoints", "[5,10,15,20]"),),
                    about="4 structures x 2 dataset sizes x 20 epochs, under an hour on 2 cores"),
    # Framed against sequence models for each structure: framed as the study trains it (40k frames,
    # 50 epochs), sequence with its own recipe (skip path, whole training part every epoch).
    "kinds": Preset(SEED_STRUCTURES, (40_000,), (50,), kinds=("framed", "sequence"),
                    about="framed (40k frames, 50 epochs) vs sequence (skip, whole part, 8 epochs) per structure"),
    # What a capture chooses between, at equal epochs of the sequence recipe: LSTMs of 32 to 80 units
    # and NAM's WaveNets (no skip path: what NAM's plugin plays).
    "architectures": Preset((), (), (), kinds=(), sequence_epochs=8, fixed=(("model.skip", "false"),),
                            models=("sequence/l1_u32_f32", "sequence/l1_u64_f32", "sequence/l1_u80_f32",
                                    "wavenet/nano", "wavenet/lite", "wavenet/standard"),
                            about="1x32/64/80 LSTMs vs NAM's nano/lite/standard WaveNets, 8 epochs each"),
    # The seed's findings at the seed's epochs: model size and epochs (every structure, 40k frames,
    # 200 epochs, checkpoints 20/35/50/80/200) and dataset size (l1_u16_f32, 10k/100k/500k, 50 epochs).
    "findings": Preset(SEED_STRUCTURES, (40_000,), (200,),
                       also=(Preset(("l1_u16_f32",), (10_000, 100_000, 500_000), (50,)),), cheap_first=True,
                       about="every structure 40k frames x 200 epochs + l1_u16_f32 at 10k/100k/500k x 50 epochs"),
}


def training_cost(point: dict[str, str]) -> float:
    """Relative training cost of a grid point: multiply-adds per example x examples x epochs."""
    kind = point.get("model.kind", "framed")
    macs = macs_per_sample(get_structure(point["model.structure"], kind), kind) if "model.structure" in point else 1
    return float(macs) * float(point.get("frame.count", 1)) * float(point.get("train.epochs", 1))


def framed_recipe(kind: str) -> bool:
    """Whether `kind` trains with the study's `train` recipe (frame.count frames, train.epochs), not
    the sequence recipe (the whole training part every epoch, train_sequence.epochs)."""
    return get_kind(kind).TRAIN_PARAMS is TrainParams


def _recipe_point(kind: str, s: str, preset: Preset, skip: str) -> dict[str, str]:
    get_structure(s, kind)
    return {"model.structure": s, "model.kind": kind, "model.skip": skip,
            "train_sequence.epochs": str(preset.sequence_epochs)}


def grid(preset: Preset) -> list[dict[str, str]]:
    """Every grid point as the `-S key=value` overrides it needs."""
    points = []
    for s, count, epochs, kind in itertools.product(preset.structures, preset.counts, preset.epochs,
                                                     preset.kinds):
        get_structure(s, kind)
        if not framed_recipe(kind):  # its own recipe: frame.count and train.epochs do not apply
            point = _recipe_point(kind, s, preset, "true")
            if point not in points:
                points.append(point)
            continue
        points.append({"model.structure": s, "model.kind": kind, "frame.count": str(count),
                       "train.epochs": str(epochs), **dict(preset.fixed)})
    for label in preset.models:
        kind, _, s = label.partition("/")
        points.append({**_recipe_point(kind, s, preset, "false"), **dict(preset.fixed)})
    for other in preset.also:
        points += [p for p in grid(other) if p not in points]
    return sorted(points, key=training_cost) if preset.cheap_first else points


def experiment_name(preset_name: str, point: dict[str, str]) -> str:
    """A readable, unique experiment name for a grid point."""
    if not framed_recipe(point["model.kind"]):
        short = point["model.kind"][:3] + ("" if point.get("model.skip", "true") == "true" else "-noskip")
        return f"{preset_name}-{point['model.structure']}-{short}-e{point['train_sequence.epochs']}".replace("_", "-")
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
