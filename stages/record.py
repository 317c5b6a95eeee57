"""Stage `record@<fx>`: the raw dry/wet recordings, from the virtual bench or the user's folder
(drywet.pipeline.record)."""

from __future__ import annotations

import argparse
from pathlib import Path

from drywet.config import BenchParams, load_effects, load_section
from drywet.errors import ConfigError
from drywet.pipeline.outputs import run
from drywet.pipeline.record import record


def main() -> None:
    # Every effect name is checked first: a name that cannot be a folder or a DVC stage key is one
    # `error:` line, even when it broke the command line DVC built from it.
    effects = load_effects()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--out", required=True, help="folder for dry.wav and wet.wav")
    ap.add_argument("--truth", required=True, help="JSON with the bench's recording truth (tests only)")
    args = ap.parse_args()
    if args.effect not in effects:
        raise ConfigError(f"params.yaml: effects has no {args.effect!r} (it has {', '.join(effects)})")
    fx = effects[args.effect]
    bench = load_section(BenchParams) if fx.source == "bench" else None
    record(args.effect, fx, Path(args.out), Path(args.truth), bench)


if __name__ == "__main__":
    run(main)
