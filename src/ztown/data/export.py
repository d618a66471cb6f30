"""Export the data package to the formats other researchers' tools read natively.

`export(data, fmt, out)` writes into the folder `out`:

- ``parquet``: one ``<resource>.parquet`` per resource with Arrow types from the schema
  (integer -> int64, number -> float64, boolean -> bool, string -> string; string-coded fields are
  dictionary<int8, string> whose dictionary is every category in schema order, ordered where the
  schema says so). Each field's description, unit, categories (with labels) and labelled missing
  codes are in the Arrow field metadata; the file metadata holds the resource's own descriptor
  (with its schema) under ``dataresource`` and the package's metadata without the other
  resources under ``datapackage``. Integer-coded fields (the Likert items) stay int64, because Parquet reads an
  integer dictionary back as plain integers; their categories are in the field metadata.
- ``stata``: one ``<resource>.dta`` per resource. Variable labels are the field descriptions
  (cut to Stata's 80 characters); string codes become integers 1..k in the schema's category
  order, labelled with the category labels; Likert items keep 1-5 with their labels; labelled
  missing codes become extended missing values in the order the schema lists them (8 -> .a
  "don't know", 9 -> .b "refused"); booleans become 0/1 labelled false/true; integers are Stata
  longs (doubles if a value does not fit). Stata strings have no missing value: a missing string
  is blank (as in the CSV). The dataset label starts with SYNTHETIC DATA for synthetic resources.
  With SOURCE_DATE_EPOCH set, the header's creation time is that time, so the files are byte-for-byte
  reproducible (Parquet files are anyway; a DuckDB file is not).
- ``duckdb``: one database ``ztown.duckdb`` with a table per resource, created in foreign-key
  order with the schema's types, NOT NULL, UNIQUE, PRIMARY KEY, FOREIGN KEY and CHECK
  (minimum, maximum, pattern, integer codes) constraints; string codes are ENUM types; table and
  column descriptions are COMMENTs. The table ``value_labels`` lists every category and missing
  code with its label.

Parquet and DuckDB have no labelled missing values, so a labelled missing code is NULL there and
is listed in ``missing_values`` (resource, CSV row, primary key as JSON, field, code, label).

Every export is atomic: everything is converted in memory first, the files are written under
``<name>.partial`` in the target folder and renamed into place only when all of them are complete,
so a refused or failed export leaves nothing behind (not even the folder, if it created it). Data
the format cannot hold is refused with a `DataPackageError` naming file, row and field; a package
that passes `ztown validate` can always be written in every format. Parquet needs only pyarrow;
Stata needs pyreadstat and DuckDB duckdb (``pip install 'ztown[export]'``).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztown.data.errors import DataPackageError, Problem
from ztown.data.schema import labelled_missing_values, resource_kind

if TYPE_CHECKING:  # pandas and the format libraries load on use, so `ztown --help` stays quick
    import pandas as pd

FORMATS = ("parquet", "stata", "duckdb")
DUCKDB_FILENAME = "ztown.duckdb"
MISSING_TABLE = "missing_values"
VALUE_LABEL_TABLE = "value_labels"
STATA_VERSION = 14  # pyreadstat's version 14 writes .dta format 118 (UTF-8, Stata 14+); 15 writes 119
STATA_LABEL_MAX = 80  # characters, for variable and dataset labels
STATA_NAME_MAX = 32
STATA_LONG_RANGE = (-2_147_483_647, 2_147_483_620)  # larger longs are Stata's missing codes
FLOAT_EXACT_MAX = 2 ** 53
STATA_RESERVED = frozenset(
    "_all _b byte _coef _cons double float if in int long _n _N _pi _pred _rc _skip strL using with".split())
BOOLEAN_LABELS = {0: "false", 1: "true"}
PARTIAL_SUFFIX = ".partial"


# ----------------------------------------------------------------------------- shared helpers

def _load(data) -> Any:
    """Accept loaded StudyData, or a path (folder or datapackage.json) to load."""
    if hasattr(data, "frames") and hasattr(data, "descriptor"):
        return data
    from ztown.data.loader import load
    return load(data)


def _require(module: str, fmt: str):
    """Import a format library, saying which extra brings it if it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"the {fmt} export needs the Python package {module}: pip install 'ztown[export]'") from exc


