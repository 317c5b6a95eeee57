"""Inference cost: the real-time factor is measured in-process and in a one-thread subprocess, and the
subprocess speaks one JSON line. Only positivity and finiteness are asserted; timings are too noisy for more."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drywet.cost import CostError, measure_rtf, model_size_kib, probe_signal, rtf_single_thread
from drywet.errors import DrywetError, InputError
from drywet.inference import save_model
from drywet.kinds import build_model
from drywet.meta import ModelMeta
from drywet.models import Structure, lstm_param_count

ROOT = Path(__file__).resolve().parent.parent
SR = 8000
TINY_F8 = Structure("tiny_f8", 1, 4, 8)
TINY_F16 = Structure("tiny_f16", 1, 4, 16)


def meta_for(structure: Structure, kind: str = "framed") -> ModelMeta:
    return ModelMeta(effect="test", kind=kind, structure=structure.name, layers=structure.layers,
                     units=structure.units, frame=structure.frame, sample_rate=SR, oversample=1, epochs=1,
                     train_examples=0, supervised_samples=0, params=lstm_param_count(structure.layers, structure.units))


@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cost") / "model" / "model.keras"
    save_model(build_model(TINY_F8, "framed", seed=0), path, meta_for(TINY_F8))
    return path


def test_probe_signal_is_deterministic_and_guitar_level():
    x = probe_signal(SR, SR)
    assert x.dtype == np.float32 and x.shape == (SR,)
    assert np.array_equal(x, probe_signal(SR, SR))
    assert 0.05 < np.max(np.abs(x)) < 0.5


@pytest.mark.parametrize("structure", [TINY_F8, TINY_F16], ids=lambda s: s.name)
def test_measure_rtf_framed_is_positive_and_finite(structure):
    model = build_model(structure, "framed", seed=0)
    rtf = measure_rtf(model, meta_for(structure), SR, seconds=0.25, repeats=1, batch_size=1024)
    assert math.isfinite(rtf) and rtf > 0


def test_measure_rtf_rejects_empty_work():
    with pytest.raises(CostError):
        measure_rtf(None, meta_for(TINY_F8), SR, seconds=0.0)


def test_module_prints_one_json_line_with_a_positive_rtf(saved_tiny):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-m", "drywet.cost", str(saved_tiny), "--seconds", "0.5",
                           "--threads", "1", "--repeats", "1"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["threads"] == 1 and result["sample_rate"] == SR
    assert math.isfinite(result["rtf"]) and result["rtf"] > 0


def test_rtf_single_thread_on_a_model_folder(saved_tiny):
    rtf = rtf_single_thread(str(saved_tiny.parent), seconds=0.25, repeats=1)
    assert math.isfinite(rtf) and rtf > 0


def test_rtf_single_thread_missing_model_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        rtf_single_thread(str(tmp_path / "nope.keras"))


def test_rtf_single_thread_failure_is_one_line(tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"not a model")  # no model.json beside it either
    with pytest.raises(DrywetError) as info:
        rtf_single_thread(str(bad), seconds=0.1)
    assert isinstance(info.value, CostError)
    assert "\n" not in str(info.value) and "model.json" in str(info.value)


def test_model_size_kib(saved_tiny):
    kib = model_size_kib(saved_tiny)
    assert kib == pytest.approx(saved_tiny.stat().st_size / 1024)
    assert model_size_kib(saved_tiny.parent) > kib  # the folder also holds model.json
    with pytest.raises(InputError):
        model_size_kib(saved_tiny.parent / "missing.keras")
