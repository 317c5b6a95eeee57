"""Metrics: exact values on hand-made cases, the spectral metrics' sensitivities, and the table of
metrics (METRICS) that the evaluate stage, the report and the study read."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from drywet import metrics
from drywet.errors import ConfigError, InputError

SR = 44100


def _noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def _band(x: np.ndarray, sr: float, lo_hz: float, hi_hz: float) -> np.ndarray:
    """x restricted to [lo_hz, hi_hz) with an FFT mask (brick wall)."""
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size, 1.0 / sr)
    spectrum[(freqs < lo_hz) | (freqs >= hi_hz)] = 0.0
    return np.fft.irfft(spectrum, n=x.size)


@pytest.fixture(scope="module")
def target() -> np.ndarray:
    return 0.3 * _noise(2 * SR, seed=1)


def test_perfect_prediction(target: np.ndarray) -> None:
    result = metrics.compute_all(target, target.copy(), SR, 8000.0)
    assert set(result) == {
        "mae",
        "r2",
        "esr",
        "esr_preemph",
        "stft_distance",
        "hf_error_ratio",
        "hf_error_db",
    }
    assert result["mae"] == 0.0
    assert result["r2"] == 1.0
    assert result["esr"] == 0.0
    assert result["esr_preemph"] == 0.0
    assert result["stft_distance"] == pytest.approx(0.0, abs=1e-12)
    assert result["hf_error_ratio"] == 0.0
    assert result["hf_error_db"] == metrics.HF_DB_FLOOR
    assert all(isinstance(v, float) for v in result.values())


def test_mae_by_hand() -> None:
    t = np.array([0.0, 1.0, -1.0, 0.5])
    p = np.array([0.5, 1.0, 0.0, 0.5])
    assert metrics.mae(t, p) == pytest.approx((0.5 + 0.0 + 1.0 + 0.0) / 4)


def test_r2_by_hand() -> None:
    # SS_res = 1; mean 2.5 -> SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5
    t = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.0, 2.0, 3.0, 5.0])
    assert metrics.r2(t, p) == pytest.approx(1.0 - 1.0 / 5.0)


@pytest.mark.parametrize("gain", [0.0, 0.5, 0.9, 1.25])
def test_gain_error(target: np.ndarray, gain: float) -> None:
    pred = gain * target
    assert metrics.esr(target, pred) == pytest.approx((1.0 - gain) ** 2, rel=1e-12, abs=1e-15)
    # pre-emphasis is linear, so a pure gain error keeps its ESR
    assert metrics.esr_preemph(target, pred) == pytest.approx((1.0 - gain) ** 2, rel=1e-12, abs=1e-15)


def test_float32_inputs_accumulate_in_float64() -> None:
    t = np.full(1_000_000, 0.1, dtype=np.float32)
    p = np.full(1_000_000, 0.1, dtype=np.float32) * np.float32(0.5)
    assert metrics.esr(t, p) == pytest.approx(0.25, rel=1e-6)


def test_preemphasis_filter() -> None:
    y = metrics.preemphasis(np.array([1.0, 1.0, 0.0]), coeff=0.5)
    np.testing.assert_allclose(y, [1.0, 0.5, -0.5])


def test_hf_error_ratio_counts_noise_above_cutoff(target: np.ndarray) -> None:
    cutoff = 8000.0
    hf_noise = 0.05 * _band(_noise(target.size, seed=2), SR, cutoff + 200.0, SR / 2)
    expected = np.sum(hf_noise**2) / np.sum(_band(target, SR, cutoff, SR / 2) ** 2)
    ratio = metrics.hf_error_ratio(target, target + hf_noise, SR, cutoff)
    assert ratio == pytest.approx(expected, rel=0.10)
    assert metrics.hf_error_db(target, target + hf_noise, SR, cutoff) == pytest.approx(10 * np.log10(ratio))


def test_hf_error_ratio_ignores_low_frequency_error(target: np.ndarray) -> None:
    t_axis = np.arange(target.size) / SR
    lf_error = 0.3 * np.sin(2 * np.pi * 100.0 * t_axis)  # as loud as the target itself
    assert metrics.esr(target, target + lf_error) > 0.4
    assert metrics.hf_error_ratio(target, target + lf_error, SR, 8000.0) < 1e-6


def test_stft_distance_grows_with_noise(target: np.ndarray) -> None:
    noise = _noise(target.size, seed=3)
    distances = [metrics.stft_distance(target, target + level * noise, SR) for level in (0.01, 0.03, 0.3)]
    assert 0.0 < distances[0] < distances[1] < distances[2]


def test_stft_distance_short_signal() -> None:
    x = _noise(100, seed=4)  # shorter than every FFT size: zero-padded to one frame
    # a gain of 1/2 moves each log magnitude by at most log10(2) (less where eps dominates)
    assert 0.5 * np.log10(2.0) < metrics.stft_distance(x, 0.5 * x, SR) <= np.log10(2.0)


@pytest.mark.parametrize(
    "fn",
    [
        metrics.mae,
        metrics.r2,
        metrics.esr,
        metrics.esr_preemph,
        lambda t, p: metrics.stft_distance(t, p, SR),
        lambda t, p: metrics.hf_error_ratio(t, p, SR),
        lambda t, p: metrics.compute_all(t, p, SR, 8000.0),
    ],
)
def test_mismatched_lengths_raise(fn: Callable[[np.ndarray, np.ndarray], object]) -> None:
    with pytest.raises(ValueError, match="length"):
        fn(np.ones(100), np.ones(99))


def test_undefined_cases_raise() -> None:
    zeros = np.zeros(1000)
    with pytest.raises(InputError, match="silence"):
        metrics.esr(zeros, zeros)
    with pytest.raises(InputError, match="constant"):
        metrics.r2(np.ones(10), np.ones(10))
    lf = np.sin(2 * np.pi * 100.0 * np.arange(SR) / SR)
    with pytest.raises(InputError, match="no energy above"):
        metrics.hf_error_ratio(_band(lf, SR, 0, 1000), lf, SR, 8000.0)
    with pytest.raises(ConfigError, match="cutoff"):
        metrics.hf_error_ratio(lf, lf, SR, SR / 2)


def test_ratio_db() -> None:
    assert metrics.ratio_db(0.01) == pytest.approx(-20.0)
    assert metrics.ratio_db(0.0) == metrics.HF_DB_FLOOR


ROOT = Path(__file__).resolve().parents[1]


def _dict_keys(path: Path, target: str) -> set[str]:
    """String keys of the dict literals passed to `<target>.update(...)` or assigned to `<target>`,
    and of `<target>["key"] = ...` assignments, in the module at `path`."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text())):
        dicts = []
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "update"
                and getattr(node.func.value, "id", None) == target):
            dicts = [a for a in node.args if isinstance(a, ast.Dict)]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and t.id == target and isinstance(node.value, ast.Dict):
                    dicts.append(node.value)
                if (isinstance(t, ast.Subscript) and getattr(t.value, "id", None) == target
                        and isinstance(t.slice, ast.Constant)):
                    keys.add(t.slice.value)
        for d in dicts:
            keys.update(k.value for k in d.keys if isinstance(k, ast.Constant))
    return keys


