"""The study's Ray engine (drywet/study/ray.py) end to end, on a two-CPU Ray cluster that the test
starts and stops itself: a bare git repository and a local folder as remotes, a grid of two tiny
points. Every point arrives on the remotes exactly once, even when one attempt's `dvc exp run` is
killed; running the grid again submits nothing; `aggregate --remote` pulls every experiment.

Ray and the CLI driving it run inside a network namespace that has only loopback (Ray registers the
machine's interface address otherwise), so no traffic leaves the machine. `make test-ray` runs it
(it installs requirements-ray.txt first); `make test` runs only the checks that need no cluster.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from drywet import study
from drywet.errors import ConfigError
from drywet.study import ray as study_ray
from tests.test_pipeline import TINY, make_copy

BIN = Path(sys.executable).parent
PORT = 6379  # free by construction: the namespace has nothing else listening
TINY_PRESET = 'PRESETS["tiny"] = Preset(("l1_u16_f32",), (1000, 2000), (1,), fixed=(("train.checkpoints", "[1]"),))'
NAMES = ["tiny-l1-u16-f32-1k-e1", "tiny-l1-u16-f32-2k-e1"]
# One bench effect of the pipeline test's tiny parameters: one to two minutes per point on 2 busy cores.
RAY_TINY = {**TINY, "effects": {"sd1": TINY["effects"]["sd1"]}}


def _skip_reason() -> str | None:
    if os.environ.get("DRYWET_TEST_RAY") != "1":
        return "the Ray cluster test runs with `make test-ray` (it installs requirements-ray.txt)"
    if importlib.util.find_spec("ray") is None:
        return "ray is not importable here: pip install -r requirements-ray.txt"
    for tool in ("unshare", "nsenter", "ip", "git"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not available (the test runs Ray in a loopback-only network namespace)"
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        return "cannot create a network namespace here (`unshare -n` needs root or user namespaces)"
    return None


needs_cluster = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


# ---------------------------------------------------------------------------------------------
# The engine's checks, without Ray (these run under `make test` too)


def test_queued_points_are_preset_points_once_each() -> None:
    name = study.experiment_name("small", study.grid(study.PRESETS["small"])[0])
    rows = [{"Experiment": None, "rev": "workspace", "State": None},
            {"Experiment": name, "rev": "abc", "State": "Queued"},
            {"Experiment": name, "rev": "def", "State": "Queued"},
            {"Experiment": "small-done", "rev": "123", "State": "Success"}]
    points = study_ray.queued_points(rows)
    assert [p.name for p in points] == [name]
    assert dict(points[0].overrides) == study.grid(study.PRESETS["small"])[0]
    with pytest.raises(ConfigError, match="my-try"):
        study_ray.queued_points([{"Experiment": "my-try", "rev": "x", "State": "Queued"}])


def test_costliest_point_first() -> None:
    points = sorted(study_ray.preset_points().values(), key=study_ray.training_cost, reverse=True)
    assert points[0].name == "study-l2-u32-f64-500k-e200"


def test_refuses_uncommitted_unpushed_work_and_an_uncommitted_dvc_remote(tmp_path: Path) -> None:
    bare, repo = tmp_path / "origin.git", tmp_path / "repo"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("[core]\n    remote = store\n['remote \"store\"']\n    url = /x\n")
    for cmd in (["git", "remote", "add", "origin", "../origin.git"], ["git", "add", "-A"],
                [*git, "commit", "-qm", "a"]):
        subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
    url = study_ray.remote_url(repo, "origin")
    assert url == str(bare.resolve())  # a relative path made absolute for the nodes
    with pytest.raises(ConfigError, match="'upstream' is not a git remote"):
        study_ray.remote_url(repo, "upstream")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    with pytest.raises(ConfigError, match=f"commit {sha[:7]} is not on the git remote 'origin'"):
        study_ray.check_pushed(repo, url, sha, "origin")
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=repo, check=True, capture_output=True)
    study_ray.check_pushed(repo, url, sha, "origin")
    study_ray.check_committed(repo)
    (repo / "new.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match=r"uncommitted changes \(1 path\(s\), e.g. new.py\)"):
        study_ray.check_committed(repo)
    assert study_ray.committed_dvc_remote(repo, None) == "store" == study_ray.committed_dvc_remote(repo, "store")
    with pytest.raises(ConfigError, match="DVC remote 'other' is not in the committed .dvc/config"):
        study_ray.committed_dvc_remote(repo, "other")
    assert study_ray.remote_experiments(url, sha) == set()


def test_a_failed_run_is_one_line(tmp_path: Path) -> None:
    log = tmp_path / "exp-run.log"
    log.write_text("Running stage 'record@sd1':\n> python -m stages.record\nRunning stage 'align@sd1':\n> python ...\n")
    assert study_ray._failure_detail(log) == " in stage 'align@sd1'"
    log.write_text("Running stage 'split@sd1':\nERROR: failed to reproduce 'split@sd1': boom\n")
    assert study_ray._failure_detail(log) == ": ERROR: failed to reproduce 'split@sd1': boom"


# ---------------------------------------------------------------------------------------------
# The cluster


@dataclass
class Cluster:
    ns: list[str]  # command prefix that enters the namespace
    env: dict[str, str]
    address: str
    workdir: Path  # DRYWET_RAY_WORKDIR of the cluster's workers
    start_seconds: float


def _netns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


@pytest.fixture
def cluster() -> Cluster:
    short = Path(tempfile.mkdtemp(prefix="dwray-"))  # Ray's socket paths must stay short
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep 1200"])
    ns = ["nsenter", f"--net=/proc/{holder.pid}/ns/net", "--"]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1",
               TF_CPP_MIN_LOG_LEVEL="2", RAY_USAGE_STATS_ENABLED="0", DRYWET_RAY_WORKDIR=str(short / "work"))
    env.pop("RAY_ADDRESS", None)
    ours = None
    try:
        for _ in range(100):
            up = subprocess.run([*ns, "ip", "-o", "addr", "show", "lo"], capture_output=True, text=True)
            if "127.0.0.1" in up.stdout:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the loopback interface of the test's network namespace did not come up")
        ours = _netns(holder.pid)
        assert ours and ours != _netns(os.getpid())
        t0 = time.monotonic()
        subprocess.run([*ns, str(BIN / "ray"), "start", "--head", "--num-cpus", "2", "--node-ip-address", "127.0.0.1",
                        "--port", str(PORT), "--temp-dir", str(short / "ray"), "--include-dashboard", "false",
                        "--disable-usage-stats", "--object-store-memory", "80000000"],
                       env=env, cwd=short, check=True, capture_output=True, timeout=180)
        yield Cluster(ns, env, f"127.0.0.1:{PORT}", short / "work", time.monotonic() - t0)
    finally:
        subprocess.run([*ns, str(BIN / "ray"), "stop", "--force"], env=env, capture_output=True, timeout=120)
        for entry in Path("/proc").iterdir():  # whatever is still in the namespace: by pid, never by name
            if entry.name.isdigit() and ours and _netns(int(entry.name)) == ours:
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        holder.kill()
        holder.wait(timeout=30)
        shutil.rmtree(short, ignore_errors=True)


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    print(f"$ {' '.join(cmd[-6:])}  [{proc.returncode}]\n{proc.stdout}{proc.stderr}")  # shown on failure
    return proc


def _remote_experiments(bare: Path) -> list[str]:
    """Every experiment name on the git remote, repeats included."""
    refs = subprocess.run(["git", "ls-remote", str(bare), "refs/exps/*"], capture_output=True, text=True,
                          check=True).stdout.split()
    return sorted(r.rsplit("/", 1)[-1] for r in refs if r.startswith("refs/exps/"))


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _kill_first_attempt(workdir: Path, deadline: float, killed: dict) -> None:
    """Wait for the first task's pid file and for its `dvc exp run` to start a stage, then kill it (-9)."""
    while time.monotonic() < deadline:
        for pid_file in sorted(workdir.glob("drywet-*/exp-run.pid")):
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                continue
            while time.monotonic() < deadline and pid_file.exists() and "Running stage" not in _text(
                    pid_file.with_name("exp-run.log")):
                time.sleep(0.2)
            time.sleep(2)  # mid-task: the stage is running
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed["name"] = pid_file.parent.name[len("drywet-"):].rsplit("-", 1)[0]
            return
        time.sleep(0.2)


