"""The study's grid on a Ray cluster: one task per queued grid point. Each task clones the pushed
commit afresh, runs `dvc exp run -n NAME -S ...` there and publishes the experiment with
`dvc exp push` (git refs to the git remote, cached outputs to the DVC remote).

    python -m drywet.study queue --preset study
    python -m drywet.study run --engine ray --address auto --git-remote origin --dvc-remote store

A point whose experiment is already on the git remote is skipped, so running again after a failure
does only what is missing; a failed task is retried in a new clone (a killed `dvc` leaves its lock
behind in the old one); a point that fails every try is named with its error line at the end.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from drywet.config import load_raw
from drywet.dvcrun import dvc_env, dvc_executable, run_dvc
from drywet.errors import ConfigError, DrywetError
from drywet.pipeline.contracts import QualityMetrics
from drywet.study.grid import PRESETS, experiment_name, grid
from drywet.study.grid import training_cost as grid_training_cost

# On a node, the folder for the tasks' clones (default: the system's temporary folder); each attempt
# works in its own `drywet-<name>-*` folder there, with `exp-run.pid` naming its `dvc exp run`.
WORKDIR_ENV = "DRYWET_RAY_WORKDIR"
PID_FILE = "exp-run.pid"
EXPS_PREFIX = "refs/exps/"


@dataclass(frozen=True)
class Point:
    """One grid point: its experiment name and its `-S key=value` overrides."""

    name: str
    overrides: tuple[tuple[str, str], ...]


# ---------------------------------------------------------------------------------------------
# What to run


def preset_points() -> dict[str, Point]:
    """Every preset's grid points, by experiment name."""
    points = {}
    for preset_name, preset in PRESETS.items():
        for overrides in grid(preset):
            name = experiment_name(preset_name, overrides)
            points[name] = Point(name, tuple(overrides.items()))
    return points


def queued_points(rows: list[dict]) -> list[Point]:
    """The grid points waiting in the local DVC queue (`dvc.api.exp_show()` rows in state Queued),
    in queue order and once each; a queued experiment that no preset defines is an error."""
    names = list(dict.fromkeys(r["Experiment"] for r in rows if r.get("State") == "Queued" and r.get("Experiment")))
    known = preset_points()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"queued experiment(s) {', '.join(unknown)} are no preset's grid point "
                          "(python -m drywet.study presets); run them with the local queue (run without --engine) "
                          f"or remove them (dvc queue remove {' '.join(unknown)})")
    return [known[n] for n in names]


def training_cost(point: Point) -> float:
    """Relative cost of a point (multiply-adds per example x examples x epochs): submitting the
    costliest first keeps the longest point from starting last (on 4 machines, the full study's
    estimated wall time drops from about 11 h in queue order to the longest point's 8 h)."""
    return grid_training_cost(dict(point.overrides))


# ---------------------------------------------------------------------------------------------
# Git and DVC remotes (the driver's checks; `remote_experiments` runs in the tasks too)


