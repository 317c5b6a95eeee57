"""Stage `train@<fx>`: fit the chosen structure with Adam; log curves with DVCLive; save checkpoints.
A killed training run again resumes after its last completed epoch (drywet.pipeline.train)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import ModelParams, load_section
from drywet.kinds import get_kind
from drywet.pipeline.outputs import run
from drywet.pipeline.train import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--frames", required=True)
    ap.add_argument("--out", required=True, help="model folder")
    ap.add_argument("--live", required=True, help="DVCLive folder for the training curves")
    args = ap.parse_args()
    m = load_section(ModelParams, effect=args.effect)
    cfg = load_section(get_kind(m.kind).TRAIN_PARAMS, effect=args.effect)
    train(args.effect, Path(args.split), Path(args.frames), Path(args.out), Path(args.live), m, cfg,
          code={"stages.train": Path(__file__)})


if __name__ == "__main__":
    run(main)
