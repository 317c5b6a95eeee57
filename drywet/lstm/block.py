"""A fused LSTM for training (kernel `block`, the sequence kind's default): TensorFlow's whole-sequence
`BlockLSTM` kernel (one op for the forward pass, one for the backward) in place of Keras's per-step
loop, same weights, same math.

Keras's LSTM on a CPU runs a `while_loop` of small ops per time step; for the sequence kind's long
segments (thousands of steps, 32 segments a batch) that per-step cost dominates. The fused kernel
computes the same cell (sigmoid gates, tanh cell; no peepholes, no cell clipping, no forget bias;
its gate order i, c, f, o is permuted in-graph from Keras's i, f, c, o) and has its gradient
registered, so `fit` trains it like any layer. (`BlockLSTMV2`, which takes Keras's gate order,
computes the same forward pass but wrong forget- and cell-gate gradients in TF 2.21: not used.)
Used through `drywet.lstm.kernels.twin(model, "block")`; models are saved as plain Keras LSTMs.
"""

from __future__ import annotations


def available() -> bool:
    """True where the fused kernel can run: the TensorFlow backend (Keras's default here)."""
    import keras

    return keras.backend.backend() == "tensorflow"


def call(layer, x, training=None):
    """The layer's output for (batch, time, channels) `x` from BlockLSTM: the `call` of
    drywet.lstm.kernels' layer (zero initial state, no mask; `training` changes nothing)."""
    import tensorflow as tf

    def icfo(w):
        """Keras's gate order (i, f, c, o) along the last axis -> the kernel's (i, c, f, o)."""
        i, f, c, o = tf.split(w, 4, axis=-1)
        return tf.concat([i, c, f, o], axis=-1)

    x = tf.cast(x, layer.compute_dtype)
    batch, steps = tf.shape(x)[0], tf.shape(x)[1]
    zeros = tf.zeros((batch, layer.units), x.dtype)
    no_peephole = tf.zeros((layer.units,), x.dtype)
    w = tf.concat([layer.kernel, layer.recurrent_kernel], axis=0)
    out = tf.raw_ops.BlockLSTM(
        seq_len_max=tf.cast(steps, tf.int64), x=tf.transpose(x, [1, 0, 2]), cs_prev=zeros, h_prev=zeros,
        w=icfo(w), wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=icfo(layer.bias),
        forget_bias=0.0, cell_clip=-1.0, use_peephole=False)
    h = out[6]  # (time, batch, units)
    return tf.transpose(h, [1, 0, 2]) if layer.return_sequences else h[-1]
