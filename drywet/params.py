"""params.yaml, parsed once at the edge: one frozen dataclass per section, with its checks.

A stage reads only the sections it declares in dvc.yaml (`load_section(AlignParams)`), gets a typed
object, and passes named values down; nothing deeper in the library opens params.yaml. A value of
the wrong type or out of range is a one-line ConfigError naming the key, e.g.
`params.yaml: train.batch_size must be an integer >= 1, got 0`.

Each field's check lives in its `metadata` (see `spec`): the type (int, float, bool, str, list of
int), an inclusive/exclusive range, a set of choices, whether null is allowed. Keys missing from
params.yaml take the field's default; a field without a default is required. Unknown keys are an
error too (a misspelt key would otherwise be ignored silently).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from drywet.errors import ConfigError

PARAMS_FILE = "params.yaml"

# Effect names become folder names and DVC stage keys (`align@<fx>`).
EFFECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Knob names become part of folder names and metrics keys (`esr_gain20`): no separators.
KNOB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
KNOB_POSITIONS = (2, 5)  # a knob-conditioned effect records this many settings (inclusive)
MAX_KNOBS = 2  # the plugins take the audio and up to two knob inputs (AIDA-X, Proteus: 1-3 inputs)


def spec(kind: type, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
         hi_open: bool = False, choices: tuple | None = None, nullable: bool = False,
         default: Any = dataclasses.MISSING, items: type | None = None, auto: bool = False) -> Any:
    """A dataclass field with its check. `kind` is int, float, bool, str or list (of `items`).
    `auto`: the string `auto` is also accepted (e.g. a latency that is measured unless given)."""
    meta = {"kind": kind, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
            "choices": choices, "nullable": nullable, "items": items, "auto": auto}
    if isinstance(default, list):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _describe(meta: dict) -> str:
    kind = meta["kind"]
    words = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
             list: f"a list of {'integers' if meta['items'] is int else 'numbers'}"}[kind]
    if meta["choices"] is not None:
        words = "one of " + ", ".join(str(c) for c in meta["choices"])
    lo, hi = meta["lo"], meta["hi"]
    if lo is not None and hi is not None:
        words += f" in {'(' if meta['lo_open'] else '['}{lo:g}, {hi:g}{')' if meta['hi_open'] else ']'}"
    elif lo is not None:
        words += f" {'>' if meta['lo_open'] else '>='} {lo:g}"
    elif hi is not None:
        words += f" {'<' if meta['hi_open'] else '<='} {hi:g}"
    if meta["auto"]:
        words += " or auto"
    if meta["nullable"]:
        words += " or null"
    return words


def _scalar(value: Any, kind: type) -> Any:
    """Convert one YAML value to `kind`; raises ValueError when it is not one."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError
    if kind is int:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        raise ValueError
    if kind is float:
        if isinstance(value, bool):
            raise ValueError
        out = float(value)  # YAML reads 1e-3 as a string; float() takes it
        if not math.isfinite(out):
            raise ValueError
        return out
    if kind is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ValueError
        return str(value)
    raise TypeError(kind)


def _check(value: Any, meta: dict, key: str) -> Any:
    def bad() -> ConfigError:
        return ConfigError(f"params.yaml: {key} must be {_describe(meta)}, got {value!r}")

    if value is None:
        if meta["nullable"]:
            return None
        raise bad()
    if meta["auto"] and value == "auto":
        return "auto"
    kind = meta["kind"]
    try:
        if kind is list:
            if not isinstance(value, (list, tuple)):
                raise ValueError
            out = tuple(_scalar(v, meta["items"] or float) for v in value)
            checked = out
        else:
            out = _scalar(value, kind)
            checked = (out,)
    except (ValueError, TypeError):
        raise bad() from None
    for v in checked:
        if meta["choices"] is not None and v not in meta["choices"]:
            raise bad()
        lo, hi = meta["lo"], meta["hi"]
        if lo is not None and (v < lo or (meta["lo_open"] and v == lo)):
            raise bad()
        if hi is not None and (v > hi or (meta["hi_open"] and v == hi)):
            raise bad()
    return out


