"""Power and design: how many villages, and respondents per village, a real study of the claims needs.

A real survey of Z town and its four comparison towns must choose how many villages to visit in each
town and how many people to interview in each village. This module answers by simulation, for every
claim of the claims ledger (`ztown.analysis.claims`: the problem gaps P, the cause parts C, the
reforms' effects E, the paths X), with the book's own estimators and the ledger's own test: a claim
is supported when the whole 95% interval of its indicator lies on the side the claim predicts, a
one-sided test at the 2.5% level (`NOMINAL_SIZE`). Its power in a design is the probability that the
ledger says "supported" when the study is run with that design.

The grid (`Grid`) crosses three things:

- villages per town: every one of the five towns gets exactly that many villages;
- respondents per village: the generator's mean, with its own jitter of up to three either way;
- an effect multiplier m that scales every true effect the claims are about: Z town's mean on each
  cause index is moved to the comparison towns' average plus m times its gap from it (so the cause
  gaps, the problem gaps, the Oaxaca parts and the paths all scale by m), and each comparison town's
  reform effect is multiplied by m. At m = 1 the effects are the generator's; at m = 0 every claim is
  false, and its power is the test's size.

Every other parameter is the data package's (`montecarlo.parameters_of`); `overrides` change any of
them (say, the town shocks of the stress setting). The power is therefore conditional on the
generator: on its effect sizes (which the multiplier varies), on its noise and, above all, on its
assumption that the five towns share no town-level shocks, under which village-clustered intervals
are right (the truth-recovery appendix shows what town shocks do to them).

Each cell's power is the share of its replications whose ledger supports the claim, with a Wilson
95% interval for the Monte Carlo error. A replication whose ledger cannot be computed (an estimator
fails on a small design) counts as not supported and is counted in `failures`.

Seeds and engine. The replications run on `ztown.analysis.engine`; index t is replication
t % replications of cell t // replications (cells in `Grid.cells` order), and replication r of every
cell draws its data with seed `POWER_SEED_BASE + r`. The cells thus share their random numbers
(common random numbers), so differences between designs are estimated more precisely than each
power on its own; and the result does not depend on how, or on how many workers, it is computed.

Caches. The default study (`DEFAULT_GRID`, `DEFAULT_REPLICATIONS`) is committed in notebooks/power/
as `power_<key>.csv.gz`, keyed like the truth-recovery study's by the generator's version, the
estimators' version (`montecarlo.ESTIMATOR_VERSION`), this module's `POWER_VERSION`, every parameter
but the data seed, the grid and the number of replications. Only `python -m ztown.analysis.power`
writes it there; other runs (`ztown power`, a build, a test) write to their --out folder or the
results folder. The test suite re-runs replications of the committed study and compares them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ztown.analysis import claims, engine, montecarlo, panel
from ztown.data import synth
from ztown.data.constructs import CAUSE_IDS

POWER_VERSION = "1"  # bump when what a power replication records, or how, changes
POWER_SEED_BASE = 2_000_000  # replication r of every cell uses seed POWER_SEED_BASE + r
NOMINAL_SIZE = (1 - 0.95) / 2  # the ledger's rule: a 95% interval on one side of zero, a one-sided 2.5% test
TARGET_POWER = 0.80
CONFIDENCE = 0.95  # of the Wilson intervals for the Monte Carlo error of a power
JITTER = 3  # the generator draws each village's respondents from mean +- 3 (synth._respondents)
MIN_VILLAGES = 2
COMPARISON_TOWNS = tuple(t for t, *_ in synth.TOWNS if t != "Z")
COMMITTED_CACHE = Path("notebooks") / "power"  # relative to the project
CACHE_ENV = "ZTOWN_POWER_CACHE"  # another folder for the cache (tests use one)
COLUMNS = ["villages", "respondents", "effect", "replication", "seed", "claim_id", "step", "same_evidence_as",
           "estimate", "ci_low", "ci_high", "true_value", "supported", "failed", "error", "warnings"]
TEXT_COLUMNS = ("claim_id", "step", "error", "warnings")
DESIGN = ["villages", "respondents", "effect"]
RTOL = montecarlo.RTOL_CLOSED_FORM  # the ledger's estimates are closed form (least squares, sandwich, delta method)
# an estimator that cannot run on a drawn data set (as in the truth-recovery study)
ESTIMATOR_FAILURES = (RuntimeError, KeyError, ValueError, np.linalg.LinAlgError, panel.PanelDesignError)


@dataclass(frozen=True)
class Grid:
    """The designs studied: villages per town x respondents per village x effect multipliers."""

    villages: tuple[int, ...]
    respondents: tuple[int, ...]
    effects: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "villages", _values("villages per town", self.villages, int, MIN_VILLAGES))
        object.__setattr__(self, "respondents", _values("respondents per village", self.respondents, int,
                                                        JITTER + 1))
        object.__setattr__(self, "effects", _values("effect multipliers", self.effects, float, 0))

    def cells(self) -> list[tuple[int, int, float]]:
        """Every (villages, respondents, effect), effects slowest: the order of the replication indices."""
        return [(v, r, m) for m in self.effects for v in self.villages for r in self.respondents]

    def as_dict(self) -> dict:
        return asdict(self)


def _values(name: str, values, kind, least) -> tuple:
    """Sorted distinct values, each a finite `kind` of at least `least`, or a ValueError naming them."""
    out = []
    for raw in values:
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {raw!r} is not a number") from None
        if kind is int and float(raw) != value:
            raise ValueError(f"{name}: {raw!r} is not a whole number")
        if not math.isfinite(value) or value < least:
            raise ValueError(f"{name}: {raw!r} is below the smallest allowed, {least}")
        out.append(value)
    if not out:
        raise ValueError(f"{name}: give at least one value")
    return tuple(sorted(set(out)))


# The default study: around the generator's design (10 to 15 villages per town, 40 respondents per
# village), from a third of its villages to half as many again and from a quarter of its respondents to
# all of them, at no effect (the tests' size), half the generator's effects, and its effects. 45 cells x
# DEFAULT_REPLICATIONS = 2,250 data sets: about twelve minutes on two otherwise idle cores (two local
# processes did 3.2 replications per second of a similar grid), 27 minutes measured while other jobs
# shared the two cores (README). 50 data sets put a power within about 7 points (one Monte Carlo SE).
DEFAULT_GRID = Grid(villages=(4, 6, 8, 12, 18), respondents=(10, 20, 40), effects=(0.0, 0.5, 1.0))
DEFAULT_REPLICATIONS = 50
# What a build on another data package (no committed study) computes instead: a small study.
QUICK_GRID = Grid(villages=(4, 8), respondents=(10, 20), effects=(0.0, 0.5, 1.0))
QUICK_REPLICATIONS = 4


def towns() -> int:
    return len(synth.TOWNS)


# --------------------------------------------------------------------------- one replication

def design_parameters(params: dict[str, synth.Param], villages: int, respondents: int, effect: float,
                      seed: int) -> dict[str, synth.Param]:
    """The generator's parameters for one draw of a design: exactly `villages` villages in every town,
    `respondents` respondents per village (mean), the claims' true effects times `effect`, and `seed`."""
    p = {k: v.value for k, v in params.items()}
    overrides = {"size_multiplier": "1", "villages_min": str(villages), "villages_max": str(villages),
                 "respondents_per_village": str(respondents), "seed": str(seed)}
    for c in CAUSE_IDS:
        comparison = float(np.mean([p[f"mean_{t}_{c}"] for t in COMPARISON_TOWNS]))
        overrides[f"mean_Z_{c}"] = repr(comparison + effect * (float(p[f"mean_Z_{c}"]) - comparison))
    for t in COMPARISON_TOWNS:
        overrides[f"reform_effect_{t}"] = repr(effect * float(p[f"reform_effect_{t}"]))
    return synth.apply_overrides(params, overrides)


