"""Framing costs O(samples) memory, not O(samples x frame): build the framed tf.data pipeline over a
long training signal, consume one full epoch of batches (no model), and report resident memory.

    python -m benchmarks.framing_memory [--seconds 384] [--frames 500000] [--frame 64] [--batch 256]

Peak RSS comes from getrusage (ru_maxrss, the process's lifetime peak) and from a thread sampling
/proc/self/status every 5 ms while batches are drawn (the peak of that phase alone).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time

import numpy as np

SAMPLE_RATE = 44100
MIB = 1024 * 1024


def rss_bytes() -> int:
    """Current resident set size (VmRSS), in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss_bytes() -> int:
    """Lifetime peak RSS of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RssSampler(threading.Thread):
    """Polls VmRSS until stopped; `peak` is the largest value seen."""

    def __init__(self, interval_s: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.interval_s, self.peak = interval_s, rss_bytes()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval_s)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, rss_bytes())
        return self.peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.framing_memory",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=384.0, help="training signal length at 44.1 kHz")
    ap.add_argument("--frames", type=int, default=500_000, help="training frames per epoch")
    ap.add_argument("--frame", type=int, default=64, help="samples per frame")
    ap.add_argument("--batch", type=int, default=256, help="frames per batch")
    ap.add_argument("--no-shuffle", action="store_true",
                    help="skip the pipeline's shuffle (its buffer holds every start as a separate element)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import tensorflow as tf

    from drywet.kinds.framed import framed_dataset
    from drywet.split import sample_frame_starts

    steps: list[tuple[str, int, int]] = []

    def note(what: str) -> None:
        steps.append((what, rss_bytes(), peak_rss_bytes()))

    note("after importing TensorFlow")
    n = int(round(args.seconds * SAMPLE_RATE))
    rng = np.random.default_rng(0)
    dry = rng.standard_normal(n, dtype=np.float32)
    dry *= 0.1
    wet = np.multiply(dry, 4.0, dtype=np.float32)
    np.tanh(wet, out=wet)
    note(f"dry + wet signals ({n:,} samples each, float32)")
    starts = sample_frame_starts(n, args.frame, args.frames, seed=1)
    note(f"{len(starts):,} frame starts drawn (int64)")

    before = rss_bytes()
    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    ds = framed_dataset(dry, wet, starts, args.frame, args.batch, shuffle_seed=None if args.no_shuffle else 1)
    note("pipeline built")
    batches = examples = 0
    checksum = 0.0
    for x, y in ds:
        batches += 1
        examples += int(x.shape[0])
        checksum += float(tf.reduce_sum(y))
    seconds = time.perf_counter() - t0
    phase_peak = sampler.stop()
    note("one epoch consumed")

    materialised = args.frames * args.frame * 4
    all_starts = (n - args.frame + 1) * args.frame * 4
    print(f"Framed pipeline: {args.frames:,} frames x {args.frame} samples, batch {args.batch}, "
          f"{'unshuffled' if args.no_shuffle else 'shuffled'}, "
          f"from a {n:,}-sample signal ({n / SAMPLE_RATE:.0f} s at {SAMPLE_RATE} Hz); "
          f"TensorFlow {tf.__version__}\n")
    print("| step | RSS (MiB) | peak RSS so far, ru_maxrss (MiB) |")
    print("|---|---:|---:|")
    for what, rss, peak in steps:
        print(f"| {what} | {rss / MIB:,.0f} | {peak / MIB:,.0f} |")
    print(f"\nEpoch: {batches:,} batches, {examples:,} frames in {seconds:.1f} s "
          f"({examples / seconds:,.0f} frames/s; checksum {checksum:.3f}).")
    print(f"RSS before building the pipeline: {before / MIB:,.0f} MiB; peak while building and iterating "
          f"(sampled): {phase_peak / MIB:,.0f} MiB, i.e. +{(phase_peak - before) / MIB:,.0f} MiB.")
    print(f"Lifetime peak (ru_maxrss): {peak_rss_bytes() / MIB:,.0f} MiB.")
    print(f"A materialised frame array would need {materialised / 1e6:,.0f} MB ({materialised / MIB:,.0f} MiB) "
          f"for these {args.frames:,} frames, and {all_starts / 1e9:.2f} GB ({all_starts / 2**30:.2f} GiB) "
          f"for all {n - args.frame + 1:,} starts; the signals themselves are {2 * n * 4 / MIB:,.0f} MiB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
