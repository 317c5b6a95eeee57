"""Sequence kind: the LSTM runs along the audio, state carried from sample to sample, one output per
sample (as in real-time amp models). Trained with the `train_sequence` recipe: truncated
back-propagation over segments that tile the whole training part at a fresh random offset every
epoch, the first `warmup` samples of each segment unscored, the best validation epoch kept."""

from __future__ import annotations

import numpy as np

from drywet.config import TrainSequenceParams
from drywet.errors import ConfigError
from drywet.kinds.common import Audio, Index, held, make_esr_metric, start_batches
from drywet.models import Structure, lstm_stack
from drywet.split import epoch_segment_starts, tile_segment_starts

INDEX_PARAMS = TRAIN_PARAMS = TrainSequenceParams  # params.yaml `train_sequence`: segments and recipe
KEEP_BEST = True


KERNEL_KEY = ("train_sequence.kernel", "block")
# What `python -m drywet capture` trains this kind with (over params.yaml's `train_sequence`). Plucked
# notes with rests make a batch's target power swing, and a batch of near-silence gives the ESR loss a
# huge gradient (loss spikes of 50x): gradients' global norm clipped to 1, and 16 segments a batch
# give twice the updates of 32. CAPTURE_SAMPLES: samples trained on in all when no trial measured the
# speed (about 4 minutes of a 1x32 LSTM on two 2.6 GHz cores).
CAPTURE_RECIPE = {"batch_size": 16, "grad_clip": 1.0}
CAPTURE_SAMPLES = 125_000_000  # the params key choosing the kernel, and the way out


def training_kernel(cfg: TrainSequenceParams) -> str:
    """`train_sequence.kernel` (drywet.lstm.kernels): "block" trains with drywet.lstm.block's BlockLSTM
    kernel (~4x faster than Keras's loop on long segments, same math), "cpu" with drywet.lstm.cpu's C
    kernel (both cores)."""
    return cfg.kernel


# Wright & Välimäki, "Perceptual loss function for neural modelling of audio systems", ICASSP 2020:
# the first-order high-pass pre-emphasis 1 - 0.85 z^-1 cascaded with the first-order low-pass
# 1 + 0.85 z^-1, a cheap A-weighting-like emphasis (together 1 - 0.7225 z^-2: zeros at DC and Nyquist,
# most weight in the middle of the band where hearing is most sensitive).
AWEIGHT_STAGES = ((1.0, -0.85), (1.0, 0.85))
DC_EPS = ESR_EPS = 1e-8


def build_model(structure: Structure, skip: bool = False):
    """(batch, time, C) -> (batch, time, 1), C = `structure.inputs` (the audio, then any knob
    channels). Layers: input `dry`, `lstm_<i>`, Dense(1) `wet`; with `skip` an Add `skip` outputs
    `wet` + dry (input channel 0 only), so the LSTM learns only the difference."""
    import keras

    inputs = int(getattr(structure, "inputs", 1))
    inp = keras.Input(shape=(None, inputs), name="dry")
    h = lstm_stack(inp, structure, sequences=True)  # before Dense: construction order sets the init seeds
    out = keras.layers.Dense(1, name="wet")(h)
    if skip:
        # The audio channel alone: a slice is a serialised Keras operation (no Lambda, no extra layer).
        out = keras.layers.Add(name="skip")([out, inp if inputs == 1 else inp[..., :1]])
    return keras.Model(inp, out, name=f"{structure.name}_sequence")


def lstm_steps(structure: Structure) -> int:
    """One LSTM step per output sample."""
    return 1


def make_index(n_train: int, n_val: int, structure: Structure, cfg: TrainSequenceParams) -> Index:
    """Every epoch's training segments (one row per epoch, see `epoch_segment_starts`); validation
    segments tiling the validation part once, in order."""
    train = epoch_segment_starts(n_train, cfg.segment, cfg.warmup, cfg.epochs, cfg.seed, cfg.max_segments)
    stride = cfg.segment - cfg.warmup
    val = np.unique(tile_segment_starts(n_val, cfg.segment, cfg.warmup, stride))
    return Index(train=train, val=val, length=cfg.segment, supervised=int(train.shape[1]) * stride)


