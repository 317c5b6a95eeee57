"""One effect's plugin files: a file for every format in `FORMATS` a released plugin loads (`plan`),
with the metadata of its gear (params.yaml's `gear.<fx>`) and training (`provenance`, which the
`export` command uses too), and the test ESR of each file played from its contents alone (its
format's reader, `drywet.export.players`) next to the scored one, and as each plugin plays it with its
default settings (`played_by_plugins`, `drywet.export.hosts`), as the `export` stage writes them.
Arrays in, dicts out; the stage writes the files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drywet import metrics
from drywet.antialias import downsample, upsample
from drywet.capture import sig
from drywet.export import FORMATS, plan
from drywet.export.checks import model_rate
from drywet.export.format import Provenance
from drywet.export.hosts import Host
from drywet.export.plugins import FRAMED_REASON, notes
from drywet.lstm.weights import SequenceWeights

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
    about = provenance(meta, effect, gear, esr, verdict, latency_samples)
    exports = []
    for fmt, plugin_names in loads.items():
        form = FORMATS[fmt]
        data = form.finish(form.build(weights, rate, form.file_metadata(about)))
        found = [note for plugin in form.plugins if plugin.name in plugin_names
                 for note in notes(plugin, weights, rate)]
        exports.append(Export(fmt, f"{effect}{form.suffix}", data, tuple(plugin_names), tuple(found)))
    return exports, skipped


def provenance(meta, effect: str | None, gear=None, esr: float | None = None, verdict: str | None = None,
               latency_samples=None) -> Provenance:
    """What a file's metadata says of the model (ModelMeta `meta`): the one source of the metadata of
    the export stage's files and of `python -m drywet export`'s, so both carry the same fields."""
    name = " ".join(str(s) for s in ("drywet", effect, meta.structure) if s)
    return Provenance(name, gear, esr, verdict, latency_samples, model_rate(meta))


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


def played(export: Export, takes: Sequence[Take], oversample: int = 1, rate: int | None = None,
           play_rate: int | None = None, host: Host | None = None) -> np.ndarray:
    """The file played by its independent reader over every take, concatenated (each take from the
    file's initial state, its knobs held), as the predict stage runs the model. An oversampled model
    is played between the same interpolation and decimation filters the pipeline uses (the NAM plugin
    resamples by itself; the others run at the host's rate). A plugin that runs every model at one
    `play_rate` other than the model's audio `rate` plays the dry resampled to it, and its output is
    resampled back (what the listener hears). Without `host` the prewarm is left out, as the scoring
    starts from the zero state too; with it (a plugin's `default`, at the host rate `rate`) the
    plugin's prewarm, fast tanh and processing before and after the model are played too."""
    player = FORMATS[export.fmt].reader(export.data)
    player.fast_tanh = host is not None and host.fast_tanh
    resampled = rate is not None and play_rate is not None and play_rate != rate
    out = []
    for take in takes:
        player.reset(prewarm=host is not None)
        heard = np.asarray(take.dry, np.float64)
        heard = heard if host is None else host.before(heard, rate)
        dry = _resample(heard, rate, play_rate) if resampled else heard
        x = upsample(dry, oversample).astype(np.float64)
        if take.knobs:
            x = np.column_stack([x, np.broadcast_to(np.float64(take.knobs), (len(x), len(take.knobs)))])
        y = downsample(player.process(x), oversample, len(dry))
        if resampled:
            y = np.pad(_resample(y, play_rate, rate), (0, len(heard)))[:len(heard)]
        out.append(y if host is None else host.after(y, heard, rate))
    return np.concatenate(out)


def wet_of(takes: Sequence[Take]) -> np.ndarray:
    """The takes' wet audio, concatenated (float32, as scored)."""
    return np.concatenate([np.asarray(take.wet, np.float32) for take in takes])


def played_by_plugins(export: Export, takes: Sequence[Take], alone: np.ndarray, oversample: int, rate: int,
                      play_rate: int) -> dict[str, dict]:
    """Per plugin that loads the file and whose default processing `drywet.export.hosts` models: the test
    ESR as it plays the file with its default settings (`esr`, against the wet audio; `vs_model`, against
    `alone`, the file played alone), what it adds by default and the settings that play the model alone
    (`to_match`, None when none does). ESRs to 4 significant digits."""
    form, wet = FORMATS[export.fmt], wet_of(takes)
    out = {}
    for plugin in form.plugins:
        if plugin.name in export.plugins and plugin.default is not None:
            heard = played(export, takes, oversample, rate, play_rate, plugin.default)
            out[plugin.name] = {"esr": sig(metrics.esr(wet, heard)), "vs_model": sig(metrics.esr(alone, heard)),
                                "adds": plugin.default.adds, "to_match": plugin.default.to_match}
    return out


def _resample(x: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    """Polyphase resampling by the exact ratio rate_to / rate_from."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(rate_from), int(rate_to))
    return resample_poly(np.asarray(x, np.float64), int(rate_to) // g, int(rate_from) // g)
