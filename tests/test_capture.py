"""Capture checks: the verdict's bands, the noise floor and the ESR it allows, repeated sections."""

from __future__ import annotations

import numpy as np
import pytest

from drywet import capture
from drywet.bench.material import REPEAT_PART, make_dry, repeat_layout

SR = 16000


def _burst_take(seconds: float = 4.0, noise_dbfs: float = -80.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Loud noise bursts with pauses between them, plus a steady noise floor; returns (take, floor)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    playing = (np.arange(n) // (SR // 2)) % 2 == 0  # 0.5 s on, 0.5 s off
    signal = np.where(playing, 0.3 * rng.standard_normal(n), 0.0)
    floor = 10.0 ** (noise_dbfs / 20.0) * rng.standard_normal(n)
    return signal + floor, floor


@pytest.mark.parametrize(("esr", "words"), [
    (0.0, "great"), (0.0099, "great"), (0.01, "not bad"), (0.0349, "not bad"), (0.035, "might sound ok"),
    (0.0999, "might sound ok"), (0.1, "probably won't sound great"), (0.2999, "probably won't sound great"),
    (0.3, "something seems to have gone wrong"), (5.0, "something seems to have gone wrong"),
    (float("nan"), "something seems to have gone wrong"),
])
def test_verdict_uses_nams_bands(esr: float, words: str) -> None:
    assert capture.verdict(esr) == words


def test_noise_floor_is_read_in_the_pauses() -> None:
    take, floor = _burst_take(noise_dbfs=-80.0)
    assert capture.noise_floor_dbfs(take, SR) == pytest.approx(-80.0, abs=1.0)
    expected = np.mean(floor**2) / np.mean(take**2)
    dry = np.where((np.arange(take.size) // (SR // 2)) % 2 == 0, take - floor, 0.0)  # what played it
    assert capture.esr_floor(dry, take, SR) == pytest.approx(expected, rel=0.2)
    # Digital silence (padding) is not noise; an all-zero take has no floor at all.
    padded = np.concatenate([np.zeros(SR), take])
    assert capture.noise_floor_dbfs(padded, SR) == pytest.approx(-80.0, abs=1.0)
    assert np.isnan(capture.noise_floor_dbfs(np.zeros(SR), SR))
    assert np.isnan(capture.esr_floor(np.zeros(SR), np.zeros(SR), SR))


def test_esr_floor_leaves_out_the_dis_hiss_the_gear_amplifies() -> None:
    """The gear amplifies the DI's own hiss (a model learns that): only the noise the dry does not
    explain counts, so a model that predicts the rest exactly scores at the floor, not below it."""
    rng = np.random.default_rng(3)
    take, _ = _burst_take(noise_dbfs=-200.0)
    di = take + 1e-3 * rng.standard_normal(take.size)  # a hissy DI
    own = 3e-4 * rng.standard_normal(take.size)  # the interface's noise on the wet side
    wet = np.tanh(4.0 * di) + own
    floor = capture.esr_floor(di, wet, SR)
    perfect_but_noise = np.sum(own**2) / np.sum(wet**2)  # the ESR of a model exact but for that noise
    assert 0.6 * perfect_but_noise < floor <= perfect_but_noise  # never above what a model can reach
    assert capture.noise_power(wet, SR) / np.mean(wet**2) > 10 * floor  # the wet's quiet windows: mostly hiss


def test_find_repeat_locates_the_two_copies_and_their_wet_difference() -> None:
    rng = np.random.default_rng(1)
    x = 0.2 * rng.standard_normal(5 * SR)
    first, second, length = int(0.7 * SR), int(3.1 * SR), int(1.2 * SR)
    x[second:second + length] = x[first:first + length]
    dry = x + 1e-5 * rng.standard_normal(x.size)  # each copy has its own noise floor
    rep = capture.find_repeat(dry, SR)
    assert rep is not None
    assert rep.second - rep.first == second - first
    assert abs(rep.first - first) < 0.02 * SR and abs(rep.length - length) < 0.04 * SR
    wet = np.tanh(4.0 * x) + 1e-3 * rng.standard_normal(x.size)
    esr = capture.repeat_esr(wet, rep)
    assert 0 < esr < 1e-4  # two takes of one input differ by their noise floors only


def test_no_repeat_in_unrepeated_or_too_short_material() -> None:
    rng = np.random.default_rng(2)
    assert capture.find_repeat(0.2 * rng.standard_normal(3 * SR), SR) is None
    assert capture.find_repeat(np.zeros(3 * SR), SR) is None
    assert capture.find_repeat(rng.standard_normal(100), SR) is None
    # A copy shorter than the minimum is not reported.
    x = 0.2 * rng.standard_normal(3 * SR)
    x[2 * SR:2 * SR + SR // 10] = x[SR // 2:SR // 2 + SR // 10]
    assert capture.find_repeat(x, SR) is None


def test_bench_material_repeats_a_section_inside_the_test_part_only() -> None:
    x = make_dry(6.0, SR, seed=3)
    first, second, length = repeat_layout(x.size, SR)
    test_start = int((1 - REPEAT_PART) * x.size)
    assert test_start < first - (second - first - length) and second + length < x.size
    assert np.array_equal(x[first:first + length], x[second:second + length])
    assert np.abs(x[first:first + length]).max() > 0.01  # music, not silence
    rng = np.random.default_rng(0)
    dry = x + 10.0 ** (-90 / 20) * rng.standard_normal(x.size)  # as the bench records it
    rep = capture.find_repeat(dry[test_start:], SR)
    assert rep is not None and rep.second - rep.first == second - first
    assert capture.find_repeat(dry[:test_start], SR) is None
    assert repeat_layout(int(0.5 * SR), SR) is None  # too short to hold one


def test_capture_checks_are_flat_and_json_friendly() -> None:
    take, _ = _burst_take()
    out = capture.capture_checks(take, take, SR, esr=0.02)
    assert out["verdict"] == "not bad"
    assert set(out) == {"noise_floor_dbfs", "esr_floor", "verdict"}  # no repeat: no repeat keys
    assert isinstance(out["esr_floor"], float) and out["esr_floor"] == float(f"{out['esr_floor']:.4g}")
    silent = capture.capture_checks(np.zeros(SR), np.zeros(SR), SR, esr=float("nan"))
    assert silent["noise_floor_dbfs"] is None and silent["esr_floor"] is None
