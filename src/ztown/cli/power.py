"""`ztown power`: how many villages, and respondents per village, each claim needs (simulated power)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# parameters the grid sets itself: --set may not change them
DESIGN_PARAMETERS = ("size_multiplier", "villages_min", "villages_max", "respondents_per_village", "seed")


def _format_recommendations(table) -> str:
    head = f"{'claim':<6} {'step':<11} {'villages':>8} {'respondents':>11} {'interviews':>10} {'power':>6}  interval"
    lines = [head]
    for r in table.itertuples():
        mark = "" if r.reached else "  (target not reached in the grid: its most powerful design)"
        lines.append(f"{r.claim_id:<6} {r.step:<11} {r.villages:>8} {r.respondents:>11} {r.interviews:>10} "
                     f"{r.power:>6.2f}  [{r.power_low:.2f}, {r.power_high:.2f}]{mark}")
    return "\n".join(lines)


def run(args) -> int:
    from ztown.analysis import engine, montecarlo, power
    from ztown.cli.synth import _parse_sets
    from ztown.data import synth
    from ztown.data.loader import load

    def fail(message: str, code: int = 2) -> int:
        print(f"ztown power: {message}", file=sys.stderr)
        return code

    default = power.DEFAULT_GRID
    args.replications = power.DEFAULT_REPLICATIONS if args.replications is None else args.replications
    args.target = power.TARGET_POWER if args.target is None else args.target
    try:
        grid = power.Grid(villages=tuple(args.villages or default.villages),
                          respondents=tuple(args.respondents or default.respondents),
                          effects=tuple(args.effects or default.effects))
        sets = _parse_sets(args.set)
        fixed = sorted(set(sets) & set(DESIGN_PARAMETERS))
        if fixed:
            return fail(f"--set {', '.join(fixed)}: the grid sets these (use --villages and --respondents)")
        if args.replications < 1:
            return fail(f"--replications must be at least 1, got {args.replications}")
        if args.jobs is not None and args.jobs < 1:
            return fail(f"--jobs must be at least 1, got {args.jobs}")
        if not 0 < args.target < 1:
            return fail(f"--target is a power between 0 and 1, got {args.target}")
        params = synth.apply_overrides(montecarlo.parameters_of(load(args.datapackage)), sets)
    except (KeyError, ValueError) as exc:
        return fail(str(exc).strip('"'))

    out = Path(args.out) if args.out else power.computed_dir()
    start = time.perf_counter()
    reps = power.cached_run(params, grid, args.replications, compute=False)  # the committed study, or one already run
    found = reps is not None
    if not found and args.out:
        reps = power.cached_run(params, grid, args.replications, cache_dir=out, compute=False)
        found = reps is not None
    if not found:
        cells = len(grid.cells())
        print(f"ztown power: {cells} designs x {args.replications} replications = {cells * args.replications} "
              f"data sets, on {args.scheduler or f'{args.jobs or os.cpu_count()} local process(es)'}", file=sys.stderr)
        try:
            reps = power.cached_run(params, grid, args.replications, cache_dir=out, jobs=args.jobs,
                                    scheduler=args.scheduler, progress=args.progress)
        except engine.ReplicationError as exc:
            return fail(f"{exc}\n{exc.remote_traceback}", 1)
        except (ConnectionError, ImportError) as exc:
            return fail(str(exc))
        except KeyboardInterrupt:
            return fail(f"interrupted; the finished chunks are kept in {out / '.partial'}: run the same command "
                        "again to resume", 130)
    summary = power.summarize(reps, args.replications)
    effect = max(grid.effects)
    recommendations = power.recommend(summary, effect, args.target)
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "power_summary.csv", index=False, lineterminator="\n", float_format="%.6g")
    recommendations.to_csv(out / "power_recommendations.csv", index=False, lineterminator="\n", float_format="%.6g")
    where = "cached" if found else f"computed in {time.perf_counter() - start:.0f} s"
    print(f"Smallest design reaching power {args.target:.2f} per claim, at effect multiplier {effect:g} "
          f"({args.replications} replications per design, {where}; Wilson {power.CONFIDENCE:.0%} intervals):")
    print(_format_recommendations(recommendations))
    print(f"power of every claim in every design: {out / 'power_summary.csv'}; "
          f"recommendations: {out / 'power_recommendations.csv'}")
    return 0


def add_subcommand(sub) -> None:
    # the defaults live in ztown.analysis.power, imported only when the command runs (--help stays fast)
    default = "the committed study's, ztown.analysis.power.DEFAULT_GRID"
    p = sub.add_parser(
        "power", help="simulate how many villages and respondents per village each claim needs",
        description="Simulate the study from the generator over a grid of designs (villages per town x "
                    "respondents per village x effect multipliers), run the claims ledger's estimators and tests "
                    "on each data set, and report each claim's power with Monte Carlo (Wilson) intervals and the "
                    "smallest design reaching the target power. The power is conditional on the generator's "
                    "assumptions (its effect sizes, scaled by the multipliers; its noise; no town-level shocks "
                    "unless --set adds them). Results are cached, keyed by everything that determines them; the "
                    "default study is committed in notebooks/power/. An interrupted run resumes when started again.")
    p.add_argument("datapackage", nargs="?", default=None, metavar="PACKAGE",
                   help="the data package whose generator parameters are simulated (default: $ZTOWN_DATAPACKAGE, "
                        "else the project's datapackage/)")
    p.add_argument("--villages", nargs="+", default=None, metavar="N", help=f"villages per town (default: {default})")
    p.add_argument("--respondents", nargs="+", default=None, metavar="N",
                   help=f"respondents per village, the generator's mean (default: {default})")
    p.add_argument("--effects", nargs="+", default=None, metavar="M",
                   help=f"multipliers of the generator's true effects; 0 gives each test's size (default: {default})")
    p.add_argument("--replications", type=int, default=None,
                   help="data sets per design (default: the committed study's, DEFAULT_REPLICATIONS)")
    p.add_argument("--target", type=float, default=None, help="target power (default: TARGET_POWER, 0.8)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="change a generator parameter (repeatable), e.g. --set town_year_sd=0.5")
    p.add_argument("--jobs", type=int, default=None, help="local processes (default: the machine's cores)")
    p.add_argument("--scheduler", default=None, metavar="URL",
                   help="run on a dask.distributed cluster, e.g. tcp://HOST:8786 (its workers need ztown installed)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for the study's cache and its CSV tables (default: the results folder's power/)")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                   help="no progress bar (it shows only on a terminal anyway)")
    p.set_defaults(func=run)
