"""`python -m drywet process MODEL IN.wav OUT.wav`: a trained model run over a dry WAV, the wet WAV
written as float samples at the input's rate. A sequence model or WaveNet at the file's rate streams
the file block by block, like a plugin (its weights read without TensorFlow); other models predict the
whole file at once."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from drywet.app.model_file import load
from drywet.errors import InputError
from drywet.progress import Progress

PROGRESS_MIN_SECONDS = 10.0  # shorter files finish too fast for a progress bar to help
STREAM_BLOCK = 1 << 16  # samples read, streamed and written at a time by `process` (1.5 s at 44.1 kHz)


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


def run(args) -> int:
    """`process`: the dry WAV through the model to the wet WAV; prints what it wrote and how fast."""
    from drywet.audio import read_wav, wav_info, write_wav
    from drywet.knobs import knob_values
    from drywet.lstm.keras_file import LayoutError, model_file, read_sequence_weights
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
        model, meta = load(args.model)
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
    from drywet.lstm.stream import SequenceStream, SequenceWeights

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
    from drywet.audio import read_wav_blocks, write_wav_blocks
    from drywet.highpass import HighpassStream

    clean = HighpassStream(sr, meta.highpass_hz) if meta.highpass_hz else None

    bar = Progress(frames, progress)

    def wet():
        done = 0
        for block in read_wav_blocks(args.input, args.channel, STREAM_BLOCK):
            yield stream.process(clean.process(block) if clean else block)
            done += block.size
            bar.update(done)
        if done != frames:
            raise InputError(f"{args.input}: its header announces {frames} samples but {done} could be read")

    _write(args.output, lambda: write_wav_blocks(args.output, wet(), frames, sr))


def _write(output: str, write) -> None:
    try:
        write()
    except (OSError, RuntimeError) as exc:  # soundfile reports write failures as RuntimeError
        raise InputError(f"{output}: cannot write ({exc})") from None
