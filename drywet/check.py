"""Whether a dry/wet recording pair is fit to train on, measured in seconds without training.

The align stage's own judgement (`align.clean_and_estimate`: latency within the search range, a
clear alignment peak, no wet stuck at a rail) plus what no model can learn or undo: a dry signal
clipped at full scale (an interface overload: the wet was made from a signal the file no longer
holds). Around the verdict, what a player needs to judge the take: levels, DC offsets, clipping,
the wet's noise floor and the best ESR it allows (`capture.esr_floor`), and how repeatable the
capture is where the dry plays a passage twice (`capture.repeat_esr`). Pure functions on arrays.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drywet import capture
from drywet.align import (
    Alignment,
    align_pair,
    check_lengths,
    direction_errors,
    estimate_alignment,
    full_scale_fraction,
    highpass,
    search_range_samples,
)
from drywet.audio import CLIP_WARN_FRACTION, SILENCE_DBFS
from drywet.config import AlignParams, load_section
from drywet.errors import AlignmentError, InputError

# Outside a drywet repository (no params.yaml), the align section's shipped values.
DEFAULT_ALIGN = AlignParams(max_latency_ms=50.0, min_peak_clarity_db=25.0)
# A capture's own overrides of the align section: its dry is fed to the model exactly as a plugin
# feeds it (not high-passed), so what plays is what was scored.
CAPTURE_ALIGN = {"highpass_dry": False}

MIN_SECONDS = 2.0  # shorter takes are refused: too little to split into train, validation and test
SHORT_SECONDS = 60.0  # shorter takes get a note: a model learns from minutes of varied playing
DRY_CLIP_FRACTION = 1e-4  # a dry with more of its samples at full scale than this is refused
ESR_FLOOR_NOTE = 0.01  # an ESR floor above this gets a note (Neural Amp Modeler's "great" is < 0.01)
REPEAT_ESR_NOTE = 0.01  # two takes of a repeated passage differing more than this get a note
LAX_CLARITY_DB = -1e9  # clarity threshold of the second look that fills in the numbers of a refusal
# Swapped files: an output before its input by more than SWAP_LATENCY samples (a causal chain's
# fractional estimate may sit a sample early), or, nearer zero latency, a dry that the wet predicts
# clearly better (SWAP_RATIO of the error) than the wet is predicted from the dry.
SWAP_LATENCY = 2.0
SWAP_RATIO = 0.6
SWAP_HINT = "pass them the other way round (the dry is the DI that went into the gear, the wet its output)"


@dataclass(frozen=True)
class CheckReport:
    """What `check_pair` measured. Levels in dBFS (full scale 1.0), shares 0..1, DC offsets in full
    scale units; alignment fields are None where no alignment peak was found in the search range.

    problems: the reasons not to train, most basic first (empty: OK to train); notes: remarks that
    do not block training.
    """

    sample_rate: int
    dry_seconds: float
    wet_seconds: float
    search_range_ms: float
    min_peak_clarity_db: float
    latency_samples: float | None
    latency_ms: float | None
    polarity: int | None
    peak_clarity_db: float | None
    peak_correlation: float | None
    gain_db: float | None
    dc_dry: float
    dc_wet: float
    dry_full_scale_fraction: float
    wet_full_scale_fraction: float
    dry_rms_dbfs: float
    dry_peak_dbfs: float
    wet_rms_dbfs: float
    wet_peak_dbfs: float
    noise_floor_dbfs: float | None
    esr_floor: float | None
    repeat_esr: float | None
    repeat_seconds: float | None
    problems: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing blocks training on this pair."""
        return not self.problems

    @property
    def conclusion(self) -> str:
        """`OK to train`, or the first reason not to."""
        return "OK to train" if self.ok else f"not OK to train: {self.problems[0]}"


def _dbfs(value: float) -> float:
    """20 log10(value) (an amplitude, full scale 1.0); -inf for 0."""
    return 20.0 * math.log10(value) if value > 0 else float("-inf")


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _usable(x: np.ndarray, sr: int, name: str, min_samples: int) -> None:
    """InputError naming the file for a signal too short, non-finite or silent to train on."""
    if x.ndim != 1:
        raise InputError(f"{name}: expected a mono signal, got shape {x.shape}")
    if x.size < min_samples:
        raise InputError(f"{name}: too short to train on ({x.size / sr:.2f} s; at least "
                         f"{min_samples / sr:.2f} s needed)")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name}: contains NaN or infinite samples")
    # Around its mean: a file holding only a DC offset is as silent as one of zeros.
    level = _dbfs(float(np.std(x, dtype=np.float64)))
    if level < SILENCE_DBFS:
        raise InputError(f"{name}: silent or near-silent (RMS {level:.1f} dBFS < {SILENCE_DBFS:.0f} dBFS)")


