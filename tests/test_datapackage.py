"""The committed data package is valid, by `ztown validate` and by frictionless' own command, and fits
the study's schema; `ztown validate` reports in text and JSON."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ztown.data import schema
from ztown.cli import main as ztown_main
from ztown.data.validate import restamp, study_schema_problems, validate_package

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    """A console script of the running environment (the venv's, not whatever is first on PATH)."""
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name) or pytest.fail(f"{name} is not installed")


def test_ztown_validate_accepts_the_committed_package(committed_package, tmp_path):
    cold_cache = {**os.environ, "ZTOWN_CACHE_DIR": str(tmp_path / "cache")}  # validate for real, not a cache hit
    result = subprocess.run([_tool("ztown"), "validate", str(committed_package)], capture_output=True, text=True,
                            env=cold_cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"valid: {committed_package / 'datapackage.json'}")
    assert len(result.stdout.strip().splitlines()) == 1


def test_frictionless_accepts_the_committed_package(committed_package):
    result = subprocess.run([_tool("frictionless"), "validate", "datapackage/datapackage.json"],
                            cwd=committed_package.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_committed_descriptor_fits_the_study_schema(committed_package):
    descriptor = json.loads((committed_package / "datapackage.json").read_text(encoding="utf-8"))
    assert study_schema_problems(descriptor) == []
    assert [r["name"] for r in descriptor["resources"]] == list(schema.RESOURCE_NAMES)


def test_validate_json_report_of_a_valid_package(small_package, capsys):
    assert ztown_main(["validate", str(small_package / "datapackage.json"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and report["problems"] == []
    assert report["package"] == str(small_package / "datapackage.json")
    assert report["content_hash"] == validate_package(small_package).content_hash
    assert report["rows"]["respondents"] == 40


def test_validate_json_report_of_an_invalid_package(small_copy, capsys):
    (small_copy / "data" / "items.csv").unlink()
    assert ztown_main(["validate", str(small_copy), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert {"resource": "items", "row": None, "field": None, "kind": "missing-file",
            "path": "data/items.csv"}.items() <= report["problems"][0].items()
    assert set(report["problems"][0]) == {"resource", "row", "field", "kind", "expected", "found", "path"}


def test_validate_defaults_to_the_environment_package(small_package, monkeypatch, capsys):
    monkeypatch.setenv("ZTOWN_DATAPACKAGE", str(small_package))
    assert ztown_main(["validate"]) == 0
    assert capsys.readouterr().out.startswith(f"valid: {small_package / 'datapackage.json'}")


def test_validate_a_path_that_does_not_exist(tmp_path, capsys):
    assert ztown_main(["validate", str(tmp_path / "absent")]) == 1
    out = capsys.readouterr().out
    assert "[missing-file]" in out and str(tmp_path / "absent") in out


# ----------------------------------------------------------------------------- provenance in the descriptor


def test_the_descriptor_says_when_where_and_which_bytes(committed_package):
    """created, homepage, and each resource's bytes and hash (so a reuser can check the files they got).
    Needs the package written by a generator that stamps the files (`schema.stamp_resources`)."""
    descriptor = json.loads((committed_package / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["created"] == schema.PACKAGE_CREATED and descriptor["homepage"] == schema.HOMEPAGE
    for res in descriptor["resources"]:
        data = (committed_package / res["path"]).read_bytes()
        assert (res.get("bytes"), res.get("hash")) == (len(data), "sha256:" + hashlib.sha256(data).hexdigest()), \
            res["name"]


def test_built_descriptors_carry_a_fixed_creation_date_and_the_file_stats():
    first = schema.build_descriptor(seed=1, generator_version="x")
    assert first == schema.build_descriptor(seed=1, generator_version="x")  # no clock: same bytes every time
    assert first["created"].endswith("Z") and first["homepage"].startswith("https://")
    stamped = schema.stamp_resources(first, {"regions": b"town_id\nZ\n"})
    regions = stamped["resources"][0]
    assert (regions["bytes"], regions["hash"]) == (10, "sha256:" + hashlib.sha256(b"town_id\nZ\n").hexdigest())
    keys = list(regions)
    assert keys.index("bytes") == keys.index("encoding") + 1 and keys.index("hash") == keys.index("bytes") + 1
    assert all("hash" not in r for r in stamped["resources"][1:])


def test_a_changed_file_is_refused_by_its_hash_until_restamped(small_copy):
    restamp(small_copy)
    assert validate_package(small_copy, use_cache=False).valid
    path = small_copy / "data" / "regions.csv"
    path.write_bytes(path.read_bytes().replace(b"Z town", b"Z-town", 1))  # a change no other check sees
    report = validate_package(small_copy)
    assert {(p.resource, p.kind) for p in report.problems} == {("regions", "hash-count")}
    assert "restamp" in report.problems[0].found
    restamp(small_copy)
    assert validate_package(small_copy).valid


def test_validate_no_cache_stores_its_fresh_result(small_copy, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZTOWN_CACHE_DIR", str(tmp_path / "cache"))
    from ztown.data import validate
    validate.clear_memory_cache()
    assert ztown_main(["validate", str(small_copy), "--no-cache"]) == 0
    assert len(list((tmp_path / "cache" / "validation").glob("*.json"))) == 1
    validate.clear_memory_cache()
    assert validate_package(small_copy).cached == "disk"
    capsys.readouterr()
    with pytest.raises(SystemExit):
        ztown_main(["validate", "--help"])
    assert "stored" in capsys.readouterr().out
