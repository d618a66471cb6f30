"""The recipes of book/reading_the_data.md (and the README's copy of them) run, and read what `ztown.load`
reads: the Python blocks are taken from the page itself and executed, so the page cannot drift. R and
Stata are shown, not run; their hand-written variable range is checked against the descriptor."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

import ztown

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "reading_the_data.md"
README = ROOT / "README.md"
README_HEADING = "## Reading the data without the helper"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```\s*$", re.S | re.M)


def blocks(text: str, language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(text) if lang == language]


def page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def recipes(package_copy) -> dict:
    """Every Python block of the page, run in order in one namespace, from the folder holding `datapackage/`
    (a copy of the committed package). A block that needs polars is skipped when polars is not installed."""
    namespace: dict = {}
    skipped = []
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(package_copy.parent)
        for code in blocks(page_text(), "python"):
            try:
                exec(compile(code, str(PAGE), "exec"), namespace)
            except ModuleNotFoundError as exc:
                if exc.name != "polars":
                    raise
                skipped.append(exc.name)
    namespace["__skipped__"] = skipped
    return namespace


@pytest.fixture(scope="module")
def loaded(package_copy):
    return ztown.load(package_copy)


def plain(value):
    """A cell as a plain Python value, every kind of missing as None."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def assert_same_values(got: pd.DataFrame, want: pd.DataFrame, who: str, resource: str) -> None:
    assert list(got.columns) == list(want.columns), (who, resource)
    assert len(got) == len(want), (who, resource)
    for column in want.columns:
        expected = [plain(v) for v in want[column].astype(object)]
        found = [plain(v) for v in got[column].astype(object)]
        for row, (a, b) in enumerate(zip(found, expected)):
            if isinstance(b, float) and isinstance(a, (int, float)) and not isinstance(a, bool):
                assert a == pytest.approx(b, rel=1e-15, abs=0), (who, resource, row + 2, column)
            else:
                assert a == b and type(a) is type(b), (who, resource, row + 2, column, a, b)


@pytest.mark.parametrize("reader", ["read_with_pandas", "read_with_duckdb", "read_with_polars"])
def test_each_python_recipe_reads_what_ztown_load_reads(recipes, loaded, reader, package_copy, monkeypatch):
    if reader == "read_with_polars":
        pytest.importorskip("polars")
    monkeypatch.chdir(package_copy.parent)
    for name, frame in loaded.frames.items():
        got = recipes[reader](name)
        got = got.df() if hasattr(got, "df") and not isinstance(got, pd.DataFrame) else got
        if hasattr(got, "to_pandas") and not isinstance(got, pd.DataFrame):  # polars: keep integers with nulls
            got = got.to_pandas(use_pyarrow_extension_array=True)
        assert_same_values(got, frame, reader, name)


def test_the_page_shows_both_mistakes_and_they_are_real(recipes, loaded):
    right = loaded.respondents["satisfaction"].astype("Float64").mean()
    assert recipes["respondents"]["satisfaction"].mean() == pytest.approx(right)
    assert recipes["plain"]["satisfaction"].mean() > right  # 8 and 9 read as answers
    real = loaded.respondents["participation"]
    wiped = int(real.isin([8, 9]).sum())
    assert wiped > 0 and int(recipes["global_nulls"]["participation"].isna().sum()) == wiped
    assert real.notna().all()


def test_the_with_ztown_block_runs(recipes):
    assert isinstance(recipes["data"], ztown.StudyData)


def test_the_stata_range_covers_exactly_the_fields_with_their_own_codes(loaded):
    code = "\n".join(blocks(page_text(), "stata"))
    ranges = set(re.findall(r"mvdecode (\w+)-(\w+),", code)) | set(re.findall(r"label values (\w+)-(\w+) ", code))
    assert len(ranges) == 1, ranges
    (first, last), = ranges
    res = next(r for r in loaded.descriptor["resources"] if r["name"] == "respondents")
    names = [f["name"] for f in res["schema"]["fields"]]
    coded = [f["name"] for f in res["schema"]["fields"] if "missingValues" in f]
    assert names[names.index(first): names.index(last) + 1] == coded
    assert "participation" not in coded
    assert {code_ for f in res["schema"]["fields"] for code_ in
            (m["value"] for m in f.get("missingValues", []))} == {"8", "9"}
    assert "mv(8=.a \\ 9=.b)" in code


def test_every_tool_is_on_the_page():
    text = page_text()
    for heading in ("### pandas", "### polars", "### DuckDB", "### R", "### Stata"):
        assert heading in text, heading
    assert blocks(text, "r") and blocks(text, "stata") and len(blocks(text, "python")) >= 5
    assert "read_resource(" in text and "read_csv(" in text  # the frictionless and readr routes


def test_the_page_has_no_number_typed_into_prose():
    import importlib.util
    spec = importlib.util.spec_from_file_location("prose", ROOT / "tests" / "test_prose.py")
    prose = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prose)
    assert prose.typed_numbers(page_text()) == []


def test_the_readme_section_repeats_recipes_that_run_here():
    """The README's section shows the pandas recipe; it must be the page's (which runs above), word for word."""
    text = README.read_text(encoding="utf-8")
    assert README_HEADING in text, f"README lacks {README_HEADING!r} (the block from the issue 15 work)"
    section = text.split(README_HEADING, 1)[1].split("\n## ", 1)[0]
    page_blocks = blocks(page_text(), "python")
    shown = blocks(section, "python")
    assert shown, "the README section shows no Python recipe"
    for code in shown:
        assert code in page_blocks, f"README recipe not on the page (so not tested):\n{code}"
    for word in ("[export]", "[analysis]", "[book]", "reading_the_data", "**R**", "**Stata**", "3.12"):
        assert word in section, word


def test_the_page_builds_without_a_single_sphinx_warning(committed_package, tmp_path):
    """With the book's MyST settings and -n, next to the generated codebook it links to."""
    from ztown.publication.codebook import write_pages

    spec = __import__("importlib.util").util.spec_from_file_location("cb", ROOT / "tests" / "test_codebook.py")
    codebook_tests = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(codebook_tests)
    src = tmp_path / "src"
    write_pages(committed_package / "datapackage.json", src / "generated")
    (src / "reading_the_data.md").write_text(page_text(), encoding="utf-8")
    _, warnings = codebook_tests.lean_sphinx_build(src, tmp_path, ["reading_the_data", "generated/*"])
    assert warnings == "", warnings
    html = (tmp_path / "html" / "reading_the_data.html").read_text(encoding="utf-8")
    assert "read_with_pandas" in html and 'href="generated/codebook.html' in html


def test_the_api_reference_lists_every_attribute_of_studydata():
    text = page_text()
    for attribute in ("frames", "missing", "descriptor", "path", "content_hash", "truth"):
        assert f"`{attribute}`" in text, attribute
    signature = "ztown.load(path=None, *, use_cache=True, max_bytes=None)"
    assert signature in text
    import inspect
    assert f"ztown.load{inspect.signature(ztown.load)}".replace("'", "").startswith("ztown.load(path") and \
        [p for p in inspect.signature(ztown.load).parameters] == ["path", "use_cache", "max_bytes"]
    assert json.dumps(list(ztown.load.__annotations__))  # documented with types
