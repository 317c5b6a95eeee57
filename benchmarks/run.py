"""Training throughput and inference cost of every structure and kind, as a Markdown table.

    python -m benchmarks.run [--quick] [--kinds framed sequence] [--structures l1_u16_f32 ...] [--out FILE]

Training: supervised examples per second (framed: frames; sequence: scored samples, warm-up excluded)
over timed epochs after one warm-up epoch, through `drywet.train.fit` on the project's tf.data
pipelines. Inference: real-time factor at 44.1 kHz through `drywet.inference.predict`, with TF's
default thread pools and pinned to one thread (in a fresh interpreter). Synthetic audio throughout:
an LSTM's cost does not depend on what it hears. A sequence model streams through drywet.lstm.stream's
compiled loop (one thread either way; its first call compiles the loop, which the untimed warm-up
call absorbs). The sequence kind trains with drywet.lstm.block's kernel and the framed kind with
`train.kernel`'s default (drywet.lstm.cpu), as the train stage does (in this process TensorFlow
keeps its default threads; `benchmarks.train_speed` sets them as the stage does).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 44100


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    frames: int  # framed: training frames per epoch
    segments: int  # sequence: training segments per epoch
    epochs: int  # timed epochs, after one untimed warm-up epoch
    rtf_seconds: float  # seconds of audio per inference timing
    rtf_repeats: int  # inference timings; the best counts
    signal_seconds: float  # length of the synthetic training signal


FULL = Sizes(frames=20000, segments=128, epochs=2, rtf_seconds=5.0, rtf_repeats=2, signal_seconds=60.0)
QUICK = Sizes(frames=4096, segments=32, epochs=1, rtf_seconds=2.0, rtf_repeats=1, signal_seconds=20.0)

COLUMNS = ("structure", "kind", "params", "MACs/sample", "KiB", "train examples/s", "RTF", "RTF 1 thread")


class _EpochClock:
    """Stands in for DVCLive in `fit`: `next_step` is called once per epoch end, so record the time."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def log_metric(self, name: str, value: float) -> None:
        pass

    def next_step(self) -> None:
        self.times.append(time.perf_counter())


def machine_line() -> str:
    """CPU model, core count, load, TensorFlow / Keras / Python versions, the device training ran on."""
    import keras
    import tensorflow as tf

    from drywet.train import device_name

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{cpu}, {usable} usable cores ({os.cpu_count()} online), load average {load}; "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}; "
            f"training on {device_name()}")