def _gather_segments(dry: np.ndarray, wet: np.ndarray, segment: int, knobs: np.ndarray | None = None,
                     bounds: np.ndarray | None = None):
    """Batch of segment starts -> (input (batch, segment, 1 + knobs), target (batch, segment, 1)).
    With `knobs` (positions, knobs) and `bounds` (see Audio), each segment's position is the one its
    start lies in, and its knob values fill the extra channels (constant over the segment)."""
    import tensorflow as tf

    dry_t, wet_t = held(dry), held(wet)
    offsets = tf.range(segment, dtype=tf.int64)
    if knobs is not None:
        knobs_t = tf.constant(np.asarray(knobs, np.float32))
        bounds_t = tf.constant(np.asarray(bounds, np.int64))

    def gather(s):
        idx = s[:, None] + offsets[None, :]
        x = tf.gather(dry_t, idx)[..., None]
        if knobs is not None:
            k = tf.gather(knobs_t, tf.searchsorted(bounds_t, s, side="right") - 1)  # (batch, knobs)
            x = tf.concat([x, tf.broadcast_to(k[:, None, :], [tf.shape(s)[0], segment, knobs_t.shape[1]])], -1)
        return x, tf.gather(wet_t, idx)[..., None]

    return gather


def datasets(audio: Audio, index: Index, cfg: TrainSequenceParams, start_epoch: int = 0):
    """(train_ds, val_ds, steps_per_epoch): the training dataset runs through every epoch's row of
    segment starts in turn (so `fit` needs `steps_per_epoch`), from row `start_epoch` for a training
    resumed after that many epochs; validation is the same every epoch (kept in memory after the
    first)."""
    import tensorflow as tf

    rows = tf.constant(np.asarray(index.train[start_epoch:], np.int64))
    steps = -(-int(index.train.shape[1]) // cfg.batch_size)
    train_ds = (tf.data.Dataset.from_tensor_slices(rows)
                .flat_map(lambda row: tf.data.Dataset.from_tensor_slices(row).batch(cfg.batch_size))
                .apply(tf.data.experimental.assert_cardinality(steps * (len(index.train) - start_epoch)))
                .map(_gather_segments(audio.train_dry, audio.train_wet, index.length, audio.knobs,
                                      audio.train_bounds))
                .prefetch(2))
    # validation is the same batches every epoch: gathered once, then read from memory (a second per
    # epoch less on the 8-minute takes; the values, and so the training, are the same)
    val_ds = (start_batches(index.val, cfg.batch_size, None)
              .map(_gather_segments(audio.val_dry, audio.val_wet, index.length, audio.knobs, audio.val_bounds))
              .cache()
              .prefetch(2))
    return train_ds, val_ds, steps


def preemphasis_stages(name: str, coeff: float = 0.85) -> tuple[tuple[float, float], ...]:
    """The pre-emphasis as cascaded two-tap FIR stages (b0, b1): y[n] = b0 x[n] + b1 x[n-1].

    none: no filter. first_order: the high-pass 1 - coeff z^-1 (coeff typically 0.85-0.95).
    aweight: the A-weighting-like emphasis of Wright & Välimäki (ICASSP 2020, "Perceptual loss
    function for neural modelling of audio systems"): the high-pass 1 - 0.85 z^-1 followed by the
    low-pass 1 + 0.85 z^-1 (AWEIGHT_STAGES); `coeff` is not used.
    """
    if name == "none":
        return ()
    if name == "first_order":
        return ((1.0, -float(coeff)),)
    if name == "aweight":
        return AWEIGHT_STAGES
    raise ConfigError(f"unknown pre-emphasis '{name}'; valid: none, first_order, aweight")


MRSTFT_EPS = 1e-7  # magnitude floor: the log term's eps and the convergence's denominator guard


def mrstft_term(target, pred, ffts: tuple[int, ...]):
    """Multi-resolution STFT distance of `pred` from `target`, both (batch, time) float tensors.

    For each FFT size n in `ffts` (samples; Hann window of n, hop n / 4, frames that fit, no
    padding): the spectral convergence ||(|S_t| - |S_p|)||_F / ||S_t||_F over the whole batch plus the
    mean |log(|S_t| + eps) - log(|S_p| + eps)| (eps = MRSTFT_EPS), averaged over the sizes. Yamamoto,
    Song & Kim, "Parallel WaveGAN", ICASSP 2020; Steinmetz & Reiss, "auraloss", DMRN+15 2020.
    Exactly 0 for identical signals, with a zero (not NaN) gradient there.
    """
    import tensorflow as tf

    total = 0.0
    for n in ffts:
        def mag(x, n=n):
            return tf.abs(tf.signal.stft(x, frame_length=n, frame_step=n // 4, fft_length=n,
                                         window_fn=tf.signal.hann_window))

        st, sp = mag(target), mag(pred)
        err2 = tf.reduce_sum(tf.square(st - sp))
        # sqrt's gradient at 0 is infinite: take it only where the error is not 0
        err = tf.where(err2 > 0, tf.sqrt(tf.where(err2 > 0, err2, 1.0)), 0.0)
        convergence = err / (tf.sqrt(tf.reduce_sum(tf.square(st))) + MRSTFT_EPS)
        log_mag = tf.reduce_mean(tf.abs(tf.math.log(st + MRSTFT_EPS) - tf.math.log(sp + MRSTFT_EPS)))
        total += convergence + log_mag
    return total / len(ffts)


def sequence_loss(warmup: int, loss: str = "mse", preemph: str = "none", coeff: float = 0.85,
                  mrstft_weight: float = 0.0, mrstft_fft: tuple[int, ...] = (512, 1024, 2048)):
    """Keras loss over each segment's scored samples (index >= `warmup`) after the pre-emphasis.

    mse: mean squared error. esr: error-to-signal ratio, sum (t - p)^2 / sum t^2 over the batch
    (Wright, Damskägg & Välimäki, DAFx 2019). esr_dc: ESR plus the DC term of Wright & Välimäki
    (ICASSP 2020), mean over segments of (mean over time of t - p)^2 divided by the mean of t^2,
    taken on the signals without pre-emphasis. The filter runs over the scored samples only (the
    warm-up's output is not trusted), so its first outputs, which lack a history, are left out.
    `mrstft_weight` > 0 adds that many times `mrstft_term` over the `mrstft_fft` sizes (samples, each
    at most segment - warmup), on the scored samples without pre-emphasis; 0 builds no STFT.
    """
    import tensorflow as tf

    stages = preemphasis_stages(preemph, coeff)
    ffts = tuple(int(n) for n in mrstft_fft) if mrstft_weight > 0 else ()

    def emphasise(x):
        for b0, b1 in stages:
            x = b0 * x[:, 1:, :] + b1 * x[:, :-1, :]
        return x

    def base(t0, p0):
        t, p = emphasise(t0), emphasise(p0)
        sq_err = tf.reduce_mean(tf.square(t - p))
        if loss == "mse":
            return sq_err
        value = sq_err / (tf.reduce_mean(tf.square(t)) + ESR_EPS)
        if loss == "esr_dc":
            dc = tf.reduce_mean(tf.square(tf.reduce_mean(t0 - p0, axis=1)))
            value += dc / (tf.reduce_mean(tf.square(t0)) + DC_EPS)
        return value

    def fn(y_true, y_pred):
        t0 = tf.cast(y_true, y_pred.dtype)[:, warmup:, :]
        p0 = y_pred[:, warmup:, :]
        value = base(t0, p0)
        if ffts:
            term = mrstft_term(tf.cast(t0[..., 0], tf.float32), tf.cast(p0[..., 0], tf.float32), ffts)
            value += tf.cast(mrstft_weight * term, value.dtype)
        return value

    fn.__name__ = f"seq_{loss}" if preemph == "none" else f"seq_{loss}_{preemph}"
    if ffts:
        fn.__name__ += "_mrstft"
    return fn


def learning_rate(cfg: TrainSequenceParams, steps_per_epoch: int | None):
    """The constant rate, or cosine decay from it to 0 over all `epochs` (per training step)."""
    import keras

    if cfg.schedule == "constant" or not steps_per_epoch:
        return cfg.learning_rate
    return keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=cfg.epochs * steps_per_epoch)


