"""Stage `split@<fx>`: contiguous [train | val | test] split of the aligned recordings."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drywet import audio
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
    src = Path(args.aligned)
    dry, sr = audio.read_wav(src / "dry.wav")
    wet, _ = audio.read_wav(src / "wet.wav")
    bounds = split_bounds(len(dry), p.test_fraction, p.val_fraction, MIN_PART_SAMPLES)
    with staged_dir(args.out) as tmp:
        for part in PARTS:
            start, stop = getattr(bounds, part)
            audio.write_wav(tmp / f"{part}_dry.wav", dry[start:stop], sr)
            audio.write_wav(tmp / f"{part}_wet.wav", wet[start:stop], sr)
        clean = json.loads((src / "clean.json").read_text()) if (src / "clean.json").is_file() else {}
        write_json(tmp / "split.json", {
            "sample_rate": sr,
            "highpass_hz": float(clean.get("highpass_hz", 0.0)),
            **{f"{part}_start": int(getattr(bounds, part)[0]) for part in PARTS},
            **{f"{part}_stop": int(getattr(bounds, part)[1]) for part in PARTS},
        })
    print("split: " + ", ".join(f"{part} {(b[1] - b[0]) / sr:.1f} s" for part, b in
                                (("train", bounds.train), ("val", bounds.val), ("test", bounds.test))),
          flush=True)


if __name__ == "__main__":
    run(main)
