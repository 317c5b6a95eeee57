"""Stage `export@<fx>`: the model as every plugin file a released plugin loads, and exports.json (per
file its plugins and test ESR played from the file, per format not written the reason), through
drywet.pipeline.export."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import load_effects
from drywet.pipeline.export import export
from drywet.pipeline.outputs import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--model", required=True, help="model folder")
    ap.add_argument("--split", required=True, help="the split folder (its test_dry.wav / test_wet.wav)")
    ap.add_argument("--metrics", required=True, help="the evaluate stage's metrics/<fx>.json (esr)")
    ap.add_argument("--align", required=True, help="the align stage's metrics/align/<fx>.json (latency)")
    ap.add_argument("--out", required=True, help="folder to write (replaced as a whole)")
    args = ap.parse_args()
    effect = load_effects().get(args.effect)
    gear = effect.gear if effect is not None else None
    export(args.effect, gear, Path(args.model), Path(args.split), Path(args.metrics), Path(args.align),
           Path(args.out))


if __name__ == "__main__":
    run(main)
