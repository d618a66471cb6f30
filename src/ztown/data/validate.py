"""Check a data package: frictionless' own checks, the study's schema and the reading rules, cached.

Validation answers one question, "can the study trust these bytes?", so its result is keyed by a
SHA-256 over the descriptor and every resource file (plus the frictionless and ztown versions and
a fingerprint of this checker, the loader and the study's schema). A repeated check of the same
bytes is then a dictionary or file look-up instead of a frictionless run (which takes about a
second, and importing frictionless almost another). Different bytes give a different key, so a
cache entry is never reused for changed data.

Four layers of checks, all of whose problems are reported together:

1. the files themselves: the package is a local folder or datapackage.json (not a URL, not a
   zip); the descriptor is UTF-8 JSON, not absurdly nested; every resource is a relative path that
   resolves (symlinks followed) to a regular file inside the package folder, no larger than the
   size cap, not compressed, valid UTF-8 and without NUL bytes (located to row and field). A file
   is checked before it is opened, so a FIFO or a device is refused without reading it, and no
   content of a refused file is ever quoted;
2. the study's schema (`ztown.data.schema`): every resource the study needs and no other, with its
   fields (and no others), types, constraints, categories, missing-value codes and keys, so that a
   loosened descriptor is refused;
3. frictionless' validation of the package against its own descriptor (types, constraints,
   headers, blank rows, primary and foreign keys, bytes and hash), each error mapped to a
   `Problem`; it runs only when layer 1 found every file safe to hand to it;
4. the reading rules of `ztown.data.loader` (exact header, canonical numbers within the range every
   export holds, non-empty resources): what `ztown.load` and the exports can read, frictionless
   accepts, but not the other way round. A cell frictionless already reported is not reported twice.

So `ztown validate` passes exactly when `ztown.load` succeeds and every export can be written.
Problem paths are relative to the package folder, so a report stays right wherever the same bytes
are found.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path, PurePosixPath

from ztown import __version__

from ztown.data import schema
from ztown.data.errors import DataPackageError, Problem
from ztown.data.paths import default_datapackage

ENV_VAR = "ZTOWN_DATAPACKAGE"
CACHE_ENV_VAR = "ZTOWN_CACHE_DIR"
MAX_BYTES_ENV_VAR = "ZTOWN_MAX_RESOURCE_BYTES"
DEFAULT_MAX_BYTES = 256 * 2 ** 20  # per file; the study's largest file is a few hundred kB
DESCRIPTOR_MAX_BYTES = 64 * 2 ** 20  # the descriptor's own cap (the study's is below 100 kB)
MAX_JSON_DEPTH = 64  # the study's descriptor nests 7 levels deep
DESCRIPTOR_NAME = "datapackage.json"
# frictionless stops listing errors of one resource after this many; we say so when it happens
ERROR_LIMIT = 1000
_MEMORY_CACHE_SIZE = 64
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_COMPRESSED = {b"PK\x03\x04": "a zip archive", b"PK\x05\x06": "a zip archive", b"\x1f\x8b": "a gzip file",
               b"BZh": "a bzip2 file", b"\xfd7zXZ\x00": "an xz file", b"7z\xbc\xaf\x27\x1c": "a 7z archive",
               b"(\xb5/\xfd": "a zstd file"}


def resolve_descriptor(path: str | os.PathLike | None = None) -> Path:
    """The datapackage.json to read: an explicit path (folder or file), $ZTOWN_DATAPACKAGE, or the default."""
    raw = path if path is not None else os.environ.get(ENV_VAR) or default_datapackage()
    p = Path(raw).expanduser().resolve()
    return p / DESCRIPTOR_NAME if p.is_dir() else p


def max_resource_bytes(max_bytes: int | None = None) -> int:
    """The size cap per file: `max_bytes`, else $ZTOWN_MAX_RESOURCE_BYTES, else DEFAULT_MAX_BYTES.

    Raises ValueError for a cap that is not a positive whole number of bytes."""
    raw = max_bytes if max_bytes is not None else os.environ.get(MAX_BYTES_ENV_VAR) or DEFAULT_MAX_BYTES
    try:
        cap = int(raw)
    except (TypeError, ValueError):
        cap = 0
    if cap <= 0 or (isinstance(raw, str) and not raw.strip().isdigit()):
        raise ValueError(f"the size cap must be a positive whole number of bytes; got {raw!r} "
                         f"(argument max_bytes or ${MAX_BYTES_ENV_VAR})")
    return cap


# --------------------------------------------------------------------------- the bytes


class FileRefused(Exception):
    """A file that is not read: missing, outside the package, not a regular file, too large, compressed."""

    def __init__(self, kind: str, expected: str, found: str):
        super().__init__(f"[{kind}] expected {expected}; found {found}")
        self.kind, self.expected, self.found = kind, expected, found

    def problem(self, resource: str | None, path: str | None) -> Problem:
        return Problem(resource, None, None, self.kind, self.expected, self.found, path)


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_inside(path: Path, root: Path, max_bytes: int, shown: str) -> bytes:
    """The bytes of `path` if it is a regular file inside `root` (after following symlinks) of at most
    `max_bytes`; otherwise FileRefused, raised before the file is opened (a FIFO would block, a device
    never end). `shown` is how the file is named in messages (its path relative to the package)."""
    root = root.resolve()
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise FileRefused("missing-file", f"the file {shown}", "no such file") from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, a permission problem on the way
        raise FileRefused("unreadable-file", f"the file {shown}",
                          f"cannot follow its path: {getattr(exc, 'strerror', None) or exc}") from None
    if not real.is_relative_to(root):
        raise FileRefused("outside-package", "a file inside the package folder (symlinks are followed)",
                          f"{shown} leads to {real}, outside the package folder {root}; it was not read")
    try:
        info = os.stat(real)
    except OSError as exc:
        raise FileRefused("unreadable-file", f"the file {shown}", f"cannot read it: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused("not-a-regular-file", f"a regular file at {shown}",
                          f"{_file_kind(info.st_mode)}; it was not read")
    too_large = FileRefused("file-too-large", f"a file of at most {max_bytes} bytes (raise the cap with "
                                              f"${MAX_BYTES_ENV_VAR} or max_bytes=)",
                            f"{shown} has {info.st_size} bytes; it was not read")
    if info.st_size > max_bytes:
        raise too_large
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise FileRefused("unreadable-file", f"the file {shown}", f"cannot open it: {exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise FileRefused("unreadable-file", f"the file {shown}", "it was replaced while being read")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FileRefused("unreadable-file", f"the file {shown}", f"cannot read it: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise too_large
    data = b"".join(chunks)
    for magic, what in _COMPRESSED.items():
        if data.startswith(magic):
            raise FileRefused("compressed-file", "a plain (uncompressed) file",
                              f"{shown} is {what}: zipped or compressed packages and files are not supported; "
                              "unpack it and give ztown the folder")
    return data


@dataclass
class PackageFiles:
    """The bytes of a package, read once: they are hashed, validated and parsed from the same copy."""

    descriptor_path: Path
    descriptor_bytes: bytes | None  # None if the descriptor could not be read
    descriptor: dict | None  # None if it is not a JSON object
    data: dict[str, bytes] = field(default_factory=dict)  # resource name -> file bytes, for files read
    problems: list[Problem] = field(default_factory=list)  # problems found while reading
    content_hash: str = ""
    frictionless_safe: bool = True  # False if frictionless must not be run (it would read what we refused)
    source: str = ""  # how messages name the package (the URL as given, for a refused URL)

    @property
    def base(self) -> Path:
        return self.descriptor_path.parent


def _resources(descriptor: dict | None) -> list[dict]:
    """The descriptor's resources that are objects with a name (the rest frictionless reports)."""
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        return []
    return [r for r in descriptor["resources"] if isinstance(r, dict) and isinstance(r.get("name"), str)]


