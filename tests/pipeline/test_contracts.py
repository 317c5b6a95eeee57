"""The stages' hand-off files (drywet.pipeline.contracts): each record writes what the stages wrote
before as plain dicts (same keys, sorted, same numbers) and reads it back; a missing or unknown key
is one error line naming the file and the key."""

from __future__ import annotations

import json

import pytest

from drywet.errors import InputError
from drywet.fileio import json_text
from drywet.pipeline.contracts import (
    AlignFile,
    CleanInfo,
    ExportsSummary,
    IndexInfo,
    PositionPart,
    PredictInfo,
    QualityMetrics,
    SplitInfo,
    TrainMetrics,
)
from tests.pipeline.records import ALIGN_REPORT, align_file


def test_each_record_writes_the_stages_bytes_and_reads_them_back(tmp_path):
    CleanInfo(highpass_hz=5.0, sample_rate=48000).save(tmp_path)
    assert (tmp_path / "clean.json").read_text() == json_text({"highpass_hz": 5.0, "sample_rate": 48000})
    assert CleanInfo.load(tmp_path) == CleanInfo(5.0, 48000)

    split = SplitInfo(48000, 0.0, 0, 10, 10, 12, 12, 15)
    split.save(tmp_path)
    assert json.loads((tmp_path / "split.json").read_text()) == {
        "sample_rate": 48000, "highpass_hz": 0.0, "train_start": 0, "train_stop": 10, "val_start": 10,
        "val_stop": 12, "test_start": 12, "test_stop": 15}
    assert SplitInfo.load(tmp_path) == split and split.bounds("val") == (10, 12)

    for positions in (None, ("gain20", "gain80")):
        index = IndexInfo("sequence", 1, "l1_u16_f32", 512, 10, 2, 4480, positions)
        index.save(tmp_path)
        d = json.loads((tmp_path / "index.json").read_text())
        assert ("positions" in d) == (positions is not None)
        assert IndexInfo.load(tmp_path) == index

    plain = PredictInfo(3.0, 100, 800, (1, 2))
    plain.save(tmp_path)
    assert json.loads((tmp_path / "predict.json").read_text()) == {
        "test_seconds": 3.0, "excerpt_start": 100, "excerpt_length": 800, "checkpoint_epochs": [1, 2]}
    assert PredictInfo.load(tmp_path) == plain
    knob = PredictInfo(3.0, 100, 800, (), (PositionPart("gain20", {"gain": 0.2}, 0, 10),
                                           PositionPart("gain80", {"gain": 0.8}, 10, 20)), "gain80")
    knob.save(tmp_path)
    assert json.loads((tmp_path / "predict.json").read_text())["positions"][1] == {
        "label": "gain80", "settings": {"gain": 0.8}, "start": 10, "stop": 20}
    assert PredictInfo.load(tmp_path) == knob

    align = align_file(latency_samples=12.5)
    align.save(tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text()) == {**ALIGN_REPORT, "latency_samples": 12.5}
    assert AlignFile.load(tmp_path / "a.json") == align and align.latency_samples == 12.5
    knobs = AlignFile({"g2": align.takes["."], "g8": align.takes["."]})
    knobs.save(tmp_path / "k.json")
    assert AlignFile.load(tmp_path / "k.json") == knobs and knobs.latency_samples == {"g2": 12.5, "g8": 12.5}

    QualityMetrics({"esr": 0.01, "verdict": "great"}).save(tmp_path / "m.json")
    assert QualityMetrics.load(tmp_path / "m.json").esr == 0.01
    (tmp_path / "t.json").write_text(json.dumps({"step": 2, "train_seconds": 1.5, "train_examples_per_s": 9.0}))
    assert TrainMetrics.load(tmp_path / "t.json") == TrainMetrics(1.5, 9.0)
    summary = ExportsSummary("fx", 0.01, {}, [], {"nam": "framed"})
    summary.save(tmp_path)
    assert ExportsSummary.load(tmp_path) == summary


def test_a_missing_or_unknown_key_is_one_line_naming_file_and_key(tmp_path):
    (tmp_path / "split.json").write_text(json.dumps({"highpass_hz": 0.0}))
    with pytest.raises(InputError, match=r"split.json: missing key 'sample_rate'"):
        SplitInfo.load(tmp_path)
    (tmp_path / "clean.json").write_text(json.dumps({"highpass_hz": 0.0, "sample_rate": 1, "extra": 1}))
    with pytest.raises(InputError, match=r"clean.json: unknown key 'extra'"):
        CleanInfo.load(tmp_path)
    (tmp_path / "m.json").write_text(json.dumps({"mae": 0.1}))
    with pytest.raises(InputError, match=r"m.json: missing key 'esr'"):
        QualityMetrics.load(tmp_path / "m.json")
    with pytest.raises(InputError, match=r"predict.json: the predict stage's record not found"):
        PredictInfo.load(tmp_path)
