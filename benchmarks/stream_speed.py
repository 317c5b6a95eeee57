"""Speed and accuracy of exact streaming (`drywet.stream`) on one thread, as a Markdown table.

    python -m benchmarks.stream_speed [--seconds 60] [--check-seconds 5] [--chunked]

For 1x16, 1x32 and 2x32 sequence models (weights moved off their initial values, scaled by fan-in
as a trained model's are) on the virtual bench's dry program material at 44.1 kHz: the real-time
factor (seconds of audio per second, best of --repeats) of the compiled per-sample loop, by the
wall clock and by the process's CPU time (the second is what the loop costs when other jobs share
the cores), and its largest difference from Keras running the first --check-seconds as one
sequence (the exact carried-state output). --chunked also times `predict_sequence` below, the
chunked TensorFlow path that prediction used before. Every thread pool is pinned to one thread
before import.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

SAMPLE_RATE = 44100
SIZES = ((1, 16), (1, 32), (2, 32))


def sequence_model(layers: int, units: int, skip: bool = True, seed: int = 0, input_gain: float = 8.0):
    """A trained-looking sequence model in drywet's layout (tests/lstm_models.py builds it), its
    audio weights scaled by `input_gain`, as training on quiet guitar material leaves them."""
    from tests.lstm_models import sequence_model as build

    return build(layers, units, 1, skip, seed, input_gain)


def predict_sequence(model, dry: np.ndarray, chunk: int = 16384, warmup: int = 2048,
                     batch_size: int = 64) -> np.ndarray:
    """The former sequence prediction, for comparison: parallel chunks that each start `warmup`
    samples early so the LSTM state has settled (approximate; drywet.stream is exact)."""
    import tensorflow as tf

    n = len(dry)
    x = np.concatenate([np.zeros(warmup, np.float32), np.asarray(dry, np.float32),
                        np.zeros(chunk, np.float32)])
    starts = np.arange(0, n, chunk)
    call = tf.function(lambda b: model(b, training=False), reduce_retracing=True)
    out = np.empty(len(starts) * chunk, np.float32)
    for b in range(0, len(starts), batch_size):
        s = starts[b:b + batch_size]
        batch = np.stack([x[i:i + warmup + chunk] for i in s])[..., None]
        y = call(tf.constant(batch)).numpy()[:, warmup:, 0]
        out[b * chunk:(b + len(s)) * chunk] = y.reshape(-1)
    return out[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio timed per model (default 60)")
    parser.add_argument("--check-seconds", type=float, default=5.0,
                        help="audio compared with Keras' exact output (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per model; the best counts")
    parser.add_argument("--chunked", action="store_true", help="also time predict_sequence (TensorFlow)")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from drywet.bench.material import make_dry
    from drywet.stream import SequenceStream, SequenceWeights

    dry = make_dry(args.seconds, SAMPLE_RATE, seed=0)
    n_check = int(args.check_seconds * SAMPLE_RATE)
    print(f"{args.seconds:g} s of bench material at {SAMPLE_RATE} Hz, one thread, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    header = ("| model | MACs/sample | ns/sample (CPU) | RTF wall | RTF CPU time | max abs diff vs Keras "
              "| output std |")
    if args.chunked:
        header += " chunked TF RTF CPU time |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for layers, units in SIZES:
        model = sequence_model(layers, units)
        weights = SequenceWeights.from_keras(model)  # also compiles (or loads) the loop
        wall = cpu = float("inf")
        for _ in range(args.repeats):
            stream = SequenceStream(weights)
            start, start_cpu = time.perf_counter(), time.process_time()
            y = stream.process(dry)
            wall = min(wall, time.perf_counter() - start)
            cpu = min(cpu, time.process_time() - start_cpu)
        # one graph call over the whole piece: Keras' own carried-state output (eager would step in Python)
        call = tf.function(lambda b, m=model: m(b, training=False))
        exact = call(tf.constant(dry[None, :n_check, None])).numpy()[0, :, 0]
        diff = float(np.max(np.abs(y[:n_check] - exact)))
        macs, n_in = 0, 1
        for _ in range(layers):
            macs += 4 * units * (n_in + units)
            n_in = units
        macs += units
        seconds = dry.size / SAMPLE_RATE
        row = (f"| {layers}x{units} | {macs:,} | {1e9 * cpu / dry.size:.0f} | {seconds / wall:.0f} | "
               f"{seconds / cpu:.0f} | {diff:.1e} | {np.std(exact):.3f} |")
        if args.chunked:
            start = time.process_time()
            predict_sequence(model, dry)
            row += f" {seconds / (time.process_time() - start):.0f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
