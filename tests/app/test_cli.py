"""`python -m drywet`: process a WAV with either model kind (sequence models streamed exactly), knobs,
sample-rate handling, exports in every format, errors."""

import io
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drywet.align import highpass
from drywet.app import process
from drywet.app.cli import main
from drywet.audio import read_wav, write_wav
from drywet.export import NamLSTM, load_nam
from drywet.inference import load_model, predict, save_model
from drywet.kinds import build_model
from drywet.lstm import keras_file
from drywet.meta import ModelMeta
from drywet.models import get_structure
from tests.lstm_models import keras_run, sequence_model, with_knobs

SR = 8000
STRUCTURE = "l1_u16_f32"


def tone(sr: int, seconds: float = 0.5) -> np.ndarray:
    """A decaying two-note pluck with a little noise: made here, not taken from any data set."""
    t = np.arange(int(sr * seconds)) / sr
    env = np.exp(-4.0 * t)
    rng = np.random.default_rng(3)
    x = env * (0.4 * np.sin(2 * np.pi * 196.0 * t) + 0.2 * np.sin(2 * np.pi * 293.7 * t))
    return (x + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def meta_for(kind: str, skip: bool = False, knobs: tuple[str, ...] = ()) -> ModelMeta:
    s = get_structure(STRUCTURE)
    return ModelMeta(effect="sd1", kind=kind, structure=s.name, layers=s.layers, units=s.units, frame=s.frame,
                     sample_rate=SR, oversample=1, epochs=0, train_examples=0, supervised_samples=0, params=0,
                     skip=skip, inputs=1 + len(knobs), knobs=knobs)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny models, saved as the pipeline saves them: a framed one (untrained), a plain sequence one,
    one with the skip connection, one with the skip connection and two knobs, and a two-layer one
    whose input is high-passed (model.json's highpass_hz)."""
    root = tmp_path_factory.mktemp("models")
    s = get_structure(STRUCTURE)
    saved = {
        "framed": (build_model(s, "framed", seed=1), meta_for("framed")),
        "sequence": (sequence_model(1, s.units, seed=1), meta_for("sequence")),
        "skip": (sequence_model(1, s.units, skip=True, seed=2), meta_for("sequence", skip=True)),
        "knobs": (sequence_model(1, s.units, 3, skip=True, seed=3), meta_for("sequence", True, ("gain", "tone"))),
        "highpass": (sequence_model(2, s.units, skip=True, seed=4), replace(meta_for("sequence", True), layers=2,
                                                                           highpass_hz=40.0)),
    }
    for name, (model, meta) in saved.items():
        save_model(model, root / name / "model.keras", meta)
    return {name: root / name for name in saved}


@pytest.fixture()
def dry_wav(tmp_path):
    path = tmp_path / "dry.wav"
    write_wav(path, tone(SR), SR)
    return path


@pytest.mark.parametrize("kind,as_file", [("framed", False), ("sequence", True)])
def test_process_matches_predict(models, dry_wav, tmp_path, kind, as_file, capsys):
    model_arg = models[kind] / "model.keras" if as_file else models[kind]
    out = tmp_path / "wet.wav"
    assert main(["process", str(model_arg), str(dry_wav), str(out), "--no-progress"]) == 0
    said = capsys.readouterr().out.strip().splitlines()[-1]  # what it wrote, how long, how fast
    assert said.startswith(f"wrote {out}: ") and " s of audio in " in said and "x real time" in said
    wet, sr = read_wav(out)
    dry, _ = read_wav(dry_wav)
    assert sr == SR and wet.size == dry.size
    assert sf.info(str(out)).subtype == "FLOAT"
    model, meta = load_model(models[kind])
    expected = predict(model, meta, dry) if kind == "framed" else keras_run(model, dry)
    np.testing.assert_allclose(wet, expected, atol=1e-5, rtol=0)


def test_process_knob_model(models, dry_wav, tmp_path, capsys):
    out = tmp_path / "wet.wav"
    assert main(["process", str(models["knobs"]), str(dry_wav), str(out), "--knob", "tone=0.2",
                 "--knob", "gain=0.9", "--no-progress"]) == 0
    dry, _ = read_wav(dry_wav)
    model, _ = load_model(models["knobs"])
    np.testing.assert_allclose(read_wav(out)[0], keras_run(model, with_knobs(dry, (0.9, 0.2))), atol=1e-5, rtol=0)
    out.unlink()
    assert main(["process", str(models["knobs"]), str(dry_wav), str(out), "--knob", "gain=0.9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "tone" in err and len(err.strip().splitlines()) == 1
    assert main(["process", str(models["knobs"]), str(dry_wav), str(out), "--knob", "gain=2"]) == 2
    assert "0 to 1" in capsys.readouterr().err
    assert not out.exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_sequence_process_streams_the_file_in_blocks(models, tmp_path, monkeypatch):
    """Blocks of 777 samples, the LSTM state and the high-pass's carried across them: the output of
    the whole file filtered and run at once (to float32 rounding), with the progress bar."""
    dry = tone(SR, 12.0)
    dry_path = tmp_path / "dry.wav"
    write_wav(dry_path, dry, SR)
    out = tmp_path / "wet.wav"
    monkeypatch.setattr(process, "STREAM_BLOCK", 777)
    terminal = Terminal()
    monkeypatch.setattr(process.sys, "stderr", terminal)
    assert main(["process", str(models["highpass"]), str(dry_path), str(out)]) == 0
    assert terminal.getvalue().rstrip().endswith("100.0%") and terminal.getvalue().count("%") > 100
    model, meta = load_model(models["highpass"])
    clean = highpass(dry, SR, meta.highpass_hz)
    wet = read_wav(out)[0]
    np.testing.assert_allclose(wet, predict(model, meta, clean), atol=2e-6, rtol=0)
    np.testing.assert_allclose(wet, keras_run(model, clean), atol=1e-5, rtol=0)


def test_a_layout_the_reader_refuses_goes_through_keras(models, dry_wav, tmp_path, monkeypatch):
    def refuse(path, meta=None):
        raise keras_file.LayoutError(f"{path}: not drywet's layout")

    monkeypatch.setattr(keras_file, "read_sequence_weights", refuse)
    out = tmp_path / "wet.wav"
    assert main(["process", str(models["skip"]), str(dry_wav), str(out), "--no-progress"]) == 0
    model, _ = load_model(models["skip"])
    np.testing.assert_allclose(read_wav(out)[0], keras_run(model, read_wav(dry_wav)[0]), atol=1e-5, rtol=0)


_FRESH_PROCESS = """
import sys
from drywet import highpass
from drywet.lstm import stream
from drywet.app.cli import main

model, dry, other_rate, out = sys.argv[1:5]
assert main(["process", model, dry, out + "-1.wav", "--no-progress"]) == 0
assert main(["process", model, other_rate, out + "-2.wav", "--resample", "--no-progress"]) == 0
assert main(["process", model, dry, out + "-3.wav", "--knob", "x=1", "--no-progress"]) == 2
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
compiled = [highpass._biquad]
assert stream.kernel() is not None and "drywet.lstm.stream_numba" not in sys.modules  # the C loop, no Numba loop
print(loaded, sum(len(f.stats.cache_misses) for f in compiled), sum(len(f.stats.cache_hits) for f in compiled))
"""


def test_sequence_process_never_imports_tensorflow_and_compiles_once(models, tmp_path):
    """In a fresh interpreter: a sequence model is read from its file, streamed (blocks, and the whole
    file when resampling) and written without importing TensorFlow or Keras; the first run compiles
    the C loop into drywet's cache and the high-pass into Numba's (here empty ones), the second only
    loads them."""
    dry, other_rate = tmp_path / "dry.wav", tmp_path / "dry_11k.wav"
    write_wav(dry, tone(SR), SR)
    write_wav(other_rate, tone(11025), 11025)  # resampled: 11025 Hz -> 8000 Hz -> 11025 Hz
    cache = tmp_path / "drywet-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"), "DRYWET_CACHE": str(cache)}
    env.pop("DRYWET_STREAM_LOOP", None)
    script = textwrap.dedent(_FRESH_PROCESS)
    runs, libraries = [], []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", script, str(models["highpass"]), str(dry), str(other_rate),
                                 str(tmp_path / "wet")],
                                capture_output=True, text=True, timeout=300, env=env,
                                cwd=Path(__file__).resolve().parents[2])
        assert result.returncode == 0, result.stderr
        runs.append(result.stdout.split("\n")[-2])
        libraries.append({p.name: p.stat().st_mtime_ns for p in cache.glob("stream_kernel-*.so")})
    assert runs[0].startswith("[] ") and runs[1].startswith("[] ")
    assert len(libraries[0]) == 1 and libraries[1] == libraries[0]  # compiled once, then only loaded
    misses, hits = (int(v) for v in runs[0].split()[-2:])
    assert misses == 1 and hits == 0  # compiled, and saved to the cache
    misses, hits = (int(v) for v in runs[1].split()[-2:])
    assert misses == 0 and hits == 1
    model, meta = load_model(models["highpass"])
    np.testing.assert_allclose(read_wav(tmp_path / "wet-1.wav")[0],
                               predict(model, meta, highpass(tone(SR), SR, meta.highpass_hz)), atol=2e-6, rtol=0)


