"""params.yaml's pipeline sections, one frozen dataclass each with its checks (`SECTIONS` maps each
class to its section's name): bench, align, model, train, train_sequence, split, frame, predict,
evaluate, report."""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass
from pathlib import Path

from drywet.config.schema import spec
from drywet.errors import ConfigError


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
    # true: the wet keeps its recorded polarity, so a model of gear that inverts inverts too (a parallel
    # blend with the dry or the pedal stays in phase); false: the model plays in phase with its input
    keep_polarity: bool = spec(bool, default=False)


def kind_names() -> tuple[str, ...]:
    """The model kinds: one module per kind in drywet/kinds/, found there without importing it (a new
    kind is its file alone); `common` holds what they share and is no kind."""
    folder = Path(__file__).resolve().parents[1] / "kinds"
    return tuple(sorted(m.name for m in pkgutil.iter_modules([str(folder)])
                        if not m.ispkg and m.name != "common" and not m.name.startswith("_")))


KIND_NAMES = kind_names()


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
    the same LSTM math: `cpu` drywet.lstm.cpu's C kernel with 32 batches per graph call (faster on
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
    with, `block` (TensorFlow's BlockLSTM, drywet.lstm.block) or `cpu` (drywet.lstm.cpu's C kernel on both
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
