"""`ztown` works when installed from a wheel: it finds the data of the project it runs in (or the path it
is given), never a folder next to site-packages, and says clearly when there is none.

The wheel is built offline from the locked setuptools and wheel (`pip wheel --no-build-isolation`)
and installed into a scratch venv whose third-party packages come from this environment (a `.pth`
line; the editable install of the checkout is not visible there)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, env=None, timeout=600):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, ztown script, wheel) of a scratch venv with the wheel installed."""
    scratch = tmp_path_factory.mktemp("wheel")
    src = scratch / "src"  # build from a copy: the build writes build/ and *.egg-info beside the sources
    shutil.copytree(REPO_ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "_build", "__pycache__", "*.egg-info", "build", "notebooks", "book", "datapackage", "tests"))
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "-w", scratch / "dist", src], cwd=scratch)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (scratch / "dist").glob("ztown-*.whl")
    venv = scratch / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=scratch)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       cwd=scratch).stdout.strip())
    (purelib / "host-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    uv = Path(sys.executable).parent / "uv"
    installer = ([uv, "pip", "install", "--python", python, "--no-deps", "--offline", wheel] if uv.exists()
                 else [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel])
    done = run(installer, cwd=scratch)
    assert done.returncode == 0, done.stdout + done.stderr
    return python, venv / "bin" / "ztown", wheel


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ZTOWN_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def test_the_wheel_carries_every_layer_and_the_reference_figures(installed):
    names = set(zipfile.ZipFile(installed[2]).namelist())
    for layer in ("data", "analysis", "publication", "cli"):
        assert f"ztown/{layer}/__init__.py" in names
    assert "ztown/data/reference/national_figures.csv" in names


def test_installed_ztown_validates_and_loads_a_package_given_by_path(installed, small_package, tmp_path):
    python, script, _ = installed
    env = clean_env(ZTOWN_CACHE_DIR=str(tmp_path / "cache"))
    checked = run([script, "validate", small_package], cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("valid")
    code = ("import json, sys, ztown\n"
            "from ztown.data.national import national_context\n"
            "data = ztown.load(sys.argv[1])\n"
            "print(json.dumps({'file': ztown.__file__, 'rows': len(data.respondents),"
            " 'national': len(national_context())}))")
    loaded = run([python, "-c", code, small_package], cwd=tmp_path, env=env)
    assert loaded.returncode == 0, loaded.stderr
    out = json.loads(loaded.stdout)
    assert str(installed[0].parents[1]) in out["file"]  # the installed copy, not the checkout
    assert out["rows"] > 0 and out["national"] > 0


def test_installed_ztown_reads_the_project_it_runs_in(installed, small_package, tmp_path):
    """From inside a project (any subfolder), the default is that project's datapackage/."""
    python, _, _ = installed
    project = tmp_path / "fieldwork"
    shutil.copytree(small_package, project / "datapackage")
    (project / "notebooks").mkdir()
    code = "import ztown; from ztown.data.validate import resolve_descriptor; print(resolve_descriptor())"
    found = run([python, "-c", code], cwd=project / "notebooks", env=clean_env())
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == (project / "datapackage" / "datapackage.json").resolve()


def test_installed_ztown_outside_a_project_says_so(installed, tmp_path):
    python, script, _ = installed
    nowhere = tmp_path / "empty"
    nowhere.mkdir()
    checked = run([script, "validate"], cwd=nowhere, env=clean_env())
    assert checked.returncode == 2
    assert "Traceback" not in checked.stderr
    assert "no-project" in checked.stderr and "ZTOWN_DATAPACKAGE" in checked.stderr
    code = ("import ztown\n"
            "try:\n    ztown.load()\nexcept ztown.DataPackageError as exc:\n    print(exc.problems[0].kind)\n")
    loaded = run([python, "-c", code], cwd=nowhere, env=clean_env())
    assert loaded.stdout.strip() == "no-project", loaded.stdout + loaded.stderr
