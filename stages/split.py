"""Stage `split@<fx>`: contiguous [train | val | test] split of the aligned recordings (of each knob
position's take, in its own subfolder, for a knob-conditioned effect)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drywet import audio, knobs
from drywet.params import SplitParams, load_section
from drywet.split import MIN_PART_SAMPLES, split_bounds
from stages.common import run, staged_dir, write_json

PARTS = ("train", "val", "test")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--aligned", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    p = load_section(SplitParams)
    aligned = Path(args.aligned)
    positions = knobs.read_positions(aligned)  # None: a plain effect
    with staged_dir(args.out) as tmp:
        for src in knobs.takes(aligned, positions):
            out = tmp / src.relative_to(aligned)
            out.mkdir(exist_ok=True)
            bounds, sr = split_take(src, out, p)
            print(f"split{'' if src == aligned else ' ' + src.name}: " +
                  ", ".join(f"{part} {(b[1] - b[0]) / sr:.1f} s" for part, b in
                            (("train", bounds.train), ("val", bounds.val), ("test", bounds.test))), flush=True)
        knobs.write_positions(tmp, positions)


def split_take(src: Path, out: Path, p: SplitParams):
    """Split one aligned take (src/dry.wav, src/wet.wav) into `out`; returns its bounds and rate."""
    dry, sr = audio.read_wav(src / "dry.wav")
    wet, _ = audio.read_wav(src / "wet.wav")
    bounds = split_bounds(len(dry), p.test_fraction, p.val_fraction, MIN_PART_SAMPLES)
    for part in PARTS:
        start, stop = getattr(bounds, part)
        audio.write_wav(out / f"{part}_dry.wav", dry[start:stop], sr)
        audio.write_wav(out / f"{part}_wet.wav", wet[start:stop], sr)
    clean = json.loads((src / "clean.json").read_text()) if (src / "clean.json").is_file() else {}
    write_json(out / "split.json", {
        "sample_rate": sr,
        "highpass_hz": float(clean.get("highpass_hz", 0.0)),
        **{f"{part}_start": int(getattr(bounds, part)[0]) for part in PARTS},
        **{f"{part}_stop": int(getattr(bounds, part)[1]) for part in PARTS},
    })
    return bounds, sr


if __name__ == "__main__":
    run(main)
