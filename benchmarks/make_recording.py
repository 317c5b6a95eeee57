"""Write a dry/wet recording pair that drywet has never seen, as a user would bring it: the bench's
dry material played through a filter -> gain -> tanh drive -> filter chain (not one of the bench's
stand-in pedals), recorded with a known latency, level change, DC offset, polarity and noise.

    python -m benchmarks.make_recording OUT_FOLDER [--rate 48000] [--seconds 120] [--latency 137]

OUT_FOLDER gets dry.wav, wet.wav (32-bit float) and truth.json; point an effect at it with
`effects.<name>.source: OUT_FOLDER`. Used to check alignment and models on material unlike the bench.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import signal

from drywet.audio import write_wav
from drywet.bench import record_dry
from drywet.bench.chain import record
from drywet.fileio import write_json


def drive_chain(x: np.ndarray, sr: int, gain: float = 20.0) -> np.ndarray:
    """High-pass 720 Hz (1st order) -> gain -> tanh -> low-pass 5 kHz (1st order): a simple
    overdrive whose tone shaping sits around the clipper, as in many pedals."""
    pre = signal.butter(1, 720.0, "highpass", fs=sr, output="sos")
    post = signal.butter(1, 5000.0, "lowpass", fs=sr, output="sos")
    return signal.sosfilt(post, np.tanh(gain * signal.sosfilt(pre, x)))


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.make_recording", description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--rate", type=int, default=48000)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--latency", type=float, default=137.0, help="samples")
    ap.add_argument("--gain", type=float, default=20.0, help="drive gain before the tanh")
    ap.add_argument("--dc", type=float, default=0.05, help="DC offset added to the wet recording")
    ap.add_argument("--polarity", type=int, default=1, choices=(1, -1))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    dry = record_dry(args.seconds, args.rate, -90.0, args.seed).astype(np.float64)
    wet = record(drive_chain(dry, args.rate, args.gain), args.rate, args.latency, -3.0, args.polarity, -90.0,
                 seed=args.seed + 1).astype(np.float64) + args.dc
    out = Path(args.out)
    write_wav(out / "dry.wav", dry, args.rate)
    write_wav(out / "wet.wav", wet, args.rate)
    write_json(out / "truth.json", {"latency_samples": args.latency, "polarity": args.polarity, "dc": args.dc,
                                    "gain": args.gain, "sample_rate": args.rate, "seconds": args.seconds,
                                    "chain": "HP 720 Hz 1st -> gain -> tanh -> LP 5 kHz 1st"})
    print(f"wrote {out}/dry.wav, wet.wav ({args.seconds:g} s at {args.rate} Hz, latency {args.latency:g} samples)")


if __name__ == "__main__":
    main()
