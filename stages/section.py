"""Stage `section@<fx>`: one effect's part of the listening report (data/report/<fx>/) and its own
listening and blind ABX pages (drywet.pipeline.section)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import ReportParams, load_effects, load_section
from drywet.pipeline.outputs import run
from drywet.pipeline.section import section


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--metrics", required=True, help="the evaluate stage's metrics/<fx>.json")
    ap.add_argument("--align", required=True, help="the align stage's metrics/align/<fx>.json")
    ap.add_argument("--model", required=True, help="the model's model.json")
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--page", required=True, help="the effect's listening page to write")
    ap.add_argument("--listen", required=True, help="the effect's blind ABX page to write")
    ap.add_argument("--key", required=True, help="its key (JSON), for `python -m drywet listen-score --key`")
    args = ap.parse_args()
    params = load_section(ReportParams)
    fx = load_effects()[args.effect]
    section(args.effect, fx, params, *map(Path, (args.metrics, args.align, args.model, args.predictions, args.plots,
                                                 args.out, args.page, args.listen, args.key)))


if __name__ == "__main__":
    run(main)