def test_picks_a_channel(models, tmp_path):
    stereo = tmp_path / "stereo.wav"
    x = tone(SR)
    sf.write(str(stereo), np.stack([np.zeros_like(x), x], axis=1), SR, subtype="FLOAT")
    out = tmp_path / "wet.wav"
    assert main(["process", str(models["framed"]), str(stereo), str(out), "--channel", "1",
                 "--no-progress"]) == 0
    model, meta = load_model(models["framed"])
    np.testing.assert_allclose(read_wav(out)[0], predict(model, meta, x), atol=1e-5, rtol=0)


def test_mismatched_rate_is_an_error_without_resample(models, tmp_path, capsys):
    dry = tmp_path / "dry_11k.wav"
    write_wav(dry, tone(11025), 11025)
    out = tmp_path / "wet.wav"
    assert main(["process", str(models["sequence"]), str(dry), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(dry) in err and "11025" in err and "8000" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("rate", [11025, 44100])
def test_resample_processes_at_the_model_rate(models, tmp_path, rate):
    dry = tmp_path / "dry.wav"
    write_wav(dry, tone(rate), rate)
    out = tmp_path / "wet.wav"
    assert main(["process", str(models["sequence"]), str(dry), str(out), "--resample", "--no-progress"]) == 0
    wet, sr = read_wav(out)
    assert sr == rate and wet.size == int(rate * 0.5)
    assert np.all(np.isfinite(wet)) and np.std(wet) > 0


def test_missing_model_and_input(models, dry_wav, tmp_path, capsys):
    out = tmp_path / "wet.wav"
    assert main(["process", str(tmp_path / "nope"), str(dry_wav), str(out)]) == 2
    assert f"{tmp_path / 'nope'}: model not found" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["process", str(empty), str(dry_wav), str(out)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["process", str(models["framed"]), str(tmp_path / "none.wav"), str(out)]) == 2
    assert "none.wav: file not found" in capsys.readouterr().err
    assert not out.exists()


def test_stereo_without_channel_is_an_error(models, tmp_path, capsys):
    stereo = tmp_path / "stereo.wav"
    sf.write(str(stereo), np.zeros((800, 2), np.float32), SR)
    assert main(["process", str(models["framed"]), str(stereo), str(tmp_path / "o.wav")]) == 2
    assert "2 channels" in capsys.readouterr().err


def test_export_nam_sequence(models, tmp_path, capsys):
    out = tmp_path / "sd1.nam"
    assert main(["export", "--format", "nam", str(models["sequence"]), str(out), "--tone-type", "overdrive"]) == 0
    assert "wrote" in capsys.readouterr().out
    nam = load_nam(out)
    assert nam["architecture"] == "LSTM" and nam["sample_rate"] == SR
    md = nam["metadata"]
    assert md["gear_type"] == "pedal" and md["tone_type"] == "overdrive" and md["modeled_by"] == "drywet"
    assert md["effect"] == "sd1" and md["structure"] == STRUCTURE and md["drywet"]["kind"] == "sequence"
    x = tone(SR)[:400]
    model, _ = load_model(models["sequence"])
    np.testing.assert_allclose(NamLSTM(nam).process(x), keras_run(model, x), atol=1e-5, rtol=0)
    again = tmp_path / "again.nam"
    assert main(["export", "--format", "nam", str(models["sequence"]), str(again), "--tone-type", "overdrive"]) == 0
    assert again.read_bytes() == out.read_bytes()  # same model, same bytes


@pytest.mark.parametrize("fmt,model_name", [("aidax", "knobs"), ("proteus", "skip")])
def test_export_json_formats(models, tmp_path, capsys, fmt, model_name):
    out = tmp_path / f"sd1.{fmt}.json"
    assert main(["export", "--format", fmt, str(models[model_name]), str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out}") and "note:" in printed  # hidden size 16 / knobs: plugin limits
    data = json.loads(out.read_text())
    if fmt == "aidax":
        assert data["in_shape"] == [None, None, 3] and data["in_skip"] == 1
        assert data["metadata"]["samplerate"] == SR and data["metadata"]["drywet"]["knobs"] == ["gain", "tone"]
    else:
        assert data["model_data"]["skip"] == 1 and data["model_data"]["hidden_size"] == 40  # padded to Proteus's


@pytest.mark.parametrize("args,message", [
    (["export", "--format", "nam", "framed"], "framed models play in no plugin; train with model.kind: sequence or "
                                              "wavenet"),
    (["export", "--format", "aidax", "framed"], "train with model.kind: sequence"),
    (["export", "--format", "proteus", "framed"], "train with model.kind: sequence"),
    (["export", "--format", "nam", "skip"], "train with model.skip: false"),
    (["export", "--format", "nam", "knobs"], "(.nam LSTMs have no path from input to output) and no knobs"),
])
def test_export_refusals(models, tmp_path, capsys, args, message):
    out = tmp_path / "refused.json"
    assert main([*args[:-1], str(models[args[-1]]), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "drywet", "--help"], capture_output=True, text=True,
                            timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0
    assert "process" in result.stdout and "export-nam" not in result.stdout and "proteus" in result.stdout
