"""Stage `split@<fx>`: contiguous [train | val | test] split of the aligned recordings (of each knob
position's take, in its own subfolder, for a knob-conditioned effect)."""

from __future__ import annotations

from pathlib import Path

from drywet import audio, knobs
from drywet.config import SplitParams
from drywet.pipeline.contracts import CLEAN_NAME, PARTS, CleanInfo, SplitInfo
from drywet.pipeline.outputs import staged_dir
from drywet.split import MIN_PART_SAMPLES, split_bounds


def split(aligned: Path, out: Path, p: SplitParams) -> None:
    """Split every aligned take under `aligned` into the folder `out` (replaced as a whole)."""
    positions = knobs.read_positions(aligned)  # None: a plain effect
    with staged_dir(out) as tmp:
        for src in knobs.takes(aligned, positions):
            dest = tmp / src.relative_to(aligned)
            dest.mkdir(exist_ok=True)
            info = split_take(src, dest, p)
            sr = info.sample_rate
            print(f"split{'' if src == aligned else ' ' + src.name}: " +
                  ", ".join(f"{part} {(b[1] - b[0]) / sr:.1f} s" for part, b in
                            (("train", info.bounds("train")), ("val", info.bounds("val")),
                             ("test", info.bounds("test")))), flush=True)
        knobs.write_positions(tmp, positions)


def split_take(src: Path, out: Path, p: SplitParams) -> SplitInfo:
    """Split one aligned take (src/dry.wav, src/wet.wav) into `out`; returns its split.json record.
    The dry clean-up its clean.json records (none without one) passes on to the model."""
    dry, sr = audio.read_wav(src / "dry.wav")
    wet, _ = audio.read_wav(src / "wet.wav")
    bounds = split_bounds(len(dry), p.test_fraction, p.val_fraction, MIN_PART_SAMPLES)
    for part in PARTS:
        start, stop = getattr(bounds, part)
        audio.write_wav(out / f"{part}_dry.wav", dry[start:stop], sr)
        audio.write_wav(out / f"{part}_wet.wav", wet[start:stop], sr)
    highpass_hz = CleanInfo.load(src).highpass_hz if (src / CLEAN_NAME).is_file() else 0.0
    info = SplitInfo(sample_rate=sr, highpass_hz=float(highpass_hz),
                     **{f"{part}_{end}": int(getattr(bounds, part)[i]) for part in PARTS
                        for i, end in enumerate(("start", "stop"))})
    info.save(out)
    return info
