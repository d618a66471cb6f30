"""Read the data package into typed pandas frames (`ztown.load()`).

The path defaults to the environment variable ZTOWN_DATAPACKAGE, else the repository's
`datapackage/`. Types follow the package's own descriptor: Likert items become ordered
categoricals (1-5) with the labelled missing codes as NA, coded fields become categoricals,
nullable integers stay integers, and no row is dropped. The missing codes themselves are
kept in `StudyData.missing`, so nothing is lost.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .paths import default_datapackage

ENV_VAR = "ZTOWN_DATAPACKAGE"


@dataclass
class StudyData:
    """The study's resources as typed frames, with the descriptor they were read with."""

    path: Path  # the datapackage.json that was read
    descriptor: dict
    frames: dict[str, pd.DataFrame]
    missing: pd.DataFrame  # resource, row, field, code, label for every labelled missing value
    content_hash: str = ""
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


def resolve_descriptor(path: str | os.PathLike | None = None) -> Path:
    """The datapackage.json to read: an explicit path (folder or file), $ZTOWN_DATAPACKAGE, or the default."""
    raw = path if path is not None else os.environ.get(ENV_VAR) or default_datapackage()
    p = Path(raw).expanduser().resolve()
    return p / "datapackage.json" if p.is_dir() else p


def _typed(df: pd.DataFrame, fields: list[dict]) -> pd.DataFrame:
    out = {}
    for f in fields:
        col = df[f["name"]]
        cats = [c["value"] for c in f.get("categories", [])]
        t = f["type"]
        if t == "integer":
            col = pd.to_numeric(col, errors="raise").astype("Int64")
        elif t == "number":
            col = pd.to_numeric(col, errors="raise").astype("float64")
        elif t == "boolean":
            col = col.map({"true": True, "false": False, "True": True, "False": False}).astype("boolean")
        else:
            col = col.astype("string")
        if cats:
            col = pd.Categorical(col, categories=cats, ordered=bool(f.get("categoriesOrdered")))
        out[f["name"]] = col
    return pd.DataFrame(out, index=df.index)


def read_frames(descriptor_path: Path, descriptor: dict) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read every resource with its declared types; labelled missing codes become NA (and are recorded)."""
    base = descriptor_path.parent
    frames, missing = {}, []
    for res in descriptor["resources"]:
        fields = res["schema"]["fields"]
        raw = pd.read_csv(base / res["path"], dtype=str, keep_default_na=False, encoding="utf-8")
        for f in fields:
            codes = {m["value"]: m.get("label", "") for m in f.get("missingValues", [])
                     if isinstance(m, dict)} or {m: "" for m in f.get("missingValues", []) if isinstance(m, str)}
            codes = codes or {m if isinstance(m, str) else m["value"]: "" for m in res["schema"].get("missingValues", [""])}
            col = raw[f["name"]]
            is_missing = col.isin(list(codes))
            for row in col.index[is_missing & (col != "")]:
                missing.append({"resource": res["name"], "row": int(row) + 2, "field": f["name"],
                                "code": col[row], "label": codes[col[row]]})
            raw[f["name"]] = col.where(~is_missing, None)
        frames[res["name"]] = _typed(raw, fields)
    miss = pd.DataFrame(missing, columns=["resource", "row", "field", "code", "label"])
    return frames, miss


def load(path: str | os.PathLike | None = None) -> StudyData:
    """Read the data package at `path` (folder or datapackage.json) into typed frames."""
    descriptor_path = resolve_descriptor(path)
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    frames, missing = read_frames(descriptor_path, descriptor)
    params = frames.get("parameters")
    truth = {}
    if params is not None:
        truth = {r.parameter: float(r.value) for r in params.itertuples() if pd.notna(r.value)}
    return StudyData(descriptor_path, descriptor, frames, missing, truth=truth)
