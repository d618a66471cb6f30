"""`ztown.load`: typed frames, every row kept, labelled missing codes recorded, and a validation cache
that is used for the same bytes and never for different ones."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import pytest

import ztown
import ztown.data.validate as validate
from ztown import DataPackageError
from ztown.data import schema
from ztown.data.loader import StudyData

PLAIN_DTYPES = {"integer": "Int64", "number": "float64", "boolean": "boolean", "string": "string"}


def _csv_records(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_every_study_resource_is_a_frame_with_the_committed_hash(study, committed_package):
    assert isinstance(study, StudyData)
    assert list(study.frames) == list(schema.RESOURCE_NAMES)
    assert study.path == committed_package / "datapackage.json"
    assert study.content_hash == validate.read_package(committed_package).content_hash
    assert len(study.content_hash) == 64


@pytest.mark.parametrize("resource", schema.RESOURCE_NAMES)
def test_row_counts_equal_the_csv_lines_minus_the_header(study, committed_package, resource):
    data = (committed_package / "data" / f"{resource}.csv").read_bytes()
    assert data.endswith(b"\n")
    assert len(study[resource]) == data.count(b"\n") - 1


@pytest.mark.parametrize("resource", schema.RESOURCE_NAMES)
def test_dtypes_follow_the_descriptor(study, resource):
    frame = study[resource]
    want = next(r for r in schema.resources() if r["name"] == resource)["schema"]["fields"]
    assert list(frame.columns) == [f["name"] for f in want]  # primary keys stay columns
    assert isinstance(frame.index, pd.RangeIndex)
    for fld in want:
        dtype = frame[fld["name"]].dtype
        if "categories" in fld:
            assert isinstance(dtype, pd.CategoricalDtype), fld["name"]
            assert list(dtype.categories) == [c["value"] for c in fld["categories"]], fld["name"]
            assert dtype.ordered == bool(fld.get("categoriesOrdered")), fld["name"]
        else:
            assert str(dtype) == PLAIN_DTYPES[fld["type"]], (fld["name"], str(dtype))


def test_likert_items_are_ordered_one_to_five_with_codes_8_and_9_as_na(study, committed_package):
    sup2 = study.respondents["sup2"]
    assert sup2.cat.ordered and list(sup2.cat.categories) == [1, 2, 3, 4, 5]
    raw = pd.read_csv(committed_package / "data" / "respondents.csv", dtype=str, keep_default_na=False)
    coded_missing = raw["sup2"].isin(["8", "9"])
    assert coded_missing.any()
    assert (sup2.isna() == coded_missing).all()
    answered = ~coded_missing
    assert (sup2[answered].astype(int) == raw.loc[answered, "sup2"].astype(int)).all()


def test_every_labelled_missing_code_is_recorded_and_no_row_dropped(study, committed_package):
    records = _csv_records(committed_package / "data" / "respondents.csv")
    header, rows = records[0], records[1:]
    likert = [f["name"] for f in next(r for r in schema.resources() if r["name"] == "respondents")
              ["schema"]["fields"] if "missingValues" in f]
    expected = sorted((i + 2, name, row[header.index(name)]) for i, row in enumerate(rows) for name in likert
                      if row[header.index(name)] in ("8", "9"))
    got = study.missing[study.missing["resource"] == "respondents"]
    assert sorted(zip(got["row"], got["field"], got["code"])) == expected
    assert set(got["label"]) == {"don't know", "refused"}
    assert len(study.respondents) == len(rows)
    for name in likert:  # each NA of an item is one recorded code, nothing else went missing
        assert study.respondents[name].isna().sum() == (got["field"] == name).sum()


def test_every_national_figure_has_a_publication_and_an_address(study):
    national = study.national_context
    assert len(national) > 0
    for column in ("publication", "read_at"):
        assert national[column].notna().all() and (national[column].str.strip() != "").all(), column


def test_truth_holds_the_numeric_parameters(study):
    params = study.parameters.set_index("parameter")["value"].dropna()
    assert study.truth == pytest.approx(params.to_dict())
    assert "beta_fun" in study.truth


def test_field_gives_a_descriptor_and_names_an_unknown_one(study):
    assert study.field("respondents", "sup2")["type"] == "integer"
    with pytest.raises(KeyError, match="respondents.nope"):
        study.field("respondents", "nope")


def test_path_may_be_the_folder_the_descriptor_or_the_environment(small_package, monkeypatch, tmp_path):
    by_folder = ztown.load(small_package)
    by_file = ztown.load(small_package / "datapackage.json")
    monkeypatch.setenv("ZTOWN_DATAPACKAGE", str(small_package))
    monkeypatch.chdir(tmp_path)  # and from any working directory
    by_env = ztown.load()
    assert by_folder.content_hash == by_file.content_hash == by_env.content_hash
    assert by_env.path == small_package / "datapackage.json"


def test_default_is_the_package_of_the_project_worked_in(no_env_package, monkeypatch, committed_package):
    """From any folder inside the project the default is its datapackage/, found upward."""
    monkeypatch.delenv("ZTOWN_PROJECT", raising=False)
    monkeypatch.chdir(committed_package.parent / "notebooks" / "montecarlo")
    assert ztown.load().path == committed_package / "datapackage.json"


def test_a_copy_of_the_project_reads_its_own_package(no_env_package, monkeypatch, tmp_path, small_package):
    """Not the checkout the code was installed from (issue 11)."""
    monkeypatch.delenv("ZTOWN_PROJECT", raising=False)
    shutil.copytree(small_package, tmp_path / "copy" / "datapackage")
    (tmp_path / "copy" / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "copy" / "notebooks")
    assert ztown.load().path == (tmp_path / "copy" / "datapackage" / "datapackage.json").resolve()


def test_outside_any_project_the_default_is_a_clear_error(no_env_package, monkeypatch, tmp_path):
    monkeypatch.delenv("ZTOWN_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataPackageError, match="no-project") as caught:
        ztown.load()
    assert "ZTOWN_DATAPACKAGE" in str(caught.value)


def test_a_missing_package_is_a_clear_error(tmp_path):
    with pytest.raises(DataPackageError, match="missing-file") as caught:
        ztown.load(tmp_path / "nowhere")
    assert caught.value.problems[0].path == str(tmp_path / "nowhere")


# ----------------------------------------------------------------------------- the validation cache


@pytest.fixture
def fresh_cache(monkeypatch, tmp_path) -> Path:
    """An empty cache (on disk and in memory) for this test alone."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("ZTOWN_CACHE_DIR", str(folder))
    validate.clear_memory_cache()
    yield folder
    validate.clear_memory_cache()


