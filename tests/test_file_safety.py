"""Only regular files inside the package folder are read, each checked before it is opened and read up to
the size cap; what is refused is never handed to frictionless and never quoted."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

import ztown.data.validate as validate
from timeouts import deadline
from ztown import DataPackageError
from ztown.data.validate import FileRefused, read_inside, read_package




def refusal(path: Path, root: Path, cap: int = 10_000) -> FileRefused:
    with deadline(20), pytest.raises(FileRefused) as caught:
        read_inside(path, root, cap, path.name)
    return caught.value


def test_a_regular_file_inside_is_read_whole(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"x\n1\n")
    assert read_inside(tmp_path / "a.csv", tmp_path, 4, "a.csv") == b"x\n1\n"


def test_what_is_not_a_regular_file_is_refused_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")  # opening it for reading would block until a writer came
    assert refusal(tmp_path / "pipe.csv", tmp_path).kind == "not-a-regular-file"
    (tmp_path / "folder.csv").mkdir()
    assert "a folder" in refusal(tmp_path / "folder.csv", tmp_path).found
    assert refusal(Path("/dev/zero"), Path("/dev")).kind == "not-a-regular-file"  # a device, even "inside"


def test_symlinks_are_followed_and_must_stay_inside(tmp_path):
    root, outside = tmp_path / "pkg", tmp_path / "outside.csv"
    root.mkdir()
    outside.write_bytes(b"secret-first-line\n")
    (root / "in.csv").write_bytes(b"x\n")
    (root / "to_in.csv").symlink_to(root / "in.csv")
    (root / "to_out.csv").symlink_to(outside)
    (root / "loop.csv").symlink_to(root / "loop.csv")
    assert read_inside(root / "to_in.csv", root, 100, "to_in.csv") == b"x\n"
    out = refusal(root / "to_out.csv", root)
    assert out.kind == "outside-package" and "secret" not in str(out)
    assert refusal(root / "loop.csv", root).kind == "unreadable-file"
    assert refusal(root / "absent.csv", root).kind == "missing-file"


def test_the_size_cap_and_compressed_files(tmp_path):
    (tmp_path / "big.csv").write_bytes(b"x" * 101)
    too_big = refusal(tmp_path / "big.csv", tmp_path, cap=100)
    assert too_big.kind == "file-too-large" and "101 bytes" in too_big.found and "x" * 5 not in str(too_big)
    (tmp_path / "z.csv").write_bytes(gzip.compress(b"town_id\nZ\n"))
    assert "not supported" in refusal(tmp_path / "z.csv", tmp_path).found


def test_an_unsafe_file_keeps_frictionless_from_reading_anything(small_copy, monkeypatch):
    def must_not_run(files):
        raise AssertionError("frictionless would read the refused file itself")

    monkeypatch.setattr(validate, "frictionless_problems", must_not_run)
    os.unlink(small_copy / "data" / "regions.csv")
    os.mkfifo(small_copy / "data" / "regions.csv")
    with deadline(60):
        report = validate.validate_package(small_copy, use_cache=False)
    assert ("regions", "not-a-regular-file") in {(p.resource, p.kind) for p in report.problems}


def test_a_descriptor_linked_from_outside_the_given_folder_is_refused(small_copy, tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    (small_copy / "datapackage.json").rename(elsewhere)
    (small_copy / "datapackage.json").symlink_to(elsewhere)
    files = read_package(small_copy)
    assert [p.kind for p in files.problems] == ["outside-package"]


def test_a_url_in_the_environment_is_refused_as_a_url(monkeypatch, tmp_path):
    monkeypatch.setenv("ZTOWN_DATAPACKAGE", "https://example.org/pkg/datapackage.json")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataPackageError) as caught:
        validate.validate_package().raise_if_invalid()
    (problem,) = caught.value.problems
    assert problem.kind == "remote-package" and problem.path == "https://example.org/pkg/datapackage.json"
    assert str(tmp_path) not in str(caught.value)  # not rewritten to <cwd>/https:/...


def test_a_non_utf8_or_nul_file_is_located_not_quoted(small_copy):
    path = small_copy / "data" / "regions.csv"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Town A", b"Town\x00A", 1))
    problems = read_package(small_copy).problems
    (nul,) = [p for p in problems if p.kind == "nul-byte"]
    assert (nul.resource, nul.field, nul.row) == ("regions", "name_en", 3)
    assert "Town" not in nul.found
