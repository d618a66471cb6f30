"""`ztown synth` is reproducible: the default seed regenerates the committed package byte for byte,
the same seed gives the same bytes, another seed other bytes, and `--set` overrides are recorded."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

import ztown
from ztown import schema
from ztown.cli import main as ztown_main
from ztown.schema import DEFAULT_SEED


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _parameter(folder: Path, name: str) -> dict[str, str]:
    text = (folder / "data" / "parameters.csv").read_text(encoding="utf-8")
    return next(row for row in csv.DictReader(io.StringIO(text)) if row["parameter"] == name)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """`ztown synth --out ...` at the default seed, run as a user would run it."""
    out = tmp_path_factory.mktemp("synth") / "datapackage"
    ztown_script = Path(sys.executable).with_name("ztown")
    subprocess.run([str(ztown_script), "synth", "--out", str(out)], check=True, capture_output=True, text=True)
    return out


def test_default_seed_regenerates_every_committed_file_byte_for_byte(regenerated, committed_package):
    committed, fresh = _files(committed_package), _files(regenerated)
    assert sorted(fresh) == sorted(committed)
    assert set(fresh) == {"datapackage.json"} | {f"data/{name}.csv" for name in schema.RESOURCE_NAMES}
    differing = [name for name in committed if committed[name] != fresh[name]]
    assert not differing, f"regeneration differs from the committed package in {differing}"


def test_same_seed_same_bytes_and_another_seed_other_bytes(regenerated, tmp_path):
    assert ztown_main(["synth", "--out", str(tmp_path / "again"), "--seed", str(DEFAULT_SEED)]) == 0
    assert _files(tmp_path / "again") == _files(regenerated)

    assert ztown_main(["synth", "--out", str(tmp_path / "other"), "--seed", str(DEFAULT_SEED + 1)]) == 0
    other, first = _files(tmp_path / "other"), _files(regenerated)
    for name in ("data/respondents.csv", "data/villages.csv", "data/village_years.csv", "datapackage.json"):
        assert other[name] != first[name], name
    assert float(_parameter(tmp_path / "other", "seed")["value"]) == DEFAULT_SEED + 1
    # the real figures do not depend on the seed
    assert other["data/national_context.csv"] == first["data/national_context.csv"]


def test_a_set_override_is_recorded_in_parameters_and_the_package_is_valid(tmp_path, capsys):
    out = tmp_path / "null_funding"
    assert ztown_main(["synth", "--out", str(out), "--set", "beta_fun=0"]) == 0
    assert float(_parameter(out, "beta_fun")["value"]) == 0.0
    assert float(_parameter(out, "beta_sup")["value"]) != 0.0
    data = ztown.load(out)
    assert data.truth["beta_fun"] == 0.0


def test_an_unknown_set_name_fails_with_a_clear_message(tmp_path, capsys):
    out = tmp_path / "never"
    assert ztown_main(["synth", "--out", str(out), "--set", "beta_nonsense=1"]) != 0
    err = capsys.readouterr().err
    assert "unknown parameter" in err and "beta_nonsense" in err
    assert "beta_fun" in err  # the message lists the names that exist
    assert not (out / "datapackage.json").exists()
