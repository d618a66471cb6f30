"""`ztown instrument`: write the survey instrument (an XLSForm for KoboToolbox and ODK)."""

from __future__ import annotations

import sys


def run(args) -> int:
    from ztown.data.instrument import write_xlsform
    if not args.out.lower().endswith(".xlsx"):
        print(f"ztown instrument: the XLSForm is written as an .xlsx file; got {args.out!r}", file=sys.stderr)
        return 2
    try:
        path = write_xlsform(args.out, package=args.package)
    except OSError as exc:
        print(f"ztown instrument: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def add_subcommand(sub) -> None:
    p = sub.add_parser(
        "instrument", help="write the questionnaire as an XLSForm (KoboToolbox, ODK)",
        description="Write the survey as an XLSForm (sheets survey, choices, settings; English and Chinese "
                    "labels) from the study's schema and items; the village list comes from the data package's "
                    "villages resource.")
    p.add_argument("out", metavar="OUT.xlsx", help="the XLSForm file to write")
    p.add_argument("--format", choices=("xlsform",), default="xlsform", help="output format (xlsform)")
    p.add_argument("--from", dest="package", default=None, metavar="PACKAGE",
                   help="data package whose villages are listed (default: $ZTOWN_DATAPACKAGE, else the "
                        "project's datapackage/)")
    p.set_defaults(func=run)
