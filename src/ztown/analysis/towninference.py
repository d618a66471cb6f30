"""Inference that is valid with five towns: randomization inference over the towns.

Being Z town, and each comparison town's reform, are town-level treatments: there are five towns,
one of them never reforms, and each adoption year belongs to one town. The book's intervals are
clustered on some sixty villages, which is right for what they estimate *given these five towns*
(how Z town compares with these four towns; what these four reforms did), but says nothing about
what is shared by all villages of a town: a town's own conditions, a town's good or bad year. For
those, the number of independent units is the number of towns, five, whatever the villages.

Randomization inference (Fisher) asks how unusual the observed estimate is among the estimates the
same estimator gives when the town-level treatment is given to other towns instead:

- Z town against the comparison towns (problem gaps, cause gaps, the effectiveness gap): each of the
  five towns in turn plays "Z town" and the other four the comparison towns; the estimator is the
  book's own. Five relabelings: the smallest attainable p-value is 1/5 = 0.2, so no Z-town contrast
  can be significant at the 5% level by this test, however large it is.
- The reforms (the DiD's overall effect): the five towns' adoption years (four years and "never")
  are permuted across the towns: 5! = 120 assignments, smallest p-value 1/120.

The p-value is the share of assignments whose estimate is at least as extreme as the observed one
(the observed assignment included), which makes the test exact under the sharp null of no effect
for any village, *if* the towns' treatments could equally well have fallen on any town. Nothing
in the data can check that assumption; it is the price of using towns as the units. What the test
cannot give: an interval for the size of a Z-town gap (with five relabelings no value can be
rejected at 5%), nor anything about towns beyond these five. A wild cluster bootstrap at the town
level is not offered: with a single treated cluster (Z town) it is known to fail, and with few
treated clusters it over- or under-rejects badly (MacKinnon & Webb 2017, 2020).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ztown.analysis import models, panel

TOWNS = ("Z", "A", "B", "C", "D")
RI_COLUMNS = ["contrast", "estimate", "rank", "p_value", "p_lower", "p_upper", "assignments", "min_p"]


@dataclass(frozen=True)
class DidRandomization:
    """Randomization inference for a DiD estimate over the permutations of the towns' adoption years.

    `distribution` has one row per assignment: the adoption year given to each town (NA = never),
    whether it is the observed one, and the estimate (and t statistic where the estimator gives an SE).
    """

    estimator: str
    observed: float
    observed_t: float
    distribution: pd.DataFrame
    p_value: float  # two-sided: share of assignments with |estimate| >= |observed|
    p_upper: float  # one-sided, the reforms raise the outcome: share with estimate >= observed
    p_value_t: float  # two-sided, on the t statistic (NaN without SEs)
    assignments: int
    min_p: float


def _eps(values: np.ndarray) -> float:
    """Tolerance for ties between estimates: the same number computed along another path."""
    return 1e-9 * max(1.0, float(np.nanmax(np.abs(values))))


def z_relabelings(towns: tuple[str, ...] = TOWNS) -> list[dict[str, str]]:
    """The maps that make each town "Z" in turn (swapping its label with Z town's); the identity first."""
    out = []
    for t in towns:
        out.append({t: "Z", "Z": t} if t != "Z" else {})
    return out


def z_contrast_ri(frame: pd.DataFrame, estimator: Callable[[pd.DataFrame], pd.Series],
                  towns: tuple[str, ...] = TOWNS) -> pd.DataFrame:
    """Randomization inference for Z-town contrasts: every town plays Z town once.

    `estimator(frame)` returns the contrasts' estimates (a Series indexed by contrast name), computed
    the book's way on a frame whose `town_id` says which town is "Z". It is run once per relabeling
    (town t's and Z town's labels swapped). Columns: contrast, estimate (the observed, Z town's),
    rank (1 = the lowest of the five), p_value (two-sided: share of the towns whose contrast is at
    least as far from 0 as Z town's), p_lower (share at most Z town's: the test of "Z town is worse"),
    p_upper, assignments (5), min_p (1/5), then `as_<town>`: the contrast with that town as "Z".
    """
    present = set(frame["town_id"].dropna().astype(str))
    if present != set(towns):
        raise ValueError(f"randomization over towns needs exactly the towns {', '.join(towns)}; "
                         f"the frame has {', '.join(sorted(present))}")
    results = {}
    for swap, town in zip(z_relabelings(towns), towns):
        relabeled = frame.assign(town_id=frame["town_id"].astype(str).map(lambda t: swap.get(t, t)))
        if "z_town" in relabeled.columns:
            relabeled["z_town"] = (relabeled["town_id"] == "Z").astype(int)
        results[town] = pd.Series(estimator(relabeled), dtype=float)
    table = pd.DataFrame(results)  # contrasts x towns (column = the town playing Z)
    return ri_table(table)


def ri_table(estimates: pd.DataFrame, keep_assignments: bool = True) -> pd.DataFrame:
    """P-values from a table of contrasts (rows) by assignment (columns, the observed one FIRST).

    With `keep_assignments`, each assignment's estimate follows as a column `as_<assignment>`.
    """
    values = estimates.to_numpy(dtype=float)
    observed = values[:, :1]
    eps = _eps(values)
    n = values.shape[1]
    out = pd.DataFrame({
        "contrast": estimates.index.astype(str),
        "estimate": observed[:, 0],
        "rank": (values < observed - eps).sum(axis=1) + 1,
        "p_value": (np.abs(values) >= np.abs(observed) - eps).mean(axis=1),
        "p_lower": (values <= observed + eps).mean(axis=1),
        "p_upper": (values >= observed - eps).mean(axis=1),
        "assignments": n,
        "min_p": 1.0 / n,
    })
    if keep_assignments:
        for j, name in enumerate(estimates.columns):
            out[f"as_{name}"] = values[:, j]
    return out.reset_index(drop=True)


def problem_gaps_ri(frame: pd.DataFrame) -> pd.DataFrame:
    """Randomization inference over towns for Z town's problem gaps and effectiveness gap (models.problem_gaps)."""
    return z_contrast_ri(frame, lambda f: models.problem_gaps(f).set_index("construct")["estimate"])


def cause_gaps_ri(frame: pd.DataFrame) -> pd.DataFrame:
    """Randomization inference over towns for Z town's cause gaps (models.cause_gaps)."""
    return z_contrast_ri(frame, lambda f: models.cause_gaps(f).set_index("cause")["estimate"])


def adoption_assignments(panel_frame: pd.DataFrame) -> list[dict[str, float]]:
    """Every assignment of the towns' adoption years (never = NaN) to the towns; the observed one first."""
    by_town = panel_frame.groupby("town_id")["cohort"].first()
    towns = list(by_town.index.astype(str))
    years = [float(v) if pd.notna(v) else np.nan for v in by_town.to_numpy()]
    observed = dict(zip(towns, years))
    out = [observed]
    for perm in itertools.permutations(range(len(towns))):
        candidate = {t: years[i] for t, i in zip(towns, perm)}
        if not _same(candidate, observed) and not any(_same(candidate, c) for c in out):
            out.append(candidate)
    return out


def _same(a: dict, b: dict) -> bool:
    return all((np.isnan(a[k]) and np.isnan(b[k])) or a[k] == b[k] for k in a)


def with_adoption(panel_frame: pd.DataFrame, assignment: dict[str, float]) -> pd.DataFrame:
    """The panel with the towns' adoption years replaced by `assignment` (status columns recomputed)."""
    cohort = pd.array(panel_frame["town_id"].astype(str).map(assignment), dtype="Float64").astype("Int64")
    out = panel_frame.assign(cohort=cohort)
    out["event_time"] = (out["year"] - out["cohort"]).astype("Int64")
    out["treated_now"] = (out["event_time"] >= 0).fillna(False).astype(bool)
    after = (out["cohort"] > out["year"].max()).fillna(False).to_numpy(bool)
    out["never_treated"] = out["cohort"].isna().to_numpy() | after
    if "reform_in_force" in out.columns:
        out = out.drop(columns="reform_in_force")  # describes the observed assignment only
    return out


def sun_abraham_overall(pf: pd.DataFrame) -> pd.Series:
    """The book's DiD estimate (interaction-weighted, overall), the default statistic of `did_ri`."""
    return panel.sun_abraham(pf).overall


def did_ri(panel_frame: pd.DataFrame, estimator: Callable[[pd.DataFrame], pd.Series] = sun_abraham_overall,
           name: str = "sun_abraham") -> DidRandomization:
    """Randomization inference for a DiD's overall effect: the adoption years permuted across the towns.

    `estimator(panel)` returns a row with `estimate` (and `se`), like `panel.sun_abraham(...).overall`.
    """
    assignments = adoption_assignments(panel_frame)
    rows = []
    for k, assignment in enumerate(assignments):
        result = estimator(with_adoption(panel_frame, assignment))
        est, se = float(result["estimate"]), float(result.get("se", np.nan))
        rows.append({"assignment": k, "observed": k == 0,
                     **{f"year_{t}": assignment[t] for t in sorted(assignment)},
                     "estimate": est, "t": est / se if se > 0 else np.nan})
    dist = pd.DataFrame(rows)
    est, t = dist["estimate"].to_numpy(), dist["t"].to_numpy()
    eps = _eps(est)
    obs, obs_t = est[0], t[0]
    p_t = float(np.mean(np.abs(t) >= np.abs(obs_t) - _eps(t))) if np.isfinite(t).all() else np.nan
    return DidRandomization(name, float(obs), float(obs_t), dist,
                            p_value=float(np.mean(np.abs(est) >= abs(obs) - eps)),
                            p_upper=float(np.mean(est >= obs - eps)), p_value_t=p_t,
                            assignments=len(assignments), min_p=1.0 / len(assignments))


def reform_ri(panel_frame: pd.DataFrame) -> pd.DataFrame:
    """Randomization inference for the reforms, overall and per adoption year (claims E1-E4).

    One interaction-weighted event study (`panel.sun_abraham`) per assignment of the adoption years
    to the towns; the statistics are its overall effect and the effect of the cohort adopting in each
    year (whichever town the assignment gives that year). Rows: "overall", then one per adoption
    year; columns as `ri_table` (p_upper is the test of "the reform raised satisfaction").
    """
    assignments = adoption_assignments(panel_frame)
    columns = {}
    for k, assignment in enumerate(assignments):
        result = panel.sun_abraham(with_adoption(panel_frame, assignment))
        values = {"overall": float(result.overall["estimate"])}
        values |= {str(int(r.cohort)): float(r.estimate) for r in result.by_cohort.itertuples()}
        columns[k] = pd.Series(values)
    table = ri_table(pd.DataFrame(columns), keep_assignments=False)
    observed = panel_frame.groupby("town_id")["cohort"].first().dropna()
    town_of_year = {str(int(g)): t for t, g in observed.items()}
    table.insert(1, "town", table["contrast"].map(town_of_year).fillna(""))
    return table


def design_summary(frame: pd.DataFrame, panel_frame: pd.DataFrame) -> pd.DataFrame:
    """What each town-level design rests on: towns, treated and control towns, village clusters, assignments.

    The effective number of independent units for a town-level treatment is the number of towns
    (not of villages); a randomization test over them has `assignments` equally likely outcomes, so
    its smallest p-value is 1 / assignments.
    """
    towns = frame["town_id"].astype(str).nunique()
    villages = frame["village_id"].nunique()
    cohorts = panel_frame.groupby("town_id")["cohort"].first()
    treated = int(cohorts.notna().sum())
    n_assign = len(adoption_assignments(panel_frame))
    return pd.DataFrame([
        {"design": "Z town against the comparison towns", "unit_of_treatment": "town", "towns": towns,
         "treated_towns": 1, "control_towns": towns - 1, "village_clusters": villages,
         "assignments": towns, "min_p": 1 / towns},
        {"design": "the comparison towns' reforms (DiD)", "unit_of_treatment": "town", "towns": int(len(cohorts)),
         "treated_towns": treated, "control_towns": int(len(cohorts)) - treated,
         "village_clusters": int(panel_frame["village_id"].nunique()), "assignments": n_assign,
         "min_p": 1 / n_assign},
    ])