def _local_path_problem(res: dict, descriptor_file: str) -> Problem | None:
    """Refuse a resource that is not a local file inside the package (remote, absolute, '..', inline data),
    or whose schema or dialect is a reference to elsewhere: frictionless would try to fetch it."""
    path = res.get("path")
    if not isinstance(path, str):
        return Problem(res["name"], None, None, "resource-path", "a 'path' to a CSV file inside the package folder",
                       f"path {path!r}" if "path" in res else "no path (inline data is not read by ztown)",
                       descriptor_file)
    pure = PurePosixPath(path)
    if _URL.match(path) or "://" in path or path.startswith("/") or pure.is_absolute() or ".." in pure.parts \
            or "\\" in path:
        return Problem(res["name"], None, None, "resource-path",
                       "a relative path inside the package folder (e.g. data/NAME.csv)",
                       f"path {path!r} (not read; frictionless was not run, so nothing is fetched from elsewhere)",
                       descriptor_file)
    for key in ("schema", "dialect"):
        if isinstance(res.get(key), str):
            return Problem(res["name"], None, None, "external-reference", f"an inline {key} object",
                           f"{key} {res[key]!r} (not read; frictionless was not run)", descriptor_file)
    return None


def _located(res_name: str, rel_path: str, data: bytes, start: int) -> tuple[int, str | None]:
    """The row (line) of byte offset `start`, and its field if the header says (the line up to `start`
    must be valid UTF-8)."""
    row = data.count(b"\n", 0, start) + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    prefix = data[line_start:start].decode("utf-8", errors="replace").replace("\x00", "")
    column = len(next(csv.reader([prefix + "x"]))) - 1  # which column the byte is in
    header_end = data.find(b"\n")
    header = next(csv.reader([data[:header_end if header_end >= 0 else len(data)]
                              .decode("utf-8", errors="replace").replace("\x00", "").rstrip("\r")]), [])
    return row, (header[column] if row > 1 and column < len(header) else None)


