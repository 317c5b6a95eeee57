"""The files one stage hands the next, as typed records: each has `load(path)` and `save(path)`, and
writes the same bytes as before (canonical JSON: sorted keys, two-space indent, drywet.fileio).

    clean.json               align  -> split    CleanInfo     the dry clean-up a model expects
    split.json               split  -> train    SplitInfo     part bounds, rate, the dry clean-up
    index.json               frame  -> train    IndexInfo     what index.npz holds
    predict.json             predict -> evaluate, section   PredictInfo
    metrics/align/<fx>.json  align  -> export, section      AlignFile (one AlignReport per take)
    metrics/<fx>.json        evaluate -> export, section    QualityMetrics
    metrics/train/<fx>/metrics.json  train (DVCLive) -> evaluate   TrainMetrics
    exports/<fx>/exports.json        export -> `drywet capture`'s summary   ExportsSummary

model.json is drywet.meta.ModelMeta's. The dry clean-up high-pass travels as a typed field:
CleanInfo.highpass_hz -> SplitInfo.highpass_hz -> ModelMeta.highpass_hz. A missing or unknown key
is one InputError line naming the file and the key. Leaf module: errors and fileio only, so any
layer may read these files.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from drywet.errors import InputError
from drywet.fileio import read_json_object, write_json

R = TypeVar("R")

CLEAN_NAME = "clean.json"
SPLIT_NAME = "split.json"
INDEX_NAME = "index.json"
INDEX_ARRAYS = "index.npz"  # the frame stage's example starts (numpy), described by index.json
PREDICT_NAME = "predict.json"
EXPORTS_NAME = "exports.json"
PARTS = ("train", "val", "test")


def _read(path: str | os.PathLike, what: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found (run the stage that writes it)")
    return read_json_object(path)


def _build(cls: type[R], d: Mapping[str, Any], source: str) -> R:
    """`cls(**d)`, a missing required key or an unknown key being one InputError naming `source`."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise InputError(f"{source}: unknown key {unknown[0]!r} (expected {', '.join(sorted(names))})")
    missing = [f.name for f in fields if f.name not in d
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise InputError(f"{source}: missing key {missing[0]!r}")
    return cls(**d)


class _FolderRecord:
    """A record kept as one JSON file (`FILE`) in a stage's output folder; `WHAT` names it in errors.
    `to_dict` is the file's contents (all fields unless a record leaves some out)."""

    FILE: ClassVar[str]
    WHAT: ClassVar[str]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def save(self, folder: str | os.PathLike) -> None:
        write_json(Path(folder) / self.FILE, self.to_dict())

    @classmethod
    def read(cls: type[R], folder: str | os.PathLike) -> R:
        path = Path(folder) / cls.FILE  # type: ignore[attr-defined]
        return _build(cls, _read(path, cls.WHAT), str(path))  # type: ignore[attr-defined]

    @classmethod
    def load(cls: type[R], folder: str | os.PathLike) -> R:
        return cls.read(folder)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CleanInfo(_FolderRecord):
    """clean.json beside each aligned take: what a model trained on it expects of new input.

    highpass_hz: corner (Hz) of the clean-up high-pass applied to the dry audio (0 = none);
    sample_rate: Hz."""

    FILE: ClassVar[str] = CLEAN_NAME
    WHAT: ClassVar[str] = "the align stage's clean-up record"

    highpass_hz: float
    sample_rate: int


@dataclass(frozen=True)
class SplitInfo(_FolderRecord):
    """split.json beside each split take: its rate, the dry clean-up the model inherits, and each
    part's [start, stop) in samples of the aligned take."""

    FILE: ClassVar[str] = SPLIT_NAME
    WHAT: ClassVar[str] = "the split stage's record"

    sample_rate: int
    highpass_hz: float
    train_start: int
    train_stop: int
    val_start: int
    val_stop: int
    test_start: int
    test_stop: int

    def bounds(self, part: str) -> tuple[int, int]:
        """[start, stop) of `part` (train, val or test) in samples."""
        return getattr(self, f"{part}_start"), getattr(self, f"{part}_stop")


@dataclass(frozen=True)
class IndexInfo(_FolderRecord):
    """index.json beside index.npz (the frame stage's example starts).

    length: samples per example; supervised_samples: scored samples per epoch; positions: a
    knob-conditioned effect's position labels (None: a plain effect)."""

    FILE: ClassVar[str] = INDEX_NAME
    WHAT: ClassVar[str] = "the frame stage's index record"

    kind: str
    oversample: int
    structure: str
    length: int
    train_examples: int
    val_examples: int
    supervised_samples: int
    positions: tuple[str, ...] | None = None

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if self.positions is None:
            del d["positions"]
        else:
            d["positions"] = list(self.positions)
        return d

    @classmethod
    def load(cls, folder: str | os.PathLike) -> IndexInfo:
        info = cls.read(folder)
        return info if info.positions is None else dataclasses.replace(info, positions=tuple(info.positions))


@dataclass(frozen=True)
class PositionPart:
    """Where one knob position's test part lies in predict's joined audio (samples) and its settings."""

    label: str
    settings: dict[str, float]
    start: int
    stop: int


@dataclass(frozen=True)
class PredictInfo(_FolderRecord):
    """predict.json in the predictions folder.

    test_seconds: length of the test audio; excerpt_start/excerpt_length: the checkpoint excerpt in
    samples; checkpoint_epochs: the checkpoints rendered over it; positions / excerpt_position: a
    knob-conditioned effect's parts and the position holding the excerpt (empty / None: a plain effect)."""

    FILE: ClassVar[str] = PREDICT_NAME
    WHAT: ClassVar[str] = "the predict stage's record"

    test_seconds: float
    excerpt_start: int
    excerpt_length: int
    checkpoint_epochs: tuple[int, ...]
    positions: tuple[PositionPart, ...] = ()
    excerpt_position: str | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"test_seconds": self.test_seconds, "excerpt_start": self.excerpt_start,
                             "excerpt_length": self.excerpt_length, "checkpoint_epochs": list(self.checkpoint_epochs)}
        if self.positions:
            d["positions"] = [dataclasses.asdict(p) for p in self.positions]
        if self.excerpt_position is not None:
            d["excerpt_position"] = self.excerpt_position
        return d

    @classmethod
    def load(cls, folder: str | os.PathLike) -> PredictInfo:
        info = cls.read(folder)
        path = Path(folder) / cls.FILE
        parts = tuple(_build(PositionPart, p, f"{path}: positions") for p in info.positions)
        return dataclasses.replace(info, checkpoint_epochs=tuple(info.checkpoint_epochs), positions=parts)