def check_pair(
    dry: np.ndarray,
    wet: np.ndarray,
    sr: int,
    align: AlignParams = DEFAULT_ALIGN,
    *,
    wet_sr: int | None = None,
    dry_name: str = "dry",
    wet_name: str = "wet",
) -> CheckReport:
    """Measure a dry/wet pair (mono, float, at `sr` Hz) and judge whether it is fit to train on, with
    the align stage's own params (`align`, the effect's overrides applied) and code (`align_pair`).

    InputError (naming `dry_name` / `wet_name`) when the pair cannot be measured at all: rates
    differ (`wet_sr`, when the wet was read on its own), a signal is too short, silent or not
    finite. Everything else (misaligned, ambiguous, clipped dry, wet stuck at a rail, ...) is a
    report whose `problems` say why not.
    """
    dry = np.asarray(dry)
    wet = np.asarray(wet)
    if wet_sr is not None and int(wet_sr) != int(sr):
        raise InputError(f"{wet_name}: sample rate {wet_sr} Hz differs from the dry's ({sr} Hz)")
    lag = search_range_samples(align.max_latency_ms, sr)
    min_samples = max(math.ceil(MIN_SECONDS * sr), 4 * lag)  # the alignment needs 4x its range
    _usable(dry, sr, dry_name, min_samples)
    _usable(wet, sr, wet_name, min_samples)

    problems: list[str] = []
    notes: list[str] = []
    try:
        check_lengths(dry.size, wet.size, lag, wet_name, sr)
    except InputError as exc:
        problems.append(str(exc))
    dc_dry = float(np.mean(dry, dtype=np.float64))
    dc_wet = float(np.mean(wet, dtype=np.float64))
    dry_clip = full_scale_fraction(dry)
    wet_clip = full_scale_fraction(wet)

    if dry_clip > DRY_CLIP_FRACTION:
        problems.append(
            f"{dry_name}: {100 * dry_clip:.2f}% of its samples are clipped at full scale (more than "
            f"{100 * DRY_CLIP_FRACTION:g}%): the interface's input was overloaded and the wet heard a "
            f"signal the file no longer holds; record again with the input gain lower")

    found: Alignment | None = None
    try:  # exactly the align stage's judgement, on the audio it would write
        dry_a, wet_a, found, _ = align_pair(dry, wet, sr, align)
    except AlignmentError as exc:
        problems.append(str(exc))
        dry_a, wet_a = highpass(dry, sr, align.highpass_hz), highpass(wet, sr, align.highpass_hz)
        try:  # a second look, for the numbers only: where is the best peak, how clear is it
            found = estimate_alignment(dry_a, wet_a, sr, align.max_latency_ms, LAX_CLARITY_DB)
        except AlignmentError:
            found = None
    swap = _swapped(dry_a, wet_a, found, dry_name, wet_name) if found is not None else None
    if swap is not None:
        problems.insert(0, swap)  # a swap explains a "clipped dry" (the gear's output) and the rest
    if wet_clip > CLIP_WARN_FRACTION and not any("stuck at full scale" in p for p in problems):
        notes.append(f"{wet_name}: {100 * wet_clip:.2f}% of its samples at full scale: fine if the effect "
                     f"clips there (a model learns that), not if the interface's input did")

    # The wet's noise, and the repeat, on the cleaned-up pair (a DC offset is no noise), aligned
    # where an alignment was found: the align stage reports the same floor from the same audio.
    noise = _finite(capture.noise_floor_dbfs(wet_a, sr))
    esr_floor = _finite(capture.esr_floor(dry_a, wet_a, sr))
    if esr_floor is not None and esr_floor > ESR_FLOOR_NOTE:
        notes.append(f"{wet_name}: noisy; the noise alone keeps any model's ESR above {esr_floor:.3g}")
    repeat = capture.find_repeat(dry_a, sr)
    repeat_esr = _finite(capture.repeat_esr(wet_a, repeat)) if repeat is not None else None
    if repeat_esr is not None and repeat_esr > REPEAT_ESR_NOTE:
        notes.append(f"the two wet takes of a passage the dry plays twice differ (ESR {repeat_esr:.3g}): "
                     f"a knob moved, or the chain drifted?")
    seconds = min(dry.size, wet.size) / sr
    if seconds < SHORT_SECONDS:
        notes.append(f"short take ({seconds:.1f} s): a model learns more from a few minutes of varied playing")

    return CheckReport(
        sample_rate=int(sr),
        dry_seconds=dry.size / sr,
        wet_seconds=wet.size / sr,
        search_range_ms=1000.0 * lag / sr,
        min_peak_clarity_db=float(align.min_peak_clarity_db),
        latency_samples=None if found is None else float(found.latency_samples),
        latency_ms=None if found is None else float(found.latency_ms),
        polarity=None if found is None else int(found.polarity),
        peak_clarity_db=None if found is None else float(found.peak_clarity_db),
        peak_correlation=None if found is None else float(found.peak_correlation),
        gain_db=None if found is None else float(found.gain_db),
        dc_dry=dc_dry,
        dc_wet=dc_wet,
        dry_full_scale_fraction=dry_clip,
        wet_full_scale_fraction=wet_clip,
        dry_rms_dbfs=_dbfs(float(np.sqrt(np.mean(np.square(dry, dtype=np.float64))))),
        dry_peak_dbfs=_dbfs(float(np.max(np.abs(dry)))),
        wet_rms_dbfs=_dbfs(float(np.sqrt(np.mean(np.square(wet, dtype=np.float64))))),
        wet_peak_dbfs=_dbfs(float(np.max(np.abs(wet)))),
        noise_floor_dbfs=noise,
        esr_floor=esr_floor,
        repeat_esr=repeat_esr,
        repeat_seconds=None if repeat is None else repeat.length / sr,
        problems=tuple(problems),
        notes=tuple(notes),
    )


