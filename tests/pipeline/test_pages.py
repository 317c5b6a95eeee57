"""Each effect's own pages, written by its section stage: plots/<fx>-report.html (its listening page),
plots/<fx>-listen.html (its blind ABX page) and the key data/listen_keys/<fx>.json; and the wording
of where an effect's recordings come from (a player's recordings are never the virtual bench's).

The stage runs on made-up inputs in a temporary folder (no DVC, no training); the slow test runs what
a capture runs, `dvc exp run export@<fx> section@<fx>`, in a tiny copy of the repository.
"""

from __future__ import annotations

import html
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from matplotlib.figure import Figure as MplFigure

from drywet import audio
from drywet.app.cli import main as cli
from drywet.meta import ModelMeta
from drywet.pipeline.contracts import PredictInfo
from drywet.report import BENCH_NOTE, sources_intro
from tests.browser import dump_dom
from tests.pipeline.records import align_file
from tests.test_report import _chromium_or_skip, _selfcheck

ROOT = Path(__file__).resolve().parents[2]
SR = 16000
OWN = "data/recordings/mine"
FIGURES = ("spectrograms", "error_spectrum", "waveforms", "checkpoints")
BENCH_WORDS = ("virtual bench", "stand-in")


def test_sources_intro_calls_a_players_recordings_recordings() -> None:
    bench = [("sd1", "virtual bench, stand-in pedal sd1", True), ("b65", "virtual bench, stand-in pedal b65", True)]
    # the cross-effect report of the bench effects reads as before
    assert sources_intro(bench) == (
        "Sources: sd1: virtual bench, stand-in pedal sd1; b65: virtual bench, stand-in pedal b65. The virtual "
        "bench's stand-in pedals are physically motivated models, not recordings of real pedals. Verdicts use "
        "Neural Amp Modeler's bands for the test ESR; the ESR floor is what the recording's noise allows.")
    own = sources_intro([("mine", OWN, False)])
    assert own.startswith(f"Source: mine: recordings in {OWN}. Verdicts use")
    assert not any(w in own for w in BENCH_WORDS)
    mixed = sources_intro([bench[0], ("mine", OWN, False)])
    assert mixed.count(BENCH_NOTE) == 1 and f"mine: recordings in {OWN}" in mixed


# ----------------------------------------------------------------------------------------------
# The section stage on made-up inputs


def _png(seed: int) -> bytes:
    fig = MplFigure(figsize=(2, 1), dpi=40)
    fig.add_subplot().plot(np.random.default_rng(seed).standard_normal(20))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _stage_inputs(root: Path, fx: str, source: str, trials: int = 3) -> None:
    """params.yaml naming only `fx` (from `source`) and what its section stage reads, made up."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    entry = {"source": source, "channel": None, **({"pedal": "sd1"} if source == "bench" else {})}
    params["effects"] = {fx: entry}
    params["report"] = {"excerpt_s": 2.0, "abx_trials": trials}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "metrics" / "align").mkdir(parents=True)
    (root / "metrics" / f"{fx}.json").write_text(json.dumps({"esr": 0.05, "mae": 0.01, "verdict": "not bad"}))
    align_file(latency_ms=1.5, peak_correlation=0.9, sample_rate=SR).save(root / "metrics" / "align" / f"{fx}.json")
    ModelMeta(fx, "sequence", "l1_u16_f32", 1, 16, 32, SR, 1, 3, 100, 1000, 1200).save(root / "models" / fx)
    pdir = root / "data" / "predictions" / fx
    t = np.arange(3 * SR) / SR
    dry = 0.3 * np.sin(2 * np.pi * 196.0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    for name, x in (("dry", dry), ("target", np.tanh(3 * dry) * 0.6), ("pred", np.tanh(2.5 * dry) * 0.5),
                    ("ckpt_epoch_1", 0.4 * dry)):
        audio.write_wav(pdir / f"{name}.wav", x, SR)
    PredictInfo(test_seconds=3.0, excerpt_start=0, excerpt_length=SR // 2, checkpoint_epochs=(1,)).save(pdir)
    (root / "plots" / fx).mkdir(parents=True)
    for i, name in enumerate(FIGURES):
        (root / "plots" / fx / f"{name}.png").write_bytes(_png(i))


def _run(root: Path, *cmd: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", *cmd], cwd=root, env=env, capture_output=True, text=True,
                   timeout=300, check=True)


def _section(root: Path, fx: str) -> None:
    _run(root, "stages.section", "--effect", fx, "--metrics", f"metrics/{fx}.json", "--align",
         f"metrics/align/{fx}.json", "--model", f"models/{fx}/model.json", "--predictions", f"data/predictions/{fx}",
         "--plots", f"plots/{fx}", "--out", f"data/report/{fx}", "--page", f"plots/{fx}-report.html",
         "--listen", f"plots/{fx}-listen.html", "--key", f"data/listen_keys/{fx}.json")


def _pages(root: Path, fx: str) -> tuple[str, str, dict]:
    return ((root / "plots" / f"{fx}-report.html").read_text(), (root / "plots" / f"{fx}-listen.html").read_text(),
            json.loads((root / "data" / "listen_keys" / f"{fx}.json").read_text()))


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Path:
    """A folder where the section stage of a player's recordings ran."""
    root = tmp_path_factory.mktemp("own")
    _stage_inputs(root, "mine", OWN)
    _section(root, "mine")
    return root


def test_section_stage_writes_the_effects_pages_byte_stably(own: Path) -> None:
    report, page, key = _pages(own, "mine")
    assert 'id="effect-mine"' in report and report.count("<img ") == len(FIGURES)
    assert f"Source: mine: recordings in {OWN}." in report
    assert list(key["effects"]) == ["mine"] and len(key["effects"]["mine"]) == 3
    assert f'data-page="{key["page"]}"' in page and page.count("<audio ") == 9
    assert "listen-score FILE --key data/listen_keys/mine.json" in page
    assert '<a href="mine-listen.html">Blind ABX test: target against model</a>' in report  # beside it in plots/
    for text in (report, page):
        assert not any(w in text for w in BENCH_WORDS)
    files = [own / "plots" / "mine-report.html", own / "plots" / "mine-listen.html",
             own / "data" / "listen_keys" / "mine.json"]
    before = [f.read_bytes() for f in files]
    _section(own, "mine")
    assert [f.read_bytes() for f in files] == before


def test_a_bench_effects_page_says_its_pedal_is_a_stand_in(tmp_path: Path) -> None:
    _stage_inputs(tmp_path, "sd1", "bench", trials=1)
    _section(tmp_path, "sd1")
    report, _, _ = _pages(tmp_path, "sd1")
    assert "Source: sd1: virtual bench, stand-in pedal sd1." in report and html.escape(BENCH_NOTE) in report


def test_the_report_stage_of_that_one_effect_gives_the_same_trials(own: Path) -> None:
    _run(own, "stages.report", "--sections", "data/report", "--html", "plots/report.html", "--markdown",
         "metrics/report.md", "--listen", "plots/listen.html", "--key", "data/listen_key.json")
    assert (own / "data" / "listen_key.json").read_bytes() == (own / "data" / "listen_keys" / "mine.json").read_bytes()
    assert not any(w in (own / "plots" / "report.html").read_text() for w in BENCH_WORDS)
    assert '<a href="listen.html">' in (own / "plots" / "report.html").read_text()


def test_listen_score_scores_the_effects_own_page(own: Path, tmp_path: Path) -> None:
    _, _, key = _pages(own, "mine")
    flip = {"A": "B", "B": "A"}
    answers = {"version": 1, "page": key["page"], "answers": [
        {"effect": "mine", "trial": t["trial"], "x_is": t["x_is"] if t["trial"] < 3 else flip[t["x_is"]]}
        for t in key["effects"]["mine"]]}
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    out = tmp_path / "listening.json"
    assert cli(["listen-score", str(tmp_path / "answers.json"), "--key", str(own / "data/listen_keys/mine.json"),
                "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["effects"]["mine"] == {"trials": 3, "correct": 2, "unanswered": 0, "p_value": 0.5}


def test_the_effects_pages_play_in_headless_chromium(own: Path) -> None:
    _chromium_or_skip()
    for name, audios, images in (("mine-report.html", 5, len(FIGURES)), ("mine-listen.html", 9, 0)):
        path = own / "plots" / name
        sc = _selfcheck(path)
        assert sc["data-state"] == "done", sc
        assert (sc["data-audio-total"], sc["data-audio-ready"]) == (str(audios), str(audios)), sc
        assert (sc["data-images-total"], sc["data-images-ok"]) == (str(images), str(images)), sc
        assert not any(w in dump_dom(path) for w in BENCH_WORDS)


# ----------------------------------------------------------------------------------------------
# What a capture runs


@pytest.mark.slow
def test_exp_run_of_one_effects_section_writes_its_pages_and_no_others(tmp_path: Path) -> None:
    from drywet.dvcrun import run_dvc
    from tests.test_pipeline import TINY, make_copy

    repo = make_copy(tmp_path, {**TINY, "effects": {
        "sd1": TINY["effects"]["sd1"], "mypedal": TINY["effects"]["mypedal"]}})
    run_dvc(["exp", "run", "export@mypedal", "section@mypedal"], repo, capture=True, check=True, timeout=900)
    report, page, key = _pages(repo, "mypedal")
    assert f'data-page="{key["page"]}"' in page and 'id="effect-mypedal"' in report
    assert "recordings in data/recordings/mypedal" in report
    for text in (report, page):
        assert not any(w in text for w in BENCH_WORDS)
    assert not (repo / "data" / "report" / "sd1").exists() and not (repo / "plots" / "report.html").exists()
    status = run_dvc(["status", "section@mypedal", "--json"], repo, capture=True, check=True, timeout=900).stdout
    assert json.loads(status or "{}") == {}
