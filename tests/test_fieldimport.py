"""`ztown import kobo|odk`: field exports back into a data package, byte for byte, and bad rows refused whole.

The exports are written by tests/field_exports.py from the XLSForm itself, so the column names are
the form's, not typed here.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from field_exports import kobo_export, odk_export
from ztown.data.errors import DataPackageError
from ztown.data.fieldimport import import_export
from ztown.data.instrument import write_xlsform
from ztown.data.validate import validate_package


@pytest.fixture(scope="module")
def form(tmp_path_factory, committed_package) -> Path:
    return write_xlsform(tmp_path_factory.mktemp("form") / "survey.xlsx", committed_package)


def _rows(path: Path, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""), delimiter=delimiter))


def _write(path: Path, rows: list[list[str]], delimiter: str) -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_kobo_round_trip_of_the_committed_package_is_byte_for_byte(tmp_path, form, committed_package):
    export = kobo_export(form, committed_package / "data" / "respondents.csv", tmp_path / "kobo.csv")
    out = import_export(export, "kobo", tmp_path / "pkg", committed_package)
    new = out.parent
    assert (new / "data" / "respondents.csv").read_bytes() == \
        (committed_package / "data" / "respondents.csv").read_bytes()
    for other in ("villages", "regions", "village_years", "items", "constructs", "national_context", "parameters"):
        assert (new / "data" / f"{other}.csv").read_bytes() == (committed_package / "data" / f"{other}.csv").read_bytes()
    assert validate_package(new, use_cache=False).valid


def test_odk_round_trip(tmp_path, form, small_package):
    export = odk_export(form, small_package / "data" / "respondents.csv", tmp_path / "odk.csv")
    assert _rows(export, ",")[0][0] == "SubmissionDate"
    out = import_export(export, "odk", tmp_path / "pkg", small_package)
    assert (out.parent / "data" / "respondents.csv").read_bytes() == \
        (small_package / "data" / "respondents.csv").read_bytes()


def test_ids_follow_submission_time_not_file_order(tmp_path, form, small_package):
    export = kobo_export(form, small_package / "data" / "respondents.csv", tmp_path / "kobo.csv", seed=7)
    rows = _rows(export, ";")
    reversed_rows = _write(tmp_path / "reversed.csv", [rows[0], *rows[:0:-1]], ";")
    a = import_export(export, "kobo", tmp_path / "a", small_package).parent
    b = import_export(reversed_rows, "kobo", tmp_path / "b", small_package).parent
    assert (a / "data" / "respondents.csv").read_bytes() == (b / "data" / "respondents.csv").read_bytes()


def test_kobo_without_group_names_and_with_blank_spellings_for_metadata(tmp_path, form, small_package):
    export = kobo_export(form, small_package / "data" / "respondents.csv", tmp_path / "kobo.csv")
    rows = _rows(export, ";")
    rows[0] = [c.split("/")[-1] if not c.startswith("_") else c for c in rows[0]]
    flat = _write(tmp_path / "flat.csv", rows, ",")
    out = import_export(flat, "kobo", tmp_path / "pkg", small_package)
    assert (out.parent / "data" / "respondents.csv").read_bytes() == \
        (small_package / "data" / "respondents.csv").read_bytes()


def _damaged(tmp_path, form, small_package, column: str, value: str, data_row: int = 3) -> tuple[Path, int]:
    """A Kobo export with one cell changed; returns it and the changed file row (header = row 1)."""
    export = kobo_export(form, small_package / "data" / "respondents.csv", tmp_path / "kobo.csv")
    rows = _rows(export, ";")
    rows[data_row][rows[0].index(column)] = value
    return _write(tmp_path / "bad.csv", rows, ";"), data_row + 1


@pytest.mark.parametrize("column, value, rule", [
    ("frm/frm1", "7", "not-a-choice"),
    ("frm/frm1", "agree", "not-a-choice"),
    ("respondent/sex", "woman", "not-a-choice"),
    ("respondent/village_id", "Z99", "village-not-in-villages"),
    ("respondent/age", "forty", "not-an-integer"),
    ("respondent/age", "12", "constraint"),
    ("overall/participation", "", "required"),
    ("sup/sup2", "n/a", "required"),
    ("_submission_time", "yesterday", "submission-time"),
])
def test_a_bad_cell_is_refused_by_row_column_and_rule(tmp_path, form, small_package, column, value, rule):
    bad, row = _damaged(tmp_path, form, small_package, column, value)
    out = tmp_path / "pkg"
    with pytest.raises(DataPackageError) as info:
        import_export(bad, "kobo", out, small_package)
    [problem] = info.value.problems
    assert (problem.row, problem.field, problem.kind) == (row, column, rule)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_a_duplicate_uuid_names_both_rows(tmp_path, form, small_package):
    export = kobo_export(form, small_package / "data" / "respondents.csv", tmp_path / "kobo.csv")
    rows = _rows(export, ";")
    col = rows[0].index("_uuid")
    rows[5][col] = rows[2][col]
    bad = _write(tmp_path / "dup.csv", rows, ";")
    with pytest.raises(DataPackageError) as info:
        import_export(bad, "kobo", tmp_path / "pkg", small_package)
    [problem] = info.value.problems
    assert (problem.row, problem.field, problem.kind) == (6, "_uuid", "duplicate-submission")
    assert "row 3" in problem.expected
    assert not (tmp_path / "pkg").exists()


def test_odk_duplicate_key_with_and_without_uuid_prefix(tmp_path, form, small_package):
    export = odk_export(form, small_package / "data" / "respondents.csv", tmp_path / "odk.csv")
    rows = _rows(export, ",")
    col = rows[0].index("KEY")
    rows[4][col] = rows[1][col].removeprefix("uuid:")
    bad = _write(tmp_path / "dup.csv", rows, ",")
    with pytest.raises(DataPackageError) as info:
        import_export(bad, "odk", tmp_path / "pkg", small_package)
    assert [(p.row, p.field, p.kind) for p in info.value.problems] == [(5, "KEY", "duplicate-submission")]


def test_a_missing_question_column_is_named(tmp_path, form, small_package):
    export = kobo_export(form, small_package / "data" / "respondents.csv", tmp_path / "kobo.csv")
    rows = _rows(export, ";")
    col = rows[0].index("respondent/age")
    bad = _write(tmp_path / "bad.csv", [r[:col] + r[col + 1:] for r in rows], ";")
    with pytest.raises(DataPackageError) as info:
        import_export(bad, "kobo", tmp_path / "pkg", small_package)
    assert [(p.row, p.field, p.kind) for p in info.value.problems] == [(1, "respondent/age", "missing-column")]


def test_every_bad_row_is_listed(tmp_path, form, small_package):
    export = kobo_export(form, small_package / "data" / "respondents.csv", tmp_path / "kobo.csv")
    rows = _rows(export, ";")
    rows[2][rows[0].index("respondent/age")] = "x"
    rows[7][rows[0].index("fun/fun3")] = "6"
    bad = _write(tmp_path / "bad.csv", rows, ";")
    with pytest.raises(DataPackageError) as info:
        import_export(bad, "kobo", tmp_path / "pkg", small_package)
    assert [(p.row, p.kind) for p in info.value.problems] == [(3, "not-an-integer"), (8, "not-a-choice")]


def test_an_existing_folder_is_kept_whole(tmp_path, form, small_package):
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "mine.txt").write_text("keep", encoding="utf-8")
    export = kobo_export(form, small_package / "data" / "respondents.csv", tmp_path / "kobo.csv")
    with pytest.raises(FileExistsError):
        import_export(export, "kobo", out, small_package)
    bad, _ = _damaged(tmp_path, form, small_package, "respondent/age", "x")
    with pytest.raises(DataPackageError):
        import_export(bad, "kobo", out, small_package, replace=True)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    import_export(export, "kobo", out, small_package, replace=True)
    assert not (out / "mine.txt").exists() and validate_package(out, use_cache=False).valid


def test_the_result_is_validated_by_the_project_validator(tmp_path, form, small_copy):
    """A source package whose other resources are broken gives no package: the validator's problem is reported."""
    path = small_copy / "data" / "village_years.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[1] = "1800"  # a year outside the schema's range
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from ztown.data.validate import restamp
    restamp(small_copy)
    export = kobo_export(form, small_copy / "data" / "respondents.csv", tmp_path / "kobo.csv")
    with pytest.raises(DataPackageError) as info:
        import_export(export, "kobo", tmp_path / "pkg", small_copy)
    assert any(p.resource == "village_years" for p in info.value.problems)
    assert not (tmp_path / "pkg").exists()


