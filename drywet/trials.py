"""The capture's recipe and its choice of architecture. Without trials (`--model`, `--epochs`), the
playable model `CAPTURE_MODEL` trains with `capture_recipe`. With them, every candidate is trained
for the same few seconds on the recording's own training part (aligned and split as the pipeline
will), scored on its validation part; the one with the lowest validation ESR is trained fully, its
epochs sized from the speed its trial measured to fit a time budget. The choice is written into
params.yaml, so the pipeline that trains it stays reproducible whatever machine made the choice."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from drywet.align import align_pair
from drywet.config import AlignParams, SplitParams, TrainSequenceParams
from drywet.errors import ConfigError
from drywet.kinds import KINDS, Audio, get_kind, get_structure, structures
from drywet.split import split_bounds

# Tried in this order (smallest first: on equal validation ESR, the cheaper model wins).
CANDIDATES = ("sequence/l1_u32_f32", "wavenet/lite", "wavenet/standard")
TRIAL_SECONDS = 40.0  # training time per candidate, graph building included
VAL_SECONDS = 20.0  # the trials score at most this much of the validation part
TRAIN_SHARE = 0.85  # of the training budget, the share spent in training steps (the rest: validation)
MIN_EPOCHS, MAX_EPOCHS = 8, 60  # a full training validates at least MIN_EPOCHS times
TRIAL_EPOCHS = 200  # at most: the time box ends a trial long before
ESR_TIE = 0.02  # a bigger candidate must beat a smaller one's validation ESR by this share to win


# The playable model: a kind and structure that plugins load (chosen by the trials, or --model), fed
# the dry exactly as a plugin feeds it (not high-passed, drywet.check.CAPTURE_ALIGN), so what plays is
# what was scored.
CAPTURE_MODEL = {"kind": "sequence", "structure": "l1_u32_f32", "skip": False, "oversample": 1}
CAPTURE_EPOCHS = (8, 60)  # at least, at most, without trials
CAPTURE_MINUTES = 10.0  # the whole capture's default budget: trials, then the full training
OVERHEAD_S = 90.0  # of it, what is not training: checks, DVC, prediction, evaluation, exports


def kind_recipe(kind: str) -> dict:
    """The `train_sequence` overrides a capture trains `kind` with (the kind's CAPTURE_RECIPE)."""
    return dict(get_kind(kind).CAPTURE_RECIPE)


def capture_recipe(train_samples: int, kind: str = "sequence") -> dict:
    """`train_sequence` overrides for a training part of `train_samples` samples without trials: the
    kind's capture recipe and cosine-decayed epochs that fit its CAPTURE_SAMPLES (within
    CAPTURE_EPOCHS), never stopping early."""
    lo, hi = CAPTURE_EPOCHS
    epochs = int(min(hi, max(lo, get_kind(kind).CAPTURE_SAMPLES // max(1, train_samples))))
    return {**kind_recipe(kind), "epochs": epochs, "patience": None, "checkpoints": []}


@dataclass(frozen=True)
class Candidate:
    """A kind and one of its structures, written `kind/structure` (e.g. `wavenet/standard`)."""

    kind: str
    structure: str

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.structure}"

    @classmethod
    def parse(cls, text: str) -> Candidate:
        """`kind/structure` checked against the registries (ConfigError, one line, listing the valid)."""
        kind, sep, structure = str(text).partition("/")
        if not sep or kind not in KINDS:
            raise ConfigError(f"--model {text!r}: write KIND/STRUCTURE with KIND one of {', '.join(KINDS)} "
                              "(e.g. wavenet/standard, sequence/l1_u64_f32)")
        if kind == "framed":
            raise ConfigError(f"--model {text!r}: framed models play in no plugin; use sequence or wavenet")
        if structure not in structures(kind):
            raise ConfigError(f"--model {text!r}: unknown structure for {kind}; valid: {', '.join(structures(kind))}")
        return cls(kind, structure)


@dataclass(frozen=True)
class Trial:
    """How a candidate did in its time box: best validation ESR, seconds in all, and scored training
    samples per second once its graph was built (validation included)."""

    candidate: Candidate
    val_esr: float
    seconds: float
    samples_per_s: float


def recipe(kind: str, base: TrainSequenceParams) -> TrainSequenceParams:
    """The `train_sequence` recipe a capture trains `kind` with."""
    return dataclasses.replace(base, **kind_recipe(kind))


def trial_audio(dry: np.ndarray, wet: np.ndarray, sr: int, align: AlignParams, split: SplitParams) -> Audio:
    """The training and validation parts as the align and split stages will cut them (the dry as
    recorded when `align.highpass_dry` is off), the validation part cut to VAL_SECONDS."""
    d, w, _, _ = align_pair(dry, wet, sr, align)
    b = split_bounds(len(d), split.test_fraction, split.val_fraction, 1)
    v0, v1 = b.val[0], min(b.val[1], b.val[0] + int(VAL_SECONDS * sr))
    part = [np.ascontiguousarray(x, np.float32) for x in (d[:b.train[1]], w[:b.train[1]], d[v0:v1], w[v0:v1])]
    return Audio(*part)


def run_trial(candidate: Candidate, audio: Audio, base: TrainSequenceParams, seconds: float = TRIAL_SECONDS) -> Trial:
    """Train `candidate` for `seconds` at the recipe's rate, not decayed (epochs of the whole training
    part, as many as fit), keeping its best validation ESR."""
    from drywet import quiet_tensorflow

    quiet_tensorflow()  # before drywet.train imports it: the trials run in the capture's own process
    from drywet import train

    kind = get_kind(candidate.kind)
    structure = get_structure(candidate.structure, candidate.kind)
    cfg = dataclasses.replace(recipe(candidate.kind, base), epochs=TRIAL_EPOCHS, schedule="constant", patience=None,
                              checkpoints=(), max_segments=None)
    index = kind.make_index(len(audio.train_dry), len(audio.val_dry), structure, cfg)
    train_ds, val_ds, steps = kind.datasets(audio, index, cfg)
    t0 = time.perf_counter()
    result = train.fit(structure, candidate.kind, cfg, train_ds, val_ds, steps_per_epoch=steps, verbose=0,
                       time_limit_s=seconds)
    elapsed = time.perf_counter() - t0
    val = [float(v) for v in result.history.get("val_esr", []) if math.isfinite(float(v))]
    per_step = cfg.batch_size * (cfg.segment - cfg.warmup)  # scored samples a batch
    step_s = result.step_seconds or result.seconds / max(1, result.steps)
    return Trial(candidate, min(val) if val else math.inf, elapsed, per_step / max(step_s, 1e-9))


def choose(trials: list[Trial]) -> Trial:
    """The lowest validation ESR; a later (bigger) candidate must beat the best so far by ESR_TIE."""
    best = trials[0]
    for t in trials[1:]:
        if t.val_esr < best.val_esr * (1.0 - ESR_TIE):
            best = t
    return best


def full_recipe(trial: Trial, train_samples: int, budget_s: float, base: TrainSequenceParams) -> dict:
    """`train_sequence` overrides that train `trial`'s candidate within `budget_s` seconds at the speed
    its trial measured: whole epochs when at least MIN_EPOCHS fit, else MIN_EPOCHS epochs each of a
    random subset of the segments (`max_segments`), so validation still picks the best of several."""
    cfg = recipe(trial.candidate.kind, base)
    total = budget_s * TRAIN_SHARE * trial.samples_per_s  # scored samples the budget allows
    epochs = total / max(1, train_samples)
    out = kind_recipe(trial.candidate.kind)
    out.update({"patience": None, "checkpoints": [], "max_segments": None})
    if epochs >= MIN_EPOCHS:
        out["epochs"] = int(min(MAX_EPOCHS, epochs))
    else:
        out["epochs"] = MIN_EPOCHS
        out["max_segments"] = max(1, int(total / MIN_EPOCHS / (cfg.segment - cfg.warmup)))
    return out


def plugins_for(candidate: Candidate) -> str:
    """Which released plugins load the candidate's kind, in words (the export stage says exactly)."""
    return "NAM only" if candidate.kind == "wavenet" else "NAM, and AIDA-X with one layer of up to 80 units"


def next_bigger(kind: str, structure: str) -> Candidate | None:
    """The candidate after this one in CANDIDATES (the next bigger architecture), if any."""
    labels = list(CANDIDATES)
    label = f"{kind}/{structure}"
    if label in labels and labels.index(label) + 1 < len(labels):
        return Candidate.parse(labels[labels.index(label) + 1])
    return None
