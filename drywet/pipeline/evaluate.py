"""Stage `evaluate@<fx>`: metrics on the whole test part, inference cost, and the plots.

metrics/<fx>.json holds the entries of drywet.metrics.METRICS (which also says each one's decimals);
the ones measured on the two signals come from `metrics.compute_all`.

For a knob-conditioned effect the metrics cover every position's test part together, and
`esr_<label>` (e.g. `esr_gain20`) each position's alone; the capture checks measure each take apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drywet import audio, capture, knobs, metrics, plots, quiet_tensorflow
from drywet.config import EvaluateParams
from drywet.cost import measure_rtf, rtf_single_thread
from drywet.errors import InputError
from drywet.export import exportable_formats
from drywet.fileio import write_json
from drywet.inference import load_model
from drywet.kinds import get_structure, macs_per_sample
from drywet.meta import checkpoint_epoch
from drywet.pipeline.contracts import PredictInfo, QualityMetrics, TrainMetrics
from drywet.pipeline.outputs import staged_dir


def evaluate(effect: str, pdir: Path, mdir: Path, metrics_path: Path, plots_dir: Path, epochs_path: Path,
             train_metrics: Path, p: EvaluateParams) -> QualityMetrics:
    """Score the predictions in `pdir` of the model in `mdir`: metrics/<fx>.json (`metrics_path`),
    the per-checkpoint metrics (`epochs_path`) and the figures (the folder `plots_dir`, replaced as a
    whole); `train_metrics`: the train stage's DVCLive metrics (training time)."""
    cutoff = p.hf_cutoff_hz
    quiet_tensorflow()
    pred, sr = audio.read_wav(pdir / "pred.wav")
    target, _ = audio.read_wav(pdir / "target.wav")
    dry, _ = audio.read_wav(pdir / "dry.wav")
    info = PredictInfo.load(pdir)
    model, meta = load_model(mdir)
    structure = get_structure(meta.structure, meta.kind)
    train_seconds = TrainMetrics.load(train_metrics).train_seconds

    result = {k: float(v) for k, v in metrics.compute_all(target, pred, sr, cutoff).items()}
    positions = info.positions  # a knob-conditioned effect's positions in the test audio
    for pos in positions:
        part = slice(pos.start, pos.stop)
        result[knobs.metric_key("esr", pos.label)] = float(metrics.esr(target[part], pred[part]))
    if not all(np.isfinite(v) for v in result.values()):
        raise InputError(f"{pdir / 'pred.wav'}: metrics are not finite (the model diverged?)")
    result.update({
        "params": meta.params,
        # An oversampled model runs `oversample` steps per output sample at the audio rate.
        "macs_per_sample": macs_per_sample(structure, meta.kind) * meta.oversample,
        "model_kib": (mdir / "model.keras").stat().st_size / 1024,
        # Real-time factor (seconds of audio per second of compute) on the same probe signal, with
        # TensorFlow's default threads and with one thread (in a subprocess: threads are fixed at start).
        "rtf": measure_rtf(model, meta, sr, seconds=p.rtf_seconds),
        "rtf_1thread": rtf_single_thread(str(mdir / "model.keras"), seconds=p.rtf_seconds),
        "train_seconds": train_seconds,
        # Which plugin formats this model loads in (none for framed models).
        "exports": ", ".join(exportable_formats(model, meta)) or "none",
        "test_seconds": info.test_seconds,
    })

    # The study's "quality vs epochs" view: every checkpoint (and the final model) on one excerpt.
    start, n_ex = int(info.excerpt_start), int(info.excerpt_length)
    excerpt = target[start:start + n_ex]
    ckpts = {checkpoint_epoch(f): audio.read_wav(f)[0] for f in sorted(pdir.glob("ckpt_epoch_*.wav"))}
    by_epoch = {}
    for epoch, y in sorted({**ckpts, meta.final_epoch: pred[start:start + n_ex]}.items()):
        m = metrics.compute_all(excerpt, y, sr, cutoff)
        by_epoch[f"e{epoch:03d}"] = {k: metrics.rounded(k, float(m[k])) for k in metrics.CHECKPOINT_KEYS}

    title = f"{effect} · {meta.structure} ({meta.kind}) · {meta.train_examples} examples · " \
            f"{meta.epochs_label}"
    with staged_dir(plots_dir) as tmp:
        plots.plot_spectrograms(target[start:start + n_ex], pred[start:start + n_ex], sr,
                                tmp / "spectrograms.png", title)
        plots.plot_error_spectrum(target, pred, sr, tmp / "error_spectrum.png", title, cutoff)
        plots.plot_waveforms(dry, target, pred, sr, tmp / "waveforms.png", title,
                             long_s=p.excerpt_s)
        plots.plot_checkpoint_grid(target[start:start + n_ex], ckpts, sr, tmp / "checkpoints.png", title)
    write_json(epochs_path, by_epoch)
    # Capture checks: noise floor and the ESR it allows, repeatability, verdict (4 significant digits).
    if positions:
        bounds = np.array([pos.start for pos in positions] + [positions[-1].stop])
        checks = capture.capture_checks_parts(dry, target, sr, result["esr"], bounds)
    else:
        checks = capture.capture_checks(dry, target, sr, result["esr"])
    scored = QualityMetrics({**{k: metrics.rounded(k, v) for k, v in result.items()}, **checks})
    scored.save(metrics_path)
    print(f"{effect}: ESR {result['esr']:.4f}  MAE {result['mae']:.5f}  R2 {result['r2']:.4f}  "
          f"HF error {result['hf_error_db']:.1f} dB  ({checks['verdict']}; ESR floor {checks['esr_floor']})",
          flush=True)
    for pos in positions:
        print(f"  {pos.label}: ESR {result[knobs.metric_key('esr', pos.label)]:.4f}", flush=True)
    return scored
