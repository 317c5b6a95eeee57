"""`python -m drywet capture` on recordings it has never seen, with no options, timed end to end.

    python -m benchmarks.capture_cases [--cases amp clipper drive1] [--work DIR] [-- capture options]

Each case renders a recording pair (`benchmarks.make_recording`: a high-gain amp into a cabinet,
173 s at 48 kHz, 64 samples late; a Klon-like hard clipper, 127 s at 44.1 kHz; a drive with 1st-order
filters on plucked notes, 120 s at 48 kHz, 137 samples late), copies the repository's git-visible
files into a fresh git repository under --work, runs the capture there as a player would and prints
a Markdown table: the model the trials chose, epochs, alignment error against the chain's truth
(samples; the window is [-1, +0.25]), test ESR and verdict, and the command's wall time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.make_recording import render
from drywet.audio import write_wav
from drywet.meta import ModelMeta
from drywet.pipeline.contracts import AlignFile, QualityMetrics

ROOT = Path(__file__).resolve().parents[1]
# name -> (chain, seconds, seed)
CASES = {"amp": ("amp", 173.0, 7), "clipper": ("clipper", 127.0, 8), "drive1": ("drive1", 120.0, 9)}


def copy_repo(dest: Path) -> Path:
    """The repository's git-visible files (code, params, dvc.yaml) in a fresh git repository."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        if (ROOT / rel).is_file() and not rel.startswith(("data/", "models/", "exports/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    (dest / "dvc.lock").unlink(missing_ok=True)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "copy"]):
        subprocess.run(cmd, cwd=dest, check=True)
    return dest


def run_case(name: str, work: Path, extra: list[str]) -> dict:
    """Render the case, capture it in a fresh copy, and read what the capture measured."""
    chain, seconds, seed = CASES[name]
    dry, wet, truth = render(chain, seconds, seed=seed)
    rec = work / f"{name}-take"
    rate = truth["sample_rate"]
    write_wav(rec / "dry.wav", dry, rate)
    write_wav(rec / "wet.wav", wet, rate)
    repo = copy_repo(work / f"{name}-repo")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "drywet", "capture", name, str(rec / "dry.wav"),
                           str(rec / "wet.wav"), *extra], cwd=repo, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    (work / f"{name}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        return {"case": name, "error": (proc.stdout + proc.stderr).strip().splitlines()[-1], "wall_s": wall}
    metrics = QualityMetrics.load(repo / "metrics" / f"{name}.json").values
    align = AlignFile.load(repo / "metrics" / "align" / f"{name}.json")
    meta = ModelMeta.load(repo / "models" / name)
    chosen = [line.strip() for line in proc.stdout.splitlines() if " wins " in line or "validation ESR" in line]
    return {"case": name, "model": f"{meta.kind}/{meta.structure}", "epochs": meta.epochs,
            "align_error": round(float(align.latency_samples) - float(truth["latency_samples"]), 3),
            "esr": metrics["esr"], "verdict": metrics.get("verdict"), "wall_s": round(wall, 1),
            "trials": chosen, "exports": metrics.get("exports")}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.capture_cases", description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", choices=tuple(CASES), default=list(CASES))
    ap.add_argument("--work", default=None, help="folder for the takes, copies and logs (default: a temp folder)")
    args, extra = ap.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    work = Path(args.work or tempfile.mkdtemp(prefix="drywet-capture-cases-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.cases:
        row = run_case(name, work, extra)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| case | model chosen | epochs | alignment error | test ESR | verdict | wall time |")
    print("|---|---|---:|---:|---:|---|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['case']} | failed: {r['error']} | | | | | {r['wall_s'] / 60:.1f} min |")
            continue
        print(f"| {r['case']} | {r['model']} | {r['epochs']} | {r['align_error']:+.3f} | {r['esr']:.4g} | "
              f"{r['verdict']} | {r['wall_s'] / 60:.1f} min |")
    print(f"\nlogs and copies: {work}")


if __name__ == "__main__":
    main()
