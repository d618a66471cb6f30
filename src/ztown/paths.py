"""Where things are: the repository, the default data package, the results folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_datapackage() -> Path:
    """The repository's committed data package (works from any working directory)."""
    return REPO_ROOT / "datapackage"


def results_dir() -> Path:
    """Folder for machine-readable results (claims.csv): $ZTOWN_RESULTS, else _build/results."""
    folder = Path(os.environ.get("ZTOWN_RESULTS") or REPO_ROOT / "_build" / "results")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
