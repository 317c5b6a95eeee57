"""A fused LSTM for training: TensorFlow's whole-sequence `BlockLSTM` kernel (one op for the
forward pass, one for the backward) in place of Keras's per-step loop, same weights, same math.

Keras's LSTM on a CPU runs a `while_loop` of small ops per time step; for the sequence kind's long
segments (thousands of steps, 32 segments a batch) that per-step cost dominates. The fused kernel
computes the same cell (sigmoid gates, tanh cell; no peepholes, no cell clipping, no forget bias;
its gate order i, c, f, o is permuted in-graph from Keras's i, f, c, o) and has its gradient
registered, so `fit` trains it like any layer. (`BlockLSTMV2`, which takes Keras's gate order,
computes the same forward pass but wrong forget- and cell-gate gradients in TF 2.21: not used.)
Models are trained in this form and saved as plain Keras LSTMs (`plain_weights_into`), so every reader of a
saved model (streaming, exports, NAM) sees an ordinary `keras.layers.LSTM`.
"""

from __future__ import annotations


def _layer_class():
    import keras
    import tensorflow as tf

    def _icfo(w):
        """Keras's gate order (i, f, c, o) along the last axis -> the kernel's (i, c, f, o)."""
        i, f, c, o = tf.split(w, 4, axis=-1)
        return tf.concat([i, c, f, o], axis=-1)

    class FusedLSTM(keras.layers.Layer):
        """keras.layers.LSTM(units, return_sequences) for (batch, time, channels) input, zero
        initial state, no mask or dropout; weights `kernel`, `recurrent_kernel`, `bias` as Keras's."""

        def __init__(self, units: int, return_sequences: bool = False, **kw):
            super().__init__(**kw)
            self.units, self.return_sequences = int(units), bool(return_sequences)

        def build(self, input_shape):
            u, n_in = self.units, int(input_shape[-1])
            # Initial values do not matter: `fused_twin` copies the plain model's weights in.
            self.kernel = self.add_weight(shape=(n_in, 4 * u), initializer="zeros", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), initializer="zeros", name="recurrent_kernel")
            self.bias = self.add_weight(shape=(4 * u,), initializer="zeros", name="bias")

        def call(self, x, mask=None):  # Keras may pass mask=None; masks are not supported
            x = tf.cast(x, self.compute_dtype)
            batch, steps = tf.shape(x)[0], tf.shape(x)[1]
            zeros = tf.zeros((batch, self.units), x.dtype)
            no_peephole = tf.zeros((self.units,), x.dtype)
            w = tf.concat([self.kernel, self.recurrent_kernel], axis=0)
            out = tf.raw_ops.BlockLSTM(
                seq_len_max=tf.cast(steps, tf.int64), x=tf.transpose(x, [1, 0, 2]), cs_prev=zeros, h_prev=zeros,
                w=_icfo(w), wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=_icfo(self.bias),
                forget_bias=0.0, cell_clip=-1.0, use_peephole=False)
            h = out[6]  # (time, batch, units)
            return tf.transpose(h, [1, 0, 2]) if self.return_sequences else h[-1]

        def compute_output_shape(self, input_shape):
            if self.return_sequences:
                return (input_shape[0], input_shape[1], self.units)
            return (input_shape[0], self.units)

        def get_config(self):
            return {**super().get_config(), "units": self.units, "return_sequences": self.return_sequences}

    return FusedLSTM


_CLASS = None


def fused_lstm_class():
    """The FusedLSTM layer class (made on first use, so importing this module needs no TensorFlow)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _layer_class()
    return _CLASS


def available() -> bool:
    """True where the fused kernel can run: the TensorFlow backend (Keras's default here)."""
    import keras

    return keras.backend.backend() == "tensorflow"


def fused_twin(model, kernel: str = "block"):
    """A copy of `model` with each plain `keras.layers.LSTM` replaced by a fused layer of the same name
    and weights (other layers cloned as they are): `kernel` "block" is TensorFlow's BlockLSTM (~5x
    faster on long sequences), "cpu" drywet.cpu_lstm's kernel (for short frames on a CPU)."""
    import keras

    from drywet import cpu_lstm

    if kernel == cpu_lstm.KERNEL:
        cls = cpu_lstm.cpu_lstm_class()
    else:
        cls = fused_lstm_class()

    def clone(layer):
        if isinstance(layer, keras.layers.LSTM):
            cfg = layer.get_config()
            unsupported = {k: cfg.get(k) for k in ("dropout", "recurrent_dropout") if cfg.get(k)}
            if (cfg.get("activation"), cfg.get("recurrent_activation")) != ("tanh", "sigmoid") or unsupported \
                    or cfg.get("go_backwards") or cfg.get("stateful") or not cfg.get("use_bias", True):
                raise ValueError(f"layer {layer.name}: only plain tanh/sigmoid LSTMs have a fused twin")
            return cls(layer.units, return_sequences=layer.return_sequences, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin


def plain_weights_into(fused, plain) -> None:
    """Copy a fused twin's trained weights back into its plain model (same layer order)."""
    plain.set_weights(fused.get_weights())
