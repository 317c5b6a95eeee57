"""Knob-conditioned captures: params checks, the bench at several knob settings, examples that never
straddle two positions, and a tiny `dvc repro` of a 3-position bench effect (and a 2-knob effect from
the user's own folders) that trains, evaluates per setting and exports to AIDA-X and Proteus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drywet import knobs
from drywet.bench import PEDALS, apply_pedal, make_dry, record_dry, record_wet
from drywet.config import effects
from drywet.errors import ConfigError
from drywet.kinds import Index, merge_indexes

SR = 16000
GAINS = (0.2, 0.5, 0.8)
BENCH_KNOBS = [{"settings": {"gain": g}} for g in GAINS]


# ---- params -----------------------------------------------------------------------------------------


def test_knob_positions_parse_with_labels_in_channel_order():
    fx = effects({"od": {"source": "bench", "pedal": "sd1", "knobs": BENCH_KNOBS},
                  "mine": {"source": "data/recordings/mine",
                           "knobs": [{"settings": {"tone": 0.5, "gain": 0.05}, "folder": "a"},
                                     {"settings": {"gain": 1, "tone": 0.25}, "folder": "b"}]}})
    od, mine = fx["od"], fx["mine"]
    assert [p.label for p in od.knobs] == ["gain20", "gain50", "gain80"] and od.knob_names == ("gain",)
    assert mine.knob_names == ("tone", "gain")  # the first position's order is the channel order
    assert [p.label for p in mine.knobs] == ["tone50_gain05", "tone25_gain100"]
    assert mine.knobs[1].values == (0.25, 1.0) and mine.knobs[1].folder == "b"
    positions = knobs.from_params(mine)
    assert positions.settings(1) == {"tone": 0.25, "gain": 1.0}
    assert positions.table().shape == (2, 2) and knobs.from_params(effects({"sd1": {}})["sd1"]) is None


@pytest.mark.parametrize("settings,message", [
    ({"knobs": [{"settings": {"gain": 0.2}}]}, r"effects.fx.knobs must be a list of 2 to 5 knob positions"),
    ({"knobs": "gain"}, r"effects.fx.knobs must be a list of 2 to 5"),
    ({"knobs": [{"settings": {"gain": g / 10}} for g in range(6)]}, r"must be a list of 2 to 5"),
    ({"knobs": [{"settings": {"gain": 0.2}}, {"settings": {"gain": 1.5}}]},
     r"effects.fx.knobs\[1\].settings.gain must be a number in \[0, 1\], got 1.5"),
    ({"knobs": [{"settings": {"gain": 0.2}}, {"settings": {"gain": 0.2}}]},
     r"effects.fx.knobs\[1\] repeats the settings of effects.fx.knobs\[0\] \(gain20\)"),
    ({"knobs": [{"settings": {"gain": 0.201}}, {"settings": {"gain": 0.199}}]}, r"at least 0.01"),
    ({"source": "data/recordings/x", "knobs": [{"settings": {"gain": 0.2}, "folder": "a"},
                                               {"settings": {"drive": 0.5}, "folder": "b"}]},
     r"effects.fx.knobs\[1\] sets knobs drive but effects.fx.knobs\[0\] sets gain"),
    ({"knobs": [{"settings": {"gain": 0.2}, "folder": "a"}, {"settings": {"gain": 0.5}}]},
     r"effects.fx.knobs\[0\].folder is not allowed for source: bench"),
    ({"knobs": [{"settings": {"tone": 0.2}}, {"settings": {"tone": 0.5}}]},
     r"sets knob 'tone'; the bench's stand-in pedals have gain"),
    ({"knobs": [{"settings": {"gain": 0.2}, "where": 1}, {"settings": {"gain": 0.5}}]},
     r"unknown key effects.fx.knobs\[0\].where \(valid keys: settings, folder\)"),
    ({"knobs": [{"settings": {}}, {"settings": {"gain": 0.5}}]}, r"settings must map 1 to 2 knob names"),
    ({"knobs": [{"settings": {"gain_1": 0.2}}, {"settings": {"gain_1": 0.5}}]},
     r"knob name 'gain_1' .* only letters and digits"),
    ({"source": "data/recordings/x", "knobs": [{"settings": {"gain": 0.2}, "folder": "a"},
                                               {"settings": {"gain": 0.5}}]},
     r"effects.fx.knobs\[1\].folder is missing"),
    ({"source": "data/recordings/x", "knobs": [{"settings": {"a": 0.2, "b": 0.1, "c": 0.3}, "folder": "a"},
                                               {"settings": {"a": 0.5, "b": 0.1, "c": 0.3}, "folder": "b"}]},
     r"settings must map 1 to 2 knob names"),
    ({"source": "data/recordings/x", "knobs": [{"settings": {"gain": 0.2}, "folder": "a"},
                                               {"settings": {"gain": 0.5}, "folder": "a"}]},
     r"folder 'a' is already another position's"),
])
def test_bad_knob_positions_are_one_line_errors(settings, message):
    with pytest.raises(ConfigError, match=message) as info:
        effects({"fx": {"source": "bench", "pedal": "sd1", **settings}})
    assert "\n" not in str(info.value) and str(info.value).startswith("params.yaml: ")


def test_framed_kind_refuses_a_knob_effect():
    positions = knobs.from_params(effects({"od": {"pedal": "sd1", "knobs": BENCH_KNOBS}})["od"])
    with pytest.raises(ConfigError, match=r"^effect od is knob-conditioned \(3 positions of gain\); "
                                          r"the framed kind takes audio only: use model.kind=sequence$"):
        knobs.require_sequence(positions, "framed")
    knobs.require_sequence(positions, "sequence")
    knobs.require_sequence(None, "framed")


# ---- the bench ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pedal", sorted(PEDALS))
def test_gain_knob_moves_the_stand_in_and_mid_travel_is_the_default(pedal):
    x = make_dry(1.0, SR, seed=3)
    default = apply_pedal(pedal, x, SR, 8)
    np.testing.assert_array_equal(apply_pedal(pedal, x, SR, 8, gain=0.5), default)
    outs = [apply_pedal(pedal, x, SR, 8, gain=g) for g in (0.0, 1.0)]
    assert np.std(outs[0] - outs[1]) > 0.05 * np.std(default)  # the knob changes the sound
    with pytest.raises(ConfigError, match="knob gain must be a number from 0 to 1"):
        apply_pedal(pedal, x, SR, 8, gain=1.5)


def test_bench_records_three_settings_from_one_dry_take():
    dry = record_dry(1.0, SR, -90.0, 7)
    takes = [record_wet("sd1", dry, SR, 8, -90.0, 7, gain=g) for g in GAINS]
    plain, truth_plain = record_wet("sd1", dry, SR, 8, -90.0, 7)
    for (_, truth), gain in zip(takes, GAINS, strict=True):
        assert truth["gain"] == gain and truth["latency_samples"] == truth_plain["latency_samples"]
    rms = [float(np.sqrt(np.mean(np.square(w, dtype=np.float64)))) for w, _ in takes]
    assert rms[0] < rms[1] < rms[2]  # more drive, more level out of the clipper
    for (a, _), (b, _) in ((takes[0], takes[1]), (takes[1], takes[2])):
        assert np.sqrt(np.mean((a - b) ** 2)) > 0.05 * max(rms)
    assert "gain" not in truth_plain and not np.array_equal(plain, takes[1][0])  # its own noise floor


# ---- examples never straddle two positions ---------------------------------------------------------------


def test_merged_indexes_stay_inside_their_position():
    from drywet.config import TrainSequenceParams
    from drywet.kinds import sequence
    from drywet.models import get_structure

    cfg = TrainSequenceParams(epochs=3, batch_size=4, segment=64, warmup=16, learning_rate=1e-3, loss="esr", seed=1)
    lengths, vals = [1000, 700, 1300], [300, 200, 250]
    per = [sequence.make_index(n, v, get_structure("l1_u16_f32"), cfg) for n, v in zip(lengths, vals, strict=True)]
    merged = merge_indexes(per, lengths, vals, seed=1)
    bounds = np.cumsum([0, *lengths])
    assert merged.train.shape == (3, sum(ix.train.shape[1] for ix in per))
    pos = np.searchsorted(bounds, merged.train, side="right") - 1
    assert np.all(merged.train + 64 <= bounds[pos + 1])  # a segment ends inside the position it starts in
    assert all(len(set(pos_row[:12])) > 1 for pos_row in pos)  # shuffled across positions
    assert merged.supervised == merged.train.shape[1] * 48
    vb = np.cumsum([0, *vals])
    vpos = np.searchsorted(vb, merged.val, side="right") - 1
    assert np.all(merged.val + 64 <= vb[vpos + 1]) and np.all(np.diff(merged.val) >= 0)
    capped = merge_indexes(per, lengths, vals, seed=1, cap=10)
    assert capped.train.shape == (3, 10) and capped.supervised == 10 * 48
    assert isinstance(capped, Index)


def test_training_batches_carry_each_position_knob_values():
    from drywet.config import TrainSequenceParams
    from drywet.kinds import Audio, sequence

    cfg = TrainSequenceParams(epochs=1, batch_size=64, segment=32, warmup=8, learning_rate=1e-3, loss="esr", seed=2)
    parts = [np.full(400, float(i), np.float32) for i in range(3)]  # the audio says which position it is
    dry, train_bounds = knobs.join(parts)
    val, val_bounds = knobs.join([p[:100] for p in parts])
    table = np.array([[0.2], [0.5], [0.8]], np.float32)
    per = [sequence.make_index(400, 100, None, cfg) for _ in parts]
    index = merge_indexes(per, [400] * 3, [100] * 3, seed=2)
    audio = Audio(dry, dry, val, val, knobs=table, train_bounds=train_bounds, val_bounds=val_bounds)
    train_ds, val_ds, _ = sequence.datasets(audio, index, cfg)
    for ds in (train_ds, val_ds):
        for x, y in ds:
            x, y = x.numpy(), y.numpy()
            assert x.shape[-1] == 2 and y.shape[-1] == 1
            position = x[:, :, 0].astype(int)
            assert np.all(position == position[:, :1])  # one position per segment
            np.testing.assert_array_equal(x[:, :, 1], table[position, 0])


# ---- end to end: dvc repro, metrics per setting, exports ---------------------------------------------------

USER_SETTINGS = ({"drive": 0.25, "tone": 0.5}, {"drive": 0.75, "tone": 0.5})
KNOB_TINY = {
    "effects": {"od": {"source": "bench", "pedal": "sd1", "channel": None, "knobs": BENCH_KNOBS},
                "mine": {"source": "data/recordings/mine", "channel": None,
                         "knobs": [{"settings": dict(s), "folder": f"take{i}"} for i, s in enumerate(USER_SETTINGS)]}},
    "bench": {"duration_s": 6.0, "sample_rate": SR},
    "model": {"kind": "sequence", "structure": "l1_u16_f32", "skip": True},
    "train_sequence": {"epochs": 2, "checkpoints": [1, 2], "segment": 512, "warmup": 64, "batch_size": 8},
    "predict": {"checkpoint_excerpt_s": 0.5},
    "evaluate": {"hf_cutoff_hz": 6000.0, "excerpt_s": 0.5, "rtf_seconds": 0.5},
    "report": {"excerpt_s": 1.0},
}


def write_user_takes(folder: Path) -> None:
    """Two takes of a user's drive pedal at two settings of its drive knob (same DI), 5 samples late."""
    dry = make_dry(6.0, SR, seed=11).astype(np.float64)
    dry += 1e-4 * np.random.default_rng(1).standard_normal(dry.size)
    for i, s in enumerate(USER_SETTINGS):
        wet = 0.4 * np.tanh((2.0 + 20.0 * s["drive"]) * np.concatenate([np.zeros(5), dry[:-5]]))
        (folder / f"take{i}").mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"take{i}" / "dry.wav", dry, SR, subtype="PCM_24")
        sf.write(folder / f"take{i}" / "wet.wav", wet, SR, subtype="PCM_24")