def _refuse(data, resource: dict | None, row: int | None, field: str | None, kind: str, expected: str,
            found: str):
    """Raise the DataPackageError of one value (or table) the format cannot hold."""
    raise DataPackageError(str(getattr(data, "path", "") or "the data package"), [Problem(
        resource["name"] if resource else None, row, field, kind, expected, found,
        resource.get("path") if resource else None)])


class _Outputs:
    """Files written under NAME.partial in the target folder and renamed into place together at the end;
    on any error the partial files (and the folders this export created) are removed."""

    def __init__(self, out):
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"export output {folder} exists and is not a folder")
        self.folder = folder
        self.created = []  # folders made here, deepest first
        probe = folder
        while not probe.exists():
            self.created.append(probe)
            probe = probe.parent
        self.finals: list[Path] = []

    def __enter__(self) -> "_Outputs":
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def partial(self, name: str) -> Path:
        """The temporary path to write the file `name` to (debris of an interrupted export is removed)."""
        final = self.folder / name
        self.finals.append(final)
        for leftover in self._debris(final):
            leftover.unlink(missing_ok=True)
        return self._debris(final)[0]

    @staticmethod
    def _debris(final: Path) -> tuple[Path, Path]:
        partial = final.with_name(final.name + PARTIAL_SUFFIX)
        return partial, partial.with_name(partial.name + ".wal")  # DuckDB's write-ahead log

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            for final in self.finals:
                os.replace(self._debris(final)[0], final)
            return
        for final in self.finals:
            for leftover in self._debris(final):
                leftover.unlink(missing_ok=True)
        for folder in self.created:
            try:
                folder.rmdir()
            except OSError:
                break


def _categories(field: dict) -> list:
    return [c["value"] for c in field.get("categories", [])]




def _is_required(field: dict) -> bool:
    return bool(field.get("constraints", {}).get("required"))


def _csv_row(index) -> int:
    """The 1-based CSV line of a frame row (the header is line 1), as the loader numbers them."""
    return int(index) + 2


def _frame(data, resource: dict) -> pd.DataFrame:
    """The resource's frame, checked to have every field of the schema."""
    frame = data.frames.get(resource["name"])
    if frame is None:
        _refuse(data, resource, None, None, "export-frame", "a loaded frame for the resource", "none")
    absent = [f["name"] for f in resource["schema"]["fields"] if f["name"] not in frame.columns]
    if absent:
        _refuse(data, resource, None, absent[0], "export-frame", "a column for every field",
                f"no column for field(s) {', '.join(absent)}")
    return frame


def _check_required(data, resource: dict, field: dict, col: pd.Series, missing_rows: set[int]) -> None:
    """A required field may be empty only where a labelled missing code stands (never, in practice)."""
    if not _is_required(field):
        return
    empty = [i for i in col.index[col.isna()] if _csv_row(i) not in missing_rows]
    if empty:
        _refuse(data, resource, _csv_row(empty[0]), field["name"], "required", "a value (the field is required)",
                f"a missing value ({len(empty)} row(s) in all)")


def _plain(value):
    """A JSON- and SQL-friendly Python scalar for a pandas/numpy value."""
    import pandas as pd
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def missing_records(data) -> pd.DataFrame:
    """Every labelled missing value, with the primary key of its row, so a NULL can be explained."""
    import pandas as pd
    rows = []
    by_name = {r["name"]: r for r in data.descriptor["resources"]}
    for rec in data.missing.itertuples(index=False):
        res = by_name[rec.resource]
        frame = data.frames[rec.resource]
        idx = rec.row - 2
        key = {k: _plain(frame.at[idx, k]) for k in res["schema"].get("primaryKey", [])}
        rows.append({"resource": rec.resource, "row": int(rec.row), "key": json.dumps(key, ensure_ascii=False),
                     "field": rec.field, "code": str(rec.code), "label": rec.label})
    return pd.DataFrame(rows, columns=["resource", "row", "key", "field", "code", "label"])


