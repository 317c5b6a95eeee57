"""Atomic, byte-stable file writes: a temp file beside the target, renamed into place only on
success, so a failed or killed stage never leaves a half-written file that DVC would cache as good.
JSON is written with sorted keys so the same data always gives the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], suffix: str = "") -> None:
    """Call `write(tmp_path)` on a temp file beside `path`, then rename it to `path`.

    The temp file is removed when `write` fails (any exception, KeyboardInterrupt included). The
    file gets the usual mode from the umask, not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix or path.suffix, prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, umask_mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def umask_mode(mode: int) -> int:
    """`mode` restricted by the process umask: what a plain open() or mkdir() would give."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def json_text(data: Any) -> str:
    """Canonical JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write `data` as canonical JSON (sorted keys), atomically."""

    def write(tmp: str) -> None:
        Path(tmp).write_text(json_text(data))

    atomic_write(path, write, ".json")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write a binary file atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


@contextmanager
def folder_into_place(tmp: Path, final: Path) -> Iterator[Path]:
    """The block fills the folder `tmp`; then `tmp` replaces `final` (an older `final` goes). Any
    exception or termination signal in the block removes `tmp` and leaves `final` as it was."""
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_json_object(path: str | os.PathLike) -> dict:
    """A JSON file holding an object; InputError (one line naming the file) when it is not one."""
    from drywet.errors import InputError

    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object")
    return data
