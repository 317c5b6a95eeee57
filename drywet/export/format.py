"""A plugin format as one object: everything the exporter, the export stage and the command need to
know about it. A format module declares its `Format` (`nam.FORMAT`, ...), and `drywet.export.FORMATS`
(built by `registry`) lists them: the one registry that `plan`, `export_model`, `format_notes`, the
export stage's bundle and `python -m drywet export --format` walk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drywet.export.players import Player
from drywet.export.plugins import Plugin
from drywet.lstm.weights import SequenceWeights


@dataclass(frozen=True)
class Provenance:
    """What the export stage knows of the model a file holds, for the file's metadata: the display
    name to use when the gear names none, the gear (GearParams of `gear.<fx>`, or None), the scored
    test ESR and its verdict, the latency alignment measured (samples; per knob position a dict) and
    the rate the LSTM runs at (Hz)."""

    name: str
    gear: Any = None
    esr: float | None = None
    verdict: str | None = None
    latency_samples: Any = None
    rate: int = 0


def basic_metadata(about: Provenance) -> dict:
    """name (the gear's, else the display name), esr and author (the gear's modeled_by)."""
    return {"name": getattr(about.gear, "name", None) or about.name, "esr": about.esr,
            "author": getattr(about.gear, "modeled_by", None)}


def unchanged(data: dict) -> dict:
    """A format with nothing to add after building: the file as built."""
    return data


def no_notes(data: dict) -> list[str]:
    """A format whose written files every plugin build in `plugins` loads."""
    return []


@dataclass(frozen=True)
class Format:
    """One plugin file format.

    name: the `--format` name and the key in exports.json; suffix: appended to the effect's name for
    the file (".nam"); label: how refusals name the format (".nam", "AIDA-X"); build(weights, rate Hz,
    metadata or None): the file's dict, raising ConfigError (one line naming the setting to train
    with) for a model it cannot hold; plugins: the released plugin builds that load the file (at least
    one; `plan` asks each whether it plays the model); reader(data): the file played from its contents
    alone (`drywet.export.players`, no code shared with `build`); metadata(Provenance): the metadata
    the export stage passes to `build`; finish(data): what the export stage and the command add to a
    built file (the .nam levels); notes(data): why a written file would not load in its released plugin;
    architectures: the model architectures (`architecture(weights)`) its files can hold.
    """

    name: str
    suffix: str
    label: str
    build: Callable[[SequenceWeights, int, dict | None], dict]
    plugins: tuple[Plugin, ...]
    reader: Callable[[dict], Player]
    metadata: Callable[[Provenance], dict] = basic_metadata
    finish: Callable[[dict], dict] = unchanged
    notes: Callable[[dict], list[str]] = no_notes
    architectures: tuple[str, ...] = ("LSTM",)  # the model architectures its files hold (`architecture`)

    def file_metadata(self, about: Provenance, extra: dict | None = None) -> dict:
        """The metadata the format's files carry (`metadata(about)`, then `extra` over it): the one
        path of the export stage's files and of `python -m drywet export`'s."""
        return {**self.metadata(about), **(extra or {})}

    def __post_init__(self) -> None:
        if not self.plugins:
            raise ValueError(f"format '{self.name}' names no plugin that loads its files")


def architecture(weights) -> str:
    """"LSTM" for SequenceWeights, "WaveNet" for drywet.wavenet's WaveNetWeights: what a file holds."""
    return "LSTM" if isinstance(weights, SequenceWeights) else "WaveNet"


def registry(*formats: Format) -> dict[str, Format]:
    """name -> Format, in the order given (the order files are planned and written in); a repeated
    name or suffix is a ValueError."""
    out: dict[str, Format] = {}
    for form in formats:
        clash = [other.name for other in out.values() if form.name == other.name or form.suffix == other.suffix]
        if clash:
            raise ValueError(f"format '{form.name}' repeats the name or suffix of '{clash[0]}'")
        out[form.name] = form
    return out
