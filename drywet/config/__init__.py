"""params.yaml in one place: its schema (`schema`), the pipeline sections (`sections`), the effects
and their gear (`effects`), and the file itself, read and edited with its comments kept (`files`).
Stages read their sections here, once, at the edge; nothing else opens params.yaml."""

from __future__ import annotations

from drywet.config.effects import (
    BENCH_KNOBS,
    BENCH_PEDALS,
    EFFECT_NAME,
    GEAR_TYPES,
    KNOB_NAME,
    KNOB_POSITIONS,
    MAX_KNOBS,
    OVERRIDABLE,
    TONE_TYPES,
    EffectParams,
    GearParams,
    KnobPosition,
    effects,
    gear,
    knob_label,
    parse_effect,
    parse_knobs,
)
from drywet.config.files import (
    PARAMS_FILE,
    load_effects,
    load_raw,
    load_section,
    set_section_entry,
    write_entries,
)
from drywet.config.schema import (
    check_value,
    parse,
    spec,
)
from drywet.config.sections import (
    KIND_NAMES,
    SECTIONS,
    AlignParams,
    BenchParams,
    EvaluateParams,
    FrameParams,
    ModelParams,
    PredictParams,
    ReportParams,
    SplitParams,
    TrainParams,
    TrainSequenceParams,
)

__all__ = [
    "KIND_NAMES", "AlignParams", "BENCH_KNOBS", "BENCH_PEDALS", "BenchParams", "EFFECT_NAME", "EffectParams",
    "EvaluateParams", "FrameParams", "GEAR_TYPES", "GearParams", "KNOB_NAME", "KNOB_POSITIONS", "KnobPosition",
    "MAX_KNOBS", "ModelParams", "OVERRIDABLE", "PARAMS_FILE", "PredictParams", "ReportParams", "SECTIONS",
    "SplitParams", "TONE_TYPES", "TrainParams", "TrainSequenceParams", "check_value", "effects", "gear",
    "knob_label", "load_effects", "load_raw", "load_section", "parse", "parse_effect", "parse_knobs",
    "set_section_entry", "spec", "write_entries",
]