def _utf8_problem(res_name: str, rel_path: str, data: bytes) -> Problem | None:
    """Locate the first byte that is not UTF-8: its row (line) and, if the header says, its field."""
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        start = exc.start
    row, field_name = _located(res_name, rel_path, data, start)
    return Problem(res_name, row, field_name, "encoding-error", "UTF-8 text",
                   f"byte 0x{data[start]:02x} at byte offset {start} is not valid UTF-8", rel_path)


def byte_problems(res_name: str, rel_path: str | None, data: bytes) -> list[Problem]:
    """What stops a file from being read as text at all: bytes that are not UTF-8, or a NUL byte
    (which pandas and Stata would take for the end of the string, silently cutting the value)."""
    utf8 = _utf8_problem(res_name, rel_path, data)
    if utf8:
        return [utf8]
    nul = data.find(b"\x00")
    if nul >= 0:
        row, field_name = _located(res_name, rel_path, data, nul)
        return [Problem(res_name, row, field_name, "nul-byte", "text without NUL bytes",
                        f"a NUL byte (0x00) at byte offset {nul}", rel_path)]
    return []


def _remote_problem(raw) -> Problem | None:
    if isinstance(raw, str) and _URL.match(raw.strip()):
        return Problem(None, None, None, "remote-package", "a local package folder or its datapackage.json",
                       f"the URL {raw.strip()!r}: ztown does not fetch packages; download (and unzip) it first",
                       raw.strip())
    return None


def read_package(path: str | os.PathLike | None = None, *, max_bytes: int | None = None) -> PackageFiles:
    """Read the descriptor and every resource file, noting what cannot be read, and hash the bytes.

    Only regular files inside the package folder are read, each up to the size cap (`max_bytes`,
    else $ZTOWN_MAX_RESOURCE_BYTES, else DEFAULT_MAX_BYTES); anything else is a problem, not read.
    """
    raw = path if path is not None else os.environ.get(ENV_VAR) or None
    remote = _remote_problem(str(raw) if isinstance(raw, (str, os.PathLike)) else raw)
    if remote:
        return PackageFiles(Path(remote.path), None, None, problems=[remote], frictionless_safe=False,
                            source=remote.path)
    descriptor_path = resolve_descriptor(path)
    files = PackageFiles(descriptor_path, None, None)
    try:
        cap = max_resource_bytes(max_bytes)
    except ValueError as exc:
        files.problems.append(Problem(None, None, None, "size-cap", "a positive whole number of bytes", str(exc),
                                      None))
        files.frictionless_safe = False
        return files
    try:
        files.descriptor_bytes = read_inside(descriptor_path, descriptor_path.parent, DESCRIPTOR_MAX_BYTES,
                                             str(descriptor_path))
    except FileRefused as exc:
        expected = (f"a data package folder or its {DESCRIPTOR_NAME}" if exc.kind == "missing-file"
                    else exc.expected)
        found = f"cannot read {descriptor_path}: no such file" if exc.kind == "missing-file" else exc.found
        files.problems.append(Problem(None, None, None, exc.kind, expected, found, str(descriptor_path)))
        files.frictionless_safe = False
        return files
    files.descriptor = _parse_descriptor(files)
    digest = hashlib.sha256()
    digest.update(b"descriptor\0%d\0" % len(files.descriptor_bytes) + files.descriptor_bytes)
    for res in _resources(files.descriptor):
        problem = _local_path_problem(res, DESCRIPTOR_NAME)
        if problem:
            files.problems.append(problem)
            files.frictionless_safe = False
            continue
        try:
            data = read_inside(descriptor_path.parent / res["path"], descriptor_path.parent, cap, res["path"])
        except FileRefused as exc:
            files.problems.append(exc.problem(res["name"], res["path"]))
            if exc.kind != "missing-file":  # frictionless reports a missing file itself; the rest it would read
                files.frictionless_safe = False
            digest.update(f"resource\0{res['name']}\0{res['path']}\0refused\0{exc}\0".encode())
            continue
        files.data[res["name"]] = data
        digest.update(f"resource\0{res['name']}\0{res['path']}\0{len(data)}\0".encode() + data)
        files.problems += byte_problems(res["name"], res["path"], data)
    files.content_hash = digest.hexdigest()
    return files


