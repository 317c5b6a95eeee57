"""One effect's plugin files: a file for every format in `FORMATS` a released plugin loads (`plan`),
with the metadata of its gear (params.yaml's `gear.<fx>`) and training, and the test ESR of each file
played from its contents alone (its format's reader, `drywet.export.players`) next to the scored one,
as the `export` stage writes them. Arrays in, dicts out; the stage writes the files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drywet import metrics
from drywet.antialias import downsample, upsample
from drywet.export import FORMATS, plan
from drywet.export.checks import model_rate
from drywet.export.format import Provenance
from drywet.export.plugins import FRAMED_REASON, notes
from drywet.stream import SequenceWeights

ESR_AGREEMENT = 1e-4  # a played file's test ESR must be this close to the scored one


@dataclass(frozen=True)
class Export:
    """One file to write: its format, file name, contents, the plugins that load it and notes on
    playing it as trained."""

    fmt: str
    file: str
    data: dict
    plugins: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Take:
    """A test part to play: dry and wet audio at the model's audio rate and its knob values."""

    dry: np.ndarray
    wet: np.ndarray
    knobs: tuple[float, ...] = ()


def build_exports(weights: SequenceWeights, meta, effect: str, gear=None, esr: float | None = None,
                  verdict: str | None = None, latency_samples=None) -> tuple[list[Export], dict[str, str]]:
    """The files of every loadable format, and format -> one-line reason for the others.

    `meta` is the model's ModelMeta, `gear` its GearParams (or None), `esr` / `verdict` the scored
    test ESR and its verdict, `latency_samples` what alignment measured.
    """
    rate = model_rate(meta)
    loads, skipped = plan(weights, rate)
    about = Provenance(f"drywet {effect} {meta.structure}", gear, esr, verdict, latency_samples, rate)
    exports = []
    for fmt, plugin_names in loads.items():
        form = FORMATS[fmt]
        data = form.finish(form.build(weights, rate, form.metadata(about)))
        found = [note for plugin in form.plugins if plugin.name in plugin_names
                 for note in notes(plugin, weights, rate)]
        exports.append(Export(fmt, f"{effect}{form.suffix}", data, tuple(plugin_names), tuple(found)))
    return exports, skipped


def framed_skips() -> dict[str, str]:
    """format -> reason, for a framed model (every format)."""
    return dict.fromkeys(FORMATS, FRAMED_REASON)


def highpass_note(highpass_hz: float, effect: str) -> str:
    """The one-line warning for a model trained on high-passed dry audio."""
    return (f"the model was trained on dry audio high-passed at {highpass_hz:g} Hz, but plugins feed it unfiltered "
            f"audio; set effects.{effect}.align.highpass_dry: false and retrain for an exact match")


def plugin_rate(export: Export, rate: int) -> int:
    """The rate the file's plugin runs it at: its one fixed rate (Proteus: 44.1 kHz), else `rate`."""
    fixed = {plugin.rate for plugin in FORMATS[export.fmt].plugins if plugin.name in export.plugins} - {None}
    return fixed.pop() if len(fixed) == 1 else rate


def played_esr(export: Export, takes: Sequence[Take], oversample: int = 1, rate: int | None = None,
               play_rate: int | None = None) -> float:
    """Test ESR of the file played by its independent reader over every take (each from the file's
    initial state, its knobs held), against the wet audio, as the predict and evaluate stages score
    the model. The plugins' prewarm (zeros run through a freshly loaded model: NAM 0.5 s, AIDA-X 2048
    samples) is left out, as the scoring starts from the zero state too: it changes only the first
    milliseconds a plugin plays. An oversampled model is played between the same interpolation and
    decimation filters the pipeline uses (the NAM plugin resamples by itself; the others run at the
    host's rate). A plugin that runs every model at one `play_rate` other than the model's audio
`rate` plays the dry resampled to it, and its output is resampled back (what the listener hears)."""
    player = FORMATS[export.fmt].reader(export.data)
    resampled = rate is not None and play_rate is not None and play_rate != rate
    preds, targets = [], []
    for take in takes:
        player.reset(prewarm=False)
        dry = _resample(take.dry, rate, play_rate) if resampled else take.dry
        x = upsample(dry, oversample).astype(np.float64)
        if take.knobs:
            x = np.column_stack([x, np.broadcast_to(np.float64(take.knobs), (len(x), len(take.knobs)))])
        y = downsample(player.process(x), oversample, len(dry))
        if resampled:
            y = np.pad(_resample(y, play_rate, rate), (0, len(take.dry)))[:len(take.dry)]
        preds.append(y)
        targets.append(np.asarray(take.wet, np.float32))
    return metrics.esr(np.concatenate(targets), np.concatenate(preds))


def _resample(x: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    """Polyphase resampling by the exact ratio rate_to / rate_from."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(rate_from), int(rate_to))
    return resample_poly(np.asarray(x, np.float64), int(rate_to) // g, int(rate_from) // g)
