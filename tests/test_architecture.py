"""The shape of the code, checked from its source: imports flow cli -> ui -> core, with no circles.

Every module of deskapp/ and benchmarks/ is read with `ast` (nothing is imported), and every import
statement counts: top level, inside functions, and under `if TYPE_CHECKING:` alike, since each of
them ties the two modules together for a reader and for a refactoring.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("deskapp", "benchmarks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module `name` imports: first-party ones resolved to the module, others by their top name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)  # `from pkg import module` names the module
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: {m for m in imports_of(name, path, known) if m != name} for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None (iterative DFS over first-party edges)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(edges):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(edges[start] & edges.keys()))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges[nxt] & edges.keys())))
    return None


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(edges: dict[str, set[str]], layer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{mod} imports {imp}" for mod, imps in edges.items() if _under(mod, layer)
                  for imp in imps if any(_under(imp, f) for f in forbidden))


def test_every_module_is_read() -> None:
    edges = graph()
    assert {"deskapp.cli", "deskapp.core.store", "deskapp.ui.app", "benchmarks.suite"} <= edges.keys()
    assert "deskapp.core.store" in edges["deskapp.core.poller"]


def test_no_import_cycles() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_core_knows_no_ui_cli_or_settings_file() -> None:
    bad = violations(graph(), "deskapp.core",
                     ("textual", "rich", "deskapp.ui", "deskapp.cli", "deskapp.config", "deskapp.demo"))
    assert not bad, "core must not import these: " + "; ".join(bad)


def test_ui_does_not_import_cli() -> None:
    bad = violations(graph(), "deskapp.ui", ("deskapp.cli", "deskapp.demo"))
    assert not bad, "ui must not import these: " + "; ".join(bad)


def test_the_checks_catch_what_they_look_for() -> None:
    # The checker itself: a circle through three modules, and an arrow back up, are both found.
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "os"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None
    assert violations({"deskapp.core.x": {"textual.app", "json"}}, "deskapp.core", ("textual",)) == [
        "deskapp.core.x imports textual.app"]