def _depth(node) -> int:
    """How deeply a parsed JSON value nests (iteratively: a deep value must not exhaust the stack)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
            stack += [(v, depth + 1) for v in (value.values() if isinstance(value, dict) else value)]
    return deepest


def _parse_descriptor(files: PackageFiles) -> dict | None:
    raw = files.descriptor_bytes or b""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        files.problems.append(Problem(None, raw.count(b"\n", 0, exc.start) + 1, None, "encoding-error",
                                      "a UTF-8 JSON descriptor", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
                                      DESCRIPTOR_NAME))
        files.frictionless_safe = False
        return None
    too_deep = False
    try:
        descriptor = json.loads(text)
    except json.JSONDecodeError as exc:
        files.problems.append(Problem(None, exc.lineno, None, "invalid-json", "a well-formed JSON descriptor",
                                      f"{exc.msg} at line {exc.lineno}, column {exc.colno}", DESCRIPTOR_NAME))
        files.frictionless_safe = False
        return None
    except RecursionError:  # Python's parser recurses once per level
        too_deep = True
    if too_deep or _depth(descriptor) > MAX_JSON_DEPTH:
        files.problems.append(Problem(None, None, None, "descriptor-too-deep",
                                      f"a descriptor nested at most {MAX_JSON_DEPTH} levels deep",
                                      f"JSON nested more than {MAX_JSON_DEPTH} levels deep", DESCRIPTOR_NAME))
        files.frictionless_safe = False
        return None
    if not isinstance(descriptor, dict):
        files.problems.append(Problem(None, None, None, "invalid-descriptor", "a JSON object",
                                      f"a JSON {type(descriptor).__name__}", DESCRIPTOR_NAME))
        files.frictionless_safe = False
        return None
    return descriptor


# --------------------------------------------------------------------------- the study's schema


def _missing_codes(res_schema: dict, fld: dict) -> list[str]:
    """The strings a field treats as missing; a malformed (non-list) entry is returned as its repr."""
    codes = fld.get("missingValues", res_schema.get("missingValues", [""]))
    if not isinstance(codes, list):
        return [repr(codes)]
    return list(schema.missing_values(fld, res_schema))


def study_schema_problems(descriptor: dict) -> list[Problem]:
    """How the package's descriptor departs from the study's: missing or renamed resources and fields,
    changed types, and loosened constraints, categories, missing codes or keys."""
    problems: list[Problem] = []
    have = {r["name"]: r for r in _resources(descriptor)}
    wanted = schema.resources()
    for want in wanted:
        name = want["name"]
        res = have.get(name)
        if res is None:
            problems.append(Problem(name, None, None, "missing-resource", f"resource {name} ({want['path']})",
                                    f"no resource named {name}; resources: {', '.join(have) or 'none'}",
                                    DESCRIPTOR_NAME))
            continue
        problems += _resource_problems(name, want, res)
    known = {w["name"] for w in wanted}
    for name in have:
        if name not in known:  # the exports and the book read every resource: an unknown one has no reader
            problems.append(Problem(name, None, None, "unknown-resource",
                                    f"only the study's resources ({', '.join(sorted(known))})",
                                    f"a resource named {name}", DESCRIPTOR_NAME))
    return problems


def _resource_problems(name: str, want: dict, res: dict) -> list[Problem]:
    def problem(fld, kind, expected, found):
        return Problem(name, None, fld, kind, expected, found, DESCRIPTOR_NAME)

    out = []
    for key in ("format", "encoding"):
        if res.get(key, want[key]) != want[key]:
            out.append(problem(None, "resource-" + key, f"{key} {want[key]!r}", f"{key} {res.get(key)!r}"))
    if "dialect" in res:
        out.append(problem(None, "resource-dialect", "no dialect (plain comma-separated CSV)",
                           f"dialect {res['dialect']!r}"))
    res_schema = res.get("schema")
    if not isinstance(res_schema, dict):
        return out + [problem(None, "missing-schema", "an inline Table Schema", f"schema {res_schema!r}")]
    want_schema = want["schema"]
    fields = [f for f in res_schema.get("fields", []) if isinstance(f, dict)] if isinstance(
        res_schema.get("fields"), list) else []
    by_name = {f.get("name"): f for f in fields}
    known = {w["name"] for w in want_schema["fields"]}
    unknown = [str(f.get("name")) for f in fields if f.get("name") not in known]
    for want_field in want_schema["fields"]:
        fname, ftype = want_field["name"], want_field["type"]
        fld = by_name.get(fname)
        if fld is None:
            out.append(problem(fname, "missing-field", f"field {fname} of type {ftype}",
                               "no such field" + (f"; fields the study does not know: {', '.join(unknown)}"
                                                  if unknown else "")))
            continue
        if fld.get("type", "any") != ftype:
            out.append(problem(fname, "field-type", f"type {ftype}", f"type {fld.get('type', 'any')!r}"))
        constraints = fld.get("constraints") if isinstance(fld.get("constraints"), dict) else {}
        for key, value in want_field.get("constraints", {}).items():
            if constraints.get(key) != value:
                out.append(problem(fname, "field-constraint", f"constraint {key} = {json.dumps(value)}",
                                   f"constraint {key} = {json.dumps(constraints[key])}" if key in constraints
                                   else f"no {key} constraint"))
        want_cats = [c["value"] for c in want_field.get("categories", [])]
        cats = fld.get("categories", [])
        cats = [c.get("value") if isinstance(c, dict) else c for c in cats] if isinstance(cats, list) else cats
        if cats != want_cats or bool(fld.get("categoriesOrdered")) != bool(want_field.get("categoriesOrdered")):
            out.append(problem(fname, "field-categories",
                               f"categories {want_cats} (ordered: {bool(want_field.get('categoriesOrdered'))})",
                               f"categories {cats} (ordered: {bool(fld.get('categoriesOrdered'))})"))
        want_missing = _missing_codes(want_schema, want_field)
        missing = _missing_codes(res_schema, fld)
        if sorted(map(str, missing)) != sorted(map(str, want_missing)):
            out.append(problem(fname, "missing-values", f"missing-value codes {want_missing}",
                               f"missing-value codes {missing}"))
        labels = [c.get("label") for key in ("categories", "missingValues") if isinstance(fld.get(key), list)
                  for c in fld[key] if isinstance(c, dict) and "label" in c]
        if any(not isinstance(label, str) for label in labels):
            out.append(problem(fname, "label-type", "text labels for categories and missing-value codes",
                               f"labels {[lab for lab in labels if not isinstance(lab, str)][:3]}"))
    if not unknown and len(fields) != len(by_name):
        out.append(problem(None, "duplicate-field", "each field once", "a field name listed twice"))
    for extra in unknown:  # an extra column would reach the exports with a type none of them knows
        out.append(problem(extra, "unknown-field", f"only the study's fields of resource {name}",
                           f"a field named {extra}"))
    if res_schema.get("primaryKey") != want_schema["primaryKey"]:
        out.append(problem(", ".join(want_schema["primaryKey"]), "primary-key-declared",
                           f"primary key {want_schema['primaryKey']}", f"primary key {res_schema.get('primaryKey')}"))
    foreign = res_schema.get("foreignKeys", [])
    for fk in want_schema.get("foreignKeys", []):
        if not isinstance(foreign, list) or fk not in foreign:
            ref = fk["reference"]
            out.append(problem(", ".join(fk["fields"]), "foreign-key-declared",
                               f"foreign key {fk['fields']} -> {ref['resource']}.{ref['fields']}",
                               "no such foreign key"))
    return out


# --------------------------------------------------------------------------- frictionless


_CONSTRAINT_NOTE = re.compile(r'constraint "(\w+)" is "(.*)"$', re.S)


def _field_of(descriptor: dict, resource: str | None, field_name: str | None) -> dict:
    for res in _resources(descriptor):
        if res["name"] == resource and isinstance(res.get("schema"), dict):
            for fld in res["schema"].get("fields", []):
                if isinstance(fld, dict) and fld.get("name") == field_name:
                    return fld
    return {}


def _expected_value(descriptor: dict, resource: str, field_name: str, base: str) -> str:
    """What a cell should hold, with the field's missing codes (so a reader sees 8 and 9 are allowed)."""
    fld = _field_of(descriptor, resource, field_name)
    res_schema = next((r.get("schema") for r in _resources(descriptor) if r["name"] == resource), {}) or {}
    codes = [c for c in _missing_codes(res_schema, fld) if c != ""] if fld else []
    return base + (f", or a missing-value code ({', '.join(map(str, codes))})" if codes else "")


