"""How far a long job has got, shown one way everywhere: `Progress`, a 30-character bar redrawn on
standard error (`python -m drywet process`, predictions) or, for a log that is read later (training's
epochs), one line per step with the time left at the pace so far. Imports nothing of drywet, so any
layer may use it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

import numpy as np

BAR_WIDTH = 30  # characters


def duration(seconds: float) -> str:
    """`42 s`, `3 min`, `1 h 05 min`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class Progress:
    """`done` of `total` units, shown on `stream` at every `update`: a bar redrawn in place (standard
    error; a newline once done), or with `lines` one line per update, `note` then the seconds so far
    and the time left (standard output). Nothing at all when not `enabled`. The pace counts from the
    first update, so a resumed job (its first update past 1) estimates from its own steps."""

    def __init__(self, total: int, enabled: bool = True, *, lines: bool = False, stream: TextIO | None = None):
        self.total, self.enabled, self.lines, self._stream = int(total), enabled, lines, stream
        self.t0 = time.perf_counter()
        self.first: int | None = None  # the units done before the first update (a resumed job's)

    def update(self, done: int, note: str = "") -> None:
        if not self.enabled:
            return
        stream = self._stream or (sys.stdout if self.lines else sys.stderr)
        if self.first is None:
            self.first = done - 1
        if self.lines:
            elapsed = time.perf_counter() - self.t0
            left = elapsed / max(done - self.first, 1) * max(self.total - done, 0)
            stream.write(f"{note}  {elapsed:.0f} s, about {duration(left)} left\n")
        else:
            share = done / max(self.total, 1)
            filled = int(BAR_WIDTH * share)
            stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * share:5.1f}%")
            if done >= self.total:
                stream.write("\n")
        stream.flush()


def play_with_progress(process: Callable[[np.ndarray], np.ndarray], audio: np.ndarray, progress: bool,
                       block: int = 1 << 16) -> np.ndarray:
    """`process(audio)` for a stream's `process` (state carried from call to call): in one call, or
    with `progress` in blocks of `block` samples under a `Progress` bar (the same output either way)."""
    if not progress:
        return process(audio)
    bar = Progress(audio.size)
    y = np.empty(audio.size, np.float32)
    for i in range(0, audio.size, block):
        y[i:i + block] = process(audio[i:i + block])
        bar.update(min(i + block, audio.size))
    return y
