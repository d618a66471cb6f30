"""The `ztown` command: generate, validate, export the data package, and build the book."""

from __future__ import annotations

import argparse
import sys


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"ztown synth: --set takes NAME=VALUE, got {pair!r}")
        out[name.strip()] = value.strip()
    return out


def cmd_synth(args) -> int:
    from .synth import write_package
    try:
        path = write_package(args.out, seed=args.seed, overrides=_parse_sets(args.set))
    except (KeyError, ValueError) as exc:
        print(f"ztown synth: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .synth import DEFAULT_SEED
    parser = argparse.ArgumentParser(prog="ztown", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate the synthetic data package")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--out", required=True, help="folder to write datapackage.json and data/ into")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a true parameter (repeatable), e.g. --set beta_fun=0")
    p.set_defaults(func=cmd_synth)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