def _found_cell(cell) -> str:
    return "an empty cell" if cell in ("", None) else f"{cell!r}"


def map_frictionless_error(err: dict, resource: str | None, path: str | None, descriptor: dict,
                           base: str) -> Problem:
    """One frictionless error (as its descriptor dict) as a Problem naming file, resource, row and field."""
    kind = err.get("type", "error")
    note = (err.get("note") or err.get("message") or "").replace(base, "")
    row = err.get("rowNumber")
    if row is None and err.get("rowNumbers"):
        row = err["rowNumbers"][0]
    fname = err.get("fieldName") or None
    cell = err.get("cell")
    if kind == "type-error":
        fld = _field_of(descriptor, resource, fname)
        ftype = fld.get("type", note.removeprefix("type is ").strip('"'))
        expected = _expected_value(descriptor, resource, fname, f"a value of type {ftype}")
        return Problem(resource, row, fname, kind, expected, _found_cell(cell), path)
    if kind == "constraint-error":
        m = _CONSTRAINT_NOTE.search(note)
        expected = f"{m.group(1)} {m.group(2)}" if m else note
        if m and m.group(1) == "enum":
            expected = _expected_value(descriptor, resource, fname, f"one of {m.group(2)}")
        return Problem(resource, row, fname, kind, expected, _found_cell(cell), path)
    if kind == "unique-error":
        return Problem(resource, row, fname, kind, "a value not used in another row", f"{cell!r}: {note}", path)
    if kind == "primary-key":
        res = next((r for r in _resources(descriptor) if r["name"] == resource), {})
        pk = (res.get("schema") or {}).get("primaryKey") if isinstance(res.get("schema"), dict) else None
        pk_name = ", ".join(pk) if isinstance(pk, list) else (pk if isinstance(pk, str) else None)
        return Problem(resource, row, pk_name, kind, "a primary key that is present and unique", note, path)
    if kind == "foreign-key":
        fields = err.get("fieldNames") or []
        ref = f"{err.get('referenceName') or resource}.{', '.join(err.get('referenceFieldNames') or [])}"
        return Problem(resource, row, ", ".join(fields) or None, kind, f"a value present in {ref}",
                       ", ".join(map(repr, err.get("fieldCells") or [])) or note, path)
    if kind in ("missing-label", "incorrect-label", "blank-label", "duplicate-label"):
        pos = err.get("fieldNumber")
        found = {"missing-label": "no such column (the header is shorter)",
                 "blank-label": "a blank header"}.get(kind, f"header {err.get('label')!r}")
        return Problem(resource, 1, fname, kind, f"header {fname!r} in column {pos}", found, path)
    if kind == "extra-label":
        return Problem(resource, 1, err.get("label") or None, kind,
                       f"no column {err.get('fieldNumber')} (the schema has fewer fields)",
                       f"extra header {err.get('label')!r}", path)
    if kind in ("extra-cell", "missing-cell"):
        what = "a cell beyond the last field" if kind == "extra-cell" else "no cell"
        return Problem(resource, row, fname, kind, "one cell per field",
                       f"{what} at column {err.get('fieldNumber')}: {_found_cell(cell)}", path)
    if kind == "blank-row":
        return Problem(resource, row, None, kind, "a data row", "a blank row", path)
    if kind in ("hash-count", "byte-count"):
        m = re.search(r'expected is "(.*)" and actual is "(.*)"', note)
        what = "SHA-256" if kind == "hash-count" else "size in bytes"
        expected = "the file the descriptor describes" + (f" ({what} {m.group(1)})" if m else "")
        found = (f"{what} {m.group(2)}: the file changed after the descriptor was written (if on purpose, update "
                 "the resource's bytes and hash, e.g. with ztown.data.validate.restamp)") if m else note
        return Problem(resource, None, None, kind, expected, found, path)
    title = (err.get("title") or kind.replace("-", " ")).lower()
    return Problem(resource, row, fname, kind, f"no {title} ({err.get('description') or 'frictionless check'})",
                   note or err.get("message", ""), path)