T = TypeVar("T")


def parse(cls: type[T], raw: Any, section: str) -> T:
    """Build the frozen dataclass `cls` from the params section `raw` (a dict), checking every field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: {section} must be a mapping of keys to values, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"params.yaml: unknown key {section}.{unknown[0]} "
                          f"(valid keys: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        key = f"{section}.{name}"
        if name in raw:
            kwargs[name] = _check(raw[name], f.metadata, key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"params.yaml: {key} is missing")
    obj = cls(**kwargs)
    post = getattr(obj, "check", None)
    if post is not None:
        post(section)
    return obj


# --- the sections ---------------------------------------------------------------------------------


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
            kw[f.name] = _check(settings[f.name], f.metadata, f"effects.{name}.{f.name}")
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
            pairs.append((knob, _check(value, _KNOB_VALUE, f"{where}.settings.{knob}")))
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
            folder = _check(folder, {**_KNOB_VALUE, "kind": str, "lo": None, "hi": None}, f"{where}.folder")
        position = KnobPosition(position.settings, folder)
        if position.label in seen:
            raise ConfigError(f"params.yaml: {where} repeats the settings of {key}[{seen[position.label]}] "
                              f"({position.label}); positions must differ by at least 0.01")
        if folder is not None and folder in {p.folder for p in out}:
            raise ConfigError(f"params.yaml: {where}.folder {folder!r} is already another position's")
        seen[position.label] = i
        out.append(position)
    return tuple(out)


@dataclass(frozen=True)
class BenchParams:
    """The virtual bench: program material length and rate, oversampling of the stand-in pedals,
    the recording chain's noise floor, and the seed everything is drawn from."""

    seed: int = spec(int)
    duration_s: float = spec(float, lo=2.0)
    sample_rate: int = spec(int, lo=8000, hi=384000)
    oversample: int = spec(int, lo=1, hi=32)
    noise_dbfs: float = spec(float, hi=0.0)


