"""`python -m drywet capture`: params.yaml edits, the recipe, and one tiny capture end to end in a
temporary copy of the repository (plucked notes through a player's drive chain, 48 kHz)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from benchmarks.make_recording import player_chain, plucked_notes
from drywet.app.capture import gear_entry
from drywet.bench.chain import record
from drywet.config import (
    AlignParams,
    ModelParams,
    TrainSequenceParams,
    effects,
    load_effects,
    load_section,
    set_section_entry,
)
from drywet.errors import ConfigError
from drywet.trials import CAPTURE_EPOCHS, capture_recipe

PARAMS_TEXT = """# drywet parameters
effects:
  sd1:
    source: bench
    pedal: sd1
  # a comment inside the section
  b65: {source: bench, pedal: b65}

# the bench
bench:
  seed: 1
"""


def test_new_effect_is_appended_and_comments_stay() -> None:
    text = set_section_entry(PARAMS_TEXT, "effects", "mine",
                             {"source": "data/recordings/mine", "channel": None, "model": {"kind": "sequence"}})
    assert "# a comment inside the section" in text and "# the bench" in text
    raw = yaml.safe_load(text)
    assert list(raw["effects"]) == ["sd1", "b65", "mine"]
    assert raw["effects"]["mine"] == {"source": "data/recordings/mine", "channel": None,
                                      "model": {"kind": "sequence"}}
    assert raw["bench"] == {"seed": 1}
    assert text.index("mine:") < text.index("# the bench")


def test_existing_effect_is_replaced_and_a_missing_section_added() -> None:
    text = set_section_entry(PARAMS_TEXT, "effects", "sd1", {"source": "data/recordings/x", "channel": 1})
    text = set_section_entry(text, "gear", "sd1", {"gear_make": "Boss", "gear_model": "SD-1: \"yellow\""})
    raw = yaml.safe_load(text)
    assert raw["effects"]["sd1"] == {"source": "data/recordings/x", "channel": 1}
    assert raw["effects"]["b65"] == {"source": "bench", "pedal": "b65"}
    assert raw["gear"]["sd1"]["gear_model"] == 'SD-1: "yellow"'


def test_a_one_line_section_is_opened_up() -> None:
    text = set_section_entry("effects: {a: {source: bench}}\ngear: {}\n", "gear", "a", {"gear_make": "X"})
    text = set_section_entry(text, "effects", "b", {"source": "bench", "pedal": "b65"})
    raw = yaml.safe_load(text)
    assert raw == {"effects": {"a": {"source": "bench"}, "b": {"source": "bench", "pedal": "b65"}},
                   "gear": {"a": {"gear_make": "X"}}}


def test_effect_overrides_merge_over_the_sections(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["effects"]["cap"] = {"source": "data/recordings/cap", "model": {"kind": "sequence", "skip": False},
                             "align": {"highpass_dry": False}, "train_sequence": {"epochs": 7}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_section(ModelParams, path, effect="cap").kind == "sequence"
    assert load_section(ModelParams, path, effect="sd1").kind == raw["model"]["kind"]
    assert load_section(AlignParams, path, effect="cap").highpass_dry is False
    assert load_section(AlignParams, path).highpass_dry is True
    assert load_section(TrainSequenceParams, path, effect="cap").epochs == 7
    raw["effects"]["cap"]["model"]["kind"] = "gru"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"effects\.cap\.model\.kind must be one of framed, sequence"):
        load_section(ModelParams, path, effect="cap")
    raw["effects"]["cap"]["model"] = {"units": 8}
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"unknown key effects\.cap\.model\.units"):
        load_section(ModelParams, path, effect="cap")
    with pytest.raises(ConfigError, match=r"effects\.x\.model must be a mapping"):
        effects({"x": {"source": "bench", "pedal": "sd1", "model": "sequence"}})


def test_gear_section_is_checked(tmp_path: Path) -> None:
    assert gear_entry({"gear_type": "amp", "gear_make": None, "date": "2026-12-01"}) == {"gear_type": "amp",
                                                                                        "date": "2026-12-01"}
    assert len(gear_entry({})["date"]) == 10  # today, written once into params.yaml
    with pytest.raises(ConfigError, match=r"date must be a date as YYYY-MM-DD"):
        gear_entry({"date": "yesterday"})
    with pytest.raises(ConfigError, match=r"gear\.gear_type must be one of amp, pedal"):
        gear_entry({"gear_type": "guitar"})
    with pytest.raises(ConfigError, match=r"input_level_dbu must be a number in \[-60, 60\]"):
        gear_entry({"input_level_dbu": 99.0})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"effects": {"a": {"source": "bench", "pedal": "sd1"}},
                                    "gear": {"a": {"gear_make": "Boss", "tone_type": "overdrive"}}}))
    fx = load_effects(path)["a"]
    assert fx.gear.gear_make == "Boss" and fx.gear.tone_type == "overdrive" and fx.gear.gear_type == "pedal"


def test_recipe_fits_the_budget() -> None:
    lo, hi = CAPTURE_EPOCHS
    assert capture_recipe(10)["epochs"] == hi  # a tiny take: the most epochs
    assert capture_recipe(10**12)["epochs"] == lo  # a huge one: the fewest
    two_minutes = capture_recipe(int(96 * 48000 * 0.9))
    assert lo <= two_minutes["epochs"] <= hi and two_minutes["patience"] is None


def write_plucked_pair(folder: Path, seconds: float = 8.0, sr: int = 48000, latency: float = 23.0) -> None:
    dry = plucked_notes(seconds, sr, seed=3)
    wet = record(player_chain(dry, sr), sr, latency, 0.0, -1, -84.0, seed=4)  # inverted, as some pedals are
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / "dry.wav", dry, sr, subtype="PCM_24")
    sf.write(folder / "wet.wav", wet + 0.02, sr, subtype="FLOAT")  # and a DC offset


@pytest.fixture(scope="module")
def captured(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    from drywet.dvcrun import run_dvc
    from tests.test_pipeline import TINY, make_copy

    repo = make_copy(tmp_path_factory.mktemp("capture"), TINY)
    takes = tmp_path_factory.mktemp("takes")
    write_plucked_pair(takes)
    env_path = str(Path(sys.executable).parent)
    proc = subprocess.run([sys.executable, "-m", "drywet", "capture", "mycap", str(takes / "dry.wav"),
                           str(takes / "wet.wav"), "--epochs", "2", "--gear-make", "Acme", "--gear-model", "Drive",
                           "--tone-type", "overdrive", "--modeled-by", "tester"],
                          cwd=repo, capture_output=True, text=True, timeout=900,
                          env={**__import__("os").environ, "PATH": env_path + ":" + __import__("os").environ["PATH"],
                               "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_dvc(["status"], repo, capture=True, check=True, timeout=900)  # the repository still reads
    return repo, proc


@pytest.mark.slow
def test_capture_runs_only_its_effect_and_ends_with_a_summary(captured) -> None:
    repo, proc = captured
    out = proc.stdout
    assert "OK to train" in out
    assert "epoch 2/2" in out and "left" in out  # progress per epoch with the time left
    assert "capture mycap: " in out and "test ESR" in out and "exports/mycap/mycap.nam" in out
    assert "WARNING" not in out + proc.stderr and (repo / ".dvc" / "tmp" / "capture-mycap.log").is_file()
    for page in ("plots/mycap-report.html", "plots/mycap-listen.html", "data/listen_keys/mycap.json"):
        assert page in out and (repo / page).is_file()  # its own pages, no demo effect run for them
    assert "virtual bench" not in (repo / "plots" / "mycap-report.html").read_text()
    assert "as it starts (default settings): ESR" in out  # what the plugin plays, beside the model alone
    assert "polarity: the gear inverts the signal; the model does not" in out  # the pair is inverted
    check = json.loads(subprocess.run([sys.executable, "-m", "drywet", "check", "--json",
                                       "data/recordings/mycap/dry.wav", "data/recordings/mycap/wet.wav"],
                                      cwd=repo, capture_output=True, text=True, timeout=120).stdout)
    floor = json.loads((repo / "metrics" / "align" / "mycap.json").read_text())["esr_floor"]
    assert f"best ESR a model can reach: {floor:.2g}" in out  # one floor: check's, on the same aligned audio
    assert check["esr_floor"] == pytest.approx(floor, rel=1e-3)
    assert not (repo / "models" / "sd1").exists()  # the other effects did not run
    params = yaml.safe_load((repo / "params.yaml").read_text())
    entry = params["effects"]["mycap"]
    assert entry["source"] == "data/recordings/mycap" and entry["model"]["kind"] == "sequence"
    assert params["gear"]["mycap"]["gear_make"] == "Acme"
    assert (repo / "data" / "recordings" / "mycap.dvc").is_file()  # tracked with dvc add
    meta = json.loads((repo / "models" / "mycap" / "model.json").read_text())
    assert meta["kind"] == "sequence" and meta["highpass_hz"] == 0.0  # fed as a plugin feeds it
    align = json.loads((repo / "metrics" / "align" / "mycap.json").read_text())
    assert -1.0 <= align["latency_samples"] - 23.0 <= 0.25 and align["polarity"] == -1


@pytest.mark.slow
def test_captured_nam_plays_what_was_scored(captured) -> None:
    """The .nam file, run by the independent NumPy player on the test dry, scores what evaluate scored."""
    from drywet.export.nam import NamLSTM, load_nam
    from drywet.metrics import esr

    repo, _ = captured
    nam = load_nam(repo / "exports" / "mycap" / "mycap.nam")
    assert nam["metadata"]["gear_make"] == "Acme" and nam["metadata"]["tone_type"] == "overdrive"
    assert set(nam["metadata"]["date"]) == {"year", "month", "day", "hour", "minute", "second"}
    assert nam["metadata"]["training"]["verdict"] and "loudness" in nam["metadata"]
    dry, _ = sf.read(repo / "data" / "split" / "mycap" / "test_dry.wav", dtype="float32")
    wet, _ = sf.read(repo / "data" / "split" / "mycap" / "test_wet.wav", dtype="float32")
    n = min(dry.size, 24000)
    played = NamLSTM(nam).process(dry[:n])
    pred, _ = sf.read(repo / "data" / "predictions" / "mycap" / "pred.wav", dtype="float32")
    assert np.max(np.abs(played - pred[:n])) < 1e-4
    scored = json.loads((repo / "metrics" / "mycap.json").read_text())["esr"]
    assert abs(esr(wet, pred[:wet.size]) - scored) < 1e-3 * max(scored, 1e-3)


# ---- the architecture the capture picks (drywet.trials) --------------------------------------------------


def test_model_option_is_checked_at_once(tmp_path: Path) -> None:
    """A bad --model is a one-line ConfigError before any audio is read or any file written."""
    from drywet.app.capture import capture
    from drywet.trials import Candidate

    assert Candidate.parse("wavenet/standard").label == "wavenet/standard"
    for bad, words in (("wavenet/huge", "unknown structure for wavenet"), ("lstm/l1_u32_f32", "KIND/STRUCTURE"),
                       ("sequence", "KIND/STRUCTURE"), ("framed/l1_u32_f32", "play in no plugin")):
        with pytest.raises(ConfigError, match=words):
            Candidate.parse(bad)
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "params.yaml").write_text("effects: {}\n")
    for name in ("dry.wav", "wet.wav"):
        (tmp_path / name).write_bytes(b"not audio")  # never read: the option fails first
    with pytest.raises(ConfigError, match="unknown structure for wavenet"):
        capture("amp", str(tmp_path / "dry.wav"), str(tmp_path / "wet.wav"), model="wavenet/huge", root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dvc", "dry.wav", "params.yaml", "wet.wav"]


def test_choice_prefers_the_smaller_model_unless_clearly_beaten_and_recipe_fits_the_budget() -> None:
    from drywet.trials import MIN_EPOCHS, Candidate, Trial, choose, full_recipe, next_bigger

    base = load_section(TrainSequenceParams)
    small = Trial(Candidate("sequence", "l1_u32_f32"), 0.0500, 40.0, 500_000.0)
    close = Trial(Candidate("wavenet", "lite"), 0.0495, 40.0, 100_000.0)
    better = Trial(Candidate("wavenet", "standard"), 0.0300, 40.0, 50_000.0)
    assert choose([small, close]) is small and choose([small, close, better]) is better
    n = 6_000_000  # two minutes of training part at 48 kHz
    lstm = full_recipe(small, n, 360.0, base)  # 360 s x 0.85 x 500k / 6M = 25 epochs of the whole part
    assert lstm["epochs"] == 25 and lstm["max_segments"] is None and lstm["batch_size"] == 16
    wave = full_recipe(better, n, 360.0, base)  # 2.55 epochs' worth: MIN_EPOCHS epochs of part of it each
    assert wave["epochs"] == MIN_EPOCHS and wave["segment"] == 8192 and wave["warmup"] == 0
    assert wave["max_segments"] * 8192 * MIN_EPOCHS == pytest.approx(360.0 * 0.85 * 50_000, rel=1e-2)
    assert next_bigger("sequence", "l1_u32_f32") == Candidate("wavenet", "lite")
    assert next_bigger("wavenet", "standard") is None


def test_a_trial_trains_each_kind_within_its_time_box() -> None:
    """A short trial of an LSTM and of the smallest WaveNet on 40 s of a drive at 16 kHz (a validation
    part long enough for a WaveNet segment and its context): each trains, validates, and reports its
    speed; the time box holds (graph building and one validation over)."""
    from drywet.trials import Candidate, run_trial, trial_audio

    sr = 16000
    dry = plucked_notes(40.0, sr, seed=5).astype(np.float32)
    wet = record(player_chain(dry, sr), sr, 11.0, 0.0, 1, -84.0, seed=6).astype(np.float32)
    align = load_section(AlignParams)
    audio = trial_audio(dry, wet, sr, align, load_section(__import__("drywet.config").config.SplitParams))
    base = load_section(TrainSequenceParams)
    for label in ("sequence/l1_u16_f32", "wavenet/nano"):
        t = run_trial(Candidate.parse(label), audio, base, seconds=2.0)
        assert np.isfinite(t.val_esr) and 0 < t.val_esr < 10 and t.samples_per_s > 0
        assert t.seconds < 60


@pytest.mark.slow
def test_capture_of_a_forced_wavenet_plays_in_nam_only(tmp_path_factory) -> None:
    """`--model wavenet/nano` skips the trials; the WaveNet trains, its `.nam` (architecture WaveNet)
    plays from the file what was scored, no LSTM-only file is written (each says why), and `process`
    streams the model folder as predict scored it."""
    from drywet.dvcrun import run_dvc
    from drywet.export.nam import load_nam
    from drywet.export.players import read_nam
    from tests.test_pipeline import TINY, make_copy

    repo = make_copy(tmp_path_factory.mktemp("wncapture"), TINY)
    takes = tmp_path_factory.mktemp("wntakes")
    write_plucked_pair(takes, seconds=30.0)
    env = {**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PATH": str(Path(sys.executable).parent) + ":" + __import__("os").environ["PATH"]}
    proc = subprocess.run([sys.executable, "-m", "drywet", "capture", "wn", str(takes / "dry.wav"),
                           str(takes / "wet.wav"), "--model", "wavenet/nano", "--epochs", "1"],
                          cwd=repo, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "trying" not in proc.stdout and "model: wavenet/nano" in proc.stdout
    run_dvc(["status"], repo, capture=True, check=True, timeout=900)
    summary = json.loads((repo / "exports" / "wn" / "exports.json").read_text())
    assert list(summary["formats"]) == ["nam"] and set(summary["skipped"]) == {"aidax", "proteus", "neuralpi"}
    nam = load_nam(repo / "exports" / "wn" / "wn.nam")
    assert nam["architecture"] == "WaveNet" and nam["config"]["layers"][0]["channels"] == 4
    dry, sr = sf.read(repo / "data" / "split" / "wn" / "test_dry.wav", dtype="float32")
    pred, _ = sf.read(repo / "data" / "predictions" / "wn" / "pred.wav", dtype="float32")
    player = read_nam(nam)
    player.reset(prewarm=True)
    assert np.max(np.abs(player.process(dry) - pred)) < 1e-5
    out = tmp_path_factory.mktemp("wnout") / "out.wav"
    run = subprocess.run([sys.executable, "-m", "drywet", "process", "models/wn",
                          str(repo / "data" / "split" / "wn" / "test_dry.wav"), str(out)],
                         cwd=repo, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    processed, _ = sf.read(out, dtype="float32")
    assert np.max(np.abs(processed - pred)) < 1e-5


# ---- the mistakes players make, refused before anything is written ------------------------------------


def _tiny_repo(tmp_path: Path) -> Path:
    (tmp_path / ".dvc").mkdir(parents=True)
    (tmp_path / "params.yaml").write_text("effects:\n  sd1: {source: bench, pedal: sd1}\n"
                                          "align: {max_latency_ms: 50.0, min_peak_clarity_db: 25.0}\n")
    return tmp_path


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_another_recording_under_a_captured_name_is_refused_unless_replace(tmp_path: Path) -> None:
    from drywet.app.capture import capture, changed_recordings
    from drywet.errors import InputError

    repo = _tiny_repo(tmp_path / "repo")
    takes = tmp_path / "takes"
    write_plucked_pair(takes, seconds=3.0)
    write_plucked_pair(repo / "data" / "recordings" / "amp", seconds=3.0)  # an earlier capture's
    assert changed_recordings("amp", takes / "dry.wav", takes / "wet.wav", repo) is None  # the same take
    dry, sr = sf.read(takes / "wet.wav")
    sf.write(takes / "wet.wav", dry[: sr * 2], sr, subtype="FLOAT")  # another wet
    before = _files(repo)
    with pytest.raises(InputError, match=r"data/recordings/amp/wet.wav: an earlier capture of amp holds another "
                                         r"recording \(it lasts 3.00 s, wet.wav 2.00 s\); pass --replace"):
        capture("amp", str(takes / "dry.wav"), str(takes / "wet.wav"), root=repo)
    dry[sr] += 0.1
    sf.write(takes / "wet.wav", dry, sr, subtype="FLOAT")
    assert "the samples differ from 1.00 s on" in changed_recordings("amp", takes / "dry.wav", takes / "wet.wav", repo)
    with pytest.raises(InputError, match="already names an effect sd1"):  # a demo effect is never overwritten
        capture("sd1", str(takes / "dry.wav"), str(takes / "wet.wav"), root=repo, replace=True)
    assert _files(repo) == before


def test_a_swapped_pair_stops_the_capture_before_anything_is_written(tmp_path: Path, capsys) -> None:
    import time

    from drywet.app.capture import capture

    repo = _tiny_repo(tmp_path / "repo")
    takes = tmp_path / "takes"
    write_plucked_pair(takes, seconds=4.0)
    before = _files(repo)
    start = time.monotonic()
    assert capture("amp", str(takes / "wet.wav"), str(takes / "dry.wav"), root=repo) == 1
    assert time.monotonic() - start < 20
    assert "look swapped" in capsys.readouterr().out
    assert _files(repo) == before


def test_unknown_options_and_structures_fail_at_once(tmp_path: Path) -> None:
    """Before any audio is read: an unknown option (argparse, exit 2) or structure (one error line)."""
    import time

    repo = _tiny_repo(tmp_path)
    for args, words in ((["--structure", "foo"], "unrecognized arguments: --structure"),
                        (["--model", "sequence/foo"], "error: --model 'sequence/foo': unknown structure")):
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "drywet", "capture", "amp", "d.wav", "w.wav", *args], cwd=repo,
                              capture_output=True, text=True, timeout=60,
                              env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[2])})
        assert proc.returncode == 2 and words in proc.stderr + proc.stdout, proc.stderr
        assert len((proc.stderr + proc.stdout).strip().splitlines()) <= 3  # usage + the error, no traceback
        assert time.monotonic() - start < 20
    assert _files(repo) == [".dvc", "params.yaml"]


def test_the_polarity_is_said_in_words_a_blending_player_needs() -> None:
    from drywet.app.capture import polarity_words

    assert "--keep-polarity" in polarity_words(-1, False) and "cancel" in polarity_words(-1, False)
    assert "so does the model" in polarity_words(-1, True) and "so does the model" in polarity_words(1, False)
