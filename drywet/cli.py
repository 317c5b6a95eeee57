"""`python -m drywet ...`: run a trained model over a WAV file, or export it to a plugin's model file."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from drywet.errors import InputError, run_main
from drywet.params import GEAR_TYPES, TONE_TYPES

PROGRESS_MIN_SECONDS = 10.0  # shorter files finish too fast for a progress bar to help
STREAM_BLOCK = 1 << 16  # samples read, streamed and written at a time by `process` (1.5 s at 44.1 kHz)

_DESCRIPTION = """\
Use a model trained by the drywet pipeline.

  process     run the model over a dry WAV and write the wet WAV (float, at the input's rate)
  export      write a sequence model as a plugin's model file: --format nam (Neural Amp Modeler),
              aidax (RTNeural / AIDA-X JSON) or proteus (GuitarML Proteus / NeuralPi JSON)
  export-nam  the same as `export --format nam`
  check       say whether a dry/wet WAV pair is fit to train on (seconds; no training)
  capture     a dry/wet WAV pair to plugin files in one command: check, copy under data/recordings/,
              name the effect in params.yaml, train it as a DVC experiment, export, summarise
  listen-score  score the answers saved from the blind ABX page (plots/listen.html)

MODEL is a .keras file with its metadata (model.json) beside it, or a folder holding both
(e.g. models/sd1).
"""


def _recording_pair(p: argparse.ArgumentParser) -> None:
    """DRY.wav, WET.wav and --channel: the arguments of the commands that take a recording pair."""
    p.add_argument("dry", metavar="DRY.wav", help="dry recording: the DI signal that went into the gear (mono, or "
                                                 "pick one channel with --channel)")
    p.add_argument("wet", metavar="WET.wav", help="wet recording of the same take: the gear's output")
    p.add_argument("--channel", type=int, default=None, metavar="N", help="use channel N (0-based) of both files")


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
            e.add_argument("--format", required=True, metavar="FORMAT",
                           help="nam: Neural Amp Modeler; aidax: RTNeural / AIDA-X JSON; "
                                "proteus: GuitarML Proteus JSON (40 units); neuralpi: the same for NeuralPi "
                                "(20 units); another name is refused with the list of valid ones. Narrower "
                                "models are padded to the plugin's width (same output)")
        e.add_argument("model", metavar="MODEL", help="model .keras file, or a folder holding model.keras")
        e.add_argument("output", metavar="OUT", help="file to write (.nam, .json or .aidax)")
        e.add_argument("--name", default=None, help="display name (default: drywet <effect> <structure>)")
        e.add_argument("--tone-type", default=None,
                       choices=TONE_TYPES,
                       help="how the model sounds, for NAM players' browsers (nam only)")
    c = sub.add_parser("check", help="say whether a dry/wet WAV pair is fit to train on",
                       description="Measure a dry/wet recording pair (latency, polarity, alignment clarity, "
                                   "DC, clipping, levels, noise floor, repeatability) and say whether it is fit "
                                   "to train on. Exit status 0: OK to train; 1: not OK (the report says why); "
                                   "2: unusable input.")
    _recording_pair(c)
    c.add_argument("--max-latency-ms", type=float, default=50.0, metavar="MS",
                   help="latency search range, both directions (default: 50, as align.max_latency_ms)")
    c.add_argument("--json", action="store_true", help="print the report as JSON (keys sorted)")
    k = sub.add_parser("capture", help="train a playable model of your pedal or amp from two WAVs",
                       description="Check a dry/wet pair, copy it to data/recordings/NAME/ (tracked with dvc "
                                   "add), name the effect NAME in params.yaml with the playable recipe (a 1x32 "
                                   "sequence LSTM fed the dry as a plugin feeds it), run only that effect up to "
                                   "its plugin files as a DVC experiment (dvc exp run export@NAME), and print "
                                   "the verdict, the files and which plugin loads each.")
    k.add_argument("name", metavar="NAME", help="effect name: letters, digits, _ and - (a folder and a stage key)")
    _recording_pair(k)
    k.add_argument("--epochs", type=int, default=None, metavar="N",
                   help="training epochs (default: as many as fit about 5 minutes of training here)")
    k.add_argument("--model", default=None, metavar="KIND/STRUCTURE",
                   help="train this model, no trials (e.g. wavenet/standard, sequence/l1_u64_f32); default: the "
                        "best of short trials of LSTMs and WaveNets on your recording")
    k.add_argument("--minutes", type=float, default=None, metavar="M",
                   help="the whole command's time budget the trials size the training to (default: 10)")
    k.add_argument("--trial-seconds", type=float, default=None, metavar="S",
                   help="each trial's training time (default: 40)")
    k.add_argument("--no-check", action="store_true", help="train even when `check` finds the pair unfit")
    k.add_argument("--no-run", action="store_true",
                   help="only place the recordings and name the effect; print the command that trains it")
    for opt, kw in (("--gear-type", {"choices": GEAR_TYPES}), ("--gear-make", {}), ("--gear-model", {}),
                    ("--tone-type", {"choices": TONE_TYPES}),
                    ("--modeled-by", {}), ("--input-level-dbu", {"type": float}),
                    ("--output-level-dbu", {"type": float})):
        k.add_argument(opt, default=None, help="plugin-file metadata (gear.NAME in params.yaml)", **kw)
    s = sub.add_parser("listen-score", help="score the answers saved from the blind ABX page (plots/listen.html)",
                       description="Check the answers saved from plots/listen.html against the key the report "
                                   "stage kept beside it and write, per effect and overall, the trials answered, "
                                   "the correct ones and the one-sided binomial p-value of doing as well by "
                                   "guessing.")
    s.add_argument("answers", metavar="ANSWERS.json", help="the file the page's Save answers downloaded")
    s.add_argument("--key", default="data/listen_key.json", help="the page's key (default: %(default)s)")
    s.add_argument("--out", default="metrics/listening.json", help="scores to write (default: %(default)s)")
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
    from drywet.audio import read_wav, wav_info, write_wav
    from drywet.keras_file import LayoutError, model_file, read_sequence_weights
    from drywet.knobs import knob_values
    from drywet.meta import ModelMeta

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1 (got {args.batch_size})")
    knobs = _knobs(args.knob)
    if not Path(args.model).exists():
        raise InputError(f"{args.model}: model not found (expected a .keras file or a folder holding model.keras)")
    path = model_file(args.model)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    meta = ModelMeta.load(path.parent)
    model = None
    if meta.kind == "sequence":  # read without TensorFlow: start-up in about a second, not several
        try:
            model = read_sequence_weights(path, meta)
        except LayoutError:  # not drywet's layout as this reader knows it: Keras reads it (or says why not)
            model = None
    if model is None:
        model, meta = _load(args.model)
    values = knob_values(meta, knobs)  # a missing or unknown knob stops here, before any audio is read
    frames, sr = wav_info(args.input, args.channel)
    if frames == 0:
        raise InputError(f"{args.input}: contains no samples")
    model_sr = int(meta.sample_rate)
    if sr != model_sr and not args.resample:
        raise InputError(f"{args.input}: sample rate {sr} Hz differs from the model's {model_sr} Hz "
                         "(resample the file, or pass --resample)")
    progress = not args.no_progress and sys.stderr.isatty() and frames >= PROGRESS_MIN_SECONDS * sr
    stream = _file_stream(model, meta, values) if sr == model_sr and meta.oversample == 1 else None
    if stream is not None:
        # a sequence model or WaveNet at its own rate streams the file block by block, like a plugin: the
        # state (and the high-pass's) carried across blocks, one block in memory, 100x real time and more
        t0 = time.perf_counter()
        _stream_file(stream, meta, args, frames, sr, progress)
        _done(args.output, frames, sr, time.perf_counter() - t0)
        return 0
    from drywet.inference import predict

    t0 = time.perf_counter()
    x, sr = read_wav(args.input, args.channel)
    dry = _resample(x, sr, model_sr) if sr != model_sr else x
    if meta.highpass_hz:  # the clean-up the training audio had (DC and sub-sonic drift removed)
        from drywet.align import highpass

        dry = highpass(dry, model_sr, meta.highpass_hz)
    wet = predict(model, meta, dry, batch_size=args.batch_size, progress=progress, knobs=knobs)
    if sr != model_sr:
        wet = _resample(wet, model_sr, sr)
        wet = np.pad(wet, (0, max(0, x.size - wet.size)))[:x.size]
    _write(args.output, lambda: write_wav(args.output, wet, sr))
    _done(args.output, x.size, sr, time.perf_counter() - t0)
    return 0


def _done(output: str, frames: int, sr: int, seconds: float) -> None:
    """The one line `process` ends with: what it wrote, how long, how fast (model loading not counted)."""
    audio_s = frames / sr
    speed = audio_s / max(seconds, 1e-9)
    print(f"wrote {output}: {audio_s:.1f} s of audio in {seconds:.1f} s ({speed:.0f}x real time)", flush=True)


def _file_stream(model, meta, knobs: list[float]):
    """A stream (`process(block)` carrying its state) for a sequence model's weights or a Keras model
    of a kind that plays in plugins (its `playable` weights); None for a framed model."""
    from drywet.stream import SequenceStream, SequenceWeights

    if isinstance(model, SequenceWeights):
        return SequenceStream(model, knobs)
    from drywet.kinds import playable, plays_in_plugins

    if not plays_in_plugins(meta.kind):
        return None
    weights = playable(model, meta)
    if isinstance(weights, SequenceWeights):
        return SequenceStream(weights, knobs)
    from drywet.kinds.wavenet import settled_stream

    return settled_stream(weights)


def _stream_file(stream, meta, args, frames: int, sr: int, progress: bool) -> None:
    """`process` for a model streamed at the file's rate: blocks read, high-passed and streamed with
    their state carried, and written as they come (the same output as the whole file at once)."""
    from drywet import show_progress
    from drywet.audio import read_wav_blocks, write_wav_blocks
    from drywet.highpass import HighpassStream

    clean = HighpassStream(sr, meta.highpass_hz) if meta.highpass_hz else None

    def wet():
        done = 0
        for block in read_wav_blocks(args.input, args.channel, STREAM_BLOCK):
            yield stream.process(clean.process(block) if clean else block)
            done += block.size
            show_progress(done, frames, progress)
        if done != frames:
            raise InputError(f"{args.input}: its header announces {frames} samples but {done} could be read")

    _write(args.output, lambda: write_wav_blocks(args.output, wet(), frames, sr))


def _write(output: str, write) -> None:
    try:
        write()
    except (OSError, RuntimeError) as exc:  # soundfile reports write failures as RuntimeError
        raise InputError(f"{output}: cannot write ({exc})") from None


def _export(args) -> int:
    from drywet.export import export_model, get_format, model_rate, save_json
    from drywet.export.plugins import notes, refusal
    from drywet.stream import SequenceWeights

    fmt = getattr(args, "format", None) or "nam"
    form = get_format(fmt)  # an unknown name stops here, before the model is loaded
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
    data = form.finish(data)  # .nam: loudness and gain, as NAM's trainer writes them
    try:
        save_json(data, args.output)
    except OSError as exc:
        raise InputError(f"{args.output}: cannot write ({exc})") from None
    layers, units = meta.layers, meta.units
    print(f"wrote {args.output} ({fmt}: {layers} x LSTM({units}), {meta.inputs} input(s), "
          f"{'skip, ' if meta.skip else ''}{rate} Hz)")
    weights = SequenceWeights.from_keras(model, meta)
    for plugin in form.plugins:
        reason = refusal(plugin, weights, rate)
        print(f"note: no released plugin plays it: {reason}" if reason else f"loads in {plugin.name}")
        for note in [] if reason else notes(plugin, weights, rate):
            print(f"note: {note}")
    if meta.highpass_hz:
        print(f"note: the model expects its input high-passed at {meta.highpass_hz:g} Hz; the file does not "
              "carry that filter")
    return 0


def _check(args) -> int:
    """`check`: print the report; 0 when OK to train, 1 when not (no TensorFlow is imported)."""
    from drywet.audio import read_wav
    from drywet.check import check_pair, render, report_json

    if not (args.max_latency_ms > 0 and math.isfinite(args.max_latency_ms)):
        raise InputError(f"--max-latency-ms must be a positive number (got {args.max_latency_ms:g})")
    try:
        dry, sr = read_wav(args.dry, args.channel)
        wet, sr_wet = read_wav(args.wet, args.channel)
    except InputError as exc:  # the stage's wording names a params key; here it is an option
        raise InputError(str(exc).replace("set the effect's 'channel' param", "pick one with --channel N")) from None
    report = check_pair(dry, wet, sr, wet_sr=sr_wet, max_latency_ms=args.max_latency_ms,
                        dry_name=args.dry, wet_name=args.wet)
    print(report_json(report) if args.json else render(report, args.dry, args.wet))
    return 0 if report.ok else 1


def _capture(args) -> int:
    from drywet.workflow import capture

    gear = {"gear_type": args.gear_type, "gear_make": args.gear_make, "gear_model": args.gear_model,
            "tone_type": args.tone_type, "modeled_by": args.modeled_by, "input_level_dbu": args.input_level_dbu,
            "output_level_dbu": args.output_level_dbu}
    return capture(args.name, args.dry, args.wet, channel=args.channel, epochs=args.epochs, model=args.model,
                   **({} if args.minutes is None else {"minutes": args.minutes}),
                   **({} if args.trial_seconds is None else {"trial_seconds": args.trial_seconds}), gear=gear,
                   check=not args.no_check, run=not args.no_run)


def _listen_score(args) -> int:
    """`listen-score`: answers + key -> metrics/listening.json and a short summary (no TensorFlow)."""
    import json

    from drywet.fileio import write_json
    from drywet.listen import score

    def read(path: str, what: str) -> object:
        try:
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: {what} not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a readable JSON {what} ({exc})") from None

    key = read(args.key, "listening-test key (run the report stage)")
    result = score(read(args.answers, "answers file"), key, args.answers, args.key)
    write_json(args.out, result)
    for name, s in [*result["effects"].items(), ("overall", result["overall"])]:
        print(f"{name}: {s['correct']} of {s['trials']} correct, p = {s['p_value']:.4g}"
              + (f" ({s['unanswered']} unanswered)" if s["unanswered"] else ""))
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv`, run the command; a DrywetError prints one `error:` line and returns 2
    (SIGINT/SIGTERM: 128 + the signal number)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet
    args = _parser().parse_args(argv)
    if args.command == "check":
        return run_main(lambda: _check(args))
    if args.command == "capture":
        return run_main(lambda: _capture(args))
    if args.command == "listen-score":
        return run_main(lambda: _listen_score(args))
    return run_main(lambda: _process(args) if args.command == "process" else _export(args))
