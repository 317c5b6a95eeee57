"""Inference cost of a trained model: real-time factor (seconds of audio per second of compute) with
TensorFlow's default thread pools or pinned to one thread, and the size of the saved model.

`python -m drywet.cost MODEL [--seconds S] [--threads N]` prints one JSON line, e.g. {"rtf": 12.3, ...}.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from drywet import quiet_tensorflow
from drywet.errors import DrywetError, InputError, run_main
from drywet.meta import ModelMeta

DEFAULT_SAMPLE_RATE = 44100


class CostError(DrywetError):
    """The cost measurement itself failed (the measuring subprocess died or printed no result)."""


def probe_signal(n_samples: int, sample_rate: int = DEFAULT_SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """Deterministic guitar-ish input: a seeded pluck (decaying partials) every 0.5 s plus a little noise,
    peak about 0.3. The LSTM's cost does not depend on the content; only the level has to be plausible."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / float(sample_rate)
    pluck = (t // 0.5).astype(np.int64)
    f0 = 110.0 * 2.0 ** (rng.integers(0, 24, int(pluck[-1]) + 1 if n_samples else 1) / 12.0)
    f = f0[pluck]
    x = 0.3 * np.exp(-4.0 * (t - 0.5 * pluck)) * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t))
    return (x / 1.3 + 0.01 * rng.standard_normal(n_samples)).astype(np.float32)


def measure_rtf(model, meta: ModelMeta, sample_rate: int, seconds: float = 5.0, repeats: int = 2,
                batch_size: int = 8192) -> float:
    """Real-time factor of `drywet.inference.predict` (a knob model with its knobs at mid travel:
    their values fold into a bias and cost nothing): seconds of audio at `sample_rate` processed per
    second of wall-clock compute (> 1 is faster than real time). Best of `repeats` timed calls, after one
    warm-up call on a short excerpt, so TF's one-time start-up is not counted (each `predict` call still
    traces its own tf.function, a few tens of ms, as a real call does)."""
    from drywet.inference import predict

    n = int(round(seconds * sample_rate))
    if n < 1 or repeats < 1:
        raise CostError(f"cost: need seconds > 0 and repeats >= 1 (got {seconds}, {repeats})")
    knobs = {k: 0.5 for k in getattr(meta, "knobs", ()) or ()} or None

    def run(x: np.ndarray) -> np.ndarray:
        return predict(model, meta, x, batch_size, knobs=knobs)

    dry = probe_signal(n, sample_rate)
    run(dry[:min(n, sample_rate // 2 or 1)])
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(dry)
        best = min(best, time.perf_counter() - t0)
    return (n / sample_rate) / best


def model_size_kib(path: str | os.PathLike) -> float:
    """Size of a saved model in KiB: the file, or every file under a model folder."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size / 1024
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024
    raise InputError(f"{path}: model not found")


def _model_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    file = path / "model.keras" if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"{file}: model file not found")
    return file


def rtf_single_thread(model_path: str, seconds: float = 5.0, sample_rate: int | None = None,
                      repeats: int = 2, timeout_s: float = 900.0) -> float:
    """Real-time factor with TensorFlow pinned to one thread (a plug-in's audio thread, roughly).

    TF's thread pools are fixed when TF initialises, so this runs `python -m drywet.cost` in a fresh
    interpreter and reads the JSON line it prints.
    """
    _model_file(model_path)
    return _run_subprocess(model_path, seconds, threads=1, sample_rate=sample_rate, repeats=repeats,
                           timeout_s=timeout_s)["rtf"]


def _run_subprocess(model_path: str, seconds: float, threads: int, sample_rate: int | None,
                    repeats: int, timeout_s: float) -> dict:
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cmd = [sys.executable, "-m", "drywet.cost", str(model_path), "--seconds", str(seconds),
           "--threads", str(threads), "--repeats", str(repeats)]
    if sample_rate is not None:
        cmd += ["--sample-rate", str(sample_rate)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise CostError(f"{model_path}: cost measurement took longer than {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        why = lines[-1].strip().removeprefix("error: ") if lines else f"exit status {proc.returncode}"
        raise CostError(f"{model_path}: cost measurement failed: {why}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(result, dict) and "rtf" in result:
                return result
    raise CostError(f"{model_path}: cost measurement printed no result")


def _pin_threads(threads: int) -> None:
    """Fix TF's thread pools; must run before TF executes anything (hence before loading a model)."""
    if threads > 0:
        for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ[var] = str(threads)
    import tensorflow as tf

    if threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def main(argv: list[str] | None = None) -> int:
    """`python -m drywet.cost MODEL`: print {"rtf", "threads", "seconds", "sample_rate"} as one JSON line."""
    ap = argparse.ArgumentParser(prog="python -m drywet.cost",
                                 description="Print the real-time factor of a saved model as one JSON line.")
    ap.add_argument("model", help="model.keras file, or the folder holding it and model.json")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds of test audio (default 5)")
    ap.add_argument("--threads", type=int, default=0, help="TF intra/inter-op threads (0 = TF default)")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs; the best counts (default 2)")
    ap.add_argument("--sample-rate", type=int, default=None,
                    help="Hz (default: the model's, from model.json, else 44100)")
    ap.add_argument("--batch-size", type=int, default=8192, help="framed models: frames per batch")
    args = ap.parse_args(argv)
    quiet_tensorflow()
    _pin_threads(args.threads)
    from drywet.inference import load_model

    model, meta = load_model(_model_file(args.model))
    sr = args.sample_rate or meta.sample_rate
    rtf = measure_rtf(model, meta, sr, args.seconds, args.repeats, args.batch_size)
    print(json.dumps({"rtf": round(rtf, 4), "threads": args.threads, "seconds": args.seconds,
                      "sample_rate": sr}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
