"""Stage `section@<fx>`: one effect's part of the listening report (data/report/<fx>/): audio
excerpts of dry, target, prediction and checkpoints, the figures, the metrics and capture checks.

The `report` stage depends on the folder holding every effect's section (data/report), so
dvc.yaml needs no list of effects beyond params.yaml's. A knob-conditioned effect plays dry, target
and prediction at each knob position.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drywet import audio, knobs
from drywet.meta import ModelMeta, checkpoint_epoch
from drywet.metrics import REPORT_KEYS
from drywet.params import ReportParams, load_effects, load_section
from drywet.report import AudioClip, EffectSection, Figure, capture_checks, excerpt, save_section
from stages.common import run, staged_dir

FIGURES = (("spectrograms", "Spectrograms of target and prediction (same colour scale)"),
           ("error_spectrum", "Long-term spectrum of target, prediction and error"),
           ("waveforms", "Waveforms: dry, target, prediction"),
           ("checkpoints", "Spectrogram at each saved checkpoint epoch"))
TABLE_KEYS = REPORT_KEYS  # the per-effect table's metric columns, from the table of metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--effect", required=True)
    ap.add_argument("--metrics", required=True, help="the evaluate stage's metrics/<fx>.json")
    ap.add_argument("--align", required=True, help="the align stage's metrics/align/<fx>.json")
    ap.add_argument("--model", required=True, help="the model's model.json")
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    seconds = load_section(ReportParams).excerpt_s
    fx = load_effects()[args.effect]
    m = json.loads(Path(args.metrics).read_text())
    align = json.loads(Path(args.align).read_text())
    meta = ModelMeta.load(args.model)
    pdir = Path(args.predictions)

    target, sr = audio.read_wav(pdir / "target.wav")
    signals = {name: audio.read_wav(pdir / f"{name}.wav")[0] for name in ("dry", "pred")}
    signals["target"] = target
    info = json.loads((pdir / "predict.json").read_text())
    # One excerpt of dry, target and prediction per knob position (the whole test part for a plain effect).
    positions = info.get("positions") or [{"label": "", "start": 0, "stop": len(target)}]
    where = {p["label"]: ", " + ", ".join(f"{k} {v:g}" for k, v in p["settings"].items()) for p in positions
             if p["label"]}
    clips, n = [], None
    for pos in positions:
        a, suffix = int(pos["start"]), where.get(pos["label"], "")
        part = excerpt(target[a:pos["stop"]], sr, seconds)
        sl = slice(a + part.start, a + part.stop)
        n = sl.stop - sl.start if n is None else min(n, sl.stop - sl.start)
        clips += [AudioClip(label + suffix, signals[name][sl], sr)
                  for name, label in (("dry", "dry (input)"), ("target", "target (wet recording)"),
                                      ("pred", f"prediction ({meta.epochs_label})"))]
    start, n = int(info["excerpt_start"]), min(int(info["excerpt_length"]), n)
    suffix = where.get(info.get("excerpt_position", ""), "")
    for ck in sorted(pdir.glob("ckpt_epoch_*.wav"), key=checkpoint_epoch):
        clips.append(AudioClip(f"checkpoint, epoch {checkpoint_epoch(ck)}{suffix}", audio.read_wav(ck)[0][:n], sr))
    clips.append(AudioClip(f"target at the checkpoint excerpt{suffix}", target[start:start + n], sr))
    figures = [Figure(caption, (Path(args.plots) / f"{name}.png").read_bytes()) for name, caption in FIGURES]

    takes = [align] if "latency_ms" in align else list(align.values())  # a knob effect: one per position
    latencies = sorted({t["latency_ms"] for t in takes})
    metrics = {**m, "latency_ms": latencies[0] if len(latencies) == 1 else ", ".join(map(str, latencies)),
               "align_correlation": min(t["peak_correlation"] for t in takes)}
    source = "virtual bench, stand-in pedal " + fx.bench_pedal if fx.source == "bench" else fx.source
    dial = knobs.from_params(fx)
    if dial is not None:
        source += f", at {dial.describe()}"
    title = (f"{args.effect}: {meta.structure} ({meta.kind}), {meta.train_examples} training examples, "
             f"{meta.epochs_label}" + (f", knobs {', '.join(meta.knobs)}" if meta.knobs else ""))
    section = EffectSection(args.effect, title, metrics, clips, figures, notes=f"Recordings: {source}, {sr} Hz.",
                            checks=capture_checks(m))
    row = {"effect": args.effect, "source": source, "sample_rate": sr, "structure": meta.structure,
           "kind": meta.kind, **{k: m.get(k) for k in TABLE_KEYS}}
    if dial is not None:  # the test ESR at each knob position, in one column
        row["esr_by_setting"] = ", ".join(f"{label} {m[knobs.metric_key('esr', label)]:.4g}" for label in dial.labels)
    with staged_dir(args.out) as tmp:
        save_section(section, tmp, extra={"row": list(row.items())})  # pairs: JSON keys are sorted
    print(f"{args.effect}: report section with {len(clips)} clips and {len(figures)} figures", flush=True)


if __name__ == "__main__":
    run(main)
