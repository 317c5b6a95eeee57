"""Speed and accuracy of exact streaming (`drywet.stream`) on one thread, the old loop against the
new one, as Markdown tables.

    python -m benchmarks.stream_speed [--seconds 60] [--repeats 5] [--check-seconds S] [--baseline REV]

For sequence models 1x16, 1x32 and 2x32, each without and with the skip path (weights moved off
their initial values and scaled by fan-in as a trained model's are: tests/lstm_models.py), on the
virtual bench's dry program material at 44.1 kHz:

- samples per second and real-time factor of the compiled per-sample loop from the process's CPU
  time (best of --repeats; old and new timed alternately in one process, so background load hits
  both alike), and the new loop's real-time factor by the wall clock;
- the largest difference of each loop's output from the exact float64 carried-state run
  (`drywet.stream.reference_sequence`) over the first --check-seconds (default: all of it);
- apart, the first call's time: the new loop compiles once per layer width (then Numba reads it
  from its on-disk cache, as `python -m drywet process` does after its first run), measured in fresh
  interpreters with an empty and with the warm cache; the old loop compiles once;
- `drywet.inference.predict` end to end on 5 s of audio (what evaluate's `rtf_1thread` times, the
  reading of the weights included) against the old path, which read and Keras-checked the weights
  on every call.

The old loop is drywet/stream.py at git revision --baseline (default: the last version before the
speed work), read with `git show`. Every thread pool is pinned to one thread before import, and the
loop has no parallel sections, so everything below runs on one core.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 44100
SIZES = ((1, 16), (1, 32), (2, 32))
BASELINE = "d609bf4c31e19cd4c27d365059875d643512a14c"  # drywet/stream.py before the speed work
PREDICT_SECONDS = 5.0  # evaluate's rtf_seconds


def sequence_model(layers: int, units: int, skip: bool, seed: int = 0, input_gain: float = 8.0):
    """A trained-looking sequence model in drywet's layout (tests/lstm_models.py builds it), its
    audio weights scaled by `input_gain`, as training on quiet guitar material leaves them."""
    from tests.lstm_models import sequence_model as build

    return build(layers, units, 1, skip, seed, input_gain)


def load_baseline(rev: str) -> types.ModuleType:
    """drywet/stream.py as it was at git revision `rev`, as a module (its Numba cache turned off: the
    source is not a file)."""
    source = subprocess.run(["git", "show", f"{rev}:drywet/stream.py"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    module = types.ModuleType("stream_baseline")
    module.__file__ = f"<{rev[:10]}:drywet/stream.py>"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source.replace("cache=True", "cache=False"), module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module


_FIRST_CALL = """
import time
import numpy as np
from drywet.stream import LstmLayer, SequenceStream, SequenceWeights
units = {units}
layer = LstmLayer(np.zeros((1, 4 * units), np.float32), np.zeros((units, 4 * units), np.float32),
                  np.zeros(4 * units, np.float32))
weights = SequenceWeights((layer,), np.zeros(units, np.float32), 0.0, False)
start = time.perf_counter()
SequenceStream(weights).process(np.zeros(256, np.float32))
print(time.perf_counter() - start)
"""


def first_call_seconds(units: int, cache_dir: str | None = None) -> float:
    """Wall-clock seconds of the new loop's first call at `units` wide in a fresh interpreter (Numba
    imported beforehand), with its on-disk cache in `cache_dir` (None: the usual place)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", "import numba\n" + _FIRST_CALL.format(units=units)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def macs_per_sample(layers: int, units: int) -> int:
    macs, n_in = 0, 1
    for _ in range(layers):
        macs += 4 * units * (n_in + units)
        n_in = units
    return macs + units


