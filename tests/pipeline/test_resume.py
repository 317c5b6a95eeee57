"""Resume: a training stage killed by its pid (SIGTERM, then SIGKILL) after some epochs and run again
continues from its last completed epoch and ends with the model an uninterrupted run gives (weights
and optimizer state to 1e-6), the same log, checkpoints and curves; no partial output folder and no
resume state is left. The sequence kind's state (best epoch and its weights, patience, the cosine
schedule's step) is checked in-process, killed after an exact epoch. Tiny data throughout.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from drywet.audio import write_wav
from drywet.config import FrameParams, TrainSequenceParams
from drywet.kinds import Audio, framed, sequence
from drywet.models import get_structure
from drywet.pipeline.contracts import IndexInfo, SplitInfo

ROOT = Path(__file__).resolve().parents[2]
SR = 16000
EPOCHS = 8
PARAMS = {
    "model": {"kind": "framed", "structure": "l1_u16_f32", "oversample": 1, "skip": False},
    "train": {"epochs": EPOCHS, "batch_size": 64, "learning_rate": 0.002, "loss": "mse", "seed": 3,
              "checkpoints": [2, 5, 8]},
}
# keep-best, patience and the cosine schedule all carry state across the kill
SEQUENCE = TrainSequenceParams(epochs=EPOCHS, patience=3, batch_size=8, segment=384, warmup=64, learning_rate=0.02,
                               schedule="cosine", loss="esr", seed=2, checkpoints=(2, 4, 8))
# (signal, epochs after the previous state when it is sent). Every stage run pays seconds of imports,
# so the subprocess test runs the default kind; the sequence kind's state is checked in-process below.
PLAN = [(signal.SIGTERM, 2), (signal.SIGKILL, 2)]
CMD = [sys.executable, "-m", "stages.train", "--effect", "sd1", "--split", "data/split/sd1", "--frames",
       "data/frames/sd1", "--out", "models/sd1", "--live", "metrics/train/sd1"]


def signals(seconds: float, rng) -> tuple[np.ndarray, np.ndarray]:
    dry = (0.3 * rng.standard_normal(int(seconds * SR))).astype(np.float32)
    return dry, np.tanh(4 * dry).astype(np.float32)


def make_repo(folder: Path, dvc: bool = True) -> Path:
    """params.yaml (framed kind), a split folder and the frame stage's index; `.dvc/` makes it a DVC
    repository, where the stage keeps its resume state."""
    folder.mkdir(parents=True)
    if dvc:
        (folder / ".dvc").mkdir()
    (folder / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    rng = np.random.default_rng(0)
    split = folder / "data" / "split" / "sd1"
    split.mkdir(parents=True)
    parts = {"train": signals(1.5, rng), "val": signals(0.25, rng)}
    for part, (dry, wet) in parts.items():
        write_wav(split / f"{part}_dry.wav", dry, SR)
        write_wav(split / f"{part}_wet.wav", wet, SR)
    n_train, n_val = len(parts["train"][0]), len(parts["val"][0])
    SplitInfo(sample_rate=SR, highpass_hz=0.0, train_start=0, train_stop=n_train, val_start=n_train,
              val_stop=n_train + n_val, test_start=n_train + n_val, test_stop=n_train + n_val).save(split)
    index = framed.make_index(len(parts["train"][0]), len(parts["val"][0]), get_structure("l1_u16_f32"),
                              FrameParams(count=1200, val_count=300, seed=1))
    frames = folder / "data" / "frames" / "sd1"
    frames.mkdir(parents=True)
    np.savez(frames / "index.npz", train=index.train, val=index.val, length=index.length)
    IndexInfo(kind="framed", oversample=1, structure="l1_u16_f32", length=index.length,
              train_examples=int(index.train.shape[-1]), val_examples=len(index.val),
              supervised_samples=int(index.supervised)).save(frames)
    return folder


def start(repo: Path, name: str) -> subprocess.Popen:
    """The stage as DVC runs it, its output in `<name>.out`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    with open(repo / f"{name}.out", "w") as out:
        return subprocess.Popen(CMD, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)


