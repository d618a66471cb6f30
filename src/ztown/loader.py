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

from .validate import ENV_VAR, check_files, read_package, resolve_descriptor

__all__ = ["ENV_VAR", "StudyData", "load", "read_frames", "resolve_descriptor"]

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


def _missing_codes(res_schema: dict, fld: dict) -> dict[str, str]:
    """The field's missing-value strings and their labels (field-level, else schema-level, else [""])."""
    codes = fld.get("missingValues", res_schema.get("missingValues", [""]))
    return {(c["value"] if isinstance(c, dict) else c): (c.get("label", "") if isinstance(c, dict) else "")
            for c in codes}


def _typed_column(col: pd.Series, fld: dict) -> pd.Series | pd.Categorical:
    """One column (strings, missing as None) in the field's declared type."""
    kind = fld.get("type", "string")
    if kind == "integer":
        typed = pd.to_numeric(col, errors="raise").astype("Int64")
    elif kind == "number":
        typed = pd.to_numeric(col, errors="raise").astype("float64")
    elif kind == "boolean":
        mapping = {**{v: True for v in fld.get("trueValues", TRUE_VALUES)},
                   **{v: False for v in fld.get("falseValues", FALSE_VALUES)}}
        typed = col.map(mapping).astype("boolean")
    else:
        typed = col.astype("string")
    categories = [c["value"] if isinstance(c, dict) else c for c in fld.get("categories", [])]
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
        col = raw[fld["name"]]
        codes = _missing_codes(res["schema"], fld)
        is_missing = col.isin(list(codes)).to_numpy()
        labelled = np.flatnonzero(is_missing & (col != "").to_numpy())
        for row, code in zip(labelled, col.to_numpy()[labelled]):
            missing_rows.append({"resource": res["name"], "row": int(row) + 2, "field": fld["name"],
                                 "code": code, "label": codes[code]})
        out[fld["name"]] = _typed_column(col.where(~is_missing, None), fld)
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
        frames[res["name"]] = _read_resource(res, raw, missing_rows)
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
    params = frames.get("parameters")
    truth = {}
    if params is not None:
        truth = {r.parameter: float(r.value) for r in params.itertuples() if pd.notna(r.value)}
    return StudyData(files.descriptor_path, files.descriptor, frames, missing, content_hash=files.content_hash,
                     truth=truth)
