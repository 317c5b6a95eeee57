"""The study as DVC experiments: queue a grid of parameter sets, then gather every experiment's
params and metrics into one table (one row per experiment and effect) with the findings figures.

    python -m drywet.study queue --preset small      # dvc exp run --queue -S ... for each grid point
    python -m drywet.study run -j 1                  # dvc queue start -j 1 and wait
    python -m drywet.study aggregate                 # table + figures from `dvc exp show`
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from drywet.errors import ConfigError, DrywetError
from drywet.models import STRUCTURES, get_structure, lstm_param_count, macs_per_sample

STUDY_COUNTS = (10_000, 40_000, 100_000, 500_000)


@dataclass(frozen=True)
class Preset:
    """A grid: every combination of structures x frame counts x epochs x kinds (+ fixed overrides)."""

    structures: tuple[str, ...]
    counts: tuple[int, ...]
    epochs: tuple[int, ...]
    kinds: tuple[str, ...] = ("framed",)
    fixed: tuple[tuple[str, str], ...] = ()
    about: str = ""


PRESETS: dict[str, Preset] = {
    # The original study: 5 structures x 4 dataset sizes, checkpoints at 20/35/50/80/200 epochs.
    "study": Preset(tuple(STRUCTURES), STUDY_COUNTS, (200,),
                    about="the full study grid: days of CPU time; spread it over machines"),
    # The shape of the results in under an hour on 2 cores.
    "small": Preset(("l1_u16_f32", "l1_u32_f32", "l2_u16_f32", "l1_u32_f64"), (10_000, 40_000), (20,),
                    fixed=(("train.checkpoints", "[5,10,15,20]"),),
                    about="4 structures x 2 dataset sizes x 20 epochs, under an hour on 2 cores"),
    # Framed against sequence models, one to one, for each structure.
    "kinds": Preset(tuple(STRUCTURES), (40_000,), (50,), kinds=("framed", "sequence"),
                    about="framed vs sequence for every structure"),
}


def grid(preset: Preset) -> list[dict[str, str]]:
    """Every grid point as the `-S key=value` overrides it needs."""
    points = []
    for s, count, epochs, kind in itertools.product(preset.structures, preset.counts, preset.epochs,
                                                     preset.kinds):
        get_structure(s)
        points.append({"model.structure": s, "model.kind": kind, "frame.count": str(count),
                       "train.epochs": str(epochs), **dict(preset.fixed)})
    return points


def experiment_name(preset_name: str, point: dict[str, str]) -> str:
    """A readable, unique experiment name for a grid point."""
    kind = "" if point["model.kind"] == "framed" else "-seq"
    return (f"{preset_name}-{point['model.structure']}{kind}-"
            f"{int(point['frame.count']) // 1000}k-e{point['train.epochs']}").replace("_", "-")


def queue_commands(preset_name: str) -> list[list[str]]:
    """The `dvc exp run --queue` command lines for a preset."""
    if preset_name not in PRESETS:
        raise ConfigError(f"unknown preset '{preset_name}'; valid presets: {', '.join(PRESETS)}")
    cmds = []
    for point in grid(PRESETS[preset_name]):
        cmd = ["dvc", "exp", "run", "--queue", "-n", experiment_name(preset_name, point)]
        for key, value in point.items():
            cmd += ["-S", f"{key}={value}"]
        cmds.append(cmd)
    return cmds


# ---------------------------------------------------------------------------------------------
# Aggregation


def _metric(row: dict, path: str, key: str):
    """A value from a flat `dvc.api.exp_show` row; DVC adds the file prefix only to ambiguous names."""
    for name in (f"{path}:{key}", key):
        if name in row and row[name] not in (None, "-", "", "None"):
            return row[name]
    return None


def _number(value) -> float:
    """A metric value as float; DVC marks missing or unreadable values with strings like '-' or '!'."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _param(row: dict, key: str):
    return _metric(row, "params.yaml", key)


_EFFECT_PARAM = re.compile(r"(?:params\.yaml:)?effects\.([A-Za-z0-9][A-Za-z0-9_-]*)\.")
_EFFECT_METRICS = re.compile(r"metrics/([A-Za-z0-9][A-Za-z0-9_-]*)\.json:")


def effects_in_row(row: dict) -> list[str]:
    """The effects an experiment ran, in order: from its `effects.<fx>.*` params, else from its
    `metrics/<fx>.json` metrics (params.yaml decides the effects; nothing here lists them)."""
    found: dict[str, None] = {}
    for pattern in (_EFFECT_PARAM, _EFFECT_METRICS):
        for key in row:
            m = pattern.match(key) if isinstance(key, str) else None
            if m:
                found.setdefault(m.group(1))
        if found:
            break
    return list(found)


