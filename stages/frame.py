"""Stage `frame@<fx>`: pick the training and validation examples as start indices into the audio
(drywet.pipeline.frame)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import ModelParams, load_section
from drywet.kinds import get_kind
from drywet.pipeline.frame import frame
from drywet.pipeline.outputs import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", default=None, help="effect name (its `effects.<fx>.model` overrides apply)")
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    m = load_section(ModelParams, effect=args.effect)
    cfg = load_section(get_kind(m.kind).INDEX_PARAMS, effect=args.effect)
    frame(Path(args.split), Path(args.out), m, cfg)


if __name__ == "__main__":
    run(main)
