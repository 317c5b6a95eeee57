"""A trained model named on the command line, loaded for a command (`process`, `export`)."""

from __future__ import annotations

from pathlib import Path

from drywet.errors import InputError


def load(path: str):
    """Load a model and its ModelMeta; problems are InputErrors naming the file."""
    from drywet import quiet_tensorflow
    from drywet.inference import load_model

    if not Path(path).exists():
        raise InputError(f"{path}: model not found (expected a .keras file or a folder holding model.keras)")
    quiet_tensorflow()
    return load_model(path)
