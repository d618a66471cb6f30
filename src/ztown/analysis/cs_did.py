"""Callaway & Sant'Anna (2021) group-time effects, with not-yet-treated villages as controls.

The experiences chapter's main estimator (Sun & Abraham, `panel.sun_abraham`) compares every
reforming town with Z town only, the one never-treated town. This module is its robustness check
with other controls: for cohort g (the year a town adopts) and year t, ATT(g, t) is the
difference-in-differences of village means

    ATT(g, t) = mean_{v in g} (y_vt - y_vb) - mean_{v in C(g, t)} (y_vt - y_vb),

with base year b = g - 1 for t >= g (the year before adoption), b = t - 1 for t < g (the "varying"
base of a pre-adoption placebo), and controls C(g, t) the villages not yet treated in year t
(adopting after t, or never) other than cohort g's own; `control="never"` keeps only the
never-treated villages. The assumption is unconditional parallel trends in these comparisons (no
covariates: the outcome-regression and simple DiD-of-means estimators then coincide), and no
anticipation. A cell without any control is left out, as in Callaway & Sant'Anna.

Aggregation (fixed weights: conditional on how many villages adopted when, as `panel.sun_abraham`):

- by event time e: the cells with t - g = e, weighted by their cohorts' numbers of villages;
- overall: every post-adoption cell, weighted by its cohort's villages (CS's "simple" aggregation),
  i.e. the mean effect over all treated village-years of a balanced panel: the DiD target;
- by cohort: the cohort's post-adoption cells, equally weighted.

Standard errors come from the influence function of each estimate, one value per village (so they
are clustered by village, the unit whose years are differenced): Var = sum_v psi_v^2 / N^2. Within a
cell, each village's deviation from its group mean is scaled by (1 - 1/n)^(-1/2), n the group's
villages, which removes the downward bias of the plug-in variance of a mean (the HC2/CR2 correction;
for one cell it gives exactly the Welch variance s_g^2/n_g + s_C^2/n_C). Intervals use Student's t with
Satterthwaite's degrees of freedom for that variance under equal variances within each group, which
matters for the late event times that rest on one cohort of about a dozen villages against Z town's.
Deterministic: no random draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ztown.analysis.panel import DEFAULT_OUTCOME, DEFAULT_WINDOW, ESTIMATE_FIELDS, PanelDesignError

CONFIDENCE = 0.95
CONTROLS = ("not_yet_treated", "never")
GROUP_TIME_COLUMNS = ["cohort", "towns", "year", "event_time", "base_year", "estimate", "se", "ci_low", "ci_high",
                      "p_value", "df", "n_treated", "n_control", "post"]
EVENT_COLUMNS = ["event_time", "estimate", "se", "ci_low", "ci_high", "p_value", "df", "cohorts", "n_treated_obs"]
COHORT_COLUMNS = ["cohort", "towns", "estimate", "se", "ci_low", "ci_high", "p_value", "df", "n_treated_obs",
                  "n_villages"]


@dataclass(frozen=True)
class CSResult:
    """Group-time effects and their aggregates; `influence` has one column per aggregate, one row per village."""

    control: str
    outcome: str
    group_time: pd.DataFrame
    event_study: pd.DataFrame
    overall: pd.Series
    by_cohort: pd.DataFrame
    influence: pd.DataFrame
    n_villages: int


@dataclass(frozen=True)
class _Cell:
    cohort: int
    year: int
    base: int
    columns: tuple[int, int]  # positions of year and base year in the wide panel
    estimate: float
    groups: tuple[np.ndarray, np.ndarray]  # boolean masks over villages: treated, controls used
    n_treated: int
    n_control: int


def callaway_santanna(panel: pd.DataFrame, outcome: str = DEFAULT_OUTCOME, control: str = "not_yet_treated",
                      window: tuple[int, int] = DEFAULT_WINDOW) -> CSResult:
    """Callaway-Sant'Anna ATT(g, t) and their aggregates on the frame of `panel.panel_frame(data)`.

    `window` limits the event-time table (every post-adoption cell enters the overall and cohort
    aggregates, in or out of it). Raises PanelDesignError when no cohort has a control.
    """
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {CONTROLS}, got {control!r}")
    wide, cohort, towns_by_cohort = _wide(panel, outcome)
    years = wide.columns.to_numpy()
    y = wide.to_numpy(dtype=float)
    n = len(wide)
    never = np.isnan(cohort)
    cells: list[_Cell] = []
    for g in sorted(int(c) for c in np.unique(cohort[~never])):
        for t in years:
            base = g - 1 if t >= g else t - 1
            if base not in years or t == base:
                continue
            if control == "never":
                ctrl = never.copy()
            else:
                ctrl = (never | (cohort > max(t, base))) & (cohort != g)
            cell = _cell(y, years, cohort == g, ctrl, g, int(t), int(base))
            if cell is not None:
                cells.append(cell)
    if not any(c.year >= c.cohort for c in cells):
        raise PanelDesignError("no adoption cohort has a control village in any year after adopting; "
                               "Callaway-Sant'Anna needs not-yet-treated or never-treated villages")
    size = {g: int(np.sum(cohort == g)) for g in np.unique(cohort[~never]).astype(int)}

    y0 = np.where(np.isfinite(y), y, 0.0)  # missing years never enter a cell, so any value will do
    gt_rows = []
    for c in cells:
        est, _, se, df = _aggregate([c], np.array([1.0]), y0)
        gt_rows.append({"cohort": c.cohort, "towns": towns_by_cohort.get(c.cohort, ""), "year": c.year,
                        "event_time": c.year - c.cohort, "base_year": c.base,
                        **_interval(est, se, df), "n_treated": c.n_treated, "n_control": c.n_control,
                        "post": c.year >= c.cohort})
    group_time = pd.DataFrame(gt_rows, columns=GROUP_TIME_COLUMNS)

    influence = {}
    lo, hi = int(window[0]), int(window[1])
    event_rows = []
    for e in range(lo, hi + 1):
        chosen = [c for c in cells if c.year - c.cohort == e]
        if not chosen:
            continue
        w = np.array([size[c.cohort] for c in chosen], dtype=float)
        est, psi, se, df = _aggregate(chosen, w / w.sum(), y0)
        influence[f"event_{e}"] = psi
        event_rows.append({"event_time": e, **_interval(est, se, df),
                           "cohorts": ",".join(str(c.cohort) for c in chosen),
                           "n_treated_obs": int(sum(c.n_treated for c in chosen))})
    event_study = pd.DataFrame(event_rows, columns=EVENT_COLUMNS)

    post = [c for c in cells if c.year >= c.cohort]
    w = np.array([size[c.cohort] for c in post], dtype=float)
    est, psi, se, df = _aggregate(post, w / w.sum(), y0)
    influence["overall"] = psi
    ci = _interval(est, se, df)
    n_obs = int(np.isfinite(y).sum())
    overall = pd.Series(["callaway_santanna", outcome, est, se, ci["ci_low"], ci["ci_high"], ci["p_value"], n_obs, n,
                         int(sum(c.n_treated for c in post))], index=ESTIMATE_FIELDS, dtype=object,
                        name="callaway_santanna")
    overall["df"] = df

    cohort_rows = []
    for g in sorted(size):
        mine = [c for c in post if c.cohort == g]
        if not mine:
            continue
        est, psi, se, df = _aggregate(mine, np.full(len(mine), 1 / len(mine)), y0)
        influence[f"cohort_{g}"] = psi
        cohort_rows.append({"cohort": g, "towns": towns_by_cohort.get(g, ""), **_interval(est, se, df),
                            "n_treated_obs": int(sum(c.n_treated for c in mine)), "n_villages": size[g]})
    by_cohort = pd.DataFrame(cohort_rows, columns=COHORT_COLUMNS)
    return CSResult(control, outcome, group_time, event_study, overall, by_cohort,
                    pd.DataFrame(influence, index=wide.index), n)


def _wide(panel: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, np.ndarray, dict[int, str]]:
    """Villages x years of the outcome, each village's cohort (NaN = never in the panel), towns of each cohort."""
    if not isinstance(panel, pd.DataFrame):
        raise TypeError(f"expected the DataFrame from panel.panel_frame(), got {type(panel).__name__}")
    missing = [c for c in ("village_id", "year", "cohort", outcome) if c not in panel.columns]
    if missing:
        raise ValueError(f"the panel lacks the column(s) {', '.join(missing)}; build it with panel.panel_frame(data)")
    if not pd.api.types.is_numeric_dtype(panel[outcome]) or pd.api.types.is_bool_dtype(panel[outcome]):
        raise ValueError(f"outcome {outcome!r} is not numeric (dtype {panel[outcome].dtype})")
    if panel.duplicated(["village_id", "year"]).any():
        raise ValueError("the panel has more than one row for some (village_id, year)")
    wide = panel.pivot(index="village_id", columns="year", values=outcome).sort_index()
    wide = wide[sorted(wide.columns)]
    per_village = panel.groupby("village_id")["cohort"].first().reindex(wide.index)
    cohort = pd.to_numeric(per_village).to_numpy(dtype="float64", na_value=np.nan)
    cohort[cohort > wide.columns.max()] = np.nan  # adopts after the panel ends: never treated here
    towns = {}
    if "town_id" in panel.columns:
        town = panel.groupby("village_id")["town_id"].first().reindex(wide.index).astype(str).to_numpy()
        for g in np.unique(cohort[~np.isnan(cohort)]):
            towns[int(g)] = ",".join(sorted(set(town[cohort == g])))
    return wide, cohort, towns


