"""The layout is the architecture: each layer imports only the layers beneath it, no module
imports another's private names, and there is no import cycle (counting imports inside
functions, which once hid one between the CLI and `coach eval`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "coach"

# What each layer may import from the coach package (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "judges": {"core", "adapters"},  # the model judge talks through adapters.llm and prompts
    "partners": {"core", "adapters"},
    "adapters": {"core", "judges"},  # judges: only to tag a stored row from before act tags
    # application: the report card runs the evaluation for the CLI and the app alike
    "application": {"core", "judges", "partners", "adapters", "evaluation"},
    "evaluation": {"core", "judges", "partners", "adapters"},
    "bench": {"core", "judges", "partners", "adapters", "application"},
    "app": {"core", "judges", "partners", "adapters", "application"},
    "cli": {"core", "judges", "partners", "adapters", "application", "evaluation", "bench"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every `from coach... import name` and `import coach...`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("coach"):
            found += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name.startswith("coach")]
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or f"coach.{parts[1]}" in MODULES and not _is_package(parts[1]):
        return "cli"  # coach/__init__.py and __main__.py: the command line
    return parts[1]


def _is_package(name: str) -> bool:
    return (ROOT / name / "__init__.py").exists()


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_layer_imports_only_the_layers_beneath_it(module):
    layer = _layer(module)
    if layer == "data":
        return
    wrong = {
        target
        for target, _ in _imports(MODULES[module])
        if _layer(target) not in ALLOWED[layer] | {layer}
    }
    assert not wrong, f"{module} ({layer}) imports {sorted(wrong)}"


def test_no_module_imports_a_private_name():
    private = [
        f"{m} imports {target}.{name}"
        for m, p in MODULES.items()
        for target, name in _imports(p)
        if name.startswith("_")
    ]
    assert not private


def test_no_import_cycle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, p in MODULES.items():
        for target, name in _imports(p):
            dep = f"{target}.{name}" if f"{target}.{name}" in MODULES else target
            if dep in MODULES and dep != m:
                graph[m].add(dep)
    # a depth-first search for a back edge
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d not in state and (cycle := visit(d)):
                return cycle
        state[m] = 2
        path.pop()
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            pytest.fail(" -> ".join(cycle))


def test_no_module_in_the_package_is_used_only_by_tests():
    used = {t for p in MODULES.values() for t, _ in _imports(p)}
    used |= {f"{t}.{n}" for p in MODULES.values() for t, n in _imports(p)}
    # entry points: the console script, the app, and `python -m coach.judges.acts.train`
    # (`make train`), which developers run to retrain the judge's learned reading
    entry = {"coach", "coach.__main__", "coach.cli", "coach.app.main", "coach.data",
             "coach.judges.acts.train"}
    unused = sorted(
        m for m in MODULES
        if m not in used and m not in entry and not m.startswith("coach.data")
        and not (ROOT.parent / m.replace(".", "/") / "__init__.py").exists()
        and not m.startswith("coach.app.")  # pages run by streamlit by file name
    )
    assert not unused, f"only tests (or nothing) use: {unused}"


def test_xdist_loadgroup_keeps_a_group_on_one_worker(tmp_path: Path) -> None:
    # `make test` relies on --dist loadgroup to build costly shared fixtures (the adversarial
    # results, the EPITOME run) once; with pytest 9.2 the grouping silently stopped working
    # and each worker built them again. A group spread over workers fails here.
    (tmp_path / "test_grouped.py").write_text(
        "import os, pathlib, pytest\n"
        "@pytest.mark.xdist_group('one')\n"
        "@pytest.mark.parametrize('i', range(6))\n"
        "def test_a(i):\n"
        "    pathlib.Path(f'ran-{i}').write_text(os.environ['PYTEST_XDIST_WORKER'])\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-q",
         "-p", "no:cacheprovider", "test_grouped.py"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers = {f.read_text() for f in tmp_path.glob("ran-*")}
    assert len(list(tmp_path.glob("ran-*"))) == 6 and len(workers) == 1, workers
