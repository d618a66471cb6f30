"""The error a damaged or non-conforming data package raises, and the problems it lists."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data package, located as precisely as it can be."""

    resource: str | None  # resource name, or None for the package as a whole
    row: int | None  # 1-based row number in the file (the header is row 1), if any
    field: str | None  # field name, if any
    kind: str  # frictionless error type or a ztown check name
    expected: str  # what should have been there
    found: str  # what was there
    path: str | None = None  # file the problem is in

    def __str__(self) -> str:
        where = [f"file {self.path}" if self.path else None,
                 f"resource {self.resource}" if self.resource else "package",
                 f"row {self.row}" if self.row is not None else None,
                 f"field {self.field}" if self.field else None]
        return f"{', '.join(w for w in where if w)}: [{self.kind}] expected {self.expected}; found {self.found}"

    def to_dict(self) -> dict:
        return asdict(self)


class DataPackageError(ValueError):
    """The data package is invalid; `.problems` lists every problem found."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid data package {source}: {len(self.problems)} problem(s)\n{lines}")
