"""drywet's C code (the training kernel `cpu_lstm.c`, the streaming loop `stream_kernel.c`), compiled
once per source and machine with the system's C compiler (`cc -O3 -march=native`, then plain `-O3`
if that fails) into `~/.cache/drywet` (or `$DRYWET_CACHE`), and loaded with ctypes. A later process
on the same machine loads the cached library in milliseconds. `$CC` picks the compiler."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAG_SETS = (("-O3", "-march=native"), ("-O3",))


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
    src = source.read_bytes()
    last = ""
    for flags in FLAG_SETS:
        tag = hashlib.sha256(src + " ".join([cc, *flags, sys.platform]).encode()).hexdigest()[:16]
        lib = cache_dir() / f"{source.stem}-{tag}.so"
        if not lib.exists():
            lib.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".so", dir=lib.parent)
            os.close(fd)
            run = subprocess.run([cc, *flags, "-std=gnu11", "-pthread", "-fPIC", "-shared", "-o", tmp, str(source)],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                os.unlink(tmp)
                last = (run.stderr.strip().splitlines() or ["failed"])[-1]
                continue
            os.replace(tmp, lib)  # atomic: concurrent processes never load a half-written file
        return ctypes.CDLL(str(lib))
    raise OSError(f"{cc} could not compile {source.name}: {last}")
