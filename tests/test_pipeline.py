"""End to end: a tiny `dvc repro` of the whole pipeline in a temporary copy of the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "bench": {"duration_s": 6.0, "sample_rate": 16000},
    "frame": {"count": 1500, "val_count": 500},
    "train": {"epochs": 2, "checkpoints": [1, 2], "batch_size": 128, "segment": 512, "warmup": 64},
    "predict": {"checkpoint_excerpt_s": 0.5},
    "evaluate": {"hf_cutoff_hz": 6000.0, "excerpt_s": 0.5, "rtf_seconds": 0.5},
}


def _deep_update(d: dict, u: dict) -> None:
    for k, v in u.items():
        if isinstance(v, dict):
            _deep_update(d.setdefault(k, {}), v)
        else:
            d[k] = v


def _dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([str(Path(bindir) / "dvc"), *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


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
    _deep_update(params, updates)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny"], cwd=repo,
                   check=True)
    return repo


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory) -> Path:
    repo = make_copy(tmp_path_factory.mktemp("e2e"), TINY)
    _dvc(repo, "repro")
    return repo


def test_repro_writes_every_output(tiny_repo: Path) -> None:
    for fx in ("sd1", "b65"):
        m = json.loads((tiny_repo / f"metrics/{fx}.json").read_text())
        for key in ("mae", "r2", "esr", "esr_preemph", "stft_distance", "hf_error_db", "params",
                    "macs_per_sample", "rtf", "rtf_1thread"):
            assert np.isfinite(m[key]), key
        assert m["esr"] < 1.5  # two epochs: far from good, but a real fit of the right signal
        pred, sr = sf.read(tiny_repo / f"data/predictions/{fx}/pred.wav")
        target, _ = sf.read(tiny_repo / f"data/predictions/{fx}/target.wav")
        assert sr == 16000 and len(pred) == len(target) > 0
        for png in ("spectrograms", "error_spectrum", "waveforms", "checkpoints"):
            assert (tiny_repo / f"plots/{fx}/{png}.png").stat().st_size > 1000
        assert (tiny_repo / f"models/{fx}/checkpoints/epoch_002.keras").is_file()
        # The alignment found the bench's hidden latency.
        truth = json.loads((tiny_repo / f"data/bench/{fx}.json").read_text())
        found = json.loads((tiny_repo / f"metrics/align/{fx}.json").read_text())
        assert abs(found["latency_samples"] - truth["latency_samples"]) <= 1.0


def test_second_repro_does_nothing(tiny_repo: Path) -> None:
    status = _dvc(tiny_repo, "status", "--json")
    assert json.loads(status.stdout or "{}") == {}


def test_metrics_show_lists_both_effects(tiny_repo: Path) -> None:
    out = _dvc(tiny_repo, "metrics", "show").stdout
    assert "metrics/sd1.json" in out and "metrics/b65.json" in out


def test_param_change_reruns_only_dependents(tiny_repo: Path) -> None:
    p = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    p["split"]["test_fraction"] = 0.25
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    try:
        out = _dvc(tiny_repo, "repro", "--dry").stdout
        assert "split@sd1" in out and "evaluate@b65" in out
        assert "Running stage 'record@sd1'" not in out and "Running stage 'align@sd1'" not in out
    finally:
        p["split"]["test_fraction"] = 0.2
        (tiny_repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
