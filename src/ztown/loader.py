"""Read the data package into typed pandas frames (`ztown.load()`), after validating it.

The path defaults to the environment variable ZTOWN_DATAPACKAGE, else the repository's
`datapackage/`. Every load validates the package (frictionless plus the study's schema, see
`ztown.validate`) and refuses invalid data with a `DataPackageError` listing every problem; the
validation result is cached by a hash of the bytes, so a repeated load of unchanged data skips it.
The frames are parsed from the very bytes that were hashed and validated.

Types follow the package's own descriptor: Likert items become ordered categoricals (1-5) with the
labelled missing codes as NA, coded fields become categoricals, nullable integers stay integers,
primary keys stay columns, and no row is dropped. The missing codes themselves are kept in
`StudyData.missing`, so nothing is lost.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataPackageError, Problem
from .schema import missing_values
from .validate import ENV_VAR, check_files, read_package, resolve_descriptor

__all__ = ["ENV_VAR", "StudyData", "load", "read_frames", "resolve_descriptor", "truth_of"]

# frictionless' default spellings of booleans (the package writes true/false)
TRUE_VALUES = ("true", "True", "TRUE", "1")
FALSE_VALUES = ("false", "False", "FALSE", "0")


@dataclass
class StudyData:
    """The study's resources as typed frames, with the descriptor they were read with."""

    path: Path  # the datapackage.json that was read
    descriptor: dict
    frames: dict[str, pd.DataFrame]
    missing: pd.DataFrame  # resource, row, field, code, label for every labelled missing value
    content_hash: str = ""  # sha256 over the descriptor and every resource file, as validated
    truth: dict[str, float] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(name)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def field(self, resource: str, name: str) -> dict:
        """The descriptor of one field (for labels, units and categories)."""
        for res in self.descriptor["resources"]:
            if res["name"] == resource:
                for f in res["schema"]["fields"]:
                    if f["name"] == name:
                        return f
        raise KeyError(f"{resource}.{name}")


class _Unreadable(Exception):
    """A value the loader cannot convert although validation passed (the loader and frictionless disagree)."""

    def __init__(self, index: int, value: str, expected: str):
        self.index, self.value, self.expected = index, value, expected
        self.field: str | None = None


def _convert(values: np.ndarray, present: np.ndarray, to, expected: str) -> np.ndarray:
    """Convert the present strings with `to` (int or float) in one pass, locating the first failure."""
    filled = np.where(present, values, "0")
    try:
        return filled.astype(to)
    except (ValueError, TypeError, OverflowError):
        for i in np.flatnonzero(present):
            try:
                to(values[i])
            except (ValueError, TypeError, OverflowError):
                raise _Unreadable(int(i), values[i], expected) from None
        raise


def _typed_column(values: np.ndarray, missing: np.ndarray, fld: dict):
    """One column (an object array of strings) in the field's declared type, missing cells as NA."""
    kind = fld.get("type", "string")
    present = ~missing
    categories = [c["value"] if isinstance(c, dict) else c for c in fld.get("categories", [])]
    if categories and kind in ("integer", "string"):
        # match the text of each category, then label the codes with the typed categories
        text = [str(int(c)) if kind == "integer" else str(c) for c in categories]
        codes = pd.Categorical(np.where(present, values, None), categories=text).codes
        outside = np.flatnonzero(present & (codes < 0))
        if outside.size:
            raise _Unreadable(int(outside[0]), values[outside[0]], f"one of the categories {categories}")
        return pd.Categorical.from_codes(codes, categories=categories, ordered=bool(fld.get("categoriesOrdered")))
    if kind == "integer":
        typed = pd.arrays.IntegerArray(_convert(values, present, np.int64, "an integer"), missing.copy())
    elif kind == "number":
        typed = pd.array(np.where(present, _convert(values, present, np.float64, "a number"), np.nan),
                         dtype="float64")
    elif kind == "boolean":
        true = np.isin(values, list(fld.get("trueValues", TRUE_VALUES)))
        false = np.isin(values, list(fld.get("falseValues", FALSE_VALUES)))
        unknown = np.flatnonzero(present & ~true & ~false)
        if unknown.size:
            raise _Unreadable(int(unknown[0]), values[unknown[0]], "true or false")
        typed = pd.arrays.BooleanArray(true, missing.copy())
    else:
        typed = pd.array(np.where(present, values, None), dtype="string")
    if categories:
        return pd.Categorical(typed, categories=categories, ordered=bool(fld.get("categoriesOrdered")))
    return typed


def _read_resource(res: dict, data: bytes, missing_rows: list[dict]) -> pd.DataFrame:
    fields = res["schema"]["fields"]
    # skip_blank_lines=False: a blank line becomes a row, never silently vanishes (validation refuses it)
    raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False,
                      skip_blank_lines=False, encoding="utf-8")
    out = {}
    for fld in fields:
        values = raw[fld["name"]].to_numpy(dtype=object)
        codes = missing_values(fld, res["schema"])
        missing = np.zeros(len(values), dtype=bool)
        for code in codes:
            missing |= values == code
        missing_rows += [{"resource": res["name"], "row": int(i) + 2, "field": fld["name"],
                          "code": values[i], "label": codes[values[i]]}
                         for i in np.flatnonzero(missing & (values != ""))]
        try:
            out[fld["name"]] = _typed_column(values, missing, fld)
        except _Unreadable as exc:
            exc.field = fld["name"]
            raise
    return pd.DataFrame(out, index=raw.index)


def read_frames(descriptor_path: Path, descriptor: dict,
                data: dict[str, bytes] | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read every resource with its declared types; labelled missing codes become NA (and are recorded).

    `data` holds each resource's bytes as already read (and validated); files not in it are read now.
    Row numbers in the missing table count the header as row 1, as frictionless does.
    """
    data = data or {}
    frames, missing_rows = {}, []
    for res in descriptor["resources"]:
        raw = data.get(res["name"])
        if raw is None:
            raw = (descriptor_path.parent / res["path"]).read_bytes()
        try:
            frames[res["name"]] = _read_resource(res, raw, missing_rows)
        except _Unreadable as exc:
            raise DataPackageError(str(descriptor_path), [Problem(
                res["name"], exc.index + 2, exc.field, "loader-type", exc.expected,
                f"{exc.value!r} (frictionless accepted it; ztown's loader cannot read it)", res["path"])]) from None
    missing = pd.DataFrame(missing_rows, columns=["resource", "row", "field", "code", "label"])
    return frames, missing


def load(path: str | os.PathLike | None = None, *, use_cache: bool = True) -> StudyData:
    """Validate the data package at `path` (folder or datapackage.json) and read it into typed frames.

    Raises `ztown.DataPackageError` listing every problem if the package is invalid or does not fit
    the study's schema. `use_cache=False` forces a fresh validation.
    """
    files = read_package(path)
    check_files(files, use_cache=use_cache).raise_if_invalid()
    frames, missing = read_frames(files.descriptor_path, files.descriptor, files.data)
    return StudyData(files.descriptor_path, files.descriptor, frames, missing, content_hash=files.content_hash,
                     truth=truth_of(frames))


def truth_of(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The generator's numeric true parameters (resource `parameters`), by name; empty if there are none."""
    params = frames.get("parameters")
    if params is None:
        return {}
    return {r.parameter: float(r.value) for r in params.itertuples() if pd.notna(r.value)}
