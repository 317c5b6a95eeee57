"""The study grid and the aggregation of `dvc exp show` rows into one table and figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from drywet import study
from drywet.errors import ConfigError, DrywetError
from drywet.study.grid import SEED_STRUCTURES, training_cost


def fake_row(name: str, structure: str, count: int, epochs: int, esr: dict[str, float], kind="framed") -> dict:
    """A row shaped like `dvc.api.exp_show()` output (ambiguous names carry the file prefix)."""
    row = {"Experiment": name, "rev": name[:7], "typ": "branch_commit", "model.structure": structure,
           "model.kind": kind, "frame.count": count, "params.yaml:train.epochs": epochs}
    for fx, value in esr.items():
        for key, v in {"esr": value, "mae": value / 10, "r2": 1 - value, "hf_error_db": -30.0 + 10 * value,
                       "rtf": 2.0, "train_seconds": 10.0}.items():
            row[f"metrics/{fx}.json:{key}"] = v
        for e in (5, 10):
            row[f"metrics/epochs/{fx}.json:e{e:03d}.esr"] = value * (2 if e == 5 else 1)
            row[f"metrics/epochs/{fx}.json:e{e:03d}.hf_error_db"] = -30.0 + e
    return row


ROWS = [
    fake_row("workspace", "l1_u32_f32", 40000, 10, {"sd1": 0.05, "b65": 0.08}),
    fake_row("small-a", "l1_u32_f32", 40000, 10, {"sd1": 0.05, "b65": 0.08}),
    fake_row("small-b", "l1_u16_f32", 10000, 10, {"sd1": 0.20, "b65": 0.30}),
    fake_row("small-c", "l2_u32_f64", 40000, 10, {"sd1": 0.02, "b65": 0.04}),
    {"Experiment": "queued", "rev": "abc", "model.structure": "l1_u16_f32"},  # no metrics yet
]


def test_grid_covers_every_combination() -> None:
    full = study.grid(study.PRESETS["study"])
    assert len(full) == 5 * 4
    assert {p["frame.count"] for p in full} == {"10000", "40000", "100000", "500000"}
    kinds = study.grid(study.PRESETS["kinds"])
    assert {p["model.kind"] for p in kinds} == {"framed", "sequence"}


def test_study_keeps_the_seed_structures_and_architectures_grid_takes_every_kind() -> None:
    """The seed's grid never grows with the capture's bigger models; the architectures preset names a
    WaveNet like any kind (no branch on its name), with the sequence recipe and no skip path."""
    assert {p["model.structure"] for p in study.grid(study.PRESETS["study"])} == set(SEED_STRUCTURES)
    arch = study.grid(study.PRESETS["architectures"])
    assert {(p["model.kind"], p["model.structure"]) for p in arch} >= {("wavenet", "standard"),
                                                                      ("sequence", "l1_u64_f32")}
    assert all(p["model.skip"] == "false" and "frame.count" not in p for p in arch)
    names = [study.experiment_name("architectures", p) for p in arch]
    assert len(set(names)) == len(names) and "architectures-standard-wav-noskip-e8" in names


def test_findings_preset_is_the_seed_epochs_and_sizes_cheapest_first() -> None:
    points = study.grid(study.PRESETS["findings"])
    epochs200 = {p["model.structure"] for p in points if p["train.epochs"] == "200" and p["frame.count"] == "40000"}
    assert epochs200 == set(SEED_STRUCTURES)
    sizes = {p["frame.count"] for p in points if p["model.structure"] == "l1_u16_f32" and p["train.epochs"] == "50"}
    assert sizes == {"10000", "100000", "500000"}
    assert len(points) == 8
    costs = [training_cost(p) for p in points]
    assert costs == sorted(costs) and points[-1]["model.structure"] == "l2_u32_f64"


def test_queue_commands_have_unique_names_and_overrides() -> None:
    cmds = study.queue_commands("small")
    names = [c[c.index("-n") + 1] for c in cmds]
    assert len(names) == len(set(names)) == len(study.grid(study.PRESETS["small"]))
    assert all(c[:4] == ["dvc", "exp", "run", "--queue"] for c in cmds)
    assert all("model.structure=" in " ".join(c) for c in cmds)
    with pytest.raises(ConfigError, match="small"):
        study.queue_commands("nope")


def test_table_one_row_per_experiment_and_effect() -> None:
    df = study.table_from_rows(ROWS)
    assert len(df) == 3 * 2  # the workspace row duplicates small-a; the queued row has no metrics
    assert set(df["effect"]) == {"sd1", "b65"}
    row = df[(df.experiment == "small-c") & (df.effect == "sd1")].iloc[0]
    assert row["layers"] == 2 and row["units"] == 32 and row["frame"] == 64 and row["epochs"] == 10
    assert row["esr"] == pytest.approx(0.02) and row["params"] > 0 and row["macs_per_sample"] > 0


def test_effects_come_from_the_rows_not_from_a_fixed_list() -> None:
    three = fake_row("three", "l1_u16_f32", 10000, 10, {"sd1": 0.1, "fz": 0.2, "mypedal": 0.3})
    assert study.effects_in_row(three) == ["sd1", "fz", "mypedal"]
    # One effect: DVC drops the file prefix from unambiguous metric names; the params name the effect.
    one = {"Experiment": "one", "rev": "one", "model.structure": "l1_u16_f32", "model.kind": "framed",
           "frame.count": 10000, "train.epochs": 10, "effects.mypedal.source": "data/recordings/mypedal",
           "esr": 0.04, "mae": 0.01, "r2": 0.9}
    assert study.effects_in_row(one) == ["mypedal"]
    df = study.table_from_rows([three, one])
    assert sorted(df["effect"]) == ["fz", "mypedal", "mypedal", "sd1"]
    assert df[(df.experiment == "one")]["esr"].tolist() == [0.04]


def test_best_models_and_pareto() -> None:
    df = study.table_from_rows(ROWS)
    best = study.best_models(df, n=1)
    assert list(best["structure"]) == ["l2_u32_f64", "l2_u32_f64"]
    front = study.pareto(df[df.effect == "sd1"])
    # l1_u32_f32 is beaten by nothing cheaper: it and the best model are on the front; l1_u16 is cheaper.
    assert set(front["structure"]) == {"l1_u16_f32", "l1_u32_f32", "l2_u32_f64"}
    worse = df[df.effect == "sd1"].copy()
    worse.loc[worse.structure == "l1_u32_f32", "esr"] = 0.5  # now dominated by the cheaper l1_u16
    assert "l1_u32_f32" not in set(study.pareto(worse)["structure"])


def test_epoch_curves_from_checkpoint_columns() -> None:
    curves = study.epoch_curves(study.table_from_rows(ROWS))
    c = curves[(curves.experiment == "small-b") & (curves.effect == "b65")].sort_values("epoch")
    assert list(c["epoch"]) == [5, 10] and list(c["esr"]) == pytest.approx([0.6, 0.3])


def test_epoch_curve_labels_tell_every_line_apart() -> None:
    import pandas as pd

    from drywet.study.table import curve_labels

    base = {"effect": "sd1", "structure": "l1_u16_f32", "kind": "framed", "frames": 40000, "skip": False,
            "epochs": 200, "epoch": 20, "esr": 0.1, "hf_error_db": 0.0}
    curves = pd.DataFrame([{**base, "experiment": "a", "oversample": 1},
                           {**base, "experiment": "b", "oversample": 2},
                           {**base, "experiment": "c", "oversample": 1, "frames": 10000},
                           {**base, "experiment": "d", "oversample": 1}])  # same as "a" in every column
    labels = curve_labels(curves)
    assert len(set(labels.values())) == 4
    assert labels["b"] == "l1_u16_f32, framed, 40k frames, 2x oversampled, 200 epochs"
    assert labels["c"].startswith("l1_u16_f32, framed, 10k frames")
    assert labels["a"].endswith("(a)") and labels["d"].endswith("(d)")


def test_aggregate_writes_table_and_figures(tmp_path: Path) -> None:
    df = study.aggregate(ROWS, tmp_path / "metrics", tmp_path / "plots")
    assert (tmp_path / "metrics" / "study.csv").read_text().count("\n") == len(df) + 1
    md = (tmp_path / "metrics" / "study.md").read_text()
    assert "Best models" in md and "l2_u32_f64" in md
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert pngs == ["esr_vs_cost.png", "esr_vs_dataset_size.png", "esr_vs_model_size.png",
                    "quality_vs_epochs.png"]
    assert all((tmp_path / "plots" / p).stat().st_size > 10_000 for p in pngs)
    page = (tmp_path / "plots" / "report.html").read_text()
    assert page.count("<img") == 4 and "Best models per effect" in page


def test_aggregate_keeps_earlier_named_experiments_and_skips_running_ones(tmp_path: Path) -> None:
    study.aggregate(ROWS, tmp_path / "metrics", tmp_path / "plots")
    running = {**fake_row("small-z", "l1_u16_f32", 40000, 10, {"sd1": 0.01, "b65": 0.02}), "State": "Running"}
    later = [fake_row("small-d", "l1_u32_f64", 40000, 10, {"sd1": 0.03, "b65": 0.05}), running]
    df = study.aggregate(later, tmp_path / "metrics", tmp_path / "plots")
    # b and c kept (small-a was listed as its duplicate, the workspace row, which is not kept); z still runs
    assert set(df["experiment"]) == {"small-b", "small-c", "small-d"}
    fresh = study.aggregate(later, tmp_path / "metrics", tmp_path / "plots", keep_previous=False)
    assert set(fresh["experiment"]) == {"small-d"}


def test_aggregate_without_experiments_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DrywetError, match="no experiment"):
        study.aggregate([{"rev": "workspace"}], tmp_path, tmp_path)
