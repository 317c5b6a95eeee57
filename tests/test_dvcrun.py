"""Running `dvc` from Python: its WARNING lines kept to the log, failures raised with the output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from drywet.dvcrun import DvcError, relay, run_dvc


def test_dvc_warnings_stay_in_the_log() -> None:
    lines = ["Running stage 'train@x':\n", "WARNING: No file hash info found for 'models/x'. It won't be created.\n",
             "epoch 1/2\n", "ERROR: failed to reproduce\n"]
    log, terminal = io.StringIO(), io.StringIO()
    assert relay(lines, log, terminal) == 1
    assert log.getvalue() == "".join(lines)
    shown = terminal.getvalue()
    assert "WARNING" not in shown and "epoch 1/2" in shown and "ERROR" in shown


def test_a_failed_command_is_raised_with_its_output(tmp_path: Path) -> None:
    assert run_dvc(["version"], tmp_path, capture=True, check=True).stdout
    with pytest.raises(DvcError, match="dvc status failed with exit code"):
        run_dvc(["status"], tmp_path, capture=True, check=True)  # not a DVC repository
    log = tmp_path / "logs" / "dvc.log"
    assert run_dvc(["status"], tmp_path, log=log).returncode != 0
    assert log.read_text().startswith("$ dvc status\n")