def _cell(y, years, treated, controls, g, t, base) -> _Cell | None:
    """One ATT(g, t): the DiD of the groups' mean changes from `base` to `t` (None without controls)."""
    i_t, i_b = int(np.flatnonzero(years == t)[0]), int(np.flatnonzero(years == base)[0])
    dy = y[:, i_t] - y[:, i_b]
    ok = np.isfinite(dy)
    tr, co = treated & ok, controls & ok
    n_t, n_c = int(tr.sum()), int(co.sum())
    if n_t == 0 or n_c == 0:
        return None
    return _Cell(g, t, base, (i_t, i_b), float(dy[tr].mean() - dy[co].mean()), (tr, co), n_t, n_c)


def _hc2(n_group: int) -> float:
    return float(np.sqrt(n_group / (n_group - 1))) if n_group > 1 else 1.0


def _influence_map(cells: list[_Cell], weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The matrix M with psi = M vec(y): each village's influence as a linear map of the outcomes.

    In cell k, a village v of group G (treated: sign +1, controls: -1; m villages) contributes
    w_k sign (N / m) (1 - 1/m)^(-1/2) (dy_v - mean_G dy), dy = y_t - y_base: its deviation from its
    group's mean change, scaled so that sum_v psi_v^2 / N^2 is the HC2 (Welch) variance of a cell.
    """
    n, n_years = shape
    M = np.zeros((n, n * n_years))
    for w, c in zip(weights, cells):
        i_t, i_b = c.columns
        for mask, sign in ((c.groups[0], 1.0), (c.groups[1], -1.0)):
            idx = np.flatnonzero(mask)
            m = len(idx)
            D = np.zeros((m, n * n_years))
            D[np.arange(m), idx * n_years + i_t] = 1.0
            D[np.arange(m), idx * n_years + i_b] = -1.0
            M[idx] += w * sign * n / m * _hc2(m) * (D - D.mean(axis=0))
    return M


def _aggregate(cells: list[_Cell], weights: np.ndarray, y0: np.ndarray) -> tuple[float, np.ndarray, float, float]:
    """Weighted sum of cells: estimate, influence function, SE and Satterthwaite df.

    Var-hat = sum_v psi_v^2 / N^2 = e' B e with B = M'M / N^2 (the village and year effects cancel in
    the deviations, so only the village-year errors e enter). Under the working model of independent
    errors with a common variance, E[Var-hat] is proportional to tr(B) and Var[Var-hat] to tr(B^2),
    so Satterthwaite's df = tr(B)^2 / tr(B^2) (Bell & McCaffrey's df under working independence):
    Welch's df for one cell, and close to the number of villages for the overall average.
    """
    n = y0.shape[0]
    est = float(sum(w * c.estimate for w, c in zip(weights, cells)))
    M = _influence_map(cells, weights, y0.shape)
    psi = M @ y0.ravel()
    se = float(np.sqrt(np.sum(psi ** 2)) / n)
    gram = M @ M.T
    df = float(np.trace(gram) ** 2 / np.sum(gram ** 2)) if np.trace(gram) > 0 else np.inf
    return est, psi, se, df


def _interval(est: float, se: float, df: float) -> dict:
    q = stats.t.ppf(0.5 + CONFIDENCE / 2, df)
    p = float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else np.nan
    return {"estimate": float(est), "se": se, "ci_low": float(est - q * se), "ci_high": float(est + q * se),
            "p_value": p, "df": float(df)}
