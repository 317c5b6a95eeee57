"""The `export@<fx>` stage on tiny models: it writes a file for every format a released plugin loads
(and only those), each played back from the file alone to the scored test ESR, with the gear and
training metadata; a framed model gets exports.json alone, with the reason."""

import json
import sys

import numpy as np
import pytest
import yaml

from drywet import audio, metrics
from drywet.capture import verdict
from drywet.errors import InputError
from drywet.inference import predict, save_model
from drywet.kinds import build_model
from drywet.meta import ModelMeta
from drywet.models import get_structure
from stages import export as stage
from tests.lstm_models import sequence_model
from tests.pipeline.records import align_file

SR = 8000
FX = "tiny"
GEAR = {"gear_make": "Acme", "gear_model": "OD-1", "tone_type": "overdrive", "modeled_by": "A. Player",
        "input_level_dbu": 12.0, "output_level_dbu": 10.5}


def _meta(model, kind: str, units: int, skip: bool, highpass_hz: float = 0.0, sr: int = SR) -> ModelMeta:
    return ModelMeta(effect=FX, kind=kind, structure=f"l1_u{units}_f32", layers=1, units=units, frame=32,
                     sample_rate=sr, oversample=1, epochs=1, train_examples=1, supervised_samples=1,
                     params=model.count_params(), skip=skip, highpass_hz=highpass_hz)


