"""pytest plugin: every published result of a notebook, checked after nbval has executed it.

nbval runs each notebook's cells in one kernel and compares each cell's outputs with the committed
ones after tests/nbval_sanitize.cfg has masked the numbers and images: it checks the words, the
structure and the kinds of every output. This plugin adds one item after each notebook's last cell,
"published results", which takes the outputs nbval's run produced and compares every glued value,
table cell, printed number, figure (image and data) and claim with the committed notebook, at the
tolerances of `ztown.publication.replicate` (the engine `ztown replicate` uses). So each notebook is executed
once, and still every published number is checked.

The session's results, figure data and Monte Carlo studies computed on the fly go to a temporary
folder ($ZTOWN_RESULTS), never into the source tree; the notebooks read the committed data package.
The same item fails if executing the notebook wrote into the notebook's folder (nbval executes the
notebooks where they are).
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ENV_CLEARED = ("ZTOWN_DATAPACKAGE", "ZTOWN_FIGURE_DATA", "ZTOWN_MC_CACHE")
ITEM_NAME = "published results"
SHOW_DIFFERENCES = 20


def pytest_configure(config):
    """Point every kernel this session starts at a private results folder and the committed data."""
    folder = Path(tempfile.mkdtemp(prefix="ztown-test-results-"))
    mp = pytest.MonkeyPatch()
    for name in ENV_CLEARED:
        mp.delenv(name, raising=False)
    mp.setenv("ZTOWN_RESULTS", str(folder))

    def cleanup():
        mp.undo()
        shutil.rmtree(folder, ignore_errors=True)

    config.add_cleanup(cleanup)


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file below `folder` (hidden files and caches aside)."""
    state = {}
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            stat = path.stat()
            state[str(rel)] = (stat.st_size, stat.st_mtime_ns)
    return state


def _is_nbval_cell(item) -> bool:
    return item.path.suffix == ".ipynb" and hasattr(item, "cell_num") and hasattr(item, "test_outputs")


def pytest_collection_modifyitems(session, config, items):
    """After the last cell of each notebook nbval collected, add its "published results" item."""
    cells_of: dict = {}
    for item in items:
        if _is_nbval_cell(item):
            cells_of.setdefault(item.parent, []).append(item)
    states: dict[Path, dict] = {}
    for parent, cells in cells_of.items():
        folder = parent.path.parent
        states.setdefault(folder, folder_state(folder))
        check = PublishedResults.from_parent(parent, name=ITEM_NAME, cells=cells, folder_before=states[folder])
        items.insert(items.index(cells[-1]) + 1, check)


class NotReproduced(Exception):
    pass


class PublishedResults(pytest.Item):
    def __init__(self, *, cells, folder_before, **kwargs):
        super().__init__(**kwargs)
        self.cells = cells
        self.folder_before = folder_before

    def runtest(self):
        import nbformat

        from ztown.data.paths import figure_data_dir
        from ztown.publication.replicate import compare_notebook

        missing = [c.cell_num for c in self.cells if c.test_outputs is None]
        if len(missing) == len(self.cells):
            pytest.skip("none of the notebook's cells ran in this session")
        if missing:
            raise NotReproduced(f"cells {missing} did not run (see their own failures), so the results they "
                                "publish could not be checked")
        after = folder_state(self.path.parent)
        written = sorted(k for k in self.folder_before.keys() | after.keys() if self.folder_before.get(k) != after.get(k))
        if written:
            raise NotReproduced(f"executing the notebooks wrote into {self.path.parent} (the source tree): {written}")
        published = nbformat.read(self.path, as_version=4)
        reproduced = copy.deepcopy(published)
        outputs = {c.cell_num: c.test_outputs for c in self.cells}
        code_cells = [cell for cell in reproduced.cells if cell.cell_type == "code"]
        for n, cell in enumerate(code_cells):
            cell.outputs = outputs.get(n, cell.outputs)
        checks = compare_notebook(self.path.stem, published, reproduced, self.path.parent / "figure_data",
                                  figure_data_dir(), keep_failures=Path(__file__).resolve().parents[1] / "_build" / "test-images")
        failed = [c for c in checks if not c.passed]
        self.user_properties.append(("checks", len(checks)))
        if failed:
            lines = "\n".join(f"  {c.line()}" for c in failed[:SHOW_DIFFERENCES])
            more = f"\n  ... and {len(failed) - SHOW_DIFFERENCES} more" if len(failed) > SHOW_DIFFERENCES else ""
            raise NotReproduced(f"{len(failed)} of {len(checks)} published results not reproduced within "
                                f"tolerance (see README, 'For reviewers'):\n{lines}{more}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, NotReproduced):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{os.path.relpath(self.path, self.config.rootpath)}::{ITEM_NAME}"
