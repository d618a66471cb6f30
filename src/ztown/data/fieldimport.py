"""Field data into a data package: a KoboToolbox or ODK Central CSV export becomes `respondents`.

The export must come from the study's XLSForm (`ztown instrument`), exported with the choices'
names ("XML values"), not their labels. What each server writes, and what is read here:

| | KoboToolbox | ODK Central |
|---|---|---|
| question column | `group/field` (or `field`, exported without group names) | `group-field` |
| submission id | `_uuid` (else `meta/instanceID`) | `KEY` (else `meta-instanceID`) |
| submission time | `_submission_time` (UTC, no offset) | `SubmissionDate` (ISO 8601, `Z`) |
| delimiter | `,` or `;` (read from the header) | `,` |

A cell that is empty, or `n/a`/`NA` (how some exports print a question that was not asked), is
blank; every asked question of the form is required, so a blank is refused. "Don't know" and
"refused" arrive as the choices 8 and 9, the package's missing-value codes. The metadata columns
(`start`, `end`, `_id`, `SubmitterID`, ...) are read only for the submission id and time.

Respondent ids: submissions are ordered by submission time, then by instance id (the uuid without
its `uuid:` prefix), and numbered from 1 in that order; rows are written in id order. The same export
always gives the same ids, and a later export with more submissions keeps the ids of the earlier
ones (new submissions arrive later).

Every row is checked before anything is written; a bad row stops the import with a
`DataPackageError` listing each problem by row (the export's header is row 1), column and rule.
The new package is built in a temporary folder beside the target, validated with the project's
validator, and only then moved into place, so the target is either untouched or complete.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ztown.data import schema
from ztown.data.errors import DataPackageError, Problem
from ztown.data.instrument import groups, questions

BLANKS = {"", "n/a", "na", "N/A", "NA"}
RESOURCE = "respondents"
_INTEGER = re.compile(r"^-?\d+(\.0+)?$")


@dataclass(frozen=True)
class ExportFormat:
    """How one server names the columns of a CSV export."""

    name: str
    separator: str  # between a group's name and a field's
    id_columns: tuple[str, ...]  # the first present holds the submission's instance id
    time_columns: tuple[str, ...]  # the first present holds the submission time


FORMATS = {
    "kobo": ExportFormat("KoboToolbox", "/", ("_uuid", "meta/instanceID"), ("_submission_time",)),
    "odk": ExportFormat("ODK Central", "-", ("KEY", "meta-instanceID"), ("SubmissionDate",)),
}


def _problem(path: Path, row: int | None, column: str | None, rule: str, expected: str, found: str) -> Problem:
    return Problem(RESOURCE, row, column, rule, expected, found, str(path))


def _read_export(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataPackageError(str(path), [_problem(path, None, None, "unreadable-file", "a readable CSV export",
                                                    exc.strerror or str(exc))]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataPackageError(str(path), [_problem(path, None, None, "encoding-error", "UTF-8 text",
                                                    f"byte {exc.start} is not UTF-8")]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        raise DataPackageError(str(path), [_problem(path, 1, None, "empty-file", "a header row", "an empty file")])
    return rows[0], rows[1:]


def _column_of(header: list[str], fmt: ExportFormat) -> dict[str, str]:
    """Field name -> the export's column for it: `group<sep>field`, or a bare `field`."""
    present = set(header)
    out = {}
    for group, _, qs in groups():
        for q in qs:
            for col in (f"{group}{fmt.separator}{q.name}", q.name):
                if col in present:
                    out[q.name] = col
                    break
    return out


