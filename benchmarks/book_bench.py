"""How long the book takes to build, and how much of that is the notebooks themselves.

Measures, on the repository (or --source DIR):
  1. a clean build: `_build` removed (execution cache included), then `ztown book`;
  2. each notebook's execution time, from the jupyter-cache records of that build;
  3. a rebuild with nothing changed;
  4. clean build / summed notebook execution time: the build's own overhead.
Targets: clean build <= 90 s, no-change rebuild <= 15 s, ratio <= 1.5.

Usage: python benchmarks/book_bench.py [--source DIR] [--json FILE] [--check]
(--check exits 1 when a target is missed). It deletes <source>/_build.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from ztown.publication.book import BookBuild, build_book

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout these tests belong to

TARGETS = {"clean_build_s": 90.0, "no_change_rebuild_s": 15.0, "clean_over_notebooks": 1.5}


def notebook_times(cache_dir: Path, source: Path) -> dict[str, float]:
    """Execution seconds of each notebook, as recorded in the build's jupyter-cache."""
    from jupyter_cache import get_cache

    times = {}
    for record in get_cache(str(cache_dir)).list_cache_records():
        seconds = record.data.get("execution_seconds")
        uri = Path(record.uri)
        if seconds is not None and uri.is_relative_to(source):
            times[uri.relative_to(source).as_posix()] = float(seconds)
    return dict(sorted(times.items()))


def _build(source: Path, label: str) -> BookBuild:
    result = build_book(source, echo=lambda line: None)
    if not result.ok:
        sys.exit(f"{label} build failed (see {result.log_path}): {result.problems[:3]}")
    return result


def measure(source: Path) -> dict:
    shutil.rmtree(source / "_build", ignore_errors=True)
    clean = _build(source, "clean")
    times = notebook_times(clean.execution_cache, source)
    rebuild = _build(source, "no-change")
    total = sum(times.values())
    return {"clean_build_s": round(clean.seconds, 1),
            "notebook_execution_s": {k: round(v, 1) for k, v in times.items()},
            "notebooks_total_s": round(total, 1), "no_change_rebuild_s": round(rebuild.seconds, 1),
            # a no-change rebuild runs nothing; if it did, data or helpers changed meanwhile
            "rebuild_executed": sorted(rebuild.executed),
            "clean_over_notebooks": round(clean.seconds / total, 2) if total else None}


def report(results: dict) -> list[str]:
    """Print the results; return the targets that were missed."""
    print(f"clean build (rm -rf _build; ztown book): {results['clean_build_s']:7.1f} s")
    for name, seconds in results["notebook_execution_s"].items():
        print(f"  executed {name:40s} {seconds:7.1f} s")
    print(f"  notebooks in total:                            {results['notebooks_total_s']:7.1f} s")
    print(f"no-change rebuild:                       {results['no_change_rebuild_s']:7.1f} s")
    if results["rebuild_executed"]:
        print(f"  (not a no-change rebuild: it executed {', '.join(results['rebuild_executed'])}; "
              "the data or the ztown helpers changed during the benchmark)")
    print(f"clean build / notebook execution:        {results['clean_over_notebooks']}")
    missed = [f"{key} = {results[key]} > {limit}" for key, limit in TARGETS.items()
              if results[key] is None or results[key] > limit]
    for line in missed:
        print(f"TARGET MISSED: {line}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO_ROOT, help="book folder (default: the repository)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    results = measure(args.source.resolve())
    missed = report(results)
    if args.json:
        args.json.write_text(json.dumps({**results, "targets": TARGETS, "missed": missed}, indent=2) + "\n")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