def _git(repo: Path | None, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or [f"exit code {proc.returncode}"]
        raise ConfigError(f"git {' '.join(args)}: {lines[-1]}")
    return proc.stdout


def remote_url(repo: Path, remote: str) -> str:
    """The URL of a git remote, a local path made absolute (each node clones from it)."""
    try:
        url = _git(repo, "remote", "get-url", remote).strip()
    except ConfigError:
        raise ConfigError(f"'{remote}' is not a git remote of this repository (git remote -v lists them)") from None
    if "://" not in url and not re.match(r"^[\w.-]+@[\w.-]+:", url):  # a path, not scp-like user@host:path
        url = str((repo / url).resolve())
    return url


def check_committed(repo: Path) -> None:
    """Tasks clone the commit, so uncommitted work would silently not be part of the study."""
    changed = _git(repo, "status", "--porcelain").splitlines()
    if changed:
        raise ConfigError(f"uncommitted changes ({len(changed)} path(s), e.g. {changed[0][3:]}); every Ray task "
                          "clones the pushed commit: commit and push first")


def check_pushed(repo: Path, url: str, sha: str, remote: str) -> None:
    """The commit must be reachable from a branch or tag of the git remote for a clone to have it."""
    heads = {line.split()[0] for line in _git(repo, "ls-remote", "--heads", "--tags", url).splitlines() if line}
    if sha in heads:
        return
    for head in heads:
        known = subprocess.run(["git", "cat-file", "-e", f"{head}^{{commit}}"], cwd=repo, capture_output=True)
        if known.returncode == 0 and subprocess.run(["git", "merge-base", "--is-ancestor", sha, head],
                                                    cwd=repo, capture_output=True).returncode == 0:
            return
    raise ConfigError(f"commit {sha[:7]} is not on the git remote '{remote}'; push it first (git push {remote} HEAD)")


def committed_dvc_remote(repo: Path, name: str | None) -> str:
    """The DVC remote the tasks push to: `name`, else the default one; it must be in the committed
    .dvc/config, since a task's clone knows nothing else (credentials may stay in config.local)."""
    proc = subprocess.run(["git", "show", "HEAD:.dvc/config"], cwd=repo, capture_output=True, text=True)
    config = configparser.ConfigParser(interpolation=None, strict=False)
    config.read_string(proc.stdout if proc.returncode == 0 else "")
    remotes = [m.group(1) for s in config.sections() if (m := re.fullmatch(r"'?remote \"(.+)\"'?", s.strip()))]
    name = name or config.get("core", "remote", fallback=None)
    if not name:
        raise ConfigError("no DVC remote named: pass --dvc-remote NAME (or commit a default with dvc remote add -d)")
    if name not in remotes:
        raise ConfigError(f"DVC remote '{name}' is not in the committed .dvc/config (known: "
                          f"{', '.join(remotes) or 'none'}); dvc remote add {name} URL, then commit and push")
    return name


def remote_experiments(url: str, baseline: str) -> set[str]:
    """Names of the experiments of commit `baseline` on a git remote (refs/exps/<2>/<38>/<name>)."""
    proc = subprocess.run(["git", "ls-remote", url, f"{EXPS_PREFIX}*"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git ls-remote {url}: {(proc.stderr.strip().splitlines() or ['failed'])[-1]}")
    prefix = f"{EXPS_PREFIX}{baseline[:2]}/{baseline[2:]}/"
    return {ref[len(prefix):] for ref in (line.split("\t")[-1] for line in proc.stdout.splitlines())
            if ref.startswith(prefix)}


# ---------------------------------------------------------------------------------------------
# The task (runs on a Ray worker; standard library plus the node's own dvc and git)


def _failure_detail(log: Path) -> str:
    """': ' + DVC's last error line, else ' in stage X' (killed while running it), else its last line."""
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("ERROR", "error:"))]
    if errors:
        return f": {errors[-1][:300]}"
    stages = [ln for ln in lines if ln.startswith("Running stage ")]
    if stages:
        return f" in stage {stages[-1][len('Running stage '):].rstrip(':')}"
    return f": {(lines or ['no output'])[-1][:300]}"


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def run_point(url: str, baseline: str, name: str, overrides: tuple[tuple[str, str], ...], dvc_remote: str) -> dict:
    """One attempt at one grid point in a fresh clone; returns name, status (done or skipped),
    ESR per effect, seconds and node. Raises RuntimeError with one line on failure."""
    if name in remote_experiments(url, baseline):  # an earlier attempt published it after all
        return {"name": name, "status": "skipped"}
    workdir = Path(os.environ.get(WORKDIR_ENV) or tempfile.gettempdir())
    workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"drywet-{name}-", dir=workdir))
    env, dvc = dvc_env(), dvc_executable()  # stages run `python`: this node's environment
    clone, log = scratch / "repo", scratch / "exp-run.log"
    start = time.monotonic()
    try:
        for cmd, cwd in ((["git", "clone", "--quiet", "--no-checkout", url, str(clone)], scratch),
                         (["git", "checkout", "--quiet", "--detach", baseline], clone)):
            proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd[:2])} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        for key, value in (("user.name", "drywet study"), ("user.email", "drywet-study@localhost")):
            if subprocess.run(["git", "config", key], cwd=clone, capture_output=True).returncode != 0:
                subprocess.run(["git", "config", key, value], cwd=clone, check=True)  # the experiment's commit
        cmd = [dvc, "exp", "run", "-n", name]
        for key, value in overrides:
            cmd += ["-S", f"{key}={value}"]
        with open(log, "wb") as out:
            # Its own session, so that the stage it runs goes too when it is killed.
            proc = subprocess.Popen(cmd, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            (scratch / PID_FILE).write_text(f"{proc.pid}\n")
            try:
                code = proc.wait()
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if code != 0:
            raise RuntimeError(f"dvc exp run ended with {_exit_text(code)}{_failure_detail(log)}")
        seconds = time.monotonic() - start
        push = run_dvc(["exp", "push", "-r", dvc_remote, "origin", name], clone, capture=True)
        if push.returncode != 0:
            lines = (push.stderr + push.stdout).strip().splitlines() or [_exit_text(push.returncode)]
            raise RuntimeError(f"dvc exp push failed: {lines[-1][:300]}")
        effects = load_raw(clone / "params.yaml").get("effects") or {}
        esr = {}
        for fx in effects:
            path = clone / "metrics" / f"{fx}.json"
            if path.is_file():
                esr[fx] = QualityMetrics.load(path).esr
        return {"name": name, "status": "done", "esr": esr, "seconds": seconds, "node": os.uname().nodename}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The driver


@dataclass
class Progress:
    """A bar over the grid's points plus one line per finished point (the bar redraws in place on a
    terminal and is printed as a line after each event otherwise)."""

    total: int
    out: TextIO = sys.stdout
    counts: dict[str, int] = field(default_factory=lambda: {"done": 0, "skipped": 0, "failed": 0})
    start: float = field(default_factory=time.monotonic)

    def bar(self) -> str:
        finished = sum(self.counts.values())
        width = 30
        filled = int(width * finished / max(self.total, 1))
        tally = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        return (f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{self.total} points ({tally}) "
                f"{_clock(time.monotonic() - self.start)}")

    def line(self, text: str, count: str | None = None) -> None:
        if count:
            self.counts[count] += 1
        if self.out.isatty():
            self.out.write(f"\r\033[K{text}\n{self.bar()}")
        else:
            self.out.write(f"{text}\n{self.bar()}\n")
        self.out.flush()

    def close(self) -> None:
        if self.out.isatty():
            self.out.write("\n")
            self.out.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}h{m % 60:02d}m{s:02d}s" if m >= 60 else f"{m}m{s:02d}s"


