"""Write a dry/wet recording pair that drywet has never seen, as a user would bring it: dry material
played through a filter -> gain -> tanh drive -> filter chain (not one of the bench's stand-in
pedals), recorded with a known latency, level change, DC offset, polarity and noise.

    python -m benchmarks.make_recording OUT_FOLDER [--rate 48000] [--seconds 120] [--latency 137]
        [--material bench|plucked] [--chain drive|player]

`--material plucked` is unlike the bench's playing: isolated plucked notes (Karplus-Strong strings,
a pickup's resonant roll-off, an interface's hiss at -70 dBFS) with silences between them.
`--chain player` is high-pass 80 Hz -> +18 dB -> 12 dB tanh drive -> 2nd-order low-pass 4.5 kHz ->
-14 dB, recorded under a -84 dBFS noise floor.

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


def pluck(f0: float, seconds: float, sr: int, rng: np.random.Generator, bright: float, decay: float) -> np.ndarray:
    """One plucked string (Karplus-Strong): a burst of low-passed noise, combed at the pluck position,
    circulating in a delay line of one period with a two-tap averaging loss (`decay` per period)."""
    n = int(seconds * sr)
    period = max(2, int(round(sr / f0 - 0.5)))
    b, a = signal.butter(1, min(0.99, (2000.0 + 6000.0 * bright) / (sr / 2)))
    burst = signal.lfilter(b, a, rng.standard_normal(period))
    burst = burst - np.roll(burst, int(period * rng.uniform(0.1, 0.3)))
    y = np.zeros(n + period + 1)
    y[1:period + 1] = burst
    k = period + 1
    while k < y.size:  # one period per step: each sample depends on the period before it
        m = min(period, y.size - k)
        y[k:k + m] = decay * 0.5 * (y[k - period:k - period + m] + y[k - period - 1:k - period - 1 + m])
        k += m
    return y[1:n + 1]


def plucked_notes(seconds: float, sr: int, seed: int = 11, pickup_hz: float = 4000.0,
                  hiss_dbfs: float = -70.0) -> np.ndarray:
    """Isolated plucked notes (E2 to E5, -30 to -6 dBFS peaks, 0.4-2.5 s each, muted at the end) with
    0.05-1.2 s of silence between them, through a pickup's resonant 2nd-order low-pass, plus hiss.
    Unlike the bench's material: rests, a dark top octave filled by noise, no strums or test tones."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * sr))
    t = 0.2
    while t < seconds - 0.5:
        length = rng.uniform(0.4, 2.5)
        note = pluck(82.41 * 2 ** (rng.integers(0, 36) / 12), length, sr, rng, rng.uniform(0, 1),
                     rng.uniform(0.990, 0.999))
        mute = int(0.02 * sr)
        note[-mute:] *= np.linspace(1.0, 0.0, mute)
        note *= 10 ** (rng.uniform(-30, -6) / 20) / (np.max(np.abs(note)) + 1e-12)
        i = int(t * sr)
        m = min(note.size, out.size - i)
        out[i:i + m] += note[:m]
        t += length + rng.uniform(0.05, 1.2)
    w0 = 2 * np.pi * pickup_hz / sr
    alpha, c = np.sin(w0) / (2 * 2.0), np.cos(w0)  # Q = 2: the pickup's resonance
    out = signal.lfilter([(1 - c) / 2, 1 - c, (1 - c) / 2], [1 + alpha, -2 * c, 1 - alpha], out)
    out *= 0.5 / np.max(np.abs(out))
    return out + 10 ** (hiss_dbfs / 20) * rng.standard_normal(out.size)


def player_chain(x: np.ndarray, sr: int) -> np.ndarray:
    """High-pass 80 Hz (2nd order) -> +18 dB -> tanh drive with 12 dB of gain -> low-pass 4.5 kHz
    (2nd order) -> -14 dB: a drive pedal as a player would set it up."""
    hp = signal.butter(2, 80.0, "highpass", fs=sr, output="sos")
    lp = signal.butter(2, 4500.0, "lowpass", fs=sr, output="sos")
    driven = np.tanh(10 ** (12 / 20) * 10 ** (18 / 20) * signal.sosfilt(hp, x))
    return 10 ** (-14 / 20) * signal.sosfilt(lp, driven)


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
    ap.add_argument("--material", choices=("bench", "plucked"), default="bench")
    ap.add_argument("--chain", choices=("drive", "player"), default="drive")
    args = ap.parse_args()
    if args.material == "plucked":
        dry = plucked_notes(args.seconds, args.rate, args.seed)
    else:
        dry = record_dry(args.seconds, args.rate, -90.0, args.seed).astype(np.float64)
    if args.chain == "player":
        wet_level, noise, chain = 0.0, -84.0, "HP 80 Hz 2nd -> +18 dB -> tanh(x4) -> LP 4.5 kHz 2nd -> -14 dB"
        wet = player_chain(dry, args.rate)
    else:
        wet_level, noise, chain = -3.0, -90.0, "HP 720 Hz 1st -> gain -> tanh -> LP 5 kHz 1st"
        wet = drive_chain(dry, args.rate, args.gain)
    wet = record(wet, args.rate, args.latency, wet_level, args.polarity, noise,
                 seed=args.seed + 1).astype(np.float64) + args.dc
    out = Path(args.out)
    write_wav(out / "dry.wav", dry, args.rate)
    write_wav(out / "wet.wav", wet, args.rate)
    write_json(out / "truth.json", {"latency_samples": args.latency, "polarity": args.polarity, "dc": args.dc,
                                    "gain": args.gain, "sample_rate": args.rate, "seconds": args.seconds,
                                    "chain": chain, "material": args.material})
    print(f"wrote {out}/dry.wav, wet.wav ({args.seconds:g} s at {args.rate} Hz, latency {args.latency:g} samples)")


if __name__ == "__main__":
    main()