@dataclass(frozen=True)
class AlignReport:
    """One take's alignment (latency in samples and ms, polarity, gain in dB, the clean-up, and the
    ESR floor and noise floor of the aligned take), as the align stage reports it."""

    latency_samples: float
    latency_ms: float
    latency_source: str
    polarity: int
    peak_correlation: float
    peak_clarity_db: float | None
    gain_db: float
    dc_dry: float
    dc_wet: float
    wet_full_scale_fraction: float
    highpass_hz: float
    highpass_dry: bool
    aligned_seconds: float
    esr_floor: float
    noise_floor_dbfs: float
    sample_rate: int


@dataclass(frozen=True)
class AlignFile:
    """metrics/align/<fx>.json: one AlignReport for a plain effect (key "."), else one per knob
    position by label (the file then maps each label to its report)."""

    takes: dict[str, AlignReport]

    @property
    def plain(self) -> bool:
        return list(self.takes) == ["."]

    @property
    def latency_samples(self) -> float | dict[str, float]:
        """The latency (samples) a plugin file records: one number, or one per position label."""
        if self.plain:
            return self.takes["."].latency_samples
        return {label: take.latency_samples for label, take in sorted(self.takes.items())}

    def to_dict(self) -> dict:
        d = {sub: dataclasses.asdict(report) for sub, report in self.takes.items()}
        return d["."] if self.plain else d

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> AlignFile:
        d = _read(path, "the align stage's report")
        if "latency_ms" in d or "latency_samples" in d:
            return cls({".": _build(AlignReport, d, str(path))})
        takes = {}
        for label, take in d.items():  # a knob-conditioned effect: one report per position
            if not isinstance(take, dict):
                raise InputError(f"{path}: unknown key {label!r} (not a knob position's alignment report)")
            takes[label] = _build(AlignReport, take, f"{path}: {label}")
        return cls(takes)


@dataclass(frozen=True)
class QualityMetrics:
    """metrics/<fx>.json: the entries of drywet.metrics.METRICS and the capture checks, by name
    (`values`, in the file's order); `esr`, the test ESR, is the one every reader needs."""

    values: dict[str, Any] = field(default_factory=dict)

    @property
    def esr(self) -> float:
        return float(self.values["esr"])

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.values)

    @classmethod
    def load(cls, path: str | os.PathLike) -> QualityMetrics:
        d = _read(path, "the evaluate stage's metrics")
        if "esr" not in d:
            raise InputError(f"{path}: missing key 'esr'")
        return cls(d)


@dataclass(frozen=True)
class TrainMetrics:
    """The train stage's DVCLive metrics.json: training time (s) and throughput (scored samples per
    second). DVCLive writes its own keys beside them (step, the curves' last values), left unread."""

    train_seconds: float
    train_examples_per_s: float

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainMetrics:
        d = _read(path, "the train stage's metrics")
        return _build(cls, {k: d[k] for k in ("train_seconds", "train_examples_per_s") if k in d}, str(path))


@dataclass(frozen=True)
class ExportsSummary(_FolderRecord):
    """exports/<fx>/exports.json: the scored test ESR, per format written its file, plugins and
    played ESRs (`formats`), per format not written the reason (`skipped`), and notes."""

    FILE: ClassVar[str] = EXPORTS_NAME
    WHAT: ClassVar[str] = "the export stage's summary"

    effect: str
    esr: float
    formats: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SectionFile:
    """data/report/<fx>/section.json: one effect's part of the report (`drywet.report.save_section`
    writes it beside its clips and figures): metrics and checks as [key, value] pairs in display order."""

    name: str
    title: str
    metrics: list
    clips: list
    figures: list
    notes: str = ""
    checks: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SectionFile:
        return _build(cls, _read(path, "the report section"), str(path))

