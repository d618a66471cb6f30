"""Shared fixtures: the committed data package, a copy of it, and a small valid package to damage.

Also the plugin that checks every published result of each notebook nbval runs (published_results),
and a private results folder for the session: nothing a test runs writes into the source tree.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from ztown.data.validate import restamp

# hooks of the plugin (pytest registers the pytest_* names of a conftest module)
from published_results import pytest_collection_modifyitems, pytest_configure  # noqa: F401

# Rows kept by the small package: enough for every check, few enough to validate in a blink.
SMALL_ROWS = {"respondents": 40, "village_years": 30}


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory) -> Path:
    """Keep the tests' validation results out of the developer's ~/.cache (and start cold)."""
    folder = tmp_path_factory.mktemp("ztown-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZTOWN_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def committed_package() -> Path:
    """The repository's datapackage/ folder (read only: never write into it)."""
    return Path(__file__).resolve().parents[1] / "datapackage"


@pytest.fixture(scope="session")
def package_copy(tmp_path_factory, committed_package) -> Path:
    """One copy of the committed package per session, for tests that read it from elsewhere."""
    target = tmp_path_factory.mktemp("package") / "datapackage"
    shutil.copytree(committed_package, target)
    return target


def _keep_first_rows(path: Path, n: int) -> None:
    """Cut a CSV file to its header and first n records (parsed, so quoted newlines are safe)."""
    text = path.read_text(encoding="utf-8")
    records = list(csv.reader(io.StringIO(text)))[: n + 1]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(records)
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.fixture(scope="session")
def small_package(tmp_path_factory, package_copy) -> Path:
    """A valid, small package: the committed one with the two long resources cut short."""
    target = tmp_path_factory.mktemp("small") / "datapackage"
    shutil.copytree(package_copy, target)
    for name, n in SMALL_ROWS.items():
        _keep_first_rows(target / "data" / f"{name}.csv", n)
    restamp(target)  # the descriptor records each file's bytes and hash
    return target


@pytest.fixture
def small_copy(tmp_path, small_package) -> Path:
    """A private copy of the small package that a test may damage."""
    target = tmp_path / "datapackage"
    shutil.copytree(small_package, target)
    return target


@pytest.fixture
def no_env_package(monkeypatch) -> None:
    """Make `load()` without a path mean the project's package, whatever the caller's shell says."""
    monkeypatch.delenv("ZTOWN_DATAPACKAGE", raising=False)
    monkeypatch.delenv("ZTOWN_PROJECT", raising=False)


@pytest.fixture(scope="session")
def study(committed_package):
    """The committed package, loaded (typed frames), shared by the model tests."""
    import ztown
    return ztown.load(committed_package)


@pytest.fixture(scope="session")
def small_study(small_package):
    """The small valid package, loaded."""
    import ztown
    return ztown.load(small_package)
