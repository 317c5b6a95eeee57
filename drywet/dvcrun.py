"""DVC's command line run from Python, the one way drywet does it (the capture, the study, the
tests): `run_dvc`. The library's stages never call it; it drives a pipeline from outside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from drywet.errors import DrywetError


class DvcError(DrywetError):
    """A `dvc` command ended with a non-zero exit status (the message holds its captured output)."""


def dvc_executable() -> str:
    """The `dvc` of this Python's environment (the one the stages must run in), else the first on PATH."""
    beside = Path(sys.executable).with_name("dvc")
    return str(beside) if beside.is_file() else shutil.which("dvc") or "dvc"


def dvc_env() -> dict[str, str]:
    """The environment for `dvc`: this Python's folder first on PATH (the stages run `python`), output
    unbuffered (so a stage's lines arrive as they are printed), TensorFlow's start-up chatter quiet."""
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, PYTHONUNBUFFERED="1", PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_dvc(args: Sequence[str], cwd: str | os.PathLike = ".", *, capture: bool = False, log: Path | None = None,
            check: bool = False, echo: bool = False, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run `dvc ARGS` in `cwd`. Its output: inherited (default); with `capture`, returned as text in
    `.stdout` / `.stderr`; with `log`, every line appended to that file and all but DVC's WARNING lines
    (internal, such as missing hash info for a new output) relayed to standard output. `echo` prints
    `+ dvc ARGS` first; `check` raises DvcError on a non-zero exit status."""
    args = [str(a) for a in args]
    cmd = [dvc_executable(), *args]
    if echo:
        print("+ dvc " + " ".join(args), flush=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as out, subprocess.Popen(
                cmd, cwd=cwd, env=dvc_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                errors="replace") as proc:
            out.write(f"$ dvc {' '.join(args)}\n")
            relay(proc.stdout, out, sys.stdout)
            proc = subprocess.CompletedProcess(cmd, proc.wait())
    else:
        proc = subprocess.run(cmd, cwd=cwd, env=dvc_env(), capture_output=capture, text=True, timeout=timeout,
                              check=False)
    if check and proc.returncode != 0:
        output = f"\n{proc.stdout}\n{proc.stderr}" if capture else ""
        raise DvcError(f"dvc {' '.join(args)} failed with exit code {proc.returncode}{output}")
    return proc


def relay(lines: Iterable[str], log: TextIO, terminal: TextIO) -> int:
    """Copy every line to `log` and all but DVC's WARNING lines to `terminal`; returns how many were
    held back."""
    held = 0
    for line in lines:
        log.write(line)
        if line.startswith("WARNING:"):
            held += 1
            continue
        terminal.write(line)
        terminal.flush()
    return held
