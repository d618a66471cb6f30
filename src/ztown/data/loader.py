"""Read the data package into typed pandas frames (`ztown.load()`), after validating it.

The path defaults to the environment variable ZTOWN_DATAPACKAGE, else the repository's
`datapackage/`. Every load validates the package (frictionless, the study's schema and the
reading rules below, see `ztown.data.validate`) and refuses invalid data with a `DataPackageError`
listing every problem by file, row and field; the validation result is cached by a hash of the
bytes, so a repeated load of unchanged data skips it. The frames are parsed from the very bytes
that were hashed and validated.

Reading rules (one rule for `ztown validate`, `ztown.load` and every `ztown export`; frictionless
is more lenient, so validation applies them on top of it):

- a file is comma-separated UTF-8 (a leading byte-order mark is allowed), with no NUL byte; its
  header names the schema's fields exactly and in order (no padding); every row has one cell per
  field; a resource has at least one data row;
- an integer is written as the JSON grammar writes one: ASCII digits with an optional leading
  minus, no leading zeros, no spaces, "+", separators ("1,000", "1_000") or full-width digits,
  and lies within +-2**53, so that every tool (Stata, R, spreadsheets) holds it exactly;
- a number is a JSON number (e.g. 9.6, -0.5, 1e-05): no spaces, separators, "NaN" or "INF"; it
  is finite and smaller in size than 2**1023 (the largest value a Stata double holds);
- a boolean is one of the field's trueValues/falseValues (default true/True/TRUE/1 and
  false/False/FALSE/0); a coded field holds one of its categories; a pattern must match the
  whole cell; a required field is never missing.

Anything else is refused, never coerced, so no value changes silently between the CSV file and
the frames.

Types follow the package's own descriptor: Likert items become ordered categoricals with the
integer categories 1-5 and the labelled missing codes (8 "don't know", 9 "refused") as NA; coded
string fields become categoricals; nullable integers stay integers; primary keys stay columns; no
row is dropped. The missing codes themselves are kept in `StudyData.missing`, so nothing is lost.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ztown.data.errors import DataPackageError, Problem
from ztown.data.schema import missing_values
from ztown.data.validate import (
    ENV_VAR, ERROR_LIMIT, FileRefused, byte_problems, check_files, max_resource_bytes, read_inside, read_package,
    resolve_descriptor,
)

__all__ = ["ENV_VAR", "StudyData", "load", "read_frames", "parse_resources", "resolve_descriptor", "truth_of"]

# frictionless' default spellings of booleans (the package writes true/false)
TRUE_VALUES = ("true", "True", "TRUE", "1")
FALSE_VALUES = ("false", "False", "FALSE", "0")
INTEGER_LIMIT = 2 ** 53  # larger integers are not exact in a double (Stata, R, JavaScript, spreadsheets)
NUMBER_LIMIT = 2.0 ** 1023  # Stata's missing values start here; larger doubles cannot be exported
NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.ASCII)
INTEGER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)
INTEGER_EXPECTED = ("an integer written as digits with an optional leading minus (no spaces, '+', leading zeros, "
                    "separators or full-width digits)")
NUMBER_EXPECTED = "a number written like 9.6, -0.5 or 1e-05 (no spaces, separators, NaN or INF)"
_FOUND_MAX = 60  # characters of a cell quoted in a problem


@dataclass(repr=False)
class StudyData:
    """The study's data package, read: one typed pandas frame per resource, and what it was read from.

    Attributes:
        path: the ``datapackage.json`` that was read.
        descriptor: that descriptor, as a dict (field descriptions, units, categories, keys).
        frames: resource name -> DataFrame, in the descriptor's order. Each frame has one column
            per field, in schema order (primary keys are columns, the index is 0..n-1, row i is line
            i + 2 of the CSV file). ``data.respondents`` and ``data["respondents"]`` are shortcuts.
            Column types: ``Int64`` (integer), ``float64`` (number), ``boolean``, ``string``;
            coded fields are ``category`` (ordered where the schema says so).
        missing: one row per labelled missing value, with columns ``resource``, ``row`` (CSV line,
            header = 1), ``field``, ``code`` (e.g. ``"8"``) and ``label`` (e.g. ``"don't know"``).
            In the frames these cells are NA; this table says why.
        content_hash: SHA-256 over the descriptor and every resource file, as validated.
        truth: the generator's numeric true parameters (resource ``parameters``), by name.

    Likert items (and ``satisfaction``) are ordered categoricals whose categories are the integers
    1 to 5. For numbers use ``data.respondents["sat"].astype("Float64")`` (or ``"Int64"``): the
    codes 8 and 9 are already NA, so they never enter a mean.
    """

    path: Path
    descriptor: dict
    frames: dict[str, pd.DataFrame]
    missing: pd.DataFrame
    content_hash: str = ""
    truth: dict[str, float] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(name)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name} {len(frame)}x{frame.shape[1]}" for name, frame in self.frames.items())
        digest = f", sha256 {self.content_hash[:12]}" if self.content_hash else ""
        return (f"<StudyData {str(self.path)!r}{digest}: {len(self.frames)} resources (rows x fields: {sizes}); "
                f"{len(self.missing)} labelled missing values>")

    def field(self, resource: str, name: str) -> dict:
        """The descriptor of one field (for labels, units and categories); KeyError if there is none."""
        for res in self.descriptor["resources"]:
            if res["name"] == resource:
                for f in res["schema"]["fields"]:
                    if f["name"] == name:
                        return f
        raise KeyError(f"{resource}.{name}")


# ----------------------------------------------------------------------------- one column


def _found(value) -> str:
    if not isinstance(value, str):
        return "no cell"
    if value == "":
        return "an empty cell"
    text = repr(value)
    return text if len(text) <= _FOUND_MAX else text[:_FOUND_MAX] + "...' (cut)"


class _Bad(list):
    """(index, value, kind, expected) of the cells of one column that break a reading rule."""

    def add(self, indices, values, kind: str, expected: str) -> None:
        self.extend((int(i), values[i], kind, expected) for i in indices)


def _integers(values: np.ndarray, present: np.ndarray, bad: _Bad) -> np.ndarray:
    """The present cells as int64 (0 elsewhere); spellings other than canonical digits are bad."""
    out = np.zeros(len(values), dtype=np.int64)
    idx = np.flatnonzero(present)
    if not idx.size:
        return out
    text = values[idx]
    try:
        ints = text.astype(np.int64)  # int() per cell: lenient (" 3", "+3", "1_000", "５")...
        canonical = ints.astype(str) == text.astype(str)  # ...so the spelling must read back exactly
        ok = canonical & (np.abs(ints) <= INTEGER_LIMIT)
        if ok.all():
            out[idx] = ints
            return out
    except (ValueError, TypeError, OverflowError):
        pass
    for i in idx:  # the slow path, only for columns with a bad cell: locate every one
        cell = values[i]
        if not isinstance(cell, str) or not INTEGER_TEXT.fullmatch(cell):
            bad.add([i], values, "integer-format", INTEGER_EXPECTED)
        elif abs(int(cell)) > INTEGER_LIMIT:
            bad.add([i], values, "integer-range", "an integer within -2**53 to 2**53 (exact in a double)")
        else:
            out[i] = int(cell)
    return out


def _numbers(values: np.ndarray, present: np.ndarray, bad: _Bad) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i in np.flatnonzero(present):
        cell = values[i]
        if not isinstance(cell, str) or not NUMBER_TEXT.fullmatch(cell):
            bad.add([i], values, "number-format", NUMBER_EXPECTED)
            continue
        number = float(cell)
        if not abs(number) < NUMBER_LIMIT:
            bad.add([i], values, "number-range", "a finite number smaller in size than 2**1023 (Stata's largest "
                                                 "double)")
            continue
        out[i] = number
    return out


def _typed_column(values: np.ndarray, missing: np.ndarray, fld: dict, bad: _Bad):
    """One column (an object array of cells) in the field's declared type, missing cells as NA;
    cells that break a reading rule are added to `bad`."""
    kind = fld.get("type", "string")
    present = ~missing
    constraints = fld.get("constraints") if isinstance(fld.get("constraints"), dict) else {}
    categories = [c["value"] if isinstance(c, dict) else c for c in fld.get("categories", [])]
    ordered = bool(fld.get("categoriesOrdered"))
    if constraints.get("required") and missing.any():
        bad.add(np.flatnonzero(missing), values, "required", "a value (the field is required)")
    if kind == "integer":
        ints = _integers(values, present, bad)
        if categories:
            return _categorical(ints, present, categories, ordered, values, bad)
        return pd.arrays.IntegerArray(ints, missing.copy())
    if kind == "number":
        return pd.array(_numbers(values, present, bad), dtype="float64")
    if kind == "boolean":
        true = np.isin(values, [str(v) for v in fld.get("trueValues", TRUE_VALUES)])
        false = np.isin(values, [str(v) for v in fld.get("falseValues", FALSE_VALUES)])
        bad.add(np.flatnonzero(present & ~true & ~false), values, "boolean-format", "true or false")
        return pd.arrays.BooleanArray(true, missing.copy())
    pattern = constraints.get("pattern")
    if isinstance(pattern, str):  # the whole cell, as DuckDB's regexp_full_match checks it
        regex = re.compile(pattern)
        bad.add([i for i in np.flatnonzero(present) if not regex.fullmatch(values[i])], values, "pattern",
                f"a value matching the whole pattern {pattern}")
    if categories:
        return _categorical(values, present, categories, ordered, values, bad)
    return pd.array(np.where(present, values, None), dtype="string")


def _categorical(keys: np.ndarray, present: np.ndarray, categories: list, ordered: bool, values: np.ndarray,
                 bad: _Bad) -> pd.Categorical:
    codes = np.full(len(keys), -1, dtype=np.int64)
    if present.any():
        codes[present] = pd.Categorical(keys[present], categories=categories).codes
    outside = np.flatnonzero(present & (codes < 0))
    if outside.size:
        done = {i for i, *_ in bad}  # a badly spelled integer is not also "not a category"
        bad.add([i for i in outside if int(i) not in done], values, "not-a-category",
                f"one of the categories {categories}")
    return pd.Categorical.from_codes(codes, categories=categories, ordered=ordered)


# ----------------------------------------------------------------------------- one resource


def _records(res: dict, data: bytes) -> tuple[list[list[str]], list[Problem]]:
    """The CSV records of a file (header first), or the problems that stop it from being read as a table."""
    path = res.get("path")
    text = data.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark is allowed (spreadsheets write one); frictionless drops it too
    records = list(csv.reader(io.StringIO(text, newline="")))
    names = [f.get("name") for f in res["schema"]["fields"]]
    if not records:
        return [], [Problem(res["name"], None, None, "empty-resource", "a header and at least one data row",
                            "an empty file", path)]
    header, problems = records[0], []
    if header != names:
        if len(header) == 1 and len(names) > 1 and any(d in header[0] for d in ";\t|"):
            delimiter = next(d for d in ";\t|" if d in header[0])
            problems.append(Problem(res["name"], 1, None, "header-mismatch",
                                    f"a comma-separated header: {','.join(names)[:_FOUND_MAX]}...",
                                    f"a header separated by {delimiter!r} (ztown reads comma-separated files only)",
                                    path))
        else:
            for i in range(max(len(header), len(names))):
                want = names[i] if i < len(names) else None
                got = header[i] if i < len(header) else None
                if want != got:
                    problems.append(Problem(
                        res["name"], 1, want or got, "header-mismatch",
                        f"header {want!r} in column {i + 1}" if want else f"no column {i + 1}",
                        _found(got) if got is not None else "no such column", path))
        return records, problems
    if len(records) == 1:
        problems.append(Problem(res["name"], None, None, "empty-resource", "at least one data row",
                                "only the header row", path))
    for row, record in enumerate(records[1:], start=2):
        if len(problems) >= ERROR_LIMIT:
            break
        if not record:
            problems.append(Problem(res["name"], row, None, "blank-row", "a data row", "a blank row", path))
        elif len(record) != len(names):
            kind = "extra-cell" if len(record) > len(names) else "missing-cell"
            problems.append(Problem(res["name"], row, None, kind, f"{len(names)} cells, one per field",
                                    f"{len(record)} cells", path))
    return records, problems


def _read_resource(res: dict, data: bytes, missing_rows: list[dict]) -> tuple[pd.DataFrame | None, list[Problem]]:
    """One resource as a typed frame, or None and every problem found in it."""
    records, problems = _records(res, data)
    if problems:
        return None, problems
    body = records[1:]
    schema = res["schema"]
    out = {}
    columns = list(zip(*body)) if body else [()] * len(schema["fields"])
    for col, fld in enumerate(schema["fields"]):
        values = np.empty(len(body), dtype=object)
        values[:] = columns[col]
        codes = missing_values(fld, schema)
        missing = np.isin(values, list(codes)) if codes else np.zeros(len(values), dtype=bool)
        labelled = {c: lab for c, lab in codes.items() if c != ""}
        missing_rows += [{"resource": res["name"], "row": int(i) + 2, "field": fld["name"], "code": values[i],
                          "label": labelled[values[i]]}
                         for i in np.flatnonzero(missing & np.isin(values, list(labelled)))] if labelled else []
        bad = _Bad()
        out[fld["name"]] = _typed_column(values, missing, fld, bad)
        for i, value, kind, expected in sorted(bad)[: ERROR_LIMIT - len(problems)]:
            problems.append(Problem(res["name"], i + 2, fld["name"], kind, expected, _found(value), res.get("path")))
    if problems:
        return None, problems
    return pd.DataFrame(out, index=pd.RangeIndex(len(body))), []


def parse_resources(descriptor: dict, data: dict[str, bytes]) -> tuple[dict[str, pd.DataFrame], pd.DataFrame,
                                                                      list[Problem]]:
    """Read the resources whose bytes are in `data` by the reading rules: (frames, missing, problems).

    Never raises for bad data: every cell or line that breaks a rule is a Problem naming its file,
    row (header = 1) and field. A resource with problems gets no frame.
    """
    frames, missing_rows, problems = {}, [], []
    for res in descriptor["resources"]:
        raw = data.get(res.get("name")) if isinstance(res, dict) else None
        if raw is None:
            continue
        found = byte_problems(res["name"], res.get("path"), raw)
        if not found:
            rows: list[dict] = []
            frame, found = _read_resource(res, raw, rows)
            if frame is not None:
                frames[res["name"]] = frame
                missing_rows += rows
        problems += found
    missing = pd.DataFrame(missing_rows, columns=["resource", "row", "field", "code", "label"])
    return frames, missing, problems


def read_frames(descriptor_path: Path, descriptor: dict,
                data: dict[str, bytes] | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read every resource with its declared types; labelled missing codes become NA (and are recorded).

    `data` holds each resource's bytes as already read (and validated); files not in it are read now
    (regular files inside the package folder only, within the size cap). Row numbers in the missing
    table count the header as row 1, as frictionless does. Raises `DataPackageError` listing every
    cell that breaks a reading rule (see the module docstring).
    """
    data = dict(data or {})
    problems = []
    root = Path(descriptor_path).parent
    for res in descriptor["resources"]:
        if res["name"] not in data:
            try:
                data[res["name"]] = read_inside(root / res["path"], root, max_resource_bytes(), res["path"])
            except FileRefused as exc:
                problems.append(exc.problem(res["name"], res["path"]))
    frames, missing, found = parse_resources(descriptor, data)
    problems += found
    if problems:
        raise DataPackageError(str(descriptor_path), problems)
    return frames, missing