@pytest.fixture(scope="module")
def knob_repo(tmp_path_factory) -> Path:
    from drywet.dvcrun import run_dvc
    from tests.test_pipeline import make_copy

    base = tmp_path_factory.mktemp("knobs")
    repo = make_copy(base, KNOB_TINY)
    shutil.rmtree(repo / "data" / "recordings" / "mypedal")
    write_user_takes(repo / "data" / "recordings" / "mine")
    run_dvc(["repro"], repo, capture=True, check=True, timeout=900)
    return repo


@pytest.mark.slow
def test_repro_trains_evaluates_per_setting_and_reports(knob_repo: Path):
    m = json.loads((knob_repo / "metrics/od.json").read_text())
    for label in ("gain20", "gain50", "gain80"):
        assert 0 < m[f"esr_{label}"] < 1.5, label
        for file in ("raw/od/{}/dry.wav", "aligned/od/{}/wet.wav", "split/od/{}/test_dry.wav"):
            assert (knob_repo / "data" / file.format(label)).is_file()
    # The overall ESR is the error energy of every position over their signal energy.
    info = json.loads((knob_repo / "data/predictions/od/predict.json").read_text())
    assert [p["label"] for p in info["positions"]] == ["gain20", "gain50", "gain80"]
    assert min(m["esr_gain20"], m["esr_gain80"]) <= m["esr"] <= max(m["esr_gain20"], m["esr_gain80"]) + 1e-6
    assert np.isfinite(m["rtf"]) and np.isfinite(m["esr_floor"])
    assert m["exports"] == "aidax, proteus, neuralpi"  # 1x16 with skip and one knob
    assert m["repeat_esr"] < 0.01  # repeats found inside a take, not across takes that share the dry
    meta = json.loads((knob_repo / "models/od/model.json").read_text())
    assert meta["inputs"] == 2 and meta["knobs"] == ["gain"]
    mine = json.loads((knob_repo / "metrics/mine.json").read_text())
    assert {"esr_drive25_tone50", "esr_drive75_tone50"} <= set(mine)
    assert json.loads((knob_repo / "models/mine/model.json").read_text())["knobs"] == ["drive", "tone"]
    align = json.loads((knob_repo / "metrics/align/od.json").read_text())
    assert set(align) == {"gain20", "gain50", "gain80"} and align["gain50"]["polarity"] == 1
    page = (knob_repo / "plots/report.html").read_text()
    for gain in GAINS:  # dry, target and prediction at every setting
        assert page.count(f", gain {gain:g}</div>") >= 3 and f"target (wet recording), gain {gain:g}" in page
    assert "esr_by_setting" in (knob_repo / "metrics/report.md").read_text()