@pytest.fixture
def count_validations(monkeypatch, fresh_cache) -> list[Path]:
    """Record each time frictionless actually runs (a cache hit does not run it), starting from no cache."""
    calls: list[Path] = []
    real = validate.frictionless_problems

    def counting(files):
        calls.append(files.descriptor_path)
        return real(files)

    monkeypatch.setattr(validate, "frictionless_problems", counting)
    return calls


@pytest.fixture
def fake_frictionless(monkeypatch, fresh_cache) -> list[Path]:
    """Stand in for frictionless (it would find the package valid) and record each time it would run:
    the cache logic does not depend on what frictionless says, and a real run costs most of a second."""
    calls: list[Path] = []

    def valid_package(files):
        calls.append(files.descriptor_path)
        return [], {}

    monkeypatch.setattr(validate, "frictionless_problems", valid_package)
    return calls


def test_a_repeated_load_is_served_from_memory_then_from_disk(small_copy, fake_frictionless):
    count_validations = fake_frictionless
    first = validate.validate_package(small_copy)
    assert first.valid and first.cached == "" and len(count_validations) == 1
    assert validate.validate_package(small_copy).cached == "memory"
    validate.clear_memory_cache()
    assert validate.validate_package(small_copy).cached == "disk"
    ztown.load(small_copy)
    assert len(count_validations) == 1
    assert validate.validate_package(small_copy, use_cache=False).cached == ""
    assert len(count_validations) == 2


