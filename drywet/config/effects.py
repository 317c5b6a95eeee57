"""params.yaml's `effects` and `gear` sections: which effects exist, where each one's recordings
come from (the virtual bench or a folder of dry/wet WAVs), their knob positions, the sections an
effect overrides for itself, and the gear each one captures (the plugin files' metadata)."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from drywet.config.schema import check_value, parse, spec
from drywet.errors import ConfigError

# Effect names become folder names and DVC stage keys (`align@<fx>`).
EFFECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Knob names become part of folder names and metrics keys (`esr_gain20`): no separators.
KNOB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
KNOB_POSITIONS = (2, 5)  # a knob-conditioned effect records this many settings (inclusive)
MAX_KNOBS = 2  # the plugins take the audio and up to two knob inputs (AIDA-X, Proteus: 1-3 inputs)

@dataclass(frozen=True)
class KnobPosition:
    """One recorded setting of a knob-conditioned effect: the knob values (name, value in [0, 1]) in
    channel order, and, for recordings of your own, the folder (under the effect's `source`) holding
    that setting's dry.wav and wet.wav (None on the bench, which records the stand-in at it)."""

    settings: tuple[tuple[str, float], ...]
    folder: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.settings)

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(value for _, value in self.settings)

    @property
    def label(self) -> str:
        """`gain20` for gain 0.20 (`gain20_tone75` for two knobs): the position's folder name and
        metrics-key suffix; values in whole hundredths."""
        return knob_label(self.settings)


def knob_label(settings) -> str:
    """The label of a knob setting ((name, value), ...): each name followed by its value in whole
    hundredths (0.2 -> 20, 0.05 -> 05, 1 -> 100), joined by `_`."""
    return "_".join(f"{name}{math.floor(100.0 * float(value) + 0.5):02d}" for name, value in settings)


GEAR_TYPES = ("amp", "pedal", "pedal_amp", "amp_cab", "amp_pedal_cab", "preamp", "studio")
TONE_TYPES = ("clean", "overdrive", "crunch", "hi_gain", "fuzz")


@dataclass(frozen=True)
class GearParams:
    """What was captured, for the plugin files' metadata (`effects.<fx>.gear`; NAM's own key names).
    Levels are the interface's dBu at 0 dBFS (input: the level that reached the gear's input at full
    scale; output: the level recorded as full scale), null when unknown."""

    gear_type: str = spec(str, choices=GEAR_TYPES, default="pedal")
    gear_make: str | None = spec(str, nullable=True, default=None)
    gear_model: str | None = spec(str, nullable=True, default=None)
    tone_type: str | None = spec(str, choices=TONE_TYPES, nullable=True, default=None)
    modeled_by: str | None = spec(str, nullable=True, default=None)
    name: str | None = spec(str, nullable=True, default=None)
    input_level_dbu: float | None = spec(float, lo=-60.0, hi=60.0, nullable=True, default=None)
    output_level_dbu: float | None = spec(float, lo=-60.0, hi=60.0, nullable=True, default=None)
    date: str | None = spec(str, nullable=True, default=None)  # YYYY-MM-DD: when it was captured

    def check(self, section: str) -> None:
        if self.date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.date):
            raise ConfigError(f"params.yaml: {section}.date must be a date as YYYY-MM-DD, got {self.date!r}")