def training_signal(seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic dry/wet pair (a soft clipper stands in for the pedal)."""
    from drywet.cost import probe_signal

    dry = probe_signal(int(seconds * SAMPLE_RATE), SAMPLE_RATE, seed)
    return dry, np.tanh(4.0 * dry).astype(np.float32)


def train_throughput(structure, kind: str, dry: np.ndarray, wet: np.ndarray, sizes: Sizes):
    """Fit 1 + sizes.epochs epochs; returns (model, supervised examples per second over the timed ones)."""
    from drywet.config import FrameParams, TrainParams, TrainSequenceParams
    from drywet.kinds import Audio, get_kind
    from drywet.train import fit

    k = get_kind(kind)
    if kind == "framed":
        cfg = TrainParams(epochs=1 + sizes.epochs, batch_size=256, learning_rate=1e-3, loss="mse", seed=1)
        index = k.make_index(len(dry), len(dry), structure, FrameParams(count=sizes.frames, val_count=1, seed=1))
    else:
        cfg = TrainSequenceParams(epochs=1 + sizes.epochs, batch_size=16, segment=2048, warmup=256,
                                  learning_rate=1e-3, loss="mse", seed=1, max_segments=sizes.segments)
        index = k.make_index(len(dry), len(dry), structure, cfg)
    train_ds, _, steps = k.datasets(Audio(dry, wet, dry, wet), index, cfg)
    clock = _EpochClock()
    model = fit(structure, kind, cfg, train_ds, None, steps_per_epoch=steps, live=clock, verbose=0).model
    return model, index.supervised * sizes.epochs / (clock.times[-1] - clock.times[0])


def bench_one(structure, kind: str, dry: np.ndarray, wet: np.ndarray, sizes: Sizes, workdir: Path) -> dict:
    """All columns of one table row."""
    from drywet.cost import measure_rtf, model_size_kib, rtf_single_thread
    from drywet.inference import save_model
    from drywet.kinds import macs_per_sample
    from drywet.meta import ModelMeta
    from drywet.models import lstm_param_count

    model, train_rate = train_throughput(structure, kind, dry, wet, sizes)
    meta = ModelMeta(effect="bench", kind=kind, structure=structure.name, layers=structure.layers,
                     units=structure.units, frame=structure.frame, sample_rate=SAMPLE_RATE, oversample=1,
                     epochs=1 + sizes.epochs, train_examples=0, supervised_samples=0,
                     params=lstm_param_count(structure.layers, structure.units))
    rtf = measure_rtf(model, meta, SAMPLE_RATE, sizes.rtf_seconds, sizes.rtf_repeats)
    path = workdir / f"{structure.name}_{kind}" / "model.keras"
    save_model(model, path, meta)
    rtf1 = rtf_single_thread(str(path), sizes.rtf_seconds, repeats=sizes.rtf_repeats)
    return {"structure": structure.name, "kind": kind,
            "params": lstm_param_count(structure.layers, structure.units),
            "MACs/sample": macs_per_sample(structure, kind), "KiB": model_size_kib(path),
            "train examples/s": train_rate, "RTF": rtf, "RTF 1 thread": rtf1}


def _cell(key: str, value) -> str:
    if key in ("params", "MACs/sample"):
        return f"{value:,}"
    if key == "KiB":
        return f"{value:.0f}"
    if key == "train examples/s":
        return f"{value:,.0f}"
    if key.startswith("RTF"):
        return f"{value:.2f}"
    return str(value)


def markdown_table(rows: list[dict]) -> str:
    """Rows as a Markdown table (numbers right-aligned)."""
    right = {"params", "MACs/sample", "KiB", "train examples/s", "RTF", "RTF 1 thread"}
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---:" if c in right else "---" for c in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_cell(c, r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from drywet.kinds import KINDS, check_kind
    from drywet.models import STRUCTURES, get_structure

    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about 2 minutes in all)")
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--structures", nargs="+", default=list(STRUCTURES), metavar="NAME",
                    help=f"default: all ({', '.join(STRUCTURES)})")
    ap.add_argument("--out", default=None, help="also write the Markdown table to this file")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Keras notes that fit's shuffle flag does nothing for a tf.data input; the pipeline shuffles itself.
    warnings.filterwarnings("ignore", message=".*shuffle=True.*was passed")
    from drywet.errors import DrywetError

    try:
        structures = [get_structure(name) for name in args.structures]
        kinds = [check_kind(k) for k in args.kinds]
    except DrywetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sizes = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    header = f"Machine: {machine_line()}"
    dry, wet = training_signal(sizes.signal_seconds)
    rows = []
    with tempfile.TemporaryDirectory(prefix="drywet-bench-") as tmp:
        for structure in structures:
            for kind in kinds:
                row = bench_one(structure, kind, dry, wet, sizes, Path(tmp))
                rows.append(row)
                print(f"  {structure.name:12s} {kind:8s} train {row['train examples/s']:9,.0f}/s  "
                      f"RTF {row['RTF']:6.2f}  RTF 1 thread {row['RTF 1 thread']:6.2f}",
                      file=sys.stderr, flush=True)
    setup = (f"Training: batch 256 frames (framed, {sizes.frames:,} frames/epoch) or 16 segments of 2048 "
             f"with 256 warm-up (sequence, {sizes.segments} segments/epoch); {sizes.epochs} timed epoch(s) "
             f"after 1 warm-up. RTF: `predict` on {sizes.rtf_seconds:g} s at {SAMPLE_RATE} Hz, "
             f"best of {sizes.rtf_repeats}. Total {time.perf_counter() - t0:.0f} s, load average at the end "
             f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}"
             f"{' (--quick)' if args.quick else ''}.")
    text = f"{header}\n\n{setup}\n\n{markdown_table(rows)}\n"
    print(text, end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
