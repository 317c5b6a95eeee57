"""A released plugin build as data (`Plugin`: the widths, layers, inputs, skip path and rate it
plays), and the one-line reason a model does not play in one (`refusal`) or what to set for it to
play as trained (`notes`).

Each format module declares the plugins that load its files in its `Format`, with the plugin
sources' tags and lines in its docstring (`drywet.export.nam`, `aidax`, `proteus`).
"""

from __future__ import annotations

from dataclasses import dataclass

from drywet.export.hosts import Host
from drywet.lstm.weights import SequenceWeights

FRAMED_REASON = "framed models play in no plugin; train with model.kind: sequence"


@dataclass(frozen=True)
class Plugin:
    """One released plugin build: the model files it loads and how it plays them.

    widths: the compiled hidden sizes (None: any); layers: LSTM layers it loads (None: any, of one
    width); inputs: input channels it plays (audio first, then knobs); skip: True when it always
    adds the dry input, False when the format has no skip path, None when the file says; rate: the
    one rate it runs every model at (None: the file's rate or the host's, see `host_rate`);
    prewarm_s / prewarm_samples: zeros run through a model when it is loaded; controls: what to set
    in the plugin for a model of 1, 2, 3 ... inputs (one line each, "" for nothing); more_layers: what
    the build does with a file of more layers than it loads, when that is worse than an error;
    default: what it does around the model at its default settings (`drywet.export.hosts`), None when
    not modelled.
    """

    name: str
    widths: tuple[int, ...] | None
    layers: int | None
    inputs: tuple[int, ...]
    skip: bool | None
    rate: int | None = None
    host_rate: bool = False  # runs the model at whatever rate the host runs at
    prewarm_s: float = 0.0
    prewarm_samples: int = 0
    controls: tuple[str, ...] = ()
    more_layers: str = ""
    default: Host | None = None

    def width_for(self, units: int) -> int | None:
        """The compiled width a model of `units` pads to (the smallest that holds it), or None."""
        if self.widths is None:
            return units
        fits = [w for w in self.widths if w >= units]
        return min(fits) if fits else None

    def prewarm(self, rate: int) -> int:
        """Zero samples the plugin runs through a model at `rate` Hz before it plays."""
        return int(self.prewarm_s * rate) + self.prewarm_samples


def refusal(plugin: Plugin, weights: SequenceWeights, rate: int) -> str | None:
    """Why `plugin` cannot play this model run at `rate` Hz (one line naming what to train with),
    or None when it can (after zero-padding to its width). A WaveNet (not SequenceWeights) reaches
    only plugins whose format holds it (`Format.architectures`: NAM), which load any."""
    if not isinstance(weights, SequenceWeights):
        return None
    name = plugin.name
    layers = len(weights.layers)
    widest = max(layer.units for layer in weights.layers)
    cancels = plugin.skip is True and not weights.skip  # one unit must take away the dry input it adds
    if cancels and layers == 1 and plugin.width_for(widest) is not None and plugin.width_for(widest + 1) is None:
        return (f"{name} adds the dry input to every model's output, and a model without the skip path needs "
                f"one of its {max(plugin.widths)} units to cancel it; train with at most {max(plugin.widths) - 1} "
                "units or model.skip: true")
    if plugin.skip is False and weights.skip:
        return f"{name} LSTMs have no path from input to output; train with model.skip: false"
    if plugin.layers is not None and layers != plugin.layers:
        more = f" ({plugin.more_layers})" if plugin.more_layers else ""
        return (f"{name} loads {plugin.layers} LSTM layer{more}; this model has {layers} "
                "(train with a 1-layer structure)")
    if plugin.width_for(widest) is None:
        most = max(plugin.widths)
        fits = f"{most - 1} units, or {most} with model.skip: true" if cancels else f"{most} units"
        return (f"{name} is built for {', '.join(map(str, plugin.widths))} units; this model has {widest} "
                f"(train with at most {fits})")
    if weights.inputs not in plugin.inputs:
        knobs = weights.inputs - 1
        if max(plugin.inputs) == 1:
            return f"{name} plays audio only; this model has {knobs} knob input{'s' if knobs != 1 else ''}"
        return f"{name} plays at most {max(plugin.inputs) - 1} knob; this model has {knobs}"
    return None


def notes(plugin: Plugin, weights: SequenceWeights, rate: int) -> list[str]:
    """What to set in `plugin` for it to play this (loadable) model as trained."""
    if not isinstance(weights, SequenceWeights):
        return []
    found = []
    units = max(layer.units for layer in weights.layers)
    cancels = plugin.skip is True and not weights.skip
    width = plugin.width_for(units + cancels)
    if cancels:
        found.append(f"one unit cancels the dry input {plugin.name} adds (output within 2e-6 of the model's)")
    if width != units + cancels:
        found.append(f"padded from {units + cancels} to {width} units with silent ones (same output)")
    if plugin.rate is not None and rate != plugin.rate:
        found.append(f"{plugin.name} runs every model at {plugin.rate} Hz, this one was trained at {rate} Hz: "
                     f"it plays with its frequencies scaled by {plugin.rate / rate:.3f} (plugin_esr is measured "
                     f"so); record at {plugin.rate} Hz for an exact match")
    if plugin.host_rate:
        found.append(f"{plugin.name} runs the model at the host's rate: set the host to {rate} Hz")
    if weights.inputs <= len(plugin.controls) and plugin.controls[weights.inputs - 1]:
        found.append(plugin.controls[weights.inputs - 1])
    return found
