"""The framed default trained with each `train.kernel`: same test ESR? Train `l1_u32_f32` (the
`train` section's recipe, the frame stage's index) on a split effect with each kernel and seed,
predict the test part as `predict` does, and print test ESR and training time as a Markdown table.
Other structures (--structures) with another frame size get the frame stage's seeded starts for it.

    python -m benchmarks.framed_kernel_check data/split/sd1 data/frames/sd1 [--seeds 1 2 3]
        [--kernels keras cpu] [--structures l1_u32_f32 ...] [--epochs N] [--out FILE]

`keras` is keras.layers.LSTM, one batch per graph call (the seed's loop); `cpu` drywet.lstm.cpu's
kernel with 32 batches per call (the default). Both compute the same math.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("split", type=Path, help="a split stage folder (data/split/<fx>)")
    ap.add_argument("frames", type=Path, help="its frame stage folder (data/frames/<fx>)")
    ap.add_argument("--structures", nargs="+", default=["l1_u32_f32"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--epochs", type=int, default=None, help="instead of the train section's epochs")
    ap.add_argument("--kernels", nargs="+", default=["keras", "cpu"], choices=["keras", "cpu"])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from drywet import quiet_tensorflow

    quiet_tensorflow()
    from benchmarks.split_fit import read_split, test_esr
    from drywet import train
    from drywet.config import FrameParams, TrainParams, load_section
    from drywet.kinds import framed
    from drywet.models import get_structure
    from drywet.pipeline.train import load_index

    data = read_split(args.split)
    committed = load_index(args.frames)
    base = load_section(TrainParams)
    lines = ["| structure | epochs | kernel | seed | test ESR | train wall s | train CPU s |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for s, seed in ((get_structure(n), seed) for n in args.structures for seed in args.seeds):
        if s.frame != committed.length:  # the frame stage's starts are for the params' structure
            audio = data.audio()
            index = framed.make_index(len(audio.train_dry), len(audio.val_dry), s, load_section(FrameParams))
        else:
            index = committed
        for name in args.kernels:
            cfg = dataclasses.replace(base, seed=seed, checkpoints=(), kernel=name, epochs=args.epochs or base.epochs)
            train_ds, val_ds, steps = framed.datasets(data.audio(), index, cfg)
            c0 = time.process_time()
            result = train.fit(s, "framed", cfg, train_ds, val_ds, steps_per_epoch=steps, verbose=0)
            cpu = time.process_time() - c0
            esr = test_esr(data, result, s, "framed", index)
            lines.append(f"| {s.name} | {cfg.epochs} | {name} | {seed} | {esr:.6f} | {result.seconds:.1f} "
                         f"| {cpu:.1f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
