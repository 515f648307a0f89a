"""Every nbgeo name the README's code uses exists under that name, without a deprecation warning."""

from __future__ import annotations

import ast
import importlib
import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _names(code: str) -> list[str]:
    """Dotted nbgeo names a block uses: ``nbgeo.read_plan``, ``maps.write_map`` (after ``from nbgeo import maps``)."""
    tree = ast.parse(code)
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("nbgeo"):
                    bound[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nbgeo"):
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    used = set(bound.values())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = []
            inner: ast.expr = node
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in bound:
                used.add(".".join([bound[inner.id], *reversed(chain)]))
    return sorted(used)


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


NAMES = sorted({name for block in BLOCKS for name in _names(block)})


def test_the_readme_has_code_to_check():
    assert len(BLOCKS) >= 5 and "nbgeo.run_audit" in NAMES and "nbgeo.maps.write_map" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_readme_names_resolve_without_deprecation(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # a moved module warns when a name is read from it
        obj = _resolve(name)
    assert getattr(obj, "__deprecated__", None) is None, f"{name}: {obj.__deprecated__}"  # a renamed function


def test_a_renamed_function_is_caught():
    assert getattr(_resolve("nbgeo.coverage.coverage_matrix"), "__deprecated__", None)


def test_old_writer_names_still_work_and_warn(tmp_path, sample):
    from nbgeo import maps, optimize

    with pytest.warns(DeprecationWarning, match=r"nbgeo\.maps\.save_map is deprecated; use nbgeo\.maps\.write_map"):
        maps.save_map(maps.dataset_map(sample, layers=["districts"]), tmp_path / "m.html")
    assert optimize.save_result.__deprecated__ == "use nbgeo.optimize.write_result"
