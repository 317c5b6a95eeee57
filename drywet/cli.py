"""`python -m drywet ...`: run a trained model over a WAV file, or export it to a plugin's model file."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

from drywet.errors import InputError, run_main

PROGRESS_MIN_SECONDS = 10.0  # shorter files finish too fast for a progress bar to help

_DESCRIPTION = """\
Use a model trained by the drywet pipeline.

  process     run the model over a dry WAV and write the wet WAV (float, at the input's rate)
  export      write a sequence model as a plugin's model file: --format nam (Neural Amp Modeler),
              aidax (RTNeural / AIDA-X JSON) or proteus (GuitarML Proteus / NeuralPi JSON)
  export-nam  the same as `export --format nam`

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
    p.add_argument("--knob", action="append", default=[], metavar="NAME=VALUE",
                   help="a knob model's setting (0 to 1), once per knob")
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")

    for command in ("export", "export-nam"):
        nam_only = command == "export-nam"
        e = sub.add_parser(command, help="export a sequence model to a .nam file" if nam_only
                           else "export a sequence model to a plugin's model file",
                           description="Write a sequence model (stacked LSTM + Dense) as a plugin's model "
                                       "file. Framed models cannot be exported; each format's other "
                                       "limits are refused with the setting to train with.")
        if not nam_only:
            e.add_argument("--format", required=True, choices=("nam", "aidax", "proteus"),
                           help="nam: Neural Amp Modeler; aidax: RTNeural / AIDA-X JSON; "
                                "proteus: GuitarML Proteus / NeuralPi JSON")
        e.add_argument("model", metavar="MODEL", help="model .keras file, or a folder holding model.keras")
        e.add_argument("output", metavar="OUT", help="file to write (.nam, .json or .aidax)")
        e.add_argument("--name", default=None, help="display name (default: drywet <effect> <structure>)")
        e.add_argument("--tone-type", default=None,
                       choices=("clean", "overdrive", "crunch", "hi_gain", "fuzz"),
                       help="how the model sounds, for NAM players' browsers (nam only)")
    return parser


def _load(path: str):
    """Load a model and its ModelMeta; problems are InputErrors naming the file."""
    from drywet import quiet_tensorflow
    from drywet.inference import load_model

    if not Path(path).exists():
        raise InputError(f"{path}: model not found (expected a .keras file or a folder holding model.keras)")
    quiet_tensorflow()
    return load_model(path)


def _knobs(pairs: list[str]) -> dict[str, float]:
    """--knob NAME=VALUE options as a dict; InputError for a malformed one or a value outside 0-1."""
    knobs = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            number = float(value) if sep and name else None
        except ValueError:
            number = None
        if number is None or not 0.0 <= number <= 1.0:
            raise InputError(f"--knob {pair}: expected NAME=VALUE with a value from 0 to 1")
        knobs[name] = number
    return knobs


def _resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling by the exact rational factor sr_to / sr_from."""
    from scipy.signal import resample_poly

    g = math.gcd(sr_from, sr_to)
    return resample_poly(x, sr_to // g, sr_from // g).astype(np.float32)


def _process(args) -> int:
    from drywet.audio import read_wav, write_wav
    from drywet.inference import predict
    from drywet.stream import knob_values

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1 (got {args.batch_size})")
    knobs = _knobs(args.knob)
    model, meta = _load(args.model)
    knob_values(meta, knobs)  # a missing or unknown knob stops here, before any audio is read
    x, sr = read_wav(args.input, args.channel)
    if x.size == 0:
        raise InputError(f"{args.input}: contains no samples")
    model_sr = int(meta.sample_rate)
    if sr != model_sr and not args.resample:
        raise InputError(f"{args.input}: sample rate {sr} Hz differs from the model's {model_sr} Hz "
                         "(resample the file, or pass --resample)")
    dry = _resample(x, sr, model_sr) if sr != model_sr else x
    if meta.highpass_hz:  # the clean-up the training audio had (DC and sub-sonic drift removed)
        from drywet.align import highpass

        dry = highpass(dry, model_sr, meta.highpass_hz)
    progress = (not args.no_progress and sys.stderr.isatty()
                and dry.size >= PROGRESS_MIN_SECONDS * model_sr)
    # a sequence model streams exactly (state carried throughout), compiled: 60-300x real time on one thread
    wet = predict(model, meta, dry, batch_size=args.batch_size, progress=progress, knobs=knobs)
    if sr != model_sr:
        wet = _resample(wet, model_sr, sr)
        wet = np.pad(wet, (0, max(0, x.size - wet.size)))[:x.size]
    try:
        write_wav(args.output, wet, sr)
    except (OSError, RuntimeError) as exc:  # soundfile reports write failures as RuntimeError
        raise InputError(f"{args.output}: cannot write ({exc})") from None
    return 0


def _export(args) -> int:
    from drywet.export import export_model, format_notes, model_rate, save_json

    fmt = getattr(args, "format", None) or "nam"
    if fmt != "nam" and args.tone_type:
        raise InputError("--tone-type applies to --format nam only")
    model, meta = _load(args.model)
    name = args.name or " ".join(str(s) for s in ("drywet", meta.effect, meta.structure) if s)
    # the training run's own record (kind, epochs, knobs, ...), kept apart from the format's fields
    metadata = {"name": name, "effect": meta.effect, "structure": meta.structure, "drywet": meta.to_dict()}
    if fmt == "nam":
        metadata.update({"modeled_by": "drywet", "gear_type": "pedal", "tone_type": args.tone_type})
    rate = model_rate(meta)
    data = export_model(model, fmt, rate, metadata, meta)
    try:
        save_json(data, args.output)
    except OSError as exc:
        raise InputError(f"{args.output}: cannot write ({exc})") from None
    layers, units = meta.layers, meta.units
    print(f"wrote {args.output} ({fmt}: {layers} x LSTM({units}), {meta.inputs} input(s), "
          f"{'skip, ' if meta.skip else ''}{rate} Hz)")
    for note in format_notes(fmt, data):
        print(f"note: {note}")
    if meta.highpass_hz:
        print(f"note: the model expects its input high-passed at {meta.highpass_hz:g} Hz; the file does not "
              "carry that filter")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv`, run the command; a DrywetError prints one `error:` line and returns 2
    (SIGINT/SIGTERM: 128 + the signal number)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet
    args = _parser().parse_args(argv)
    return run_main(lambda: _process(args) if args.command == "process" else _export(args))
