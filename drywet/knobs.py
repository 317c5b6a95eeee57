"""Knob-conditioned captures: one effect recorded at several knob settings ("positions") and learnt
by one sequence model whose input carries the knob values as constant channels beside the audio,
as Proteus and AIDA-X play parametric models.

Every stage keeps the positions apart, each in a subfolder named by its label (`gain20` for gain
0.20: `data/raw/<fx>/gain20/`, `data/split/<fx>/gain20/`, ...), beside `knobs.json`, which names the
knobs (in channel order) and the positions and travels from the record stage down. A plain effect
has no `knobs.json` and keeps the plain layout. Training lays the positions' parts end to end
(`join`) with examples that never straddle two of them (`drywet.kinds.merge_indexes`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drywet.config import EffectParams, knob_label
from drywet.errors import ConfigError, InputError
from drywet.fileio import read_json_object, write_json

KNOBS_FILE = "knobs.json"


@dataclass(frozen=True)
class Positions:
    """The knob positions of a capture: `names` of the knob channels (in channel order), and per
    position its `label` and knob `values` (in the order of `names`)."""

    effect: str
    names: tuple[str, ...]
    labels: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]

    def __len__(self) -> int:
        return len(self.labels)

    def settings(self, i: int) -> dict[str, float]:
        """Position i's knob values by name (what `knob_values` takes)."""
        return dict(zip(self.names, self.values[i], strict=True))

    def table(self) -> np.ndarray:
        """(positions, knobs) float32: each position's knob values, the model's extra input channels."""
        return np.asarray(self.values, np.float32).reshape(len(self.labels), len(self.names))

    def describe(self) -> str:
        """`gain 0.2, 0.5, 0.8` (one knob) or `gain/tone 0.2/0.5, 0.8/0.5` (two)."""
        return f"{'/'.join(self.names)} " + ", ".join("/".join(f"{v:g}" for v in vals) for vals in self.values)

    def to_dict(self) -> dict:
        return {"effect": self.effect, "knobs": list(self.names),
                "positions": [{"label": label, "settings": self.settings(i)} for i, label in enumerate(self.labels)]}

    @classmethod
    def from_dict(cls, d: dict, source: str = KNOBS_FILE) -> Positions:
        try:
            names = tuple(str(n) for n in d["knobs"])
            labels = tuple(str(p["label"]) for p in d["positions"])
            values = tuple(tuple(float(p["settings"][n]) for n in names) for p in d["positions"])
            effect = str(d["effect"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{source}: not a knob positions file ({exc!r})") from None
        if not names or len(labels) < 2:
            raise InputError(f"{source}: a knob positions file needs knobs and at least two positions")
        return cls(effect, names, labels, values)


def from_params(fx: EffectParams) -> Positions | None:
    """The positions params.yaml gives an effect (`effects.<fx>.knobs`); None for a plain effect."""
    if not fx.knobs:
        return None
    return Positions(fx.name, fx.knob_names, tuple(p.label for p in fx.knobs), tuple(p.values for p in fx.knobs))


def write_positions(folder: str | os.PathLike, positions: Positions | None) -> None:
    """Write `knobs.json` into `folder` (nothing for a plain effect)."""
    if positions is not None:
        write_json(Path(folder) / KNOBS_FILE, positions.to_dict())


def read_positions(folder: str | os.PathLike) -> Positions | None:
    """The positions of the capture in `folder` (its `knobs.json`); None for a plain effect."""
    path = Path(folder) / KNOBS_FILE
    if not path.is_file():
        return None
    return Positions.from_dict(read_json_object(path), str(path))


def takes(folder: str | os.PathLike, positions: Positions | None) -> list[Path]:
    """The folders holding each take: the position subfolders, or `folder` itself for a plain effect."""
    folder = Path(folder)
    return [folder] if positions is None else [folder / label for label in positions.labels]


def require_sequence(positions: Positions | None, kind: str) -> None:
    """A knob-conditioned capture trains only as a sequence model (the framed kind takes audio only)."""
    if positions is not None and kind != "sequence":
        raise ConfigError(f"effect {positions.effect} is knob-conditioned ({len(positions)} positions of "
                          f"{', '.join(positions.names)}); the {kind} kind takes audio only: use model.kind=sequence")


def join(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The parts laid end to end, and (len(parts) + 1,) int64 bounds: part i is [bounds[i], bounds[i+1]).
    One part comes back as it is (no copy)."""
    bounds = np.concatenate(([0], np.cumsum([len(p) for p in parts]))).astype(np.int64)
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), bounds


def knob_values(meta, knobs: Mapping[str, float] | Sequence[float] | None) -> list[float]:
    """A knob model's knob values in channel order (`meta.knobs`, its model.json) from a name -> value
    mapping (or a sequence in order); InputError naming what is missing or unknown."""
    names = tuple(getattr(meta, "knobs", ()) or ())
    if knobs is None:
        knobs = {}
    if not isinstance(knobs, Mapping):
        values = [float(v) for v in knobs]
        if len(values) != len(names):
            raise InputError(f"the model has {len(names)} knob(s); got {len(values)} value(s)")
        return values
    unknown = sorted(set(knobs) - set(names))
    if unknown:
        raise InputError(f"unknown knob(s) {', '.join(unknown)}; the model's knobs: {', '.join(names) or 'none'}")
    missing = [k for k in names if k not in knobs]
    if missing:
        raise InputError(f"the model needs a value for knob(s) {', '.join(missing)} (--knob NAME=VALUE, 0 to 1)")
    return [float(knobs[k]) for k in names]


def metric_key(name: str, label: str) -> str:
    """`esr_gain20`: a per-position metric's key."""
    return f"{name}_{label}"


__all__ = ["KNOBS_FILE", "Positions", "from_params", "join", "knob_label", "knob_values", "metric_key",
           "read_positions", "require_sequence", "takes", "write_positions"]
