"""drywet: learn an analog guitar effect from a dry and a wet recording with Keras LSTMs.

Besides the version, the package holds `quiet_tensorflow`, which every layer may use (it imports
nothing of drywet)."""

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
