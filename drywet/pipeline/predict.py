"""Stage `predict@<fx>`: run the trained model (and each checkpoint, over an excerpt) on the test part.

The prediction folder is hashed by DVC and read by later stages, so it holds only what the model
computed; the time it took goes to a metrics file (`timing`) that no stage depends on.

A knob-conditioned effect's model runs on each position's test part with that position's knob
values (a fresh stream each); dry.wav, target.wav and pred.wav then hold the positions one after
another, and predict.json says where each starts and stops. The checkpoint excerpt is the loudest
window inside one position.
"""

from __future__ import annotations

import time
from pathlib import Path

from drywet import audio, knobs, quiet_tensorflow
from drywet.config import PredictParams
from drywet.fileio import write_json
from drywet.inference import checkpoints, load_keras, load_model, predict
from drywet.pipeline.contracts import PositionPart, PredictInfo
from drywet.pipeline.outputs import staged_dir


def predict_test(split: Path, model_dir: Path, out: Path, timing: Path, p: PredictParams) -> PredictInfo:
    """Predict the test part of the takes under `split` with the model in `model_dir` into the folder
    `out` (replaced as a whole: dry.wav, target.wav, pred.wav, ckpt_epoch_NNN.wav, predict.json); the
    seconds it took go to `timing`."""
    quiet_tensorflow()
    positions = knobs.read_positions(split)  # None: a plain effect
    model, meta = load_model(model_dir)
    if positions is None:
        dry, sr = audio.read_wav(split / "test_dry.wav")
        target, _ = audio.read_wav(split / "test_wet.wav")
        t0 = time.perf_counter()
        pred = predict(model, meta, dry, p.batch_size)
        seconds = time.perf_counter() - t0
        n_ex = min(len(dry), int(round(p.checkpoint_excerpt_s * sr)))
        start = audio.loudest_window_start(target, n_ex)
        excerpt_knobs, parts, excerpt_position = None, (), None
    else:
        takes = [(audio.read_wav(t / "test_dry.wav"), audio.read_wav(t / "test_wet.wav")[0])
                 for t in knobs.takes(split, positions)]
        sr = takes[0][0][1]
        t0 = time.perf_counter()
        preds = [predict(model, meta, d, p.batch_size, knobs=positions.settings(i))
                 for i, ((d, _), _) in enumerate(takes)]
        seconds = time.perf_counter() - t0
        dry, bounds = knobs.join([d for (d, _), _ in takes])
        target, _ = knobs.join([t for _, t in takes])
        pred, _ = knobs.join(preds)
        n_ex = min(int(round(p.checkpoint_excerpt_s * sr)), *(len(t) for _, t in takes))
        at, start = audio.loudest_part_window(target, bounds, n_ex)
        excerpt_knobs = positions.settings(at)
        parts = tuple(PositionPart(label=label, settings=positions.settings(i), start=int(bounds[i]),
                                   stop=int(bounds[i + 1])) for i, label in enumerate(positions.labels))
        excerpt_position = positions.labels[at]
    with staged_dir(out) as tmp:
        audio.write_wav(tmp / "pred.wav", pred, sr)
        audio.write_wav(tmp / "dry.wav", dry, sr)
        audio.write_wav(tmp / "target.wav", target, sr)
        epochs = []
        for epoch, ckpt in checkpoints(model_dir).items():
            ckpt_model, x = load_keras(ckpt), dry[start:start + n_ex]
            y = predict(ckpt_model, meta, x, p.batch_size, knobs=excerpt_knobs)
            audio.write_wav(tmp / f"ckpt_epoch_{epoch:03d}.wav", y, sr)
            epochs.append(epoch)
        info = PredictInfo(test_seconds=round(len(dry) / sr, 3), excerpt_start=start, excerpt_length=n_ex,
                           checkpoint_epochs=tuple(epochs), positions=parts, excerpt_position=excerpt_position)
        info.save(tmp)
    write_json(timing, {"predict_seconds": round(seconds, 3),
                        "rtf_test_part": round(len(dry) / sr / seconds, 3)})
    print(f"predicted {len(dry) / sr:.1f} s of test audio in {seconds:.1f} s "
          f"({len(dry) / sr / seconds:.2f}x real time); {len(epochs)} checkpoint excerpts", flush=True)
    return info
