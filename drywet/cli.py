"""`python -m drywet ...`: run a trained model over a WAV file, or export it to a `.nam` file."""

from __future__ import annotations

import argparse
import math
import os
import sys
from datetime import datetime
from pathlib import Path

import numpy as np

from drywet.errors import DrywetError, InputError

PROGRESS_MIN_SECONDS = 10.0  # shorter files finish too fast for a progress bar to help

_DESCRIPTION = """\
Use a model trained by the drywet pipeline.

  process     run the model over a dry WAV and write the wet WAV (float, at the input's rate)
  export-nam  write a sequence model as a Neural Amp Modeler .nam file

MODEL is a .keras file with its metadata (model.json) beside it, or a folder holding both
(e.g. models/sd1).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m drywet", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("process", help="process a dry WAV with a trained model",
                       description="Run a trained model over a dry WAV and write the wet WAV as float "
                                   "samples at the input's sample rate.")
    p.add_argument("model", metavar="MODEL", help="model .keras file, or a folder holding model.keras")
    p.add_argument("input", metavar="IN.wav", help="dry input WAV (mono, or pick one with --channel)")
    p.add_argument("output", metavar="OUT.wav", help="wet output WAV to write")
    p.add_argument("--channel", type=int, default=None, metavar="N",
                   help="use channel N (0-based) of a multi-channel input")
    p.add_argument("--resample", action="store_true",
                   help="if the input's sample rate differs from the model's, resample to the model's "
                        "rate, process, and resample back (otherwise that is an error)")
    p.add_argument("--batch-size", type=int, default=8192, metavar="N",
                   help="frames per prediction batch for framed models (default: 8192)")
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")

    e = sub.add_parser("export-nam", help="export a sequence model to a .nam file",
                       description="Write a sequence model (stacked LSTM + Dense) as a Neural Amp "
                                   "Modeler .nam file. Framed models cannot be exported.")
    e.add_argument("model", metavar="MODEL", help="model .keras file, or a folder holding model.keras")
    e.add_argument("output", metavar="OUT.nam", help=".nam file to write")
    e.add_argument("--name", default=None, help="display name (default: drywet <effect> <structure>)")
    e.add_argument("--tone-type", default=None,
                   choices=("clean", "overdrive", "crunch", "hi_gain", "fuzz"),
                   help="how the model sounds, for NAM players' browsers")
    return parser


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with stderr (fd 2) muted: its C++ start-up lines are printed before its
    logging can be configured, and would bury this tool's own one-line messages."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _load(path: str):
    """Load a model and its metadata; metadata problems are InputErrors naming the file."""
    from drywet.inference import load_model

    if not Path(path).exists():
        raise InputError(f"{path}: model not found (expected a .keras file or a folder holding model.keras)")
    _import_tensorflow_quietly()
    try:
        model, meta = load_model(path)
    except ValueError as exc:  # a model.json that is not JSON
        raise InputError(f"{path}: unreadable model metadata ({exc})") from None
    missing = [k for k in ("kind", "sample_rate") if k not in meta]
    if meta.get("kind") == "framed" and "frame" not in meta:
        missing.append("frame")
    if missing:
        raise InputError(f"{path}: model metadata lacks {', '.join(missing)}")
    return model, meta


def _resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling by the exact rational factor sr_to / sr_from."""
    from scipy.signal import resample_poly

    g = math.gcd(sr_from, sr_to)
    return resample_poly(x, sr_to // g, sr_from // g).astype(np.float32)


def _process(args) -> int:
    from drywet.audio import read_wav, write_wav
    from drywet.inference import predict

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1 (got {args.batch_size})")
    model, meta = _load(args.model)
    x, sr = read_wav(args.input, args.channel)
    if x.size == 0:
        raise InputError(f"{args.input}: contains no samples")
    model_sr = int(meta["sample_rate"])
    if sr != model_sr and not args.resample:
        raise InputError(f"{args.input}: sample rate {sr} Hz differs from the model's {model_sr} Hz "
                         "(resample the file, or pass --resample)")
    dry = _resample(x, sr, model_sr) if sr != model_sr else x
    progress = (not args.no_progress and sys.stderr.isatty()
                and dry.size >= PROGRESS_MIN_SECONDS * model_sr)
    wet = predict(model, meta, dry, batch_size=args.batch_size, progress=progress)
    if sr != model_sr:
        wet = _resample(wet, model_sr, sr)
        wet = np.pad(wet, (0, max(0, x.size - wet.size)))[:x.size]
    try:
        write_wav(args.output, wet, sr)
    except (OSError, RuntimeError) as exc:  # soundfile reports write failures as RuntimeError
        raise InputError(f"{args.output}: cannot write ({exc})") from None
    return 0


def _export_nam(args) -> int:
    from drywet.export import save_nam, to_nam

    model, meta = _load(args.model)
    effect, structure = meta.get("effect"), meta.get("structure")
    name = args.name or " ".join(str(s) for s in ("drywet", effect, structure) if s)
    now = datetime.now()
    metadata = {
        "name": name, "modeled_by": "drywet", "gear_type": "pedal", "tone_type": args.tone_type,
        "date": {"year": now.year, "month": now.month, "day": now.day,
                 "hour": now.hour, "minute": now.minute, "second": now.second},
        "effect": effect, "structure": structure,
        # the training run's own record (kind, epochs, examples, ...), kept apart from NAM's fields
        "drywet": dict(meta),
    }
    nam = to_nam(model, int(meta["sample_rate"]), metadata)
    try:
        save_nam(nam, args.output)
    except OSError as exc:
        raise InputError(f"{args.output}: cannot write ({exc})") from None
    print(f"wrote {args.output} ({nam['config']['num_layers']} x LSTM({nam['config']['hidden_size']}), "
          f"{len(nam['weights'])} weights, {nam['sample_rate']} Hz)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv`, run the command; a DrywetError prints one line and returns 2."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet
    args = _parser().parse_args(argv)
    try:
        if args.command == "process":
            return _process(args)
        return _export_nam(args)
    except DrywetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
