"""Shared edge code for the stage scripts: atomic output folders and turning errors (and
termination signals) into a one-line message and a non-zero exit."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from drywet.errors import run_main
from drywet.fileio import umask_mode, write_json  # noqa: F401 - stages import write_json from here
from drywet.params import load_raw as load_params  # noqa: F401 - the raw dict, for untyped sections


def run(main: Callable[[], None]) -> None:
    """Run a stage body: a DrywetError becomes one `error:` line on stderr and exit status 2;
    SIGTERM/SIGINT unwind like an exception, so `staged_dir` removes its temporary folder."""
    sys.exit(run_main(main))


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


@contextmanager
def staged_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; it replaces `final` only if the block succeeds,
    so a failing (or killed) stage never leaves a half-written output folder behind."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, umask_mode(0o777))  # mkdtemp makes it 0700; outputs are for everyone to read
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
