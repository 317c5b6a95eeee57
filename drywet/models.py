"""The named LSTM structures and their LSTM stacks; each kind in drywet/kinds builds its Keras model
from them (`drywet.kinds.build_model`: a structure and a kind -> keras.Model)."""

from __future__ import annotations

from dataclasses import dataclass

from drywet.errors import ConfigError

__all__ = ["STRUCTURES", "Structure", "get_structure", "lstm_param_count", "lstm_stack"]


@dataclass(frozen=True)
class Structure:
    """One model size preset: LSTM layers, units per layer, input frame size (samples); `inputs`:
    input channels of a sequence model (1: the audio; a knob-conditioned capture adds one per knob,
    e.g. `dataclasses.replace(structure, inputs=2)`)."""

    name: str
    layers: int
    units: int
    frame: int
    inputs: int = 1


STRUCTURES: dict[str, Structure] = {
    s.name: s
    for s in (
        Structure("l1_u16_f32", 1, 16, 32),
        Structure("l1_u32_f32", 1, 32, 32),
        Structure("l1_u32_f64", 1, 32, 64),
        Structure("l2_u16_f32", 2, 16, 32),
        Structure("l2_u32_f64", 2, 32, 64),
        # Larger one-layer LSTMs for the sequence kind (hard material: high-gain amps); the frame only
        # matters to the framed kind. AIDA-X plays 64 and 80 as they are and 48 padded to 64; Proteus
        # (40) and NeuralPi (20) cannot hold them, NAM loads any width.
        Structure("l1_u48_f32", 1, 48, 32),
        Structure("l1_u64_f32", 1, 64, 32),
        Structure("l1_u80_f32", 1, 80, 32),
    )
}


def get_structure(name: str) -> Structure:
    """Look a structure up by name; unknown names are a ConfigError listing the valid ones."""
    try:
        return STRUCTURES[name]
    except KeyError:
        valid = ", ".join(STRUCTURES)
        raise ConfigError(f"unknown model.structure '{name}'; valid structures: {valid}") from None


def lstm_param_count(layers: int, units: int, inputs: int = 1) -> int:
    """Trainable parameters of stacked LSTMs plus the dense output (Keras counts)."""
    total, n_in = 0, inputs
    for _ in range(layers):
        total += 4 * units * (n_in + units + 1)
        n_in = units
    return total + units + 1


def lstm_stack(x, structure: Structure, sequences: bool):
    """The structure's LSTM layers (`lstm_1`, `lstm_2`, ...) applied to x; the last returns every
    time step when `sequences`, else only its final state."""
    import keras

    for i in range(structure.layers):
        last = i == structure.layers - 1
        x = keras.layers.LSTM(structure.units, return_sequences=sequences or not last, name=f"lstm_{i + 1}")(x)
    return x
