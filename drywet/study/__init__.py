"""The study as DVC experiments, one module per job: `grid` (presets and their points), `table`
(experiments into one table), `figures` (the findings), `pages` (CSV, Markdown, HTML), `cli`
(`python -m drywet.study queue|run|aggregate|presets`) and `ray` (the grid on a Ray cluster)."""

from drywet.study.grid import PRESETS, STUDY_COUNTS, Preset, experiment_name, grid, queue_commands
from drywet.study.pages import aggregate, write_study_page
from drywet.study.table import (
    METRIC_KEYS,
    SUMMARY_COLS,
    best_models,
    effects_in_row,
    epoch_curves,
    pareto,
    table_from_rows,
)

__all__ = ["METRIC_KEYS", "PRESETS", "STUDY_COUNTS", "SUMMARY_COLS", "Preset", "aggregate", "best_models",
           "effects_in_row", "epoch_curves", "experiment_name", "grid", "pareto", "queue_commands",
           "table_from_rows", "write_study_page"]