@dataclass(frozen=True)
class EffectParams:
    """One effect: its recordings come from the virtual bench (`source: bench`, with the stand-in
    pedal named by `pedal`) or from a folder with dry.wav and wet.wav; `channel` picks one channel of
    a multi-channel file (null = the file must be mono). `knobs` (optional): the knob positions of a
    knob-conditioned capture (see `parse_knobs`); empty for a plain effect."""

    name: str
    source: str = spec(str, default="bench")
    channel: int | None = spec(int, lo=0, nullable=True, default=None)
    pedal: str | None = spec(str, nullable=True, default=None)
    knobs: tuple[KnobPosition, ...] = field(default=(), metadata={"custom": True})
    # per-effect overrides of whole-pipeline sections (e.g. {"kind": "sequence"} over `model`), as
    # written; `load_section(..., effect=...)` merges and checks them
    overrides: dict = field(default_factory=dict, metadata={"custom": True}, compare=False)
    gear: GearParams | None = field(default=None, metadata={"custom": True})

    @property
    def knob_names(self) -> tuple[str, ...]:
        """The knob channels' names in channel order (empty for a plain effect)."""
        return self.knobs[0].names if self.knobs else ()

    def check(self, section: str) -> None:
        if self.source == "bench" and self.pedal is None and self.name not in BENCH_PEDALS:
            raise ConfigError(f"params.yaml: {section}.pedal must name a stand-in pedal "
                              f"({', '.join(BENCH_PEDALS)}) for a bench effect")
        if self.pedal is not None and self.pedal not in BENCH_PEDALS:
            raise ConfigError(f"params.yaml: {section}.pedal must be one of {', '.join(BENCH_PEDALS)}, "
                              f"got {self.pedal!r}")

    @property
    def bench_pedal(self) -> str:
        """The stand-in pedal a bench effect records (its `pedal`, else its name)."""
        return self.pedal or self.name


BENCH_PEDALS = ("sd1", "b65", "fuzz")
BENCH_KNOBS = ("gain",)  # the knobs every stand-in pedal has (drywet.bench.PEDAL_KNOBS)


def effects(raw: Any) -> dict[str, EffectParams]:
    """The `effects` section: name -> EffectParams; names must be usable as folder names and DVC keys."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("params.yaml: effects must map at least one effect name to its settings")
    out = {}
    for name, settings in raw.items():
        name = str(name)
        if not EFFECT_NAME.fullmatch(name):
            raise ConfigError(f"params.yaml: effect name {name!r} must use only letters, digits, '_' and '-' "
                              "(it becomes a folder name and a DVC stage key)")
        settings = dict(settings or {})
        if "name" in settings:
            raise ConfigError(f"params.yaml: unknown key effects.{name}.name")
        out[name] = parse_effect(settings, name)
    return out


# sections an effect may override with a mapping of its own (`effects.<fx>.model: {kind: sequence}`)
OVERRIDABLE = ("align", "model", "train_sequence")


def parse_effect(settings: dict, name: str) -> EffectParams:
    """One effect's settings (`effects.<name>`), checked."""
    fields = ({f.name for f in dataclasses.fields(EffectParams)} - {"name", "overrides", "gear"}) | set(OVERRIDABLE)
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise ConfigError(f"params.yaml: unknown key effects.{name}.{unknown[0]} "
                          f"(valid keys: {', '.join(sorted(fields))})")
    kw = {}
    for f in dataclasses.fields(EffectParams):
        if f.name in settings and not f.metadata.get("custom"):
            kw[f.name] = check_value(settings[f.name], f.metadata, f"effects.{name}.{f.name}")
    source = kw.get("source", "bench")
    if settings.get("knobs") is not None:
        kw["knobs"] = parse_knobs(settings["knobs"], f"effects.{name}.knobs", bench=source == "bench")
    overrides = {}
    for section in OVERRIDABLE:
        if settings.get(section) is not None:
            if not isinstance(settings[section], dict):
                raise ConfigError(f"params.yaml: effects.{name}.{section} must be a mapping of {section} keys "
                                  f"to values, got {settings[section]!r}")
            overrides[section] = dict(settings[section])
    obj = EffectParams(name=name, overrides=overrides, **kw)
    obj.check(f"effects.{name}")
    return obj


_KNOB_VALUE = {"kind": float, "lo": 0.0, "hi": 1.0, "lo_open": False, "hi_open": False, "choices": None,
               "nullable": False, "items": None, "auto": False}


