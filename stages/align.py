"""Stage `align@<fx>`: clean up, find the wet recording's latency, polarity and gain, and write the
aligned audio and the alignment report (drywet.pipeline.align)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import AlignParams, load_section
from drywet.pipeline.align import align
from drywet.pipeline.outputs import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", default=None, help="effect name (its `effects.<fx>.align` overrides apply)")
    ap.add_argument("--raw", required=True, help="folder with dry.wav and wet.wav")
    ap.add_argument("--out", required=True, help="folder for the aligned dry.wav and wet.wav")
    ap.add_argument("--metrics", required=True, help="alignment report (JSON)")
    args = ap.parse_args()
    align(Path(args.raw), Path(args.out), Path(args.metrics), load_section(AlignParams, effect=args.effect))


if __name__ == "__main__":
    run(main)
