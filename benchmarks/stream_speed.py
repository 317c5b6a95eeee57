"""Speed and accuracy of exact streaming (`drywet.lstm.stream`) on one thread: the C loop against the Numba
loop (the fallback, and drywet's loop before the C one), side by side in one process, and both
against the machine's multiply-add limit, as Markdown tables.

    python -m benchmarks.stream_speed [--seconds 60] [--repeats 5] [--check-seconds S] [--sizes 1x32 2x32 ...]

For sequence models 1x16, 1x32 and 2x32 (and 2x16), each without and with the skip path (weights
moved off their initial values and scaled by fan-in as a trained model's are: benchmarks/lstm_models.py),
on the virtual bench's dry program material at 44.1 kHz:

- samples per second and real-time factor of each loop from the process's CPU time (best of
  --repeats; the loops timed alternately, so background load hits both alike), and the C loop's by
  the wall clock too;
- the multiply-add limit: the core's peak rate of fused multiply-adds (benchmarks/fma_peak.c, 12
  independent register accumulators, best of 5), divided by the model's multiply-adds per sample
  (4 x units x (inputs + units) per layer, + the head); the C loop's share of it;
- the largest difference of each loop's output from the exact float64 carried-state run
  (`drywet.lstm.stream.reference_sequence`) over the first --check-seconds (default: all of it);
- apart, the first call's time in fresh interpreters: the C loop compiled into an empty cache, then
  loaded from it; the Numba loop compiled per width, then loaded from Numba's cache.

Every thread pool is pinned to one thread before import, and neither loop starts threads.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.lstm_models import sequence_model  # noqa: E402
from benchmarks.process_speed import cpu_name, peak_macs_per_second  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 44100
SIZES = ((1, 16), (1, 32), (2, 16), (2, 32))


def macs_per_sample(layers: int, units: int) -> int:
    macs, n_in = 0, 1
    for _ in range(layers):
        macs += 4 * units * (n_in + units)
        n_in = units
    return macs + units


_FIRST_CALL = """
import time
import numpy as np
from drywet.lstm.stream import SequenceStream
from drywet.lstm.weights import LstmLayer, SequenceWeights
units = {units}
layer = LstmLayer(np.zeros((1, 4 * units), np.float32), np.zeros((units, 4 * units), np.float32),
                  np.zeros(4 * units, np.float32))
