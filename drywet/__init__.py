"""drywet: learn an analog guitar effect from a dry and a wet recording with Keras LSTMs.

Besides the version, the package holds two helpers every layer may use (it imports nothing of drywet):
`quiet_tensorflow` and `show_progress`."""

import os
import sys

# Before TensorFlow is first imported anywhere: keep its C++ info logging quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"


def quiet_tensorflow() -> None:
    """Import TensorFlow with its start-up banner silenced.

    TensorFlow 2.21 prints its oneDNN notice from C++ before its logging is set up, so
    TF_CPP_MIN_LOG_LEVEL does not reach it; standard error is pointed at /dev/null for the import
    only (an ImportError still propagates with its message).
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def show_progress(done: int, total: int, enabled: bool) -> None:
    """Redraw a 30-character progress bar on standard error (`done` of `total` units, a newline
    once done); nothing when not `enabled`."""
    if enabled:
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done / max(total, 1):5.1f}%")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def play_with_progress(process, audio, progress: bool, block: int = 1 << 16):
    """`process(audio)` for a stream's `process` (state carried from call to call): in one call, or
    with `progress` in blocks of `block` samples with a progress bar on standard error (the same
    output either way)."""
    if not progress:
        return process(audio)
    import numpy as np

    y = np.empty(audio.size, np.float32)
    for i in range(0, audio.size, block):
        y[i:i + block] = process(audio[i:i + block])
        show_progress(min(i + block, audio.size), audio.size, True)
    return y
