"""`ztown export`: write the data package as Parquet, Stata or DuckDB for other tools.

`ztown export [PACKAGE] OUT --format FORMAT`: the package comes first, as for `ztown validate PACKAGE`
(default $ZTOWN_DATAPACKAGE, else the project's datapackage/ (found from the working directory upward)). The older spelling
`--datapackage PACKAGE` still works, with a note that it is deprecated. Exit 0 when written; 1 when
the package is invalid (as `ztown validate` exits 1), with every problem listed; 2 for any other
failure (an output folder that cannot be written, a missing format library).
"""

from __future__ import annotations

import sys


def run(args) -> int:
    from ztown.data.errors import DataPackageError
    from ztown.data.export import export

    package = args.package
    if args.datapackage is not None:
        if package is not None:
            print("ztown export: give the package once: as the first argument (PACKAGE OUT), not also with "
                  "--datapackage", file=sys.stderr)
            return 2
        print("ztown export: --datapackage is deprecated; give the package as the first argument: "
              "ztown export PACKAGE OUT --format FORMAT", file=sys.stderr)
        package = args.datapackage
    try:
        written = export(package, args.format, args.out)
    except DataPackageError as exc:
        print(f"ztown export: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError, ImportError) as exc:
        print(f"ztown export: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def add_subcommand(sub) -> None:
    from ztown.data.export import DUCKDB_FILENAME, FORMATS
    p = sub.add_parser(
        "export", help="export the data package as Parquet, Stata or DuckDB",
        usage="ztown export [PACKAGE] OUT --format {%s}" % ",".join(FORMATS),
        description="Validate the data package and write every resource, typed and labelled from its schema, into "
                    f"the folder OUT: parquet and stata write one file per resource, duckdb writes {DUCKDB_FILENAME}. "
                    "The files appear only when all of them are complete; an invalid package is refused (exit 1) "
                    "with every problem listed, as by `ztown validate`, and nothing is written.")
    p.add_argument("package", nargs="?", default=None, metavar="PACKAGE",
                   help="package folder or its datapackage.json, as for `ztown validate` (default: "
                        "$ZTOWN_DATAPACKAGE, else the project's datapackage/ (found from the working directory upward))")
    p.add_argument("out", metavar="OUT", help="folder to write into (created if missing)")
    p.add_argument("--format", required=True, choices=FORMATS, help="output format")
    p.add_argument("--datapackage", default=None, metavar="PACKAGE",
                   help="deprecated: give PACKAGE as the first argument instead")
    p.set_defaults(func=run)