def replicate(params: dict[str, synth.Param], grid: Grid, replications: int, index: int) -> list[dict]:
    """Replication `index % replications` of cell `index // replications`: one data set, the claims ledger."""
    villages, respondents, effect = grid.cells()[index // replications]
    replication = index % replications
    seed = POWER_SEED_BASE + replication
    design = {"villages": villages, "respondents": respondents, "effect": effect, "replication": replication,
              "seed": seed}
    # warnings (an optimizer that stops short on a small design, say) are recorded with the replication
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = synth.generate_study(design_parameters(params, villages, respondents, effect, seed))
        try:
            ledger = claims.build_ledger(data)
        except ESTIMATOR_FAILURES as exc:
            ledger, error = None, f"{type(exc).__name__}: {exc}"
    design["warnings"] = "; ".join(sorted({w.category.__name__ for w in caught}))
    if ledger is None:
        return [{**design, "claim_id": "", "step": "", "same_evidence_as": None, "estimate": np.nan,
                 "ci_low": np.nan, "ci_high": np.nan, "true_value": np.nan, "supported": False, "failed": True,
                 "error": error}]
    same = ledger["same_evidence_as"] if "same_evidence_as" in ledger.columns else pd.Series(None, ledger.index)
    return [{**design, "claim_id": r.claim_id, "step": r.step, "same_evidence_as": s if isinstance(s, str) else None,
             "estimate": float(r.estimate), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high),
             "true_value": np.nan if r.true_value is None or pd.isna(r.true_value) else float(r.true_value),
             "supported": r.verdict == claims.SUPPORTED, "failed": False, "error": ""}
            for r, s in zip(ledger.itertuples(), same)]


