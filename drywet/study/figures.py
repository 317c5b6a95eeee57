"""The study's findings as figures (matplotlib, Agg): ESR vs model size, vs dataset size, vs epochs
(with the high-frequency error), and vs inference cost with the Pareto front."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from drywet.kinds import KINDS
from drywet.study.table import curve_labels, epoch_curves, pareto


def findings_figures(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """The study's claims as PNGs: metric vs size, vs data, vs epochs, and quality vs cost."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    effects = sorted(df["effect"].unique())
    markers = dict(zip(KINDS, "os^Dv*", strict=False))  # one marker per registered kind

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

    # 3. ESR and high-frequency error vs epochs (from the checkpoints): one column per effect and
    # kind (a sequence epoch is the whole training part, a framed one `frame.count` frames).
    curves = epoch_curves(df)
    labels = curve_labels(curves) if not curves.empty else {}
    palette = matplotlib.colormaps["tab20"]
    columns = [(fx, kind) for fx in effects for kind in (sorted(curves["kind"].unique()) if not curves.empty
                                                          else ["framed"])]
    fig = Figure(figsize=(6.0 * len(columns), 8.0), constrained_layout=True)
    axes = fig.subplots(2, len(columns), squeeze=False)
    fig.suptitle("Quality vs training epochs (checkpoints, test excerpt)")
    for j, (fx, kind) in enumerate(columns):
        c = curves[(curves.effect == fx) & (curves.kind == kind)] if not curves.empty else curves
        for i, (exp, g) in enumerate(c.groupby("experiment", sort=True) if not c.empty else []):
            g = g.sort_values("epoch")
            # 20 distinct colours, then the same colours dashed: no two lines look alike
            style = {"color": palette(i % 20), "linestyle": ("-", "--", ":")[i // 20 % 3], "marker": "."}
            axes[0, j].plot(g["epoch"], g["esr"], label=labels[exp], **style)
            axes[1, j].plot(g["epoch"], g["hf_error_db"], label=labels[exp], **style)
        axes[0, j].set(yscale="log", xlabel="epoch", ylabel="ESR", title=f"{fx}: {kind}")
        axes[1, j].set(xlabel="epoch", ylabel="error above cutoff (dB re target)")
        for ax in axes[:, j]:
            ax.grid(True, alpha=0.3)
        if not c.empty:
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
