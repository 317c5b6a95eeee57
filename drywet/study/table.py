"""Reading experiments into one table: one row per experiment and effect, from the rows
`dvc.api.exp_show()` returns (params and metrics, whatever effects params.yaml named)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from drywet.kinds import KINDS, macs_per_sample, structures
from drywet.metrics import STUDY_NUMBERS, STUDY_WORDS
from drywet.models import lstm_param_count
from drywet.study.grid import framed_recipe


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


def _text(row: dict, fx: str, key: str, several: bool) -> str:
    """A word-valued metric of one effect ("" when absent); a bare key belongs to a lone effect only."""
    value = row.get(f"metrics/{fx}.json:{key}") if several else _metric(row, f"metrics/{fx}.json", key)
    return "" if value in (None, "-", "None") else str(value)


def _param(row: dict, key: str):
    return _metric(row, "params.yaml", key)


def _params(row: dict, fx: str, s, several: bool) -> int:
    """The model's weights as the evaluate stage counted them, else an LSTM stack's count (an older row)."""
    value = _number(row.get(f"metrics/{fx}.json:params") if several else _metric(row, f"metrics/{fx}.json", "params"))
    return int(value) if np.isfinite(value) else lstm_param_count(s.layers, s.units)


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


# The study's columns of metrics/<fx>.json, from the table of metrics: numbers, then words (the ESR
# band, the plugin formats).
METRIC_KEYS = STUDY_NUMBERS
TEXT_KEYS = STUDY_WORDS


UNFINISHED = ("Queued", "Running", "Failed")


def table_from_rows(rows: list[dict]) -> pd.DataFrame:
    """One row per (experiment, effect) from `dvc.api.exp_show()` rows; rows without metrics are skipped."""
    out = []
    for row in rows:
        if row.get("State") in UNFINISHED:  # a running one shows its baseline's metrics files
            continue
        name = row.get("Experiment") or row.get("rev") or "workspace"
        structure = _param(row, "model.structure")
        kind = _param(row, "model.kind") or "framed"
        if structure is None or kind not in KINDS or structure not in structures(kind):
            continue
        s = structures(kind)[structure]
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
                # A sequence model trains on the whole training part (no frame count) with its own epochs.
                "frames": int(_param(row, "frame.count") or 0) if framed_recipe(kind) else 0,
                "epochs": int(_param(row, "train.epochs" if framed_recipe(kind) else "train_sequence.epochs") or 0),
                "skip": str(_param(row, "model.skip")).lower() == "true",
                "oversample": int(_param(row, "model.oversample") or 1),
                "params": _params(row, fx, s, len(effects) > 1),
                **{k: _number(v) for k, v in values.items()},
                **{k: _text(row, fx, k, len(effects) > 1) for k in TEXT_KEYS},
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
                             "oversample": r.get("oversample", 1), "skip": r.get("skip", False),
                             "epochs": r.get("epochs", np.nan), "epoch": int(tag[1:]),
                             "esr": r[col], "hf_error_db": r.get(f"{tag}.hf_error_db", np.nan)})
    return pd.DataFrame(rows)


def curve_labels(curves: pd.DataFrame) -> dict[str, str]:
    """A legend label per experiment of `epoch_curves`, naming what tells the curves apart:
    structure, kind, training frames, oversampling, skip path and epochs trained; experiments
    that still share a label get their own name added, so no two lines read the same."""
    labels = {}
    for exp, g in curves.groupby("experiment", sort=True):
        r = g.iloc[0]
        parts = [str(r["structure"]), str(r["kind"])]
        if framed_recipe(str(r["kind"])):
            parts.append(f"{int(r['frames']) // 1000}k frames")
        if not pd.isna(r.get("oversample")) and int(r["oversample"]) != 1:
            parts.append(f"{int(r['oversample'])}x oversampled")
        if str(r.get("skip")).lower() == "true":
            parts.append("skip")
        if not pd.isna(r.get("epochs")):
            parts.append(f"{int(r['epochs'])} epochs")
        labels[exp] = ", ".join(parts)
    counts = pd.Series(list(labels.values())).value_counts()
    return {exp: (f"{lab} ({exp})" if counts[lab] > 1 else lab) for exp, lab in labels.items()}


SUMMARY_COLS = ["experiment", "effect", "structure", "kind", "layers", "units", "frame", "frames", "epochs",
                "oversample", "skip", "verdict", "exports",
                "mae", "r2", "esr", "esr_preemph", "stft_distance", "hf_error_db", "params",
                "macs_per_sample", "model_kib", "train_seconds", "rtf", "rtf_1thread"]
