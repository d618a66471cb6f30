"""`ztown synth`: write the synthetic data package."""

from __future__ import annotations

import sys


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--set takes NAME=VALUE, got {pair!r}")
        out[name.strip()] = value.strip()
    return out


def run(args) -> int:
    from ztown.data.synth import write_package
    try:
        path = write_package(args.out, seed=args.seed, overrides=_parse_sets(args.set))
    except (KeyError, ValueError) as exc:
        print(f"ztown synth: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def add_subcommand(sub) -> None:
    from ztown.data.schema import DEFAULT_SEED  # not from .synth: --help must not import numpy and pandas
    p = sub.add_parser("synth", help="generate the synthetic data package",
                       description="Generate the synthetic data package from the seeded generator.")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--out", required=True, help="folder to write datapackage.json and data/ into")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a true parameter (repeatable), e.g. --set beta_fun=0")
    p.set_defaults(func=run)
