"""End to end: a tiny `dvc repro` of the whole pipeline in a temporary copy of the repository.

The tiny run has three effects that params.yaml alone defines: two bench effects (one renamed, its
stand-in named by `pedal`) at 16 kHz and the user's own 48 kHz recordings under a name of their
choosing, so every stage, the report included, is shown to follow params.yaml and the file's rate.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from drywet import capture
from drywet.dvcrun import run_dvc

pytestmark = pytest.mark.slow  # every test here runs on the module's `dvc repro` of a temp copy

ROOT = Path(__file__).resolve().parents[1]
USER_SR = 48000
EFFECTS = {"sd1": 16000, "fz": 16000, "mypedal": USER_SR}  # effect -> its recordings' rate
TINY = {
    "effects": {"sd1": {"source": "bench", "pedal": "sd1", "channel": None},
                "fz": {"source": "bench", "pedal": "fuzz", "channel": None},
                "mypedal": {"source": "data/recordings/mypedal", "channel": None}},
    "bench": {"duration_s": 6.0, "sample_rate": 16000},
    "frame": {"count": 1500, "val_count": 500},
    "train": {"epochs": 2, "checkpoints": [1, 2], "batch_size": 128},
    "train_sequence": {"epochs": 2, "checkpoints": [1, 2], "segment": 512, "warmup": 64, "batch_size": 8},
    "predict": {"checkpoint_excerpt_s": 0.5},
    "evaluate": {"hf_cutoff_hz": 6000.0, "excerpt_s": 0.5, "rtf_seconds": 0.5},
}


def _deep_update(d: dict, u: dict) -> None:
    for k, v in u.items():
        if isinstance(v, dict):
            _deep_update(d.setdefault(k, {}), v)
        else:
            d[k] = v


def write_user_recordings(folder: Path, seconds: float = 6.0, sr: int = USER_SR) -> None:
    """dry.wav/wet.wav as a user brings them: program material (it repeats a section near the end,
    as a capture signal does) and a soft-clipping "pedal" heard 12 samples late, 24-bit."""
    from drywet.bench import make_dry

    rng = np.random.default_rng(5)
    dry = make_dry(seconds, sr, seed=11).astype(np.float64)
    dry += 10.0 ** (-90 / 20) * rng.standard_normal(dry.size)
    wet = 0.5 * np.tanh(6.0 * np.concatenate([np.zeros(12), dry[:-12]]))
    wet += 10.0 ** (-85 / 20) * rng.standard_normal(wet.size)
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / "dry.wav", dry, sr, subtype="PCM_24")
    sf.write(folder / "wet.wav", wet, sr, subtype="PCM_24")


def make_copy(tmp_path: Path, updates: dict) -> Path:
    """Copy the repository's git-visible files into a fresh git repo with tiny params."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    repo = tmp_path / "repo"
    for rel in files:
        if (ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    for stale in ("dvc.lock",):
        (repo / stale).unlink(missing_ok=True)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    if "effects" in updates:  # the effects are replaced, not merged
        params["effects"] = {}
    _deep_update(params, updates)
    write_user_recordings(repo / "data" / "recordings" / "mypedal")
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny"], cwd=repo,
                   check=True)
    return repo


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory) -> Path:
    repo = make_copy(tmp_path_factory.mktemp("e2e"), TINY)
    run_dvc(["repro"], repo, capture=True, check=True, timeout=900)
    return repo


