"""The aggregate's outputs: metrics/study.csv and .md, the figures and a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from drywet.errors import DrywetError
from drywet.study.figures import findings_figures
from drywet.study.table import SUMMARY_COLS, best_models, table_from_rows
from drywet.tables import to_markdown


def aggregate(rows: list[dict], metrics_dir: Path, plots_dir: Path, keep_previous: bool = True) -> pd.DataFrame:
    """Write metrics/study.csv, metrics/study.md and the findings figures under plots/study/.

    With `keep_previous`, named experiments of the existing study.csv that `rows` no longer holds
    (run in an earlier session or on another machine, their refs since gone) stay in the table, so
    a study run across sessions accumulates; a commit's own row (named by its rev) is not kept."""
    df = table_from_rows(rows)
    previous = metrics_dir / "study.csv"
    if keep_previous and previous.is_file():
        old = pd.read_csv(previous)
        if "experiment" in old.columns:
            exp = old["experiment"].astype(str)
            named = ~exp.str.fullmatch(r"[0-9a-f]{7,40}|workspace")  # commit rows are named by their rev
            gone = old[named & ~old["experiment"].isin(set(df["experiment"]) if not df.empty else set())]
            if not gone.empty:
                df = pd.concat([df, gone], ignore_index=True).sort_values(["effect", "esr"]).reset_index(drop=True)
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