METRIC_KEYS = ("macs_per_sample", "mae", "r2", "esr", "esr_preemph", "stft_distance", "hf_error_ratio", "hf_error_db",
               "esr_floor", "noise_floor_dbfs", "repeat_esr",
               "model_kib", "rtf", "rtf_1thread", "train_seconds", "test_seconds")


def table_from_rows(rows: list[dict]) -> pd.DataFrame:
    """One row per (experiment, effect) from `dvc.api.exp_show()` rows; rows without metrics are skipped."""
    out = []
    for row in rows:
        name = row.get("Experiment") or row.get("rev") or "workspace"
        structure = _param(row, "model.structure")
        if structure is None or structure not in STRUCTURES:
            continue
        s = STRUCTURES[structure]
        kind = _param(row, "model.kind") or "framed"
        effects = effects_in_row(row)
        for fx in effects:
            values = {k: _metric(row, f"metrics/{fx}.json", k) for k in METRIC_KEYS}
            if len(effects) > 1:  # a bare key belongs to the only effect, never to one of several
                values = {k: row.get(f"metrics/{fx}.json:{k}") for k in METRIC_KEYS}
                values = {k: (None if v in ("-", "", "None") else v) for k, v in values.items()}
            if np.isnan(_number(values["esr"])):
                continue
            if np.isnan(_number(values["macs_per_sample"])):
                values["macs_per_sample"] = macs_per_sample(s, kind)
            rec = {
                "experiment": name, "rev": row.get("rev"), "effect": fx, "structure": structure,
                "kind": kind, "layers": s.layers, "units": s.units, "frame": s.frame,
                "frames": int(_param(row, "frame.count") or 0), "epochs": int(_param(row, "train.epochs") or 0),
                "oversample": int(_param(row, "model.oversample") or 1),
                "params": lstm_param_count(s.layers, s.units),
                **{k: _number(v) for k, v in values.items()},
            }
            for key, value in row.items():  # checkpoint metrics: metrics/epochs/<fx>.json:e020.esr
                prefix = f"metrics/epochs/{fx}.json:"
                if isinstance(key, str) and key.startswith(prefix) and value not in (None, "-", "None", ""):
                    rec[key[len(prefix):]] = _number(value)
            out.append(rec)
    df = pd.DataFrame(out)
    if not df.empty:
        # The workspace row repeats its baseline's results when nothing changed since the commit.
        same = ["effect", "structure", "kind", "frames", "epochs", "oversample", "esr", "mae"]
        df = df.drop_duplicates(subset=same).sort_values(["effect", "esr"])
        df = df.reset_index(drop=True)
    return df


