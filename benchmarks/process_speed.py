"""`python -m drywet process` end to end, where a user waits: a long WAV through a sequence model on
one core, start-up included, as Markdown.

    python -m benchmarks.process_speed [--minutes 20] [--repeats 3] [--cpu 0] [--baseline REV | none]

Makes a dry WAV of the virtual bench's program material (--minutes long, 44.1 kHz, float) and a 1 s
one, and an untrained 1x32 and 2x32 sequence model with the skip path and the pipeline's 5 Hz
clean-up high-pass in model.json (speed does not depend on the weights), built with
`drywet.kinds.build_model` and saved with `drywet.inference.save_model`. Then times
`taskset -c CPU python -m drywet process MODEL IN.wav OUT.wav --no-progress` as a subprocess, the
wall clock and the child's CPU time and peak memory (os.wait4):

- cold: the first run on a machine, with empty caches (the C streaming loop compiled into drywet's,
  the high-pass into Numba's);
- warm: the median of --repeats runs after it;
- start-up: the same on the 1 s file (median of --repeats), i.e. imports, reading the model and
  loading the compiled code;
- the old path, drywet at git revision --baseline (default: the last one before the C loop, which
  streamed in Numba; `none` skips it) extracted with `git archive` into a temporary folder (the
  working tree is not touched). Timed after a warm-up run on the 1 s file (its caches filled), median
  of --repeats, alternating with nothing else; the largest difference between its output and the new
  one is reported.

Real-time factor: seconds of audio per second of wall clock (and of the child's CPU time).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 44100
HIGHPASS_HZ = 5.0  # params.yaml align.highpass_hz: what a pipeline-trained model's model.json carries
MODELS = ("l1_u32_f32", "l2_u32_f64")  # 1x32 and 2x32 (the frame size means nothing to a sequence model)
BASELINE = "1fd8d30"  # drywet before the C streaming loop (Numba's loop, models read without Keras)


def peak_macs_per_second(repeats: int = 5) -> float:
    """The core's peak fused multiply-add rate (multiply-adds per second, each vector lane counted)."""
    from drywet import native

    lib = native.compile_library(Path(__file__).with_name("fma_peak.c"))
    lib.drywet_fma_peak.restype = ctypes.c_double
    lib.drywet_fma_peak.argtypes = [ctypes.c_long]
    lib.drywet_fma_peak(1_000_000)
    best = 0.0
    for _ in range(repeats):
        start = time.process_time()
        done = lib.drywet_fma_peak(40_000_000)
        best = max(best, done / (time.process_time() - start))
    return best


def make_inputs(work: Path, minutes: float) -> tuple[Path, Path]:
    """The long dry WAV and a 1 s one (bench material), written once per work folder."""
    from drywet.audio import write_wav
    from drywet.bench.material import make_dry

    long_wav, short_wav = work / f"dry_{minutes:g}min.wav", work / "dry_1s.wav"
    if not long_wav.is_file():
        write_wav(long_wav, make_dry(60.0 * minutes, SAMPLE_RATE, seed=1), SAMPLE_RATE)
    if not short_wav.is_file():
        write_wav(short_wav, make_dry(1.0, SAMPLE_RATE, seed=2), SAMPLE_RATE)
    return long_wav, short_wav


def make_models(work: Path) -> dict[str, Path]:
    """Untrained sequence models (skip path, 5 Hz high-pass), saved as the train stage saves them."""
    from drywet.models import get_structure

    folders = {}
    for name in MODELS:
        s = get_structure(name)
        folder = work / name
        if not (folder / "model.keras").is_file():
            from drywet import quiet_tensorflow

            quiet_tensorflow()
            from drywet.inference import save_model
            from drywet.kinds import build_model
            from drywet.meta import ModelMeta

            model = build_model(s, "sequence", seed=0, skip=True)
            meta = ModelMeta(effect="bench", kind="sequence", structure=s.name, layers=s.layers, units=s.units,
                             frame=s.frame, sample_rate=SAMPLE_RATE, oversample=1, epochs=0, train_examples=0,
                             supervised_samples=0, params=model.count_params(), skip=True, highpass_hz=HIGHPASS_HZ)
            save_model(model, folder / "model.keras", meta)
        folders[f"{s.layers}x{s.units}"] = folder
    return folders


