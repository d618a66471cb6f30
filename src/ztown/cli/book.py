"""`ztown book`: build the HTML book into _build/html, failing on any warning (`--pdf`: and its PDF edition)."""

from __future__ import annotations

import sys
from pathlib import Path



def run(args) -> int:
    from ztown.publication.book import build_book, build_pdf
    pdf = None
    try:
        if getattr(args, "pdf", False):
            result, pdf = build_pdf(Path(args.source) if args.source else None,
                                    data=Path(args.data) if args.data else None)
        else:
            result = build_book(Path(args.source) if args.source else None,
                                data=Path(args.data) if args.data else None, keep_going=args.keep_going)
    except FileNotFoundError as exc:
        print(f"ztown book: {exc}", file=sys.stderr)
        return 2
    if result.ok:
        print(f"ztown book: built {result.html_dir} in {result.seconds:.1f} s")
        for code, edition in result.editions.items():  # translated editions (ztown.publication.edition)
            print(f"ztown book: the {code} edition is in {result.html_dir / code} ({edition.seconds:.1f} s of the build)")
        if pdf is not None:
            print(f"ztown book: PDF edition {pdf}")
        return 0
    reasons = [f"jupyter-book exited with status {result.returncode}"] if result.returncode else []
    if result.warnings:
        reasons.append(f"{len(result.warnings)} warning(s)")
    problems = "".join(f"\nztown book: problem: {line}" for line in result.problems[:3])
    print(f"ztown book: build FAILED after {result.seconds:.1f} s ({'; '.join(reasons)}).{problems}\n"
          f"ztown book: removed {result.html_dir} so no stale pages survive; full log in {result.log_path}",
          file=sys.stderr)
    return result.returncode or 1


def add_subcommand(sub) -> None:
    p = sub.add_parser("book", help="build the HTML book (fails on any warning)",
                       description="Build the HTML book into <source>/_build/html with "
                                   "`jupyter-book build --builder html -W -n`. Any warning fails the "
                                   "build, and a failed build leaves no _build/html.")
    p.add_argument("--data", metavar="PATH",
                   help="data package (folder or datapackage.json) the notebooks read "
                        "(default: $ZTOWN_DATAPACKAGE, else the book's own datapackage/)")
    p.add_argument("--pdf", action="store_true",
                   help="also build the single-page edition and print it to _build/pdf/ztown-book.pdf with "
                        "Debian's Chromium (every page then links the PDF)")
    p.add_argument("--keep-going", action="store_true",
                   help="report every warning of the build instead of stopping at the first")
    p.add_argument("--source", default=None, metavar="DIR",
                   help="folder holding _config.yml and _toc.yml (default: the project found from the "
                        "working directory upward)")
    p.set_defaults(func=run)
