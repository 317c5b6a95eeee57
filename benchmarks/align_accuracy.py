"""How close the alignment's latency comes to the recording chain's true delay, case by case.

    python -m benchmarks.align_accuracy [--seconds 10] [--seed 2024] [--sweep]

Each case plays the bench's dry material through a known path and "records" it with a known
latency (a whole number of samples plus a fraction, through the bench's fractional delay), a level
change and a -90 dBFS noise floor; the bench pedals use their own hidden chain truth. The found
latency must lie within [-1, +0.25] samples of the truth: never later than the chain's delay.
Prints a Markdown table: case, sample rate, truth, found, error, polarity, peak clarity, plain
correlation, and whether the error is inside the window.

`--sweep` runs the 72 drive chains of `sweep_variants` instead (input high-pass -> drive -> output
low-pass, two thirds of the high-passes and a third of the low-passes of 1st order) and prints how
many land inside the window (the goal: at least 95 %), the worst cases and the time taken.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from scipy import signal

from benchmarks.make_recording import player_chain, plucked_notes
from drywet.align import clean_and_estimate
from drywet.bench import record_dry, run_bench
from drywet.bench.chain import record
from drywet.errors import AlignmentError

EARLY, LATE = -1.0, 0.25
MAX_LATENCY_MS = 50.0
MIN_CLARITY_DB = 25.0


def _sos(order: int, hz: float | list[float], kind: str, sr: int) -> Callable[[np.ndarray], np.ndarray]:
    sos = signal.butter(order, hz, kind, fs=sr, output="sos")
    return lambda x: signal.sosfilt(sos, x)


def _drive(sr: int, pre: Callable, gain: float, post: Callable,
           shape: Callable[[np.ndarray], np.ndarray] = np.tanh) -> Callable[[np.ndarray], np.ndarray]:
    """filter -> gain -> tanh drive (or another `shape`) -> filter."""
    return lambda x: post(shape(gain * pre(x)))


def linear_cases(sr: int) -> list[tuple[str, Callable[[np.ndarray], np.ndarray], float, int]]:
    """(name, path, latency in samples, polarity) at sample rate sr."""
    one_pole = np.exp(-2 * np.pi * 3000.0 / sr)
    return [
        ("delay, integer", lambda x: x, 137.0, 1),
        ("delay, fractional", lambda x: x, 123.4, 1),
        ("delay, fractional, inverted", lambda x: x, 250.73, -1),
        ("low-pass 3 kHz, 2nd order", _sos(2, 3000.0, "lowpass", sr), 137.3, 1),
        ("low-pass 5 kHz, 2nd order", _sos(2, 5000.0, "lowpass", sr), 90.7, 1),
        ("low-pass 4 kHz, 4th order", _sos(4, 4000.0, "lowpass", sr), 141.0, 1),
        ("low-pass 3 kHz, one pole", lambda x: signal.lfilter([1 - one_pole], [1, -one_pole], x), 99.5, 1),
        ("high-pass 80 Hz, 2nd order", _sos(2, 80.0, "highpass", sr), 150.25, 1),
    ]


def drive_cases(sr: int) -> list[tuple[str, Callable[[np.ndarray], np.ndarray], float, int]]:
    """Filtered tanh drives (a guitar-pedal-like chain), latency 137 samples."""
    return [
        ("drive: HP 720 Hz, x20, tanh, LP 5 kHz 1-pole",
         _drive(sr, _sos(1, 720.0, "highpass", sr), 20.0, _sos(1, 5000.0, "lowpass", sr)), 137.0, 1),
        ("drive: BP 200-4k, x30, tanh, LP 5 kHz 2nd",
         _drive(sr, _sos(2, [200.0, 4000.0], "bandpass", sr), 30.0, _sos(2, 5000.0, "lowpass", sr)), 137.0, 1),
        ("drive: HP 720 Hz, x60, tanh, LP 3.5 kHz 4th",
         _drive(sr, _sos(1, 720.0, "highpass", sr), 60.0, _sos(4, 3500.0, "lowpass", sr)), 137.0, 1),
        ("drive: LP 1.5 kHz, x40, tanh, LP 6 kHz 2nd",
         _drive(sr, _sos(2, 1500.0, "lowpass", sr), 40.0, _sos(2, 6000.0, "lowpass", sr)), 137.0, 1),
    ]


SWEEP_HIGHPASS = ((1, 80.0), (1, 720.0), (2, 80.0))  # (order, corner Hz) before the drive
SWEEP_DRIVE = ("x3", "x20", "x60", "clip")  # gain into tanh, or x20 into a hard clip at +-1
SWEEP_LOWPASS = ((1, 4500.0), (2, 5000.0), (4, 4500.0))  # (order, corner Hz) after it
SWEEP_MATERIAL = ("bench", "plucked")
SWEEP_WORST = 8  # worst cases printed


def _nonlinearity(drive: str) -> Callable[[np.ndarray], np.ndarray]:
    """A SWEEP_DRIVE entry as a function of the high-passed dry (full scale 1.0)."""
    if drive == "clip":
        return lambda x: np.clip(20.0 * x, -1.0, 1.0)
    gain = float(drive[1:])
    return lambda x: np.tanh(gain * x)


def sweep_variants(seed: int = 2024) -> list[dict]:
    """The 72 chains: 3 input high-passes x 4 drives x 3 output low-passes x 2 materials.

    Each (high-pass, drive, low-pass) plays both materials, one at 44.1 kHz and one at 48 kHz (the
    rates swap between neighbouring chains). Latencies are drawn per variant from the seed: 60-500
    samples, a whole number for every third variant, else with a fraction; every fourth is
    inverted.
    """
    variants = []
    for h, (hp_order, hp_hz) in enumerate(SWEEP_HIGHPASS):
        for g, drive in enumerate(SWEEP_DRIVE):
            for lo, (lp_order, lp_hz) in enumerate(SWEEP_LOWPASS):
                for mat, material in enumerate(SWEEP_MATERIAL):
                    i = len(variants)
                    rng = np.random.default_rng([seed, i])
                    latency = float(rng.integers(60, 500))
                    if i % 3:
                        latency += float(rng.uniform(0.05, 0.95))
                    variants.append({
                        "name": f"HP {hp_hz:g} Hz {hp_order}, {drive}, LP {lp_hz / 1000:g} kHz {lp_order}, {material}",
                        "hp": (hp_order, hp_hz), "drive": drive, "lp": (lp_order, lp_hz), "material": material,
                        "sr": 48000 if (h + g + lo + mat) % 2 else 44100,
                        "latency": latency, "polarity": -1 if i % 4 == 3 else 1,
                    })
    return variants


def run_sweep(seconds: float, seed: int) -> list[dict]:
    """Measure every sweep variant: the bench's dry (`seconds` long) or plucked notes (at least 30 s)."""
    dries: dict[tuple[str, int], np.ndarray] = {}
    rows = []
    for v in sweep_variants(seed):
        sr, material = v["sr"], v["material"]
        if (material, sr) not in dries:
            dries[material, sr] = (record_dry(seconds, sr, -90.0, seed).astype(np.float64) if material == "bench"
                                   else plucked_notes(max(seconds, 30.0), sr, seed % 1000 + 11))
        dry = dries[material, sr]
        chain = _drive(sr, _sos(*v["hp"], "highpass", sr), 1.0, _sos(*v["lp"], "lowpass", sr),
                       _nonlinearity(v["drive"]))
        noise, dc = (-90.0, 0.0) if material == "bench" else (-84.0, 0.05)
        wet = record(chain(dry), sr, v["latency"], -6.0, v["polarity"], noise, seed=seed + 1) + dc
        try:
            rows.append(measure(v["name"], dry, wet, sr, v["latency"], v["polarity"]))
        except AlignmentError as exc:  # refused: counts as a miss
            print(f"{v['name']}: {exc}")
            rows.append({"case": v["name"], "sr": sr, "truth": v["latency"], "found": float("nan"),
                         "error": float("inf"), "polarity": "-", "clarity": float("nan"),
                         "corr": float("nan"), "ok": False})
    return rows