def capture_align(params: Path | None = None, **overrides) -> AlignParams:
    """The align params a capture's effect runs with: params.yaml's `align` section (`params`, when
    the file exists; DEFAULT_ALIGN otherwise) with CAPTURE_ALIGN and `overrides` applied. The check
    judges with these, so it finds what the align stage will."""
    base = load_section(AlignParams, params) if params is not None and params.is_file() else DEFAULT_ALIGN
    return dataclasses.replace(base, **{**CAPTURE_ALIGN, **overrides})


def _swapped(dry: np.ndarray, wet: np.ndarray, found: Alignment, dry_name: str, wet_name: str) -> str | None:
    """The one-line refusal of a pair whose files look swapped (see SWAP_LATENCY), else None."""
    latency = float(found.latency_samples)
    if latency < -SWAP_LATENCY:
        return (f"{wet_name} comes {-latency:.1f} samples before {dry_name} (the output before its input): "
                f"the dry and wet files look swapped; {SWAP_HINT}")
    if latency > SWAP_LATENCY:
        return None
    errors = direction_errors(dry, wet, latency)
    if errors is not None and errors[1] < SWAP_RATIO * errors[0]:
        return (f"{wet_name} predicts {dry_name} better than the reverse (held-out error {errors[1]:.3g} against "
                f"{errors[0]:.3g}): the dry and wet files look swapped; {SWAP_HINT}")
    return None


def _round(value):
    """A float to 6 significant digits (JSON: non-finite becomes null); others as they are."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, tuple):
        return list(value)
    return value


def report_dict(report: CheckReport) -> dict:
    """The report flat, for JSON: every field plus `ok` and `conclusion`."""
    out = {key: _round(value) for key, value in dataclasses.asdict(report).items()}
    out["ok"] = report.ok
    out["conclusion"] = report.conclusion
    return out


def report_json(report: CheckReport) -> str:
    """The report as JSON, keys sorted."""
    return json.dumps(report_dict(report), sort_keys=True, indent=2, allow_nan=False)


def _fmt_db(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "-inf"


def render(report: CheckReport, dry_name: str = "dry", wet_name: str = "wet") -> str:
    """The report as a short text block for a player; the last line is the conclusion."""
    r = report
    length = f"{r.dry_seconds:.2f} s"
    if r.wet_seconds != r.dry_seconds:
        length = f"dry {r.dry_seconds:.2f} s, wet {r.wet_seconds:.2f} s"
    lines = [f"{dry_name} -> {wet_name}: {r.sample_rate} Hz, {length}"]
    if r.latency_samples is None:
        lines.append(f"latency      not found within +-{r.search_range_ms:g} ms")
    else:
        inverted = " (inverted)" if r.polarity < 0 else ""
        clarity = "inf" if not math.isfinite(r.peak_clarity_db) else f"{r.peak_clarity_db:.1f}"
        trusted = "" if r.peak_clarity_db >= r.min_peak_clarity_db else " (best guess, not trusted)"
        lines.append(f"latency      {r.latency_samples:.2f} samples ({r.latency_ms:.3f} ms), "
                     f"polarity {r.polarity:+d}{inverted}{trusted}")
        lines.append(f"alignment    peak clarity {clarity} dB (at least {r.min_peak_clarity_db:g} needed), "
                     f"correlation {r.peak_correlation:.3f}, gain {_fmt_db(r.gain_db)} dB")
    lines.append(f"DC offset    dry {r.dc_dry:+.5f}, wet {r.dc_wet:+.5f}")
    lines.append(f"full scale   dry {100 * r.dry_full_scale_fraction:.3f}%, "
                 f"wet {100 * r.wet_full_scale_fraction:.3f}% of samples")
    lines.append(f"level        dry {_fmt_db(r.dry_rms_dbfs)} dBFS RMS / {_fmt_db(r.dry_peak_dbfs)} peak, "
                 f"wet {_fmt_db(r.wet_rms_dbfs)} / {_fmt_db(r.wet_peak_dbfs)}")
    if r.noise_floor_dbfs is None:
        lines.append("noise floor  wet: not measurable")
    else:
        floor = "" if r.esr_floor is None else f" (best ESR a model can reach: {r.esr_floor:.2g})"
        lines.append(f"noise floor  wet {r.noise_floor_dbfs:.1f} dBFS{floor}")
    if r.repeat_esr is None:
        lines.append("repeat       no repeated passage")
    else:
        lines.append(f"repeat       ESR {r.repeat_esr:.2g} between the two wet takes of a "
                     f"{r.repeat_seconds:.2f} s passage played twice")
    lines += [f"note: {n}" for n in r.notes]
    lines += [f"also: {p}" for p in r.problems[1:]]
    lines.append(r.conclusion)
    return "\n".join(lines)
