"""Where things are: the project being worked on, its data package, and where runs write.

The project is found from the working directory, not from where `ztown` is installed: the nearest
folder at or above it that holds a data package (`datapackage/datapackage.json`; the book's
`_config.yml` sits beside it). $ZTOWN_PROJECT names it explicitly, and $ZTOWN_DATAPACKAGE still
comes first for the data package itself (see `ztown.data.validate.resolve_descriptor`). A wheel
installed in site-packages therefore reads the data of the project it is run in, and a copy of the
book elsewhere reads and writes its own folders, never the original checkout's.

Builds, tests and runs write only below `_build/` (or $ZTOWN_RESULTS): the source tree is read-only
to them. The committed figure data in notebooks/figure_data/ change only through `ztown publish`
(`make publish`), which re-executes the chapters deliberately.
"""

from __future__ import annotations

import os
from pathlib import Path

from ztown.data.errors import DataPackageError, Problem

PROJECT_ENV = "ZTOWN_PROJECT"
RESULTS_ENV = "ZTOWN_RESULTS"
FIGURE_DATA_ENV = "ZTOWN_FIGURE_DATA"
DATAPACKAGE_DIR = "datapackage"
# Where the book's pages link the figure data for download, relative to the book's source folder.
# The build points it at the figure data its own notebooks wrote (see ztown.publication.sphinxext).
BUILD_FIGURE_DATA_LINK = Path("_build") / "figure_data"
# where `ztown replicate` writes its report, relative to the book's source folder
REPLICATION_DIR = Path("_build") / "replication"


def is_project(folder: Path) -> bool:
    """A project folder holds a data package (and, for the book, its `_config.yml` beside it)."""
    return (folder / DATAPACKAGE_DIR / "datapackage.json").is_file()


def find_project_root(start: Path | None = None) -> Path | None:
    """$ZTOWN_PROJECT, else the nearest project folder at or above `start` (the working directory); None if none."""
    explicit = os.environ.get(PROJECT_ENV)
    if explicit and start is None:
        return Path(explicit).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    return None


def project_root(start: Path | None = None) -> Path:
    """The project being worked on, or a clear error saying how to name one."""
    root = find_project_root(start)
    if root is None:
        here = Path(start or Path.cwd()).resolve()
        raise DataPackageError(str(here), [Problem(
            None, None, None, "no-project",
            f"a folder holding {DATAPACKAGE_DIR}/datapackage.json at or above the working directory",
            f"none at or above {here}: run from inside a project, set ${PROJECT_ENV} (the project folder) "
            f"or $ZTOWN_DATAPACKAGE (a data package), or pass the data package's path", str(here))])
    return root


def default_datapackage() -> Path:
    """The data package of the project being worked on (see `project_root`)."""
    return project_root() / DATAPACKAGE_DIR


def notebooks_dir() -> Path:
    """The project's chapters; the figure data published with them are in figure_data/ beside them."""
    return project_root() / "notebooks"


def results_dir() -> Path:
    """Folder for machine-readable results (claims.csv): $ZTOWN_RESULTS, else <project>/_build/results."""
    raw = os.environ.get(RESULTS_ENV)
    folder = Path(raw) if raw else project_root() / "_build" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def figure_data_dir() -> Path:
    """Folder the figures' data are written to: $ZTOWN_FIGURE_DATA, else <results folder>/figure_data.

    Never the notebooks' folder: a build, a test or a run on other data must not overwrite the
    committed figure data. The book build sets $ZTOWN_FIGURE_DATA to a folder kept with its
    execution cache; `ztown publish` sets it to notebooks/figure_data.
    """
    raw = os.environ.get(FIGURE_DATA_ENV)
    folder = Path(raw) if raw else results_dir() / "figure_data"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
