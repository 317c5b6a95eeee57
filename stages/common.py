"""Shared edge code for the stage scripts: reading params.yaml and turning errors into exit codes."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from drywet.errors import DrywetError

PARAMS_FILE = "params.yaml"


def load_params(path: str = PARAMS_FILE) -> dict[str, Any]:
    """The whole params file as a dict (stages pick the sections they declare in dvc.yaml)."""
    with open(path) as fh:
        return yaml.safe_load(fh)


def run(main: Callable[[], None]) -> None:
    """Run a stage body: a DrywetError becomes one line on stderr and exit status 2."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        main()
    except DrywetError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write a JSON file atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


@contextmanager
def staged_dir(final: str | os.PathLike):
    """Yield a temporary folder beside `final`; it replaces `final` only if the block succeeds,
    so a failing stage never leaves a half-written output folder behind."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
