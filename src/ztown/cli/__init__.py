"""The `ztown` command: generate, validate and export the data package, build the book, replicate it.

Each subcommand lives in the module of its concern, which exposes `add_subcommand(subparsers)`;
this file only lists them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module that registers each subcommand, in the order `ztown --help` lists them
SUBCOMMAND_MODULES = ("ztown.cli.synth", "ztown.cli.validate", "ztown.cli.export", "ztown.cli.book",
                      "ztown.cli.replicate", "ztown.cli.power", "ztown.cli.instrument", "ztown.cli.fieldimport")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ztown", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).add_subcommand(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ztown.data.errors import DataPackageError
    try:
        return int(args.func(args) or 0)
    except DataPackageError as exc:  # e.g. no project found and no path given: say so, no traceback
        print(f"ztown {args.command}: {exc}", file=sys.stderr)
        return 2
