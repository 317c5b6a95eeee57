"""Every params key a model kind reads is declared in dvc.yaml for the stage that reads it, so
`dvc exp run -S <key>=...` reruns that stage (and a key no stage reads reruns nothing).

The frame stage reads the kind's INDEX_PARAMS section: the keys its `make_index` reads (recorded
while it runs on params.yaml's values) and those stages/frame.py itself reads of it. The train stage
reads the kind's whole TRAIN_PARAMS recipe (datasets, compile_args, training_kernel and drywet.train's
fit between them). Both load the section with the effect's own overrides, so both declare
`effects.<fx>`.
"""

from __future__ import annotations

import ast
import dataclasses
from functools import cache
from pathlib import Path
from unittest import mock

import pytest

from drywet.config import SECTIONS, ModelParams, load_effects, load_section
from drywet.kinds import KINDS, structures

ROOT = Path(__file__).resolve().parents[1]


@cache
def declared() -> dict[str, tuple[str, ...]]:
    """Stage name (`frame@sd1`) -> the params.yaml keys dvc.yaml declares for it."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return {stage.addressing: tuple(key for dep in stage.deps if isinstance(dep, ParamsDependency)
                                        for key in dep.params)
                for stage in repo.index.stages}


def missing(keys: set[str], declared_keys: tuple[str, ...]) -> list[str]:
    """The keys of `keys` that no declared key covers (a declared section covers all its keys)."""
    return sorted(k for k in keys if not any(k == d or k.startswith(d + ".") for d in declared_keys))


class Reads:
    """A params dataclass that notes which of its fields are read; `dataclasses.replace` of it (the
    wavenet kind lengthens the sequence recipe's segments) gives a copy noting into the same set."""

    def __init__(self, cfg, read: set[str] | None = None) -> None:
        self._cfg, self.read = cfg, set() if read is None else read

    def __getattr__(self, name: str):
        self.read.add(name)
        return getattr(self._cfg, name)


def _replace(obj, /, **changes):
    if isinstance(obj, Reads):
        return Reads(REPLACE(obj._cfg, **changes), obj.read)
    return REPLACE(obj, **changes)


REPLACE = dataclasses.replace


def index_keys(kind: str) -> set[str]:
    """`section.key` for each INDEX_PARAMS field the kind's make_index reads (params.yaml's values)."""
    module = KINDS[kind]
    cfg = Reads(load_section(module.INDEX_PARAMS, ROOT / "params.yaml"))
    # params.yaml's structure, or the kind's first where it names another kind's (an LSTM for wavenet)
    named = structures(kind)
    structure = named.get(load_section(ModelParams, ROOT / "params.yaml").structure, next(iter(named.values())))
    with mock.patch.object(dataclasses, "replace", _replace):
        module.make_index(2_000_000, 400_000, structure, cfg)
    return {f"{SECTIONS[module.INDEX_PARAMS]}.{name}" for name in cfg.read}


def stage_reads(script: Path, variable: str, cls: type) -> set[str]:
    """The fields of `cls` the stage script reads through `variable` (`cfg.seed`, `getattr(cfg, "count")`,
    `dataclasses.replace(cfg, seed=...)`), as `section.key`."""
    names = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == variable:
            names.add(node.attr)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name)
              and node.args[0].id == variable):
            if getattr(node.func, "id", None) == "getattr" and isinstance(node.args[1], ast.Constant):
                names.add(node.args[1].value)
            if getattr(node.func, "attr", None) == "replace":
                names.update(kw.arg for kw in node.keywords)
    fields = {f.name for f in dataclasses.fields(cls)}
    return {f"{SECTIONS[cls]}.{name}" for name in names & fields}


def effects() -> list[str]:
    return list(load_effects(ROOT / "params.yaml"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_frame_stage_declares_what_the_kind_indexes_with(kind: str) -> None:
    module = KINDS[kind]
    keys = index_keys(kind) | stage_reads(ROOT / "stages" / "frame.py", "cfg", module.INDEX_PARAMS)
    assert keys, f"{kind}: make_index read no params (the recorder saw nothing)"
    for fx in effects():
        stage = declared()[f"frame@{fx}"]
        assert not missing(keys | {f"effects.{fx}"}, stage), f"frame@{fx} lacks params {missing(keys, stage)}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_train_stage_declares_the_kinds_whole_recipe(kind: str) -> None:
    cls = KINDS[kind].TRAIN_PARAMS
    keys = {f"{SECTIONS[cls]}.{f.name}" for f in dataclasses.fields(cls)}
    for fx in effects():
        stage = declared()[f"train@{fx}"]
        assert not missing(keys | {f"effects.{fx}"}, stage), f"train@{fx} lacks params {missing(keys, stage)}"


def test_the_check_sees_a_missing_key() -> None:
    """Not vacuous: the sequence kind's index reads segment and warmup one by one, which a stage
    declaring only the other keys misses."""
    keys = index_keys("sequence")
    assert {"train_sequence.segment", "train_sequence.warmup", "train_sequence.seed"} <= keys
    assert "train_sequence.learning_rate" not in keys  # a recipe key: no reason to re-index
    partial = tuple(k for k in declared()[f"frame@{effects()[0]}"] if k != "train_sequence.warmup")
    assert missing(keys, partial) == ["train_sequence.warmup"]
    assert missing({"frame.count", "frame.seed"}, ("frame",)) == []