def _parse_time(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return stamp.replace(tzinfo=timezone.utc) if stamp.tzinfo is None else stamp.astimezone(timezone.utc)


def read_submissions(path: str | Path, kind: str, villages: set[str]) -> bytes:
    """The `respondents` CSV (the generator's layout) for an export, or a DataPackageError listing every bad row."""
    if kind not in FORMATS:
        raise ValueError(f"unknown export format {kind!r}; choose one of {', '.join(FORMATS)}")
    fmt, path = FORMATS[kind], Path(path)
    header, rows = _read_export(path)
    problems: list[Problem] = []
    index = {c: i for i, c in reversed(list(enumerate(header)))}
    id_col = next((c for c in fmt.id_columns if c in index), None)
    time_col = next((c for c in fmt.time_columns if c in index), None)
    columns = _column_of(header, fmt)
    qs = questions()
    for q in qs:
        if q.name not in columns:
            problems.append(_problem(path, 1, f"{q.group}{fmt.separator}{q.name}", "missing-column",
                                     f"a column for question {q.name} (export the form from `ztown instrument` "
                                     "with XML values and headers)", "no such column"))
    for want, col in (("submission id", id_col), ("submission time", time_col)):
        if col is None:
            names = fmt.id_columns if want == "submission id" else fmt.time_columns
            problems.append(_problem(path, 1, names[0], "missing-column", f"the {fmt.name} {want} column",
                                     "no such column"))
    if problems:
        raise DataPackageError(str(path), problems)

    records = []
    seen: dict[str, int] = {}
    for n, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line at the end of a hand-edited file
        if len(cells) != len(header):
            problems.append(_problem(path, n, None, "row-length", f"{len(header)} cells, as in the header",
                                     f"{len(cells)} cells"))
            continue

        def cell(col):
            return cells[index[col]].strip()

        uid = cell(id_col)
        uid = uid[5:] if uid.lower().startswith("uuid:") else uid
        if uid in BLANKS:
            problems.append(_problem(path, n, id_col, "submission-id", "the submission's instance id", "a blank"))
        elif uid in seen:
            problems.append(_problem(path, n, id_col, "duplicate-submission",
                                     f"a submission id not used before (row {seen[uid]} has it)", repr(uid)))
        else:
            seen[uid] = n
        stamp = _parse_time(cell(time_col))
        if stamp is None:
            problems.append(_problem(path, n, time_col, "submission-time", "an ISO 8601 date and time",
                                     repr(cell(time_col))))
        values: dict[str, str] = {}
        for q in qs:
            col = columns[q.name]
            text = cell(col)
            if text in BLANKS:
                if q.required:
                    problems.append(_problem(path, n, col, "required",
                                             "an answer (8 = don't know, 9 = refused for an item)"
                                             if q.choice_list in ("likert", "satisfaction") else "an answer",
                                             "a blank"))
                values[q.name] = ""
                continue
            if q.choice_list == "village":
                if text not in villages:
                    problems.append(_problem(path, n, col, "village-not-in-villages",
                                             "a village_id of the villages resource", repr(text)))
            elif q.choice_list is not None:
                allowed = [str(c["value"]) for c in q.field["categories"]] + [
                    code for code, _ in schema.labelled_missing_values(q.field)]
                if text.endswith(".0") and text[:-2] in allowed:
                    text = text[:-2]  # a spreadsheet's number format
                if text not in allowed:
                    problems.append(_problem(path, n, col, "not-a-choice",
                                             f"one of the choice names {', '.join(allowed)}", repr(text)))
            else:
                if not _INTEGER.match(text):
                    problems.append(_problem(path, n, col, "not-an-integer", "a whole number", repr(text)))
                else:
                    text = str(int(float(text)))
                    value = int(text)
                    c = q.field.get("constraints", {})
                    lo, hi = c.get("minimum"), c.get("maximum")
                    if (lo is not None and value < lo) or (hi is not None and value > hi):
                        problems.append(_problem(path, n, col, "constraint", f"{q.constraint} (from {lo} to {hi})",
                                                 text))
            values[q.name] = text
        records.append((stamp, uid, values))
    if problems:
        raise DataPackageError(str(path), problems)
    if not records:
        raise DataPackageError(str(path), [_problem(path, None, None, "no-submissions", "at least one submission",
                                                    "a header and no data rows")])
    records.sort(key=lambda r: (r[0], r[1]))
    names = [f["name"] for f in next(r for r in schema.resources() if r["name"] == RESOURCE)["schema"]["fields"]]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(names)
    for rid, (_, _, values) in enumerate(records, start=1):
        writer.writerow([str(rid) if name == "respondent_id" else values[name] for name in names])
    return buf.getvalue().encode("utf-8")


def _villages(data: bytes) -> set[str]:
    return {row["village_id"] for row in csv.DictReader(io.StringIO(data.decode("utf-8")))}


def import_export(submissions: str | Path, kind: str, out: str | Path, package=None, *,
                  replace: bool = False) -> Path:
    """Write a new data package at `out`: `respondents` from the export, every other resource from `package`.

    Returns the new descriptor's path. Raises DataPackageError (nothing written) if a row is bad, the
    source package cannot be read, or the result does not validate; FileExistsError if `out` exists
    and `replace` is false.
    """
    from ztown.data.validate import read_package, validate_package

    submissions, out = Path(submissions), Path(out)
    if out.exists() and not replace:
        raise FileExistsError(f"{out} exists; name a new folder (or pass --replace to replace it whole)")
    files = read_package(package)
    if files.descriptor is None or files.problems:
        raise DataPackageError(files.source or str(files.descriptor_path),
                               files.problems or [Problem(None, None, None, "descriptor", "a data package",
                                                          "an unreadable descriptor", str(files.descriptor_path))])
    if "villages" not in files.data:
        raise DataPackageError(str(files.descriptor_path), [Problem("villages", None, None, "missing-resource",
                                                                    "a villages resource", "none", None)])
    respondents = read_submissions(submissions, kind, _villages(files.data["villages"]))

    descriptor = json.loads(json.dumps(files.descriptor))
    data = dict(files.data)
    data[RESOURCE] = respondents
    digest = hashlib.sha256(submissions.read_bytes()).hexdigest()
    for res in descriptor["resources"]:
        if res.get("name") == RESOURCE:
            rest = res.get("description", "")
            if rest.startswith(schema.SYNTHETIC_NOTE):
                rest = rest[len(schema.SYNTHETIC_NOTE):].lstrip()
            res["description"] = (f"FIELD DATA imported by `ztown import {kind}` from {submissions.name} "
                                  f"(sha256 {digest[:16]}); respondent ids numbered by submission time, then "
                                  f"instance id. {rest}")
    schema.stamp_resources(descriptor, {RESOURCE: respondents})

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.import-"))
    try:
        for res in descriptor["resources"]:
            if res.get("name") in data:
                target = tmp / res["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data[res["name"]])
        (tmp / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n",
                                              encoding="utf-8")
        report = validate_package(tmp, use_cache=False)
        if not report.valid:
            raise DataPackageError(f"package imported from {submissions}", report.problems)
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.replace(out, old / "old")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out / "datapackage.json"

