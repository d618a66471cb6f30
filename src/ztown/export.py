"""Export the data package to the formats other researchers' tools read natively.

`export(data, fmt, out)` writes into the folder `out`:

- ``parquet``: one ``<resource>.parquet`` per resource with Arrow types from the schema
  (integer -> int64, number -> float64, boolean -> bool, string -> string; string-coded fields are
  dictionary<int8, string> whose dictionary is every category in schema order, ordered where the
  schema says so). Each field's description, unit, categories (with labels) and labelled missing
  codes are in the Arrow field metadata; the package descriptor is in the file metadata under
  ``datapackage``. Integer-coded fields (the Likert items) stay int64, because Parquet reads an
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
"""

from __future__ import annotations

import json
import os
import re
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .codebook import resource_kind
from .schema import labelled_missing_values

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


# ----------------------------------------------------------------------------- shared helpers

def _load(data) -> Any:
    """Accept loaded StudyData, or a path (folder or datapackage.json) to load."""
    if hasattr(data, "frames") and hasattr(data, "descriptor"):
        return data
    from .loader import load
    return load(data)


def _categories(field: dict) -> list:
    return [c["value"] for c in field.get("categories", [])]




def _is_required(field: dict) -> bool:
    return bool(field.get("constraints", {}).get("required"))


def _csv_row(index) -> int:
    """The 1-based CSV line of a frame row (the header is line 1), as the loader numbers them."""
    return int(index) + 2


def _frame(data, resource: dict) -> pd.DataFrame:
    """The resource's frame, checked to have every field of the schema."""
    name = resource["name"]
    frame = data.frames.get(name)
    path = resource.get("path")
    if frame is None:
        raise ValueError(f"resource {name} ({path}): not among the loaded frames")
    absent = [f["name"] for f in resource["schema"]["fields"] if f["name"] not in frame.columns]
    if absent:
        raise ValueError(f"resource {name} ({path}): frame lacks field(s) {', '.join(absent)}")
    return frame


def _check_required(resource: dict, field: dict, col: pd.Series, missing_rows: set[int]) -> None:
    """A required field may be empty only where a labelled missing code stands (never, in practice)."""
    if not _is_required(field):
        return
    empty = [i for i in col.index[col.isna()] if _csv_row(i) not in missing_rows]
    if empty:
        raise ValueError(f"file {resource.get('path')}, row {_csv_row(empty[0])}, field {field['name']}: "
                         f"required value is missing ({len(empty)} row(s) in all)")


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


def _check_no_clash(descriptor: dict, *names: str) -> None:
    taken = {r["name"] for r in descriptor["resources"]} & set(names)
    if taken:
        raise ValueError(f"resource name(s) {sorted(taken)} clash with the export's own tables")


def _fresh_dir(out) -> Path:
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"export output {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
    meta = {"description": field.get("description", ""), "tableschema:type": field["type"]}
    if field.get("unit"):
        meta["unit"] = field["unit"]
    if field.get("categories"):
        meta["categories"] = json.dumps(field["categories"], ensure_ascii=False)
        meta["categoriesOrdered"] = json.dumps(bool(field.get("categoriesOrdered")))
    if labelled_missing_values(field):
        meta["missingValues"] = json.dumps(field["missingValues"], ensure_ascii=False)
    if field.get("constraints"):
        meta["constraints"] = json.dumps(field["constraints"], ensure_ascii=False)
    return meta


def _arrow_array(resource: dict, field: dict, col: pd.Series):
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
            raise ValueError(f"file {resource.get('path')}, row {_csv_row(i)}, field {field['name']}: "
                             f"{values[i]!r} is not one of the categories {cats}")
        indices = pa.array(coded.codes, type=typ.index_type, mask=coded.codes < 0)
        return pa.DictionaryArray.from_arrays(indices, pa.array(cats, pa.string()), ordered=typ.ordered)
    if field["type"] == "integer":
        return pa.array(pd.array(col.astype(object).where(col.notna(), None), dtype="Int64"), type=typ)
    if field["type"] == "number":
        return pa.array(col.astype("float64"), type=typ, from_pandas=True)
    if field["type"] == "boolean":
        return pa.array(col.astype("boolean"), type=typ)
    return pa.array(col.astype(object).where(col.notna(), None), type=typ)


def arrow_table(data, resource: dict):
    """One resource as an Arrow table typed and annotated from its schema."""
    import pyarrow as pa
    frame = _frame(data, resource)
    arrays, fields = [], []
    for f in resource["schema"]["fields"]:
        col = frame[f["name"]]
        _check_required(resource, f, col, set(_missing_rows(data, resource["name"], f["name"])))
        arrays.append(_arrow_array(resource, f, col))
        fields.append(pa.field(f["name"], _arrow_type(f), nullable=not _is_required(f),
                               metadata=_arrow_field_metadata(f)))
    meta = {"datapackage": json.dumps(data.descriptor, ensure_ascii=False), "resource": resource["name"],
            "description": resource.get("description", "")}
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))


def _missing_arrow(data):
    import pyarrow as pa
    table = missing_records(data)
    fields = [pa.field(f["name"], pa.int64() if f["type"] == "integer" else pa.string(), nullable=False,
                       metadata={"description": f["description"]}) for f in MISSING_TABLE_FIELDS]
    arrays = [pa.array(table[f.name].tolist(), type=f.type) for f in fields]
    meta = {"datapackage": json.dumps(data.descriptor, ensure_ascii=False), "resource": MISSING_TABLE,
            "description": "Labelled missing values, which are null in the resource tables."}
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))