def timed(run, x: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(CPU seconds, wall seconds, output) of one call."""
    start, start_cpu = time.perf_counter(), time.process_time()
    y = run(x)
    return time.process_time() - start_cpu, time.perf_counter() - start, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio timed per model (default 60)")
    parser.add_argument("--check-seconds", type=float, default=None,
                        help="audio compared with the float64 reference (default: all)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per loop and model; the best counts")
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the old drywet/stream.py")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from drywet.bench.material import make_dry
    from drywet.inference import predict
    from drywet.meta import ModelMeta
    from drywet.stream import SequenceStream, SequenceWeights, reference_sequence

    old = load_baseline(args.baseline)
    first_calls = []
    for units in sorted({units for _, units in SIZES}):
        with tempfile.TemporaryDirectory() as empty:
            cold = first_call_seconds(units, empty)
        first_call_seconds(units)  # fills the usual cache, if it was empty
        first_calls.append(f"{units} units: {cold:.1f} s to compile, {first_call_seconds(units):.2f} s from the cache")
    zeros = old.LstmLayer(np.zeros((1, 128), np.float32), np.zeros((32, 128), np.float32), np.zeros(128, np.float32))
    start = time.perf_counter()
    old.SequenceStream(old.SequenceWeights((zeros,), np.zeros(32, np.float32), 0.0, False)).process(np.zeros(256))
    first_calls.append(f"old loop: {time.perf_counter() - start:.1f} s to compile (all widths)")
    dry = make_dry(args.seconds, SAMPLE_RATE, seed=0)
    n_check = dry.size if args.check_seconds is None else int(args.check_seconds * SAMPLE_RATE)
    seconds = dry.size / SAMPLE_RATE
    print(f"{seconds:g} s of bench material at {SAMPLE_RATE} Hz, one thread, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the start; old loop: drywet/stream.py at {args.baseline[:10]}\n")
    header = ("| model | skip | MACs/sample | old: Msamples/s | old: RTF | new: Msamples/s | new: RTF "
              "| new: RTF wall clock | speed-up | max diff vs float64, old | max diff vs float64, new |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1), flush=True)
    predict_rows = []
    for layers, units in SIZES:
        for skip in (False, True):
            model = sequence_model(layers, units, skip)
            new_w = SequenceWeights.from_keras(model)  # checks against Keras (and compiles) outside the timing
            old_w = old.SequenceWeights.from_keras(model)
            runs = {"old": lambda x, w=old_w: old.SequenceStream(w).process(x),
                    "new": lambda x, w=new_w: SequenceStream(w).process(x)}
            cpu = {name: np.inf for name in runs}
            wall = dict(cpu)
            outputs = {}
            for _ in range(args.repeats):
                for name, run in runs.items():
                    c, w, outputs[name] = timed(run, dry)
                    cpu[name], wall[name] = min(cpu[name], c), min(wall[name], w)
            exact = reference_sequence(new_w, dry[:n_check])
            diff = {name: float(np.max(np.abs(y[:n_check] - exact))) for name, y in outputs.items()}
            print(f"| {layers}x{units} | {'yes' if skip else 'no'} | {macs_per_sample(layers, units):,} "
                  f"| {dry.size / cpu['old'] / 1e6:.2f} | {seconds / cpu['old']:.0f} "
                  f"| {dry.size / cpu['new'] / 1e6:.2f} | {seconds / cpu['new']:.0f} | {seconds / wall['new']:.0f} "
                  f"| {cpu['old'] / cpu['new']:.2f} | {diff['old']:.1e} | {diff['new']:.1e} |", flush=True)
            if skip:
                meta = ModelMeta(effect="bench", kind="sequence", structure=f"l{layers}_u{units}", layers=layers,
                                 units=units, frame=32, sample_rate=SAMPLE_RATE, oversample=1, epochs=1,
                                 train_examples=0, supervised_samples=0, params=0, skip=skip)
                probe = dry[:int(PREDICT_SECONDS * SAMPLE_RATE)]
                calls = {"old": lambda x, m=model: old.stream_model(m, None, x),
                         "new": lambda x, m=model, meta=meta: predict(m, meta, x)}
                best = {name: np.inf for name in calls}
                for _ in range(args.repeats):
                    for name, call in calls.items():
                        best[name] = min(best[name], timed(call, probe)[0])
                predict_rows.append(f"| {layers}x{units} | {PREDICT_SECONDS / best['old']:.0f} "
                                    f"| {PREDICT_SECONDS / best['new']:.0f} |")
    print("\nRTF: seconds of audio per second of CPU time (Msamples/s likewise). First call of the new loop, "
          f"per width (wall clock): {'; '.join(first_calls)}.\n")
    print(f"`drywet.inference.predict` on {PREDICT_SECONDS:g} s (skip models; RTF from CPU time, best of "
          f"{args.repeats}):\n")
    print("| model | old path: stream_model per call | new: inference.predict |\n|---|---|---|")
    print("\n".join(predict_rows))


if __name__ == "__main__":
    main()