def _owner_of_note(note: str, descriptor: dict) -> tuple[str | None, str | None]:
    """For a package-level error, the resource (and its file) whose path or name the note mentions."""
    for res in _resources(descriptor):
        path = res.get("path")
        if isinstance(path, str) and path in note:
            return res["name"], path
    for res in _resources(descriptor):
        if re.search(rf'\bresource "?{re.escape(res["name"])}\b', note):
            return res["name"], res.get("path") if isinstance(res.get("path"), str) else None
    return None, DESCRIPTOR_NAME


def frictionless_problems(files: PackageFiles) -> tuple[list[Problem], dict[str, int]]:
    """Run frictionless on the package and map its report; also return each resource's row count."""
    from frictionless import validate as frictionless_validate  # slow import: only when validating

    descriptor = files.descriptor or {}
    base = str(files.base) + os.sep
    try:
        report = frictionless_validate(str(files.descriptor_path), limit_errors=ERROR_LIMIT)
    except Exception as exc:  # frictionless raises for some malformed input instead of reporting
        return [Problem(None, None, None, "frictionless-exception", "a package frictionless can open",
                        str(exc).replace(base, ""), DESCRIPTOR_NAME)], {}
    unreadable = {p.resource for p in files.problems if p.kind in ("missing-file", "encoding-error")}
    problems: list[Problem] = []
    for err in report.errors:
        desc = err.to_descriptor()
        resource, path = _owner_of_note(desc.get("note") or desc.get("message") or "", descriptor)
        problems.append(map_frictionless_error(desc, resource, path, descriptor, base))
    rows: dict[str, int] = {}
    for task in report.tasks:
        if "rows" in task.stats:
            rows[task.name] = int(task.stats["rows"])
        for err in task.errors:
            desc = err.to_descriptor()
            if desc.get("type") in ("scheme-error", "encoding-error", "source-error"):
                if task.name in unreadable:
                    continue  # already reported, more precisely, by read_package
                lookup = _unreadable_lookup(descriptor, task.name, unreadable)
                if lookup:
                    fk_fields, ref = lookup
                    problems.append(Problem(task.name, None, fk_fields, "foreign-key-unchecked",
                                            f"a readable {ref} resource to check this foreign key against",
                                            f"{ref} cannot be read: {desc.get('note', '').replace(base, '')}",
                                            task.place))
                    continue
            problems.append(map_frictionless_error(desc, task.name, task.place, descriptor, base))
        for warning in task.warnings:
            problems.append(Problem(task.name, None, None, "error-limit",
                                    f"at most {ERROR_LIMIT} problems listed per resource",
                                    f"frictionless stopped listing ({warning}); more rows may be wrong", task.place))
    return problems, rows