def _missing_rows(data, resource: str, field: str) -> dict[int, str]:
    """CSV row -> labelled missing code of one field."""
    m = data.missing
    sel = m[(m["resource"] == resource) & (m["field"] == field)]
    return {int(r): str(c) for r, c in zip(sel["row"], sel["code"])}


MISSING_TABLE_FIELDS = [
    {"name": "resource", "type": "string", "description": "Resource (table) the missing value is in."},
    {"name": "row", "type": "integer", "description": "Line of the value in the resource's CSV file (header = 1)."},
    {"name": "key", "type": "string", "description": "Primary key of the row, as a JSON object."},
    {"name": "field", "type": "string", "description": "Field (column) whose value is missing."},
    {"name": "code", "type": "string", "description": "The missing-value code in the CSV file."},
    {"name": "label", "type": "string", "description": "What the code means."},
]


def _check_no_clash(data, *names: str) -> None:
    taken = {r["name"] for r in data.descriptor["resources"]} & set(names)
    if taken:
        _refuse(data, None, None, None, "export-name", "resource names other than the export's own tables",
                f"resource name(s) {sorted(taken)}")


# ----------------------------------------------------------------------------- Arrow / Parquet

def _arrow_type(field: dict):
    import pyarrow as pa
    t = field["type"]
    if t == "string" and field.get("categories"):
        n = len(field["categories"])
        index = pa.int8() if n <= 127 else pa.int16() if n <= 32767 else pa.int32()
        return pa.dictionary(index, pa.string(), ordered=bool(field.get("categoriesOrdered")))
    return {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(), "string": pa.string()}[t]


def _arrow_field_metadata(field: dict) -> dict[str, str]:
    meta = {"description": str(field.get("description", "")), "tableschema:type": field["type"]}
    if field.get("unit"):
        meta["unit"] = str(field["unit"])
    if field.get("categories"):
        meta["categories"] = json.dumps(field["categories"], ensure_ascii=False)
        meta["categoriesOrdered"] = json.dumps(bool(field.get("categoriesOrdered")))
    if labelled_missing_values(field):
        meta["missingValues"] = json.dumps(field["missingValues"], ensure_ascii=False)
    if field.get("constraints"):
        meta["constraints"] = json.dumps(field["constraints"], ensure_ascii=False)
    return meta


def _arrow_array(data, resource: dict, field: dict, col: pd.Series):
    import pandas as pd
    import pyarrow as pa
    typ = _arrow_type(field)
    if pa.types.is_dictionary(typ):
        cats = _categories(field)
        values = col.astype(object).where(col.notna(), None)
        coded = pd.Categorical(values, categories=cats)
        unknown = values.notna() & (coded.codes < 0)
        if unknown.any():
            i = values.index[unknown][0]
            _refuse(data, resource, _csv_row(i), field["name"], "not-a-category", f"one of the categories {cats}",
                    repr(values[i]))
        indices = pa.array(coded.codes, type=typ.index_type, mask=coded.codes < 0)
        return pa.DictionaryArray.from_arrays(indices, pa.array(cats, pa.string()), ordered=typ.ordered)
    if field["type"] == "integer":
        return pa.array(pd.array(col.astype(object).where(col.notna(), None), dtype="Int64"), type=typ)
    if field["type"] == "number":
        return pa.array(col.astype("float64"), type=typ, from_pandas=True)
    if field["type"] == "boolean":
        return pa.array(col.astype("boolean"), type=typ)
    return pa.array(col.astype(object).where(col.notna(), None), type=typ)


def package_metadata(descriptor: dict) -> dict:
    """The package's own metadata (title, version, licence, sources, ...) without its resources."""
    return {k: v for k, v in descriptor.items() if k != "resources"}


