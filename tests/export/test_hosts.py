"""The released plugins' default processing around the model (`drywet.export.hosts`), checked against
designs written here from the plugins' definitions (scipy's bilinear transform of the analog
prototypes, the difference equations as the sources state them), and its figures in exports.json."""

import json
import sys

import numpy as np
import pytest
from scipy.signal import bilinear, lfilter

from drywet.app.cli import main
from drywet.export.bundle import Take, build_exports, played, played_by_plugins
from drywet.export.hosts import (
    AIDAX_HOST,
    PROTEUS_HOST,
    aidax_lowpass,
    aidax_lowpass_fc,
    gate_gain,
    nam_dc_blocker,
)
from drywet.export.players import fast_tanh
from drywet.lstm.weights import SequenceWeights
from stages import export as stage
from tests.lstm_models import sequence_model
from tests.pipeline.test_export_stage import FX, _meta, _setup

RATES = (44100, 48000, 96000)


def _signals(rate: int) -> list[np.ndarray]:
    """White noise and a 1 kHz sine, 0.2 s each."""
    t = np.arange(rate // 5) / rate
    return [np.random.default_rng(rate).standard_normal(t.size) * 0.1, 0.5 * np.sin(2 * np.pi * 1000 * t)]


def _second_order(kind: str, hz: float, q: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The analog prototype (s^2 or w^2) / (s^2 + s w / Q + w^2), its corner prewarped, by scipy's bilinear."""
    w = 2 * rate * np.tan(np.pi * hz / rate)
    num = [w * w] if kind == "lowpass" else [1.0, 0.0, 0.0]
    return bilinear(num, [1.0, w / q, w * w], fs=rate)


@pytest.mark.parametrize("rate", RATES)
def test_filters_match_their_sources_definitions(rate):
    q_aidax = float(np.float32(0.707))
    for x in _signals(rate):
        lowpass = lfilter(*_second_order("lowpass", aidax_lowpass_fc() * rate, q_aidax, rate), x)
        np.testing.assert_allclose(aidax_lowpass(x, rate), lowpass, atol=1e-12)
        for host, q in ((AIDAX_HOST, q_aidax), (PROTEUS_HOST, 1 / np.sqrt(2))):
            dc = lfilter(*_second_order("highpass", 35.0, q, rate), x)
            np.testing.assert_allclose(host.after(x, x, rate), dc, atol=1e-9)
        a, y, prev, out = 1 / (1 + 2 * np.pi * 5.0 / rate), 0.0, 0.0, []
        for v in x:  # y[i] = alpha y[i-1] + alpha (x[i] - x[i-1]), RecursiveLinearFilter.h
            y = a * (y + v - prev)
            prev = v
            out.append(y)
        np.testing.assert_allclose(nam_dc_blocker(x, rate), out, atol=1e-12)


def test_aidax_lowpass_is_at_a_quarter_of_the_rate():
    assert abs(aidax_lowpass_fc() - 0.25) < 1e-6  # ANTIALIASING 66.216 % of the way from 0.495 to 0.125
    rate = 48000
    t = np.arange(rate) / rate
    for hz, gain_db in ((1000, 0.0), (12000, -3.0)):
        y = aidax_lowpass(np.sin(2 * np.pi * hz * t), rate)[rate // 2:]
        assert abs(20 * np.log10(np.sqrt(2) * y.std()) - gain_db) < 0.05


def test_fast_tanh_is_nams_approximation():
    x = np.linspace(-8, 8, 20001)
    err = fast_tanh(x) - np.tanh(x)
    assert 3e-4 < np.abs(err).max() < 5e-4  # an approximation, not tanh
    np.testing.assert_array_equal(fast_tanh(-x), -fast_tanh(x))
    assert abs(fast_tanh(1.0) - 0.7618435) < 1e-7  # NAM/activations.h's formula at x = 1, worked by hand


def test_nam_gate_opens_on_playing_and_cuts_quiet_material():
    rate = 48000
    t = np.arange(rate // 2) / rate
    gain = gate_gain(0.3 * np.sin(2 * np.pi * 110 * t), rate)
    assert gain[0] < 1e-15 and gain[int(0.002 * rate)] < 1e-6  # built closed: opens within ~5 ms
    assert gain[int(0.006 * rate):].min() > 1 - 1e-9
    quiet = gate_gain(np.sqrt(2) * 1e-5 * np.sin(2 * np.pi * 220 * t), rate)  # -100 dB power
    # 0.1 (-100 + 80)^2 = 40 "dB" of reduction, applied as 10^(-40/10)
    assert np.all(np.abs(np.log10(quiet[rate // 4:]) + 4) < 0.1)
    assert np.all(gate_gain(np.sqrt(2) * 1e-3 * np.sin(2 * np.pi * 220 * t), rate)[rate // 4:] > 1 - 1e-9)


def _centred(model, x: np.ndarray):
    """`model` with its output's mean over `x` taken off the dense bias (a trained model's output has
    little DC; a random one's is mostly DC, which the plugins' DC blockers remove)."""
    dense = model.get_layer("wet")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias - float(np.mean(model.predict(x[None, :, None], verbose=0)))])
    return model


def test_each_plugins_default_processing_changes_what_is_heard():
    """White noise through a 1 x 16 skip model: AIDA-X's low-pass takes the band above a quarter of the
    rate out of the dry it adds (far from the model alone); a no-skip model in NAM differs by its fast
    tanh, prewarm, gate and DC blocker, by little."""
    rate = 48000
    x = np.random.default_rng(0).standard_normal(rate // 4) * 0.1
    for skip, fmt, low, high in ((True, "aidax", 0.1, 10.0), (False, "nam", 1e-7, 0.05)):
        model = _centred(sequence_model(1, 16, 1, skip, seed=1), x)
        meta = _meta(model, "sequence", 16, skip, sr=rate)
        export = next(e for e in build_exports(SequenceWeights.from_keras(model, meta), meta, FX)[0] if e.fmt == fmt)
        alone = played(export, [Take(x, x)], 1, rate, rate)
        (figures,) = played_by_plugins(export, [Take(x, alone.astype(np.float32))], alone, 1, rate, rate).values()
        assert low < figures["vs_model"] < high and figures["esr"] == pytest.approx(figures["vs_model"], rel=1e-2)


def test_exports_json_gives_each_plugins_default_esr(tmp_path, monkeypatch):
    model = sequence_model(1, 32, 1, False, seed=2)
    argv = _setup(tmp_path, monkeypatch, model, _meta(model, "sequence", 32, False))
    monkeypatch.setattr(sys, "argv", argv)
    stage.main()
    summary = json.loads((tmp_path / "exports" / FX / "exports.json").read_text())
    for entry in summary["formats"].values():
        assert sorted(entry["played"]) == sorted(entry["plugins"])
        for figures in entry["played"].values():
            assert set(figures) == {"esr", "vs_model", "adds", "to_match"} and figures["vs_model"] > 0
            assert figures["esr"] != entry["plugin_esr"]
    nam, aidax = summary["formats"]["nam"]["played"], summary["formats"]["aidax"]["played"]
    assert nam["Neural Amp Modeler"]["to_match"] is None and "fast tanh" in nam["Neural Amp Modeler"]["adds"]
    assert "ANTIALIASING 0 %" in aidax["AIDA-X 1.1.0"]["to_match"]
    assert aidax["AIDA-X 1.1.0"]["esr"] > summary["formats"]["aidax"]["plugin_esr"]


def test_the_command_writes_the_stages_aidax_metadata(tmp_path, monkeypatch):
    model = sequence_model(1, 16, 1, True, seed=3)
    argv = _setup(tmp_path, monkeypatch, model, _meta(model, "sequence", 16, True))
    monkeypatch.setattr(sys, "argv", argv)
    stage.main()
    staged = json.loads((tmp_path / "exports" / FX / f"{FX}.aidax.json").read_text())["metadata"]
    assert main(["export", "--format", "aidax", f"models/{FX}", "cli.aidax.json"]) == 0
    written = json.loads((tmp_path / "cli.aidax.json").read_text())["metadata"]
    assert {k: written[k] for k in staged} == staged and staged["esr"] is not None and staged["author"] == "A. Player"