def _unreadable_lookup(descriptor: dict, resource: str, unreadable: set) -> tuple[str, str] | None:
    """The foreign key of `resource` that points at an unreadable resource, if any."""
    res = next((r for r in _resources(descriptor) if r["name"] == resource), {})
    res_schema = res.get("schema") if isinstance(res.get("schema"), dict) else {}
    for fk in res_schema.get("foreignKeys", []) or []:
        ref = (fk.get("reference") or {}).get("resource") if isinstance(fk, dict) else None
        if ref in unreadable:
            fields = fk.get("fields")
            return (", ".join(fields) if isinstance(fields, list) else str(fields)), ref
    return None


# --------------------------------------------------------------------------- report and cache


@dataclass
class ValidationReport:
    """The outcome of checking one package: every problem, and where the result came from."""

    package: Path  # the datapackage.json checked
    content_hash: str
    problems: list[Problem]
    rows: dict[str, int] = field(default_factory=dict)  # data rows per resource, as frictionless read them
    cached: str = ""  # "memory", "disk", or "" if validated now
    source: str = ""  # how messages name the package, if not by `package`
    # the typed frames and missing table parsed while validating (a fresh, valid check only; never cached)
    frames: dict | None = field(default=None, repr=False, compare=False)
    missing: object = field(default=None, repr=False, compare=False)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def name(self) -> str:
        return self.source or str(self.package)

    def summary(self) -> str:
        """One line for a valid package, or the full problem list."""
        if self.valid:
            rows = f", {sum(self.rows.values())} data rows" if self.rows else ""
            return (f"valid: {self.name} ({len(self.rows)} resources{rows}; "
                    f"sha256 {self.content_hash[:12]})")
        return str(DataPackageError(self.name, self.problems))

    def to_dict(self) -> dict:
        return {"valid": self.valid, "package": self.name, "content_hash": self.content_hash,
                "rows": self.rows, "problems": [p.to_dict() for p in self.problems]}

    def raise_if_invalid(self) -> None:
        if not self.valid:
            raise DataPackageError(self.name, self.problems)


