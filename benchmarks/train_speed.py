"""Training throughput: the ways to run a training step, measured side by side in one run.

    python -m benchmarks.train_speed [--kinds framed sequence] [--structures l1_u32_f32 ...]
        [--epochs 2] [--torch .venv-nam/bin/python] [--out FILE]

Framed kind (the study's recipe: `frame.count` frames, batch 256, Adam, MSE), frames/s:
  keras     the seed's path (`train.kernel: keras`): keras.layers.LSTM (a while_loop over the frame's steps)
  unroll    the same layer with unroll=True (one graph node per step)
  xla       unroll=True plus jit_compile=True (XLA)
  fused     drywet.lstm.block's BlockLSTM kernel (one op per pass over the frame)
  spe       today's path with Keras's steps_per_execution=32 (32 batches per graph call)
  unroll-spe  unroll=True and steps_per_execution=32
  fused-spe   the fused kernel and steps_per_execution=32
  cpu       drywet.lstm.cpu's C kernel (a frame at a time in cache, the batch in two halves on two threads)
  cpu-spe   the C kernel and steps_per_execution=32: what `train.kernel: cpu` (the default) trains with
  b2048     today's path at batch 2048 (not the seed's batch; listed for scale only)
Sequence kind (the `train_sequence` recipe's shapes: segments of 2048, batch 32), scored samples/s:
  keras     keras.layers.LSTM over each segment
  fused     drywet.lstm.block's BlockLSTM kernel, what `train` uses
  torch     PyTorch's nn.LSTM + nn.Linear with Adam, the engine of NAM and Automated-GuitarAmpModelling,
            run by the --torch interpreter (e.g. the .venv-nam of `make test-nam`); skipped without it
Every variant trains the same model from the same initial weights on the same synthetic signal
(an LSTM's cost does not depend on what it hears); one untimed warm-up epoch, then --epochs timed
(framed: from each epoch's start to its end, within one `fit`).
Each framed measurement runs in a fresh process with TensorFlow's threads set as the train stage
sets them for its kernel. Variants alternate per structure (and, with --rounds N, N times over, the
cells giving the medians: on a shared VM the same code's speed drifts by a third from one minute to
the next), so background load hits them alike; rerun on an idle machine for absolute numbers.
Framed cells give frames/s by the wall clock and, in brackets, frames per CPU-second of the process
(both cores count): the fairer figure when other jobs share the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TORCH_SCRIPT = r"""
import json, sys, time
import numpy as np, torch
layers, units, segment, warmup, batch, n_seg, epochs = (int(v) for v in sys.argv[1:8])
torch.manual_seed(1)
rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((n_seg, segment, 1)).astype(np.float32) * 0.3)
y = torch.tanh(3 * x)
rec = torch.nn.LSTM(1, units, layers, batch_first=True)
lin = torch.nn.Linear(units, 1)
opt = torch.optim.Adam(list(rec.parameters()) + list(lin.parameters()), 5e-3)
def epoch():
    for i in range(0, n_seg, batch):
        out = lin(rec(x[i:i + batch])[0])
        loss = torch.mean((out[:, warmup:] - y[i:i + batch, warmup:]) ** 2)
        opt.zero_grad(); loss.backward(); opt.step()
epoch()
t = time.perf_counter()
for _ in range(epochs):
    epoch()
dt = time.perf_counter() - t
print(json.dumps({"per_s": epochs * n_seg * (segment - warmup) / dt, "threads": torch.get_num_threads()}))
"""


def _framed(structure, variant: str, frames: int, epochs: int) -> tuple[float, float]:
    """(frames/s by the wall clock, frames per CPU-second) of `variant`."""
    import keras

    from drywet.kinds.common import make_esr_metric
    from drywet.kinds.framed import build_model, framed_dataset
    from drywet.lstm.kernels import twin
    from drywet.train import set_determinism

    set_determinism(1)
    rng = np.random.default_rng(0)
    n = max(4 * frames, 200_000)
    dry = (rng.standard_normal(n) * 0.3).astype(np.float32)
    wet = np.tanh(3 * dry)
    starts = rng.choice(n - structure.frame, frames, replace=False)
    batch = 2048 if variant == "b2048" else 256
    keras.utils.set_random_seed(1)
    model = build_model(structure)
    if variant in ("unroll", "xla", "unroll-spe"):
        for layer in model.layers:
            if isinstance(layer, keras.layers.LSTM):
                layer.unroll = True
    if variant in ("fused", "fused-spe"):
        model = twin(model, "block")
    if variant in ("cpu", "cpu-spe"):
        model = twin(model, "cpu")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=[make_esr_metric(0)],
                  jit_compile=variant == "xla", steps_per_execution=32 if variant.endswith("spe") else 1)
    ds = framed_dataset(dry, wet, starts, structure.frame, batch, 1)
    clock = _epoch_clock()
    model.fit(ds, epochs=1 + epochs, verbose=0, callbacks=[clock])  # epoch 1 (tracing) is not timed
    wall, cpu = (sum(v[1:]) for v in (clock.wall, clock.cpu))
    return epochs * frames / wall, epochs * frames / cpu


def _framed_process(structure: str, variant: str, frames: int, epochs: int) -> tuple[float, float]:
    """`_framed` in a fresh process, its TensorFlow threads set as the train stage sets them for the
    variant's kernel (`train.configure_threads`)."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.train_speed", "--measure", structure, variant,
                           "--frames", str(frames), "--epochs", str(epochs)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{structure} {variant}: {proc.stderr.strip().splitlines()[-1:]}")
    return tuple(json.loads(proc.stdout.strip().splitlines()[-1]))


