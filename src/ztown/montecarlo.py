"""Truth recovery: a Monte Carlo study of every estimator in the book against the generator's truth.

Each replication draws a fresh data set from the generator with the same true parameters and its
own seed (`MC_SEED_BASE + replication`), runs every estimator the chapters use, and records the
estimate, its 95% interval and the true value it targets. `summarize` turns the replications into
bias, RMSE, the mean reported standard error against the spread of the estimates, and the coverage of
the intervals with its Monte Carlo standard error.

A full study takes minutes, so its replications are cached in `notebooks/montecarlo/`, keyed by the
generator version, the estimators' version (`ESTIMATOR_VERSION`), the true parameters (the data seed
aside) and the number of replications: the appendix reads the cache when it fits the data package's
parameters and runs a smaller study otherwise. The test suite re-runs the first replications and
compares them with the cache, so a cache that an estimator change has made stale cannot pass.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from . import models, panel, scales, synth
from .constructs import CAUSE_IDS

MC_SEED_BASE = 1_000_000
ESTIMATOR_VERSION = "2"  # bump when an estimator's results change (2: CR2 clustered OLS, clustered ologit)
FULL_REPLICATIONS = 500  # coverage measured to about +-2 percentage points (binomial, 95%)
QUICK_REPLICATIONS = 40  # for data packages whose parameters have no cached full study
CACHE_DIR = Path(__file__).resolve().parents[2] / "notebooks" / "montecarlo"
CACHE_ENV = "ZTOWN_MC_CACHE"  # another folder for the cache (tests use one, to leave the repository alone)
COLUMNS = ["replication", "seed", "estimator", "parameter", "estimate", "se", "ci_low", "ci_high", "truth"]
EVENT_TIMES = range(0, 6)


def parameters_of(data) -> dict[str, synth.Param]:
    """The generator parameters recorded in a data package (the ones that drew it)."""
    defaults = synth.default_parameters()
    table = data.parameters.set_index("parameter")
    out = {}
    for name, default in defaults.items():
        if name not in table.index:
            raise KeyError(f"the data package's parameters resource has no {name!r}")
        row = table.loc[name]
        value = row["value_text"] if pd.isna(row["value"]) else float(row["value"])
        if isinstance(default.value, int) and not isinstance(value, str):
            value = int(value)
        out[name] = synth.Param(name, value, default.group, default.unit, default.description)
    return out


def cache_key(params: dict[str, synth.Param], replications: int) -> str:
    """Key of a study: generator version, every true parameter except the data seed, replications."""
    values = {k: p.value for k, p in params.items() if k != "seed"}
    blob = json.dumps({"generator": synth.GENERATOR_VERSION, "estimators": ESTIMATOR_VERSION,
                       "params": values, "reps": replications,
                       "mc_seed_base": MC_SEED_BASE}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _rows(estimator, table, parameters, truth, est="estimate", lo="ci_low", hi="ci_high", se="se"):
    return [{"estimator": estimator, "parameter": p, "estimate": float(r[est]), "se": float(r[se]),
             "ci_low": float(r[lo]), "ci_high": float(r[hi]), "truth": truth.get(p, np.nan)}
            for p, (_, r) in zip(parameters, table.iterrows())]


def estimate_all(data) -> list[dict]:
    """Every estimator of the book on one data set, each row beside the true value it targets.

    An estimator that fails on a data set (say, a model that does not converge) is recorded with
    NaN estimates for its targets, so the failure is counted in the summary, not hidden.
    """
    truth = dict(data.truth)
    frame = scales.analysis_frame(data)
    pf = panel.panel_frame(data)
    causes = [f"beta_{c}" for c in CAUSE_IDS]
    events = [f"att_event_{e}" for e in EVENT_TIMES]
    state: dict = {}

    def ols():
        state["ols"] = models.cause_ols(frame)
        return models.tidy(state["ols"], models.CAUSE_TERMS)

    def oaxaca():
        return models.oaxaca(frame, state.get("ols")).set_index("part").loc[list(CAUSE_IDS)]

    def event_table(result):
        return result.event_study.set_index("event_time").loc[list(EVENT_TIMES)]

    def iw():
        state["iw"] = panel.sun_abraham(pf)
        return event_table(state["iw"])

    blocks = [
        ("OLS (CR2 cluster-robust)", causes, ols),
        ("Mixed model (MixedLM)", causes, lambda: models.tidy(models.cause_mixed(frame), models.CAUSE_TERMS)),
        ("Ordered logit", [f"ologit_{c}" for c in CAUSE_IDS],
         lambda: models.tidy(models.satisfaction_ologit(frame), models.CAUSE_TERMS)),
        ("Oaxaca-Blinder contribution", [f"oaxaca_{c}" for c in CAUSE_IDS], oaxaca),
        ("Z-town gap (OLS)", ["effectiveness_gap"],
         lambda: pd.DataFrame([models.town_gap(frame, scales.EFFECTIVENESS)[0]])),
        ("Event study (Sun & Abraham)", events, iw),
        ("DiD (Sun & Abraham)", ["att_overall"], lambda: pd.DataFrame([state["iw"].overall])),
        ("DiD (naive TWFE)", ["att_overall"], lambda: pd.DataFrame([panel.twfe_did(pf)])),
        ("Event study (naive TWFE)", events, lambda: event_table(panel.event_study_twfe(pf))),
    ]
    rows: list[dict] = []
    for name, targets, block in blocks:
        try:
            rows += _rows(name, block(), targets, truth)
        except (RuntimeError, KeyError, ValueError, np.linalg.LinAlgError):
            rows += [{"estimator": name, "parameter": t, "estimate": np.nan, "se": np.nan, "ci_low": np.nan,
                      "ci_high": np.nan, "truth": truth.get(t, np.nan)} for t in targets]
    return rows


def replicate(params: dict[str, synth.Param], replication: int) -> list[dict]:
    """One replication: a fresh synthetic data set with seed MC_SEED_BASE + replication, all estimators."""
    seed = MC_SEED_BASE + replication
    data = synth.generate_study(synth.apply_overrides(params, {"seed": str(seed)}))
    return [{"replication": replication, "seed": seed, **row} for row in estimate_all(data)]


def _replicate_star(args):
    return replicate(*args)


def run(params: dict[str, synth.Param], replications: int, workers: int | None = None) -> pd.DataFrame:
    """Run the study (in parallel over the machine's cores); rows sorted, so the result is deterministic."""
    workers = workers or os.cpu_count() or 1
    jobs = [(params, r) for r in range(replications)]
    if workers == 1:
        results = [replicate(*job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_replicate_star, jobs, chunksize=max(1, replications // (4 * workers))))
    return pd.DataFrame([row for rep in results for row in rep], columns=COLUMNS)


def cached_run(params: dict[str, synth.Param], replications: int = FULL_REPLICATIONS,
               cache_dir: Path | None = None, compute: bool = True) -> pd.DataFrame | None:
    """The study's replications from the cache, or computed and cached (None if absent and not computing).

    The cache folder is `cache_dir`, else $ZTOWN_MC_CACHE, else notebooks/montecarlo/.
    """
    folder = Path(cache_dir or os.environ.get(CACHE_ENV) or CACHE_DIR)
    path = folder / f"mc_{cache_key(params, replications)}.csv"
    if path.exists():
        return pd.read_csv(path)
    if not compute:
        return None
    reps = run(params, replications)
    path.parent.mkdir(parents=True, exist_ok=True)
    reps.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
    return pd.read_csv(path)  # read back so a fresh run and a cache hit give identical frames


def summarize(reps: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE, mean SE vs SD of the estimates, and coverage (with its Monte Carlo SE) per estimator."""
    failed = reps["estimate"].isna()
    d = reps[~failed].assign(error=lambda r: r["estimate"] - r["truth"],
                             covered=lambda r: (r["ci_low"] <= r["truth"]) & (r["truth"] <= r["ci_high"]))
    g = d.groupby(["estimator", "parameter"], sort=False)
    out = g.agg(replications=("error", "size"), truth=("truth", "mean"), mean_estimate=("estimate", "mean"),
                bias=("error", "mean"), rmse=("error", lambda e: float(np.sqrt(np.mean(e ** 2)))),
                mean_se=("se", "mean"), sd_estimate=("estimate", "std"), coverage=("covered", "mean")).reset_index()
    out["failures"] = [int(failed[(reps["estimator"] == e) & (reps["parameter"] == p)].sum())
                       for e, p in zip(out["estimator"], out["parameter"])]
    out["coverage_mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["replications"])
    out["bias_over_se"] = out["bias"] / out["mean_se"]
    return out
