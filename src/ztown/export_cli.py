"""`ztown export`: write the data package as Parquet, Stata or DuckDB for other tools."""

from __future__ import annotations

import sys


def run(args) -> int:
    from .errors import DataPackageError
    from .export import export
    from .loader import load
    try:
        written = export(load(args.datapackage), args.format, args.out)
    except (DataPackageError, ValueError, OSError) as exc:
        print(f"ztown export: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def add_subcommand(sub) -> None:
    from .export import DUCKDB_FILENAME, FORMATS
    p = sub.add_parser(
        "export", help="export the data package as Parquet, Stata or DuckDB",
        description="Write every resource of the data package, typed and labelled from its schema, into the "
                    f"folder OUT: parquet and stata write one file per resource, duckdb writes {DUCKDB_FILENAME}.")
    p.add_argument("--format", required=True, choices=FORMATS, help="output format")
    p.add_argument("--datapackage", default=None, metavar="PATH",
                   help="data package folder or datapackage.json (default: $ZTOWN_DATAPACKAGE, else datapackage/)")
    p.add_argument("out", metavar="OUT", help="folder to write into (created if missing)")
    p.set_defaults(func=run)
