"""The library's modules import one way: each from its own layer or the layers below, and no import
cycle anywhere, function-level imports included (docs/architecture.md, "The layer rule").

Every module's imports are read with `ast` (`import x`, `from x import y`, at any depth); a module
that picks a module by name at run time (`importlib.import_module`, as drywet.kinds builds its
registry) counts as importing every module of its package. A new module gets its line in LAYERS.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top. A module may import from its own layer and the ones below it, never from above.
LAYER_NAMES = ("leaf utilities", "data", "evaluation", "LSTM kernels and weights", "structures and kinds",
               "model I/O and inference", "training", "export, report, study, pipeline",
               "the command line")
LAYERS = {
    "drywet": 0,  # the package's __init__: the version, quiet_tensorflow
    "drywet.progress": 0,  # the one progress bar (and training's per-epoch line)
    "drywet.dvcrun": 0,  # the one way to run `dvc` from Python (the capture, the study, the tests)
    "drywet.errors": 0, "drywet.fileio": 0, "drywet.config": 0, "drywet.meta": 0,
    "drywet.pipeline.contracts": 0,  # the stages' hand-off files (clean/split/index/predict.json, metrics), like meta
    "drywet.native": 0,  # the C loader and the C files' shared header (vec.h), for drywet.lstm and drywet.wavenet
    "drywet.audio": 1, "drywet.align": 1, "drywet.split": 1, "drywet.knobs": 1, "drywet.antialias": 1,
    "drywet.bench": 1, "drywet.highpass": 1,
    "drywet.metrics": 2, "drywet.capture": 2, "drywet.check": 2,
    "drywet.lstm": 3,  # the LSTM runtime without Keras: weights, .keras reader, streaming loop, training kernels
    "drywet.wavenet": 3,  # NAM's WaveNet without Keras: config, weights in .nam order, streaming loop
    "drywet.models": 4, "drywet.kinds": 4,
    "drywet.inference": 5, "drywet.cost": 5,
    "drywet.train": 6,
    "drywet.export": 7, "drywet.report": 7, "drywet.listen": 7, "drywet.plots": 7, "drywet.tables": 7,
    "drywet.study": 7, "drywet.trials": 7,  # the capture's recipe and architecture trials
    "drywet.pipeline": 7,  # one module per DVC stage (the stage scripts call them), outputs.py the atomic folder
    "drywet.app": 8, "drywet.__main__": 8,  # `python -m drywet`: the parser and one module per command
}
ABOVE_THE_LIBRARY = ("stages", "benchmarks", "tests")  # layer 9 and the tests: the library never imports them


# Above the library, what each package may import of the others (the library it may always import):
# nothing imports a stage or a test, but for the tests that run a stage (STAGE_RUNNERS).
SCRIPTS_MAY_IMPORT = {
    "stages": set(),  # a stage imports the library only
    "benchmarks": {"benchmarks"},
    "tests": {"tests", "benchmarks"},  # the tests' shared helpers; the benchmarks' recordings and model builders
}
# Tests that run a stage's `main` in-process, so they import it: the stages' own tests (tests/pipeline/)
# and the export stage's files checked against the CLI's.
STAGE_RUNNERS = ("tests.pipeline", "tests.export.test_export", "tests.export.test_hosts")


def modules(root: Path, package: str = "drywet") -> dict[str, Path]:
    """Every module of `package` under `root`, by dotted name (a package by its own name)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules `name` imports: drywet modules by name, and the top-level name of any stage,
    benchmark or test module it reaches for."""
    tree = ast.parse(path.read_text(), str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()

    def add(target: str) -> None:
        top = target.split(".")[0]
        if top in ABOVE_THE_LIBRARY:
            found.add(top)
        elif top == "drywet":
            while target not in known and "." in target:  # `import drywet.x.attr`: the module part
                target = target.rsplit(".", 1)[0]
            found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:  # `from pkg import module` imports that module
                sub = f"{source}.{alias.name}"
                add(sub if sub in known else source)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "import_module", "__import__"):
            prefix = ".".join(package) + "."
            found.update(m for m in known if m.startswith(prefix) and "." not in m[len(prefix):])
    found.discard(name)
    return found


def layer_of(name: str, layers: dict[str, int]) -> int | None:
    """The layer of module `name`: its own entry, else its package's (drywet.kinds.framed: drywet.kinds)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in layers and (i == len(parts) or prefix != "drywet"):  # "drywet" is the __init__ alone
            return layers[prefix]
    return None


def graph(root: Path, package: str = "drywet") -> dict[str, set[str]]:
    known = modules(root, package)
    return {name: imports(name, path, known) for name, path in known.items()}


def unplaced(edges: dict[str, set[str]], layers: dict[str, int]) -> list[str]:
    return sorted(m for m in edges if layer_of(m, layers) is None)


def upward(edges: dict[str, set[str]], layers: dict[str, int], names=LAYER_NAMES) -> list[str]:
    """One line per import of a module from a higher layer (or of a stage, benchmark or test)."""
    out = []
    for source in sorted(edges):
        mine = layer_of(source, layers)
        for target in sorted(edges[source]):
            theirs = len(names) if target in ABOVE_THE_LIBRARY else layer_of(target, layers)
            if mine is not None and theirs is not None and theirs > mine:
                where = names[theirs] if theirs < len(names) else "above the library"
                out.append(f"{source} (layer {mine}, {names[mine]}) imports {target} (layer {theirs}, {where})")
    return out