def _file_metadata(data, resource: dict) -> dict[str, str]:
    """A Parquet file's metadata: its resource's descriptor (with the schema) and the package's metadata,
    not the whole descriptor of every resource."""
    return {"datapackage": json.dumps(package_metadata(data.descriptor), ensure_ascii=False),
            "dataresource": json.dumps(resource, ensure_ascii=False), "resource": resource["name"],
            "description": str(resource.get("description", ""))}


def arrow_table(data, resource: dict):
    """One resource as an Arrow table typed and annotated from its schema."""
    import pyarrow as pa
    frame = _frame(data, resource)
    arrays, fields = [], []
    for f in resource["schema"]["fields"]:
        col = frame[f["name"]]
        _check_required(data, resource, f, col, set(_missing_rows(data, resource["name"], f["name"])))
        arrays.append(_arrow_array(data, resource, f, col))
        fields.append(pa.field(f["name"], _arrow_type(f), nullable=not _is_required(f),
                               metadata=_arrow_field_metadata(f)))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=_file_metadata(data, resource)))


MISSING_RESOURCE = {"name": MISSING_TABLE, "description": "Labelled missing values, which are null in the resource "
                    "tables.", "schema": {"fields": MISSING_TABLE_FIELDS, "primaryKey": ["resource", "row", "field"]}}


def _missing_arrow(data):
    import pyarrow as pa
    table = missing_records(data)
    fields = [pa.field(f["name"], pa.int64() if f["type"] == "integer" else pa.string(), nullable=False,
                       metadata={"description": f["description"]}) for f in MISSING_TABLE_FIELDS]
    arrays = [pa.array(table[f.name].tolist(), type=f.type) for f in fields]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=_file_metadata(data, MISSING_RESOURCE)))


def export_parquet(data, out) -> list[Path]:
    """One Parquet file per resource, plus missing_values.parquet."""
    _require("pyarrow", "parquet")
    import pyarrow.parquet as pq
    data = _load(data)
    _check_no_clash(data, MISSING_TABLE)
    tables = {f"{res['name']}.parquet": arrow_table(data, res) for res in data.descriptor["resources"]}
    tables[f"{MISSING_TABLE}.parquet"] = _missing_arrow(data)
    with _Outputs(out) as outputs:
        for name, table in tables.items():
            pq.write_table(table, outputs.partial(name))
    return outputs.finals


# ----------------------------------------------------------------------------- Stata

