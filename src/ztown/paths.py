"""Where things are: the repository, the default data package, and where runs write.

Builds, tests and runs write only below `_build/` (or $ZTOWN_RESULTS): the source tree is read-only
to them. The committed figure data in notebooks/figure_data/ change only through `ztown publish`
(`make publish`), which re-executes the chapters deliberately.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# the chapters; the figure data published with them are in figure_data/ beside them
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RESULTS_ENV = "ZTOWN_RESULTS"
FIGURE_DATA_ENV = "ZTOWN_FIGURE_DATA"
# Where the book's pages link the figure data for download, relative to the book's source folder.
# The build points it at the figure data its own notebooks wrote (see ztown.sphinxext).
BUILD_FIGURE_DATA_LINK = Path("_build") / "figure_data"
# where `ztown replicate` writes its report, relative to the book's source folder
REPLICATION_DIR = Path("_build") / "replication"


def default_datapackage() -> Path:
    """The repository's committed data package (works from any working directory)."""
    return REPO_ROOT / "datapackage"


def results_dir() -> Path:
    """Folder for machine-readable results (claims.csv): $ZTOWN_RESULTS, else _build/results."""
    folder = Path(os.environ.get(RESULTS_ENV) or REPO_ROOT / "_build" / "results")
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
