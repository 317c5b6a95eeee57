"""Every file a stage's code can read is one of its DVC deps, so editing it reruns the stage.

For each stage in dvc.yaml, the module its `cmd` runs (`python -m stages.X`) is followed through
every import that stays inside the repository (`drywet`, `stages`; lazy imports inside functions
included), and through the package data files those modules name (a string literal naming a file or
folder beside the module, such as a template). Each file found must lie under one of the stage's deps.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("drywet", "stages")


def _module_file(root: Path, name: str) -> Path | None:
    """The file of module `name` (a .py file or a package's __init__.py), if it is in the repository."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _package_of(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(root: Path, path: Path) -> set[Path]:
    """Repository files that `path` imports (the modules and the packages they sit in)."""
    tree = ast.parse(path.read_text(), str(path))
    here = _package_of(root, path)
    is_pkg = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: level 1 is the package the module sits in
                package = here.split(".") if is_pkg else here.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{alias.name}" for alias in node.names)  # `from pkg import module`
    found: set[Path] = set()
    if any(isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
           in ("import_module", "__import__") for node in ast.walk(tree)):
        # A module chosen by name at run time (drywet.kinds.<kind>): any module of the package may load.
        found.update(p for p in path.parent.glob("*.py") if p != path)
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__, a/b/c
            f = _module_file(root, ".".join(parts[:i]))
            if f is not None:
                found.add(f)
    return found


def _data_files(path: Path) -> set[Path]:
    """Files and folders beside `path` that it names in a string literal (templates, tables)."""
    tree = ast.parse(path.read_text(), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and 0 < len(node.value) < 200:
            value = node.value.strip()
            if not value or value in (".", "..") or "\n" in value:
                continue
            candidate = (path.parent / value).resolve()
            if (candidate.exists() and candidate.suffix != ".py" and path.parent.resolve() in candidate.parents
                    and "__pycache__" not in candidate.parts and not (candidate / "__init__.py").exists()):
                out.add(candidate)
    return out


def stage_files(root: Path, module: str) -> set[Path]:
    """Every repository file the stage module `module` can read as code or package data."""
    start = _module_file(root, module)
    assert start is not None, f"{module}: no such module in {root}"
    seen: set[Path] = set()
    todo = [start]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(_imports(root, f) - seen)
    data = set()
    for f in seen:
        data |= _data_files(f)
    return seen | data


def uncovered(root: Path, module: str, deps: list[str]) -> list[str]:
    """Files the stage reads that none of `deps` (paths relative to `root`) covers."""
    dep_paths = [(root / d).resolve() for d in deps]
    missing = []
    for f in sorted(stage_files(root, module)):
        f = f.resolve()
        if not any(f == d or d in f.parents for d in dep_paths):
            missing.append(str(f.relative_to(root.resolve())))
    return missing


def _stages(root: Path) -> list[tuple[str, str, list[str]]]:
    """(stage name, module its cmd runs, deps) for every stage DVC resolves from dvc.yaml."""
    from dvc.repo import Repo

    out = []
    with Repo(str(root)) as repo:
        for stage in repo.index.stages:
            cmds = stage.cmd if isinstance(stage.cmd, list) else [stage.cmd]
            for cmd in cmds:
                m = re.search(r"python3?\s+-m\s+([\w.]+)", cmd)
                assert m, f"{stage.addressing}: cmd does not run a module with python -m: {cmd}"
                deps = [str(Path(d.def_path)) for d in stage.deps]
                out.append((stage.addressing, m.group(1), deps))
    return out


def test_every_stage_lists_the_code_it_runs():
    problems = [f"{name}: {', '.join(missing)}" for name, module, deps in _stages(ROOT)
                if (missing := uncovered(ROOT, module, deps))]
    assert not problems, "stage deps miss files the stage imports or reads:\n" + "\n".join(problems)


def test_checker_catches_a_new_import_without_its_dep(tmp_path):
    """The check above is not vacuous: a fixture tree where a stage gains an import fails it."""
    (tmp_path / "stages").mkdir()
    (tmp_path / "drywet" / "templates").mkdir(parents=True)
    (tmp_path / "stages" / "__init__.py").write_text("")
    (tmp_path / "drywet" / "__init__.py").write_text("")
    (tmp_path / "drywet" / "a.py").write_text("X = 1\n")
    (tmp_path / "drywet" / "b.py").write_text(textwrap.dedent("""
        from pathlib import Path
        PAGE = Path(__file__).parent / "templates" / "page.html"
    """))
    (tmp_path / "drywet" / "templates" / "page.html").write_text("<p></p>")
    stage = tmp_path / "stages" / "go.py"
    stage.write_text("from drywet import a\n")
    deps = ["stages/go.py", "drywet/a.py", "drywet/__init__.py", "stages/__init__.py"]
    assert uncovered(tmp_path, "stages.go", deps) == []

    stage.write_text("from drywet import a\n\ndef main():\n    from drywet.b import PAGE\n")  # lazy import
    assert uncovered(tmp_path, "stages.go", deps) == ["drywet/b.py", "drywet/templates"]
    assert uncovered(tmp_path, "stages.go", deps + ["drywet/b.py"]) == ["drywet/templates"]
    assert uncovered(tmp_path, "stages.go", deps + ["drywet/b.py", "drywet/templates"]) == []


@pytest.mark.parametrize("module", ["stages.record", "stages.train"])
def test_walker_follows_lazy_and_package_imports(module):
    files = {str(f.relative_to(ROOT)) for f in stage_files(ROOT, module)}
    assert "drywet/__init__.py" in files and "drywet/pipeline/outputs.py" in files


def test_a_module_chosen_by_name_counts_as_imported(tmp_path):
    """A package that picks its module at run time (importlib) may load any of its modules."""
    (tmp_path / "stages").mkdir()
    (tmp_path / "drywet" / "kinds").mkdir(parents=True)
    (tmp_path / "stages" / "__init__.py").write_text("")
    (tmp_path / "drywet" / "__init__.py").write_text("")
    (tmp_path / "drywet" / "kinds" / "__init__.py").write_text(
        "import importlib\n\ndef get(name):\n    return importlib.import_module(f'drywet.kinds.{name}')\n")
    (tmp_path / "drywet" / "kinds" / "one.py").write_text("def f():\n    from drywet import helper\n")
    (tmp_path / "drywet" / "helper.py").write_text("")
    (tmp_path / "stages" / "go.py").write_text("from drywet.kinds import get\n")
    deps = ["stages", "drywet/__init__.py", "drywet/kinds"]
    assert uncovered(tmp_path, "stages.go", deps) == ["drywet/helper.py"]
