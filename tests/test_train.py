"""Training glue: framed batches and training exactly as before the kinds interface; sequence epochs
tile the training part; the best validation epoch's weights are kept; each loss on a hand-computed case."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from drywet import train
from drywet.config import TrainParams, TrainSequenceParams
from drywet.kinds import Audio, build_model, framed, sequence
from drywet.models import get_structure
from drywet.split import sample_frame_starts


def signals(n: int = 6000):
    rng = np.random.default_rng(0)
    dry = (0.3 * rng.standard_normal(n)).astype(np.float32)
    return dry, np.tanh(3 * dry).astype(np.float32)


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def seq_cfg(**kw) -> TrainSequenceParams:
    base = dict(epochs=2, batch_size=4, segment=256, warmup=56, learning_rate=5e-3, loss="mse", seed=1,
                patience=None, checkpoints=())
    return TrainSequenceParams(**{**base, **kw})


def test_framed_batches_equal_explicit_frames() -> None:
    dry, wet = signals(500)
    starts = np.array([0, 7, 100, 468], np.int64)
    (x, y), = list(framed.framed_dataset(dry, wet, starts, 32, 8, shuffle_seed=None))
    expected = np.stack([dry[s:s + 32] for s in starts])[..., None]
    assert np.array_equal(x.numpy(), expected)
    assert np.array_equal(y.numpy()[:, 0], wet[starts + 31])  # the wet sample at the frame's last sample


def test_shuffled_epochs_cover_every_start_once_in_a_new_order() -> None:
    dry, wet = signals(2000)
    starts = np.arange(0, 1900, 3, dtype=np.int64)
    ds = framed.framed_dataset(dry, wet, starts, 32, 64, shuffle_seed=5)
    firsts = []
    for _ in range(2):
        ys = np.concatenate([y.numpy()[:, 0] for _, y in ds])
        assert sorted(ys.tolist()) == sorted(wet[starts + 31].tolist())
        firsts.append(ys[:10])
    assert not np.array_equal(firsts[0], firsts[1])


def test_framed_kind_is_the_seed_implementation() -> None:
    """Indices, shuffled batches and a short training equal what the framed code gave before it
    moved into drywet/kinds (values recorded from that implementation)."""
    dry, wet = signals()
    assert digest(sample_frame_starts(20000, 32, 500, seed=1)) == "f99b151e3ffb3934"
    ds = framed.framed_dataset(dry, wet, np.arange(0, 5000, 7, dtype=np.int64), 32, 64, 5)
    ys = [np.concatenate([y.numpy()[:, 0] for _, y in ds]) for _ in range(2)]
    assert [digest(y) for y in ys] == ["a7bee45a4a227d73", "244975f5a90483f1"]
    cfg = TrainParams(epochs=2, batch_size=64, learning_rate=1e-3, loss="mse", seed=3, checkpoints=())
    s = get_structure("l1_u16_f32")
    train_ds = framed.framed_dataset(dry, wet, np.arange(0, 5000, 5, dtype=np.int64), s.frame, 64, cfg.seed)
    val_ds = framed.framed_dataset(dry, wet, np.arange(5000, 5900, 9, dtype=np.int64), s.frame, 64, None)
    result = train.fit(s, "framed", cfg, train_ds, val_ds, verbose=0)
    history = result.history
    np.testing.assert_allclose(history["loss"], [0.37644481658935547, 0.3610343635082245], rtol=1e-4)
    np.testing.assert_allclose(history["val_esr"], [1.02211594581604, 0.9740137457847595], rtol=1e-4)
    assert result.best_epoch is None and result.epochs_run == 2  # framed keeps the last epoch


def test_same_seed_same_model() -> None:
    dry, wet = signals()
    starts = np.arange(0, 5000, 5, dtype=np.int64)
    cfg = TrainParams(epochs=2, batch_size=64, learning_rate=1e-3, loss="mse", seed=3, checkpoints=())
    s = get_structure("l1_u16_f32")
    weights = []
    for _ in range(2):
        ds = framed.framed_dataset(dry, wet, starts, s.frame, 64, cfg.seed)
        model = train.fit(s, "framed", cfg, ds, None, verbose=0).model
        weights.append(np.concatenate([w.ravel() for w in model.get_weights()]))
    assert np.allclose(weights[0], weights[1], atol=1e-6)


def test_sequence_epochs_tile_the_part_at_fresh_offsets() -> None:
    dry, wet = signals(5000)
    cfg = seq_cfg(epochs=3)
    s = get_structure("l1_u16_f32")
    index = sequence.make_index(5000, 1000, s, cfg)
    assert index.train.shape[0] == 3
    for row in index.train:
        scored = np.zeros(5000, bool)
        for start in row:
            scored[start + cfg.warmup:start + cfg.segment] = True
        assert scored[cfg.warmup:].all()  # every sample after the first warm-up is scored each epoch
    assert len({tuple(np.sort(row)) for row in index.train}) == 3  # a different tiling every epoch
    train_ds, _, steps = sequence.datasets(Audio(dry, wet, dry[:1000], wet[:1000]), index, cfg)
    batches = list(train_ds)
    assert len(batches) == 3 * steps
    for epoch, row in enumerate(index.train):  # the dataset runs through the rows in order
        xs = np.concatenate([x.numpy()[:, :, 0] for x, _ in batches[epoch * steps:(epoch + 1) * steps]])
        assert np.array_equal(xs, np.stack([dry[st:st + cfg.segment] for st in row]))


def test_best_callback_keeps_the_best_epoch_and_stops_after_patience() -> None:
    model = build_model(get_structure("l1_u16_f32"), "sequence", seed=0)
    lines: list[str] = []
    cb = train.best_epoch_callback(patience=2, log=lines.append)
    cb.set_model(model)
    model.stop_training = False  # as fit sets it
    snapshots = []
    for epoch, val_esr in enumerate([0.5, 0.3, 0.4, 0.35]):
        model.set_weights([w + epoch for w in model.get_weights()])
        snapshots.append(model.get_weights())
        cb.on_epoch_end(epoch, {"val_esr": val_esr})
        assert model.stop_training == (epoch == 3)  # two epochs without beating epoch 2
    cb.on_train_end()
    assert cb.best_epoch == 2
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[1], strict=True))
    assert lines == ["best epoch 2 (val_esr=0.3): its weights are kept"]


def test_sequence_fit_ends_with_the_best_epochs_weights(tmp_path) -> None:
    dry, wet = signals(4000)
    cfg = seq_cfg(epochs=3, learning_rate=0.05, checkpoints=(1, 2, 3))
    s = get_structure("l1_u16_f32")
    index = sequence.make_index(3000, 1000, s, cfg)
    train_ds, val_ds, steps = sequence.datasets(Audio(dry[:3000], wet[:3000], dry[3000:], wet[3000:]), index, cfg)
    result = train.fit(s, "sequence", cfg, train_ds, val_ds, steps_per_epoch=steps, skip=True,
                       checkpoint_dir=str(tmp_path), log_path=str(tmp_path / "train.log"), verbose=0)
    val = result.history["val_esr"]
    assert result.best_epoch == int(np.argmin(val)) + 1
    from drywet.inference import load_keras

    best = load_keras(tmp_path / f"epoch_{result.best_epoch:03d}.keras")
    assert all(np.array_equal(a, b) for a, b in zip(result.model.get_weights(), best.get_weights(), strict=True))
    assert f"best epoch {result.best_epoch} " in (tmp_path / "train.log").read_text()


T = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)[None, :, None]
P = np.array([1.0, 1.0, 1.0, 1.0, 1.0], np.float32)[None, :, None]


@pytest.mark.parametrize(("loss", "preemph", "coeff", "warmup", "expected"), [
    # scored t = 3, 4, 5 against p = 1: errors 2, 3, 4
    ("mse", "none", 0.0, 2, (4 + 9 + 16) / 3),
    ("esr", "none", 0.0, 2, (4 + 9 + 16) / (9 + 16 + 25)),
    # DC term: mean error 3, squared 9, over the mean target energy 50/3
    ("esr_dc", "none", 0.0, 2, (4 + 9 + 16) / 50 + 9 / (50 / 3)),
    # The filter runs over the scored samples only. first_order, coeff 0.5, scored t = 3, 4, 5:
    # t' = 4 - 1.5, 5 - 2 = 2.5, 3; p' = 0.5 each; errors 2, 2.5
    ("mse", "first_order", 0.5, 2, (2 ** 2 + 2.5 ** 2) / 2),
    ("esr", "first_order", 0.5, 2, (2 ** 2 + 2.5 ** 2) / (2.5 ** 2 + 3 ** 2)),
    # no warm-up: t' = 1.5, 2, 2.5, 3; errors 1, 1.5, 2, 2.5
    ("mse", "first_order", 0.5, 0, (1 ** 2 + 1.5 ** 2 + 2 ** 2 + 2.5 ** 2) / 4),
    # aweight = (1 - 0.85 z^-1)(1 + 0.85 z^-1) = 1 - 0.7225 z^-2, scored t = 2, 3, 4, 5:
    # t' = 4 - 1.445, 5 - 2.1675 = 2.555, 2.8325; p' = 1 - 0.7225 = 0.2775; errors 2.2775, 2.555.
    # DC term on the unfiltered scored samples: mean error 2.5 over the mean target energy 54 / 4.
    ("esr_dc", "aweight", 0.0, 1,
     (2.2775 ** 2 + 2.555 ** 2) / (2.555 ** 2 + 2.8325 ** 2) + 2.5 ** 2 / (54 / 4)),
])
def test_sequence_losses_hand_computed(loss, preemph, coeff, warmup, expected) -> None:
    fn = sequence.sequence_loss(warmup, loss, preemph, coeff)
    assert float(fn(T, P)) == pytest.approx(expected, rel=1e-5)


def test_loss_ignores_errors_in_the_warmup() -> None:
    t = np.arange(1.0, 11.0, dtype=np.float32)[None, :, None]
    bad = t.copy()
    bad[:, :3] += 1.0
    for loss in ("mse", "esr", "esr_dc"):
        for preemph in ("none", "first_order", "aweight"):
            assert float(sequence.sequence_loss(3, loss, preemph)(t, bad)) == 0.0


def test_device_name_says_where_training_runs(monkeypatch) -> None:
    import tensorflow as tf

    assert train.device_name() == "CPU" or train.device_name().startswith("GPU: ")
    gpus = [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(2)]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda d: {"device_name": "NVIDIA H100"})
    assert train.device_name() == "GPU: NVIDIA H100 (1 of 2)"  # Keras trains on the first


def test_sequence_kernel_param_and_the_c_kernel_trains_the_same_model() -> None:
    """`train_sequence.kernel`: block (the default) or cpu. The C kernel computes the same LSTM as the
    fused one (sums in another order), so after a few steps from the same start the two models agree
    closely; a model the C kernel has no code for is a one-line error naming the key."""
    from drywet.config import parse
    from drywet.errors import ConfigError

    base = dict(epochs=1, batch_size=4, segment=256, warmup=56, learning_rate=5e-3, loss="mse", seed=1)
    assert parse(TrainSequenceParams, base, "train_sequence").kernel == "block"
    with pytest.raises(ConfigError, match=r"train_sequence\.kernel must be one of block, cpu, got 'gpu'"):
        parse(TrainSequenceParams, {**base, "kernel": "gpu"}, "train_sequence")
    dry, wet = signals(4000)
    s = get_structure("l1_u16_f32")
    weights = {}
    for kernel in ("block", "cpu"):
        cfg = seq_cfg(epochs=1, kernel=kernel)
        index = sequence.make_index(3000, 1000, s, cfg)
        train_ds, val_ds, steps = sequence.datasets(Audio(dry[:3000], wet[:3000], dry[3000:], wet[3000:]), index,
                                                    cfg)
        result = train.fit(s, "sequence", cfg, train_ds, val_ds, steps_per_epoch=steps, skip=True, verbose=0)
        assert [type(layer).__name__ for layer in result.model.layers if "lstm" in layer.name] == ["LSTM"]
        weights[kernel] = result.model.get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(weights["block"], weights["cpu"], strict=True))
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(weights["block"], weights["cpu"], strict=True))
    knob_model = dataclasses.replace(s, inputs=3)  # audio + 2 knobs: the C kernel takes 1 or `units` inputs
    with pytest.raises(ConfigError, match=r"train_sequence\.kernel: cpu cannot train layer .*; set "
                                          r"train_sequence\.kernel: block$"):
        train.fit(knob_model, "sequence", seq_cfg(epochs=1, kernel="cpu"), train_ds, None, steps_per_epoch=steps)