def test_the_table_names_what_each_source_writes(target: np.ndarray) -> None:
    """compute_all returns the table's signal metrics, the evaluate stage adds its own entries and
    drywet.capture its checks: together, every entry of the table and nothing else."""
    by_source = {s: {m.name for m in metrics.METRICS.values() if m.source == s}
                 for s in ("signals", "evaluate", "capture")}
    assert set().union(*by_source.values()) == set(metrics.METRICS)
    assert set(metrics.compute_all(target, 0.9 * target, SR, 8000.0)) == by_source["signals"]
    assert all((m.function is not None) == (m.source == "signals") for m in metrics.METRICS.values())
    assert _dict_keys(ROOT / "drywet" / "pipeline" / "evaluate.py", "result") == by_source["evaluate"]
    assert _dict_keys(ROOT / "drywet" / "capture.py", "out") == by_source["capture"]
    assert all(m.better in ("lower", "higher", "") for m in metrics.METRICS.values())


def test_the_table_orders_the_report_and_the_study() -> None:
    """The report's per-effect columns and the study's columns, in the order they have always had."""
    from drywet.pipeline.section import TABLE_KEYS
    from drywet.study.table import METRIC_KEYS, TEXT_KEYS

    assert TABLE_KEYS == ("verdict", "esr", "esr_floor", "repeat_esr", "mae", "r2", "esr_preemph",
                          "stft_distance", "hf_error_db", "params", "macs_per_sample", "rtf")
    assert METRIC_KEYS == ("macs_per_sample", "mae", "r2", "esr", "esr_preemph", "stft_distance", "hf_error_ratio",
                           "hf_error_db", "esr_floor", "noise_floor_dbfs", "repeat_esr", "model_kib", "rtf",
                           "rtf_1thread", "train_seconds", "test_seconds")
    assert TEXT_KEYS == ("verdict", "exports")
    assert metrics.CHECKPOINT_KEYS == ("esr", "stft_distance", "hf_error_db")


def test_rounded_keeps_the_tables_decimals() -> None:
    assert metrics.rounded("esr", 0.123456789) == 0.123457
    assert metrics.rounded("rtf", 12.34567) == 12.346
    assert metrics.rounded("model_kib", 41.26) == 41.3
    assert metrics.rounded("esr_gain20", 0.123456789) == 0.123457  # a knob position's ESR: the default
    assert metrics.rounded("esr_floor", 0.000123456) == 0.000123456  # capture checks come rounded
    assert metrics.rounded("params", 1234) == 1234 and metrics.rounded("verdict", "great") == "great"
