"""The replication engine (ztown.publication.replicate): it passes what reproduces, and it bites.

The comparisons run on the committed notebooks and figure data against copies of themselves, one
published result perturbed at a time: a glued number by 1e-4 relative, a table cell by two units of
its last printed digit, one point of a figure's data by 1e-4 relative, a figure's pixels, a claim's
verdict. `ztown replicate` and `ztown publish` run end to end on a one-cell chapter in tmp_path.
The check of the real chapters' executions is the "published results" item the test suite adds
after each notebook nbval runs (tests/published_results.py).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ztown.publication import replicate as R

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
FIGURE_DATA = NOTEBOOKS_DIR / "figure_data"
CHAPTERS = R.chapter_notebooks()


def _read(name: str):
    return nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)


def _failed(checks):
    return [c for c in checks if not c.passed]


def _set_glue(nb, name: str, mime: str, value: str) -> str:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                old = out["data"][R.GLUE_PREFIX + mime]
                out["data"][R.GLUE_PREFIX + mime] = value
                return old
    raise KeyError(name)


def _glued_number(nb, name: str) -> float:
    return float(R.glue_records(R.code_cell_outputs(nb))[name][1]["text/plain"])


@pytest.fixture(scope="module")
def self_comparison():
    return {p.stem: R.compare_notebook(p.stem, _read(p.stem), _read(p.stem), FIGURE_DATA, FIGURE_DATA)
            for p in CHAPTERS}


def test_every_committed_result_is_compared_and_matches_itself(self_comparison):
    assert len(self_comparison) >= 6
    checks = [c for cs in self_comparison.values() for c in cs]
    assert not _failed(checks), [c.line() for c in _failed(checks)][:5]
    kinds = {c.kind for c in checks}
    assert {"glue", "table", "image", "figure-data", "claim"} <= kinds, kinds
    for name, cs in self_comparison.items():
        nb = _read(name)
        glued = R.glue_records(R.code_cell_outputs(nb))
        items = [c.item for c in cs if c.kind in ("glue", "image")]
        unchecked = [g for g in glued if not any(i == g or i.startswith(f"{g} ") for i in items)]
        assert not unchecked, (name, unchecked)
        assert all(any(c.item.startswith(f) for c in cs if c.kind == "figure-data") for f in R.figure_data_files(nb))
    linked = {f for p in CHAPTERS for f in R.figure_data_files(_read(p.stem))}
    assert linked == {p.name for p in FIGURE_DATA.glob("*.csv")}, "every committed figure-data file is linked"


def test_every_tolerance_rule_matches_a_published_number(self_comparison):
    """The table of iterative and numerical-derivative results names numbers the book publishes."""
    keys = [c.key for cs in self_comparison.values() for c in cs if c.key]
    for pattern, kind in R.TOLERANCE_RULES:
        assert any(re.search(pattern, k) for k in keys), f"rule {pattern!r} ({kind}) matches nothing published"


@pytest.mark.parametrize("notebook, name, kind", [
    ("02_problems", "pr-gap-frm-est", "closed-form"),
    ("05_paths", "pa-base", "iterative"),
    ("03_causes", "ca-sup-ologit", "iterative"),
])
def test_a_glued_number_moved_by_1e_4_relative_fails(notebook, name, kind):
    published = _read(notebook)
    value = _glued_number(published, name)
    assert R.tolerance_for(f"glue:{name}").kind == kind
    for factor, passes in ((1 + 1e-4, False), (1 - 1e-4, False), (1 + 1e-12, True)):
        reproduced = copy.deepcopy(published)
        _set_glue(reproduced, name, "text/plain", repr(value * factor))
        failed = _failed(R.compare_notebook(notebook, published, reproduced, FIGURE_DATA, FIGURE_DATA))
        assert [c.item for c in failed] == ([] if passes else [name]), (factor, [c.line() for c in failed])


def test_numerical_derivative_results_are_checked_at_their_looser_tolerance():
    published = _read("05_paths")
    name = "pa-sup-sat-hi"
    assert R.tolerance_for(f"glue:{name}").kind == "numerical-derivative"
    value = _glued_number(published, name)
    for factor, passes in ((1 + 1e-2, False), (1 + 1e-5, True)):
        reproduced = copy.deepcopy(published)
        _set_glue(reproduced, name, "text/plain", repr(value * factor))
        failed = _failed(R.compare_notebook("05_paths", published, reproduced, FIGURE_DATA, FIGURE_DATA))
        assert bool(failed) != passes, factor


def test_a_glued_count_must_be_equal_and_a_missing_or_new_glue_fails():
    published = _read("03_causes")
    reproduced = copy.deepcopy(published)
    _set_glue(reproduced, "ca-n", "text/plain", str(int(_glued_number(published, "ca-n")) + 1))
    assert [c.item for c in _failed(R.compare_notebook("03_causes", published, reproduced, FIGURE_DATA, FIGURE_DATA))] == ["ca-n"]
    renamed = copy.deepcopy(published)
    for cell in renamed.cells:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook", {}).get("name") == "ca-r2":
                out["metadata"]["scrapbook"]["name"] = "ca-r2-renamed"
    failed = _failed(R.compare_notebook("03_causes", published, renamed, FIGURE_DATA, FIGURE_DATA))
    assert sorted(c.item for c in failed) == ["ca-r2", "ca-r2-renamed"]


def test_glued_words_must_be_equal():
    published = _read("03_causes")
    reproduced = copy.deepcopy(published)
    old = _set_glue(reproduced, "ca-order", "text/markdown", "Something else")
    failed = _failed(R.compare_notebook("03_causes", published, reproduced, FIGURE_DATA, FIGURE_DATA))
    assert [c.item for c in failed] == ["ca-order (text)"] and old != "Something else"


def _first_table_output(nb):
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            if "<table" in "".join(out.get("data", {}).get("text/html", "")):
                return n, out
    raise AssertionError("no table")


@pytest.mark.parametrize("units, passes", [(1, True), (2, False), (10, False)])
def test_a_table_cell_is_checked_at_its_printed_precision(units, passes):
    published = _read("03_causes")
    reproduced = copy.deepcopy(published)
    n, out = _first_table_output(reproduced)
    html = "".join(out["data"]["text/html"])
    cell = re.search(r"<td[^>]*>(-?\d+\.(\d+))</td>", html)
    value, decimals = float(cell.group(1)), len(cell.group(2))
    moved = f"{value + units * 10 ** -decimals:.{decimals}f}"
    out["data"]["text/html"] = html[:cell.start(1)] + moved + html[cell.end(1):]
    failed = _failed(R.compare_notebook("03_causes", published, reproduced, FIGURE_DATA, FIGURE_DATA))
    assert [c.kind for c in failed] == ([] if passes else ["table"]), [c.line() for c in failed]
    assert passes or (failed[0].published, failed[0].reproduced) == (cell.group(1), moved)


def test_printed_numbers_and_words():
    checks = R.compare_printed("nb", "text", "x", "text:nb", "gap -0.868 (p = 0.0001) in 2392 rows",
                               "gap -0.869 (p = 1e-4) in 2392 rows")
    assert all(c.passed for c in checks) and len(checks) == 3
    assert not all(c.passed for c in R.compare_printed("nb", "text", "x", "text:nb", "n = 2392", "n = 2393"))
    assert not all(c.passed for c in R.compare_printed("nb", "text", "x", "text:nb", "gap 0.5 up", "gap 0.5 down"))
    assert R.NUMBER.findall("P1 3.11.7 x2 -4.5e-03 12% (7)") == ["-4.5e-03", "12", "7"]


def _copy_figure_data(tmp_path) -> Path:
    target = tmp_path / "figure_data"
    shutil.copytree(FIGURE_DATA, target)
    return target


def test_one_point_of_a_figure_s_data_moved_by_1e_4_relative_fails(tmp_path):
    reproduced = _copy_figure_data(tmp_path)
    path = reproduced / "problems-gaps.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = lines[2].split(",")
    column = lines[0].split(",").index("estimate")
    fields[column] = f"{float(fields[column]) * (1 + 1e-4):.6g}"
    lines[2] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    nb = _read("02_problems")
    failed = _failed(R.compare_notebook("02_problems", nb, nb, FIGURE_DATA, reproduced))
    assert [(c.kind, c.item) for c in failed] == [("figure-data", "problems-gaps.csv row 2 (cov), estimate")]


def test_a_figure_s_data_that_is_not_written_fails(tmp_path):
    reproduced = _copy_figure_data(tmp_path)
    (reproduced / "causes-oaxaca.csv").unlink()
    nb = _read("03_causes")
    failed = _failed(R.compare_notebook("03_causes", nb, nb, FIGURE_DATA, reproduced))
    assert [(c.kind, c.reproduced) for c in failed] == [("figure-data", "(not written)")]


def test_a_claim_s_verdict_is_compared(tmp_path):
    reproduced = _copy_figure_data(tmp_path)
    path = reproduced / R.CLAIMS_FILE
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[1]
    path.write_text(text.replace(first, first.replace(",supported,", ",not supported by these data,")), encoding="utf-8")
    nb = _read("05_paths")
    failed = _failed(R.compare_notebook("05_paths", nb, nb, FIGURE_DATA, reproduced))
    claim = [c for c in failed if c.kind == "claim"]
    assert len(claim) == 1 and (claim[0].published, claim[0].reproduced) == ("supported", "not supported by these data")


def _png_of(nb, name: str) -> str:
    return R.glue_records(R.code_cell_outputs(nb))[name][1]["image/png"]


def test_figures_are_compared_perceptually_not_by_bytes():
    from PIL import Image, ImageDraw

    published = _read("05_paths")
    png = _png_of(published, "fig-pa-paths")
    image = Image.open(io.BytesIO(base64.b64decode(png))).convert("RGBA")

    def encoded(img, **kwargs) -> str:
        buf = io.BytesIO()
        img.save(buf, format="png", **kwargs)
        return base64.b64encode(buf.getvalue()).decode()

    same_pixels = encoded(image, compress_level=1)
    assert same_pixels != png
    check = R.compare_png("05_paths", "fig", png, same_pixels)
    assert check.passed and check.difference == 0

    marked = image.copy()
    ImageDraw.Draw(marked).rectangle([100, 100, 112, 112], fill=(255, 0, 0, 255))  # one moved marker's worth
    check = R.compare_png("05_paths", "fig", png, encoded(marked))
    assert not check.passed and check.difference > R.IMAGE_RMS_TOLERANCE

    reproduced = copy.deepcopy(published)
    _set_glue(reproduced, "fig-pa-paths", "image/png", encoded(marked))
    failed = _failed(R.compare_notebook("05_paths", published, reproduced, FIGURE_DATA, FIGURE_DATA))
    assert [(c.kind, c.item) for c in failed] == [("image", "fig-pa-paths")]


def test_an_error_or_a_missing_output_fails():
    published = _read("03_causes")
    reproduced = copy.deepcopy(published)
    n, out = _first_table_output(reproduced)
    code = [c for c in reproduced.cells if c.cell_type == "code"][n]
    code.outputs = [o for o in code.outputs if o is not out] + [
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])]
    failed = _failed(R.compare_notebook("03_causes", published, reproduced, FIGURE_DATA, FIGURE_DATA))
    assert failed and all(c.kind == "structure" for c in failed)


def test_the_nbval_sanitizer_masks_what_the_engine_compares():
    from nbval.plugin import get_sanitize_patterns

    patterns = dict(get_sanitize_patterns((REPO_ROOT / "tests" / "nbval_sanitize.cfg").read_text(encoding="utf-8")))
    assert R.NUMBER_PATTERN in patterns, "nbval masks exactly the numbers the engine checks"
    image_pattern = next(p for p, replace in patterns.items() if replace == "PNG-IMAGE")
    assert re.sub(image_pattern, "PNG-IMAGE", _png_of(_read("05_paths"), "fig-pa-paths")) == "PNG-IMAGE"
    assert re.sub(image_pattern, "PNG-IMAGE", "abc def 123") == "abc def 123"


# --- end to end on a one-cell chapter ---------------------------------------------------------

TINY = """\
import pandas as pd
from ztown.publication import figures, publish
publish.number("tiny-sum", 0.1 + 0.2)
path = figures.save_figure_data(pd.DataFrame({"x": [1, 2], "y": [0.25, 1 / 3]}), "tiny")
"""


@pytest.fixture(scope="module")
def tiny_chapter(tmp_path_factory):
    """A one-cell chapter in a scratch folder, published with `ztown publish`."""
    folder = tmp_path_factory.mktemp("tiny") / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny"), nbformat.v4.new_code_cell(TINY),
                nbformat.v4.new_markdown_cell("{download}`Figure data (CSV) </_build/figure_data/tiny.csv>`")]
    path = folder / "01_tiny.ipynb"
    nbformat.write(nb, path)
    lines = []
    assert R.publish([path], jobs=1, echo=lines.append) == 0, lines
    assert (folder / "figure_data" / "tiny.csv").is_file() and _glued_number(nbformat.read(path, 4), "tiny-sum") == 0.1 + 0.2
    return path


@pytest.fixture(scope="module")
def tiny_replication(tiny_chapter, tmp_path_factory):
    """`ztown replicate` run on the published one-cell chapter: (exit code, printed, output folder, before, after)."""
    from ztown.cli import main

    out = tmp_path_factory.mktemp("tiny-replication") / "replication"
    state = lambda: {p: p.stat().st_mtime_ns for p in tiny_chapter.parent.rglob("*")}  # noqa: E731
    before = state()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["replicate", "--out", str(out), "--jobs", "1", str(tiny_chapter)])
    return code, printed.getvalue(), out, before, state()


def test_replicate_reproduces_a_published_chapter_and_writes_its_report(tiny_replication):
    code, printed, out, before, after = tiny_replication
    assert code == 0, printed
    assert re.search(r"\[1/1\] 01_tiny: executed in [\d.]+ s; \d+ checks, all within tolerance", printed), printed
    assert after == before, "the published copy is read only"
    report = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("# Replication report", "## What was compared", "## Tolerances", "## Differences", "## Environment"):
        assert heading in report
    assert "| BLAS |" in report and "| Python |" in report and "| CPU |" in report
    rows = list(csv.reader((out / "report.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0] == R.REPORT_COLUMNS
    assert ["01_tiny", "glue", "tiny-sum", "0.30000000000000004", "0.30000000000000004", "0"] in [r[:6] for r in rows]
    assert sum(r[1] == "figure-data" and r[2].startswith("tiny.csv") and r[-1] == "pass" for r in rows) == 4
    summary = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert summary["ok"] and summary["failed"] == 0


def test_replicate_exits_1_and_prints_the_first_differences(tiny_chapter, tmp_path, capsys):
    from ztown.cli import main

    chapter = tmp_path / "notebooks" / tiny_chapter.name
    shutil.copytree(tiny_chapter.parent, chapter.parent)
    nb = nbformat.read(chapter, as_version=4)
    _set_glue(nb, "tiny-sum", "text/plain", repr(0.3 * (1 + 1e-4)))
    nbformat.write(nb, chapter)
    out = tmp_path / "replication"
    assert main(["replicate", "--out", str(out), "--jobs", "1", str(chapter)]) == 1
    err = capsys.readouterr().err
    assert "1 of" in err and "NOT reproduced" in err and "glue tiny-sum: published 0.30002999" in err
    assert "| 01_tiny | glue | tiny-sum |" in (out / "report.md").read_text(encoding="utf-8")


def test_the_book_page_shows_the_last_report_or_says_there_is_none(tiny_replication, tmp_path):
    none = R.report_page(tmp_path / "nothing-here")
    assert "# Replication report" in none and "No replication has been run" in none
    out = tiny_replication[2]
    environment = json.loads((out / "report.json").read_text(encoding="utf-8"))["environment"]
    page = R.report_page(out, environment["data_hash"], environment["code_hash"])
    assert "**Every published result was reproduced.**" in page and "same data package and helpers" in page
    assert page.count("\n# ") == 1 and "\n## Environment" in page, "one title, then sections"
    other_data = R.report_page(out, "0" * 64, environment["code_hash"])
    assert "another data package" in other_data and "run `make replicate`" not in other_data
    stale = R.report_page(out, environment["data_hash"], "0" * 64)
    assert "run `make replicate` again" in stale


def test_nbval_with_the_project_s_sanitizer_still_catches_a_moved_number(tiny_chapter, tmp_path):
    """The chain `make test` relies on: nbval passes the cell (its numbers are masked), and the
    "published results" item after it fails on the glued number moved by 1e-4."""
    chapter = tmp_path / "notebooks" / tiny_chapter.name
    shutil.copytree(tiny_chapter.parent, chapter.parent)
    nb = nbformat.read(chapter, as_version=4)
    _set_glue(nb, "tiny-sum", "text/plain", repr(0.3 * (1 + 1e-4)))
    nbformat.write(nb, chapter)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT / "tests"), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "published_results", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--nbval", "--nbval-sanitize-with", str(REPO_ROOT / "tests" / "nbval_sanitize.cfg"), "-rA",
         "--rootdir", str(tmp_path), str(chapter)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]
    assert re.search(r"PASSED .*01_tiny.*Cell 0", out) and re.search(r"FAILED .*01_tiny\.ipynb::published results", out), out[-3000:]
    assert "glue tiny-sum: published 0.30002999" in out
