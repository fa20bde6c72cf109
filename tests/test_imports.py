"""The package's import graph: no cycles among rmr1_utils modules, and a light ``rmr1`` command.

A cycle works until someone moves an import from inside a function to the top of a module, and
then fails at import time, far from the change; so every import counts here, at the top of a
module or inside a function. The graph is read from the source with ``ast``, nothing is imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = "rmr1_utils"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that ``name`` imports anywhere in its source.

    ``from a.b import c`` counts as importing ``a.b``, and ``a.b.c`` too when that is a module.
    Importing ``a.b`` runs ``a/__init__.py`` first, so ``a`` counts too, unless ``name`` is inside
    ``a``: a package's ``__init__`` importing its own submodules, which import each other, is no
    cycle, but a module outside it that the ``__init__`` imports back is one.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in (t for t in targets if t in modules):
            parts = target.split(".")
            parents = [".".join(parts[:k]) for k in range(2, len(parts))]  # not the top package: every module is inside it
            found.update(m for m in parents if m in modules and not name.startswith(m + "."))
            found.add(target)
    found.discard(name)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                cycles.append(_path_through(sorted(component), graph))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def _path_through(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest cycle through a component's first module, as a closed path (for the message)."""
    members, start = set(component), component[0]
    parents: dict[str, str | None] = {start: None}
    queue = [start]
    for v in queue:  # breadth first: grows while it is read
        for w in sorted(graph[v] & members):
            if w == start:
                path = [v]
                while parents[path[-1]] is not None:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if w not in parents:
                parents[w] = v
                queue.append(w)
    return [*component, start]  # not reached: every module of a component leads back to the others


def test_the_graph_reader_sees_cycles_and_function_level_imports(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from rmr1_utils.b import x\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\n")
    (pkg / "sub" / "__init__.py").write_text("from rmr1_utils.sub.c import y\n")
    (pkg / "sub" / "c.py").write_text("from rmr1_utils.e import w\nfrom rmr1_utils.sub.d import z\n")
    (pkg / "sub" / "d.py").write_text("import os\n")
    (pkg / "e.py").write_text("from rmr1_utils.sub.d import v\n")  # runs sub/__init__.py, which imports e back
    modules = {f"rmr1_utils{'.' if n else ''}{n}": path for n, path in [
        ("", pkg / "__init__.py"), ("a", pkg / "a.py"), ("b", pkg / "b.py"), ("e", pkg / "e.py"),
        ("sub", pkg / "sub" / "__init__.py"), ("sub.c", pkg / "sub" / "c.py"), ("sub.d", pkg / "sub" / "d.py"),
    ]}  # fmt: skip
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    assert graph["rmr1_utils.b"] == {"rmr1_utils", "rmr1_utils.a"}  # `from . import a`, inside a function
    assert graph["rmr1_utils.sub.c"] == {"rmr1_utils.e", "rmr1_utils.sub.d"}  # inside `sub`: its __init__ is no edge
    assert graph["rmr1_utils.e"] == {"rmr1_utils.sub", "rmr1_utils.sub.d"}  # importing sub.d runs sub/__init__.py
    assert import_cycles(graph) == [
        ["rmr1_utils.a", "rmr1_utils.b", "rmr1_utils.a"],
        ["rmr1_utils.e", "rmr1_utils.sub", "rmr1_utils.sub.c", "rmr1_utils.e"],
    ]


def test_no_import_cycles_in_the_package():
    modules = package_modules()
    assert f"{PACKAGE}.cli" in modules and f"{PACKAGE}.generation.interface" in modules
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    cycles = import_cycles(graph)
    assert not cycles, "import cycles among rmr1_utils modules: " + "; ".join(" -> ".join(c) for c in cycles)


#: Modules the ``rmr1`` command must not load before a stage runs: importing torch alone takes seconds.
HEAVY = ("torch", "transformers", "trl", "datasets", "peft", "vllm", "httpx")


@pytest.mark.parametrize(
    "code",
    ["import rmr1_utils.cli", "from rmr1_utils.cli import make_parser; make_parser()"],
    ids=["import", "rmr1 --help"],
)
def test_the_command_line_loads_no_heavy_dependency(code):
    check = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=PACKAGE_DIR.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"`{code}` imported: {result.stdout.strip()}"
