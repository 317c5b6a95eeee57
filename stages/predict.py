"""Stage `predict@<fx>`: run the trained model (and each checkpoint, over an excerpt) on the test part."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from drywet import audio
from drywet.inference import load_keras, load_model, predict
from stages.common import load_params, run, staged_dir, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", required=True)
    ap.add_argument("--model", required=True, help="model folder")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    p = load_params()["predict"]
    batch = int(p["batch_size"])
    split, model_dir = Path(args.split), Path(args.model)
    dry, sr = audio.read_wav(split / "test_dry.wav")
    target, _ = audio.read_wav(split / "test_wet.wav")
    model, meta = load_model(model_dir / "model.keras")

    t0 = time.perf_counter()
    pred = predict(model, meta, dry, batch)
    seconds = time.perf_counter() - t0

    n_ex = min(len(dry), int(round(float(p["checkpoint_excerpt_s"]) * sr)))
    start = audio.loudest_window_start(target, n_ex)
    checkpoints = sorted((model_dir / "checkpoints").glob("epoch_*.keras"))
    with staged_dir(args.out) as tmp:
        audio.write_wav(tmp / "pred.wav", pred, sr)
        audio.write_wav(tmp / "dry.wav", dry, sr)
        audio.write_wav(tmp / "target.wav", target, sr)
        epochs = []
        for ckpt in checkpoints:
            epoch = int(ckpt.stem.split("_")[1])
            ck_model = load_keras(ckpt)
            audio.write_wav(tmp / f"ckpt_epoch_{epoch:03d}.wav",
                            predict(ck_model, meta, dry[start:start + n_ex], batch), sr)
            epochs.append(epoch)
        write_json(tmp / "predict.json", {
            "test_seconds": round(len(dry) / sr, 3), "predict_seconds": round(seconds, 3),
            "excerpt_start": start, "excerpt_length": n_ex, "checkpoint_epochs": epochs,
        })
    print(f"predicted {len(dry) / sr:.1f} s of test audio in {seconds:.1f} s "
          f"({len(dry) / sr / seconds:.2f}x real time); {len(epochs)} checkpoint excerpts", flush=True)


if __name__ == "__main__":
    run(main)
