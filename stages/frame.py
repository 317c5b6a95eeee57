"""Stage `frame@<fx>`: pick the training and validation examples as start indices into the audio.

Framed models: frames of the structure's frame size, target = wet at the frame's last sample.
Sequence models: segments of `train.segment` samples whose first `train.warmup` are not scored.
Only indices are stored; batches are gathered from the audio at training time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from drywet.antialias import check_factor
from drywet.errors import InputError
from drywet.models import check_kind, get_structure
from drywet.split import sample_frame_starts
from drywet.train import segment_starts
from stages.common import load_params, run, staged_dir, warn, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    params = load_params()
    structure = get_structure(params["model"]["structure"])
    kind = check_kind(params["model"]["kind"])
    f, t = params["frame"], params["train"]
    count, val_count, seed = int(f["count"]), int(f["val_count"]), int(f["seed"])
    split = Path(args.split)
    # Indices address the audio at the model's rate (oversampled by model.oversample).
    factor = check_factor(int(params["model"]["oversample"]))
    n_train = sf.info(str(split / "train_dry.wav")).frames * factor
    n_val = sf.info(str(split / "val_dry.wav")).frames * factor

    if kind == "framed":
        length = structure.frame
        train = sample_frame_starts(n_train, length, count, seed)
        val = sample_frame_starts(n_val, length, val_count, seed + 1)
        supervised = len(train)
    else:
        length, warmup = int(t["segment"]), int(t["warmup"])
        if not 0 <= warmup < length:
            raise InputError(f"train.warmup ({warmup}) must be smaller than train.segment ({length})")
        train = segment_starts(n_train, count, length, warmup, seed)
        # Validation: consecutive non-overlapping segments from the start of the val part.
        n_val_seg = max(1, int(np.ceil(val_count / (length - warmup))))
        val = np.arange(0, n_val - length + 1, length, dtype=np.int64)[:n_val_seg]
        supervised = len(train) * (length - warmup)
    if len(train) == 0 or len(val) == 0:
        raise InputError(f"{split}: training or validation part too short for examples of {length} samples")
    if supervised < count:
        warn(f"frame.count={count} but the training part only gives {supervised} examples; using all")

    with staged_dir(args.out) as tmp:
        np.savez(tmp / "index.npz", train=train, val=val, length=length)
        write_json(tmp / "index.json", {"kind": kind, "oversample": factor, "structure": structure.name,
                                        "length": length, "train_examples": int(len(train)),
                                        "val_examples": int(len(val)), "supervised_samples": int(supervised)})
    print(f"{kind}: {len(train)} training and {len(val)} validation examples of {length} samples",
          flush=True)


if __name__ == "__main__":
    run(main)
