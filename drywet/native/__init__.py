"""drywet's C code (drywet.lstm's training kernel `cpu.c` and streaming loop `stream_kernel.c`,
drywet.wavenet's `wavenet_kernel.c`), compiled once per source and machine with the system's C
compiler (`cc -O3 -march=native`, then plain `-O3` if that fails) into `~/.cache/drywet` (or
`$DRYWET_CACHE`), and loaded with ctypes. A later process on the same machine loads the cached
library in milliseconds. `$CC` picks the compiler. The C files
share this folder's headers (`vec.h`: the vector helpers and both tanh approximations), which are on
the include path and part of every library's cache key."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

FLAG_SETS = (("-O3", "-march=native"), ("-O3",))
INCLUDE = Path(__file__).parent  # vec.h


def sources(source: Path) -> list[Path]:
    """`source` and the shared headers it is compiled with: the files a library's bytes depend on."""
    return [source, *sorted(INCLUDE.glob("*.h"))]


def cache_dir() -> Path:
    """Where compiled libraries are kept."""
    env = os.environ.get("DRYWET_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "drywet"


def compile_library(source: Path) -> ctypes.CDLL:
    """`source` compiled (or read from the cache) and loaded; OSError with the compiler's last line
    when no flag set compiles it, or when there is no compiler."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise OSError("no C compiler (cc, gcc or clang) on PATH")
    src = b"".join(path.read_bytes() for path in sources(source))
    last = ""
    for flags in FLAG_SETS:
        tag = hashlib.sha256(src + " ".join([cc, *flags, sys.platform]).encode()).hexdigest()[:16]
        lib = cache_dir() / f"{source.stem}-{tag}.so"
        if not lib.exists():
            lib.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".so", dir=lib.parent)
            os.close(fd)
            run = subprocess.run([cc, *flags, "-std=gnu11", "-pthread", "-fPIC", "-shared", f"-I{INCLUDE}", "-o", tmp,
                                  str(source)],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                os.unlink(tmp)
                last = (run.stderr.strip().splitlines() or ["failed"])[-1]
                continue
            os.replace(tmp, lib)  # atomic: concurrent processes never load a half-written file
        return ctypes.CDLL(str(lib))
    raise OSError(f"{cc} could not compile {source.name}: {last}")


class LazyLibrary:
    """A C file compiled (or read from the cache) and loaded on first use, once per process and
    thread-safely, its functions' ctypes signatures set by `declare`; `get()` is None when it cannot
    be compiled, and `error` says why."""

    def __init__(self, source: Path, declare: Callable[[ctypes.CDLL], None]):
        self.source, self._declare = source, declare
        self._lib: ctypes.CDLL | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def get(self) -> ctypes.CDLL | None:
        with self._lock:
            if self._lib is None and self.error is None:
                try:
                    lib = compile_library(self.source)
                except OSError as e:
                    self.error = str(e)
                else:
                    self._declare(lib)
                    self._lib = lib
        return self._lib

    def forget(self, error: str | None = None) -> None:
        """Drop the loaded library (tests: as if not yet compiled, or as if it failed with `error`)."""
        with self._lock:
            self._lib, self.error = None, error


def wanted_loop(loops: tuple[str, ...] = ("c", "numba")) -> str:
    """The streaming loop $DRYWET_STREAM_LOOP asks for ("c" unless set); ConfigError for another name."""
    from drywet.errors import ConfigError

    wanted = os.environ.get("DRYWET_STREAM_LOOP", "c").strip().lower()
    if wanted not in loops:
        raise ConfigError(f"DRYWET_STREAM_LOOP must be one of {', '.join(loops)}, got {wanted!r}")
    return wanted
