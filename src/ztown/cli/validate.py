"""`ztown validate`: check a data package and list every problem (exit 1 if there is any)."""

from __future__ import annotations

import json


def run(args) -> int:
    from ztown.data.validate import validate_package

    report = validate_package(args.path, use_cache=not args.no_cache)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
    return 0 if report.valid else 1


def add_subcommand(sub) -> None:
    p = sub.add_parser(
        "validate", help="validate a data package (frictionless checks, the study's schema, the reading rules)",
        description="Validate a data package with frictionless, against the study's schema and by the reading "
                    "rules that `ztown.load` and `ztown export` apply, so that exit 0 means the package loads and "
                    "exports. Prints 'valid' with a one-line summary (exit 0), or every problem with its file, "
                    "resource, row and field (exit 1). Results are cached by a hash of the bytes.")
    p.add_argument("path", nargs="?", default=None, metavar="PACKAGE",
                   help="package folder or its datapackage.json (default: $ZTOWN_DATAPACKAGE, else the "
                        "project's datapackage/, found from the working directory upward)")
    p.add_argument("--json", action="store_true",
                   help="print a machine-readable report: valid, package, content_hash, rows, problems")
    p.add_argument("--no-cache", action="store_true",
                   help="validate afresh, ignoring cached results (the fresh result is stored for later runs)")
    p.set_defaults(func=run)
