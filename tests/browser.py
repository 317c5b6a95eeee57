"""Headless Chromium for tests: find the binary and dump a local page's DOM after its scripts ran."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FALLBACK = "/usr/bin/chromium"

# Offline and quiet: no first-run UI, no background fetches (component updates, sync, QUIC
# probes) that would wait on a network the test machine may not have. Autoplay is allowed so
# media elements are not held back; virtual time lets timers and loads settle before the dump.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
)
VIRTUAL_TIME_BUDGET_MS = 10000


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary on PATH (or Debian's /usr/bin/chromium), else None."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    if os.path.isfile(FALLBACK) and os.access(FALLBACK, os.X_OK):
        return FALLBACK
    return None


def dump_dom(html_path: str | os.PathLike, timeout: float = 60) -> str:
    """The DOM of a local HTML file as serialised by headless Chromium after its scripts ran.

    Runs with a fresh profile in a temporary folder. Raises RuntimeError when Chromium is
    missing, exits non-zero, or takes longer than `timeout` seconds (its processes are killed).
    """
    binary = find_chromium()
    if binary is None:
        raise RuntimeError("Chromium not found")
    url = Path(html_path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="drywet-chromium-") as profile:
        cmd = [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
            "--dump-dom",
            url,
        ]
        # Own process group: Chromium forks helpers that inherit stdout; on a timeout the whole
        # group is killed so none is left holding the pipe open.
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise RuntimeError(f"Chromium did not finish within {timeout} s: {' '.join(cmd)}") from None
    if proc.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-15:])
        raise RuntimeError(f"Chromium exited with status {proc.returncode}:\n{tail}")
    return out
