"""Stage `train@<fx>`: fit the chosen structure with Adam; log curves with DVCLive; save checkpoints.

A training that is killed (SIGTERM, SIGINT, SIGKILL) and run again continues after its last
completed epoch: its resume state lives under `.dvc/tmp/drywet-resume/`, keyed by the params, the
input files and the code, and is removed when the stage succeeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from drywet import audio, knobs, quiet_tensorflow
from drywet.antialias import check_factor, upsample
from drywet.kinds import Audio, Index, get_kind, get_structure
from drywet.meta import ModelMeta
from drywet.params import ModelParams, load_section
from stages.common import run, staged_dir, warn


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
    m = load_section(ModelParams, effect=args.effect)
    structure = get_structure(m.structure, m.kind)
    kind = get_kind(m.kind)
    cfg = load_section(kind.TRAIN_PARAMS, effect=args.effect)

    quiet_tensorflow()
    from dvclive import Live

    from drywet import train
    from drywet.inference import save_model

    train.configure_threads(kind.training_kernel(cfg))

    factor = check_factor(m.oversample)
    split = Path(args.split)
    # A knob-conditioned effect: its positions' parts end to end, the knob values as extra channels.
    positions = knobs.read_positions(split)
    knobs.require_sequence(positions, m.kind)
    takes = knobs.takes(split, positions)
    names = ("train_dry", "train_wet", "val_dry", "val_wet")
    parts = {name: [audio.read_wav(t / f"{name}.wav") for t in takes] for name in names}
    sr = parts["train_dry"][0][1]
    (train_dry, train_bounds), (train_wet, _), (val_dry, val_bounds), (val_wet, _) = (
        knobs.join([upsample(x, factor) for x, _ in parts[name]]) for name in names)
    extra = {} if positions is None else {"knobs": positions.table(), "train_bounds": train_bounds,
                                          "val_bounds": val_bounds}
    if positions is not None:
        structure = dataclasses.replace(structure, inputs=1 + len(positions.names))
    index = load_index(Path(args.frames))

    root = train.resume_root()
    resume = None
    if root is not None:
        key = train.resume_key(args.effect, {"model": dataclasses.asdict(m), "train": dataclasses.asdict(cfg)},
                               inputs=[split, Path(args.frames)],
                               code={**train.loaded_code(), "stages.train": Path(__file__)})
        try:
            resume = train.Resume.open(root, key)
        except OSError as exc:
            warn(f"{root}: {exc.strerror or exc}; this training keeps no resume state")
        else:
            if resume is None:
                warn(f"another run is training {args.effect} with the same inputs; this one keeps no resume state")
    device = train.device_name()
    start = resume.start_epoch if resume is not None else 0
    if start:
        print(f"resuming {args.effect} after epoch {start} of {cfg.epochs} on {device} ({resume.folder})", flush=True)
    train_ds, val_ds, steps = kind.datasets(Audio(train_dry, train_wet, val_dry, val_wet, **extra), index, cfg,
                                            start_epoch=start)

    live_dir = Path(args.live)
    if live_dir.exists():
        shutil.rmtree(live_dir)
    with staged_dir(args.out) as tmp, ExitStack() as stack:
        if resume is not None:
            resume.attach(tmp, live_dir)  # puts back the model folder's and DVCLive's files so far
        live = stack.enter_context(Live(str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None,
                                        resume=start > 0))
        if start:
            live.step = start  # DVCLive resumes a one-step history at step 0
        result = train.fit(structure, m.kind, cfg, train_ds, val_ds, steps_per_epoch=steps, skip=m.skip,
                           live=live, checkpoint_dir=str(tmp / "checkpoints"), log_path=str(tmp / "train.log"),
                           resume=resume, verbose=0, progress=True)
        seconds = result.seconds
        # No timings in the model folder (DVC hashes it): they go to the DVCLive metrics below.
        meta = ModelMeta(
            effect=args.effect, kind=m.kind, structure=structure.name, layers=structure.layers,
            units=structure.units, frame=structure.frame, sample_rate=sr, oversample=factor,
            epochs=result.epochs_run, train_examples=int(index.train.shape[-1]),
            supervised_samples=int(index.supervised), params=result.model.count_params(),
            best_epoch=result.best_epoch, skip=m.skip, inputs=structure.inputs,
            knobs=positions.names if positions is not None else (),
            highpass_hz=float(json.loads((takes[0] / "split.json").read_text()).get("highpass_hz", 0.0)))
        save_model(result.model, tmp / "model.keras", meta)
        live.log_metric("train_seconds", round(seconds, 3), plot=False)
        live.log_metric("train_examples_per_s", round(index.supervised * result.epochs_run / seconds, 1),
                        plot=False)
    if resume is not None:
        resume.clear()
    best = "" if result.best_epoch is None else f", kept epoch {result.best_epoch}"
    print(f"trained {structure.name} ({m.kind}) on {device} for {result.epochs_run} epochs in {seconds:.1f} s{best}",
          flush=True)


if __name__ == "__main__":
    run(main)