def _error_line(exc: BaseException) -> str:
    """One line from a Ray error: the task's own message, else the first line of Ray's."""
    cause = getattr(exc, "cause", None)
    text = str(cause if cause is not None else exc).strip()
    return (text.splitlines() or [type(exc).__name__])[-1 if cause is not None else 0][:300]


def _esr_text(esr: dict) -> str:
    return ", ".join(f"{fx} ESR {v:.4g}" if isinstance(v, (int, float)) else f"{fx} ESR ?" for fx, v in esr.items())


def _dequeue(repo: Path, names: list[str], out: TextIO) -> None:
    """Take published points out of the local DVC queue, so that a local `run` would not redo them."""
    if names:
        proc = run_dvc(["queue", "remove", "-q", *names], repo, capture=True)
        if proc.returncode != 0:
            out.write(f"note: could not remove {', '.join(names)} from the local queue (dvc queue remove)\n")


def run_on_ray(address: str | None, git_remote: str, dvc_remote: str | None, max_retries: int,
               repo: Path | None = None, out: TextIO = sys.stdout) -> dict[str, str]:
    """Run every queued grid point on the Ray cluster at `address`; returns each point's outcome
    (done, skipped, or its error line). Raises DrywetError naming the points that failed every try."""
    repo = (repo or Path.cwd()).resolve()
    if max_retries < 0:
        raise ConfigError(f"--max-retries must be 0 or more, not {max_retries}")
    try:
        import ray
    except ImportError:
        raise ConfigError("Ray is not installed in this environment: pip install -r requirements-ray.txt") from None
    check_committed(repo)
    url = remote_url(repo, git_remote)
    sha = _git(repo, "rev-parse", "HEAD").strip()
    check_pushed(repo, url, sha, git_remote)
    dvc_remote = committed_dvc_remote(repo, dvc_remote)

    import dvc.api

    points = queued_points(dvc.api.exp_show(repo=str(repo)))
    if not points:
        out.write("nothing queued: python -m drywet.study queue --preset NAME first\n")
        return {}
    try:
        published = remote_experiments(url, sha)
    except RuntimeError as exc:
        raise ConfigError(str(exc)) from None
    todo = sorted((p for p in points if p.name not in published), key=training_cost, reverse=True)
    out.write(f"{len(points)} queued point(s) of commit {sha[:7]}: {len(todo)} to run, "
              f"{len(points) - len(todo)} already on {git_remote}\n")
    outcome: dict[str, str] = {}
    progress = Progress(len(points), out)
    for p in points:
        if p.name in published:
            outcome[p.name] = "skipped"
            progress.line(f"skip  {p.name}: already on {git_remote}", "skipped")
    try:
        if todo:
            _run_tasks(ray, address, todo, url, sha, dvc_remote, max_retries, progress, outcome)
    finally:
        progress.close()
        _dequeue(repo, [n for n, o in outcome.items() if o in ("done", "skipped")], out)
    failed = {n: o for n, o in outcome.items() if o not in ("done", "skipped")}
    out.write(f"{len(points)} point(s): {progress.counts['done']} done, {progress.counts['skipped']} skipped, "
              f"{len(failed)} failed in {_clock(time.monotonic() - progress.start)}\n")
    out.flush()
    if failed:
        raise DrywetError(f"{len(failed)} of {len(points)} point(s) failed every try: {', '.join(failed)} "
                          "(errors above); run again to do only what is missing")
    return outcome


