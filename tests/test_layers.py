"""The package's layers, enforced over its import graph (every import statement, also inside functions).

    base      model, errors, text, units, keys, parsing, chunking, lazy_imports  (no package imports above base)
    compat    compat/            private names of RosettaSciIO and pynxtools
    formats   formats/           vendor files -> Signal; knows no table, no NeXus, no NOMAD
    mapping   mapping/           tables -> mapped values
    nexus     nexus/             what is recorded and how it is written
    domain    classify, provenance, eln, session
    service   reader, conversion, batch, cli, progress, page, incremental, cluster, watch
    nomad     nomad/             the only place that imports nomad-lab

A module may import its own layer and the layers its row allows; the whole graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "pynxtools_em_plugin"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

LAYER_OF = {
    **dict.fromkeys(
        ("model", "errors", "text", "units", "keys", "parsing", "chunking", "lazy_imports", "__init__"), "base"
    ),
    "compat": "compat",
    "formats": "formats",
    "mapping": "mapping",
    "nexus": "nexus",
    **dict.fromkeys(("classify", "provenance", "eln", "session"), "domain"),
    **dict.fromkeys(
        ("reader", "conversion", "batch", "cli", "progress", "page", "incremental", "cluster", "watch"), "service"
    ),
    "nomad": "nomad",
}
ALLOWED = {
    "base": {"base"},
    "compat": {"base", "compat"},
    "formats": {"base", "compat", "formats"},
    "mapping": {"base", "mapping"},
    "nexus": {"base", "mapping", "nexus"},
    "domain": {"base", "mapping", "nexus", "domain"},
    "service": {"base", "compat", "formats", "mapping", "nexus", "domain", "service"},
    "nomad": {"base", "compat", "formats", "mapping", "nexus", "domain", "service", "nomad"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str] = frozenset()) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved); ``from package import
    submodule`` counts as importing the submodule (``modules``: the names that are modules)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names = [f"{prefix}.{alias.name}" for alias in node.names]
            submodules = [name for name in names if name in modules]
            found.update(submodules)
            if len(submodules) < len(names):
                found.add(prefix)
    return found


def package_graph() -> dict[str, set[str]]:
    """Our modules and the modules of ours each imports."""
    modules = {module_name(p): p for p in SOURCE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = {t for t in imports_of(path, set(modules)) if t in modules and t != name}
        graph[name] = targets
    return graph


def layer(module: str) -> str:
    parts = module.split(".")
    return LAYER_OF[parts[1] if len(parts) > 1 else "__init__"]


def test_every_module_has_a_layer():
    unknown = sorted(m for m in package_graph() if [*m.split("."), "__init__"][1] not in LAYER_OF)
    assert not unknown, f"modules of no layer (add them to LAYER_OF and the docstring): {unknown}"


def test_imports_point_down_the_layers():
    wrong = [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in package_graph().items()
        for target in sorted(targets)
        if layer(target) not in ALLOWED[layer(module)]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_import_graph_has_no_cycle():
    graph = package_graph()
    # a package's __init__ importing its own submodules is how packages re-export; a cycle through
    # __init__ and a submodule is still a cycle, so nothing is exempt
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("path", sorted(SOURCE.rglob("*.py")), ids=lambda p: str(p.relative_to(SOURCE)))
def test_nomad_lab_is_imported_only_by_the_nomad_package(path):
    if module_name(path).startswith(f"{PACKAGE}.nomad"):
        return
    external = {name.split(".")[0] for name in imports_of(path)}
    assert "nomad" not in external


def test_the_layer_rules_catch_a_format_importing_the_writer(tmp_path):
    """The checker itself: a format module importing nexus is reported."""
    assert "nexus" not in ALLOWED["formats"] and "mapping" not in ALLOWED["formats"]
    assert layer(f"{PACKAGE}.formats.gatan") == "formats" and layer(f"{PACKAGE}.nexus.template") == "nexus"
