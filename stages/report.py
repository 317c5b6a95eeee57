"""Stage `report`: one self-contained listening page (plots/report.html) and a Markdown summary
comparing the effects: audio of dry, target, prediction and checkpoints, the figures, the metrics."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from drywet import audio
from drywet.report import AudioClip, EffectSection, Figure, excerpt, render_report, write_report
from drywet.study import to_markdown
from stages.common import load_params, run

FIGURES = (("spectrograms", "Spectrograms of target and prediction (same colour scale)"),
           ("error_spectrum", "Long-term spectrum of target, prediction and error"),
           ("waveforms", "Waveforms: dry, target, prediction"),
           ("checkpoints", "Spectrogram at each saved checkpoint epoch"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--html", required=True)
    ap.add_argument("--markdown", required=True)
    args = ap.parse_args()
    params = load_params()
    seconds = float(params["report"]["excerpt_s"])
    sections, rows = [], []
    for fx in params["effects"]:
        m = json.loads(Path(f"metrics/{fx}.json").read_text())
        align = json.loads(Path(f"metrics/align/{fx}.json").read_text())
        meta = json.loads(Path(f"models/{fx}/model.json").read_text())
        pdir = Path(f"data/predictions/{fx}")
        target, sr = audio.read_wav(pdir / "target.wav")
        sl = excerpt(target, sr, seconds)
        clips = [AudioClip(label, audio.read_wav(pdir / f"{name}.wav")[0][sl], sr)
                 for name, label in (("dry", "dry (input)"), ("target", "target (wet recording)"),
                                     ("pred", f"prediction ({meta['epochs']} epochs)"))]
        info = json.loads((pdir / "predict.json").read_text())
        start = int(info["excerpt_start"])
        for ck in sorted(pdir.glob("ckpt_epoch_*.wav")):
            y, _ = audio.read_wav(ck)
            n = min(len(y), sl.stop - sl.start)
            clips.append(AudioClip(f"checkpoint, epoch {int(ck.stem.split('_')[-1])}", y[:n], sr))
        clips.append(AudioClip("target at the checkpoint excerpt",
                               target[start:start + int(info["excerpt_length"])][:sl.stop - sl.start], sr))
        figures = [Figure(caption, Path(f"plots/{fx}/{name}.png").read_bytes()) for name, caption in FIGURES]
        metrics = {**m, "latency_ms": align["latency_ms"], "align_correlation": align["peak_correlation"]}
        title = (f"{fx}: {meta['structure']} ({meta['kind']}), {meta['train_examples']} training examples, "
                 f"{meta['epochs']} epochs")
        sections.append(EffectSection(fx, title, metrics, clips, figures))
        rows.append({"effect": fx, "structure": meta["structure"], "kind": meta["kind"],
                     **{k: m[k] for k in ("esr", "mae", "r2", "esr_preemph", "stft_distance", "hf_error_db",
                                          "params", "macs_per_sample", "rtf")}})
    table = pd.DataFrame(rows)
    source = ", ".join(f"{fx}: {params['effects'][fx]['source']}" for fx in params["effects"])
    intro = (f"Sources: {source}. 'bench' means the built-in virtual bench with stand-in pedals "
             "(physically motivated models, not recordings of the real pedals).")
    write_report(args.html, render_report("drywet listening report", sections,
                                          [("Effects compared", table)], intro))
    Path(args.markdown).write_text("# drywet run summary\n\n" + intro + "\n\n" + to_markdown(table))
    print(to_markdown(table), flush=True)


if __name__ == "__main__":
    run(main)
