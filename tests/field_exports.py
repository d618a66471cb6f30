"""Test helper: write what KoboToolbox or ODK Central would export for given respondents.

The columns come from the XLSForm itself (read back with openpyxl: its groups, question names and
metadata), never from a typed list, so a change to the form changes the export. Each respondent
becomes a submission whose instance id is a uuid5 of its respondent id and whose submission time
grows with the respondent id; rows are shuffled (seeded), so an import that numbered rows by
their position in the file would fail the round trip.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from openpyxl import load_workbook

NAMESPACE = uuid.UUID("6f1d4c1e-5d0b-4d8e-9b1a-2f0c7a1e9d33")
START = datetime(2023, 11, 1, 8, 0, tzinfo=timezone.utc)


def form_columns(xlsform: Path, separator: str) -> list[tuple[str, str | None]]:
    """(export column, field name or None for metadata) in the form's order, read from its survey sheet."""
    ws = load_workbook(xlsform, read_only=True)["survey"]
    rows = ws.iter_rows(values_only=True)
    header = [str(h) for h in next(rows)]
    type_i, name_i = header.index("type"), header.index("name")
    out, stack = [], []
    for row in rows:
        type_, name = (row[type_i] or "").strip(), (row[name_i] or "")
        if type_ == "begin_group":
            stack.append(name)
        elif type_ == "end_group":
            stack.pop()
        elif type_ in ("start", "end"):
            out.append((name, None))
        elif type_:
            out.append((separator.join([*stack, name]), name))
    return out


def instance_id(respondent_id: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"respondent-{respondent_id}"))


def _respondents(respondents_csv: Path) -> list[dict[str, str]]:
    with open(respondents_csv, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, header: list[str], rows: list[list[str]], delimiter: str) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _times(rid: int) -> tuple[datetime, datetime, datetime]:
    submitted = START + timedelta(minutes=7 * rid)
    return submitted - timedelta(minutes=40), submitted - timedelta(minutes=5), submitted


def kobo_export(xlsform: Path, respondents_csv: Path, out: Path, seed: int = 1) -> Path:
    """A KoboToolbox CSV export ("XML values and headers", group names with "/", ";" delimiter)."""
    cols = form_columns(xlsform, "/")
    meta = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
            "__version__", "_tags", "_index"]
    rows = []
    records = _respondents(respondents_csv)
    random.Random(seed).shuffle(records)
    for k, r in enumerate(records, start=1):
        rid = int(r["respondent_id"])
        start, end, submitted = _times(rid)
        answers = [start.isoformat(timespec="milliseconds") if col == "start"
                   else end.isoformat(timespec="milliseconds") if col == "end" else r[name]
                   for col, name in cols]
        rows.append(answers + [str(1000 + rid), instance_id(rid), submitted.strftime("%Y-%m-%dT%H:%M:%S"), "", "",
                               "submitted_via_web", "", "vKobo1", "", str(k)])
    return _write(out, [c for c, _ in cols] + meta, rows, ";")


def odk_export(xlsform: Path, respondents_csv: Path, out: Path, seed: int = 2) -> Path:
    """An ODK Central CSV export (SubmissionDate first, groups joined with "-", meta-instanceID, KEY)."""
    cols = form_columns(xlsform, "-")
    tail = ["meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
            "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]
    rows = []
    records = _respondents(respondents_csv)
    random.Random(seed).shuffle(records)
    for r in records:
        rid = int(r["respondent_id"])
        start, end, submitted = _times(rid)
        answers = [start.isoformat(timespec="milliseconds") if col == "start"
                   else end.isoformat(timespec="milliseconds") if col == "end" else r[name]
                   for col, name in cols]
        key = f"uuid:{instance_id(rid)}"
        rows.append([submitted.strftime("%Y-%m-%dT%H:%M:%S.000Z"), *answers, key, key, "5", "enumerator",
                     "0", "0", "", "", "collect:abc", "0", "2026.11.28"])
    return _write(out, ["SubmissionDate"] + [c for c, _ in cols] + tail, rows, ",")