def best_models(df: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The `n` lowest-ESR models per effect, like the study's best-performing-models tables."""
    cols = ["effect", "structure", "kind", "frames", "epochs", "oversample", "esr", "mae", "r2", "hf_error_db",
            "params", "macs_per_sample", "rtf"]
    return df.sort_values("esr").groupby("effect", sort=True).head(n)[cols].reset_index(drop=True)


def pareto(df: pd.DataFrame, cost: str = "macs_per_sample", quality: str = "esr") -> pd.DataFrame:
    """Models no other model beats on both cost and quality (lower is better for both)."""
    keep = []
    for _, r in df.iterrows():
        dominated = ((df[cost] <= r[cost]) & (df[quality] < r[quality])).any() or \
            ((df[cost] < r[cost]) & (df[quality] <= r[quality])).any()
        keep.append(not dominated)
    return df[keep].sort_values(cost)


def epoch_curves(df: pd.DataFrame) -> pd.DataFrame:
    """Long table of (experiment, effect, epoch, esr, hf_error_db) from the checkpoint columns."""
    rows = []
    for _, r in df.iterrows():
        for col in r.index:
            if isinstance(col, str) and col.startswith("e") and col.endswith(".esr") and not pd.isna(r[col]):
                tag = col.split(".")[0]
                rows.append({"experiment": r["experiment"], "effect": r["effect"],
                             "structure": r["structure"], "frames": r["frames"], "kind": r["kind"],
                             "epoch": int(tag[1:]),
                             "esr": r[col], "hf_error_db": r.get(f"{tag}.hf_error_db", np.nan)})
    return pd.DataFrame(rows)


def findings_figures(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The study's claims as PNGs: metric vs size, vs data, vs epochs, and quality vs cost."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    effects = sorted(df["effect"].unique())
    markers = {"framed": "o", "sequence": "s"}

    def panels(title: str):
        fig = Figure(figsize=(5.5 * len(effects), 4.2), constrained_layout=True)
        axes = fig.subplots(1, len(effects), squeeze=False)[0]
        fig.suptitle(title)
        return fig, axes

    def save(fig, name: str) -> None:
        path = out_dir / name
        fig.savefig(path, dpi=110)
        paths.append(path)

    # 1. ESR vs model size.
    fig, axes = panels("Test ESR vs model size (lower is better)")
    for ax, fx in zip(axes, effects, strict=False):
        d = df[df.effect == fx]
        for (kind, frames), g in d.groupby(["kind", "frames"]):
            ax.scatter(g["params"], g["esr"], marker=markers.get(kind, "o"), label=f"{kind}, {frames} frames")
        for _, r in d.iterrows():
            ax.annotate(r["structure"], (r["params"], r["esr"]), fontsize=6, alpha=0.7)
        ax.set(xscale="log", yscale="log", xlabel="parameters", ylabel="ESR", title=fx)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, "esr_vs_model_size.png")

    # 2. ESR vs dataset size, one line per structure.
    fig, axes = panels("Test ESR vs dataset size per structure")
    for ax, fx in zip(axes, effects, strict=False):
        d = df[df.effect == fx]
        for (s, kind), g in d.groupby(["structure", "kind"]):
            g = g.groupby("frames")["esr"].min().sort_index()
            ax.plot(g.index, g.values, marker=markers.get(kind, "o"), label=f"{s} {kind}")
        ax.set(xscale="log", yscale="log", xlabel="training frames", ylabel="ESR", title=fx)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, "esr_vs_dataset_size.png")

    # 3. ESR and high-frequency error vs epochs (from the checkpoints).
    curves = epoch_curves(df)
    fig = Figure(figsize=(5.5 * len(effects), 7.5), constrained_layout=True)
    axes = fig.subplots(2, len(effects), squeeze=False)
    fig.suptitle("Quality vs training epochs (checkpoints, test excerpt)")
    for j, fx in enumerate(effects):
        c = curves[curves.effect == fx] if not curves.empty else curves
        for _exp, g in (c.groupby("experiment") if not c.empty else []):
            g = g.sort_values("epoch")
            label = f"{g['structure'].iloc[0]} {g['frames'].iloc[0]}"
            axes[0, j].plot(g["epoch"], g["esr"], marker=".", label=label)
            axes[1, j].plot(g["epoch"], g["hf_error_db"], marker=".", label=label)
        axes[0, j].set(yscale="log", xlabel="epoch", ylabel="ESR", title=fx)
        axes[1, j].set(xlabel="epoch", ylabel="error above cutoff (dB re target)")
        for ax in axes[:, j]:
            ax.grid(True, alpha=0.3)
        axes[0, j].legend(fontsize=6)
    save(fig, "quality_vs_epochs.png")

    # 4. Quality vs inference cost, with the Pareto front.
    fig, axes = panels("Test ESR vs inference cost (front: no model is both cheaper and better)")
    for ax, fx in zip(axes, effects, strict=False):
        d = df[df.effect == fx]
        for kind, g in d.groupby("kind"):
            ax.scatter(g["macs_per_sample"], g["esr"], marker=markers.get(kind, "o"), alpha=0.6, label=kind)
        front = pareto(d)
        ax.plot(front["macs_per_sample"], front["esr"], "k--", lw=1, label="Pareto front")
        for _, r in front.iterrows():
            ax.annotate(f"{r['structure']} {r['kind'][:3]} {r['frames'] // 1000}k",
                        (r["macs_per_sample"], r["esr"]), fontsize=6)
        ax.set(xscale="log", yscale="log", xlabel="multiply-adds per output sample", ylabel="ESR", title=fx)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, "esr_vs_cost.png")
    return paths


