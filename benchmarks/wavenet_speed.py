"""Speed of NAM's WaveNet runtime (`drywet.wavenet`) on one thread: the C loop and the Numba loop side
by side in one process, against the core's multiply-add limit, as a Markdown table.

    python -m benchmarks.wavenet_speed [--seconds 30] [--repeats 3] [--check-seconds 5] [--presets standard lite]

For each preset (random weights, `drywet.wavenet.random_weights`) on the virtual bench's dry program
material at 48 kHz: multiply-adds per sample; samples per second and real-time factor of each loop
from the process's CPU time (best of --repeats, the loops timed alternately so background load hits
both alike); the limit (the core's peak FMA rate, benchmarks/fma_peak.c, over the multiply-adds per
sample) and the C loop's share of it; the largest difference of each loop's output from the float64
reference (`drywet.wavenet.reference`) over the first --check-seconds.

Every thread pool is pinned to one thread before import, and neither loop starts threads.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.process_speed import cpu_name, peak_macs_per_second  # noqa: E402

SAMPLE_RATE = 48000


def stream_in(loop: str, weights):
    """A WaveNetStream running `loop` ("c" or "numba")."""
    from drywet.wavenet import WaveNetStream

    os.environ["DRYWET_STREAM_LOOP"] = loop
    try:
        stream = WaveNetStream(weights)
    finally:
        del os.environ["DRYWET_STREAM_LOOP"]
    assert stream.loop == loop, f"the {loop} loop is not available here"
    return stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="audio timed per preset (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per loop and preset; the best counts")
    parser.add_argument("--check-seconds", type=float, default=5.0,
                        help="audio compared with the float64 reference (default 5)")
    parser.add_argument("--presets", nargs="+", default=["standard", "lite"], help="presets (default: standard lite)")
    args = parser.parse_args()

    from drywet.bench.material import make_dry
    from drywet.wavenet import PRESETS, random_weights, reference

    peak = peak_macs_per_second()
    dry = make_dry(args.seconds, SAMPLE_RATE, seed=0)
    seconds = dry.size / SAMPLE_RATE
    n_check = min(dry.size, int(args.check_seconds * SAMPLE_RATE))
    print(f"{seconds:g} s of bench material at {SAMPLE_RATE} Hz, one thread; {cpu_name()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start. Multiply-add limit of the core: "
          f"{peak / 1e9:.1f} G multiply-adds/s (benchmarks/fma_peak.c)\n")
    header = ("| preset | MACs/sample | receptive field | Numba: Msamples/s | Numba: RTF | C: Msamples/s | C: RTF "
              "| C / Numba | limit RTF | C share of limit | max diff vs float64, Numba | max diff vs float64, C |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1), flush=True)
    for name in args.presets:
        config = PRESETS[name]
        weights = random_weights(config)
        streams = {loop: stream_in(loop, weights) for loop in ("numba", "c")}
        for stream in streams.values():
            stream.process(dry[:4096])  # compiled or loaded outside the timing
        cpu = {loop: np.inf for loop in streams}
        outputs = {}
        for _ in range(args.repeats):
            for loop, stream in streams.items():
                stream.reset()
                start = time.process_time()
                outputs[loop] = stream.process(dry)
                cpu[loop] = min(cpu[loop], time.process_time() - start)
        exact = reference(weights, dry[:n_check])
        diff = {loop: float(np.max(np.abs(y[:n_check] - exact))) for loop, y in outputs.items()}
        macs = config.macs_per_sample()
        limit = peak / macs / SAMPLE_RATE
        rtf = {loop: seconds / cpu[loop] for loop in streams}
        print(f"| {name} | {macs:,} | {config.receptive_field:,} | {dry.size / cpu['numba'] / 1e6:.3f} "
              f"| {rtf['numba']:.1f} | {dry.size / cpu['c'] / 1e6:.3f} | {rtf['c']:.1f} "
              f"| {rtf['c'] / rtf['numba']:.1f} | {limit:.0f} | {rtf['c'] / limit:.0%} "
              f"| {diff['numba']:.1e} | {diff['c']:.1e} |", flush=True)
    print("\nRTF: seconds of audio per second of CPU time (Msamples/s likewise). Limit RTF: the real-time factor "
          "if every cycle did the model's multiply-adds at the core's peak rate and nothing else (the "
          "activations, rings and stores cost extra).")


if __name__ == "__main__":
    main()