def test_command_line_refusal_and_success(tmp_path, form, small_package):
    bad, row = _damaged(tmp_path, form, small_package, "respondent/village_id", "Q01")
    run = subprocess.run([sys.executable, "-m", "ztown", "import", "kobo", str(bad), "--out", str(tmp_path / "pkg"),
                          "--from", str(small_package)], capture_output=True, text=True)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"row {row}" in run.stderr and "respondent/village_id" in run.stderr and "village-not-in-villages" in run.stderr
    assert not (tmp_path / "pkg").exists()
    missing = subprocess.run([sys.executable, "-m", "ztown", "import", "odk", str(tmp_path / "none.csv"), "--out",
                              str(tmp_path / "pkg"), "--from", str(small_package)], capture_output=True, text=True)
    assert missing.returncode == 1 and "none.csv" in missing.stderr and "Traceback" not in missing.stderr
    good = odk_export(form, small_package / "data" / "respondents.csv", tmp_path / "odk.csv")
    ok = subprocess.run([sys.executable, "-m", "ztown", "import", "odk", str(good), "--out", str(tmp_path / "pkg"),
                         "--from", str(small_package)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    again = subprocess.run([sys.executable, "-m", "ztown", "import", "odk", str(good), "--out", str(tmp_path / "pkg"),
                            "--from", str(small_package)], capture_output=True, text=True)
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr

