"""The sequence recipe (`train_sequence` in params.yaml) against the framed default: train on a
split effect's training part, report test ESR and training time, as a Markdown table.

    python -m benchmarks.sequence_recipe data/split/sd1 [data/split/b65 ...]
        [--structure l1_u32_f32] [--skip | --no-skip] [-S key=value ...] [--out FILE]

Each folder is a `split` stage output (train/val/test dry and wet WAVs), e.g. of the 8-minute
bench takes. `train CPU s` is the process's CPU time in fit (both cores count), the fairer figure
when other jobs share the machine. `-S` overrides a `train_sequence` key (`-S epochs=3 -S loss=esr_dc`). The test part
is run through `drywet.inference.predict` and scored with `drywet.metrics.esr`, as `evaluate` does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

COLUMNS = ("effect", "structure", "skip", "loss", "preemph", "epochs run", "best epoch", "train s",
           "train CPU s", "scored samples/s", "test ESR")


def run_one(split: Path, structure_name: str, skip: bool, overrides: dict, log_dir: Path | None) -> dict:
    """Train one sequence model on `split` and score it on the test part."""
    from benchmarks.split_fit import read_split, test_esr
    from drywet import train
    from drywet.config import TrainSequenceParams, load_raw, parse
    from drywet.kinds import sequence
    from drywet.models import get_structure

    raw = dict(load_raw().get("train_sequence") or {})
    raw.update(overrides)
    cfg = parse(TrainSequenceParams, raw, "train_sequence")
    structure = get_structure(structure_name)
    data = read_split(split)
    index = sequence.make_index(len(data.parts["train_dry"]), len(data.parts["val_dry"]), structure, cfg)
    train_ds, val_ds, steps = sequence.datasets(data.audio(), index, cfg)
    log_path = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = str(log_dir / f"{split.name}.log")
        Path(log_path).unlink(missing_ok=True)
    cpu0 = time.process_time()
    result = train.fit(structure, "sequence", cfg, train_ds, val_ds, steps_per_epoch=steps, skip=skip,
                       log_path=log_path, verbose=0)
    cpu = time.process_time() - cpu0
    esr = test_esr(data, result, structure, "sequence", index, skip)
    return {"effect": split.name, "structure": structure.name, "skip": skip, "loss": cfg.loss,
            "preemph": cfg.preemph, "epochs run": result.epochs_run, "best epoch": result.best_epoch,
            "train s": round(result.seconds, 1), "train CPU s": round(cpu, 1),
            "scored samples/s": round(index.supervised * result.epochs_run / result.seconds),
            "test ESR": round(esr, 5), "recipe": raw}


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sequence_recipe", description=__doc__.splitlines()[0])
    ap.add_argument("splits", nargs="+", type=Path, help="split stage folders (data/split/<fx>)")
    ap.add_argument("--structure", default="l1_u32_f32")
    ap.add_argument("--skip", action=argparse.BooleanOptionalAction, default=True,
                    help="output = dense(LSTM) + dry (default: on)")
    ap.add_argument("-S", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a train_sequence key")
    ap.add_argument("--logs", type=Path, default=None, help="folder for one train.log per effect")
    ap.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    overrides = {}
    for item in args.overrides:
        key, _, value = item.partition("=")
        overrides[key.strip()] = yaml.safe_load(value)
    from drywet.errors import DrywetError
    from drywet.train import device_name

    rows = []
    t0 = time.perf_counter()
    device = device_name()
    print(f"training on {device}", file=sys.stderr, flush=True)
    try:
        for split in args.splits:
            row = run_one(split, args.structure, args.skip, overrides, args.logs)
            rows.append(row)
            print(f"  {row['effect']}: test ESR {row['test ESR']} after {row['train s']} s "
                  f"({row['epochs run']} epochs, best {row['best epoch']})", file=sys.stderr, flush=True)
    except DrywetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{markdown_table(rows)}\n\nTraining on {device}. Total {time.perf_counter() - t0:.0f} s; load average at "
          f"the end {load}.")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
