"""The package's shape, as ARCHITECTURE.md describes it: rooms of a livable size, imports flowing one way.

These read the source with :mod:`ast` (no import side effects), so a change that breaks the layout fails here
with the module and the line, not later as an import cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import nbgeo

PACKAGE = Path(nbgeo.__file__).parent
MAX_LINES = 900

# The layers of ARCHITECTURE.md, lowest first: a module imports only from its own layer or the ones before it.
# Names are module prefixes under nbgeo (the longest prefix that matches decides).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundations", ("errors", "settings", "status", "sanitize", "dsn", "_values", "paths", "limits", "steps",
                     "deprecation", "_cache", "_atomic", "_exact", "_extent", "_clip", "datasets", "schemas", "landuse",
                     "units", "forms",
                     "renderers.html", "renderers.render", "renderers.theme", "renderers.labels", "renderers.figures",
                     "html", "render", "theme", "labels")),
    ("desktop GIS styles", ("qgis",)),
    ("crs and filters", ("crs", "filters")),
    ("plan", ("plan",)),
    ("data", ("manifest", "fieldmap", "layers", "validate", "raster")),
    ("network", ("network",)),
    ("io", ("io",)),
    ("measures", ("targets", "rules", "coverage", "indicators")),
    ("engines", ("progress", "pace", "engine", "suitability")),
    ("answers", ("optimize", "audit")),
    ("renderers", ("renderers", "maps", "report", "charts", "compare", "postgis")),
    ("commands", ("runs", "cli", "")),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        if "plugin" in rel.parts:  # the QGIS plugin runs inside QGIS, never imports nbgeo
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _where(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent)) if path.is_relative_to(PACKAGE.parent) else str(path)


def _layer(module: str) -> int:
    name = module.removeprefix("nbgeo").removeprefix(".")
    best = (-1, -1)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".") or prefix == "") and len(prefix) > best[1]:
                best = (index, len(prefix))
    return best[0]


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            continue
        yield child
        yield from _runtime_nodes(child)


def _imports(module: str) -> Iterator[tuple[int, str, str]]:
    """(line, imported module, imported name or '') for every nbgeo import a module runs."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not base.startswith("nbgeo"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, (sub if sub in MODULES else base), ("" if sub in MODULES else alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("nbgeo"):
                    yield node.lineno, alias.name, ""


def test_every_module_is_ranked():
    assert [m for m in MODULES if _layer(m) < 0] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_900_lines(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by topic (ARCHITECTURE.md)"


def test_imports_flow_one_way():
    upward = []
    for module in MODULES:
        for line, target, _ in _imports(module):
            if target in MODULES and _layer(target) > _layer(module):
                upward.append(f"{_where(MODULES[module])}:{line}: {module} "
                              f"({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})")
    assert upward == []


def test_no_private_name_crosses_modules():
    crossing = []
    for module in MODULES:
        for line, target, name in _imports(module):
            if name.startswith("_") and not name.startswith("__") and target != module:
                crossing.append(f"{_where(MODULES[module])}:{line}: {name} from {target}")
    assert crossing == []


def test_no_private_attribute_of_another_module_is_used():
    crossing = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}  # local name -> nbgeo module, for `from . import x` / `import nbgeo.x as y`
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    for line, target, name in _imports(module):
                        if line == node.lineno and not name and target.rsplit(".", 1)[-1] == alias.name.split(".")[-1]:
                            aliases[local] = target
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")
                    and aliases[node.value.id] != module):
                crossing.append(f"{_where(path)}:{node.lineno}: "
                                f"{aliases[node.value.id]}.{node.attr}")
    assert crossing == []


def test_the_checks_see_what_they_check(tmp_path, monkeypatch):
    # The layer of a name, and an upward or private import, are found: the tests above are not vacuous.
    assert _layer("nbgeo.errors") == 0 and _layer("nbgeo.cli") == len(LAYERS) - 1
    assert _layer("nbgeo.renderers.html") == 0 < _layer("nbgeo.renderers.maps")
    fake = tmp_path / "nbgeo" / "errors.py"
    fake.parent.mkdir()
    fake.write_text("from .cli import main\nfrom .audit import _private\nfrom . import audit\nx = audit._hidden\n",
                    encoding="utf-8")
    monkeypatch.setitem(MODULES, "nbgeo.errors", fake)
    found = list(_imports("nbgeo.errors"))
    assert (1, "nbgeo.cli", "main") in found and (2, "nbgeo.audit", "_private") in found
    with pytest.raises(AssertionError, match=r"nbgeo.errors \(foundations\) imports nbgeo.cli \(commands\)"):
        test_imports_flow_one_way()
    with pytest.raises(AssertionError, match=r"_private from nbgeo\.audit"):
        test_no_private_name_crosses_modules()
    with pytest.raises(AssertionError, match=r"errors\.py:4: nbgeo\.audit\._hidden"):
        test_no_private_attribute_of_another_module_is_used()
