"""Training glue: batches equal explicitly built frames; same seed, same model."""

from __future__ import annotations

import numpy as np

from drywet import train
from drywet.models import get_structure


def signals(n: int = 6000):
    rng = np.random.default_rng(0)
    dry = (0.3 * rng.standard_normal(n)).astype(np.float32)
    return dry, np.tanh(3 * dry).astype(np.float32)


def test_framed_batches_equal_explicit_frames() -> None:
    dry, wet = signals(500)
    starts = np.array([0, 7, 100, 468], np.int64)
    (x, y), = list(train.framed_dataset(dry, wet, starts, 32, 8, shuffle_seed=None))
    expected = np.stack([dry[s:s + 32] for s in starts])[..., None]
    assert np.array_equal(x.numpy(), expected)
    assert np.array_equal(y.numpy()[:, 0], wet[starts + 31])  # the wet sample at the frame's last sample


def test_shuffled_epochs_cover_every_start_once_in_a_new_order() -> None:
    dry, wet = signals(2000)
    starts = np.arange(0, 1900, 3, dtype=np.int64)
    ds = train.framed_dataset(dry, wet, starts, 32, 64, shuffle_seed=5)
    firsts = []
    for _ in range(2):
        ys = np.concatenate([y.numpy()[:, 0] for _, y in ds])
        assert sorted(ys.tolist()) == sorted(wet[starts + 31].tolist())
        firsts.append(ys[:10])
    assert not np.array_equal(firsts[0], firsts[1])


def test_sequence_segments_and_loss_skip_warmup() -> None:
    dry, wet = signals(3000)
    starts = train.segment_starts(len(dry), 1000, 256, 56, seed=1)
    assert len(starts) == 5 and np.all(starts + 256 <= len(dry))
    (x, y), = list(train.sequence_dataset(dry, wet, starts, 256, 8, None))
    assert np.array_equal(x.numpy()[1, :, 0], dry[starts[1]:starts[1] + 256])
    loss = train.sequence_loss(warmup=56, preemph=0.0)
    bad_warmup = y.numpy().copy()
    bad_warmup[:, :56] += 1.0  # errors inside the warm-up are not scored
    assert float(loss(y, bad_warmup)) == 0.0


def test_same_seed_same_model() -> None:
    dry, wet = signals()
    starts = np.arange(0, 5000, 5, dtype=np.int64)
    cfg = train.TrainConfig(epochs=2, batch_size=64, learning_rate=1e-3, loss="mse", seed=3, checkpoints=())
    s = get_structure("l1_u16_f32")
    weights = []
    for _ in range(2):
        ds = train.framed_dataset(dry, wet, starts, s.frame, 64, cfg.seed)
        model, _ = train.fit(s, cfg, ds, None, verbose=0)
        weights.append(np.concatenate([w.ravel() for w in model.get_weights()]))
    assert np.allclose(weights[0], weights[1], atol=1e-6)
