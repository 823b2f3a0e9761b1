"""The import graph flows one way (cli -> engine -> attacks / judges / targets -> store -> bottom): no cycle
among modules, no layer importing one above it, and `import redline.attacks` pulls in no database code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "redline"
BOTTOM = {
    "redline", "redline.version", "redline.errors", "redline.stats", "redline.records", "redline.metrics",
    "redline.registry", "redline.datafile",
}
# what each layer may never import (checked on every import, also those inside functions)
FORBIDDEN = {
    "store": ("cli", "engine", "attacks", "judges", "targets", "probes", "policy", "report", "audits", "interp"),
    "attacks": ("cli", "engine", "store", "policy", "report"),
    "judges": ("cli", "engine", "store", "policy", "report"),
    "targets": ("cli", "engine", "store", "attacks", "judges", "policy", "report"),
    "probes": ("cli", "engine", "store", "attacks", "judges", "targets", "policy", "report"),
    "engine": ("cli",),
    "policy": ("cli",),
    "report": ("cli",),
}


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in PKG.rglob("*.py") if "migrations" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(imports run when the module loads, all imports incl. those in functions) as module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    top: set[str] = set()
    every: set[str] = set()

    def targets(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Import):
            return {a.name for a in node.names if a.name.startswith("redline")}
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        if not mod.startswith("redline"):
            return set()
        out = {mod}
        out |= {f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES}
        return out

    def walk(nodes: list[ast.stmt], at_top: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found = targets(node)
                every.update(found)
                if at_top:
                    top.update(found)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                continue
            else:
                for child in ast.iter_child_nodes(node):
                    inner_top = at_top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                    if isinstance(child, ast.stmt):
                        walk([child], inner_top)
                    else:
                        for sub in ast.walk(child):
                            if isinstance(sub, ast.Import | ast.ImportFrom):
                                every.update(targets(sub))

    walk(tree.body, True)
    return top, every


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_import_cycle_between_modules() -> None:
    """Also through imports inside functions: a lazy import hides a cycle from Python, not from readers."""
    edges = {m: {t for t in every if t in MODULES and t != m} for m, (_, every) in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            connect(v)
    assert not cycles, cycles


def test_no_layer_imports_one_above_it() -> None:
    bad = []
    for module, (top, every) in GRAPH.items():
        layer = _layer(module)
        if module in BOTTOM:
            # the root package's `scan()` is the notebook facade: it imports the engine when called
            above = [t for t in (top if module == "redline" else every) if t not in BOTTOM and t != module]
            bad += [f"{module} -> {t}" for t in above]
            continue
        for target in every:
            if _layer(target) in FORBIDDEN.get(layer, ()):
                bad.append(f"{module} -> {target}")
    assert not bad, bad


def test_attacks_do_not_import_the_store() -> None:
    code = (
        "import sys; import redline.attacks as a; a.create_attack('base64'); a.create_attack('pair');"
        "bad = [m for m in sys.modules if m.startswith(('sqlalchemy', 'redline.store', 'redline.engine'))];"
        "assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC), "PATH": ""},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def test_the_checker_sees_imports() -> None:
    """The graph is not empty: known edges are found (so the tests above can fail)."""
    assert "redline.store.recorder" in GRAPH["redline.engine.scan"][0]
    assert "redline.engine.scan" in GRAPH["redline.cli.scan"][1]
