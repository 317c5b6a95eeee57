"""The stages' edge: atomic output folders, and turning errors (and termination signals) into a
one-line message and a non-zero exit."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from drywet.errors import run_main
from drywet.fileio import folder_into_place, umask_mode


def run(main: Callable[[], None]) -> None:
    """Run a stage body: a DrywetError becomes one `error:` line on stderr and exit status 2;
    SIGTERM/SIGINT unwind like an exception, so `staged_dir` removes its temporary folder."""
    sys.exit(run_main(main))


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_staged(final: str | os.PathLike) -> list[Path]:
    """Remove the temporary folders `staged_dir` left beside `final` in runs that were killed with
    SIGKILL (which no handler sees): `.<name>.<pid>.<random>` of a process that is gone, and the
    `.<name>.<random>` of older versions. Returns the folders removed."""
    final = Path(final)
    ours = re.compile(rf"^\.{re.escape(final.name)}\.(?:(\d+)\.[a-z0-9_]+|[a-z0-9_]{{8}})$")
    removed = []
    for path in final.parent.glob(f".{final.name}.*"):
        m = ours.match(path.name)
        if m is None or not path.is_dir() or path.is_symlink():
            continue
        if m.group(1) is not None and int(m.group(1)) != os.getpid() and _alive(int(m.group(1))):
            continue  # another live run is writing it
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


@contextmanager
def staged_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; it replaces `final` only if the block succeeds,
    so a failing (or killed) stage never leaves a half-written output folder behind. The folder's
    name carries the process id, so a later run removes what a SIGKILLed one left."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staged(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", dir=final.parent))
    with folder_into_place(tmp, final):
        yield tmp
        os.chmod(tmp, umask_mode(0o777))  # mkdtemp makes it 0700; outputs are for everyone to read