def saved_epoch(repo: Path) -> int:
    """The epoch of the newest complete resume state (0: none)."""
    found = [int(p.name[6:]) for p in (repo / ".dvc" / "tmp" / "drywet-resume").glob("*/epoch-*")]
    return max(found, default=0)


def kill_after(repo: Path, proc: subprocess.Popen, epoch: int, sig: int, timeout: float = 120) -> int:
    """Send `sig` to `proc` by its pid once its resume state reaches `epoch`; its exit status."""
    t0 = time.monotonic()
    while saved_epoch(repo) < epoch:
        assert proc.poll() is None, f"the training ended before epoch {epoch}"
        assert time.monotonic() - t0 < timeout, "no progress"
        time.sleep(0.02)
    os.kill(proc.pid, sig)
    return proc.wait(timeout=60)


def staged_leftovers(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / "models").glob(".sd1.*"))


def keras_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every variable a `.keras` file holds, the optimizer's (step count, moments) included."""
    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5"))) as f:
        out = {}
        f.visititems(lambda name, obj: out.setdefault(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def outputs(repo: Path) -> dict:
    model = repo / "models" / "sd1"
    return {"arrays": {p.relative_to(model).as_posix(): keras_arrays(p) for p in sorted(model.rglob("*.keras"))},
            "bytes": {p.relative_to(model).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
                      for p in sorted(model.rglob("*")) if p.is_file()},
            "log": (model / "train.log").read_text(), "meta": (model / "model.json").read_text(),
            "curves": {p.relative_to(repo).as_posix(): p.read_text()
                       for p in sorted((repo / "metrics" / "train" / "sd1" / "plots").rglob("*.tsv"))}}


@pytest.mark.slow
def test_killed_training_resumes_to_the_uninterrupted_model(tmp_path, monkeypatch):
    # The uninterrupted run, in this process (a subprocess more costs seconds of imports), outside a
    # DVC repository: no resume state at all.
    ref = make_repo(tmp_path / "ref", dvc=False)
    with monkeypatch.context() as m:
        m.chdir(ref)
        m.setattr(sys, "argv", CMD[2:])
        from stages import train as stage

        stage.main()
    expected = outputs(ref)

    repo = make_repo(tmp_path / "run")
    done = 0
    for i, (sig, epochs) in enumerate(PLAN):
        proc = start(repo, f"run{i}")
        assert kill_after(repo, proc, done + epochs, sig) == (-sig if sig == signal.SIGKILL else 128 + sig)
        if done:
            assert f"resuming sd1 after epoch {done} of {EPOCHS}" in (repo / f"run{i}.out").read_text()
        done, before = saved_epoch(repo), done
        assert before + epochs <= done < EPOCHS
        assert not (repo / "models" / "sd1").exists()
        # SIGTERM unwinds like an exception and removes the staged folder; after SIGKILL it stays
        assert len(staged_leftovers(repo)) == (sig == signal.SIGKILL)

    final = subprocess.run(CMD, cwd=repo, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2"))
    assert final.returncode == 0, final.stdout + final.stderr
    assert f"resuming sd1 after epoch {done} of {EPOCHS} on CPU" in final.stdout
    assert "trained l1_u16_f32 (framed) on CPU for 8 epochs" in final.stdout
    assert staged_leftovers(repo) == []  # the SIGKILLed run's folder is gone
    assert not (repo / ".dvc" / "tmp" / "drywet-resume").exists()  # the state goes when the stage succeeds

    got = outputs(repo)
    assert got["log"] == expected["log"] and got["meta"] == expected["meta"]
    assert got["curves"] == expected["curves"]  # DVCLive continued its step count
    assert_same_arrays(got["arrays"], expected["arrays"])
    assert got["bytes"] == expected["bytes"]  # on one machine even byte-identical: DVC sees the same model


def assert_same_arrays(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for name, arrays in expected.items():
        assert got[name].keys() == arrays.keys()
        for var, value in arrays.items():
            np.testing.assert_allclose(got[name][var], value, rtol=0, atol=1e-6, err_msg=f"{name} {var}")


def test_sequence_training_resumes_exactly(tmp_path):
    """Killed right after epoch 4 (past its best epoch), resumed, killed again right after the epoch
    where patience stopped it (before the stage finished), resumed: the last run trains no epoch and
    ends with the uninterrupted run's weights, best epoch, epoch count, log and checkpoints (those
    after the first kill hold the weights and optimizer state trained after a resume)."""
    from drywet import train

    class KilledAfter(train.Resume):
        """Raises, as a signal would, once the state after epoch `kill_at` is saved."""

        kill_at = 0

        def save(self, epoch, *args, **kw):
            super().save(epoch, *args, **kw)
            if epoch == self.kill_at:
                raise KeyboardInterrupt

    cfg = dataclasses.replace(SEQUENCE, checkpoints=(2, 4, 5, 6, 7))
    s = get_structure("l1_u16_f32")
    rng = np.random.default_rng(0)
    train_dry, train_wet = signals(0.75, rng)
    val_dry, val_wet = signals(0.25, rng)
    # A validation target between the dry signal and the training target: the model passes it, then
    # moves away, so the best epoch is early and patience stops the training.
    data = Audio(train_dry, train_wet, val_dry, val_dry + 0.7 * (val_wet - val_dry))
    index = sequence.make_index(len(train_dry), len(val_dry), s, cfg)

    def run(out: Path, resume=None):
        out.mkdir()  # a fresh output folder each run, as staged_dir gives
        if resume is not None:
            resume.attach(out)
        start_epoch = resume.start_epoch if resume is not None else 0
        train_ds, val_ds, steps = sequence.datasets(data, index, cfg, start_epoch=start_epoch)
        return train.fit(s, "sequence", cfg, train_ds, val_ds, steps_per_epoch=steps, skip=True, verbose=0,
                         checkpoint_dir=str(out / "checkpoints"), log_path=str(out / "train.log"), resume=resume)

    ref = run(tmp_path / "ref")
    assert ref.best_epoch < 4 < ref.epochs_run < cfg.epochs  # the case meant (here: best 3, stopped after 6)
    root = tmp_path / "state"
    for i, kill_at in enumerate((4, ref.epochs_run)):
        resume = KilledAfter.open(root, "k")
        assert resume.start_epoch == (0, 4)[i]
        resume.kill_at = kill_at
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path / f"killed{i}", resume)
        resume.close()
    resume = train.Resume.open(root, "k")
    assert resume.start_epoch == ref.epochs_run and resume.state.stopped
    got = run(tmp_path / "last", resume)
    resume.clear()
    assert not root.exists()
    assert (got.epochs_run, got.best_epoch) == (ref.epochs_run, ref.best_epoch)
    assert (tmp_path / "last" / "train.log").read_text() == (tmp_path / "ref" / "train.log").read_text()
    for a, b in zip(got.model.get_weights(), ref.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert_same_arrays({p.name: keras_arrays(p) for p in sorted((tmp_path / "last" / "checkpoints").iterdir())},
                       {p.name: keras_arrays(p) for p in sorted((tmp_path / "ref" / "checkpoints").iterdir())})


def test_a_later_run_removes_only_the_staged_folders_of_killed_runs(tmp_path):
    from drywet.pipeline.outputs import remove_stale_staged, staged_dir

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = {f".sd1.{dead.pid}.k2j4_x9a": False,  # a SIGKILLed run's: removed
             ".sd1.a1b2c3d4": False,  # one from before the pid was in the name: removed
             f".sd1.{os.getppid()}.q8w7e6r5": True,  # a live process is writing it: kept
             f".sd1.old.{dead.pid}.k2j4_x9a": True}  # another output's (sd1.old): kept
    for name in names:
        (tmp_path / name).mkdir()
    (tmp_path / ".sd1.json.x1y2z3.json").write_text("{}")  # an atomic write's temp file: kept
    with staged_dir(tmp_path / "sd1") as tmp:
        assert tmp.name.startswith(f".sd1.{os.getpid()}.")
        (tmp / "a").write_text("a")
    assert {name for name, kept in names.items() if kept} | {".sd1.json.x1y2z3.json", "sd1"} == \
        {p.name for p in tmp_path.iterdir()}
    assert remove_stale_staged(tmp_path / "sd1") == []
