"""CITATION.cff is valid (by cffconvert, the reference validator) and agrees with the package, the
book and the licence files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import ztown
from ztown.publication.codebook import AUTHOR, BOOK_TITLE, CODE_LICENSE, REPOSITORY_URL

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout these tests belong to

CFF = REPO_ROOT / "CITATION.cff"
CFFCONVERT = Path(sys.executable).with_name("cffconvert")


def cffconvert_validate(*paths: Path) -> list[subprocess.CompletedProcess]:
    """`cffconvert --validate -i PATH` for each path, run side by side (each run is mostly start-up)."""
    runs = [subprocess.Popen([str(CFFCONVERT), "--validate", "-i", str(p)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for p in paths]
    out = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr))
    return out


@pytest.fixture(scope="module")
def cff() -> dict:
    return yaml.safe_load(CFF.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def descriptor(committed_package) -> dict:
    return json.loads((committed_package / "datapackage.json").read_text(encoding="utf-8"))


def test_cffconvert_accepts_citation_cff(tmp_path):
    # ... and does validate (it declares jsonschema<4 but is run with jsonschema 4): a bad licence fails
    bad = tmp_path / "CITATION.cff"
    bad.write_text(CFF.read_text(encoding="utf-8").replace("license: MIT", "license: NOT-A-LICENCE"),
                   encoding="utf-8")
    result, rejected = cffconvert_validate(CFF, bad)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert rejected.returncode != 0 and "NOT-A-LICENCE" in rejected.stderr


def test_versions_agree(cff, descriptor):
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == ztown.__version__ == descriptor["version"]


def test_the_book_entry(cff):
    assert cff["title"] == BOOK_TITLE
    assert cff["authors"] == [{"name": AUTHOR}]  # an entity, not a person
    assert cff["license"] == CODE_LICENSE
    assert cff["repository-code"] == REPOSITORY_URL
    assert "synthetic data" in cff["keywords"]
    config = REPO_ROOT / "_config.yml"
    if config.is_file():  # the book's own title page says the same
        assert yaml.safe_load(config.read_text(encoding="utf-8"))["title"] == BOOK_TITLE


def test_the_data_package_entry(cff, descriptor):
    data = [r for r in cff["references"] if r["type"] == "data"]
    assert len(data) == 1
    entry = data[0]
    assert entry["title"] == descriptor["title"]
    assert entry["version"] == descriptor["version"]
    assert entry["license"] == descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    assert entry["authors"] == [{"name": c["title"]} for c in descriptor["contributors"]]


def test_licence_files():
    mit = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert mit.startswith("MIT License") and AUTHOR in mit
    data = (REPO_ROOT / "LICENSE-DATA").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International" in data and "CC-BY-4.0" in data
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in data
    assert "datapackage/datapackage.json" in data and "datapackage/data/" in data