def run(params: dict[str, synth.Param], grid: Grid, replications: int, *, jobs: int | None = 1, scheduler=None,
        progress: bool | None = None, cache: engine.ChunkCache | None = None, indices=None) -> pd.DataFrame:
    """Every replication of every cell (or only `indices`), on the simulation engine, in index order."""
    if replications < 1:
        raise ValueError(f"replications must be at least 1, got {replications}")
    indices = range(len(grid.cells()) * replications) if indices is None else indices
    return engine.run_table(partial(replicate, params, grid, replications), indices, columns=COLUMNS, cache=cache,
                            jobs=jobs, scheduler=scheduler, progress=progress, desc="power")


# --------------------------------------------------------------------------- the cache

def cache_key(params: dict[str, synth.Param], grid: Grid, replications: int) -> str:
    """Key of a study: generator, estimators' and this module's versions, parameters (seed aside), grid,
    replications."""
    values = {k: p.value for k, p in params.items() if k != "seed"}
    blob = json.dumps({"generator": synth.GENERATOR_VERSION, "estimators": montecarlo.ESTIMATOR_VERSION,
                       "power": POWER_VERSION, "params": values, "grid": grid.as_dict(), "reps": replications,
                       "seed_base": POWER_SEED_BASE, "columns": COLUMNS}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def committed_cache_dir() -> Path | None:
    """The project's committed study (notebooks/power/), or None outside a project."""
    from ztown.data.paths import find_project_root
    root = find_project_root()
    return root / COMMITTED_CACHE if root is not None else None


def computed_dir() -> Path:
    """Where studies computed by a build, a test or `ztown power` go by default: the results folder."""
    from ztown.data.paths import results_dir
    return results_dir() / "power"


def cache_path(params: dict[str, synth.Param], grid: Grid, replications: int, folder: Path) -> Path:
    return Path(folder) / f"power_{cache_key(params, grid, replications)}.csv.gz"


def partial_cache(params: dict[str, synth.Param], grid: Grid, replications: int, folder: Path) -> engine.ChunkCache:
    """Where a study computed into `folder` keeps its finished chunks (the results folder for the committed one)."""
    committed = committed_cache_dir()
    base = computed_dir() if committed is not None and Path(folder).resolve() == committed.resolve() else folder
    return engine.ChunkCache(Path(base) / ".partial", f"power_{cache_key(params, grid, replications)}")


def cached_run(params: dict[str, synth.Param], grid: Grid = DEFAULT_GRID, replications: int = DEFAULT_REPLICATIONS,
               cache_dir: Path | None = None, compute: bool = True, *, jobs: int | None = 1, scheduler=None,
               progress: bool | None = None) -> pd.DataFrame | None:
    """A study's replications from its cache, or computed and cached (None if absent and not computing).

    With `cache_dir` (or $ZTOWN_POWER_CACHE) that folder is the only one read and written; otherwise the
    committed notebooks/power/ is read first, then the results folder, and a study computed here goes
    to the results folder. An interrupted computation resumes from its finished chunks.
    """
    explicit = cache_dir or os.environ.get(CACHE_ENV)
    folders = [Path(explicit)] if explicit else [f for f in (committed_cache_dir(), computed_dir()) if f]
    for folder in folders:
        path = cache_path(params, grid, replications, folder)
        if path.exists():
            return read_cache(path)
    if not compute:
        return None
    chunks = partial_cache(params, grid, replications, folders[-1])
    reps = run(params, grid, replications, jobs=jobs, scheduler=scheduler, progress=progress, cache=chunks)
    written = write_cache(reps, cache_path(params, grid, replications, folders[-1]))
    chunks.clear()
    return written


def read_cache(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in COLUMNS if c not in TEXT_COLUMNS},
                       dtype={**{c: str for c in TEXT_COLUMNS}, "same_evidence_as": str, "effect": float})