@pytest.mark.slow
def test_framed_kind_stops_the_knob_effect_with_one_line(knob_repo: Path):
    from tests.test_pipeline import repro_error_lines

    errors = repro_error_lines(knob_repo, lambda p: p["model"].update(kind="framed"), "frame@od")
    assert errors == ["error: effect od is knob-conditioned (3 positions of gain); the framed kind takes "
                      "audio only: use model.kind=sequence"]


@pytest.mark.slow
@pytest.mark.parametrize("effect", ["od", "mine"])
def test_trained_knob_model_exports_play_like_keras_at_every_setting(knob_repo: Path, effect: str):
    from drywet.export import export_model, model_rate, save_json
    from drywet.inference import load_model, predict
    from tests.export.test_export import read_aidax, read_proteus
    from tests.lstm_models import keras_run, with_knobs

    model, meta = load_model(knob_repo / "models" / effect)
    positions = knobs.read_positions(knob_repo / "data" / "split" / effect)
    x = make_dry(0.15, SR, seed=5)
    for fmt, reader in (("aidax", read_aidax), ("proteus", read_proteus)):
        path = knob_repo / f"{effect}.{fmt}.json"
        save_json(export_model(model, fmt, model_rate(meta), {"effect": effect}, meta), path)
        data = json.loads(path.read_text())
        assert (data["in_shape"][-1] if fmt == "aidax" else data["model_data"]["input_size"]) == 1 + len(meta.knobs)
        for i in range(len(positions)):
            values = positions.values[i]
            expected = keras_run(model, with_knobs(x, values))
            assert np.max(np.abs(reader(data, with_knobs(x, values)) - expected)) < 1e-5, (fmt, i)
            streamed = predict(model, meta, x, knobs=positions.settings(i))
            assert np.max(np.abs(streamed - expected)) < 1e-4
    refusal = r"cannot export to .nam; train with model.skip: false .* and no knobs"
    with pytest.raises(ConfigError, match=refusal) as info:
        export_model(model, "nam", model_rate(meta), None, meta)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_knob_stages_are_byte_stable(knob_repo: Path):
    """Rerunning the knob effect's data stages writes the same bytes: DVC sees nothing to redo."""
    from drywet.dvcrun import run_dvc

    for stage in ("record@od", "align@od", "split@od", "frame@od", "predict@od"):
        run_dvc(["repro", "--force", "--single-item", stage], knob_repo, capture=True, check=True, timeout=900)
    status = run_dvc(["status", "--json"], knob_repo, capture=True, check=True, timeout=900).stdout
    assert json.loads(status or "{}") == {}
