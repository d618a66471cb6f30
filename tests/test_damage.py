"""Every kind of damage to a data package is refused by `ztown.load` and by `ztown validate`,
with a problem that names the file, resource, field and row where the damage is; and validate, load
and every export agree on every input (one truth for all three)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas.testing as pd_testing
import pytest

import ztown
from timeouts import deadline
from ztown import DataPackageError
from ztown.cli import main as ztown_main
from ztown.data.export import FORMATS, export
from ztown.data.validate import restamp


# ----------------------------------------------------------------------------- ways to damage


def _rows(pkg: Path, resource: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((pkg / "data" / f"{resource}.csv").read_text(encoding="utf-8"))))


def _write_rows(pkg: Path, resource: str, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    (pkg / "data" / f"{resource}.csv").write_text(buf.getvalue(), encoding="utf-8")


def set_cell(resource: str, row: int, field: str, value: str) -> Callable[[Path], None]:
    """Damage: put `value` in one cell (row counts the header as row 1, as the problems do)."""
    def apply(pkg: Path) -> None:
        rows = _rows(pkg, resource)
        rows[row - 1][rows[0].index(field)] = value
        _write_rows(pkg, resource, rows)
    return apply


def copy_cell_from_row_above(resource: str, row: int, field: str) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        rows = _rows(pkg, resource)
        col = rows[0].index(field)
        rows[row - 1][col] = rows[row - 2][col]
        _write_rows(pkg, resource, rows)
    return apply


def drop_column(resource: str, field: str) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        rows = _rows(pkg, resource)
        col = rows[0].index(field)
        _write_rows(pkg, resource, [r[:col] + r[col + 1:] for r in rows])
    return apply


def add_column(resource: str, name: str, value: str) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        rows = _rows(pkg, resource)
        _write_rows(pkg, resource, [rows[0] + [name]] + [r + [value] for r in rows[1:]])
    return apply


def add_cell(resource: str, row: int, value: str) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        rows = _rows(pkg, resource)
        rows[row - 1].append(value)
        _write_rows(pkg, resource, rows)
    return apply


def rename_header(resource: str, old: str, new: str, in_descriptor: bool = False) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        rows = _rows(pkg, resource)
        rows[0][rows[0].index(old)] = new
        _write_rows(pkg, resource, rows)
        if in_descriptor:
            edit_field(resource, old, lambda f: f.update(name=new))(pkg)
    return apply


def insert_blank_line(resource: str, before_row: int) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        path = pkg / "data" / f"{resource}.csv"
        lines = path.read_bytes().split(b"\n")
        lines.insert(before_row - 1, b"")
        path.write_bytes(b"\n".join(lines))
    return apply


def delete_file(resource: str) -> Callable[[Path], None]:
    return lambda pkg: (pkg / "data" / f"{resource}.csv").unlink()


def encode_cell_in_gbk(resource: str, row: int, field: str) -> Callable[[Path], None]:
    """Damage: one cell's Chinese text in GBK bytes, the rest of the file UTF-8."""
    def apply(pkg: Path) -> None:
        text = _rows(pkg, resource)[row - 1][_rows(pkg, resource)[0].index(field)]
        path = pkg / "data" / f"{resource}.csv"
        data = path.read_bytes()
        assert text.encode("utf-8") in data and text.encode("gbk") != text.encode("utf-8")
        path.write_bytes(data.replace(text.encode("utf-8"), text.encode("gbk"), 1))
    return apply


def _edit_descriptor(pkg: Path, change: Callable[[dict], None]) -> None:
    path = pkg / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    change(descriptor)
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")


