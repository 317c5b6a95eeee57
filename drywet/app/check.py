"""`python -m drywet check DRY.wav WET.wav`: whether a recording pair is fit to train on, without
training (drywet.check judges; this prints its report)."""

from __future__ import annotations

import math
from pathlib import Path

from drywet.errors import InputError


def run(args) -> int:
    """`check`: print the report; 0 when OK to train, 1 when not (no TensorFlow is imported)."""
    from drywet.audio import read_wav
    from drywet.check import capture_align, check_pair, render, report_json

    if args.max_latency_ms is not None and not (args.max_latency_ms > 0 and math.isfinite(args.max_latency_ms)):
        raise InputError(f"--max-latency-ms must be a positive number (got {args.max_latency_ms:g})")
    try:
        dry, sr = read_wav(args.dry, args.channel)
        wet, sr_wet = read_wav(args.wet, args.channel)
    except InputError as exc:  # the stage's wording names a params key; here it is an option
        raise InputError(str(exc).replace("set the effect's 'channel' param", "pick one with --channel N")) from None
    align = capture_align(Path("params.yaml"), **({} if args.max_latency_ms is None else
                                                  {"max_latency_ms": args.max_latency_ms}))
    report = check_pair(dry, wet, sr, align, wet_sr=sr_wet, dry_name=args.dry, wet_name=args.wet)
    print(report_json(report) if args.json else render(report, args.dry, args.wet))
    return 0 if report.ok else 1