@needs_cluster
def test_grid_on_ray_every_point_once(tmp_path: Path, cluster: Cluster) -> None:
    t_start = time.monotonic()
    repo = make_copy(tmp_path, RAY_TINY)
    grid = repo / "drywet" / "study" / "grid.py"  # the test's grid: a preset of two tiny points
    grid.write_text(grid.read_text() + f"\n\n{TINY_PRESET}\n")
    assert TINY_PRESET in grid.read_text()
    bare, store = tmp_path / "origin.git", tmp_path / "store"
    env = cluster.env
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for cmd in (["git", "init", "-q", "--bare", str(bare)], ["git", "remote", "add", "origin", str(bare)],
                [str(BIN / "dvc"), "remote", "add", "store", str(store)], ["git", "add", "-A"],
                [*git, "commit", "-qm", "tiny grid, remotes"], ["git", "push", "-q", "origin", "HEAD:main"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, timeout=120)
    study_cli = [*cluster.ns, str(BIN / "python"), "-m", "drywet.study"]
    run_cli = [*study_cli, "run", "--engine", "ray", "--address", cluster.address, "--git-remote", "origin",
               "--dvc-remote", "store", "--max-retries", "2"]
    assert _run([*study_cli, "queue", "--preset", "tiny"], repo, env, 300).returncode == 0

    # First run: one attempt's `dvc exp run` is killed mid-task; the point is retried in a new clone.
    killed: dict[str, str] = {}
    killer = threading.Thread(target=_kill_first_attempt, args=(cluster.workdir, time.monotonic() + 300, killed))
    killer.start()
    t0 = time.monotonic()
    first = _run(run_cli, repo, env, 480)
    run_seconds = time.monotonic() - t0
    killer.join()
    assert first.returncode == 0, first.stderr
    assert killed.get("name") in NAMES
    retried = f"retry {killed['name']}: attempt 1 failed: dvc exp run ended with signal 9 (SIGKILL) in stage"
    assert retried in first.stdout
    for name in NAMES:
        assert f"done  {name}: sd1 ESR " in first.stdout
    assert "2/2 points (2 done, 0 skipped, 0 failed)" in first.stdout
    assert _remote_experiments(bare) == NAMES  # each exactly once
    assert any(store.rglob("*")), "nothing reached the DVC remote"
    refs = subprocess.run(["git", "ls-remote", str(bare), "refs/exps/*"], capture_output=True, text=True).stdout

    # The same grid again: everything is on the remote, nothing is submitted.
    assert _run([*study_cli, "queue", "--preset", "tiny"], repo, env, 300).returncode == 0
    second = _run(run_cli, repo, env, 180)
    assert second.returncode == 0, second.stderr
    assert "0 to run, 2 already on origin" in second.stdout and "Ray:" not in second.stdout
    assert subprocess.run(["git", "ls-remote", str(bare), "refs/exps/*"], capture_output=True, text=True).stdout == refs

    # Anyone collects the results from the remote.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(bare), str(clone)], check=True, timeout=120)
    collected = _run([str(BIN / "python"), "-m", "drywet.study", "aggregate", "--remote", "origin"], clone, env, 300)
    assert collected.returncode == 0, collected.stderr
    table = pd.read_csv(clone / "metrics" / "study.csv")
    ours = table[table["experiment"].isin(NAMES)]  # beside the baseline's own row
    assert sorted(ours["experiment"]) == NAMES and (ours["effect"] == "sd1").all() and ours["esr"].notna().all()
    print(f"cluster start {cluster.start_seconds:.1f} s, first run {run_seconds:.0f} s, "
          f"test {time.monotonic() - t_start:.0f} s")