def edit_field(resource: str, field: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        def change_descriptor(descriptor: dict) -> None:
            res = next(r for r in descriptor["resources"] if r["name"] == resource)
            change(next(f for f in res["schema"]["fields"] if f["name"] == field))
        _edit_descriptor(pkg, change_descriptor)
    return apply


def remove_resource(resource: str) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        _edit_descriptor(pkg, lambda d: d.__setitem__(
            "resources", [r for r in d["resources"] if r["name"] != resource]))
    return apply


def both(*damages: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        for damage in damages:
            damage(pkg)
    return apply


MALFORMED_AT = '"name": "villages"'


def drop_colon_in_descriptor(pkg: Path) -> None:
    """Damage: `"name" "villages"`, a JSON syntax error on a known line."""
    path = pkg / "datapackage.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(MALFORMED_AT, MALFORMED_AT.replace(":", ""), 1), encoding="utf-8")


def _malformed_line(pkg: Path) -> int:
    text = (pkg / "datapackage.json").read_text(encoding="utf-8")
    return text[: text.index(MALFORMED_AT.replace(":", ""))].count("\n") + 1


# ----------------------------------------------------------------------------- the damage kinds


@dataclass(frozen=True)
class Damage:
    apply: Callable[[Path], None]
    resource: str | None  # where the problem must be located
    field: str | None
    row: int | None  # None: a whole-file or descriptor problem; "json-line": see the test
    kind: str
    path: str


DESCRIPTOR = "datapackage.json"
DAMAGES = {
    "type_error": Damage(set_cell("villages", 5, "population", "many"),
                         "villages", "population", 5, "type-error", "data/villages.csv"),
    "likert_code_out_of_range": Damage(set_cell("respondents", 10, "sup2", "7"),
                                       "respondents", "sup2", 10, "constraint-error", "data/respondents.csv"),
    "blank_likert_answer": Damage(set_cell("respondents", 8, "frm1", ""),
                                  "respondents", "frm1", 8, "type-error", "data/respondents.csv"),
    "below_minimum": Damage(set_cell("respondents", 7, "age", "12"),
                            "respondents", "age", 7, "constraint-error", "data/respondents.csv"),
    "enum_violation": Damage(set_cell("respondents", 6, "role", "mayor"),
                             "respondents", "role", 6, "constraint-error", "data/respondents.csv"),
    "duplicate_primary_key": Damage(copy_cell_from_row_above("respondents", 4, "respondent_id"),
                                    "respondents", "respondent_id", 4, "primary-key", "data/respondents.csv"),
    "broken_foreign_key": Damage(set_cell("respondents", 5, "village_id", "Z99"),
                                 "respondents", "village_id", 5, "foreign-key", "data/respondents.csv"),
    "missing_column": Damage(drop_column("villages", "service_centre"),
                             "villages", "service_centre", 1, "missing-label", "data/villages.csv"),
    "renamed_header": Damage(rename_header("villages", "households", "homes"),
                             "villages", "households", 1, "incorrect-label", "data/villages.csv"),
    "extra_column": Damage(add_column("villages", "note", "x"),
                           "villages", "note", 1, "extra-label", "data/villages.csv"),
    "extra_cell_in_a_row": Damage(add_cell("regions", 3, "surplus"),
                                  "regions", None, 3, "extra-cell", "data/regions.csv"),
    "blank_row": Damage(insert_blank_line("villages", 6),
                        "villages", None, 6, "blank-row", "data/villages.csv"),
    "missing_file": Damage(delete_file("items"), "items", None, None, "missing-file", "data/items.csv"),
    "non_utf8_bytes": Damage(encode_cell_in_gbk("constructs", 3, "label_zh"),
                             "constructs", "label_zh", 3, "encoding-error", "data/constructs.csv"),
    "malformed_descriptor": Damage(drop_colon_in_descriptor, None, None, -1, "invalid-json", DESCRIPTOR),
    "descriptor_field_type_changed": Damage(edit_field("respondents", "sup2", lambda f: f.update(type="string")),
                                            "respondents", "sup2", None, "field-type", DESCRIPTOR),
    "descriptor_loosened": Damage(both(edit_field("respondents", "sup2", lambda f: f["constraints"].pop("enum")),
                                       set_cell("respondents", 10, "sup2", "7")),
                                  "respondents", "sup2", None, "field-constraint", DESCRIPTOR),
    "descriptor_resource_missing": Damage(remove_resource("constructs"),
                                          "constructs", None, None, "missing-resource", DESCRIPTOR),
    "field_renamed_in_descriptor_and_header": Damage(rename_header("villages", "households", "homes", True),
                                                     "villages", "households", None, "missing-field", DESCRIPTOR),
}


def _expected_row(damage: Damage, pkg: Path) -> int | None:
    return _malformed_line(pkg) if damage.row == -1 else damage.row


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_damage_is_refused_by_load_and_by_validate(name, small_copy, capsys):
    damage = DAMAGES[name]
    damage.apply(small_copy)
    row = _expected_row(damage, small_copy)
    wanted = (damage.resource, damage.field, row, damage.kind, damage.path)

    with pytest.raises(DataPackageError) as caught:
        ztown.load(small_copy)
    located = [(p.resource, p.field, p.row, p.kind, p.path) for p in caught.value.problems]
    assert wanted in located, f"{name}: no problem located at {wanted}; got:\n{caught.value}"

    # `ztown validate` gets the result `load` cached for these bytes (the cache has its own tests)
    exit_code = ztown_main(["validate", str(small_copy)])
    out = capsys.readouterr().out
    assert exit_code == 1
    assert out.startswith(f"invalid data package {small_copy / DESCRIPTOR}")
    line = next((ln for ln in out.splitlines() if f"[{damage.kind}]" in ln), "")
    for part in (f"file {damage.path}", damage.resource and f"resource {damage.resource}",
                 damage.field and f"field {damage.field}", row is not None and f"row {row}"):
        assert not part or part in line, f"{name}: {part!r} not in the validate line {line!r}"


def test_there_are_at_least_ten_kinds_of_damage():
    assert len({d.kind for d in DAMAGES.values()}) >= 10


def test_the_undamaged_small_package_is_valid(small_copy):
    """The damage tests mean something only if the package they start from is valid."""
    data = ztown.load(small_copy)
    assert len(data.respondents) == 40


def test_every_problem_is_listed_not_only_the_first(small_copy):
    for damage in (set_cell("villages", 5, "population", "many"), set_cell("respondents", 10, "sup2", "7"),
                   delete_file("items")):
        damage(small_copy)
    with pytest.raises(DataPackageError) as caught:
        ztown.load(small_copy)
    kinds = {(p.resource, p.kind) for p in caught.value.problems}
    assert {("villages", "type-error"), ("respondents", "constraint-error"), ("items", "missing-file")} <= kinds
    assert str(caught.value).count("\n  - ") == len(caught.value.problems)


def test_a_remote_resource_path_is_refused_without_fetching(small_copy, monkeypatch):
    import ztown.data.validate as validate

    def no_frictionless(files):
        raise AssertionError("frictionless must not run on a package with a remote path")

    monkeypatch.setattr(validate, "frictionless_problems", no_frictionless)
    _edit_descriptor(small_copy, lambda d: d["resources"][0].update(path="https://example.org/regions.csv"))
    report = validate.validate_package(small_copy, use_cache=False)
    assert [(p.resource, p.kind) for p in report.problems] == [("regions", "resource-path")]


# ----------------------------------------------------------------------------- one truth for all three
#
# `ztown validate` exits 0 exactly when `ztown.load` succeeds and every export can be written; otherwise
# all of them refuse with a DataPackageError naming the place. Each case below is one the issue saw
# disagree (validate said valid, load or an export crashed, hung, or changed a value).






def set_text(resource: str, old: bytes, new: bytes) -> Callable[[Path], None]:
    """Damage: replace the first occurrence of some bytes in a resource's file."""
    def apply(pkg: Path) -> None:
        path = pkg / "data" / f"{resource}.csv"
        data = path.read_bytes()
        assert old in data
        path.write_bytes(data.replace(old, new, 1))
    return apply


def header_only(resource: str) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        path = pkg / "data" / f"{resource}.csv"
        path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")
    return apply


def semicolons(resource: str) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        buf = io.StringIO()
        csv.writer(buf, delimiter=";", lineterminator="\n").writerows(_rows(pkg, resource))
        (pkg / "data" / f"{resource}.csv").write_text(buf.getvalue(), encoding="utf-8")
    return apply


def replace_with(resource: str, make: Callable[[Path, Path], None]) -> Callable[[Path], None]:
    """Damage: the resource's file becomes whatever `make(path, package)` puts there."""
    def apply(pkg: Path) -> None:
        path = pkg / "data" / f"{resource}.csv"
        path.unlink()
        make(path, pkg)
    return apply


def link_outside(path: Path, pkg: Path) -> None:
    """A symlink to a valid copy of the same file outside the package."""
    outside = pkg.parent / "elsewhere" / path.name
    outside.parent.mkdir()
    shutil.copy(pkg.parent / "original" / "data" / path.name, outside)
    path.symlink_to(outside)


def data_folder_outside(pkg: Path) -> None:
    outside = pkg.parent / "elsewhere-data"
    shutil.move(pkg / "data", outside)
    (pkg / "data").symlink_to(outside)


def deep_descriptor(levels: int) -> Callable[[Path], None]:
    def apply(pkg: Path) -> None:
        path = pkg / "datapackage.json"
        text = path.read_text(encoding="utf-8").rstrip()
        assert text.endswith("}")
        path.write_text(text[:-1] + ', "x": ' + "[" * levels + "]" * levels + "}\n", encoding="utf-8")
    return apply


def zipped(pkg: Path) -> Path:
    archive = pkg.parent / "datapackage.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(pkg.rglob("*")):
            zf.write(file, file.relative_to(pkg))
    return archive


@dataclass(frozen=True)
class Case:
    """A change to the small package; `target` turns the package folder into what is given to ztown."""
    apply: Callable[[Path], None] | None
    kind: str | None  # the problem every refusal must list (None: accepted by all three)
    resource: str | None = None
    row: int | None = None
    field: str | None = None
    target: Callable[[Path], object] = lambda pkg: pkg
    secret: str | None = None  # text of a refused file that must never be echoed
    env: tuple = ()


RESPONDENTS, VILLAGES, NATIONAL = "data/respondents.csv", "data/villages.csv", "data/national_context.csv"
CASES = {
    # lenient spellings: frictionless reads them as numbers; one rule refuses them everywhere
    "padded_likert": Case(set_cell("respondents", 4, "sup2", " 3"), "integer-format", "respondents", 4, "sup2"),
    "fullwidth_likert": Case(set_cell("respondents", 4, "sup2", "５"), "integer-format", "respondents", 4, "sup2"),
    "plus_sign": Case(set_cell("villages", 3, "population", "+1734"), "integer-format", "villages", 3, "population"),
    "leading_zero": Case(set_cell("villages", 3, "population", "01734"), "integer-format", "villages", 3,
                         "population"),
    "underscore_separator": Case(set_cell("villages", 3, "collective_income", "1_000"), "integer-format",
                                 "villages", 3, "collective_income"),
    "integer_2_to_the_70": Case(set_cell("villages", 3, "collective_income", str(2 ** 70)), "integer-range",
                                "villages", 3, "collective_income"),
    "nan_in_a_required_number": Case(set_cell("national_context", 2, "value", "NaN"), "number-format",
                                     "national_context", 2, "value"),
    "inf_in_a_number": Case(set_cell("national_context", 3, "value", "INF"), "number-format", "national_context",
                            3, "value"),
    "1e400_in_a_number": Case(set_cell("national_context", 3, "value", "1e400"), "number-range",
                              "national_context", 3, "value"),
    "padded_number": Case(set_cell("villages", 4, "distance_km", " 7.6"), "number-format", "villages", 4,
                          "distance_km"),
    # the file's shape
    "header_only": Case(header_only("respondents"), "empty-resource", "respondents"),
    "header_with_trailing_space": Case(rename_header("villages", "population", "population "), "header-mismatch",
                                       "villages", 1, "population"),
    "semicolon_delimited": Case(semicolons("villages"), "header-mismatch", "villages", 1),
    "nul_byte_in_a_string": Case(set_text("regions", b"Z town", b"Z\x00town"), "nul-byte", "regions", 2,
                                 "name_en"),
    "pattern_with_trailing_newline": Case(both(set_cell("villages", 2, "village_id", "Z01\n"),
                                               set_cell("respondents", 2, "village_id", "Z01\n")),
                                          "pattern", "villages", 2, "village_id"),
    # files that are not what they say
    "fifo": Case(replace_with("regions", lambda p, _: os.mkfifo(p)), "not-a-regular-file", "regions"),
    "symlink_to_dev_zero": Case(replace_with("items", lambda p, _: p.symlink_to("/dev/zero")), "outside-package",
                                "items"),
    "symlink_to_etc_passwd": Case(replace_with("constructs", lambda p, _: p.symlink_to("/etc/passwd")),
                                  "outside-package", "constructs", secret="root:"),
    "symlinked_file_outside": Case(replace_with("villages", link_outside), "outside-package", "villages"),
    "symlinked_data_folder_outside": Case(data_folder_outside, "outside-package", "regions"),
    "deeply_nested_descriptor": Case(deep_descriptor(100_000), "descriptor-too-deep"),
    "nested_descriptor_python_can_parse": Case(deep_descriptor(200), "descriptor-too-deep"),
    "zipped_package": Case(None, "compressed-file", target=zipped),
    "url": Case(None, "remote-package", target=lambda pkg: "http://example.org/datapackage.json"),
    "file_over_the_size_cap": Case(None, "file-too-large", "respondents", env=(("ZTOWN_MAX_RESOURCE_BYTES", "3000"),)),
    # accepted by all three, with the right values
    "byte_order_mark": Case(set_text("regions", b"town_id", b"\xef\xbb\xbftown_id"), None),
    "symlinked_file_inside": Case(replace_with("constructs", lambda p, pkg: (
        shutil.copy(pkg.parent / "original" / "data" / p.name, pkg / "constructs-copy.csv"),
        p.symlink_to(pkg / "constructs-copy.csv"))), None),
}


def _prepare(case: Case, pkg: Path, monkeypatch) -> object:
    shutil.copytree(pkg, pkg.parent / "original")  # the undamaged files, for cases that need them
    for name, value in case.env:
        monkeypatch.setenv(name, value)
    if case.apply:
        case.apply(pkg)
    if case.kind is None:
        restamp(pkg)  # an accepted change: the descriptor's bytes and hash follow it
    return case.target(pkg)


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_load_and_every_export_agree(name, small_copy, tmp_path, capsys, monkeypatch):
    case = CASES[name]
    target = _prepare(case, small_copy, monkeypatch)
    with deadline(60):
        exit_code = ztown_main(["validate", str(target)])
        said = capsys.readouterr()
        if case.kind is None:
            assert exit_code == 0, said.out
            data = ztown.load(target)
            for fmt in FORMATS:
                written = export(target, fmt, tmp_path / fmt)
                assert written and all(p.is_file() for p in written)
                assert not [p for p in (tmp_path / fmt).iterdir() if p.name.endswith(".partial")]
            clean = ztown.load(small_copy.parent / "original")
            for res, frame in clean.frames.items():
                pd_testing.assert_frame_equal(data[res], frame)
            return
        assert exit_code == 1, f"{name}: validate said valid:\n{said.out}"
        assert "Traceback" not in said.out + said.err
        with pytest.raises(DataPackageError) as caught:
            ztown.load(target)
        problems = caught.value.problems
        matching = [p for p in problems if p.kind == case.kind]
        assert matching, f"{name}: no [{case.kind}] problem in:\n{caught.value}"
        wanted = (case.resource, case.row, case.field)
        assert any((p.resource, p.row, p.field) == wanted or (case.row is None and p.resource == case.resource
                                                               and case.field is None) for p in matching), \
            f"{name}: no [{case.kind}] problem at {wanted}:\n{caught.value}"
        assert f"[{case.kind}]" in said.out
        for fmt in FORMATS:
            out = tmp_path / f"out-{fmt}"
            with pytest.raises(DataPackageError) as refused:
                export(target, fmt, out)
            assert [p.kind for p in refused.value.problems] == [p.kind for p in problems]
            assert not out.exists(), f"{name}: the refused {fmt} export left {sorted(out.rglob('*'))}"
        assert ztown_main(["export", str(target), str(tmp_path / "cli"), "--format", "stata"]) == 1
        err = capsys.readouterr().err
        assert f"[{case.kind}]" in err and "Traceback" not in err and not (tmp_path / "cli").exists()
        if case.secret:
            for text in (str(caught.value), said.out, err):
                assert case.secret not in text, f"{name}: content of the refused file echoed"


def test_every_case_of_the_issue_is_covered():
    kinds = {c.kind for c in CASES.values()}
    assert {"integer-format", "integer-range", "number-format", "number-range", "empty-resource", "header-mismatch",
            "nul-byte", "not-a-regular-file", "outside-package", "descriptor-too-deep", "compressed-file",
            "remote-package", "file-too-large", None} <= kinds
