"""Every export (Parquet, Stata, DuckDB) read back by its own reader and compared, value by value,
with the package's CSV files parsed here independently of ztown's loader."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest

from ztown.cli import export as export_cli
from ztown.cli import SUBCOMMAND_MODULES
from ztown.data.schema import resource_kind
from ztown import DataPackageError
from ztown.data.export import (
    DUCKDB_FILENAME, FORMATS, MISSING_TABLE, VALUE_LABEL_TABLE, arrow_table, dependency_order, export, stata_label,
    stata_name,
)
from ztown.data.loader import StudyData, read_frames

STATA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")


# ----------------------------------------------------------------------------- the package, read plainly

@pytest.fixture(scope="module")
def data(committed_package) -> StudyData:
    """The package as ztown.load() types it, minus the (slow, separately tested) validation."""
    path = committed_package / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    frames, missing = read_frames(path, descriptor)
    return StudyData(path, descriptor, frames, missing)


@pytest.fixture(scope="module")
def descriptor(data) -> dict:
    return data.descriptor


@pytest.fixture(scope="module")
def raw(data) -> dict[str, list[dict[str, str]]]:
    """Each resource's CSV records as text, exactly as in the file."""
    out = {}
    for res in data.descriptor["resources"]:
        with (data.path.parent / res["path"]).open(encoding="utf-8", newline="") as fh:
            out[res["name"]] = list(csv.DictReader(fh))
    return out


def missing_codes(res: dict, field: dict) -> dict[str, str]:
    """code -> label of the strings that mean 'missing' in this field (field level, else schema level)."""
    codes = field.get("missingValues", res["schema"].get("missingValues", [""]))
    return {(c["value"] if isinstance(c, dict) else c): (c.get("label", "") if isinstance(c, dict) else "")
            for c in codes}


def typed(field: dict, text: str):
    """The value a CSV cell stands for, by the field's Table Schema type."""
    kind = field["type"]
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        assert text in ("true", "false"), text
        return text == "true"
    return text


def cells(res: dict, rows: list[dict[str, str]]):
    """(row index, field, text, code or None, value or None) for every cell of a resource."""
    for i, row in enumerate(rows):
        for f in res["schema"]["fields"]:
            text = row[f["name"]]
            codes = missing_codes(res, f)
            if text in codes:
                yield i, f, text, (text if text != "" else None), None
            else:
                yield i, f, text, None, typed(f, text)