def cycles(edges: dict[str, set[str]]) -> list[str]:
    """One line per knot of mutually importing modules (Tarjan's strongly connected components): the
    shortest cycle through its first module, `a -> b -> ... -> a`, and the knot's other modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:  # recursive: the graph is a few dozen modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    out = []
    for component in components:
        start, members = component[0], set(component)
        paths, seen = {start: [start]}, {start}
        queue = [start]
        while queue:  # breadth first from `start` until an edge leads back to it
            v = queue.pop(0)
            if start in edges[v]:
                knot = f" (the modules caught in it: {', '.join(component)})" if len(component) > len(paths[v]) else ""
                out.append(" -> ".join(paths[v] + [start]) + knot)
                break
            for w in sorted(edges[v] & members - seen):
                seen.add(w)
                paths[w] = paths[v] + [w]
                queue.append(w)
    return out


def test_every_module_has_a_layer():
    missing = unplaced(graph(ROOT), LAYERS)
    assert not missing, f"modules without a layer (add them to LAYERS and docs/architecture.md): {missing}"


def test_imports_go_down_the_layers():
    problems = upward(graph(ROOT), LAYERS)
    assert not problems, "imports from a higher layer:\n" + "\n".join(problems)


def test_no_import_cycles():
    found = cycles(graph(ROOT))
    assert not found, "import cycles:\n" + "\n".join(found)


def script_edges(root: Path) -> dict[str, set[str]]:
    """Every stage, benchmark and test module (by dotted name) and which of stages, benchmarks and tests
    it imports."""
    out = {}
    for package in ABOVE_THE_LIBRARY:
        known = modules(root, package)
        for name, path in known.items():
            out[name] = imports(name, path, known) & set(ABOVE_THE_LIBRARY)
    return out


def misplaced(edges: dict[str, set[str]]) -> list[str]:
    """One line per import of a stage, benchmark or test that SCRIPTS_MAY_IMPORT does not allow."""
    out = []
    for source in sorted(edges):
        allowed = set(SCRIPTS_MAY_IMPORT[source.split(".")[0]])
        if any(source == r or source.startswith(r + ".") for r in STAGE_RUNNERS):
            allowed.add("stages")
        out += [f"{source} imports {target}" for target in sorted(edges[source] - allowed)]
    return out


def test_nothing_imports_stages_or_tests():
    """A stage may import the library; the library and the benchmarks never import a stage or a test,
    and the tests import no stage but those that run one."""
    problems = misplaced(script_edges(ROOT))
    assert not problems, "imports across stages/, benchmarks/ and tests/:\n" + "\n".join(problems)


def test_the_checks_catch_an_upward_import_and_a_hidden_cycle(tmp_path):
    """Not vacuous: a fixture package with an upward import and a cycle through a function-level
    import fails them, naming the modules."""
    pkg = tmp_path / "drywet"
    (pkg / "kinds").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "errors.py": "",
        "stream.py": "from drywet.errors import X\n\ndef f():\n    from drywet.inference import g\n",
        "inference.py": "from drywet.stream import f\nfrom drywet import kinds\n",
        "train.py": "import drywet.inference\n",
        "kinds/__init__.py": "import importlib\nK = {n: importlib.import_module(f'drywet.kinds.{n}') for n in 'ab'}\n",
        "kinds/a.py": "from drywet.errors import X\n",
        "kinds/b.py": "def f():\n    from drywet.train import fit\n",
        "models.py": "from stages.common import run\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(textwrap.dedent(text))
    layers = {"drywet": 0, "drywet.errors": 0, "drywet.stream": 3, "drywet.models": 4, "drywet.kinds": 4,
              "drywet.inference": 5, "drywet.train": 6}
    edges = graph(tmp_path)
    assert edges["drywet.kinds"] == {"drywet.kinds.a", "drywet.kinds.b"}
    assert edges["drywet.train"] == {"drywet.inference"}
    assert unplaced(edges, layers) == []
    assert unplaced(edges, {k: v for k, v in layers.items() if k != "drywet.kinds"}) == [
        "drywet.kinds", "drywet.kinds.a", "drywet.kinds.b"]
    assert upward(edges, layers) == [
        "drywet.kinds.b (layer 4, structures and kinds) imports drywet.train (layer 6, training)",
        "drywet.models (layer 4, structures and kinds) imports stages (layer 9, above the library)",
        "drywet.stream (layer 3, LSTM kernels and weights) imports drywet.inference (layer 5, model I/O and inference)",
    ]
    assert cycles(edges) == ["drywet.inference -> drywet.stream -> drywet.inference (the modules caught in it: "
                             "drywet.inference, drywet.kinds, drywet.kinds.b, drywet.stream, drywet.train)"]
    del edges["drywet.stream"]
    assert cycles(edges) == ["drywet.inference -> drywet.kinds -> drywet.kinds.b -> drywet.train -> drywet.inference"]
    scripts = {
        "stages/__init__.py": "", "stages/common.py": "",
        "stages/a.py": "from stages.common import run\nimport tests.x\n",
        "benchmarks/__init__.py": "", "benchmarks/b.py": "def f():\n    from stages import a\n",
        "tests/test_c.py": "from tests.test_d import helper\nfrom benchmarks import b\nfrom stages import a\n",
        "tests/test_d.py": "", "tests/pipeline/test_e.py": "from stages import a\n",
    }
    for rel, text in scripts.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert misplaced(script_edges(tmp_path)) == ["benchmarks.b imports stages", "stages.a imports stages",
                                                 "stages.a imports tests", "tests.test_c imports stages"]