weights = SequenceWeights((layer,), np.zeros(units, np.float32), 0.0, False)
start = time.perf_counter()
stream = SequenceStream(weights)
stream.process(np.zeros(256, np.float32))
print(stream.loop, time.perf_counter() - start)
"""


def first_call_seconds(loop: str, units: int, cache: str) -> float:
    """Wall-clock seconds of a fresh interpreter's first call of `loop` at `units` wide (NumPy and,
    for Numba, Numba imported beforehand), with its on-disk cache in `cache`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), DRYWET_STREAM_LOOP=loop, DRYWET_CACHE=cache, NUMBA_CACHE_DIR=cache)
    pre = "import numba\n" if loop == "numba" else ""
    out = subprocess.run([sys.executable, "-c", pre + _FIRST_CALL.format(units=units)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[-2] == loop, out
    return float(out[-1])


def timed(run, x: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(CPU seconds, wall seconds, output) of one call."""
    start, start_cpu = time.perf_counter(), time.process_time()
    y = run(x)
    return time.process_time() - start_cpu, time.perf_counter() - start, y


def stream_with(loop: str, weights, x: np.ndarray) -> np.ndarray:
    from drywet.lstm.stream import SequenceStream

    os.environ["DRYWET_STREAM_LOOP"] = loop
    try:
        stream = SequenceStream(weights)
    finally:
        del os.environ["DRYWET_STREAM_LOOP"]
    assert stream.loop == loop, f"the {loop} loop is not available here"
    return stream.process(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio timed per model (default 60)")
    parser.add_argument("--check-seconds", type=float, default=None,
                        help="audio compared with the float64 reference (default: all)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per loop and model; the best counts")
    parser.add_argument("--sizes", nargs="+", default=[f"{layers}x{units}" for layers, units in SIZES],
                        help="models as LAYERSxUNITS (default: 1x16 1x32 2x16 2x32)")
    parser.add_argument("--no-first-call", action="store_true", help="skip the fresh-interpreter first-call timings")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in size.lower().split("x")) for size in args.sizes]

    from drywet.bench.material import make_dry
    from drywet.lstm.stream import reference_sequence
    from drywet.lstm.weights import SequenceWeights

    first_calls = []
    for loop in () if args.no_first_call else ("c", "numba"):
        for units in (16, 32) if loop == "numba" else (32,):
            with tempfile.TemporaryDirectory() as empty:
                cold = first_call_seconds(loop, units, empty)
                warm = first_call_seconds(loop, units, empty)
            what = "C loop (every width)" if loop == "c" else f"Numba loop, {units} units"
            first_calls.append(f"{what}: {cold:.1f} s to compile, {warm:.2f} s from the cache")
    peak = peak_macs_per_second()
    dry = make_dry(args.seconds, SAMPLE_RATE, seed=0)
    n_check = dry.size if args.check_seconds is None else int(args.check_seconds * SAMPLE_RATE)
    seconds = dry.size / SAMPLE_RATE
    print(f"{seconds:g} s of bench material at {SAMPLE_RATE} Hz, one thread; {cpu_name()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start. Multiply-add limit of the core: "
          f"{peak / 1e9:.1f} G multiply-adds/s (benchmarks/fma_peak.c)\n")
    header = ("| model | skip | MACs/sample | Numba: Msamples/s | Numba: RTF | C: Msamples/s | C: RTF "
              "| C: RTF wall clock | C / Numba | limit RTF | C share of limit | max diff vs float64, Numba "
              "| max diff vs float64, C |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1), flush=True)
    for layers, units in sizes:
        for skip in (False, True):
            weights = SequenceWeights.from_keras(sequence_model(layers, units, skip=skip))
            runs = {loop: (lambda x, loop=loop, w=weights: stream_with(loop, w, x)) for loop in ("numba", "c")}
            for run in runs.values():
                run(dry[:4096])  # compiled or loaded outside the timing
            cpu = {name: np.inf for name in runs}
            wall = dict(cpu)
            outputs = {}
            for _ in range(args.repeats):
                for name, run in runs.items():
                    c, w, outputs[name] = timed(run, dry)
                    cpu[name], wall[name] = min(cpu[name], c), min(wall[name], w)
            exact = reference_sequence(weights, dry[:n_check])
            diff = {name: float(np.max(np.abs(y[:n_check] - exact))) for name, y in outputs.items()}
            macs = macs_per_sample(layers, units)
            limit = peak / macs / SAMPLE_RATE
            rtf = {name: seconds / cpu[name] for name in runs}
            print(f"| {layers}x{units} | {'yes' if skip else 'no'} | {macs:,} "
                  f"| {dry.size / cpu['numba'] / 1e6:.2f} | {rtf['numba']:.0f} "
                  f"| {dry.size / cpu['c'] / 1e6:.2f} | {rtf['c']:.0f} | {seconds / wall['c']:.0f} "
                  f"| {rtf['c'] / rtf['numba']:.2f} | {limit:.0f} | {rtf['c'] / limit:.0%} "
                  f"| {diff['numba']:.1e} | {diff['c']:.1e} |", flush=True)
    print("\nRTF: seconds of audio per second of CPU time (Msamples/s likewise). Limit RTF: the real-time factor "
          "if every cycle did the model's multiply-adds at the core's peak rate and nothing else (the "
          "activations, loads and stores cost extra)." + (" First call, in a fresh interpreter (wall clock): "
                                                          f"{'; '.join(first_calls)}." if first_calls else ""))


if __name__ == "__main__":
    main()
