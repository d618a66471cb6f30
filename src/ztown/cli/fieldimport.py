"""`ztown import kobo|odk`: a KoboToolbox or ODK Central CSV export into a new data package."""

from __future__ import annotations

import sys


def run(args) -> int:
    from ztown.data.errors import DataPackageError
    from ztown.data.fieldimport import import_export

    try:
        path = import_export(args.submissions, args.format, args.out, args.package, replace=args.replace)
    except FileExistsError as exc:
        print(f"ztown import: {exc}", file=sys.stderr)
        return 2
    except DataPackageError as exc:
        print(f"ztown import: nothing written. {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ztown import: nothing written: {exc.strerror or exc} ({exc.filename or args.out})", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def add_subcommand(sub) -> None:
    p = sub.add_parser(
        "import", help="import a KoboToolbox or ODK Central CSV export as the respondents of a new data package",
        description="Map a CSV export of the study's XLSForm (`ztown instrument`; exported with XML values) onto "
                    "the respondents resource of a new data package whose other resources are copied from "
                    "PACKAGE, validate it, and move it into place. Respondent ids are numbered by submission "
                    "time, then instance id. A bad row stops the import with every problem named by row, "
                    "column and rule (exit 1), and nothing is written.")
    p.add_argument("format", choices=("kobo", "odk"), help="kobo: KoboToolbox export; odk: ODK Central export")
    p.add_argument("submissions", metavar="SUBMISSIONS.csv", help="the CSV export")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the new data package (must not exist)")
    p.add_argument("--from", dest="package", default=None, metavar="PACKAGE",
                   help="package the other resources come from (default: $ZTOWN_DATAPACKAGE, else the "
                        "project's datapackage/)")
    p.add_argument("--replace", action="store_true",
                   help="replace an existing DIR (whole, after the new package has validated)")
    p.set_defaults(func=run)