def compile_args(cfg: TrainSequenceParams, steps_per_epoch: int | None = None,
                 structure: Structure | None = None) -> dict:
    """Adam with the schedule, the chosen loss and pre-emphasis (plus the weighted multi-resolution
    STFT term when `mrstft_weight` > 0), ESR over the scored samples."""
    import keras

    clip = {} if cfg.grad_clip is None else {"global_clipnorm": cfg.grad_clip}
    return {"optimizer": keras.optimizers.Adam(learning_rate(cfg, steps_per_epoch), **clip),
            "loss": sequence_loss(cfg.warmup, cfg.loss, cfg.preemph, cfg.preemph_coeff,
                                  cfg.mrstft_weight, cfg.mrstft_fft),
            "metrics": [make_esr_metric(cfg.warmup)]}


def playable(model, meta=None):
    """The plain weight arrays a plugin file holds (drywet.lstm.weights.SequenceWeights)."""
    from drywet.lstm.weights import SequenceWeights

    return SequenceWeights.from_keras(model, meta)


def predict(model, x: np.ndarray, batch_size: int = 8192, progress: bool = False) -> np.ndarray:
    """One output per sample, the state carried from the first sample to the last, as a plugin runs
    it (drywet.lstm.stream's compiled loop; `batch_size` has no meaning here)."""
    from drywet.lstm.stream import stream_model

    return stream_model(model, None, x, progress=progress)
