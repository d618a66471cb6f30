"""`ztown replicate`: re-execute the chapters and compare every published result; `ztown publish`:
re-execute them in place, the deliberate way their committed results change."""

from __future__ import annotations

import sys
from pathlib import Path

FIRST_DIFFERENCES = 10


def _notebooks(names: list[str]) -> list[Path] | None:
    from ztown.publication.replicate import chapter_notebooks

    if not names:
        return None
    chapters = {p.stem: p for p in chapter_notebooks()}
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.is_file():
            chosen.append(path)
            continue
        matches = [p for stem, p in chapters.items() if stem == name or stem.startswith(f"{name}_")]
        if len(matches) != 1:
            raise FileNotFoundError(f"{name!r} names no chapter notebook (one of: {', '.join(chapters)})")
        chosen.append(matches[0])
    return chosen


def run_replicate(args) -> int:
    from ztown.publication.replicate import first_differences, run_replication

    try:
        notebooks = _notebooks(args.notebooks)
        replication = run_replication(Path(args.out) if args.out else None, notebooks, jobs=args.jobs)
    except FileNotFoundError as exc:
        print(f"ztown replicate: {exc}", file=sys.stderr)
        return 2
    checks = replication.checks
    failed = [c for c in checks if not c.passed]
    report = replication.out_dir / "report.md"
    if replication.ok:
        print(f"ztown replicate: all {len(checks)} published results reproduced within tolerance "
              f"in {replication.seconds:.0f} s; report {report} (and report.csv)")
        return 0
    lines = "".join(f"\n  {line}" for line in first_differences(replication, FIRST_DIFFERENCES))
    print(f"ztown replicate: {len(failed)} of {len(checks)} published results NOT reproduced within tolerance "
          f"({replication.seconds:.0f} s). First differences:{lines}\n"
          f"ztown replicate: every comparison is in {replication.out_dir / 'report.csv'}; summary in {report}",
          file=sys.stderr)
    return 1


def run_publish(args) -> int:
    from ztown.publication.replicate import publish

    try:
        failures = publish(_notebooks(args.notebooks), jobs=args.jobs)
    except FileNotFoundError as exc:
        print(f"ztown publish: {exc}", file=sys.stderr)
        return 2
    return 1 if failures else 0


def add_subcommand(sub) -> None:
    p = sub.add_parser(
        "replicate", help="re-execute every chapter and compare every published result (exit 1 if any differs)",
        description="Execute every chapter notebook from scratch in a scratch folder against the committed data "
                    "package, compare every glued value, table cell, figure (image and data) and claim with the "
                    "committed notebooks at the stated tolerances, and write report.md, report.csv and "
                    "report.json. Exit 0 when everything reproduces, 1 otherwise. Nothing outside the output "
                    "folder is written.")
    p.add_argument("notebooks", nargs="*", metavar="CHAPTER",
                   help="chapters to replicate, e.g. 03 or 03_causes (default: all)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: _build/replication)")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="notebooks executed at a time (default 2)")
    p.set_defaults(func=run_replicate)

    q = sub.add_parser(
        "publish", help="re-execute chapters in place and refresh the committed figure data",
        description="Re-execute chapter notebooks against the committed data package, writing their outputs "
                    "into the .ipynb files and their figure data into notebooks/figure_data. The only command "
                    "that changes the committed results; builds, tests and replications never do.")
    q.add_argument("notebooks", nargs="*", metavar="CHAPTER", help="chapters to re-execute (default: all)")
    q.add_argument("--jobs", type=int, default=2, metavar="N", help="notebooks executed at a time (default 2)")
    q.set_defaults(func=run_publish)