def write_cache(reps: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Write a study as gzipped CSV (10 significant digits, fixed gzip time stamp: the same rows give the
    same bytes), atomically, and read it back, so a fresh run and a cache hit agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        reps.to_csv(tmp, index=False, lineterminator="\n", float_format="%.10g",
                    compression={"method": "gzip", "mtime": 0})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return read_cache(path)


def compare_with_cache(fresh: pd.DataFrame, cached: pd.DataFrame) -> pd.DataFrame:
    """The rows where a re-run differs from the cache (empty when current).

    Numbers within RTOL on the scale |value| + a quarter of the interval's width (about one SE);
    verdicts exactly, unless an interval's bound lies within that tolerance of zero.
    """
    keys = ["villages", "respondents", "effect", "replication", "claim_id"]
    f = fresh.reset_index(drop=True)
    c = cached.reset_index(drop=True)
    if len(f) != len(c) or not f[keys].astype(str).equals(c[keys].astype(str)):
        return pd.DataFrame({"problem": ["rows differ"], "detail": [f"{len(f)} rows now, {len(c)} cached"]})
    scale = (c["ci_high"] - c["ci_low"]).abs().fillna(0).to_numpy() / 4
    bad = []
    for col in ("estimate", "ci_low", "ci_high", "true_value"):
        x, y = f[col].to_numpy(dtype=float), c[col].to_numpy(dtype=float)
        limit = RTOL * (np.abs(y) + scale) + 1e-12
        wrong = ~(np.isnan(x) & np.isnan(y)) & ~(np.abs(x - y) <= limit)
        bad += [{"problem": col, "detail": f"row {i} ({c.loc[i, 'claim_id']}): {x[i]!r} now, {y[i]!r} cached"}
                for i in np.flatnonzero(wrong)]
    near = np.minimum(c["ci_low"].abs(), c["ci_high"].abs()).to_numpy() <= RTOL * (scale + 1)
    flipped = (f["supported"].astype(bool) != c["supported"].astype(bool)).to_numpy() & ~near
    flipped |= (f["failed"].astype(bool) != c["failed"].astype(bool)).to_numpy()
    bad += [{"problem": "verdict", "detail": f"row {i} ({c.loc[i, 'claim_id']})"} for i in np.flatnonzero(flipped)]
    return pd.DataFrame(bad, columns=["problem", "detail"])


# --------------------------------------------------------------------------- power and recommendations

def wilson(successes, trials, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial share (statsmodels), vectorized."""
    from statsmodels.stats.proportion import proportion_confint
    lo, hi = proportion_confint(np.asarray(successes), np.asarray(trials), alpha=1 - confidence, method="wilson")
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def summarize(reps: pd.DataFrame, replications: int | None = None) -> pd.DataFrame:
    """Power per design and claim, with its Wilson interval.

    Columns: villages, respondents, effect, interviews (towns x villages x respondents), claim_id, step,
    same_evidence_as, replications, supported, power, power_low, power_high, failures (replications of
    the cell whose ledger could not be computed, counted as not supported), warned (replications during
    which a warning was issued, e.g. an optimizer's convergence warning), true_value (the claim's mean
    true value in the cell), mean_estimate. Claims come in the ledger's order.
    """
    n = int(replications or reps.groupby(DESIGN)["replication"].nunique().max())
    ok = reps[~reps["failed"].astype(bool)]
    cells = reps[DESIGN].drop_duplicates().sort_values(DESIGN).reset_index(drop=True)
    claim_info = ok.drop_duplicates("claim_id")[["claim_id", "step", "same_evidence_as"]].reset_index(drop=True)
    grid = cells.merge(claim_info, how="cross")
    agg = ok.groupby([*DESIGN, "claim_id"]).agg(supported=("supported", "sum"), true_value=("true_value", "mean"),
                                                 mean_estimate=("estimate", "mean")).reset_index()
    fails = reps[reps["failed"].astype(bool)].groupby(DESIGN)["replication"].nunique().rename("failures")
    warned = reps[reps["warnings"].fillna("") != ""].groupby(DESIGN)["replication"].nunique().rename("warned")
    out = grid.merge(agg, on=[*DESIGN, "claim_id"], how="left")
    for extra in (fails, warned):
        out = out.merge(extra.reset_index(), on=DESIGN, how="left")
    for col in ("supported", "failures", "warned"):
        out[col] = out[col].fillna(0).astype(int)
    out["replications"] = n
    out["power"] = out["supported"] / n
    out["power_low"], out["power_high"] = wilson(out["supported"], n)
    out["interviews"] = towns() * out["villages"] * out["respondents"]
    order = {c: k for k, c in enumerate(claim_info["claim_id"])}
    out = out.sort_values([*DESIGN, "claim_id"], key=lambda s: s.map(order) if s.name == "claim_id" else s)
    return out[[*DESIGN, "interviews", "claim_id", "step", "same_evidence_as", "replications", "supported", "power",
                "power_low", "power_high", "failures", "warned", "true_value", "mean_estimate"]].reset_index(drop=True)


def recommend(summary: pd.DataFrame, effect: float = 1.0, target: float = TARGET_POWER) -> pd.DataFrame:
    """Per claim, the smallest design of the grid whose power reaches `target` at this effect multiplier.

    Smallest: the fewest interviews (towns x villages x respondents), then the fewest villages. Where no
    design reaches the target, `reached` is False and the row shows the grid's most powerful design.
    Columns: claim_id, step, same_evidence_as, effect, target, reached, villages, respondents, interviews,
    power, power_low, power_high, replications.
    """
    at = summary[np.isclose(summary["effect"], effect)]
    if at.empty:
        raise ValueError(f"the study has no effect multiplier {effect}; it has {sorted(summary['effect'].unique())}")
    rows = []
    for claim_id, g in at.groupby("claim_id", sort=False):
        hits = g[g["power"] >= target].sort_values(["interviews", "villages"])
        reached = not hits.empty
        best = hits.iloc[0] if reached else g.sort_values(["power", "interviews"], ascending=[False, True]).iloc[0]
        rows.append({"claim_id": claim_id, "step": best["step"], "same_evidence_as": best["same_evidence_as"],
                     "effect": float(effect), "target": float(target), "reached": reached,
                     **{k: best[k] for k in ("villages", "respondents", "interviews", "power", "power_low",
                                              "power_high", "replications")}})
    return pd.DataFrame(rows)


def size_table(reps: pd.DataFrame) -> pd.DataFrame:
    """At effect 0 (every claim false): each claim's rejection rate over all designs, against the nominal size.

    The rate pools every design. Its Wilson interval counts each (villages, replication) pair once:
    designs that differ only in respondents share their villages, causes and village panel (the
    generator draws the respondents last), so their verdicts are not independent (the reforms' claims,
    resting on the panel alone, are identical across them). Columns: claim_id, step, verdicts,
    supported, size, units (independent draws), size_low, size_high, worst (the highest rate in a
    single design).
    """
    null = reps[np.isclose(reps["effect"], 0.0) & ~reps["failed"].astype(bool)]
    if null.empty:
        raise ValueError("the study has no effect multiplier 0")
    rows = []
    for claim_id, g in null.groupby("claim_id", sort=False):
        rate = float(g["supported"].mean())
        units = len(g[["villages", "replication"]].drop_duplicates())
        lo, hi = wilson(rate * units, units)
        worst = g.groupby(["villages", "respondents"])["supported"].mean().max()
        rows.append({"claim_id": claim_id, "step": g["step"].iloc[0], "verdicts": len(g),
                     "supported": int(g["supported"].sum()), "size": rate, "units": units, "size_low": float(lo),
                     "size_high": float(hi), "worst": float(worst)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the deliberate re-run

def main(argv: list[str] | None = None) -> int:
    """Compute (or read) the default power study for a data package and write its cache.

    Usage: python -m ztown.analysis.power [DATAPACKAGE] [--jobs N | --scheduler URL] [--out DIR] [--no-progress].
    The cache goes to DIR, else $ZTOWN_POWER_CACHE, else notebooks/power/: this command is how the committed
    study is (deliberately) recomputed, after deleting the stale one. `ztown power` runs other grids.
    """
    import argparse
    import time

    from ztown.data.loader import load
    from ztown.data.paths import project_root

    parser = argparse.ArgumentParser(prog="python -m ztown.analysis.power", description=main.__doc__.splitlines()[0])
    parser.add_argument("datapackage", nargs="?", default=None)
    parser.add_argument("--jobs", type=int, default=None, help="local processes (default: the machine's cores)")
    parser.add_argument("--scheduler", default=None, help="a dask.distributed scheduler, tcp://HOST:PORT")
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or Path(os.environ.get(CACHE_ENV) or project_root() / COMMITTED_CACHE)
    params = montecarlo.parameters_of(load(args.datapackage))
    start = time.perf_counter()
    reps = cached_run(params, DEFAULT_GRID, DEFAULT_REPLICATIONS, cache_dir=out, jobs=args.jobs,
                      scheduler=args.scheduler, progress=args.progress)
    print(f"power: {len(DEFAULT_GRID.cells())} designs x {DEFAULT_REPLICATIONS} replications, "
          f"{reps['claim_id'].nunique()} claims, {cache_path(params, DEFAULT_GRID, DEFAULT_REPLICATIONS, out)} "
          f"({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
