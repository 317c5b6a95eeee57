"""Stage `split@<fx>`: contiguous [train | val | test] split of the aligned recordings
(drywet.pipeline.split)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import SplitParams, load_section
from drywet.pipeline.outputs import run
from drywet.pipeline.split import split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--aligned", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    split(Path(args.aligned), Path(args.out), load_section(SplitParams))


if __name__ == "__main__":
    run(main)
