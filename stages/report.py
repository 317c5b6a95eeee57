"""Stage `report`: one listening page and a Markdown summary comparing the effects params.yaml names,
and a blind ABX test with its key, from their sections (drywet.pipeline.report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import ReportParams, load_effects, load_section
from drywet.pipeline.outputs import run
from drywet.pipeline.report import report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sections", required=True, help="folder holding one section folder per effect")
    ap.add_argument("--html", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--listen", required=True, help="the blind ABX page to write")
    ap.add_argument("--key", required=True, help="its key (JSON), for `python -m drywet listen-score`")
    args = ap.parse_args()
    trials_per_effect = load_section(ReportParams).abx_trials
    report(load_effects(), trials_per_effect, *map(Path, (args.sections, args.html, args.markdown, args.listen,
                                                          args.key)))


if __name__ == "__main__":
    run(main)