def stata_name(name: str) -> str:
    """A valid Stata variable name for a field name (letters, digits, _; at most 32; not reserved)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = "_" + cleaned
    cleaned = cleaned[:STATA_NAME_MAX]
    if cleaned in STATA_RESERVED or re.fullmatch(r"str[0-9]+", cleaned):
        cleaned += "_"  # reserved words are short, so this stays within 32 characters
    return cleaned


def stata_label(text: str, limit: int = STATA_LABEL_MAX) -> str:
    """Cut a label to Stata's limit at a word boundary, marking the cut with '...'."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    aside = re.fullmatch(r"(.*\S)\s*\([^()]*\)", text)  # a closing remark in brackets goes first
    if aside and len(aside.group(1)) <= limit:
        return aside.group(1)
    head = text[: limit - 3]
    if " " in head[limit // 2:]:
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,;:(") + "..."


def stata_dataset_label(resource: dict) -> str:
    title = resource.get("title") or resource["name"]
    prefix = "SYNTHETIC DATA: " if resource_kind(resource) == "synthetic" else ""
    return stata_label(prefix + title)


def _stata_missing_letters(data, resource: dict, field: dict) -> dict[str, str]:
    codes = labelled_missing_values(field)
    if len(codes) > 26:
        _refuse(data, resource, None, field["name"], "export-stata", "at most 26 labelled missing codes (Stata's "
                ".a to .z)", f"{len(codes)} codes")
    return {code: string.ascii_lowercase[i] for i, (code, _label) in enumerate(codes)}


def _stata_integer_storage(data, resource: dict, field: dict, values: list) -> str:
    """'long' if every value fits a Stata long, else 'double' (exact up to 2**53)."""
    present = [v for v in values if v is not None]
    lo, hi = STATA_LONG_RANGE
    if present and all(lo <= v <= hi for v in present):
        return "long"
    too_big = [v for v in present if abs(v) > FLOAT_EXACT_MAX]
    if too_big:
        _refuse(data, resource, None, field["name"], "integer-range", "an integer within -2**53 to 2**53 (exact "
                "in a Stata double)", str(too_big[0]))
    return "double"


def stata_frame(data, resource: dict) -> tuple[pd.DataFrame, dict[str, str], dict[str, dict], dict[str, list]]:
    """The resource as a frame for pyreadstat: data, variable labels, value labels, missing letters."""
    import pandas as pd
    frame = _frame(data, resource)
    columns, var_labels, value_labels, user_missing = {}, {}, {}, {}
    for f in resource["schema"]["fields"]:
        name = stata_name(f["name"])
        if name in columns:
            _refuse(data, resource, None, f["name"], "export-stata", "field names that stay distinct in Stata",
                    f"two fields named {name} in Stata")
        col = frame[f["name"]]
        missing_at = _missing_rows(data, resource["name"], f["name"])
        _check_required(data, resource, f, col, set(missing_at))
        letters = _stata_missing_letters(data, resource, f)
        labels: dict = {}
        values: list
        if f["type"] == "string" and f.get("categories"):
            position = {c["value"]: i + 1 for i, c in enumerate(f["categories"])}
            labels = {i + 1: str(c.get("label", c["value"])) for i, c in enumerate(f["categories"])}
            values = [None if pd.isna(v) else position[v] for v in col]
        elif f["type"] == "string":  # Stata strings have no missing values: any missing string is blank
            columns[name] = pd.Series(["" if pd.isna(v) else str(v) for v in col], index=col.index, dtype=object)
            var_labels[name] = stata_label(f.get("description", ""))
            continue
        elif f["type"] == "boolean":
            labels = dict(BOOLEAN_LABELS)
            values = [None if pd.isna(v) else int(bool(v)) for v in col]
        elif f["type"] == "integer":
            values = [None if pd.isna(v) else int(v) for v in col]
            labels = {int(c["value"]): str(c.get("label", c["value"])) for c in f.get("categories", [])}
        else:  # number
            columns[name] = col.astype("float64")
            beyond = col.index[~(col.isna() | (col.abs() < 2.0 ** 1023))]
            if len(beyond):
                _refuse(data, resource, _csv_row(beyond[0]), f["name"], "number-range", "a finite number smaller "
                        "in size than 2**1023 (Stata's largest double)", repr(col[beyond[0]]))
            var_labels[name] = stata_label(f.get("description", ""))
            continue
        for row, code in missing_at.items():  # an unlabelled missing code stays a plain missing value
            values[col.index.get_loc(row - 2)] = letters.get(code)
        if letters:
            labels.update({letters[code]: str(label) for code, label in labelled_missing_values(f)})
            user_missing[name] = list(letters.values())
        numbers = [v for v in values if isinstance(v, int)]
        as_double = not numbers and not any(isinstance(v, str) for v in values)  # an all-empty column
        if f["type"] == "integer" and numbers and _stata_integer_storage(data, resource, f, numbers) == "double":
            if any(isinstance(v, str) for v in values):
                _refuse(data, resource, None, f["name"], "export-stata", "values within a Stata long where "
                        "extended missing values are used", "larger values")
            as_double = True
        if as_double:
            columns[name] = pd.Series([float("nan") if v is None else float(v) for v in values], index=col.index)
        else:  # Python ints, missing letters and NaN: pyreadstat writes a long with extended missing values
            columns[name] = pd.Series([float("nan") if v is None else v for v in values], index=col.index,
                                      dtype=object)
        var_labels[name] = stata_label(f.get("description", ""))
        if labels:
            value_labels[name] = labels
    return pd.DataFrame(columns), var_labels, value_labels, user_missing


def _stamp_dta(path: Path, epoch: int) -> None:
    """Set the .dta header's creation time (which the writer takes from the clock) to `epoch`, so that
    the same data give the same bytes when SOURCE_DATE_EPOCH is set (reproducible-builds convention)."""
    import datetime as dt
    when = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    stamp = f"{when.day:02d} {months[when.month - 1]} {when.year:04d} {when.hour:02d}:{when.minute:02d}".encode()
    raw = bytearray(path.read_bytes())
    tag = raw.find(b"<timestamp>")
    if tag < 0 or raw[tag + 11] != len(stamp):
        raise ValueError(f"{path}: no 17-character timestamp in the .dta header")
    start = tag + 12
    raw[start:start + len(stamp)] = stamp
    path.write_bytes(bytes(raw))


def export_stata(data, out) -> list[Path]:
    """One Stata .dta file per resource (format 118: UTF-8, read by Stata 14 and later)."""
    pyreadstat = _require("pyreadstat", "stata")
    data = _load(data)
    frames = {res["name"]: (res, stata_frame(data, res)) for res in data.descriptor["resources"]}
    with _Outputs(out) as outputs:
        for name, (res, (df, var_labels, value_labels, user_missing)) in frames.items():
            path = outputs.partial(f"{name}.dta")
            try:
                pyreadstat.write_dta(df, str(path), file_label=stata_dataset_label(res), column_labels=var_labels,
                                     variable_value_labels=value_labels, missing_user_values=user_missing,
                                     version=STATA_VERSION)
            except pyreadstat.ReadstatError as exc:
                _refuse(data, res, None, None, "export-stata", "values a Stata file can hold", str(exc))
            if os.environ.get("SOURCE_DATE_EPOCH"):
                _stamp_dta(path, int(os.environ["SOURCE_DATE_EPOCH"]))
    return outputs.finals


# ----------------------------------------------------------------------------- DuckDB

def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def dependency_order(resources: list[dict]) -> list[dict]:
    """Resources ordered so that every table a foreign key refers to comes first."""
    by_name = {r["name"]: r for r in resources}
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in visiting:
            raise ValueError(f"foreign keys form a cycle: {' -> '.join(chain + (name,))}")
        visiting.add(name)
        for fk in by_name[name]["schema"].get("foreignKeys", []):
            parent = fk["reference"].get("resource") or name
            if parent not in by_name:
                raise ValueError(f"resource {name}: foreign key refers to unknown resource {parent!r}")
            if parent != name:
                visit(parent, chain + (name,))
        visiting.discard(name)
        done.append(name)

    for r in resources:
        visit(r["name"], ())
    return [by_name[n] for n in done]


def _enum_types(resources: list[dict]) -> dict[tuple[str, str], str]:
    """An ENUM type name for every string-coded field; fields with the same codes share one type,
    so that a foreign key joins columns of the same type."""
    by_values: dict[tuple, str] = {}
    taken: set[str] = set()
    out = {}
    for r in resources:
        for f in r["schema"]["fields"]:
            if f["type"] != "string" or not f.get("categories"):
                continue
            values = tuple(_categories(f))
            if values not in by_values:
                name = f"{f['name']}_code"
                if name in taken:
                    name = f"{r['name']}_{f['name']}_code"
                taken.add(name)
                by_values[values] = name
            out[(r["name"], f["name"])] = by_values[values]
    return out


def _sql_checks(field: dict) -> list[str]:
    col = _sql_ident(field["name"])
    c = field.get("constraints", {})
    checks = []
    if field["type"] in ("integer", "number"):
        if "minimum" in c:
            checks.append(f"{col} >= {_sql_literal(c['minimum'])}")
        if "maximum" in c:
            checks.append(f"{col} <= {_sql_literal(c['maximum'])}")
        if c.get("enum"):
            checks.append(f"{col} IN ({', '.join(_sql_literal(v) for v in c['enum'])})")
    if field["type"] == "string" and c.get("pattern"):
        checks.append(f"regexp_full_match({col}, {_sql_literal(c['pattern'])})")
    return checks


def create_table_sql(resource: dict, enum_types: dict[tuple[str, str], str]) -> str:
    """CREATE TABLE for one resource, with its keys and constraints."""
    sql_type = {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "string": "VARCHAR"}
    schema = resource["schema"]
    pk = schema.get("primaryKey", [])
    pk = [pk] if isinstance(pk, str) else pk
    lines = []
    for f in schema["fields"]:
        parts = [_sql_ident(f["name"]), enum_types.get((resource["name"], f["name"])) or sql_type[f["type"]]]
        if _is_required(f):
            parts.append("NOT NULL")
        if f.get("constraints", {}).get("unique") and pk != [f["name"]]:
            parts.append("UNIQUE")
        parts += [f"CHECK ({check})" for check in _sql_checks(f)]
        lines.append(" ".join(parts))
    if pk:
        lines.append(f"PRIMARY KEY ({', '.join(map(_sql_ident, pk))})")
    for fk in schema.get("foreignKeys", []):
        fields = [fk["fields"]] if isinstance(fk["fields"], str) else fk["fields"]
        ref = fk["reference"]
        ref_fields = [ref["fields"]] if isinstance(ref["fields"], str) else ref["fields"]
        parent = ref.get("resource") or resource["name"]
        lines.append(f"FOREIGN KEY ({', '.join(map(_sql_ident, fields))}) "
                     f"REFERENCES {_sql_ident(parent)} ({', '.join(map(_sql_ident, ref_fields))})")
    body = ",\n  ".join(lines)
    return f"CREATE TABLE {_sql_ident(resource['name'])} (\n  {body}\n)"


def _column_comment(field: dict) -> str:
    text = field.get("description", "")
    if field.get("unit"):
        text += f" Unit: {field['unit']}."
    if labelled_missing_values(field):
        text += " Labelled missing codes are NULL here; see table missing_values."
    return text


def _value_label_rows(resources: list[dict]) -> list[tuple]:
    rows = []
    for r in resources:
        for f in r["schema"]["fields"]:
            for i, c in enumerate(f.get("categories", [])):
                rows.append((r["name"], f["name"], str(c["value"]), c.get("label", ""), "category", i + 1))
            for i, (code, label) in enumerate(labelled_missing_values(f)):
                rows.append((r["name"], f["name"], code, label, "missing", i + 1))
    return rows


def export_duckdb(data, out) -> list[Path]:
    """One DuckDB database, `out/ztown.duckdb`, replacing any earlier export only once complete."""
    duckdb = _require("duckdb", "duckdb")
    data = _load(data)
    _check_no_clash(data, MISSING_TABLE, VALUE_LABEL_TABLE)
    tables = {res["name"]: arrow_table(data, res) for res in data.descriptor["resources"]}  # checked first
    with _Outputs(out) as outputs:
        con = duckdb.connect(str(outputs.partial(DUCKDB_FILENAME)))
        try:
            _fill_duckdb(con, data, tables)
            con.execute("CHECKPOINT")
        finally:
            con.close()
    return outputs.finals


def _fill_duckdb(con, data, tables: dict) -> None:
    """ENUM types, then every resource's table in foreign-key order, then the side tables."""
    import duckdb
    ordered = dependency_order(data.descriptor["resources"])
    enum_types = _enum_types(ordered)
    created: set[str] = set()
    for (res_name, field_name), type_name in enum_types.items():
        if type_name in created:
            continue
        res = next(r for r in ordered if r["name"] == res_name)
        field = next(f for f in res["schema"]["fields"] if f["name"] == field_name)
        values = ", ".join(_sql_literal(v) for v in _categories(field))
        con.execute(f"CREATE TYPE {_sql_ident(type_name)} AS ENUM ({values})")
        created.add(type_name)
    for res in ordered:
        try:
            con.execute(create_table_sql(res, enum_types))
        except duckdb.Error as exc:
            _refuse(data, res, None, None, "export-duckdb", "a table definition DuckDB accepts", str(exc))
        con.register("incoming", tables[res["name"]])
        try:
            con.execute(f"INSERT INTO {_sql_ident(res['name'])} SELECT * FROM incoming")
        except duckdb.Error as exc:
            _refuse(data, res, None, None, "export-duckdb", "rows that meet the table's constraints", str(exc))
        finally:
            con.unregister("incoming")
        comment = ". ".join(str(x) for x in (str(res.get("title", "")).rstrip("."), res.get("description", ""))
                            if x)
        statements = [f"COMMENT ON TABLE {_sql_ident(res['name'])} IS {_sql_literal(comment)}"]
        statements += [f"COMMENT ON COLUMN {_sql_ident(res['name'])}.{_sql_ident(f['name'])} "
                       f"IS {_sql_literal(_column_comment(f))}" for f in res["schema"]["fields"]]
        con.execute(";\n".join(statements))  # one call: DuckDB commits each call separately
    _write_side_tables(con, data, ordered)


def _insert_frame(con, table: str, frame: pd.DataFrame) -> None:
    """Bulk insert (DuckDB's executemany takes seconds for a few thousand rows)."""
    con.register("incoming", frame)
    try:
        con.execute(f"INSERT INTO {_sql_ident(table)} SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


def _write_side_tables(con, data, resources: list[dict]) -> None:
    import pandas as pd
    cols = ", ".join(f"{_sql_ident(f['name'])} {'BIGINT' if f['type'] == 'integer' else 'VARCHAR'} NOT NULL"
                     for f in MISSING_TABLE_FIELDS)
    con.execute(f"CREATE TABLE {MISSING_TABLE} ({cols}, PRIMARY KEY (resource, row, field))")
    _insert_frame(con, MISSING_TABLE, missing_records(data))
    con.execute(f"COMMENT ON TABLE {MISSING_TABLE} IS "
                f"{_sql_literal('Labelled missing values, which are NULL in the resource tables.')}")
    for f in MISSING_TABLE_FIELDS:
        con.execute(f"COMMENT ON COLUMN {MISSING_TABLE}.{_sql_ident(f['name'])} IS {_sql_literal(f['description'])}")
    con.execute(f"CREATE TABLE {VALUE_LABEL_TABLE} (resource VARCHAR NOT NULL, field VARCHAR NOT NULL, "
                "value VARCHAR NOT NULL, label VARCHAR NOT NULL, kind VARCHAR NOT NULL "
                "CHECK (kind IN ('category', 'missing')), position BIGINT NOT NULL, "
                "PRIMARY KEY (resource, field, kind, value))")
    labels = pd.DataFrame(_value_label_rows(resources),
                          columns=["resource", "field", "value", "label", "kind", "position"])
    _insert_frame(con, VALUE_LABEL_TABLE, labels)
    con.execute(f"COMMENT ON TABLE {VALUE_LABEL_TABLE} IS "
                f"{_sql_literal('Labels of every category and labelled missing code, in schema order.')}")


# ----------------------------------------------------------------------------- entry point

EXPORTERS = {"parquet": export_parquet, "stata": export_stata, "duckdb": export_duckdb}


def export(data, fmt: str, out: str | os.PathLike) -> list[Path]:
    """Write the package (StudyData, or a path to load) as `fmt` into the folder `out`; return the files.

    Raises `DataPackageError` (naming file, row and field) if the package is invalid or holds a value
    the format cannot store, ImportError if the format's library is not installed, OSError if `out`
    cannot be written; in every case nothing is left behind in `out`.
    """
    if fmt not in EXPORTERS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    data = _load(data)
    try:
        return EXPORTERS[fmt](data, out)
    except (DataPackageError, ImportError, OSError):
        raise
    except Exception as exc:  # a value a format library refused although the reading rules let it through
        raise DataPackageError(str(getattr(data, "path", "")), [Problem(
            None, None, None, f"export-{fmt}", f"a package the {fmt} export can write",
            f"{type(exc).__name__}: {exc}")]) from exc
