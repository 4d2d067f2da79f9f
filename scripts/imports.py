#!/usr/bin/env python3
"""Print ivr's package-to-package imports and any cycle between packages.

Run: `python3 scripts/imports.py` (exit 1 when packages import each other in a circle).
A package is a folder under ivr/ or a top-level module; imports inside one package are left out.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "ivr"


def unit_of(module: str) -> str:
    """`ivr.calls.menu` -> `calls`; `ivr.daemon` -> `daemon`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "ivr" or name.startswith("ivr.")}


def graph() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the modules that import it."""
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(ROOT.rglob("*.py")):
        here = module_name(path)
        for target in imported_modules(path):
            if target == "ivr":
                continue
            a, b = unit_of(here), unit_of(target)
            if a != b and here != "ivr" and b != "__version__":
                edges[a][b].add(here)
    return edges


def cycles(edges: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    edges = graph()
    for a in sorted(edges):
        print(f"{a} -> {', '.join(sorted(edges[a]))}")
    found = cycles(edges)
    for component in found:
        print(f"\ncycle between: {', '.join(component)}")
        for a in component:
            for b in component:
                if b in edges.get(a, {}):
                    print(f"  {a} -> {b}: {', '.join(sorted(edges[a][b]))}")
    if not found:
        print("\nno cycle between packages")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