def load(path: str | os.PathLike | None = None, *, use_cache: bool = True, max_bytes: int | None = None) -> StudyData:
    """Validate the data package at `path` and read it into typed frames (see `StudyData`).

    Args:
        path: the package folder or its ``datapackage.json``; default ``$ZTOWN_DATAPACKAGE``, else the
            repository's ``datapackage/``. Zipped packages and URLs are refused (unzip or download
            first).
        use_cache: False validates afresh instead of reusing the cached result for the same bytes.
        max_bytes: the largest file read (default ``$ZTOWN_MAX_RESOURCE_BYTES``, else 256 MiB).

    Raises:
        ztown.DataPackageError: the package is invalid, does not fit the study's schema or breaks a
            reading rule; ``.problems`` lists every problem with its file, row and field.
    """
    files = read_package(path, max_bytes=max_bytes)
    report = check_files(files, use_cache=use_cache)
    report.raise_if_invalid()
    if report.frames is not None:  # validated just now: the frames were parsed on the way
        frames, missing = report.frames, report.missing
    else:
        frames, missing = read_frames(files.descriptor_path, files.descriptor, files.data)
    return StudyData(files.descriptor_path, files.descriptor, frames, missing, content_hash=files.content_hash,
                     truth=truth_of(frames))


def truth_of(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The generator's numeric true parameters (resource `parameters`), by name; empty if there are none."""
    params = frames.get("parameters")
    if params is None:
        return {}
    return {r.parameter: float(r.value) for r in params.itertuples() if pd.notna(r.value)}
