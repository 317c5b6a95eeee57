"""Stage `train@<fx>`: fit the chosen structure with Adam; log curves with DVCLive; save checkpoints."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from drywet import audio, quiet_tensorflow
from drywet.antialias import check_factor, upsample
from drywet.kinds import Audio, Index, get_kind
from drywet.meta import ModelMeta
from drywet.models import get_structure
from drywet.params import ModelParams, load_section
from stages.common import run, staged_dir


def load_index(folder: Path) -> Index:
    """The frame stage's examples: index.npz (start indices) and index.json (scored samples per epoch)."""
    npz = np.load(folder / "index.npz")
    info = json.loads((folder / "index.json").read_text())
    return Index(train=npz["train"], val=npz["val"], length=int(npz["length"]),
                 supervised=int(info["supervised_samples"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--frames", required=True)
    ap.add_argument("--out", required=True, help="model folder")
    ap.add_argument("--live", required=True, help="DVCLive folder for the training curves")
    args = ap.parse_args()
    m = load_section(ModelParams)
    structure = get_structure(m.structure)
    kind = get_kind(m.kind)
    cfg = load_section(kind.TRAIN_PARAMS)

    quiet_tensorflow()
    from dvclive import Live

    from drywet import train
    from drywet.inference import save_model

    factor = check_factor(m.oversample)
    split = Path(args.split)
    names = ("train_dry", "train_wet", "val_dry", "val_wet")
    parts = {name: audio.read_wav(split / f"{name}.wav") for name in names}
    sr = parts["train_dry"][1]
    train_dry, train_wet, val_dry, val_wet = (upsample(parts[name][0], factor) for name in names)
    index = load_index(Path(args.frames))
    train_ds, val_ds, steps = kind.datasets(Audio(train_dry, train_wet, val_dry, val_wet), index, cfg)

    live_dir = Path(args.live)
    if live_dir.exists():
        shutil.rmtree(live_dir)
    with staged_dir(args.out) as tmp, Live(str(live_dir), dvcyaml=None, save_dvc_exp=False,
                                           report=None) as live:
        result = train.fit(structure, m.kind, cfg, train_ds, val_ds, steps_per_epoch=steps, skip=m.skip,
                           live=live, checkpoint_dir=str(tmp / "checkpoints"), log_path=str(tmp / "train.log"))
        seconds = result.seconds
        # No timings in the model folder (DVC hashes it): they go to the DVCLive metrics below.
        meta = ModelMeta(
            effect=args.effect, kind=m.kind, structure=structure.name, layers=structure.layers,
            units=structure.units, frame=structure.frame, sample_rate=sr, oversample=factor,
            epochs=result.epochs_run, train_examples=int(index.train.shape[-1]),
            supervised_samples=int(index.supervised), params=result.model.count_params(),
            best_epoch=result.best_epoch, skip=m.skip,
            highpass_hz=float(json.loads((split / "split.json").read_text()).get("highpass_hz", 0.0)))
        save_model(result.model, tmp / "model.keras", meta)
        live.log_metric("train_seconds", round(seconds, 3), plot=False)
        live.log_metric("train_examples_per_s", round(index.supervised * result.epochs_run / seconds, 1),
                        plot=False)
    best = "" if result.best_epoch is None else f", kept epoch {result.best_epoch}"
    print(f"trained {structure.name} ({m.kind}) for {result.epochs_run} epochs in {seconds:.1f} s{best}",
          flush=True)


if __name__ == "__main__":
    run(main)
