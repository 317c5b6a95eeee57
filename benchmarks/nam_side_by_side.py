"""drywet's capture recipe beside Neural Amp Modeler's own trainer (`nam-full`), each given the same
wall-clock budget on the CPU and scored with the same ESR on the same test part.

    python -m benchmarks.nam_side_by_side run SPLIT... [--seconds 240] [--trainers drywet nam-lstm nam-wavenet]
        [--nam-threads 2] [--work DIR] [--out FILE]
    python -m benchmarks.nam_side_by_side prepare RAW OUT [--latency N]  # align as capture does (or at N), then split
    python -m benchmarks.nam_side_by_side bench EFFECT OUT    # a virtual bench take (params.yaml's bench), then prepare

Run it with `.venv-nam/bin/python` (PyTorch, neural-amp-modeler and drywet's requirements: `make
test-nam`); nothing is downloaded. SPLIT is a split stage folder (train/val/test dry and wet WAVs of
aligned audio); `prepare` makes one from a RAW folder (dry.wav, wet.wav) with the pipeline's own
`align_take` (capture's `highpass_dry: false`) and `split_take` (params.yaml's split).

Each trainer runs in its own process, one after the other (never two at once):

- `drywet`: `--drywet-model` (KIND/STRUCTURE: the one `capture`'s trials chose for the recording;
  default the 1x32 LSTM) with the capture's recipe for its kind (`drywet.trials.capture_recipe`'s
  overrides of params.yaml's `train_sequence`), its cosine schedule laid over the epochs that fit
  the budget. A short timing run (2 epochs of a tenth of the segments, counted
  in the budget and in `train wall s`) measures the pace; `drywet.train.fit` then trains the nearest
  whole number of epochs. It has no time limit of its own, so it ends up to half an epoch either
  side of the budget, more when other jobs change the machine's pace after the timing run.
- `nam-lstm`, `nam-wavenet`: `nam.train.full.main` (what `nam-full` runs) with configs built here
  (NAM_LSTM, NAM_WAVENET, nam_learning_config, nam_data_config), Lightning's `max_time` set to the
  budget, on the CPU with `--nam-threads` PyTorch threads (2; with other jobs on a 2-core machine
  1 is faster, see docs/nam-side-by-side.md). NAM reads the split's train pair for training
  and its val pair for validation (no copies, delay 0: the audio is aligned); the .nam file it
  exports is loaded back with NAM's own `init_from_nam` and run over the test dry in one pass.

Test ESR is `drywet.metrics.esr` over the whole test part for all three (drywet's model through
`drywet.inference.predict`, streaming, as `evaluate` does). `CPU s per audio s` is the calling
thread's CPU time to process 10 s of the test dry, divided by 10 (best of 3, after a warm-up run):
drywet's compiled streaming loop; NAM's PyTorch model in eval mode with torch.set_num_threads(1),
one 10 s call (PyTorch, not NAM's C++ plugin core). `train CPU s` counts every thread of the
trainer's process, the fairer figure when other jobs share the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TRAINERS = ("drywet", "nam-lstm", "nam-wavenet")
DRYWET_MODEL = "sequence/l1_u32_f32"  # the capture's model when its trials are skipped
COLUMNS = ("recording", "trainer / model", "params", "train wall s", "train CPU s", "epochs (best)", "test ESR",
           "CPU s per audio s")
RTF_SECONDS = 10.0

# NAM's LSTM: nam_full_configs/models/lstm.json of neural-amp-modeler (the repository's nam-full
# config; the wheel ships none), as published. In 0.13.0 `mask_first` is parsed but never applied,
# and with `train_truncate: null` `train_burn_in` is not used in training either: each datum is one
# stretch of back-propagation through time from the learned initial state.
NAM_LSTM = {
    "net": {"name": "LSTM", "config": {"num_layers": 3, "hidden_size": 18, "train_burn_in": 8192,
                                       "train_truncate": None}},
    "loss": {"val_loss": "esr", "mask_first": 8192, "pre_emph_mrstft_weight": 0.002, "pre_emph_mrstft_coef": 0.85},
    "optimizer": {"lr": 0.008},
    "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.995}},
}
NAM_LSTM_NY = 32768  # the config's own advice: "For your data, use a long ny like 32768"


def _wavenet_layers(input_size: int, channels: int, head: dict) -> dict:
    return {"input_size": input_size, "condition_size": 1, "channels": channels, "head": head, "kernel_size": 3,
            "dilations": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], "activation": "Tanh"}


# NAM's standard WaveNet: the architecture, learning rate and decay of nam_full_configs/models/
# wavenet.json (the same as the simplified trainer's Architecture.STANDARD up to 0.12), with the
# loss the simplified trainer gave it (validation ESR, pre-emphasised multi-resolution STFT term
# 2e-4 at 0.85); wavenet.json itself has no loss section, i.e. plain MSE chosen by validation MSE.
NAM_WAVENET = {
    "net": {"name": "WaveNet", "config": {
        "layers_configs": [_wavenet_layers(1, 16, {"out_channels": 8, "kernel_size": 1, "bias": False}),
                           _wavenet_layers(16, 8, {"out_channels": 1, "kernel_size": 1, "bias": True})],
        "head_scale": 0.02}},
    "loss": {"val_loss": "esr", "pre_emph_mrstft_weight": 2e-4, "pre_emph_mrstft_coef": 0.85},
    "optimizer": {"lr": 0.004},
    "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.993}},
}
NAM_WAVENET_NY = 8192  # nam_full_configs/data/single_pair.json and the simplified trainer's default
NAM_BATCH = 16  # nam_full_configs/learning/default.json and the simplified trainer's default
NAM_MODELS = {"nam-lstm": (NAM_LSTM, NAM_LSTM_NY), "nam-wavenet": (NAM_WAVENET, NAM_WAVENET_NY)}


def nam_data_config(split: Path, ny: int) -> dict:
    """NAM's data config: the split's train pair to train on, its val pair to validate on (the whole
    part in one datum, as NAM validates), no delay (the audio is aligned)."""
    return {"train": {"x_path": str(split / "train_dry.wav"), "y_path": str(split / "train_wet.wav"), "ny": ny},
            "validation": {"x_path": str(split / "val_dry.wav"), "y_path": str(split / "val_wet.wav"), "ny": None},
            "common": {"delay": 0}}


def nam_learning_config(seconds: float) -> dict:
    """nam_full_configs/learning/default.json on the CPU, stopped by Lightning's max_time (epochs
    unbounded); pin_memory off (no GPU to pin for), no progress bar."""
    return {"train_dataloader": {"batch_size": NAM_BATCH, "shuffle": True, "pin_memory": False, "drop_last": True,
                                 "num_workers": 0},
            "val_dataloader": {},
            "trainer": {"accelerator": "cpu", "devices": 1, "max_epochs": 100_000,
                        "max_time": {"seconds": float(seconds)}, "enable_progress_bar": False,
                        "enable_model_summary": False},
            "trainer_fit_kwargs": {}}


# ---------------------------------------------------------------------------------------------
# Preparing a split folder with the pipeline's own code


def prepare(raw: Path, out: Path, latency: float | None = None) -> dict:
    """Align RAW (dry.wav, wet.wav) as `capture` does (the dry not high-passed), or at `latency`
    samples given by hand (a chain's truth: both trainers then learn from the same, right
    alignment), and split it into OUT (params.yaml's split fractions); returns the alignment
    report, also written as OUT/align.json."""
    from dataclasses import asdict, replace

    from drywet.check import CAPTURE_ALIGN
    from drywet.config import AlignParams, SplitParams, load_section
    from drywet.pipeline.align import align_take
    from drywet.pipeline.contracts import AlignFile
    from drywet.pipeline.split import split_take

    align = replace(load_section(AlignParams), **CAPTURE_ALIGN, **({} if latency is None else {"latency": latency}))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nsbs-aligned-") as tmp:
        report = align_take(raw, Path(tmp), align)
        split_take(Path(tmp), out, load_section(SplitParams))
    AlignFile({".": report}).save(out / "align.json")
    return asdict(report)


def bench(effect: str, out: Path) -> dict:
    """Record `effect` on the virtual bench (params.yaml's bench section), then `prepare` it."""
    from drywet import audio
    from drywet.bench import run_bench
    from drywet.config import BenchParams, load_section

    b = load_section(BenchParams)
    dry, wet, _ = run_bench(effect, b.duration_s, b.sample_rate, b.oversample, b.noise_dbfs, b.seed)
    with tempfile.TemporaryDirectory(prefix="nsbs-raw-") as tmp:
        audio.write_wav(Path(tmp) / "dry.wav", dry, b.sample_rate)
        audio.write_wav(Path(tmp) / "wet.wav", wet, b.sample_rate)
        return prepare(Path(tmp), out)


# ---------------------------------------------------------------------------------------------
# Workers: one trainer in one process


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _best_thread_seconds(fn, repeats: int = 3) -> tuple[float, float]:
    """(best calling-thread CPU s, best wall s) of `fn()` over `repeats` runs."""
    cpu, wall = math.inf, math.inf
    for _ in range(repeats):
        c0, w0 = time.thread_time(), time.perf_counter()
        fn()
        cpu, wall = min(cpu, time.thread_time() - c0), min(wall, time.perf_counter() - w0)
    return cpu, wall


class _EpochClock:
    """Stands in for DVCLive in `drywet.train.fit` (its `live` argument): notes when each epoch ended."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def log_metric(self, name: str, value: float) -> None:
        pass

    def next_step(self) -> None:
        self.ends.append(time.perf_counter())


def run_drywet(split: Path, seconds: float, work: Path, model: str = DRYWET_MODEL) -> dict:
    """Train `model` (`kind/structure`) with the capture's recipe for its kind for about `seconds` of
    wall time; score it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: F401 - imported before the clock starts, as NAM's worker imports its own
    import tensorflow  # noqa: F401

    from benchmarks.split_fit import read_split
    from drywet import metrics, train
    from drywet.config import TrainSequenceParams, load_raw, parse
    from drywet.inference import predict
    from drywet.kinds import get_kind, get_structure
    from drywet.meta import ModelMeta
    from drywet.trials import Candidate, capture_recipe

    data = read_split(split)
    n_train, n_val = len(data.parts["train_dry"]), len(data.parts["val_dry"])
    chosen = Candidate.parse(model)
    kind_name = chosen.kind
    kind = get_kind(kind_name)
    structure = get_structure(chosen.structure, kind_name)
    skip = False
    raw = dict(load_raw().get("train_sequence") or {})
    recipe = capture_recipe(n_train, kind_name)
    raw.update(recipe)

    def datasets(cfg):
        index = kind.make_index(n_train, n_val, structure, cfg)
        return (index, *kind.datasets(data.audio(), index, cfg))

    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    # Timing run: 2 epochs of a tenth of the segments, validation included; the second epoch has no
    # graph tracing in it. A validation segment (forward only) is taken as a third of a training one.
    full = parse(TrainSequenceParams, raw, "train_sequence")
    segments = int(kind.make_index(n_train, n_val, structure, full).train.shape[1])
    k = max(8 * full.batch_size, segments // 10 // full.batch_size * full.batch_size)
    timing = parse(TrainSequenceParams, dict(raw, epochs=2, max_segments=k), "train_sequence")
    index_t, train_ds, val_ds, steps = datasets(timing)
    clock = _EpochClock()
    fit_t0 = time.perf_counter()
    train.fit(structure, kind_name, timing, train_ds, val_ds, steps_per_epoch=steps, skip=skip, live=clock, verbose=0)
    e1, e2 = clock.ends[0] - fit_t0, clock.ends[1] - clock.ends[0]
    n_val_segments = len(index_t.val)
    per_segment = e2 / (index_t.train.shape[1] + n_val_segments / 3)
    epoch_s = per_segment * (segments + n_val_segments / 3)
    overhead = max(0.0, e1 - e2)  # graph tracing, paid again by the real run
    left = seconds - (time.perf_counter() - t0) - overhead
    epochs = max(1, round(left / epoch_s))  # nearest: on long takes one epoch is 10-15 % of the budget

    cfg = parse(TrainSequenceParams, dict(raw, epochs=epochs), "train_sequence")
    index, train_ds, val_ds, steps = datasets(cfg)
    clock = _EpochClock()
    fit_t0 = time.perf_counter()
    result = train.fit(structure, kind_name, cfg, train_ds, val_ds, steps_per_epoch=steps, skip=skip, live=clock,
                       verbose=0)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0

    meta = ModelMeta(effect=data.name, kind=kind_name, structure=structure.name, layers=structure.layers,
                     units=structure.units, frame=structure.frame, sample_rate=data.sample_rate, oversample=1,
                     epochs=result.epochs_run, train_examples=int(index.train.shape[-1]),
                     supervised_samples=int(index.supervised), params=result.model.count_params(),
                     best_epoch=result.best_epoch, skip=skip)
    test_dry = data.parts["test_dry"]
    esr = metrics.esr(data.parts["test_wet"], predict(result.model, meta, test_dry))
    clip = test_dry[: int(RTF_SECONDS * data.sample_rate)]
    predict(result.model, meta, clip[: data.sample_rate])  # compiles (or loads) the streaming loop
    rtf_cpu, rtf_wall = _best_thread_seconds(lambda: predict(result.model, meta, clip))
    return {"trainer": "drywet", "model": f"capture recipe, {chosen.label}",
            "params": int(result.model.count_params()), "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1),
            "epochs": result.epochs_run, "best_epoch": result.best_epoch, "test_esr": esr,
            "cpu_s_per_audio_s": rtf_cpu / (len(clip) / data.sample_rate),
            "wall_s_per_audio_s": rtf_wall / (len(clip) / data.sample_rate),
            "recipe": {key: (list(v) if isinstance(v, tuple) else v) for key, v in sorted(vars(cfg).items())},
            "capture_recipe_epochs": recipe["epochs"],
            "timing_run": {"segments": int(index_t.train.shape[1]), "epoch1_s": round(e1, 2), "epoch2_s": round(e2, 2),
                           "estimated_epoch_s": round(epoch_s, 2), "segments_per_epoch": segments},
            "main_run": {"first_epoch_s": round(clock.ends[0] - fit_t0, 2),
                         "later_epochs_mean_s": round(float(np.mean(np.diff(clock.ends))), 2) if len(clock.ends) > 1
                         else None}}


def _nam_epochs(outdir: Path, steps_per_epoch: int) -> tuple[float | None, int | None]:
    """(epochs trained, counting a cut-short last one as its fraction; best epoch, 1-based) from the
    checkpoints Lightning left in `outdir`."""
    import re

    import torch

    ckpts = sorted(outdir.glob("lightning_logs/version_*/checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)
    epochs = None
    if ckpts:
        state = torch.load(ckpts[-1], map_location="cpu", weights_only=False)
        epochs = state["global_step"] / steps_per_epoch
    best, best_epoch = math.inf, None
    for p in ckpts:
        m = re.match(r"epoch=(\d+)_step=\d+_ESR=([0-9.eE+-]+)_", p.name)
        if m and float(m.group(2)) < best:
            best, best_epoch = float(m.group(2)), int(m.group(1)) + 1
    return epochs, best_epoch


def run_nam(which: str, split: Path, seconds: float, work: Path, threads: int = 2) -> dict:
    """Train NAM's `which` model with `nam.train.full.main` for `seconds` (Lightning's max_time) on
    `threads` PyTorch threads; score it."""
    import copy
    import warnings

    import torch

    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Lightning's TensorBoard logger imports TensorFlow on first use (about 2.5 s here): import it
    # before the clock starts, as drywet's worker does.
    import tensorflow  # noqa: F401
    from nam.models._from_nam import init_from_nam
    from nam.train.full import main as nam_full

    from benchmarks.split_fit import read_split
    from drywet import metrics

    model_config, ny = NAM_MODELS[which]
    model_config = copy.deepcopy(model_config)
    data = read_split(split)
    outdir = work / f"{split.name}-{which}"
    outdir.mkdir(parents=True, exist_ok=False)
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    nam_full(nam_data_config(split, ny), model_config, nam_learning_config(seconds), outdir, no_show=True,
             make_plots=False)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0

    net = init_from_nam(json.loads((outdir / "model.nam").read_text()))
    net.eval()
    nx = int(net.receptive_field)
    steps_per_epoch = ((len(data.parts["train_dry"]) - nx + 1) // ny) // NAM_BATCH
    epochs, best_epoch = _nam_epochs(outdir, steps_per_epoch)
    test_dry = data.parts["test_dry"]
    with torch.no_grad():
        pred = net(torch.from_numpy(np.ascontiguousarray(test_dry))).numpy()
    esr = metrics.esr(data.parts["test_wet"], pred)
    torch.set_num_threads(1)
    clip = torch.from_numpy(np.ascontiguousarray(test_dry[: int(RTF_SECONDS * data.sample_rate)]))

    def run_clip():
        with torch.no_grad():
            net(clip)

    run_clip()
    rtf_cpu, rtf_wall = _best_thread_seconds(run_clip)
    arch = model_config["net"]["config"]
    name = (f"NAM LSTM {arch['num_layers']}x{arch['hidden_size']}" if which == "nam-lstm"
            else "NAM WaveNet standard (16/8 ch, 2x10 layers)") + f", {threads} thread{'s' if threads > 1 else ''}"
    return {"trainer": which, "model": name, "params": int(sum(p.numel() for p in net.parameters())),
            "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1),
            "epochs": None if epochs is None else round(epochs, 2), "best_epoch": best_epoch, "test_esr": esr,
            "cpu_s_per_audio_s": rtf_cpu / (len(clip) / data.sample_rate),
            "wall_s_per_audio_s": rtf_wall / (len(clip) / data.sample_rate), "receptive_field": nx,
            "steps_per_epoch": steps_per_epoch, "threads": threads, "model_config": model_config, "ny": ny,
            "learning_config": nam_learning_config(seconds)}


def worker(trainer: str, split: Path, seconds: float, work: Path, result: Path, nam_threads: int = 2,
           drywet_model: str = DRYWET_MODEL) -> None:
    load0 = os.getloadavg()
    row = (run_drywet(split, seconds, work, drywet_model) if trainer == "drywet"
           else run_nam(trainer, split, seconds, work, nam_threads))
    row.update({"recording": split.name, "budget_s": seconds, "load_start": [round(v, 2) for v in load0],
                "load_end": [round(v, 2) for v in os.getloadavg()]})
    result.write_text(json.dumps(row, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------------------
# The table


def _cells(row: dict) -> dict:
    epochs = row["epochs"]
    epochs_txt = "–" if epochs is None else (f"{epochs:g}" if isinstance(epochs, int) else f"{epochs:.1f}")
    if row.get("best_epoch") is not None:
        epochs_txt += f" ({row['best_epoch']})"
    return {"recording": row["recording"], "trainer / model": f"{row['trainer']}: {row['model']}",
            "params": f"{row['params']:,}", "train wall s": f"{row['train_wall_s']:.0f}",
            "train CPU s": f"{row['train_cpu_s']:.0f}", "epochs (best)": epochs_txt,
            "test ESR": f"{row['test_esr']:.5f}", "CPU s per audio s": f"{row['cpu_s_per_audio_s']:.4f}"}


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|---|" + "---:|" * (len(COLUMNS) - 2)]
    lines += ["| " + " | ".join(_cells(r)[c] for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def run(splits: list[Path], trainers: list[str], seconds: float, work: Path, out: Path | None,
        nam_threads: int = 2, drywet_model: str = DRYWET_MODEL) -> int:
    rows = []
    work.mkdir(parents=True, exist_ok=True)
    for split in splits:
        for trainer in trainers:
            result = work / f"{split.name}-{trainer}.json"
            result.unlink(missing_ok=True)
            t0 = time.perf_counter()
            print(f"{split.name}: training {trainer} for {seconds:g} s", file=sys.stderr, flush=True)
            proc = subprocess.run([sys.executable, "-m", "benchmarks.nam_side_by_side", "worker", trainer, str(split),
                                   "--seconds", str(seconds), "--work", str(work), "--result", str(result),
                                   "--nam-threads", str(nam_threads), "--drywet-model", drywet_model])
            if proc.returncode != 0 or not result.is_file():
                print(f"{split.name}: {trainer} failed (exit {proc.returncode})", file=sys.stderr, flush=True)
                continue
            row = json.loads(result.read_text())
            rows.append(row)
            print(f"  {trainer}: test ESR {row['test_esr']:.5f}, {row['train_wall_s']} s training, "
                  f"{time.perf_counter() - t0:.0f} s in all", file=sys.stderr, flush=True)
            if out is not None:  # rows so far, in case a later one is cut short
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    print(markdown_table(rows))
    return 0 if len(rows) == len(splits) * len(trainers) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.nam_side_by_side", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train and score each trainer on each split")
    r.add_argument("splits", nargs="+", type=Path, help="split folders (train/val/test dry and wet WAVs)")
    r.add_argument("--seconds", type=float, default=240.0, help="wall-clock training budget per trainer (s)")
    r.add_argument("--trainers", nargs="+", choices=TRAINERS, default=list(TRAINERS))
    r.add_argument("--work", type=Path, default=None, help="folder for NAM's outputs (default: a new temp folder)")
    r.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    r.add_argument("--nam-threads", type=int, default=2, help="PyTorch threads for NAM's training (default 2)")
    r.add_argument("--drywet-model", default=DRYWET_MODEL, metavar="KIND/STRUCTURE",
                   help="the model drywet trains, with the capture's recipe for its kind (default: %(default)s; "
                        "give the one `capture`'s trials chose for the recording)")
    p = sub.add_parser("prepare", help="align (dry not high-passed) and split a RAW folder into OUT")
    p.add_argument("raw", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--latency", type=float, default=None, help="samples, by hand (default: found as capture does)")
    b = sub.add_parser("bench", help="record a bench effect (params.yaml's bench), align and split it into OUT")
    b.add_argument("effect")
    b.add_argument("out", type=Path)
    w = sub.add_parser("worker", help=argparse.SUPPRESS)
    w.add_argument("trainer", choices=TRAINERS)
    w.add_argument("split", type=Path)
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("--work", type=Path, required=True)
    w.add_argument("--result", type=Path, required=True)
    w.add_argument("--nam-threads", type=int, default=2)
    w.add_argument("--drywet-model", default=DRYWET_MODEL)
    args = ap.parse_args(argv)
    if args.command == "run":
        work = args.work or Path(tempfile.mkdtemp(prefix="nam-side-by-side-"))
        return run(args.splits, args.trainers, args.seconds, work, args.out, args.nam_threads, args.drywet_model)
    if args.command == "prepare":
        report = prepare(args.raw, args.out, args.latency)
    elif args.command == "bench":
        report = bench(args.effect, args.out)
    else:
        worker(args.trainer, args.split, args.seconds, args.work, args.result, args.nam_threads, args.drywet_model)
        return 0
    print(f"{args.out}: latency {report['latency_samples']} samples, polarity {report['polarity']:+d}, "
          f"{report['aligned_seconds']} s aligned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