def _epoch_clock():
    """A new EpochClock callback (Keras is imported on first use)."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        """Wall and CPU seconds of each epoch, from its first batch to its end (what a long training
        repeats; the one-off start and end of `fit` are not in them)."""

        def __init__(self):
            super().__init__()
            self.wall, self.cpu = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._t, self._c = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.wall.append(time.perf_counter() - self._t)
            self.cpu.append(time.process_time() - self._c)

    return EpochClock()


def _sequence(structure, variant: str, segments: int, epochs: int, segment: int, warmup: int, batch: int) -> float:
    import keras

    from drywet.kinds.sequence import build_model, sequence_loss
    from drywet.lstm.kernels import twin
    from drywet.train import set_determinism

    set_determinism(1)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((segments, segment, 1)) * 0.3).astype(np.float32)
    y = np.tanh(3 * x)
    keras.utils.set_random_seed(1)
    model = build_model(structure)
    if variant == "fused":
        model = twin(model, "block")
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss=sequence_loss(warmup, "mse"))
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, shuffle=False)
    return epochs * segments * (segment - warmup) / (time.perf_counter() - t)


def _torch(python: str, structure, segments: int, epochs: int, segment: int, warmup: int, batch: int) -> float | None:
    args = [str(v) for v in (structure.layers, structure.units, segment, warmup, batch, segments, epochs)]
    proc = subprocess.run([python, "-c", TORCH_SCRIPT, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"torch run failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["per_s"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", nargs="+", default=["framed", "sequence"])
    ap.add_argument("--structures", nargs="+", default=None)
    ap.add_argument("--frames", type=int, default=40_000, help="framed: frames per epoch (the study's default)")
    ap.add_argument("--segments", type=int, default=320, help="sequence: segments per epoch")
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs per variant")
    ap.add_argument("--rounds", type=int, default=1,
                    help="framed: measure every variant this many times, alternating; cells give the medians")
    ap.add_argument("--framed-variants", nargs="+",
                    default=["keras", "unroll", "xla", "fused", "spe", "unroll-spe", "fused-spe", "b2048"])
    ap.add_argument("--torch", default=".venv-nam/bin/python", help="a Python with PyTorch ('' to skip)")
    ap.add_argument("--out", default=None, help="also write the Markdown table here")
    ap.add_argument("--measure", nargs=2, metavar=("STRUCTURE", "VARIANT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    from drywet import quiet_tensorflow

    quiet_tensorflow()
    if args.measure:  # one framed measurement, in its own process (see _framed_process)
        from drywet.models import get_structure
        from drywet.train import configure_threads

        name, variant = args.measure
        configure_threads("cpu" if variant.startswith("cpu") else None)
        print(json.dumps(_framed(get_structure(name), variant, args.frames, args.epochs)))
        return 0
    import tensorflow as tf

    from drywet.models import STRUCTURES, get_structure

    names = args.structures or list(STRUCTURES)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    lines = [f"device: {device}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}", ""]
    if "framed" in args.kinds:
        cols = args.framed_variants
        lines += ["| framed structure | " + " | ".join(f"{c} frames/s" for c in cols)
                  + " | best / keras (wall) | best / keras (CPU) |", "|---|" + "---:|" * (len(cols) + 2)]
        for name in names:
            s = get_structure(name)
            runs = {v: [] for v in cols}
            for _ in range(args.rounds):  # variants alternate within each round
                for v in cols:
                    runs[v].append(_framed_process(name, v, args.frames, args.epochs))
            rates = {v: (float(np.median([r[0] for r in rs])), float(np.median([r[1] for r in rs])))
                     for v, rs in runs.items()}
            seed_batch = {v: r for v, r in rates.items() if v != "b2048"}
            wall = max(seed_batch, key=lambda v: seed_batch[v][0])
            cpu = max(seed_batch, key=lambda v: seed_batch[v][1])
            lines.append(f"| {name} | " + " | ".join(f"{rates[c][0]:,.0f} ({rates[c][1]:,.0f})" for c in cols)
                         + f" | {wall} {seed_batch[wall][0] / rates['keras'][0]:.2f}x"
                         + f" | {cpu} {seed_batch[cpu][1] / rates['keras'][1]:.2f}x |")
            print(lines[-1], flush=True)
        lines.append("")
    if "sequence" in args.kinds:
        segment, warmup, batch = 2048, 256, 32
        torch_py = args.torch if args.torch and Path(args.torch).exists() else None
        lines += ["| sequence structure | keras samples/s | fused samples/s | torch samples/s | fused / keras |"
                  " fused / torch |", "|---|---:|---:|---:|---:|---:|"]
        for name in names:
            s = get_structure(name)
            keras_rate = _sequence(s, "keras", args.segments, args.epochs, segment, warmup, batch)
            fused_rate = _sequence(s, "fused", args.segments, args.epochs, segment, warmup, batch)
            torch_rate = _torch(torch_py, s, args.segments, args.epochs, segment, warmup, batch) if torch_py else None
            t = f"{torch_rate:,.0f}" if torch_rate else "-"
            ratio = f"{fused_rate / torch_rate:.2f}x" if torch_rate else "-"
            lines.append(f"| {name} | {keras_rate:,.0f} | {fused_rate:,.0f} | {t} | "
                         f"{fused_rate / keras_rate:.2f}x | {ratio} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
