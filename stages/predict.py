"""Stage `predict@<fx>`: run the trained model (and each checkpoint, over an excerpt) on the test part;
the time it took goes to `--timing`, a metrics file no stage depends on (drywet.pipeline.predict)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import PredictParams, load_section
from drywet.pipeline.outputs import run
from drywet.pipeline.predict import predict_test


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", required=True)
    ap.add_argument("--model", required=True, help="model folder")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timing", required=True, help="metrics JSON: seconds spent predicting the test part")
    args = ap.parse_args()
    predict_test(Path(args.split), Path(args.model), Path(args.out), Path(args.timing), load_section(PredictParams))


if __name__ == "__main__":
    run(main)