def test_changed_bytes_are_validated_again_and_refused(small_copy, count_validations):
    ztown.load(small_copy)
    path = small_copy / "data" / "villages.csv"
    data = path.read_bytes()
    path.write_bytes(data.replace(b",true\n", b",yes\n", 1))
    assert path.read_bytes() != data
    with pytest.raises(DataPackageError, match="villages"):
        ztown.load(small_copy)
    assert len(count_validations) == 2
    path.write_bytes(data)  # the original bytes again: the original (valid) result is reused
    ztown.load(small_copy)
    assert len(count_validations) == 2


def test_a_cache_entry_for_other_bytes_or_another_checker_is_ignored(small_copy, fake_frictionless,
                                                                     fresh_cache, monkeypatch):
    count_validations = fake_frictionless
    files = validate.read_package(small_copy)
    validate.check_files(files)
    entry_path = fresh_cache / "validation" / f"{validate._cache_key(files.content_hash)}.json"
    entry = json.loads(entry_path.read_text())

    for forged in ({**entry, "content_hash": "0" * 64}, {**entry, "checker": "another frictionless"}, "{not json"):
        entry_path.write_text(forged if isinstance(forged, str) else json.dumps(forged))
        validate.clear_memory_cache()
        assert validate.check_files(files).cached == ""
    assert len(count_validations) == 4

    # a new frictionless version makes a new key, so results of the old one are not reused
    validate.checker_fingerprint.cache_clear()
    monkeypatch.setattr(validate.metadata, "version", lambda name: "999.0")
    try:
        validate.clear_memory_cache()
        assert validate.check_files(files).cached == ""
    finally:
        monkeypatch.undo()
        validate.checker_fingerprint.cache_clear()
    assert len(count_validations) == 5