def _setup(tmp_path, monkeypatch, model, meta: ModelMeta, esr_offset: float = 0.0) -> list[str]:
    """A repository-shaped tmp folder with the model, a test split, metrics and params; returns argv."""
    monkeypatch.chdir(tmp_path)
    save_model(model, tmp_path / "models" / FX / "model.keras", meta)
    rng = np.random.default_rng(3)
    sr = meta.sample_rate
    n = min(sr, 16000)
    t = np.arange(n) / sr
    dry = (0.3 * np.sin(2 * np.pi * 110 * t) * np.exp(-2 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    split = tmp_path / "data" / "split" / FX
    split.mkdir(parents=True)
    if meta.kind == "sequence":
        wet = predict(model, meta, dry) + 0.01 * rng.standard_normal(n).astype(np.float32)
    else:
        wet = np.tanh(3 * dry)
    audio.write_wav(split / "test_dry.wav", dry, sr)
    audio.write_wav(split / "test_wet.wav", wet, sr)
    wet_read, _ = audio.read_wav(split / "test_wet.wav")
    esr = metrics.esr(wet_read, predict(model, meta, dry)) if meta.kind == "sequence" else 0.5
    (tmp_path / "metrics" / "align").mkdir(parents=True)
    (tmp_path / "metrics" / f"{FX}.json").write_text(json.dumps({"esr": round(esr + esr_offset, 6)}))
    align_file(latency_samples=12.5, sample_rate=sr).save(tmp_path / "metrics" / "align" / f"{FX}.json")
    params = {"effects": {FX: {"source": "bench", "pedal": "sd1", "channel": None}}, "gear": {FX: GEAR}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return ["export", "--effect", FX, "--model", f"models/{FX}", "--split", f"data/split/{FX}",
            "--metrics", f"metrics/{FX}.json", "--align", f"metrics/align/{FX}.json", "--out", f"exports/{FX}"]


def _run(monkeypatch, argv: list[str]) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    stage.main()


def test_sequence_model_without_skip(tmp_path, monkeypatch, capsys):
    model = sequence_model(1, 32, 1, False, seed=2)
    meta = _meta(model, "sequence", 32, False, highpass_hz=5.0)
    argv = _setup(tmp_path, monkeypatch, model, meta)
    _run(monkeypatch, argv)
    out = tmp_path / "exports" / FX
    assert sorted(p.name for p in out.iterdir()) == ["exports.json", f"{FX}.aidax.json", f"{FX}.nam",
                                                     f"{FX}.proteus.json"]
    summary = json.loads((out / "exports.json").read_text())
    scored = json.loads((tmp_path / "metrics" / f"{FX}.json").read_text())["esr"]
    assert set(summary["formats"]) == {"nam", "aidax", "proteus"} and set(summary["skipped"]) == {"neuralpi"}
    assert summary["formats"]["nam"]["plugins"] == ["Neural Amp Modeler"]
    assert summary["formats"]["aidax"]["plugins"] == ["AIDA-X 1.1.0"]
    for fmt, entry in summary["formats"].items():
        assert (out / entry["file"]).is_file() and entry["esr"] == scored
        if fmt != "proteus":  # Proteus runs it at 44.1 kHz, not the 8 kHz it was trained at: measured only
            assert abs(entry["plugin_esr"] - scored) < 1e-4 and entry["plugin_esr"] > 1e-3
    proteus = summary["formats"]["proteus"]
    assert proteus["plugin_rate"] == 44100 and any("cancels the dry input" in n for n in proteus["notes"])
    assert any("runs every model at 44100 Hz" in n for n in proteus["notes"])
    assert summary["skipped"]["neuralpi"] == ("NeuralPi 1.3.0 is built for 20 units; this model has 32 (train with at "
                                              "most 19 units, or 20 with model.skip: true)")
    assert len(summary["notes"]) == 1 and "highpass_dry: false" in summary["notes"][0]

    nam = json.loads((out / f"{FX}.nam").read_text())
    md = nam["metadata"]
    assert {k: md[k] for k in GEAR} == GEAR and md["gear_type"] == "pedal"
    assert md["training"] == {"test_esr": scored, "verdict": verdict(scored), "latency_samples": 12.5}
    assert isinstance(md["loudness"], float) and 0.0 <= md["gain"] <= 1.0 and "date" not in md
    assert nam["sample_rate"] == SR and nam["config"]["hidden_size"] == 32
    aidax = json.loads((out / f"{FX}.aidax.json").read_text())
    assert aidax["metadata"]["author"] == "A. Player" and aidax["metadata"]["style"] == "overdrive"
    assert aidax["metadata"]["esr"] == scored and aidax["metadata"]["samplerate"] == SR
    printed = capsys.readouterr().out
    assert f"{FX}.nam loads in Neural Amp Modeler" in printed and "no neuralpi file" in printed

    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _run(monkeypatch, argv)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # same inputs, same bytes


def test_skip_model_gets_padded_proteus_and_neuralpi_files(tmp_path, monkeypatch):
    model = sequence_model(1, 12, 1, True, seed=4)
    argv = _setup(tmp_path, monkeypatch, model, _meta(model, "sequence", 12, True, sr=44100))
    _run(monkeypatch, argv)
    out = tmp_path / "exports" / FX
    summary = json.loads((out / "exports.json").read_text())
    assert set(summary["formats"]) == {"aidax", "proteus", "neuralpi"} and list(summary["skipped"]) == ["nam"]
    assert summary["notes"] == []
    widths = {"proteus": 40, "neuralpi": 20}
    for fmt, width in widths.items():
        data = json.loads((out / f"{FX}.{fmt}.json").read_text())
        assert data["model_data"]["hidden_size"] == width
        assert np.shape(data["state_dict"]["rec.weight_hh_l0"]) == (4 * width, width)
        assert any("padded from 12 to" in note for note in summary["formats"][fmt]["notes"])
    assert json.loads((out / f"{FX}.aidax.json").read_text())["layers"][0]["shape"][-1] == 12  # compiled size
    for entry in summary["formats"].values():
        assert abs(entry["plugin_esr"] - entry["esr"]) < 1e-4


def test_proteus_at_another_rate_is_written_with_what_it_plays(tmp_path, monkeypatch):
    """Proteus runs every model at 44.1 kHz: a model trained at another rate still loads, and its
    file says how it plays there (plugin_esr measured with the audio resampled to 44.1 kHz)."""
    model = sequence_model(1, 12, 1, True, seed=4)
    argv = _setup(tmp_path, monkeypatch, model, _meta(model, "sequence", 12, True))
    _run(monkeypatch, argv)
    summary = json.loads((tmp_path / "exports" / FX / "exports.json").read_text())
    assert set(summary["formats"]) == {"aidax", "proteus", "neuralpi"}
    notes = summary["formats"]["proteus"]["notes"]
    assert any("runs every model at 44100 Hz, this one was trained at 8000 Hz" in note for note in notes)
    assert summary["formats"]["proteus"]["plugin_rate"] == 44100
    assert summary["formats"]["neuralpi"]["plugin_rate"] == SR
    assert any("set the host to 8000 Hz" in note for note in summary["formats"]["neuralpi"]["notes"])


def test_framed_model_writes_only_the_reason(tmp_path, monkeypatch, capsys):
    model = build_model(get_structure("l1_u16_f32"), "framed", seed=0)
    argv = _setup(tmp_path, monkeypatch, model, _meta(model, "framed", 16, False))
    _run(monkeypatch, argv)
    out = tmp_path / "exports" / FX
    assert [p.name for p in out.iterdir()] == ["exports.json"]
    summary = json.loads((out / "exports.json").read_text())
    assert summary["formats"] == {}
    reason = "framed models play in no plugin; train with model.kind: sequence"
    assert summary["skipped"] == {"nam": reason, "aidax": reason, "proteus": reason, "neuralpi": reason}
    assert reason in capsys.readouterr().out


def test_a_file_that_does_not_play_like_the_scores_fails_the_stage(tmp_path, monkeypatch):
    model = sequence_model(1, 8, 1, False, seed=5)
    argv = _setup(tmp_path, monkeypatch, model, _meta(model, "sequence", 8, False), esr_offset=0.01)
    with pytest.raises(InputError, match=r"differs from the scored .* the export is wrong"):
        _run(monkeypatch, argv)
    assert not (tmp_path / "exports" / FX).exists()
