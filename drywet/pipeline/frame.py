"""Stage `frame@<fx>`: pick the training and validation examples as start indices into the audio.

The model kind decides (drywet/kinds): framed models take `frame.count` frames of the structure's
frame size; sequence models take, for every epoch, segments of `train_sequence.segment` samples
tiling the whole training part at a fresh offset. Only indices are stored; batches are gathered
from the audio at training time. A knob-conditioned effect (sequence kind only) gets each position's
examples, offset as if the positions' parts lay end to end and shuffled together (drywet.knobs).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from drywet import audio, knobs
from drywet.antialias import check_factor
from drywet.config import ModelParams
from drywet.errors import InputError
from drywet.kinds import get_kind, get_structure, merge_indexes
from drywet.pipeline.contracts import INDEX_ARRAYS, IndexInfo
from drywet.pipeline.outputs import staged_dir, warn


def frame(split: Path, out: Path, m: ModelParams, cfg) -> IndexInfo:
    """Write index.npz and index.json for the split takes under `split` into the folder `out`
    (replaced as a whole). `cfg`: the kind's index params (`get_kind(m.kind).INDEX_PARAMS`)."""
    structure = get_structure(m.structure, m.kind)
    kind = get_kind(m.kind)
    positions = knobs.read_positions(split)  # None: a plain effect
    knobs.require_sequence(positions, m.kind)
    # Indices address the audio at the model's rate (oversampled by model.oversample).
    factor = check_factor(m.oversample)
    takes = knobs.takes(split, positions)
    n_train = [audio.info(t / "train_dry.wav").frames * factor for t in takes]
    n_val = [audio.info(t / "val_dry.wav").frames * factor for t in takes]

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

    info = IndexInfo(kind=m.kind, oversample=factor, structure=structure.name, length=index.length,
                     train_examples=int(index.train.shape[-1]), val_examples=int(len(index.val)),
                     supervised_samples=int(index.supervised),
                     positions=None if positions is None else tuple(positions.labels))
    with staged_dir(out) as tmp:
        np.savez(tmp / INDEX_ARRAYS, train=index.train, val=index.val, length=index.length)
        info.save(tmp)
    print(f"{m.kind}: {index.train.shape[-1]} training examples per epoch and {len(index.val)} validation "
          f"examples of {index.length} samples", flush=True)
    return info
