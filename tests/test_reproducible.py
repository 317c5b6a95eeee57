"""Byte-stable outputs: rerunning a stage on the same inputs writes the same bytes, so DVC reruns
nothing after it (DVC hashes bytes; a timestamp in a WAV, a zip or a JSON file would rerun
everything downstream, training included)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from drywet.audio import read_wav, write_wav
from drywet.dvcrun import run_dvc
from tests.test_pipeline import TINY, make_copy

OUTPUTS = ("data/raw/sd1", "data/aligned/sd1", "data/split/sd1", "data/frames/sd1", "models/sd1",
           "data/predictions/sd1")


def _digests(repo: Path) -> dict[str, str]:
    out = {}
    for folder in OUTPUTS:
        for f in sorted((repo / folder).rglob("*")):
            if f.is_file():
                out[str(f.relative_to(repo))] = hashlib.md5(f.read_bytes()).hexdigest()
    return out


def test_wav_writer_is_byte_stable_and_exact(tmp_path):
    x = np.random.default_rng(0).standard_normal(4001).astype(np.float32) * 0.3
    write_wav(tmp_path / "a.wav", x, 48000)
    write_wav(tmp_path / "b.wav", x, 48000)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    assert b"PEAK" not in (tmp_path / "a.wav").read_bytes()[:200]
    y, sr = read_wav(tmp_path / "a.wav")
    assert sr == 48000 and np.array_equal(x, y)


def test_saved_models_are_byte_stable(tmp_path):
    import keras

    from drywet.inference import save_keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 1))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.LSTM(4, return_sequences=True)(inp)))
    save_keras(model, tmp_path / "a.keras")
    import time

    time.sleep(1.1)  # zip entry times have a 2 s resolution; Keras stamps the date to the second
    save_keras(model, tmp_path / "b.keras")
    assert (tmp_path / "a.keras").read_bytes() == (tmp_path / "b.keras").read_bytes()
    again = keras.models.load_model(tmp_path / "b.keras", compile=False)
    x = np.ones((1, 8, 1), np.float32)
    assert np.array_equal(model(x).numpy(), again(x).numpy())


@pytest.mark.slow
def test_rerun_stages_write_identical_bytes_and_dvc_stays_up_to_date(tmp_path):
    repo = make_copy(tmp_path, {**TINY, "effects": {"sd1": {"source": "bench", "channel": None}}})
    run_dvc(["repro", "predict@sd1"], repo, capture=True, check=True, timeout=900)
    before = _digests(repo)
    assert len(before) > 10
    for stage in ("record@sd1", "align@sd1", "split@sd1", "frame@sd1", "predict@sd1"):
        run_dvc(["repro", "-f", "-s", stage], repo, capture=True, check=True, timeout=900)
    after = _digests(repo)
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert not changed, f"rerun stages wrote different bytes: {changed}"
    status = run_dvc(["status", "predict@sd1"], repo, capture=True, check=True, timeout=900).stdout
    assert "up to date" in status, status
    # Training is seeded and deterministic on one machine: retrained, the model folder is unchanged too
    # (across machines its last bits may differ).
    run_dvc(["repro", "-f", "-s", "train@sd1"], repo, capture=True, check=True, timeout=900)
    retrained = _digests(repo)
    assert {k: v for k, v in retrained.items() if k.startswith("models/")} == \
        {k: v for k, v in before.items() if k.startswith("models/")}
