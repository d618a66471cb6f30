"""The helper installs where researchers are: any Python from 3.11 on, and a plain install (frictionless,
pandas, pyarrow) is enough to validate, load and export to Parquet; models, figures, the book and the
Stata/DuckDB exports are extras that are imported only when used."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CORE = {"numpy", "pandas", "pyarrow", "frictionless"}
# what a plain install does not bring (each is in an extra)
HEAVY = ("scipy", "statsmodels", "matplotlib", "seaborn", "duckdb", "pyreadstat", "sphinx", "jupyter_book",
         "myst_nb")


def test_requires_python_admits_the_pythons_researchers_have():
    spec = SpecifierSet(PROJECT["requires-python"])
    for version in ("3.11", "3.12", "3.13"):
        assert spec.contains(version), version
    assert not spec.contains("3.10")


def test_core_dependencies_are_the_data_dependencies_and_the_rest_are_extras():
    core = {Requirement(r).name for r in PROJECT["dependencies"]}
    assert core == CORE
    extras = {name: {Requirement(r).name for r in reqs} for name, reqs in PROJECT["optional-dependencies"].items()}
    assert {"pyreadstat", "duckdb"} <= extras["export"]
    assert {"scipy", "statsmodels", "matplotlib", "seaborn"} <= extras["analysis"]
    assert "jupyter-book" in extras["book"]
    book_self = [Requirement(r) for r in PROJECT["optional-dependencies"]["book"] if Requirement(r).name == "ztown"]
    assert book_self and {"analysis", "export"} <= book_self[0].extras


def run_without_extras(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter in which every module of an extra fails to import."""
    blocker = textwrap.dedent(f"""
        import importlib.abc, sys
        BLOCKED = {HEAVY!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: not a core dependency)")
        sys.meta_path.insert(0, Block())
    """)
    script = tmp_path / "script.py"
    script.write_text(blocker + textwrap.dedent(code), encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)


def test_a_core_install_validates_loads_and_exports_parquet(small_package, tmp_path, isolated_cache):
    result = run_without_extras(f"""
        import json, sys
        import ztown
        from ztown.cli import main
        from ztown.data.export import export
        from ztown.data.validate import validate_package
        assert validate_package({str(small_package)!r}, use_cache=False).valid
        data = ztown.load({str(small_package)!r})
        written = export(data, "parquet", "out")
        try:
            export(data, "stata", "stata")
        except ImportError as exc:
            stata = str(exc)
        code = main(["validate", {str(small_package)!r}])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        print(json.dumps({{"rows": len(data.respondents), "written": len(written), "stata": stata,
                           "validate": code, "heavy": heavy}}))
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["rows"] == 40 and out["written"] > 0 and out["validate"] == 0 and out["heavy"] == []
    assert "pyreadstat" in out["stata"] and "ztown[export]" in out["stata"]
    assert not (tmp_path / "stata").exists()


def test_the_cli_help_needs_no_extra(tmp_path):
    result = run_without_extras("""
        import contextlib, io
        from ztown.cli import main
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                main(["--help"])
            except SystemExit as exc:
                assert exc.code == 0
        assert "validate" in buf.getvalue() and "export" in buf.getvalue()
    """, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