def test_an_invalid_result_is_cached_too(small_copy, count_validations):
    (small_copy / "data" / "items.csv").unlink()
    for _ in range(2):
        with pytest.raises(DataPackageError, match="items"):
            ztown.load(small_copy)
    assert len(count_validations) == 1


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ZTOWN_CACHE_DIR", str(tmp_path / "explicit"))
    assert validate.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("ZTOWN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert validate.cache_dir() == tmp_path / "xdg" / "ztown"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert validate.cache_dir() == tmp_path / "home" / ".cache" / "ztown"


def test_a_warm_load_does_not_need_frictionless(committed_package, monkeypatch):
    """importing frictionless takes about a second: a cache hit must not need it."""
    ztown.load(committed_package)  # validated now or earlier: cached on disk
    validate.clear_memory_cache()
    monkeypatch.setitem(sys.modules, "frictionless", None)  # any `import frictionless` now fails
    with pytest.raises(ImportError):
        import frictionless  # noqa: F401
    assert len(ztown.load(committed_package).respondents) > 0


def test_loader_refuses_a_value_frictionless_let_through(tmp_path):
    """A descriptor may declare categories without an enum; the loader must not turn an unknown code into NA."""
    from ztown.data.loader import read_frames

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("code\nA\nB\nX\n", encoding="utf-8")
    descriptor = {"resources": [{"name": "t", "path": "data/t.csv", "schema": {
        "fields": [{"name": "code", "type": "string", "categories": ["A", "B"]}]}}]}
    with pytest.raises(DataPackageError) as caught:
        read_frames(tmp_path / "datapackage.json", descriptor)
    problem = caught.value.problems[0]
    assert (problem.resource, problem.row, problem.field, problem.kind) == ("t", 4, "code", "not-a-category")
    assert np.all(read_frames(tmp_path / "datapackage.json", {"resources": [{**descriptor["resources"][0], "schema": {
        "fields": [{"name": "code", "type": "string"}]}}]})[0]["t"]["code"] == ["A", "B", "X"])


# ----------------------------------------------------------------------------- the documented API


def test_repr_is_a_short_summary(study):
    text = repr(study)
    assert len(text) < 600 and "\n" not in text
    assert text.startswith("<StudyData ") and study.content_hash[:12] in text
    for name, frame in study.frames.items():
        assert f"{name} {len(frame)}x{frame.shape[1]}" in text
    assert f"{len(study.missing)} labelled missing values" in text


def test_load_and_studydata_document_what_they_hold():
    doc = StudyData.__doc__
    for attribute in ("path", "descriptor", "frames", "missing", "content_hash", "truth"):
        assert f"{attribute}:" in doc, attribute
    for column in ("resource", "row", "field", "code", "label"):
        assert f"``{column}``" in doc
    assert "astype(\"Float64\")" in doc
    for word in ("path", "use_cache", "max_bytes", "DataPackageError"):
        assert word in ztown.load.__doc__


def test_the_documented_likert_conversion_gives_numbers_without_the_codes(study):
    sat = study.respondents["satisfaction"].astype("Float64")
    coded = study.missing[(study.missing["resource"] == "respondents") & (study.missing["field"] == "satisfaction")]
    assert sat.isna().sum() == len(coded) > 0
    assert set(sat.dropna().unique()) <= {1, 2, 3, 4, 5}
    assert sat.mean() == pytest.approx(sat.dropna().astype(float).mean())


def test_a_fresh_validation_is_stored_for_the_next_load(small_copy, count_validations):
    assert validate.validate_package(small_copy, use_cache=False).cached == ""
    assert validate.validate_package(small_copy).cached == "memory"
    validate.clear_memory_cache()
    assert validate.validate_package(small_copy).cached == "disk"
    assert len(count_validations) == 1


def test_the_size_cap_is_a_parameter_and_an_environment_variable(small_copy, monkeypatch):
    sizes = {p.stem: p.stat().st_size for p in (small_copy / "data").iterdir()}
    largest = max(sizes, key=sizes.get)
    with pytest.raises(DataPackageError) as caught:
        ztown.load(small_copy, max_bytes=sizes[largest] - 1)
    assert [(p.resource, p.path) for p in caught.value.problems if p.kind == "file-too-large"] == [
        (largest, f"data/{largest}.csv")]
    problem = caught.value.problems[0]
    assert str(sizes[largest]) in problem.found and "ZTOWN_MAX_RESOURCE_BYTES" in problem.expected
    assert len(ztown.load(small_copy, max_bytes=sizes[largest]).respondents) == 40
    monkeypatch.setenv("ZTOWN_MAX_RESOURCE_BYTES", "many")
    with pytest.raises(DataPackageError, match="size-cap"):
        ztown.load(small_copy)


def test_the_reading_rules_refuse_what_frictionless_lets_through_and_say_which_rule():
    from ztown.data.loader import parse_resources

    cells = {"3": None, "-12": None, "0": None, " 3": "integer-format", "+3": "integer-format",
             "03": "integer-format", "1_000": "integer-format", "1,000": "integer-format", "３": "integer-format",
             "3.0": "integer-format", str(2 ** 53): None, str(2 ** 53 + 1): "integer-range"}
    numbers = {"9.6": None, "-0.5": None, "1e-05": None, "2E+3": None, "NaN": "number-format",
               "INF": "number-format", "-inf": "number-format", " 1": "number-format", "1.": "number-format",
               ".5": "number-format", "1e400": "number-range", "-1e308": "number-range", "8.9e307": None}
    for field, kind, table in (("n", "integer", cells), ("x", "number", numbers)):
        descriptor = {"resources": [{"name": "t", "path": "t.csv", "schema": {
            "fields": [{"name": field, "type": kind}], "missingValues": [""]}}]}
        body = "".join(f'"{text}"\n' for text in table)
        frames, _, problems = parse_resources(descriptor, {"t": f"{field}\n{body}".encode()})
        found = {p.row: p.kind for p in problems}
        assert {text: found.get(i + 2) for i, text in enumerate(table)} == table, kind
        assert all(p.field == field and p.path == "t.csv" for p in problems)
