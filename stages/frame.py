"""Stage `frame@<fx>`: pick the training and validation examples as start indices into the audio.

The model kind decides (drywet/kinds): framed models take `frame.count` frames of the structure's
frame size; sequence models take, for every epoch, segments of `train_sequence.segment` samples
tiling the whole training part at a fresh offset. Only indices are stored; batches are gathered
from the audio at training time. A knob-conditioned effect (sequence kind only) gets each position's
examples, offset as if the positions' parts lay end to end and shuffled together (drywet.knobs).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import soundfile as sf

from drywet import knobs
from drywet.antialias import check_factor
from drywet.errors import InputError
from drywet.kinds import get_kind, get_structure, merge_indexes
from drywet.params import ModelParams, load_section
from stages.common import run, staged_dir, warn, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", default=None, help="effect name (its `effects.<fx>.model` overrides apply)")
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    m = load_section(ModelParams, effect=args.effect)
    structure = get_structure(m.structure, m.kind)
    kind = get_kind(m.kind)
    cfg = load_section(kind.INDEX_PARAMS, effect=args.effect)
    split = Path(args.split)
    positions = knobs.read_positions(split)  # None: a plain effect
    knobs.require_sequence(positions, m.kind)
    # Indices address the audio at the model's rate (oversampled by model.oversample).
    factor = check_factor(m.oversample)
    takes = knobs.takes(split, positions)
    n_train = [sf.info(str(t / "train_dry.wav")).frames * factor for t in takes]
    n_val = [sf.info(str(t / "val_dry.wav")).frames * factor for t in takes]

    if positions is None:
        index = kind.make_index(n_train[0], n_val[0], structure, cfg)
    else:  # each position tiled on its own (a fresh seed each), then shuffled together and capped
        per = [kind.make_index(nt, nv, structure, dataclasses.replace(cfg, seed=cfg.seed + i, max_segments=None))
               for i, (nt, nv) in enumerate(zip(n_train, n_val, strict=True))]
        index = merge_indexes(per, n_train, n_val, cfg.seed, cfg.max_segments)
    if index.train.size == 0 or index.val.size == 0:
        raise InputError(f"{split}: training or validation part too short for examples of {index.length} samples")
    count = getattr(cfg, "count", None)
    if count is not None and index.supervised < count:
        warn(f"frame.count={count} but the training part only gives {index.supervised} examples; using all")

    with staged_dir(args.out) as tmp:
        np.savez(tmp / "index.npz", train=index.train, val=index.val, length=index.length)
        write_json(tmp / "index.json", {"kind": m.kind, "oversample": factor, "structure": structure.name,
                                        "length": index.length, "train_examples": int(index.train.shape[-1]),
                                        "val_examples": int(len(index.val)),
                                        "supervised_samples": int(index.supervised),
                                        **({} if positions is None else {"positions": list(positions.labels)})})
    print(f"{m.kind}: {index.train.shape[-1]} training examples per epoch and {len(index.val)} validation "
          f"examples of {index.length} samples", flush=True)


if __name__ == "__main__":
    run(main)
