"""The LSTM training kernels by name, one registry (`KERNELS`): `keras` (keras.layers.LSTM itself),
`block` (TensorFlow's BlockLSTM, drywet.lstm.block) and `cpu` (drywet's C kernel, drywet.lstm.cpu).
All compute Keras's LSTM with Keras's weights. A kind names its kernel (`training_kernel`), and
`drywet.train.fit` trains a `twin` of the plain model in which each LSTM is a layer of that kernel,
then copies the weights back (`plain_weights_into`): models are always saved as plain Keras LSTMs.

The twin layer (`layer_class`) is one Keras layer for every kernel (same weights `kernel`,
`recurrent_kernel`, `bias`, made on first use so importing this module needs no TensorFlow); a
kernel supplies only its `call(layer, x, training)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drywet.lstm import block, cpu


@dataclass(frozen=True)
class Kernel:
    """One training kernel: `call` computes a twin layer's output (None: Keras's own LSTM, no twin),
    `available` says whether it runs here (when it does not, `keras` trains instead), `check`
    raises ConfigError when it cannot train a model's layers (key and way out: the params key that
    chose it and the value to set instead)."""

    name: str
    summary: str
    layer_name: str = ""  # the twin layer's class name
    call: Callable | None = None
    available: Callable[[], bool] = lambda: True
    check: Callable | None = None


KERNELS: dict[str, Kernel] = {k.name: k for k in (
    Kernel("keras", "keras.layers.LSTM's own loop (a graph op per step; runs on a GPU)"),
    Kernel("block", "TensorFlow's whole-sequence BlockLSTM op (long sequences)", "FusedLSTM", block.call,
           block.available),
    Kernel("cpu", "drywet's C kernel, a frame at a time in cache on two threads (short frames, CPU)", "CpuLSTM",
           cpu.call, check=cpu.check_model),
)}


def get_kernel(name: str | None) -> Kernel:
    """The kernel called `name` (None: `keras`); ValueError for an unknown name."""
    try:
        return KERNELS[name or "keras"]
    except KeyError:
        raise ValueError(f"unknown LSTM kernel {name!r} (known: {', '.join(KERNELS)})") from None


def usable(name: str | None, model, key: str = "train.kernel", way_out: str = "keras") -> str:
    """The kernel that trains `model` when `name` is asked for: `name`, or `keras` where it cannot
    run here; ConfigError (via the kernel's check, naming `key` and `way_out`) when it cannot train
    the model's layers."""
    kernel = get_kernel(name)
    if not kernel.available():
        return "keras"
    if kernel.check is not None:
        kernel.check(model, key, way_out)
    return kernel.name


_CLASSES: dict[str, type] = {}


def layer_class(name: str) -> type:
    """The twin layer class of kernel `name` (made on first use)."""
    if name not in _CLASSES:
        _CLASSES[name] = _make_class(get_kernel(name))
    return _CLASSES[name]


def _make_class(kernel: Kernel) -> type:
    import keras

    if kernel.call is None:
        raise ValueError(f"kernel {kernel.name} is keras.layers.LSTM itself: it has no twin layer")

    class TwinLSTM(keras.layers.Layer):
        """keras.layers.LSTM(units, return_sequences) for (batch, time, channels) input, zero initial
        state, no mask or dropout, computed by one kernel; weights `kernel`, `recurrent_kernel`,
        `bias` as Keras's (gate order i, f, c, o)."""

        def __init__(self, units: int, return_sequences: bool = False, **kw):
            super().__init__(**kw)
            self.units, self.return_sequences = int(units), bool(return_sequences)

        def build(self, input_shape):
            u, n_in = self.units, int(input_shape[-1])
            # Initial values do not matter: `twin` copies the plain model's weights in.
            self.kernel = self.add_weight(shape=(n_in, 4 * u), initializer="zeros", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), initializer="zeros", name="recurrent_kernel")
            self.bias = self.add_weight(shape=(4 * u,), initializer="zeros", name="bias")

        def call(self, x, training=None, mask=None):  # Keras may pass mask=None; masks are not supported
            return kernel.call(self, x, training)

        def compute_output_shape(self, input_shape):
            if self.return_sequences:
                return (input_shape[0], input_shape[1], self.units)
            return (input_shape[0], self.units)

        def get_config(self):
            return {**super().get_config(), "units": self.units, "return_sequences": self.return_sequences}

    TwinLSTM.__name__ = TwinLSTM.__qualname__ = kernel.layer_name
    return TwinLSTM


def twin(model, name: str | None):
    """`model` with each plain `keras.layers.LSTM` replaced by kernel `name`'s layer of the same name
    and weights (other layers cloned as they are); `model` itself for `keras`. ValueError for an LSTM
    the kernels do not compute (not tanh / sigmoid, dropout, backwards, stateful, no bias)."""
    import keras

    kernel = get_kernel(name)
    if kernel.call is None:
        return model
    cls = layer_class(kernel.name)

    def clone(layer):
        if isinstance(layer, keras.layers.LSTM):
            cfg = layer.get_config()
            unsupported = {k: cfg.get(k) for k in ("dropout", "recurrent_dropout") if cfg.get(k)}
            if (cfg.get("activation"), cfg.get("recurrent_activation")) != ("tanh", "sigmoid") or unsupported \
                    or cfg.get("go_backwards") or cfg.get("stateful") or not cfg.get("use_bias", True):
                raise ValueError(f"layer {layer.name}: only plain tanh/sigmoid LSTMs have a fused twin")
            return cls(layer.units, return_sequences=layer.return_sequences, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    out = keras.models.clone_model(model, clone_function=clone)
    out.set_weights(model.get_weights())
    return out


def plain_weights_into(trained, plain) -> None:
    """Copy a twin's trained weights back into its plain model (same layer order)."""
    plain.set_weights(trained.get_weights())
