"""Stage `evaluate@<fx>`: metrics on the whole test part, inference cost, and the plots
(drywet.pipeline.evaluate)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import EvaluateParams, load_section
from drywet.pipeline.evaluate import evaluate
from drywet.pipeline.outputs import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--model", required=True, help="model folder")
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("--epochs-metrics", required=True,
                    help="JSON: metrics of each checkpoint and the final model over the excerpt")
    ap.add_argument("--train-metrics", required=True, help="the train stage's metrics (training time)")
    args = ap.parse_args()
    evaluate(args.effect, Path(args.predictions), Path(args.model), Path(args.metrics), Path(args.plots),
             Path(args.epochs_metrics), Path(args.train_metrics), load_section(EvaluateParams))


if __name__ == "__main__":
    run(main)
