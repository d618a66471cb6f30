"""The layers of `ztown` and their one-way rule (ARCHITECTURE.md): data → analysis → publication → cli.

A module may import from its own layer and the layers before it, never from a later one. The rule is
read from the source (every import, including those inside functions), so a violation fails here
before it can tangle the package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ztown

PACKAGE = Path(ztown.__file__).resolve().parent
LAYERS = ("data", "analysis", "publication", "cli")
RANK = {layer: i for i, layer in enumerate(LAYERS)}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    """The layer of a `ztown...` module name; None for the top-level package (the notebooks' façade)."""
    parts = module.split(".")
    if parts[0] != "ztown" or len(parts) < 2:
        return None
    if parts[1] in RANK:
        return parts[1]
    if parts[1] in ztown.NOTEBOOK_MODULES:  # `from ztown import models` reaches into a layer
        return layer_of(ztown.NOTEBOOK_MODULES[parts[1]])
    return None


def imported_modules(source: str, importer: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a `ztown` module in `source`, relative ones resolved."""
    package = importer if importer.count(".") < 2 else importer.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, m) for line, m in found if m.split(".")[0] == "ztown"]


def violations(importer: str, source: str) -> list[str]:
    mine = layer_of(importer)
    if mine is None:
        return []
    out = []
    for line, target in imported_modules(source, importer):
        theirs = layer_of(target)
        if theirs is not None and RANK[theirs] > RANK[mine]:
            out.append(f"{importer}:{line} imports {target} ({mine} may not import from {theirs})")
    return sorted(set(out))


def package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_sits_in_a_layer():
    loose = [module_name(p) for p in package_modules() if layer_of(module_name(p)) is None]
    assert sorted(loose) == ["ztown", "ztown.__main__"], loose


def test_imports_run_one_way_only():
    found = [v for p in package_modules() for v in violations(module_name(p), p.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("importer, source", [
    ("ztown.data.loader", "from ztown.analysis import models\n"),
    ("ztown.data.loader", "def f():\n    from ztown.publication.figures import save\n"),
    ("ztown.analysis.models", "import ztown.publication.publish\n"),
    ("ztown.analysis.models", "from ztown import figures\n"),
    ("ztown.publication.book", "from ..cli import book\n"),
])
def test_the_rule_catches_a_backward_import(importer, source):
    assert violations(importer, source)


def test_the_rule_allows_forward_imports():
    assert not violations("ztown.analysis.models", "from ztown.data.constructs import CAUSE_IDS\nfrom . import design\n")
    assert not violations("ztown.cli.book", "from ztown.publication.book import build_book\n")


def test_the_data_layer_runs_without_the_later_layers():
    """Loading, validating and exporting import nothing from analysis, publication or cli."""
    code = ("import sys, ztown.data.loader, ztown.data.validate, ztown.data.export, ztown.data.synth\n"
            "bad = sorted(m for m in sys.modules if m.startswith(('ztown.analysis', 'ztown.publication', 'ztown.cli')))\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_architecture_page_lists_every_module():
    """ARCHITECTURE.md names each module, so the map cannot fall behind the tree."""
    text = (PACKAGE.parents[1] / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [module_name(p) for p in package_modules()
               if p.stem not in ("__init__", "__main__") and f"`{p.stem}`" not in text]
    assert not missing, missing
