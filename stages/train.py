"""Stage `train@<fx>`: fit the chosen structure with Adam; log curves with DVCLive; save checkpoints."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from drywet import audio
from drywet.antialias import check_factor, upsample
from drywet.models import check_kind, get_structure, lstm_param_count
from stages.common import load_params, run, staged_dir


def train_config(params: dict):
    from drywet.train import TrainConfig

    t = params["train"]
    return TrainConfig(
        epochs=int(t["epochs"]), batch_size=int(t["batch_size"]), learning_rate=float(t["learning_rate"]),
        loss=str(t["loss"]), seed=int(t["seed"]), checkpoints=tuple(int(e) for e in t["checkpoints"]),
        kind=check_kind(params["model"]["kind"]), segment=int(t["segment"]), warmup=int(t["warmup"]),
        preemph=float(t["preemph"]), seq_batch_size=int(t["seq_batch_size"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--frames", required=True)
    ap.add_argument("--out", required=True, help="model folder")
    ap.add_argument("--live", required=True, help="DVCLive folder for the training curves")
    args = ap.parse_args()
    params = load_params()
    structure = get_structure(params["model"]["structure"])
    cfg = train_config(params)

    from dvclive import Live

    from drywet import train
    from drywet.inference import save_model

    factor = check_factor(int(params["model"]["oversample"]))
    split = Path(args.split)
    names = ("train_dry", "train_wet", "val_dry", "val_wet")
    parts = {name: audio.read_wav(split / f"{name}.wav") for name in names}
    sr = parts["train_dry"][1]
    train_dry, train_wet, val_dry, val_wet = (upsample(parts[name][0], factor) for name in names)
    index = np.load(Path(args.frames) / "index.npz")
    length = int(index["length"])
    if cfg.kind == "framed":
        train_ds = train.framed_dataset(train_dry, train_wet, index["train"], length, cfg.batch_size, cfg.seed)
        val_ds = train.framed_dataset(val_dry, val_wet, index["val"], length, cfg.batch_size, None)
        supervised = len(index["train"])
    else:
        train_ds = train.sequence_dataset(train_dry, train_wet, index["train"], length,
                                          cfg.seq_batch_size, cfg.seed)
        val_ds = train.sequence_dataset(val_dry, val_wet, index["val"], length, cfg.seq_batch_size, None)
        supervised = len(index["train"]) * (length - cfg.warmup)

    live_dir = Path(args.live)
    if live_dir.exists():
        shutil.rmtree(live_dir)
    with staged_dir(args.out) as tmp, Live(str(live_dir), dvcyaml=None, save_dvc_exp=False,
                                           report=None) as live:
        model, seconds = train.fit(structure, cfg, train_ds, val_ds, live=live,
                                   checkpoint_dir=str(tmp / "checkpoints"), log_path=str(tmp / "train.log"))
        meta = {
            "effect": args.effect, "kind": cfg.kind, "structure": structure.name,
            "layers": structure.layers, "units": structure.units, "frame": structure.frame,
            "sample_rate": sr, "oversample": factor, "epochs": cfg.epochs, "train_examples": int(len(index["train"])),
            "supervised_samples": int(supervised), "params": lstm_param_count(structure.layers, structure.units),
            "train_seconds": round(seconds, 3),
        }
        save_model(model, tmp / "model.keras", meta)
        live.log_metric("train_seconds", round(seconds, 3), plot=False)
        live.log_metric("train_examples_per_s", round(supervised * cfg.epochs / seconds, 1), plot=False)
    print(f"trained {structure.name} ({cfg.kind}) for {cfg.epochs} epochs in {seconds:.1f} s", flush=True)


if __name__ == "__main__":
    run(main)
