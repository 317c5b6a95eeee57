"""Stage `train@<fx>`: fit the chosen structure with Adam; log curves with DVCLive; save checkpoints.

A training that is killed (SIGTERM, SIGINT, SIGKILL) and run again continues after its last
completed epoch: its resume state lives under `.dvc/tmp/drywet-resume/`, keyed by the params, the
input files and the code, and is removed when the stage succeeds.
"""

from __future__ import annotations

import dataclasses
import shutil
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from drywet import audio, knobs, quiet_tensorflow
from drywet.antialias import check_factor, upsample
from drywet.config import ModelParams
from drywet.kinds import Audio, Index, get_kind, get_structure
from drywet.meta import ModelMeta
from drywet.pipeline.contracts import INDEX_ARRAYS, IndexInfo, SplitInfo
from drywet.pipeline.outputs import staged_dir, warn


def load_index(folder: Path) -> Index:
    """The frame stage's examples: index.npz (start indices) and index.json (scored samples per epoch)."""
    npz = np.load(Path(folder) / INDEX_ARRAYS)
    info = IndexInfo.load(folder)
    return Index(train=npz["train"], val=npz["val"], length=int(npz["length"]),
                 supervised=int(info.supervised_samples))


def train(effect: str, split: Path, frames: Path, out: Path, live_dir: Path, m: ModelParams, cfg,
          code: dict[str, Path] | None = None) -> ModelMeta:
    """Train effect `effect` on the split takes under `split` and the examples in `frames`; the model
    folder `out` (replaced as a whole) gets model.keras, model.json, checkpoints and train.log, and
    `live_dir` DVCLive's curves and metrics. `cfg`: the kind's training params
    (`get_kind(m.kind).TRAIN_PARAMS`); `code`: extra source files for the resume key (the script)."""
    structure = get_structure(m.structure, m.kind)
    kind = get_kind(m.kind)

    quiet_tensorflow()
    from dvclive import Live

    from drywet import train as fitting
    from drywet.inference import save_model

    fitting.configure_threads(kind.training_kernel(cfg))

    factor = check_factor(m.oversample)
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
    index = load_index(frames)

    root = fitting.resume_root()
    resume = None
    if root is not None:
        key = fitting.resume_key(effect, {"model": dataclasses.asdict(m), "train": dataclasses.asdict(cfg)},
                                 inputs=[split, frames], code={**fitting.loaded_code(), **(code or {})})
        try:
            resume = fitting.Resume.open(root, key)
        except OSError as exc:
            warn(f"{root}: {exc.strerror or exc}; this training keeps no resume state")
        else:
            if resume is None:
                warn(f"another run is training {effect} with the same inputs; this one keeps no resume state")
    device = fitting.device_name()
    start = resume.start_epoch if resume is not None else 0
    if start:
        print(f"resuming {effect} after epoch {start} of {cfg.epochs} on {device} ({resume.folder})", flush=True)
    train_ds, val_ds, steps = kind.datasets(Audio(train_dry, train_wet, val_dry, val_wet, **extra), index, cfg,
                                            start_epoch=start)

    if live_dir.exists():
        shutil.rmtree(live_dir)
    with staged_dir(out) as tmp, ExitStack() as stack:
        if resume is not None:
            resume.attach(tmp, live_dir)  # puts back the model folder's and DVCLive's files so far
        live = stack.enter_context(Live(str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None,
                                        resume=start > 0))
        if start:
            live.step = start  # DVCLive resumes a one-step history at step 0
        result = fitting.fit(structure, m.kind, cfg, train_ds, val_ds, steps_per_epoch=steps, skip=m.skip,
                             live=live, checkpoint_dir=str(tmp / "checkpoints"), log_path=str(tmp / "train.log"),
                             resume=resume, verbose=0, progress=True)
        seconds = result.seconds
        # No timings in the model folder (DVC hashes it): they go to the DVCLive metrics below.
        meta = ModelMeta(
            effect=effect, kind=m.kind, structure=structure.name, layers=structure.layers,
            units=structure.units, frame=structure.frame, sample_rate=sr, oversample=factor,
            epochs=result.epochs_run, train_examples=int(index.train.shape[-1]),
            supervised_samples=int(index.supervised), params=result.model.count_params(),
            best_epoch=result.best_epoch, skip=m.skip, inputs=structure.inputs,
            knobs=positions.names if positions is not None else (),
            # the dry clean-up the model expects (the align stage's, relayed by the split stage)
            highpass_hz=float(SplitInfo.load(takes[0]).highpass_hz))
        save_model(result.model, tmp / "model.keras", meta)
        live.log_metric("train_seconds", round(seconds, 3), plot=False)
        live.log_metric("train_examples_per_s", round(index.supervised * result.epochs_run / seconds, 1),
                        plot=False)
    if resume is not None:
        resume.clear()
    best = "" if result.best_epoch is None else f", kept epoch {result.best_epoch}"
    print(f"trained {structure.name} ({m.kind}) on {device} for {result.epochs_run} epochs in {seconds:.1f} s{best}",
          flush=True)
    return meta
