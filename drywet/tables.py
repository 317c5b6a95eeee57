"""Plain-text tables for people: Markdown from a DataFrame, without extra dependencies."""

from __future__ import annotations

import pandas as pd


def to_markdown(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A Markdown table without extra dependencies."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        cells = [format(v, floatfmt) if isinstance(v, float) else str(v) for v in r.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
