"""Time and peak memory of the virtual bench: dry material once, then both stand-in pedals.

    python -m benchmarks.bench_generation [--seconds 480] [--sample-rate 44100] [--oversample 8]

Does what `run_bench` does for each effect, but records the shared dry take only once, as a
session with both pedals would. Wall-clock time per step; peak RSS from getrusage (ru_maxrss, the
process's lifetime peak).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from drywet.audio import rms_dbfs
from drywet.bench import PEDALS, record_dry, record_wet

MIB = 1024 * 1024


def peak_rss_mib() -> float:
    """Lifetime peak resident memory of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_generation", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=480.0)
    ap.add_argument("--sample-rate", type=int, default=44100)
    ap.add_argument("--oversample", type=int, default=8)
    ap.add_argument("--noise-dbfs", type=float, default=-90.0)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    sr = args.sample_rate
    print(f"virtual bench: {args.seconds:g} s at {sr} Hz, {args.oversample}x oversampling, seed {args.seed}")
    print(f"baseline peak RSS {peak_rss_mib():.0f} MiB")

    wall0 = time.perf_counter()
    t0 = time.perf_counter()
    dry = record_dry(args.seconds, sr, args.noise_dbfs, args.seed)
    print(f"dry take          {time.perf_counter() - t0:6.2f} s   rms {rms_dbfs(dry):6.1f} dBFS"
          f"  peak {np.abs(dry).max():.3f}   peak RSS {peak_rss_mib():6.0f} MiB")
    for effect in PEDALS:
        t0 = time.perf_counter()
        wet, truth = record_wet(effect, dry, sr, args.oversample, args.noise_dbfs, args.seed)
        print(f"{effect:5s} wet take    {time.perf_counter() - t0:6.2f} s   rms {rms_dbfs(wet):6.1f} dBFS"
              f"  peak {np.abs(wet).max():.3f}   peak RSS {peak_rss_mib():6.0f} MiB"
              f"   (latency {truth['latency_ms']:.3f} ms, gain {truth['gain_db']:+.2f} dB)")
        del wet
    total = time.perf_counter() - wall0
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(f"total             {total:6.2f} s wall, {cpu.ru_utime + cpu.ru_stime:.2f} s CPU;"
          f" peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
