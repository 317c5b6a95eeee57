"""Stage `section@<fx>`: one effect's part of the listening report (data/report/<fx>/): audio
excerpts of dry, target, prediction and checkpoints, the figures, the metrics and capture checks;
and the effect's own pages, so a capture needs no other effect for them: its listening page
(plots/<fx>-report.html) and its blind ABX page (plots/<fx>-listen.html) with its key.

The `report` stage depends on the folder holding every effect's section (data/report), so
dvc.yaml needs no list of effects beyond params.yaml's. A knob-conditioned effect plays dry, target
and prediction at each knob position.
"""

from __future__ import annotations

from pathlib import Path

from drywet import audio, knobs, listen
from drywet.config import EffectParams, ReportParams
from drywet.fileio import write_json
from drywet.listen import listen_intro
from drywet.meta import ModelMeta, checkpoint_epoch
from drywet.metrics import REPORT_KEYS
from drywet.pipeline.contracts import AlignFile, PositionPart, PredictInfo, QualityMetrics
from drywet.pipeline.outputs import staged_dir
from drywet.report import (
    ABX_LINK,
    AudioClip,
    EffectSection,
    Figure,
    capture_checks,
    excerpt,
    relative_link,
    render_report,
    save_section,
    sources_intro,
    write_report,
)
from drywet.report import load_section as load_report_section

FIGURES = (("spectrograms", "Spectrograms of target and prediction (same colour scale)"),
           ("error_spectrum", "Long-term spectrum of target, prediction and error"),
           ("waveforms", "Waveforms: dry, target, prediction"),
           ("checkpoints", "Spectrogram at each saved checkpoint epoch"))
TABLE_KEYS = REPORT_KEYS  # the per-effect table's metric columns, from the table of metrics


def section(name: str, fx: EffectParams, params: ReportParams, metrics_path: Path, align_path: Path,
            model_json: Path, pdir: Path, plots_dir: Path, out: Path, page_path: Path, listen_path: Path,
            key_path: Path) -> None:
    """Write effect `name`'s report section into the folder `out` (replaced as a whole), its listening
    page (`page_path`), its ABX page (`listen_path`) and that page's key (`key_path`), from its metrics
    (`metrics_path`), alignment report (`align_path`), model.json, predictions and figures."""
    seconds = params.excerpt_s
    m = QualityMetrics.load(metrics_path).values
    align = AlignFile.load(align_path)
    meta = ModelMeta.load(model_json)

    target, sr = audio.read_wav(pdir / "target.wav")
    signals = {label: audio.read_wav(pdir / f"{label}.wav")[0] for label in ("dry", "pred")}
    signals["target"] = target
    info = PredictInfo.load(pdir)
    # One excerpt of dry, target and prediction per knob position (the whole test part for a plain effect).
    positions = info.positions or (PositionPart(label="", settings={}, start=0, stop=len(target)),)
    where = {p.label: ", " + ", ".join(f"{k} {v:g}" for k, v in p.settings.items()) for p in positions
             if p.label}
    clips, n = [], None
    for pos in positions:
        a, suffix = int(pos.start), where.get(pos.label, "")
        part = excerpt(target[a:pos.stop], sr, seconds)
        sl = slice(a + part.start, a + part.stop)
        n = sl.stop - sl.start if n is None else min(n, sl.stop - sl.start)
        clips += [AudioClip(label + suffix, signals[sig][sl], sr)
                  for sig, label in (("dry", "dry (input)"), ("target", "target (wet recording)"),
                                     ("pred", f"prediction ({meta.epochs_label})"))]
    start, n = int(info.excerpt_start), min(int(info.excerpt_length), n)
    suffix = where.get(info.excerpt_position or "", "")
    for ck in sorted(pdir.glob("ckpt_epoch_*.wav"), key=checkpoint_epoch):
        clips.append(AudioClip(f"checkpoint, epoch {checkpoint_epoch(ck)}{suffix}", audio.read_wav(ck)[0][:n], sr))
    clips.append(AudioClip(f"target at the checkpoint excerpt{suffix}", target[start:start + n], sr))
    figures = [Figure(caption, (plots_dir / f"{fig}.png").read_bytes()) for fig, caption in FIGURES]

    takes = list(align.takes.values())  # a knob effect: one per position
    latencies = sorted({t.latency_ms for t in takes})
    metrics = {**m, "latency_ms": latencies[0] if len(latencies) == 1 else ", ".join(map(str, latencies)),
               "align_correlation": min(t.peak_correlation for t in takes)}
    source = "virtual bench, stand-in pedal " + fx.bench_pedal if fx.source == "bench" else fx.source
    dial = knobs.from_params(fx)
    if dial is not None:
        source += f", at {dial.describe()}"
    title = (f"{name}: {meta.structure} ({meta.kind}), {meta.train_examples} training examples, "
             f"{meta.epochs_label}" + (f", knobs {', '.join(meta.knobs)}" if meta.knobs else ""))
    sec = EffectSection(name, title, metrics, clips, figures, notes=f"Recordings: {source}, {sr} Hz.",
                        checks=capture_checks(m))
    row = {"effect": name, "source": source, "sample_rate": sr, "structure": meta.structure,
           "kind": meta.kind, **{k: m.get(k) for k in TABLE_KEYS}}
    if dial is not None:  # the test ESR at each knob position, in one column
        row["esr_by_setting"] = ", ".join(f"{label} {m[knobs.metric_key('esr', label)]:.4g}" for label in dial.labels)
    with staged_dir(out) as tmp:
        save_section(sec, tmp, extra={"row": list(row.items())})  # pairs: JSON keys are sorted
        sec = load_report_section(tmp)[0]  # as the report stage reads it: its pages show the same
    intro = sources_intro([(name, source, fx.source == "bench")])
    write_report(page_path, render_report(f"drywet listening report: {name}", [sec], intro=intro,
                                          pages=[(ABX_LINK, relative_link(listen_path, page_path))]))
    page, key = listen.page(f"drywet blind listening test (ABX): {name}", [sec], params.abx_trials,
                            str(out.parent), listen_intro(str(key_path)))
    write_json(key_path, key)
    write_report(listen_path, page)
    print(f"{name}: report section with {len(clips)} clips and {len(figures)} figures; "
          f"pages {page_path}, {listen_path} (key {key_path})", flush=True)
