"""Clients nobody here wrote: DuckDB reads the CSV files with the schema's types, and the JSON Schema
profiles of Data Package v2 (as shipped in dplib-py) judge the descriptor. Neither uses ztown's loader
or frictionless, so a package that only ztown could read would fail here."""

from __future__ import annotations

import csv
import functools
import io
import json
from importlib import resources
from pathlib import Path

import duckdb
import jsonschema
import pandas as pd
import pytest
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "string": "VARCHAR"}
PROFILE_BASE = "https://datapackage.org/profiles/2.0/"


def descriptor_of(package: Path) -> dict:
    return json.loads((package / "datapackage.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- DuckDB on the CSV files

def load_into_duckdb(package: Path) -> duckdb.DuckDBPyConnection:
    """Every resource as a DuckDB view over its CSV file, with column types mapped from the schema."""
    con = duckdb.connect()
    for res in descriptor_of(package)["resources"]:
        columns = {f["name"]: SQL_TYPES[f["type"]] for f in res["schema"]["fields"]}
        path = str(package / res["path"]).replace("'", "''")
        con.execute(f"""CREATE VIEW "{res['name']}" AS SELECT * FROM read_csv('{path}', header = true,
                        auto_detect = false, delim = ',', quote = '"', escape = '"', nullstr = '',
                        columns = {columns!r})""")
    return con


def duplicate_keys(con, res: dict) -> int:
    """Rows whose primary key is shared with another row or is partly empty."""
    pk = ", ".join(f'"{k}"' for k in res["schema"]["primaryKey"])
    nulls = " OR ".join(f'"{k}" IS NULL' for k in res["schema"]["primaryKey"])
    dup = con.execute(f'SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM "{res["name"]}" '
                      f"GROUP BY {pk} HAVING count(*) > 1)").fetchone()[0]
    empty = con.execute(f'SELECT count(*) FROM "{res["name"]}" WHERE {nulls}').fetchone()[0]
    return int(dup) + int(empty)


def dangling_references(con, res: dict) -> dict[str, int]:
    """Per foreign key, the rows whose (non-empty) key has no match in the referenced resource."""
    out = {}
    for fk in res["schema"].get("foreignKeys", []):
        parent = fk["reference"]["resource"]
        on = " AND ".join(f'c."{a}" = p."{b}"' for a, b in zip(fk["fields"], fk["reference"]["fields"]))
        present = " AND ".join(f'"{a}" IS NOT NULL' for a in fk["fields"])
        n = con.execute(f'SELECT count(*) FROM (SELECT * FROM "{res["name"]}" WHERE {present}) AS c '
                        f'ANTI JOIN "{parent}" AS p ON {on}').fetchone()[0]
        out[f"{res['name']}.{','.join(fk['fields'])} -> {parent}"] = n
    return out


def test_duckdb_reads_every_resource_with_the_schemas_types(committed_package):
    con = load_into_duckdb(committed_package)
    for res in descriptor_of(committed_package)["resources"]:
        described = con.execute(f'DESCRIBE "{res["name"]}"').fetchall()
        assert [(d[0], d[1]) for d in described] == [(f["name"], SQL_TYPES[f["type"]])
                                                     for f in res["schema"]["fields"]]
        by_duckdb = con.execute(f'SELECT count(*) FROM "{res["name"]}"').fetchone()[0]
        by_pandas = len(pd.read_csv(committed_package / res["path"], dtype=str, keep_default_na=False))
        assert by_duckdb == by_pandas > 0, res["name"]


def test_duckdb_finds_unique_primary_keys_and_intact_foreign_keys(committed_package):
    con = load_into_duckdb(committed_package)
    descriptor = descriptor_of(committed_package)
    assert any(r["schema"].get("foreignKeys") for r in descriptor["resources"])
    for res in descriptor["resources"]:
        assert duplicate_keys(con, res) == 0, res["name"]
        assert all(n == 0 for n in dangling_references(con, res).values()), dangling_references(con, res)


def test_the_duckdb_checks_catch_a_damaged_package(small_copy):
    """The checks above can fail: a duplicated respondent and an unknown village are found."""
    path = small_copy / "data" / "respondents.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header = rows[0]
    stray = list(rows[1])
    stray[header.index("respondent_id")] = "999999"
    stray[header.index("village_id")] = "Z99"
    rows += [rows[1], stray]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    con = load_into_duckdb(small_copy)
    res = next(r for r in descriptor_of(small_copy)["resources"] if r["name"] == "respondents")
    assert duplicate_keys(con, res) == 2
    assert dangling_references(con, res) == {"respondents.village_id -> villages": 1}


# ----------------------------------------------------------------------------- Data Package v2 profiles

def profile_dir():
    """The Data Package v2 JSON Schemas inside the installed dplib-py."""
    folder = resources.files("dplib") / "profiles" / "2.0"
    assert folder.is_dir(), "dplib-py no longer ships profiles/2.0"
    return folder


@functools.lru_cache(maxsize=None)
def local_registry() -> Registry:
    """Every shipped profile under its published address; any other reference is refused (no network)."""
    def refuse(uri: str):
        raise NoSuchResource(ref=uri)

    shipped = [(PROFILE_BASE + p.name, Resource.from_contents(json.loads(p.read_text(encoding="utf-8")),
                                                              default_specification=DRAFT7))
               for p in profile_dir().iterdir() if p.name.endswith(".json")]
    return Registry(retrieve=refuse).with_resources(shipped)


@functools.lru_cache(maxsize=None)
def validator(name: str) -> jsonschema.Draft7Validator:
    registry = local_registry()
    schema = registry.contents(PROFILE_BASE + name)
    return jsonschema.Draft7Validator(schema, registry=registry,
                                      format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def refs_in(node) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + \
            [r for v in node.values() for r in refs_in(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs_in(v)]
    return []


def test_every_reference_in_the_profiles_resolves_locally():
    registry = local_registry()
    for name in ("datapackage.json", "dataresource.json", "tableschema.json"):
        uri = PROFILE_BASE + name
        resolver = registry.resolver(uri)
        for ref in refs_in(registry.contents(uri)):
            resolver.lookup(ref)  # raises for anything not shipped


def errors(validator_: jsonschema.Draft7Validator, instance) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator_.iter_errors(instance)]


def test_the_descriptor_is_a_valid_data_package_v2(committed_package):
    descriptor = descriptor_of(committed_package)
    assert descriptor["$schema"] == PROFILE_BASE + "datapackage.json"
    assert errors(validator("datapackage.json"), descriptor) == []
    resource_check, schema_check = validator("dataresource.json"), validator("tableschema.json")
    for res in descriptor["resources"]:
        assert errors(resource_check, res) == [], res["name"]
        assert errors(schema_check, res["schema"]) == [], res["name"]


@pytest.mark.parametrize("damage, profile", [
    (lambda d: d.pop("resources"), "datapackage.json"),
    (lambda d: d["resources"][0].pop("name"), "dataresource.json"),
    (lambda d: d["resources"][0]["schema"]["fields"][0].update(type="int"), "tableschema.json"),
    (lambda d: d["resources"][0]["schema"].update(primaryKey=7), "tableschema.json"),
])
def test_the_profiles_reject_a_damaged_descriptor(committed_package, damage, profile):
    descriptor = descriptor_of(committed_package)
    damage(descriptor)
    instance = {"datapackage.json": descriptor,
                "dataresource.json": descriptor.get("resources", [{}])[0],
                "tableschema.json": descriptor.get("resources", [{"schema": {}}])[0].get("schema")}[profile]
    assert errors(validator(profile), instance)


def test_a_descriptor_with_creation_date_homepage_and_file_stats_is_a_valid_data_package_v2(committed_package):
    """What the generator writes now (created, homepage, each resource's bytes and sha256 hash) passes the
    v2 profiles, whether or not the committed package has been regenerated yet."""
    from ztown.data import schema

    descriptor = schema.build_descriptor(seed=schema.DEFAULT_SEED, generator_version="test")
    schema.stamp_resources(descriptor, {r["name"]: (committed_package / r["path"]).read_bytes()
                                        for r in descriptor["resources"]})
    assert errors(validator("datapackage.json"), descriptor) == []
    for res in descriptor["resources"]:
        assert errors(validator("dataresource.json"), res) == [], res["name"]
    # the profile's "date-time" format is not checked without an extra package: check RFC 3339 here
    import datetime as dt
    assert dt.datetime.fromisoformat(descriptor["created"]).tzinfo is not None
    broken = dict(descriptor["resources"][0], hash="sha256:not-hex")
    assert errors(validator("dataresource.json"), broken)  # the hash pattern is checked