def parse_knobs(raw: Any, key: str, bench: bool) -> tuple[KnobPosition, ...]:
    """`effects.<fx>.knobs`: 2 to 5 positions `{settings: {KNOB: value 0-1, ...}, folder: PATH}`.

    Every position sets the same 1 or 2 knobs (their order in the first position is the channel
    order), the settings differ (in whole hundredths: they name folders and metrics keys), and
    `folder` is required for recordings of your own (a folder under the effect's `source`) and not
    allowed on the bench, whose stand-in pedals have the knob `gain`.
    """
    lo, hi = KNOB_POSITIONS
    if not isinstance(raw, (list, tuple)) or not lo <= len(raw) <= hi:
        raise ConfigError(f"params.yaml: {key} must be a list of {lo} to {hi} knob positions "
                          f"({{settings: {{KNOB: 0-1, ...}}, folder: ...}}), got {raw!r}")
    out: list[KnobPosition] = []
    seen: dict[str, int] = {}
    for i, pos in enumerate(raw):
        where = f"{key}[{i}]"
        if not isinstance(pos, dict):
            raise ConfigError(f"params.yaml: {where} must be a mapping with settings and folder, got {pos!r}")
        unknown = sorted(set(pos) - {"settings", "folder"})
        if unknown:
            raise ConfigError(f"params.yaml: unknown key {where}.{unknown[0]} (valid keys: settings, folder)")
        settings = pos.get("settings")
        if not isinstance(settings, dict) or not 1 <= len(settings) <= MAX_KNOBS:
            raise ConfigError(f"params.yaml: {where}.settings must map 1 to {MAX_KNOBS} knob names to values "
                              f"from 0 to 1, got {settings!r}")
        pairs = []
        for knob, value in settings.items():
            knob = str(knob)
            if not KNOB_NAME.fullmatch(knob):
                raise ConfigError(f"params.yaml: knob name {knob!r} in {where}.settings must start with a letter "
                                  "and use only letters and digits (it names folders and metrics keys)")
            if bench and knob not in BENCH_KNOBS:
                raise ConfigError(f"params.yaml: {where}.settings sets knob {knob!r}; the bench's stand-in pedals "
                                  f"have {', '.join(BENCH_KNOBS)}")
            pairs.append((knob, check_value(value, _KNOB_VALUE, f"{where}.settings.{knob}")))
        position = KnobPosition(tuple(pairs), None)
        if out and set(position.names) != set(out[0].names):
            raise ConfigError(f"params.yaml: {where} sets knobs {', '.join(position.names)} but {key}[0] sets "
                              f"{', '.join(out[0].names)}; every position sets the same knobs")
        if out:  # the first position's order is the channel order
            values = dict(pairs)
            position = KnobPosition(tuple((knob, values[knob]) for knob in out[0].names), None)
        folder = pos.get("folder")
        if bench and folder is not None:
            raise ConfigError(f"params.yaml: {where}.folder is not allowed for source: bench (the bench records "
                              "its stand-in pedal at each setting)")
        if not bench:
            if folder is None:
                raise ConfigError(f"params.yaml: {where}.folder is missing (the folder under the effect's source "
                                  "holding this setting's dry.wav and wet.wav)")
            folder = check_value(folder, {**_KNOB_VALUE, "kind": str, "lo": None, "hi": None}, f"{where}.folder")
        position = KnobPosition(position.settings, folder)
        if position.label in seen:
            raise ConfigError(f"params.yaml: {where} repeats the settings of {key}[{seen[position.label]}] "
                              f"({position.label}); positions must differ by at least 0.01")
        if folder is not None and folder in {p.folder for p in out}:
            raise ConfigError(f"params.yaml: {where}.folder {folder!r} is already another position's")
        seen[position.label] = i
        out.append(position)
    return tuple(out)


def gear(raw: Any, name: str) -> GearParams:
    """`gear.<name>`: what effect `name` captures, for the plugin files' metadata (its own section, so
    editing it re-exports without retraining); defaults when absent."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: gear must map effect names to their gear, got {raw!r}")
    return parse(GearParams, raw.get(name), f"gear.{name}")