def cache_dir() -> Path:
    """Where validation results are kept: $ZTOWN_CACHE_DIR, else $XDG_CACHE_HOME/ztown, else ~/.cache/ztown."""
    explicit = os.environ.get(CACHE_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "ztown"


@lru_cache(maxsize=1)
def checker_fingerprint() -> str:
    """Versions and code a cached result depends on: frictionless, ztown, this checker (and the Problem it
    stores) and the study schema, so an edit to any of them during development invalidates old results."""
    try:
        frictionless_version = metadata.version("frictionless")
    except metadata.PackageNotFoundError:
        frictionless_version = "absent"
    digest = hashlib.sha256()
    digest.update(f"frictionless={frictionless_version}\0ztown={__version__}\0".encode())
    for name in ("validate.py", "errors.py", "loader.py"):  # the checks, the Problem, the reading rules
        digest.update(Path(__file__).with_name(name).read_bytes())
    digest.update(json.dumps(schema.resources(), sort_keys=True).encode())
    return digest.hexdigest()


_memory_cache: dict[str, dict] = {}


def clear_memory_cache() -> None:
    """Forget results cached in this process (the disk cache stays)."""
    _memory_cache.clear()


def _cache_key(content_hash: str) -> str:
    return hashlib.sha256(f"{content_hash}\0{checker_fingerprint()}".encode()).hexdigest()


def _cached(content_hash: str) -> tuple[dict | None, str]:
    key = _cache_key(content_hash)
    if key in _memory_cache:
        return _memory_cache[key], "memory"
    try:
        entry = json.loads((cache_dir() / "validation" / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, ""
    # an entry is used only if it says it was made for these very bytes and this very checker
    if (not isinstance(entry, dict) or entry.get("content_hash") != content_hash
            or entry.get("checker") != checker_fingerprint()):
        return None, ""
    _remember(key, entry)
    return entry, "disk"


def _remember(key: str, entry: dict) -> None:
    if len(_memory_cache) >= _MEMORY_CACHE_SIZE:
        _memory_cache.pop(next(iter(_memory_cache)))
    _memory_cache[key] = entry


def _store(content_hash: str, entry: dict) -> None:
    key = _cache_key(content_hash)
    _remember(key, entry)
    folder = cache_dir() / "validation"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False, encoding="utf-8") as fh:
            json.dump(entry, fh)
        os.replace(fh.name, folder / f"{key}.json")  # atomic: readers never see half an entry
    except OSError:
        pass  # a read-only cache folder only costs a re-validation next time


_UNREADABLE_KINDS = ("source-error", "scheme-error", "encoding-error", "format-error")


def _reported_by(problem: Problem, found: list[Problem]) -> bool:
    """Whether frictionless already reported this place: the same cell or row, any header problem for a
    header problem, or a file it could not read for a whole-file problem (not a mere hash mismatch)."""
    for p in found:
        if p.resource != problem.resource:
            continue
        if problem.row is None:
            if p.kind in _UNREADABLE_KINDS:
                return True
        elif p.row == problem.row and (p.field in (None, problem.field) or problem.row == 1):
            return True
    return False


def reading_problems(files: PackageFiles, skip: set[str]) -> tuple[list[Problem], dict, object]:
    """Layer 4: parse the resources by the loader's reading rules (those not in `skip`)."""
    from ztown.data.loader import parse_resources  # the loader imports this module

    data = {name: raw for name, raw in files.data.items() if name not in skip}
    try:
        frames, missing, problems = parse_resources(files.descriptor, data)
    except Exception as exc:  # a descriptor shape the loader cannot follow: say so, never a traceback
        return [Problem(None, None, None, "reading-rules", "a package the loader can read",
                        f"{type(exc).__name__}: {exc}", DESCRIPTOR_NAME)], {}, None
    return problems, frames, missing


def check_files(files: PackageFiles, *, use_cache: bool = True) -> ValidationReport:
    """Validate bytes already read by `read_package`. A cached result for the same bytes is used unless
    `use_cache` is False; a fresh result is always stored (so `use_cache=False` refreshes the cache)."""
    source = files.source
    if files.descriptor_bytes is None:  # nothing to hash or validate
        return ValidationReport(files.descriptor_path, "", list(files.problems), source=source)
    if use_cache:
        entry, where = _cached(files.content_hash)
        if entry is not None:
            try:
                return ValidationReport(files.descriptor_path, files.content_hash,
                                        [Problem(**p) for p in entry["problems"]], dict(entry["rows"]), where,
                                        source=source)
            except (KeyError, TypeError):
                pass  # an entry of another shape: validate afresh and overwrite it
    problems = list(files.problems)
    rows: dict[str, int] = {}
    frames, missing = {}, None
    if files.descriptor is not None:
        try:
            study = study_schema_problems(files.descriptor)
        except Exception as exc:  # a descriptor of a shape no check foresaw: refuse it, never a traceback
            study = [Problem(None, None, None, "study-schema", "a descriptor of the study's shape",
                             f"{type(exc).__name__}: {exc}", DESCRIPTOR_NAME)]
        problems += study
        found: list[Problem] = []
        if files.frictionless_safe:
            found, rows = frictionless_problems(files)
            problems += found
        # the reading rules need a descriptor that fits the study and bytes that are text
        skip = {p.resource for p in problems if p.resource and (p.path == DESCRIPTOR_NAME or p.kind in (
            "encoding-error", "nul-byte"))}
        if not any(p.resource is None and p.path == DESCRIPTOR_NAME for p in study):
            reading, frames, missing = reading_problems(files, skip)
            problems += [p for p in reading if not _reported_by(p, found)]
    entry = {"content_hash": files.content_hash, "checker": checker_fingerprint(),
             "problems": [p.to_dict() for p in problems], "rows": rows}
    _store(files.content_hash, entry)
    report = ValidationReport(files.descriptor_path, files.content_hash, problems, rows, source=source)
    if not problems:
        report.frames, report.missing = frames, missing
    return report


def validate_package(path: str | os.PathLike | None = None, *, use_cache: bool = True,
                     max_bytes: int | None = None) -> ValidationReport:
    """Check the package at `path` (folder or datapackage.json; default as for `ztown.load`)."""
    return check_files(read_package(path, max_bytes=max_bytes), use_cache=use_cache)


def restamp(path: str | os.PathLike | None = None) -> Path:
    """Rewrite the `bytes` and `hash` of every resource in the descriptor from the files as they are now.

    For a package whose data were changed on purpose (frictionless refuses a file whose size or
    SHA-256 differ from the descriptor's). Only the descriptor is written, in the generator's layout.
    """
    files = read_package(path)
    refused = [p for p in files.problems if p.kind not in ("encoding-error", "nul-byte")]
    if files.descriptor is None or refused:
        raise DataPackageError(files.source or str(files.descriptor_path), refused or files.problems)
    schema.stamp_resources(files.descriptor, files.data)
    text = json.dumps(files.descriptor, ensure_ascii=False, indent=2) + "\n"
    with tempfile.NamedTemporaryFile("w", dir=files.base, suffix=".tmp", delete=False, encoding="utf-8") as fh:
        fh.write(text)
    os.replace(fh.name, files.descriptor_path)
    return files.descriptor_path