def old_drywet(rev: str, into: Path) -> Path:
    """The drywet package at git revision `rev`, extracted under `into` (git archive: no checkout)."""
    tar = subprocess.run(["git", "archive", rev, "drywet"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), or what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(cpu: int, model: Path, dry: Path, out: Path, env: dict) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one `python -m drywet process` in a fresh process on core `cpu`
    (os.wait4: the child's own CPU time and peak)."""
    cmd = ["taskset", "-c", str(cpu), sys.executable, "-m", "drywet", "process", str(model), str(dry), str(out),
           "--no-progress"]
    start = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=env["PWD"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    err = child.stderr.read().decode()
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def median_run(repeats: int, *args) -> tuple[float, float, float]:
    runs = [run(*args) for _ in range(repeats)]
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))


def row(path: str, model: str, what: str, seconds: float, timing: tuple[float, float, float]) -> str:
    wall, cpu, rss = timing
    return (f"| {path} | {model} | {what} | {wall:.2f} | {cpu:.2f} | {seconds / wall:.0f} | {seconds / cpu:.0f} "
            f"| {rss:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="length of the long dry WAV (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per measurement; the median counts")
    parser.add_argument("--cpu", type=int, default=0, help="the core every run is pinned to (taskset -c)")
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the old path, or `none`")
    parser.add_argument("--work", default=None, help="folder for the WAVs and models (default: a temporary one)")
    args = parser.parse_args()
    if shutil.which("taskset") is None:
        raise SystemExit("taskset (util-linux) is needed to pin the runs to one core")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        work = Path(args.work) if args.work else tmp / "work"
        work.mkdir(parents=True, exist_ok=True)
        # made in a child process: a child's peak RSS counts the peak of the process it was started from
        subprocess.run([sys.executable, "-c", f"from benchmarks.process_speed import make_inputs, make_models; "
                        f"from pathlib import Path; make_inputs(Path({str(work)!r}), {args.minutes!r}); "
                        f"make_models(Path({str(work)!r}))"], cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
        long_wav, short_wav = make_inputs(work, args.minutes)
        models = make_models(work)
        seconds = args.minutes * 60.0
        load = os.getloadavg()[0]
        print(f"`python -m drywet process` on {args.minutes:g} min of bench material at {SAMPLE_RATE} Hz (float "
              f"WAV), untrained sequence models with skip and a {HIGHPASS_HZ:g} Hz high-pass, pinned to core "
              f"{args.cpu}; {cpu_name()}, {os.cpu_count()} cores, load average "
              f"{load:.1f} at the start\n")
        header = "| path | model | run | wall s | CPU s | RTF (wall) | RTF (CPU) | peak RSS MiB |"
        print(header)
        print("|" + "---|" * (header.count("|") - 1), flush=True)
        new_env = dict(os.environ, PWD=str(ROOT), PYTHONPATH=str(ROOT))
        outputs = {}
        for label, model in models.items():
            env = dict(new_env, NUMBA_CACHE_DIR=str(tmp / f"numba-new-{label}"),  # empty: the first run compiles
                       DRYWET_CACHE=str(tmp / f"drywet-new-{label}"))
            out = tmp / f"new-{label}.wav"
            print(row("new", label, f"cold ({args.minutes:g} min)", seconds,
                      run(args.cpu, model, long_wav, out, env)), flush=True)
            print(row("new", label, f"warm ({args.minutes:g} min, median of {args.repeats})", seconds,
                      median_run(args.repeats, args.cpu, model, long_wav, out, env)), flush=True)
            print(row("new", label, f"start-up (1 s file, median of {args.repeats})", 1.0,
                      median_run(args.repeats, args.cpu, model, short_wav, tmp / "short.wav", env)), flush=True)
            outputs[label] = out
        diffs = []
        if args.baseline != "none":
            old_root = old_drywet(args.baseline, tmp / "old")
            old_env = dict(os.environ, PWD=str(old_root), PYTHONPATH=str(old_root),
                           NUMBA_CACHE_DIR=str(tmp / "numba-old"), DRYWET_CACHE=str(tmp / "drywet-old"))
            from drywet.audio import read_wav

            for label, model in models.items():
                out = tmp / f"old-{label}.wav"
                run(args.cpu, model, short_wav, out, old_env)  # fills the old loop's Numba cache
                print(row(f"old ({args.baseline[:7]})", label, f"warm ({args.minutes:g} min, median of "
                          f"{args.repeats})", seconds, median_run(args.repeats, args.cpu, model, long_wav, out,
                                                                  old_env)), flush=True)
                new, _ = read_wav(outputs[label])
                old, _ = read_wav(out)
                diffs.append(f"{label} {float(np.max(np.abs(new - old))):.1e}")
        print("\nRTF: seconds of audio per second of the child's wall clock (CPU: its user + system time); "
              "start-up rows: 1 s of audio. Peak RSS: the child's.")
        if diffs:
            print(f"Largest difference between the new and the old output over the whole file: {'; '.join(diffs)}.")


if __name__ == "__main__":
    main()