def _print_table(rows: list[dict]) -> None:
    print("| case | rate | truth | found | error | polarity | clarity dB | plain corr | in window |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---|")
    for r in rows:
        print(f"| {r['case']} | {r['sr']} | {r['truth']:.3f} | {r['found']:.3f} | {r['error']:+.3f} | "
              f"{r['polarity']} | {r['clarity']:.1f} | {r['corr']:.2f} | {'yes' if r['ok'] else 'NO'} |")


def _outside(row: dict) -> float:
    """How far (samples) a row's error lies outside the window; a late miss counts double."""
    return max(2.0 * (row["error"] - LATE), EARLY - row["error"], 0.0) + 1e-3 * abs(row["error"])


def measure(name: str, dry: np.ndarray, wet: np.ndarray, sr: int, truth: float, polarity: int) -> dict:
    _, _, al, _ = clean_and_estimate(
        dry, wet, sr, max_latency_ms=MAX_LATENCY_MS, min_peak_clarity_db=MIN_CLARITY_DB
    )
    err = al.latency_samples - truth
    return {
        "case": name, "sr": sr, "truth": truth, "found": al.latency_samples, "error": err,
        "polarity": "ok" if al.polarity == polarity else f"{al.polarity:+d} (wrong)",
        "clarity": al.peak_clarity_db, "corr": al.peak_correlation, "ok": EARLY <= err <= LATE,
    }


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.align_accuracy", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--sweep", action="store_true", help="run the 72-variant sweep of drive chains instead")
    args = ap.parse_args()
    window = f"window [{EARLY:g}, +{LATE:g}] samples"
    if args.sweep:
        start = time.perf_counter()
        rows = run_sweep(args.seconds, args.seed)
        took = time.perf_counter() - start
        ok = sum(r["ok"] for r in rows)
        print(f"alignment sweep: {len(rows)} drive chains, {args.seconds:g} s of bench material or "
              f"{max(args.seconds, 30.0):g} s of plucked notes, seed {args.seed}; {window}\n")
        print(f"{ok} of {len(rows)} variants within the window ({100.0 * ok / len(rows):.1f} %), "
              f"{took:.1f} s in all\n")
        print(f"worst {SWEEP_WORST} (furthest outside the window, late first):\n")
        _print_table(sorted(rows, key=_outside, reverse=True)[:SWEEP_WORST])
        return
    rows = []
    for sr in (44100, 48000):
        dry = record_dry(args.seconds, sr, -90.0, args.seed).astype(np.float64)
        cases = linear_cases(sr) if sr == 44100 else drive_cases(sr)
        for name, path, latency, polarity in cases:
            wet = record(path(dry), sr, latency, -2.0, polarity, -90.0, seed=args.seed + 1)
            rows.append(measure(name, dry, wet, sr, latency, polarity))
    # isolated plucked notes (rests, a pickup's dark top filled by hiss) through a player's drive
    for sr, seed, pickup, polarity in ((48000, 11, 4000.0, 1), (48000, 13, 2500.0, -1), (44100, 12, 6000.0, 1),
                                       (96000, 14, 4000.0, 1)):
        dry = plucked_notes(max(args.seconds, 30.0), sr, seed, pickup_hz=pickup)
        wet = record(player_chain(dry, sr), sr, 137.0, 0.0, polarity, -84.0, seed=seed + 1) + 0.05
        rows.append(measure(f"plucked notes, pickup {pickup / 1000:g} kHz: HP 80 Hz, +18 dB, tanh x4, LP 4.5 kHz 2nd"
                            f"{', inverted' if polarity < 0 else ''}", dry, wet, sr, 137.0, polarity))
    for effect in ("sd1", "b65", "fuzz"):
        for sr in (44100, 48000):
            dry, wet, truth = run_bench(effect, args.seconds, sr, 8, -90.0, args.seed)
            rows.append(measure(f"bench {effect}", dry, wet, sr, truth["latency_samples"], truth["polarity"]))
    print(f"alignment accuracy: {args.seconds:g} s of bench material, seed {args.seed}; {window}\n")
    _print_table(rows)
    print(f"\n{sum(r['ok'] for r in rows)} of {len(rows)} cases within the window")


if __name__ == "__main__":
    main()