def export_parquet(data, out) -> list[Path]:
    """One Parquet file per resource, plus missing_values.parquet."""
    import pyarrow.parquet as pq
    data = _load(data)
    _check_no_clash(data.descriptor, MISSING_TABLE)
    folder = _fresh_dir(out)
    written = []
    for res in data.descriptor["resources"]:
        path = folder / f"{res['name']}.parquet"
        pq.write_table(arrow_table(data, res), path)
        written.append(path)
    path = folder / f"{MISSING_TABLE}.parquet"
    pq.write_table(_missing_arrow(data), path)
    return written + [path]


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


def _stata_missing_letters(resource: dict, field: dict) -> dict[str, str]:
    codes = labelled_missing_values(field)
    if len(codes) > 26:
        raise ValueError(f"resource {resource['name']}, field {field['name']}: {len(codes)} labelled missing "
                         "codes; Stata has 26 extended missing values (.a to .z)")
    return {code: string.ascii_lowercase[i] for i, (code, _label) in enumerate(codes)}


def _stata_integer_storage(resource: dict, field: dict, values: list) -> str:
    """'long' if every value fits a Stata long, else 'double' (exact up to 2**53)."""
    present = [v for v in values if v is not None]
    lo, hi = STATA_LONG_RANGE
    if present and all(lo <= v <= hi for v in present):
        return "long"
    too_big = [v for v in present if abs(v) > FLOAT_EXACT_MAX]
    if too_big:
        raise ValueError(f"resource {resource['name']}, field {field['name']}: {too_big[0]} cannot be stored "
                         "exactly in Stata")
    return "double"


def stata_frame(data, resource: dict) -> tuple[pd.DataFrame, dict[str, str], dict[str, dict], dict[str, list]]:
    """The resource as a frame for pyreadstat: data, variable labels, value labels, missing letters."""
    import pandas as pd
    frame = _frame(data, resource)
    columns, var_labels, value_labels, user_missing = {}, {}, {}, {}
    for f in resource["schema"]["fields"]:
        name = stata_name(f["name"])
        if name in columns:
            raise ValueError(f"resource {resource['name']}: fields map to the same Stata name {name}")
        col = frame[f["name"]]
        missing_at = _missing_rows(data, resource["name"], f["name"])
        _check_required(resource, f, col, set(missing_at))
        letters = _stata_missing_letters(resource, f)
        labels: dict = {}
        values: list
        if f["type"] == "string" and f.get("categories"):
            position = {c["value"]: i + 1 for i, c in enumerate(f["categories"])}
            labels = {i + 1: c.get("label", c["value"]) for i, c in enumerate(f["categories"])}
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
            labels = {int(c["value"]): c.get("label", str(c["value"])) for c in f.get("categories", [])}
        else:  # number
            columns[name] = col.astype("float64")
            var_labels[name] = stata_label(f.get("description", ""))
            continue
        for row, code in missing_at.items():  # an unlabelled missing code stays a plain missing value
            values[col.index.get_loc(row - 2)] = letters.get(code)
        if letters:
            labels.update({letters[code]: label for code, label in labelled_missing_values(f)})
            user_missing[name] = list(letters.values())
        numbers = [v for v in values if isinstance(v, int)]
        as_double = not numbers and not any(isinstance(v, str) for v in values)  # an all-empty column
        if f["type"] == "integer" and numbers and _stata_integer_storage(resource, f, numbers) == "double":
            if any(isinstance(v, str) for v in values):
                raise ValueError(f"resource {resource['name']}, field {f['name']}: values beyond a Stata long "
                                 "cannot be stored together with extended missing values")
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
    import pyreadstat
    data = _load(data)
    folder = _fresh_dir(out)
    written = []
    for res in data.descriptor["resources"]:
        df, var_labels, value_labels, user_missing = stata_frame(data, res)
        path = folder / f"{res['name']}.dta"
        pyreadstat.write_dta(df, str(path), file_label=stata_dataset_label(res), column_labels=var_labels,
                             variable_value_labels=value_labels, missing_user_values=user_missing,
                             version=STATA_VERSION)
        if os.environ.get("SOURCE_DATE_EPOCH"):
            _stamp_dta(path, int(os.environ["SOURCE_DATE_EPOCH"]))
        written.append(path)
    return written


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
    import duckdb
    data = _load(data)
    _check_no_clash(data.descriptor, MISSING_TABLE, VALUE_LABEL_TABLE)
    folder = _fresh_dir(out)
    target = folder / DUCKDB_FILENAME
    partial = folder / (DUCKDB_FILENAME + ".partial")
    debris = (partial, Path(str(partial) + ".wal"))
    for leftover in debris:
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    try:
        _fill_duckdb(con, data)
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        for leftover in debris:
            leftover.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(partial, target)
    return [target]


def _fill_duckdb(con, data) -> None:
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
        table = arrow_table(data, res)
        try:
            con.execute(create_table_sql(res, enum_types))
        except duckdb.Error as exc:
            raise ValueError(f"resource {res['name']}: DuckDB refused the table definition: {exc}") from exc
        con.register("incoming", table)
        try:
            con.execute(f"INSERT INTO {_sql_ident(res['name'])} SELECT * FROM incoming")
        except duckdb.Error as exc:
            raise ValueError(f"file {res.get('path')} (resource {res['name']}): DuckDB refused the rows: "
                             f"{exc}") from exc
        finally:
            con.unregister("incoming")
        comment = ". ".join(x for x in (res.get("title", "").rstrip("."), res.get("description", "")) if x)
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
    """Write the package (StudyData, or a path to load) as `fmt` into the folder `out`; return the files."""
    if fmt not in EXPORTERS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return EXPORTERS[fmt](data, out)