def test_exports_refuse_an_unknown_format(data, tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'xlsx'"):
        export(data, "xlsx", tmp_path)


# ----------------------------------------------------------------------------- Parquet

@pytest.fixture(scope="module")
def parquet_dir(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("parquet")
    written = export(data, "parquet", out)
    names = [r["name"] for r in data.descriptor["resources"]] + [MISSING_TABLE]
    assert sorted(p.name for p in written) == sorted(f"{n}.parquet" for n in names)
    return out


def test_parquet_types_follow_the_schema(parquet_dir, descriptor):
    expected_type = {"integer": "int64", "number": "double", "boolean": "bool", "string": "string"}
    for res in descriptor["resources"]:
        schema = pq.read_schema(parquet_dir / f"{res['name']}.parquet")
        assert schema.names == [f["name"] for f in res["schema"]["fields"]]
        for f in res["schema"]["fields"]:
            arrow = schema.field(f["name"])
            if f["type"] == "string" and f.get("categories"):
                assert str(arrow.type.value_type) == "string"
                assert arrow.type.ordered == bool(f.get("categoriesOrdered")), f["name"]
            else:
                assert str(arrow.type) == expected_type[f["type"]], (res["name"], f["name"], arrow.type)
            assert arrow.nullable == (not f.get("constraints", {}).get("required", False))
            meta = {k.decode(): v.decode() for k, v in arrow.metadata.items()}
            assert meta["description"] == f["description"]
            assert meta.get("unit") == f.get("unit")
            if f.get("categories"):
                assert json.loads(meta["categories"]) == f["categories"]
            if "missingValues" in f:
                assert json.loads(meta["missingValues"]) == f["missingValues"]
        file_meta = schema.metadata
        assert json.loads(file_meta[b"dataresource"]) == res
        assert json.loads(file_meta[b"datapackage"]) == {k: v for k, v in descriptor.items() if k != "resources"}
        assert file_meta[b"resource"].decode() == res["name"]
        # only the resource's own descriptor, not every other resource's schema
        embedded = b"".join(file_meta.values())
        others = [r for r in descriptor["resources"] if r["name"] != res["name"]]
        assert not [r["path"] for r in others if r["path"].encode() in embedded]
        assert len(embedded) < len(json.dumps(res, ensure_ascii=False).encode()) + 20_000


def test_parquet_values_equal_the_csv(parquet_dir, descriptor, raw):
    for res in descriptor["resources"]:
        table = pq.read_table(parquet_dir / f"{res['name']}.parquet")
        assert table.num_rows == len(raw[res["name"]])
        columns = {name: table.column(name).to_pylist() for name in table.column_names}
        for f in res["schema"]["fields"]:
            if f["type"] == "string" and f.get("categories"):
                chunk = table.column(f["name"]).chunk(0)
                assert chunk.dictionary.to_pylist() == [c["value"] for c in f["categories"]]
        for i, f, text, code, value in cells(res, raw[res["name"]]):
            assert columns[f["name"]][i] == value, (res["name"], i + 2, f["name"], text)


def test_parquet_lists_every_labelled_missing_value(parquet_dir, descriptor, raw):
    listed = pq.read_table(parquet_dir / f"{MISSING_TABLE}.parquet").to_pylist()
    expected = []
    for res in descriptor["resources"]:
        pk = res["schema"]["primaryKey"]
        for i, f, text, code, value in cells(res, raw[res["name"]]):
            if code is not None:
                row = raw[res["name"]][i]
                key = {k: typed(next(x for x in res["schema"]["fields"] if x["name"] == k), row[k]) for k in pk}
                expected.append({"resource": res["name"], "row": i + 2, "key": key, "field": f["name"],
                                 "code": code, "label": missing_codes(res, f)[code]})
    for rec in listed:
        rec["key"] = json.loads(rec["key"])
    order = lambda r: (r["resource"], r["row"], r["field"])  # noqa: E731
    assert expected, "the package has labelled missing values (don't know / refused)"
    assert sorted(listed, key=order) == sorted(expected, key=order)


# ----------------------------------------------------------------------------- Stata

@pytest.fixture(scope="module")
def stata_dir(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stata")
    written = export(data, "stata", out)
    assert sorted(p.name for p in written) == sorted(f"{r['name']}.dta" for r in data.descriptor["resources"])
    return out


def test_stata_names_labels_and_dataset_labels(stata_dir, descriptor):
    for res in descriptor["resources"]:
        path = stata_dir / f"{res['name']}.dta"
        _, meta = pyreadstat.read_dta(str(path), metadataonly=True)
        assert meta.column_names == [f["name"] for f in res["schema"]["fields"]]
        assert all(STATA_NAME.fullmatch(n) for n in meta.column_names)
        for f, label in zip(res["schema"]["fields"], meta.column_labels):
            assert label == stata_label(f["description"]) and len(label) <= 80
        assert len(meta.file_label) <= 80
        assert meta.file_label.startswith("SYNTHETIC DATA") == (resource_kind(res) == "synthetic")
    _, meta = pyreadstat.read_dta(str(stata_dir / "respondents.dta"), metadataonly=True)
    assert meta.file_label.startswith("SYNTHETIC DATA")
    _, meta = pyreadstat.read_dta(str(stata_dir / "national_context.dta"), metadataonly=True)
    assert "SYNTHETIC" not in meta.file_label


def expected_stata_labels(res: dict, f: dict) -> dict:
    labels: dict = {}
    if f["type"] == "string" and f.get("categories"):
        labels = {i + 1: c["label"] for i, c in enumerate(f["categories"])}
    elif f.get("categories"):
        labels = {int(c["value"]): c["label"] for c in f["categories"]}
    elif f["type"] == "boolean":
        labels = {0: "false", 1: "true"}
    coded = [m for m in f.get("missingValues", []) if isinstance(m, dict)]
    labels.update({"abcdefghijklmnopqrstuvwxyz"[k]: m["label"] for k, m in enumerate(coded)})
    return labels


def test_stata_value_labels_come_from_the_schema(stata_dir, descriptor):
    for res in descriptor["resources"]:
        path = stata_dir / f"{res['name']}.dta"
        _, meta = pyreadstat.read_dta(str(path), metadataonly=True)
        with pd.io.stata.StataReader(path) as reader:
            reader.read(convert_categoricals=False)
            pandas_sets = reader.value_labels()
        for f in res["schema"]["fields"]:
            expected = expected_stata_labels(res, f)
            assert meta.variable_value_labels.get(f["name"], {}) == expected, (res["name"], f["name"])
            if expected:
                # pandas sees the same label set (extended missing codes appear as Stata's large integers)
                numeric = {k: v for k, v in expected.items() if isinstance(k, int)}
                pandas_set = pandas_sets[meta.variable_to_label[f["name"]]]
                assert {int(k): v for k, v in pandas_set.items() if int(k) in numeric} == numeric
                assert len(pandas_set) == len(expected)
    _, meta = pyreadstat.read_dta(str(stata_dir / "respondents.dta"), metadataonly=True)
    assert meta.variable_value_labels["frm1"] == {1: "strongly disagree", 2: "disagree",
                                                  3: "neither agree nor disagree", 4: "agree",
                                                  5: "strongly agree", "a": "don't know", "b": "refused"}


def test_stata_values_equal_the_csv(stata_dir, descriptor, raw):
    for res in descriptor["resources"]:
        path = stata_dir / f"{res['name']}.dta"
        with pd.io.stata.StataReader(path) as reader:
            frame = reader.read(convert_categoricals=False, convert_missing=True)
        assert len(frame) == len(raw[res["name"]])
        columns = {name: frame[name].tolist() for name in frame.columns}
        for i, f, text, code, value in cells(res, raw[res["name"]]):
            got = columns[f["name"]][i]
            where = (res["name"], i + 2, f["name"], text)
            letters = {m["value"]: "." + "abcdefghijklmnopqrstuvwxyz"[k]
                       for k, m in enumerate(x for x in f.get("missingValues", []) if isinstance(x, dict))}
            if f["type"] == "string" and not f.get("categories"):
                assert got == ("" if value is None else value), where
            elif value is None:
                assert isinstance(got, pd.io.stata.StataMissingValue), where
                assert got.string == letters.get(code, "."), where
            elif f["type"] == "string":
                assert got == [c["value"] for c in f["categories"]].index(value) + 1, where
            elif f["type"] == "boolean":
                assert got == int(value), where
            else:
                assert got == value, where


def test_stata_reads_labels_as_categories(stata_dir, raw):
    """A Stata user's default view: labelled values show their labels."""
    frame = pd.read_stata(stata_dir / "regions.dta")
    assert frame["town_id"].tolist()[:1] == ["Z town (case)"]
    assert len(frame) == len(raw["regions"])
    respondents = pd.read_stata(stata_dir / "respondents.dta", convert_missing=False)
    first = raw["respondents"][0]
    assert respondents.loc[0, "satisfaction"] == {"1": "very dissatisfied", "2": "dissatisfied", "3": "neutral",
                                                  "4": "satisfied", "5": "very satisfied"}[first["satisfaction"]]


def test_stata_files_are_reproducible_under_source_date_epoch(small_package, tmp_path, monkeypatch):
    path = small_package / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    small = StudyData(path, descriptor, *read_frames(path, descriptor))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = export(small, "stata", tmp_path / "a")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000060")  # one minute later: the header must differ
    later = export(small, "stata", tmp_path / "b")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    again = export(small, "stata", tmp_path / "c")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert [p.read_bytes() for p in first] != [p.read_bytes() for p in later]
    _, meta = pyreadstat.read_dta(str(first[0]), metadataonly=True)
    assert meta.creation_time.isoformat() == "2023-11-14T22:13:00"


def test_stata_names_are_made_valid():
    assert stata_name("village_years") == "village_years"
    assert stata_name("2nd wave") == "_2nd_wave"
    assert stata_name("int") == "int_"
    assert stata_name("str12") == "str12_"
    assert len(stata_name("x" * 40)) == 32
    assert stata_label("a " * 60).endswith("...") and len(stata_label("a " * 60)) <= 80
    assert stata_label("Short wording. (frm; positively worded; " + "x" * 60 + ")") == "Short wording."


# ----------------------------------------------------------------------------- DuckDB

@pytest.fixture(scope="module")
def duck_path(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("duckdb")
    # an earlier export and the debris of an interrupted one, which the export must replace
    (out / DUCKDB_FILENAME).write_text("not a database")
    (out / f"{DUCKDB_FILENAME}.partial").write_text("half a database")
    written = export(data, "duckdb", out)
    assert written == [out / DUCKDB_FILENAME]
    return written[0]


@pytest.fixture(scope="module")
def duck(duck_path):
    con = duckdb.connect(str(duck_path), read_only=True)
    yield con
    con.close()


def test_duckdb_tables_types_keys_and_comments(duck, descriptor):
    sql_type = {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "string": "VARCHAR"}
    tables = {r[0]: r[1] for r in duck.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall()}
    assert set(tables) == {r["name"] for r in descriptor["resources"]} | {MISSING_TABLE, VALUE_LABEL_TABLE}
    for res in descriptor["resources"]:
        assert res["description"] in tables[res["name"]]
        cols = duck.execute("SELECT column_name, data_type, comment, is_nullable FROM duckdb_columns() "
                            "WHERE table_name = ? ORDER BY column_index", [res["name"]]).fetchall()
        assert [c[0] for c in cols] == [f["name"] for f in res["schema"]["fields"]]
        for (name, dtype, comment, nullable), f in zip(cols, res["schema"]["fields"]):
            if f["type"] == "string" and f.get("categories"):
                values = ", ".join("'" + c["value"] + "'" for c in f["categories"])
                assert dtype == f"ENUM({values})", (res["name"], name, dtype)
            else:
                assert dtype == sql_type[f["type"]], (res["name"], name)
            assert comment.startswith(f["description"])
            assert nullable == (not f.get("constraints", {}).get("required", False))
        constraints = duck.execute("SELECT constraint_type, constraint_column_names, referenced_table, "
                                   "referenced_column_names FROM duckdb_constraints() WHERE table_name = ?",
                                   [res["name"]]).fetchall()
        pks = [c[1] for c in constraints if c[0] == "PRIMARY KEY"]
        assert pks == [res["schema"]["primaryKey"]]
        fks = sorted((c[1], c[2], c[3]) for c in constraints if c[0] == "FOREIGN KEY")
        assert fks == sorted((fk["fields"], fk["reference"]["resource"], fk["reference"]["fields"])
                             for fk in res["schema"].get("foreignKeys", []))


def test_duckdb_enforces_the_schema(duck_path, tmp_path):
    """The declared constraints bite: a copy of the database refuses rows that break them."""
    copy = duckdb.connect(str(tmp_path / "copy.duckdb"))
    copy.execute(f"ATTACH '{duck_path}' AS src (READ_ONLY)")
    copy.execute("COPY FROM DATABASE src TO copy")
    one_row = "INSERT INTO respondents SELECT * REPLACE ({}) FROM respondents LIMIT 1"
    copy.execute(one_row.format("999999 AS respondent_id"))  # a new, valid row is accepted
    bad_rows = {
        "duplicate primary key": "1 AS respondent_id",
        "unknown village (foreign key)": "999998 AS respondent_id, 'Z99' AS village_id",
        "Likert value 7": "999998 AS respondent_id, 7 AS frm1",
        "unknown code": "999998 AS respondent_id, 'x' AS sex",
        "age below minimum": "999998 AS respondent_id, 3 AS age",
        "malformed village id": "999998 AS respondent_id, 'Q01' AS village_id",
    }
    for what, replace in bad_rows.items():
        with pytest.raises(duckdb.Error):
            copy.execute(one_row.format(replace))
            pytest.fail(f"DuckDB accepted a row with a {what}")
    copy.close()


def test_duckdb_values_equal_the_csv(duck, descriptor, raw):
    for res in descriptor["resources"]:
        names = [f["name"] for f in res["schema"]["fields"]]
        rows = duck.execute(f'SELECT * FROM "{res["name"]}"').fetchall()
        assert len(rows) == len(raw[res["name"]])
        pk = res["schema"]["primaryKey"]
        by_key = {tuple(r[names.index(k)] for k in pk): r for r in rows}
        fields = {f["name"]: f for f in res["schema"]["fields"]}
        for i, row in enumerate(raw[res["name"]]):
            key = tuple(typed(fields[k], row[k]) for k in pk)
            got = dict(zip(names, by_key[key]))
            for f in res["schema"]["fields"]:
                text = row[f["name"]]
                want = None if text in missing_codes(res, f) else typed(f, text)
                assert got[f["name"]] == want, (res["name"], i + 2, f["name"], text)


def test_duckdb_side_tables(duck, descriptor, raw):
    listed = duck.execute(f"SELECT resource, row, field, code, label FROM {MISSING_TABLE}").fetchall()
    expected = [(res["name"], i + 2, f["name"], code, missing_codes(res, f)[code])
                for res in descriptor["resources"]
                for i, f, text, code, value in cells(res, raw[res["name"]]) if code is not None]
    assert sorted(listed) == sorted(expected)
    labels = duck.execute(f"SELECT label FROM {VALUE_LABEL_TABLE} WHERE resource = 'respondents' AND "
                          "field = 'frm1' ORDER BY kind, position").fetchall()
    assert [x[0] for x in labels] == ["strongly disagree", "disagree", "neither agree nor disagree", "agree",
                                      "strongly agree", "don't know", "refused"]


def test_duckdb_export_replaces_an_earlier_one(duck, duck_path):
    assert sorted(p.name for p in duck_path.parent.iterdir()) == [DUCKDB_FILENAME]
    assert duck.execute("SELECT count(*) FROM regions").fetchone()[0] > 0


# ----------------------------------------------------------------------------- bad input, CLI

def test_tables_are_created_after_the_tables_they_refer_to(descriptor):
    order = [r["name"] for r in dependency_order(descriptor["resources"])]
    for res in descriptor["resources"]:
        for fk in res["schema"].get("foreignKeys", []):
            assert order.index(fk["reference"]["resource"]) < order.index(res["name"])
    a = {"name": "a", "schema": {"fields": [], "foreignKeys": [{"fields": ["x"], "reference": {"resource": "b",
                                                                                           "fields": ["x"]}}]}}
    b = {"name": "b", "schema": {"fields": [], "foreignKeys": [{"fields": ["x"], "reference": {"resource": "a",
                                                                                           "fields": ["x"]}}]}}
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        dependency_order([a, b])


def broken_copy(data, resource: str, row: int, field: str, value) -> StudyData:
    """The loaded package with one value changed behind the loader's back (as a caller's code might)."""
    frames = dict(data.frames)
    frame = frames[resource].copy()
    frame.loc[row, field] = value
    frames[resource] = frame
    return dataclasses.replace(data, frames=frames)


def test_a_missing_required_value_is_named_by_file_row_and_field(data):
    broken = broken_copy(data, "villages", 3, "population", pd.NA)
    res = next(r for r in data.descriptor["resources"] if r["name"] == "villages")
    with pytest.raises(DataPackageError) as caught:
        arrow_table(broken, res)
    (problem,) = caught.value.problems
    assert (problem.path, problem.resource, problem.row, problem.field, problem.kind) == (
        "data/villages.csv", "villages", 5, "population", "required")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_refused_export_leaves_nothing_behind(data, tmp_path, fmt):
    broken = broken_copy(data, "national_context", 0, "value", float("nan"))  # required
    fresh = tmp_path / "new" / "folder"
    with pytest.raises(DataPackageError, match=r"national_context.csv.*row 2, field value.*\[required\]"):
        export(broken, fmt, fresh)
    assert not (tmp_path / "new").exists()
    earlier = tmp_path / "earlier"
    first = export(data, fmt, earlier)
    before = {p.name: p.read_bytes() for p in earlier.iterdir()}
    with pytest.raises(DataPackageError):
        export(broken, fmt, earlier)
    assert {p.name: p.read_bytes() for p in earlier.iterdir()} == before
    assert sorted(p.name for p in first) == sorted(before)


def test_a_stata_export_that_fails_halfway_leaves_nothing_behind(data, tmp_path, monkeypatch):
    """A failure after some files were written (disk full, a value the writer refuses) removes them all."""
    import pyreadstat

    real, calls = pyreadstat.write_dta, []

    def failing_third(df, path, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            Path(path).write_bytes(b"half a file")
            raise pyreadstat.ReadstatError("A provided numeric value was outside the range")
        return real(df, path, **kwargs)

    monkeypatch.setattr(pyreadstat, "write_dta", failing_third)
    with pytest.raises(DataPackageError, match="export-stata"):
        export(data, "stata", tmp_path / "out")
    assert len(calls) == 3 and not (tmp_path / "out").exists()


def test_a_number_beyond_statas_range_is_refused_by_the_stata_export(data, tmp_path):
    broken = broken_copy(data, "villages", 0, "distance_km", 1e308)
    with pytest.raises(DataPackageError) as caught:
        export(broken, "stata", tmp_path / "out")
    assert [(p.resource, p.row, p.field, p.kind) for p in caught.value.problems] == [
        ("villages", 2, "distance_km", "number-range")]
    assert not (tmp_path / "out").exists()


def test_a_missing_format_library_is_named_with_its_extra(data, tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(ImportError, match=r"ztown\[export\]"):
        export(data, "duckdb", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def run_export_cli(argv: list[str]) -> int:
    """`ztown export ...` through the subcommand's own parser (the full CLI imports every subcommand)."""
    parser = argparse.ArgumentParser(prog="ztown")
    export_cli.add_subcommand(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_takes_the_package_first_as_validate_does(small_package, tmp_path, capsys):
    assert "ztown.cli.export" in SUBCOMMAND_MODULES
    assert run_export_cli(["export", str(small_package), str(tmp_path / "a"), "--format", "parquet"]) == 0
    assert "regions.parquet" in capsys.readouterr().out
    assert (tmp_path / "a" / "respondents.parquet").is_file()
    # an invalid package: exit 1, as `ztown validate` exits, with the problem and nothing written
    assert run_export_cli(["export", str(tmp_path / "nowhere"), str(tmp_path / "x"), "--format", "stata"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ztown export: invalid data package") and "[missing-file]" in err
    assert not (tmp_path / "x").exists()
    # an output that cannot be written: exit 2
    (tmp_path / "file").write_text("not a folder")
    assert run_export_cli(["export", str(small_package), str(tmp_path / "file"), "--format", "parquet"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_export_cli(["export", "--format", "xlsx", str(tmp_path)])


def test_cli_without_a_package_exports_the_default_one(small_package, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZTOWN_DATAPACKAGE", str(small_package))
    assert run_export_cli(["export", str(tmp_path / "out"), "--format", "parquet"]) == 0
    assert (tmp_path / "out" / "regions.parquet").is_file()


def test_cli_keeps_the_old_datapackage_option_with_a_note(small_package, tmp_path, capsys):
    assert run_export_cli(["export", "--format", "parquet", "--datapackage", str(small_package),
                           str(tmp_path / "old")]) == 0
    assert "--datapackage is deprecated" in capsys.readouterr().err
    assert (tmp_path / "old" / "regions.parquet").is_file()
    assert run_export_cli(["export", str(small_package), str(tmp_path / "both"), "--format", "parquet",
                           "--datapackage", str(small_package)]) == 2
    assert "give the package once" in capsys.readouterr().err and not (tmp_path / "both").exists()