def test_repro_writes_every_output(tiny_repo: Path) -> None:
    for fx, rate in EFFECTS.items():
        m = json.loads((tiny_repo / f"metrics/{fx}.json").read_text())
        for key in ("mae", "r2", "esr", "esr_preemph", "stft_distance", "hf_error_db", "params",
                    "macs_per_sample", "rtf", "rtf_1thread", "esr_floor", "noise_floor_dbfs", "repeat_esr"):
            assert np.isfinite(m[key]), (fx, key)
        assert m["esr"] < 1.5  # two epochs: far from good, but a real fit of the right signal
        assert m["verdict"] == capture.verdict(m["esr"])
        assert m["esr_floor"] > 0 and m["noise_floor_dbfs"] < 0
        if fx != "fz":  # the fuzz stand-in turns the bench's -90 dBFS hiss into a loud one
            assert m["esr_floor"] < 0.01 and m["noise_floor_dbfs"] < -50
        assert 0 <= m["repeat_esr"] < 0.01 and m["repeat_seconds"] > 0.25  # the repeated section, found
        pred, sr = sf.read(tiny_repo / f"data/predictions/{fx}/pred.wav")
        target, _ = sf.read(tiny_repo / f"data/predictions/{fx}/target.wav")
        assert sr == rate and len(pred) == len(target) > 0
        for png in ("spectrograms", "error_spectrum", "waveforms", "checkpoints"):
            assert (tiny_repo / f"plots/{fx}/{png}.png").stat().st_size > 1000
        assert (tiny_repo / f"models/{fx}/checkpoints/epoch_002.keras").is_file()
        assert json.loads((tiny_repo / f"models/{fx}/model.json").read_text())["sample_rate"] == rate
    for fx in ("sd1", "fz"):  # the alignment found the bench's hidden latency, and never late
        truth = json.loads((tiny_repo / f"data/bench/{fx}.json").read_text())
        found = json.loads((tiny_repo / f"metrics/align/{fx}.json").read_text())
        # 6 s at 16 kHz is too little for the [-1, +0.25] window that tests/test_align.py asserts on
        # longer material at 44.1/48 kHz; the late side stays as strict.
        assert -1.5 <= found["latency_samples"] - truth["latency_samples"] <= 0.25
        assert truth["pedal"] == {"sd1": "sd1", "fz": "fuzz"}[fx]
    found = json.loads((tiny_repo / "metrics/align/mypedal.json").read_text())
    assert -1.0 <= found["latency_samples"] - 12 <= 0.25
    page = (tiny_repo / "plots/report.html").read_text()
    summary = (tiny_repo / "metrics/report.md").read_text()
    for fx in EFFECTS:
        assert f'id="effect-{fx}"' in page and f"| {fx} |" in summary
    assert page.count("<h3>Capture checks</h3>") == 3 and "48000 Hz" in page


def test_second_repro_does_nothing(tiny_repo: Path) -> None:
    status = run_dvc(["status", "--json"], tiny_repo, capture=True, check=True, timeout=900)
    assert json.loads(status.stdout or "{}") == {}


def test_metrics_and_plots_list_every_effect(tiny_repo: Path) -> None:
    out = run_dvc(["metrics", "show"], tiny_repo, capture=True, check=True, timeout=900).stdout
    plots = json.loads(run_dvc(["plots", "show", "--json"], tiny_repo, capture=True, check=True, timeout=900).stdout)
    assert not plots.get("errors")
    for fx in EFFECTS:
        assert f"metrics/{fx}.json" in out
        assert f"plots/{fx}/spectrograms.png" in plots["data"]
        assert f"metrics/train/{fx}/plots/metrics/eval/loss.tsv" in plots["data"]


def repro_error_lines(repo: Path, edit, target: str) -> list[str]:
    """`dvc repro target` after `edit(params)` changed the repo's params.yaml (restored afterwards):
    the run must fail; its stderr lines starting with 'error:'."""
    text = (repo / "params.yaml").read_text()
    p = yaml.safe_load(text)
    edit(p)
    (repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    try:
        proc = run_dvc(["repro", target], repo, capture=True, check=False, timeout=900)
    finally:
        (repo / "params.yaml").write_text(text)
    assert proc.returncode != 0, proc.stdout
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]


def test_an_effect_name_that_cannot_be_a_folder_is_one_error_line(tiny_repo: Path) -> None:
    def add_effect(p: dict) -> None:
        p["effects"]["my pedal"] = {"source": "bench", "pedal": "sd1"}

    errors = repro_error_lines(tiny_repo, add_effect, "record@my pedal")
    assert errors == ["error: params.yaml: effect name 'my pedal' must use only letters, digits, '_' and '-' "
                      "(it becomes a folder name and a DVC stage key)"]


def test_param_change_reruns_only_dependents(tiny_repo: Path) -> None:
    p = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    p["split"]["test_fraction"] = 0.25
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    try:
        out = run_dvc(["repro", "--dry"], tiny_repo, capture=True, check=True, timeout=900).stdout
        assert "split@sd1" in out and "evaluate@mypedal" in out
        assert "Running stage 'record@sd1'" not in out and "Running stage 'align@sd1'" not in out
    finally:
        p["split"]["test_fraction"] = 0.2
        (tiny_repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