def to_markdown(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A Markdown table without extra dependencies."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        cells = [format(v, floatfmt) if isinstance(v, float) else str(v) for v in r.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


SUMMARY_COLS = ["experiment", "effect", "structure", "kind", "layers", "units", "frame", "frames", "epochs",
                "oversample",
                "mae", "r2", "esr", "esr_preemph", "stft_distance", "hf_error_db", "params",
                "macs_per_sample", "model_kib", "train_seconds", "rtf", "rtf_1thread"]


def aggregate(rows: list[dict], metrics_dir: Path, plots_dir: Path) -> pd.DataFrame:
    """Write metrics/study.csv, metrics/study.md and the findings figures under plots/study/."""
    df = table_from_rows(rows)
    if df.empty:
        raise DrywetError("no experiment with metrics found; run some first "
                          "(python -m drywet.study queue, then run)")
    metrics_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(metrics_dir / "study.csv", index=False)
    cols = [c for c in SUMMARY_COLS if c in df.columns]
    best = best_models(df)
    md = ["# Study results", "", f"{df['experiment'].nunique()} experiments, {len(df)} models.", "",
          "## Best models per effect (lowest test ESR)", "", to_markdown(best), "## All models", "",
          to_markdown(df[cols])]
    (metrics_dir / "study.md").write_text("\n".join(md))
    figures = findings_figures(df, plots_dir)
    write_study_page(df, best, figures, plots_dir / "report.html")
    return df


FIGURE_CAPTIONS = {
    "esr_vs_model_size": "Test ESR vs model size: do bigger models score better?",
    "esr_vs_dataset_size": "Test ESR vs dataset size, per structure: does more data help?",
    "quality_vs_epochs": "ESR and error above the cutoff vs epochs (checkpoints): does long training add "
                         "high-frequency noise?",
    "esr_vs_cost": "ESR vs multiply-adds per sample: which small models are worth it?",
}


def write_study_page(df: pd.DataFrame, best: pd.DataFrame, figures: list[Path], path: Path) -> None:
    """The aggregate as one self-contained HTML page: findings figures and tables."""
    from drywet.report import EffectSection, Figure, render_report, write_report

    section = EffectSection(
        name="findings", title="Findings across all experiments",
        metrics={"experiments": int(df["experiment"].nunique()), "models": len(df)}, clips=[],
        figures=[Figure(FIGURE_CAPTIONS.get(p.stem, p.stem), p.read_bytes()) for p in figures])
    cols = [c for c in SUMMARY_COLS if c in df.columns]
    html = render_report("drywet study", [section],
                         [("Best models per effect (lowest test ESR)", best), ("All models", df[cols])],
                         intro="Every DVC experiment's parameters and test metrics, one row per effect.")
    write_report(path, html)


def _run(cmd: list[str]) -> None:
    print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise DrywetError(f"command failed with exit code {proc.returncode}: {' '.join(cmd)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m drywet.study", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    q = sub.add_parser("queue", help="queue a preset's grid as DVC experiments")
    q.add_argument("--preset", default="small", help=f"one of: {', '.join(PRESETS)}")
    q.add_argument("--dry", action="store_true", help="print the commands only")
    r = sub.add_parser("run", help="start the queue (dvc queue start -j N) and wait for it")
    r.add_argument("-j", "--jobs", type=int, default=1)
    r.add_argument("--engine", choices=("dvc", "ray"), default="dvc",
                   help="dvc: the local DVC queue (default); ray: one Ray task per queued point (drywet/study_ray.py)")
    r.add_argument("--address", default=None, help="ray: the cluster (auto, HOST:PORT; default: Ray's own choice)")
    r.add_argument("--git-remote", default="origin", help="ray: git remote the tasks clone from and push to")
    r.add_argument("--dvc-remote", default=None, help="ray: DVC remote for the outputs (default: the default one)")
    r.add_argument("--max-retries", type=int, default=2, help="ray: new attempts for a failed point")
    a = sub.add_parser("aggregate", help="collect every experiment into metrics/study.{csv,md} + figures")
    a.add_argument("--metrics-dir", default="metrics")
    a.add_argument("--plots-dir", default="plots/study")
    a.add_argument("--all-commits", action="store_true", help="include experiments of every commit")
    a.add_argument("--remote", default=None, help="first dvc exp pull every experiment from this git remote")
    sub.add_parser("presets", help="list the presets")
    args = ap.parse_args(argv)
    try:
        if args.command == "presets":
            for name, p in PRESETS.items():
                print(f"{name:8s} {len(grid(p)):3d} experiments  {p.about}")
        elif args.command == "queue":
            for cmd in queue_commands(args.preset):
                print(" ".join(cmd)) if args.dry else _run(cmd)
        elif args.command == "run" and args.engine == "ray":
            from drywet.study_ray import run_on_ray

            run_on_ray(args.address, args.git_remote, args.dvc_remote, args.max_retries)
        elif args.command == "run":
            _run(["dvc", "queue", "start", "-j", str(args.jobs)])
            while True:  # wait for the workers; `dvc queue status` lists what is left
                status = subprocess.run(["dvc", "queue", "status"], capture_output=True, text=True).stdout
                if not any(w in status for w in ("Queued", "Running")):
                    break
                time.sleep(20)
            print(status, flush=True)
        else:
            import dvc.api

            if args.remote:  # metrics are in git, so the experiments' refs are enough
                _run(["dvc", "exp", "pull", "--no-cache", *(["-A"] if args.all_commits else []), args.remote])
            rows = dvc.api.exp_show(num=10_000 if args.all_commits else 1)
            df = aggregate(rows, Path(args.metrics_dir), Path(args.plots_dir))
            print(to_markdown(best_models(df)), flush=True)
            print(json.dumps({"experiments": int(df["experiment"].nunique()), "models": len(df)}))
    except DrywetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