def _run_tasks(ray, address: str | None, todo: list[Point], url: str, sha: str, dvc_remote: str,
               max_retries: int, progress: Progress, outcome: dict[str, str]) -> None:
    from ray import cloudpickle

    # The task travels by value: a node needs Ray, git and the pipeline's environment, not this code.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    t0 = time.monotonic()
    pending: dict = {}
    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
        progress.out.write(f"Ray: {nodes} node(s), {cpus} CPU(s) (one point per CPU at a time), "
                           f"connected in {time.monotonic() - t0:.1f} s\n")
        # Ray's own retries stay off: each retry is a new task (a new clone), and its failure is shown.
        task = ray.remote(num_cpus=1, max_retries=0)(run_point)
        pending = {task.remote(url, sha, p.name, p.overrides, dvc_remote): (p, 1) for p in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            point, attempt = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                error = _error_line(exc)
                if attempt <= max_retries:
                    progress.line(f"retry {point.name}: attempt {attempt} failed: {error}")
                    pending[task.remote(url, sha, point.name, point.overrides, dvc_remote)] = (point, attempt + 1)
                else:
                    outcome[point.name] = error
                    progress.line(f"FAIL  {point.name} after {attempt} attempt(s): {error}", "failed")
                continue
            outcome[point.name] = result["status"]
            if result["status"] == "skipped":
                progress.line(f"skip  {point.name}: already on the git remote", "skipped")
            else:
                progress.line(f"done  {point.name}: {_esr_text(result['esr'])} ({result['seconds']:.0f} s on "
                              f"{result['node']}, attempt {attempt})", "done")
    finally:
        for ref in pending:  # interrupted: stop the attempts still running
            ray.cancel(ref)
        ray.shutdown()