@dataclass(frozen=True)
class SplitParams:
    """Contiguous split: the test part is the last `test_fraction`; validation is the last
    `val_fraction` of what is left."""

    test_fraction: float = spec(float, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    val_fraction: float = spec(float, lo=0.0, hi=1.0, lo_open=True, hi_open=True)


@dataclass(frozen=True)
class FrameParams:
    """Framed models' examples: `count` training and `val_count` validation frames, drawn with `seed`."""

    count: int = spec(int, lo=1)
    val_count: int = spec(int, lo=1)
    seed: int = spec(int)


@dataclass(frozen=True)
class AlignParams:
    """Alignment of the wet recording against the dry one."""

    max_latency_ms: float = spec(float, lo=0.0, lo_open=True)
    min_peak_clarity_db: float = spec(float)
    subsample: bool = spec(bool, default=True)
    latency: float | str = spec(float, auto=True, default="auto")
    polarity: int | str = spec(int, choices=(1, -1), auto=True, default="auto")
    highpass_hz: float = spec(float, lo=0.0, default=5.0)
    # false: the dry the model learns from is not high-passed (DC and drift stay, as a plugin feeds them)
    highpass_dry: bool = spec(bool, default=True)


# The model kinds, each a module drywet/kinds/<name>.py: the one list of them (drywet.kinds.KINDS
# maps each name to its module; params.yaml's `model.kind` is checked against it here).
KIND_NAMES = ("framed", "sequence", "wavenet")


@dataclass(frozen=True)
class ModelParams:
    """Which model: `kind` (one of KIND_NAMES), the named `structure`, and the oversampling factor
    it is trained and run at (anti-aliasing remedy)."""

    kind: str = spec(str, choices=KIND_NAMES)
    structure: str = spec(str)
    oversample: int = spec(int, choices=(1, 2, 4))
    skip: bool = spec(bool, default=False)  # sequence kind: output = dense(LSTM) + dry


@dataclass(frozen=True)
class TrainParams:
    """Training of the framed kind, exactly as the study defines it (Adam, `loss` on each frame's
    one wet sample); `checkpoints` lists the epochs saved (those <= `epochs`). `kernel` computes
    the same LSTM math: `cpu` drywet.cpu_lstm's C kernel with 32 batches per graph call (faster on
    a CPU), `keras` keras.layers.LSTM one batch per call (the seed's loop; cuDNN on a GPU)."""

    epochs: int = spec(int, lo=1)
    batch_size: int = spec(int, lo=1)
    learning_rate: float = spec(float, lo=0.0, lo_open=True)
    loss: str = spec(str, choices=("mse", "mae"))
    seed: int = spec(int)
    checkpoints: tuple[int, ...] = spec(list, items=int, lo=1, default=[])
    kernel: str = spec(str, choices=("cpu", "keras"), default="cpu")


@dataclass(frozen=True)
class TrainSequenceParams:
    """Training of the sequence kind. Every epoch, segments of `segment` samples tile the whole
    training part at a fresh random offset (`max_segments` caps them, null = all); the first `warmup`
    samples of each segment are not scored. Adam at `learning_rate`, constant or decayed to 0 over
    `epochs` (`schedule: cosine`); `loss` (mse, esr, esr_dc) after the pre-emphasis `preemph`
    (none, first_order with `preemph_coeff`, aweight); training stops after `patience` epochs without
    a lower validation ESR (null = never) and keeps the best epoch's weights. `grad_clip`: the
    gradients' global norm is clipped to it (null = not clipped). `kernel`: the LSTM kernel it trains
    with, `block` (TensorFlow's BlockLSTM, drywet.fused) or `cpu` (drywet.cpu_lstm's C kernel on both
    cores: about twice as fast on a 2-core CPU, the same math summed in another order, so a run
    lands elsewhere; 16 or 32 units, audio-only input). `mrstft_weight` (>= 0; 0 = off) adds that many
    times the multi-resolution STFT term (drywet.kinds.sequence.mrstft_term) over the `mrstft_fft`
    resolutions (samples; powers of two, each at most the scored `segment - warmup` when on)."""

    epochs: int = spec(int, lo=1)
    batch_size: int = spec(int, lo=1)
    segment: int = spec(int, lo=2)
    warmup: int = spec(int, lo=0)
    learning_rate: float = spec(float, lo=0.0, lo_open=True)
    loss: str = spec(str, choices=("mse", "esr", "esr_dc"))
    seed: int = spec(int)
    patience: int | None = spec(int, lo=1, nullable=True, default=None)
    max_segments: int | None = spec(int, lo=1, nullable=True, default=None)
    schedule: str = spec(str, choices=("constant", "cosine"), default="cosine")
    preemph: str = spec(str, choices=("none", "first_order", "aweight"), default="none")
    preemph_coeff: float = spec(float, lo=0.0, hi=1.0, hi_open=True, default=0.85)
    grad_clip: float | None = spec(float, lo=0.0, lo_open=True, nullable=True, default=None)
    checkpoints: tuple[int, ...] = spec(list, items=int, lo=1, default=[])
    kernel: str = spec(str, choices=("block", "cpu"), default="block")
    mrstft_weight: float = spec(float, lo=0.0, default=0.0)
    mrstft_fft: tuple[int, ...] = spec(list, items=int, lo=64, default=[256, 512, 1024])

    def check(self, section: str) -> None:
        if self.warmup >= self.segment:
            raise ConfigError(f"params.yaml: {section}.warmup ({self.warmup}) must be smaller than "
                              f"{section}.segment ({self.segment})")
        odd = [n for n in self.mrstft_fft if n & (n - 1)]
        if odd:
            raise ConfigError(f"params.yaml: {section}.mrstft_fft must list powers of two >= 64 (FFT sizes in "
                              f"samples), got {odd[0]}")
        if self.mrstft_weight > 0:  # when off the sizes are unused: a short test segment may keep the defaults
            scored = self.segment - self.warmup
            if not self.mrstft_fft:
                raise ConfigError(f"params.yaml: {section}.mrstft_fft must list at least one FFT size when "
                                  f"{section}.mrstft_weight is above 0")
            if max(self.mrstft_fft) > scored:
                raise ConfigError(f"params.yaml: {section}.mrstft_fft size {max(self.mrstft_fft)} is longer than "
                                  f"the scored part of a segment, {section}.segment - {section}.warmup = {scored} "
                                  f"samples (lower it or raise {section}.segment)")


@dataclass(frozen=True)
class PredictParams:
    batch_size: int = spec(int, lo=1)
    checkpoint_excerpt_s: float = spec(float, lo=0.0, lo_open=True)


@dataclass(frozen=True)
class EvaluateParams:
    hf_cutoff_hz: float = spec(float, lo=0.0, lo_open=True)
    excerpt_s: float = spec(float, lo=0.0, lo_open=True)
    rtf_seconds: float = spec(float, lo=0.0, lo_open=True)


@dataclass(frozen=True)
class ReportParams:
    excerpt_s: float = spec(float, lo=0.0, lo_open=True)
    abx_trials: int = spec(int, lo=1, default=8)


SECTIONS: dict[type, str] = {
    BenchParams: "bench",
    AlignParams: "align",
    ModelParams: "model",
    TrainParams: "train",
    TrainSequenceParams: "train_sequence",
    SplitParams: "split",
    FrameParams: "frame",
    PredictParams: "predict",
    EvaluateParams: "evaluate",
    ReportParams: "report",
}


def load_raw(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The whole params file as a dict (a broken file is a one-line ConfigError)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the repository root)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    return data


def load_section(cls: type[T], path: str | Path = PARAMS_FILE, section: str | None = None,
                 effect: str | None = None) -> T:
    """Parse one section of params.yaml into `cls` (the section's name from SECTIONS by default).
    With `effect`, that effect's override of the section (`effects.<effect>.<section>`, for the
    sections in OVERRIDABLE) is merged over it key by key first."""
    section = section or SECTIONS[cls]
    raw = load_raw(path)
    if section not in raw:
        raise ConfigError(f"params.yaml: section {section} is missing")
    merged = raw[section]
    if effect is not None and section in OVERRIDABLE and raw.get("effects") is not None:
        fx = effects(raw.get("effects")).get(effect)
        override = fx.overrides.get(section) if fx is not None else None
        if override:
            if not isinstance(merged, dict):
                raise ConfigError(f"params.yaml: {section} must be a mapping of keys to values, got {merged!r}")
            # keys the section lacks are reported under the effect's own key
            fields = {f.name: f for f in dataclasses.fields(cls)}
            for key, value in override.items():  # a bad value is reported under the effect's own key
                if key not in fields:
                    raise ConfigError(f"params.yaml: unknown key effects.{effect}.{section}.{key} "
                                      f"(valid keys: {', '.join(fields)})")
                _check(value, fields[key].metadata, f"effects.{effect}.{section}.{key}")
            merged = {**merged, **override}
    return parse(cls, merged, section)


def load_effects(path: str | Path = PARAMS_FILE) -> dict[str, EffectParams]:
    """The `effects` section of params.yaml, each effect with its entry of the `gear` section."""
    raw = load_raw(path)
    out = effects(raw.get("effects"))
    return {name: dataclasses.replace(fx, gear=gear(raw.get("gear"), name)) for name, fx in out.items()}


def gear(raw: Any, name: str) -> GearParams:
    """`gear.<name>`: what effect `name` captures, for the plugin files' metadata (its own section, so
    editing it re-exports without retraining); defaults when absent."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: gear must map effect names to their gear, got {raw!r}")
    return parse(GearParams, raw.get(name), f"gear.{name}")
