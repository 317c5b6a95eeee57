"""The named LSTM structures and their Keras models (framed and sequence kinds)."""

from __future__ import annotations

from dataclasses import dataclass

from drywet.errors import ConfigError

KINDS = ("framed", "sequence")


@dataclass(frozen=True)
class Structure:
    """One model size preset: LSTM layers, units per layer, input frame size (samples)."""

    name: str
    layers: int
    units: int
    frame: int


STRUCTURES: dict[str, Structure] = {
    s.name: s
    for s in (
        Structure("l1_u16_f32", 1, 16, 32),
        Structure("l1_u32_f32", 1, 32, 32),
        Structure("l1_u32_f64", 1, 32, 64),
        Structure("l2_u16_f32", 2, 16, 32),
        Structure("l2_u32_f64", 2, 32, 64),
    )
}


def get_structure(name: str) -> Structure:
    """Look a structure up by name; unknown names are a ConfigError listing the valid ones."""
    try:
        return STRUCTURES[name]
    except KeyError:
        valid = ", ".join(STRUCTURES)
        raise ConfigError(f"unknown model.structure '{name}'; valid structures: {valid}") from None


def check_kind(kind: str) -> str:
    """Validate model.kind."""
    if kind not in KINDS:
        raise ConfigError(f"unknown model.kind '{kind}'; valid kinds: {', '.join(KINDS)}")
    return kind


def lstm_param_count(layers: int, units: int, inputs: int = 1) -> int:
    """Trainable parameters of stacked LSTMs plus the dense output (Keras counts)."""
    total, n_in = 0, inputs
    for _ in range(layers):
        total += 4 * units * (n_in + units + 1)
        n_in = units
    return total + units + 1


def macs_per_sample(structure: Structure, kind: str) -> int:
    """Multiply-adds per output sample: the framed kind reruns the LSTM over a whole frame."""
    per_step, n_in = 0, 1
    for _ in range(structure.layers):
        per_step += 4 * structure.units * (n_in + structure.units)
        n_in = structure.units
    steps = structure.frame if kind == "framed" else 1
    return per_step * steps + structure.units


def build_model(structure: Structure, kind: str = "framed", seed: int = 0):
    """Keras model: LSTM layer(s) then Dense(1).

    framed:   (batch, frame, 1) -> (batch, 1), the wet sample at the frame's last dry sample.
    sequence: (batch, time, 1) -> (batch, time, 1), one output per input sample.
    """
    import keras

    check_kind(kind)
    keras.utils.set_random_seed(seed)
    time_steps = structure.frame if kind == "framed" else None
    inp = keras.Input(shape=(time_steps, 1), name="dry")
    x = inp
    for i in range(structure.layers):
        last = i == structure.layers - 1
        x = keras.layers.LSTM(
            structure.units,
            return_sequences=(kind == "sequence") or not last,
            name=f"lstm_{i + 1}",
        )(x)
    out = keras.layers.Dense(1, name="wet")(x)
    return keras.Model(inp, out, name=f"{structure.name}_{kind}")
