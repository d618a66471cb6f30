"""Village-panel estimators for the "experiences" chapter: did the comparison towns' reforms work?

The village panel (2014-2023) has exactly the features under which the textbook two-way
fixed-effects (TWFE) regressions go wrong: the four comparison towns adopt their reforms in
different years (staggered adoption), a reform's effect builds up over the first years (dynamic
effects), and each town's reform has its own effect (heterogeneous effects); Z town never adopts.
So the module sets the naive regressions beside estimators that stay unbiased there:

- `twfe_did`, `event_study_twfe`: the naive static and dynamic TWFE regressions. They are kept
  because readers know them and because the chapter shows how far off they are.
- `sun_abraham`: the interaction-weighted (IW) estimator of Sun & Abraham (2021), with the
  never-treated villages (Z town) as the only controls.
- `stacked_did`: a stacked DiD with clean controls (Cengiz et al. 2019), weighted as Wing,
  Freedman & Hollingsworth (2024) propose so that it targets a treated-share-weighted average.
- `pretrend_test`: a joint Wald (F) test that the leads of an event study are all zero.

How every regression is run (one place, `_fit`): village fixed effects are absorbed by demeaning
within village, which is exact for balanced and unbalanced panels alike, and year effects enter as
dummies. Standard errors are cluster-robust by village (CR1, statsmodels' `cov_cluster`) with the
small-sample factor G/(G - 1) (N - 1)/(N - K), K the regressors left after absorbing: the absorbed
village effects are nested in the clusters, so they are not counted. This is statsmodels' convention
and what the tests check; software that also counts a constant in K (as Stata's xtreg, fe and reghdfe
report one) gives standard errors larger by sqrt((N - K)/(N - K - 1)), about 0.1% with the default
panel, so the results here are not claimed to equal theirs digit for digit. Intervals and tests use
Student's t with (clusters - 1) degrees of freedom, which is honest with the few dozen villages of
the default package.

Cohorts (adoption years) later than the panel's last year are treated as never treated, since the
panel shows no treated year of theirs. All results are deterministic: no random draws here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.sandwich_covariance import cov_cluster

from ztown.data.errors import DataPackageError, Problem

DEFAULT_OUTCOME = "satisfaction_index"
DEFAULT_WINDOW = (-4, 5)
DEFAULT_STACK_WINDOW = (-2, 3)  # short enough that every default cohort's window fits in 2014-2023
REFERENCE_EVENT = -1  # the year before adoption; every event-time estimate is relative to it
CONFIDENCE = 0.95
MAX_LISTED_PROBLEMS = 20

# Column order of every event-study table, and the fields of every one-number estimate.
EVENT_COLUMNS = ["event_time", "term", "estimate", "se", "ci_low", "ci_high", "p_value",
                 "n_treated_obs", "cohorts", "reference"]
ESTIMATE_FIELDS = ["estimator", "outcome", "estimate", "se", "ci_low", "ci_high", "p_value",
                   "n_obs", "n_clusters", "n_treated_obs"]
COHORT_COLUMNS = ["cohort", "towns", "estimate", "se", "ci_low", "ci_high", "p_value",
                  "n_treated_obs", "n_villages"]
CELL_COLUMNS = ["cohort", "towns", "event_time", "estimate", "se", "ci_low", "ci_high", "p_value", "n_obs"]
PANEL_KEY_COLUMNS = ["village_id", "town_id", "year", "cohort", "event_time", "treated_now", "never_treated"]

_REQUIRED_FIELDS = {
    "village_years": ("village_id", "year"),
    "villages": ("village_id", "town_id"),
    "regions": ("town_id", "reform_year"),
}


class PanelDesignError(ValueError):
    """The panel cannot identify what an estimator asks of it (no never-treated villages, ...)."""


@dataclass(frozen=True)
class EventStudyResult:
    """An event study: tidy tables plus the covariance that `pretrend_test` needs.

    `event_study` has one row per event time in the window (the reference year e = -1 included,
    with estimate 0 and no standard error, so plots show it); `vcov` is the covariance of the
    non-reference rows, indexed by event time. `overall`, `by_cohort` and `cohort_effects` are
    filled by the estimators that define them (None otherwise); `design` describes the stacks of
    the stacked DiD; `overall_weights` (if set) gives the weight of each event time in `overall`.
    """

    estimator: str
    outcome: str
    window: tuple[int, int]
    event_study: pd.DataFrame
    vcov: pd.DataFrame
    n_obs: int
    n_clusters: int
    df_denom: int
    overall: pd.Series | None = None
    by_cohort: pd.DataFrame | None = None
    cohort_effects: pd.DataFrame | None = None
    design: pd.DataFrame | None = None
    overall_weights: pd.Series | None = None


# --------------------------------------------------------------------------- the panel frame

def panel_frame(data) -> pd.DataFrame:
    """The village-year panel with each village's town, cohort, event time and treatment status.

    `data` is a `StudyData` (from `ztown.load`) or a mapping of plain frames with the same
    resources (as `ztown.data.synth.generate` returns). Columns: village_id, town_id, year, cohort
    (first year of the town's reform, NA if never), event_time (year - cohort, NA if never),
    treated_now, never_treated (no treated year in the panel: the controls of the estimators
    here), reform (if the regions table has it), then every column of village_years. Rows are
    sorted by village and year.

    The treatment status comes from the regions' adoption years; where village_years also says
    which reform is in force, the two must agree, and every disagreement (like every broken key)
    is raised as a `DataPackageError` naming the file, row and field, because an estimate built on
    an inconsistent panel would be silently wrong.
    """
    frames, source, paths = _resources(data)
    problems = _missing_fields(frames, paths)
    if problems:
        raise DataPackageError(source, problems)
    vy, villages, regions = frames["village_years"], frames["villages"], frames["regions"]

    problems += _null_problems(vy, "village_years", ("village_id", "year"), paths)
    problems += _null_problems(villages, "villages", ("village_id", "town_id"), paths)
    problems += _null_problems(regions, "regions", ("town_id",), paths)
    problems += _duplicate_problems(vy, "village_years", ["village_id", "year"], paths)
    problems += _duplicate_problems(villages, "villages", ["village_id"], paths)
    problems += _duplicate_problems(regions, "regions", ["town_id"], paths)
    problems += _whole_number_problems(vy, "village_years", "year", paths)
    problems += _whole_number_problems(regions, "regions", "reform_year", paths)
    problems += _foreign_key_problems(vy, "village_years", "village_id", set(villages["village_id"].astype(str)),
                                      "villages", paths)
    problems += _foreign_key_problems(villages, "villages", "town_id", set(regions["town_id"].astype(str)),
                                      "regions", paths)
    if problems:
        _raise(source, problems)

    cohort_by_town = dict(zip(regions["town_id"].astype(str), pd.to_numeric(regions["reform_year"]).astype("Int64")))
    town_of = dict(zip(villages["village_id"].astype(str), villages["town_id"].astype(str)))
    panel = vy.copy()
    panel["village_id"] = panel["village_id"].astype(str)
    panel["year"] = pd.to_numeric(panel["year"]).astype("int64")
    panel["town_id"] = panel["village_id"].map(town_of)
    panel["cohort"] = pd.array(panel["town_id"].map(cohort_by_town), dtype="Int64")
    panel["event_time"] = (panel["year"] - panel["cohort"]).astype("Int64")
    panel["treated_now"] = (panel["event_time"] >= 0).fillna(False).astype(bool)
    # "never" within the panel: no adoption, or one after the panel's last year
    after_panel = (panel["cohort"] > panel["year"].max()).fillna(False).to_numpy(bool)
    panel["never_treated"] = panel["cohort"].isna().to_numpy() | after_panel
    extra = []
    if "reform" in regions.columns:
        panel["reform"] = panel["town_id"].map(dict(zip(regions["town_id"].astype(str), regions["reform"].astype(str))))
        extra = ["reform"]

    if "reform_in_force" in panel.columns:
        said = panel["reform_in_force"].astype("string")
        known = said.notna().to_numpy()
        said_treated = (said != "none").fillna(False).to_numpy()
        wrong = np.flatnonzero(known & (said_treated != panel["treated_now"].to_numpy()))
        if len(wrong):
            _raise(source, [Problem(
                "village_years", _row(i), "reform_in_force", "inconsistent-treatment",
                ("a reform in force" if panel["treated_now"].iat[i] else "'none'")
                + f" (town {panel['town_id'].iat[i]} adopts in {_fmt_cohort(panel['cohort'].iat[i])},"
                f" year {panel['year'].iat[i]})",
                repr(str(said.iat[i])), paths.get("village_years")) for i in wrong])

    rest = [c for c in panel.columns if c not in PANEL_KEY_COLUMNS + extra]
    panel = panel[PANEL_KEY_COLUMNS + extra + rest]
    return panel.sort_values(["village_id", "year"], kind="mergesort").reset_index(drop=True)


def _resources(data) -> tuple[Mapping, str, dict[str, str]]:
    """The frames, a name for the error messages, and the file behind each resource (if known)."""
    if isinstance(data, Mapping):
        return data, "the frames given to panel_frame", {}
    frames = getattr(data, "frames", None)
    if not isinstance(frames, Mapping):
        raise TypeError("panel_frame needs a StudyData (ztown.load()) or a mapping of frames, "
                        f"got {type(data).__name__}")
    paths = {}
    descriptor_path = getattr(data, "path", None)
    for res in (getattr(data, "descriptor", None) or {}).get("resources", []):
        if descriptor_path is not None and "path" in res:
            paths[res["name"]] = str(descriptor_path.parent / res["path"])
    return frames, str(descriptor_path) if descriptor_path is not None else "study data", paths


def _missing_fields(frames: Mapping, paths: dict) -> list[Problem]:
    problems = []
    for resource, fields in _REQUIRED_FIELDS.items():
        if resource not in frames:
            problems.append(Problem(resource, None, None, "missing-resource", f"a resource {resource!r}",
                                    "none", paths.get(resource)))
            continue
        for name in fields:
            if name not in frames[resource].columns:
                problems.append(Problem(resource, None, name, "missing-field", f"a column {name!r}",
                                        f"columns {', '.join(map(str, frames[resource].columns))}",
                                        paths.get(resource)))
    return problems


def _row(index_position: int) -> int:
    """File row of a frame row: the loaders keep file order, and the header is row 1."""
    return int(index_position) + 2


def _null_problems(df, resource, fields, paths) -> list[Problem]:
    out = []
    for name in fields:
        for i in np.flatnonzero(df[name].isna().to_numpy()):
            out.append(Problem(resource, _row(i), name, "missing-value", "a value", "empty", paths.get(resource)))
    return out


def _duplicate_problems(df, resource, key, paths) -> list[Problem]:
    dup = np.flatnonzero(df.duplicated(key, keep="first").to_numpy())
    return [Problem(resource, _row(i), ",".join(key), "duplicate-key", f"a unique ({', '.join(key)})",
                    "a repeat of " + ", ".join(str(df[k].iat[i]) for k in key), paths.get(resource)) for i in dup]


def _foreign_key_problems(df, resource, field, known, target, paths) -> list[Problem]:
    values = df[field].astype(str).to_numpy()
    bad = np.flatnonzero((df[field].notna() & ~pd.Series(values, index=df.index).isin(known)).to_numpy())
    return [Problem(resource, _row(i), field, "foreign-key", f"a {field} listed in {target}", repr(values[i]),
                    paths.get(resource)) for i in bad]


def _whole_number_problems(df, resource, field, paths) -> list[Problem]:
    """A problem for every value of `field` that is neither empty nor a whole number (a year)."""
    numbers = pd.to_numeric(df[field], errors="coerce")
    bad = np.flatnonzero((df[field].notna() & (numbers.isna() | (numbers % 1 != 0))).to_numpy())
    return [Problem(resource, _row(i), field, "type", "a whole year", repr(df[field].iat[i]), paths.get(resource))
            for i in bad]


def _raise(source: str, problems: list[Problem]):
    shown = problems[:MAX_LISTED_PROBLEMS]
    if len(problems) > MAX_LISTED_PROBLEMS:
        shown.append(Problem(None, None, None, "more", "no further problems",
                             f"{len(problems) - MAX_LISTED_PROBLEMS} more like the ones above"))
    raise DataPackageError(source, shown)


def _fmt_cohort(cohort) -> str:
    return "never" if pd.isna(cohort) else str(int(cohort))


# --------------------------------------------------------------------------- preparing a panel

@dataclass(frozen=True)
class _Prepared:
    """The rows an estimator uses, as arrays: the outcome, villages coded 0..n-1, cohorts as floats."""

    y: np.ndarray
    village: np.ndarray  # integer codes, the clusters and the absorbed effects
    year: np.ndarray
    cohort: np.ndarray  # NaN for never treated (and for cohorts after the last year)
    event: np.ndarray  # year - cohort, NaN for never treated
    towns_by_cohort: dict[int, str]

    @property
    def never(self) -> np.ndarray:
        return np.isnan(self.cohort)

    def treated_cohorts(self) -> list[int]:
        return sorted(int(c) for c in np.unique(self.cohort[~self.never]))


def _prepare(panel: pd.DataFrame, outcome: str) -> _Prepared:
    """Check the panel and outcome, drop rows without the outcome and villages left with one year."""
    if not isinstance(panel, pd.DataFrame):
        raise TypeError(f"expected the DataFrame from panel_frame(), got {type(panel).__name__}")
    missing = [c for c in ("village_id", "year", "cohort") if c not in panel.columns]
    if missing:
        raise ValueError(f"the panel lacks the column(s) {', '.join(missing)}; build it with panel_frame(data)")
    if outcome not in panel.columns or not _is_outcome(panel[outcome]):
        numeric = ", ".join(c for c in panel.columns if c not in PANEL_KEY_COLUMNS and _is_outcome(panel[c]))
        problem = ("is not a column of the panel" if outcome not in panel.columns
                   else f"is not a numeric outcome column (dtype {panel[outcome].dtype})")
        raise ValueError(f"outcome {outcome!r} {problem}; numeric columns: {numeric}")
    keep = panel[outcome].notna().to_numpy()
    village_ids = panel["village_id"].astype(str).to_numpy()[keep]
    village, _ = pd.factorize(village_ids, sort=True)
    keep_rows = np.flatnonzero(keep)[np.bincount(village)[village] > 1]  # a village seen once has no within variation
    if keep_rows.size == 0:
        raise PanelDesignError(f"no village has the outcome {outcome!r} in two or more years")
    year = panel["year"].to_numpy(dtype="int64")[keep_rows]
    cohort = pd.to_numeric(panel["cohort"]).to_numpy(dtype="float64", na_value=np.nan)[keep_rows]
    cohort[cohort > year.max()] = np.nan  # adopts after the panel ends: never treated here
    towns = {}
    if "town_id" in panel.columns:
        town = panel["town_id"].astype(str).to_numpy()[keep_rows]
        for g in np.unique(cohort[~np.isnan(cohort)]):
            towns[int(g)] = ",".join(sorted(set(town[cohort == g])))
    return _Prepared(
        y=panel[outcome].to_numpy(dtype="float64", na_value=np.nan)[keep_rows],
        village=pd.factorize(village_ids[np.bincount(village)[village] > 1], sort=True)[0],
        year=year,
        cohort=cohort,
        event=year - cohort,
        towns_by_cohort=towns,
    )


def _is_outcome(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _check_window(window, prep: _Prepared) -> tuple[int, int]:
    try:
        lo, hi = (int(w) for w in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be two whole numbers (first lead, last lag), got {window!r}") from None
    if (lo, hi) != tuple(window) or not lo <= REFERENCE_EVENT < 0 <= hi:
        raise ValueError(f"window must be whole numbers with first <= -1 and last >= 0, got {window!r}")
    observed = prep.event[~prep.never]
    if observed.size == 0:
        raise PanelDesignError("no village in the panel is ever treated; there is nothing to estimate")
    e_min, e_max = int(observed.min()), int(observed.max())
    if lo < e_min or hi > e_max:
        raise ValueError(f"window {window!r} reaches beyond the event times the panel observes ({e_min} to {e_max})")
    return lo, hi


def _year_dummies(year: np.ndarray) -> pd.DataFrame:
    """Year effects as dummies, the first year left out (the village effects take the level)."""
    years = np.unique(year)
    return pd.DataFrame({f"year_{t}": (year == t).astype(float) for t in years[1:]})


# --------------------------------------------------------------------------- fitting

@dataclass(frozen=True)
class _Fit:
    params: pd.Series
    cov: pd.DataFrame
    n_obs: int
    n_clusters: int
    df_denom: int


def _demean(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Subtract each group's mean from every column (the within transformation)."""
    counts = np.bincount(groups).astype(float)
    if values.ndim == 1:
        return values - (np.bincount(groups, weights=values) / counts)[groups]
    out = np.empty_like(values)
    for j in range(values.shape[1]):
        out[:, j] = values[:, j] - (np.bincount(groups, weights=values[:, j]) / counts)[groups]
    return out


def _fit(y: np.ndarray, X: pd.DataFrame, absorb: np.ndarray, clusters: np.ndarray,
         weights: np.ndarray | None = None) -> _Fit:
    """OLS (WLS) of y on X with the `absorb` groups' fixed effects, cluster-robust (CR1) by `clusters`.

    Demeaning within the absorbed groups is exact by Frisch-Waugh-Lovell; with weights it stays
    exact because every weight here is constant within an absorbed group. The coefficients come
    from the normal equations of the few remaining regressors and the covariance from statsmodels'
    own cluster sandwich (`cov_cluster`, the one `OLS.fit(cov_type="cluster")` uses, with its
    G/(G-1) (N-1)/(N-K) factor): the same numbers as `OLS(...).fit(cov_type="cluster")` (the tests
    check this) at a fraction of the cost, since that fit decomposes the tall design matrix.
    """
    Xd = _demean(X.to_numpy(dtype=float), absorb)
    yd = _demean(np.asarray(y, dtype=float), absorb)
    w = np.ones(len(yd)) if weights is None else np.asarray(weights, dtype=float)
    gram = Xd.T @ (Xd * w[:, None])
    norms = np.sqrt(np.clip(np.diag(gram), 0, None))
    if np.any(norms == 0) or np.linalg.matrix_rank(gram / np.outer(norms, norms), tol=1e-10) < Xd.shape[1]:
        raise PanelDesignError("some regressors are collinear once the fixed effects are absorbed "
                               f"({', '.join(map(str, X.columns[:6]))}, ...); the panel cannot separate these effects")
    bread = np.linalg.inv(gram)
    params = bread @ (Xd.T @ (w * yd))
    resid = yd - Xd @ params
    clusters = pd.factorize(np.asarray(clusters))[0]
    if clusters.max() < 1:
        raise PanelDesignError("cluster-robust standard errors need at least two villages")
    cov = cov_cluster((Xd * (w * resid)[:, None], bread), clusters, use_correction=True)
    n_clusters = int(clusters.max()) + 1
    names = list(X.columns)
    return _Fit(pd.Series(params, index=names), pd.DataFrame(cov, index=names, columns=names),
                int(len(yd)), n_clusters, n_clusters - 1)


def _se(cov: np.ndarray) -> np.ndarray:
    """Standard errors from a covariance; rounding can leave -1e-17 where the truth is 0."""
    return np.sqrt(np.clip(np.diag(np.atleast_2d(cov)), 0.0, None))


def _inference(estimate: np.ndarray, se: np.ndarray, df_denom: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CI bounds and two-sided p-values from Student's t with (clusters - 1) degrees of freedom."""
    t_crit = stats.t.ppf(0.5 + CONFIDENCE / 2, df_denom)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(estimate / se), df_denom)
    return estimate - t_crit * se, estimate + t_crit * se, p


def _combine(fit: _Fit, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and covariance of weighted sums of coefficients (the delta method, exact for linear maps).

    `weights` has one row per combination and one column per LEADING coefficient of the fit (the
    estimators put the effects they combine first and the year dummies after them).
    """
    A = np.atleast_2d(np.asarray(weights, dtype=float))
    k = A.shape[1]
    return A @ fit.params.to_numpy()[:k], A @ fit.cov.to_numpy()[:k, :k] @ A.T


def _estimate_row(estimator, outcome, estimate, se, fit: _Fit, n_treated_obs) -> pd.Series:
    lo, hi, p = _inference(np.array([estimate]), np.array([se]), fit.df_denom)
    values = [estimator, outcome, float(estimate), float(se), float(lo[0]), float(hi[0]), float(p[0]),
              fit.n_obs, fit.n_clusters, int(n_treated_obs)]
    return pd.Series(values, index=ESTIMATE_FIELDS, dtype=object, name=estimator)


def _event_table(event_times: list[int], estimates, cov, fit: _Fit, term,
                 event: np.ndarray, cohort: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tidy event-study table and the covariance of its estimated rows.

    `event_times` (ascending, without the reference) label `estimates` and `cov`; the reference
    row (estimate 0, no SE) is inserted in its place. `term(e)` names a row; `event` and `cohort`
    give each observation's event time (NaN for controls) and cohort, for the counts and the
    cohorts listed in each row.
    """
    se = _se(cov)
    ci_low, ci_high, p = _inference(np.asarray(estimates, dtype=float), se, fit.df_denom)
    k = sum(e < REFERENCE_EVENT for e in event_times)  # the reference row goes after the leads
    every = event_times[:k] + [REFERENCE_EVENT] + event_times[k:]

    def with_reference(values, value):
        return np.insert(np.asarray(values, dtype=float), k, value)

    table = pd.DataFrame({
        "event_time": np.array(every, dtype="int64"),
        "term": [term(e) for e in every],
        "estimate": with_reference(estimates, 0.0),
        "se": with_reference(se, np.nan),
        "ci_low": with_reference(ci_low, np.nan),
        "ci_high": with_reference(ci_high, np.nan),
        "p_value": with_reference(p, np.nan),
        "n_treated_obs": np.array([np.count_nonzero(event == e) for e in every], dtype="int64"),
        "cohorts": [_cohort_list(cohort[event == e]) for e in every],
        "reference": np.array(every) == REFERENCE_EVENT,
    })
    vcov = pd.DataFrame(cov, index=pd.Index(event_times, name="event_time"), columns=event_times)
    return table, vcov


def _cohort_list(cohorts) -> str:
    return ",".join(str(int(c)) for c in sorted(set(cohorts)))


# --------------------------------------------------------------------------- naive TWFE

def twfe_did(panel: pd.DataFrame, outcome: str = DEFAULT_OUTCOME) -> pd.Series:
    """Naive static TWFE DiD: y_it = village_i + year_t + b * treated_now_it + u_it.

    Kept as the benchmark readers know, not as the answer. With staggered adoption, b is a
    weighted average of every two-group, two-period DiD in the panel (Goodman-Bacon 2021),
    including "forbidden" ones that use villages already under a reform as controls for later
    adopters. When effects grow with time since adoption, those comparisons subtract the early
    adopters' growing effect, so b is biased (here typically downwards) and some treated
    village-years can get negative weight (de Chaisemartin & D'Haultfoeuille 2020). Returns
    estimator, outcome, estimate, se, ci_low, ci_high, p_value, n_obs, n_clusters, n_treated_obs.
    """
    prep = _prepare(panel, outcome)
    treated = (prep.event >= 0).astype(float)  # NaN (never treated) compares False
    if treated.sum() == 0:
        raise PanelDesignError("no village-year in the panel is treated; there is nothing to estimate")
    X = pd.concat([pd.DataFrame({"treated_now": treated}), _year_dummies(prep.year)], axis=1)
    fit = _fit(prep.y, X, prep.village, prep.village)
    return _estimate_row("twfe_static", outcome, fit.params["treated_now"],
                         _se(fit.cov.loc[["treated_now"], ["treated_now"]].to_numpy())[0], fit, treated.sum())


def event_study_twfe(panel: pd.DataFrame, outcome: str = DEFAULT_OUTCOME,
                     window: tuple[int, int] = DEFAULT_WINDOW) -> EventStudyResult:
    """Naive dynamic TWFE: one dummy per event time in the window, endpoints binned, e = -1 left out.

    Event times before the window's first lead go into its bin ("e<=lo") and those after its last
    lag into the last bin ("e>=hi"); never-treated villages have every dummy zero. With
    heterogeneous effects across cohorts this is biased (Sun & Abraham 2021): each coefficient
    is a weighted sum of cohort-specific effects from its own AND other event times (including
    the binned ones), with weights that need not be positive, so leads can be nonzero under
    parallel trends and lags mix periods.
    """
    prep = _prepare(panel, outcome)
    lo, hi = _check_window(window, prep)
    binned = np.clip(prep.event, lo, hi)  # NaN stays NaN
    event_times = [e for e in range(lo, hi + 1) if e != REFERENCE_EVENT]
    dummies = pd.DataFrame({f"event_{e}": (binned == e).astype(float) for e in event_times})
    X = pd.concat([dummies, _year_dummies(prep.year)], axis=1)
    fit = _fit(prep.y, X, prep.village, prep.village)

    def term(e):
        return f"e<={e}" if e == lo else f"e>={e}" if e == hi else f"e={e}"

    est, cov = _combine(fit, np.eye(len(event_times)))
    table, vcov = _event_table(event_times, est, cov, fit, term, binned, prep.cohort)
    return EventStudyResult("twfe_event", outcome, (lo, hi), table, vcov, fit.n_obs, fit.n_clusters, fit.df_denom)


# --------------------------------------------------------------------------- Sun & Abraham

def sun_abraham(panel: pd.DataFrame, outcome: str = DEFAULT_OUTCOME,
                window: tuple[int, int] = DEFAULT_WINDOW) -> EventStudyResult:
    """Sun & Abraham (2021) interaction-weighted event study, never-treated villages as controls.

    Step 1 regresses the outcome on village and year effects and a full set of cohort x event-time
    dummies (every event time each cohort is observed at, except e = -1), so each coefficient is
    one cohort's effect at one event time, CATT(g, e), compared with the never-treated villages
    only: no already-treated village ever serves as a control, and no event time is binned into
    another, which is what removes the naive regression's contamination. Step 2 averages them:

    - by event time e (the `event_study` table, e in the window): weights are the cohorts' shares
      of the village-years observed at e, among the cohorts observed at e;
    - overall (`overall`): weights are the cohorts' treated village-years at every e >= 0, in or out
      of the window, i.e. the mean effect over all treated village-years (the DiD target);
    - by cohort (`by_cohort`): one cohort's treated village-years, i.e. its mean effect after adoption.

    Standard errors of the averages come from the cluster-robust covariance of the CATT(g, e) by the
    delta method (exact here, the averages being linear). The shares are treated as FIXED: the
    inference is conditional on how many villages adopted when, which is a design feature of the
    panel, and it omits the (small) term Sun & Abraham add for estimated shares. `cohort_effects`
    lists every CATT(g, e). Needs never-treated villages and, for every cohort, the year before
    adoption; otherwise a PanelDesignError says which is missing.
    """
    prep = _prepare(panel, outcome)
    lo, hi = _check_window(window, prep)
    _require_controls(prep)
    cell_cohort, cell_event, cell_n, X = _cohort_event_cells(prep)
    fit = _fit(prep.y, pd.concat([X, _year_dummies(prep.year)], axis=1), prep.village, prep.village)

    def shares(selected: np.ndarray) -> np.ndarray:
        """Weights over the cells: each selected cell's share of the selected village-years."""
        w = np.where(selected, cell_n, 0.0)
        return w / w.sum()

    event_times = [e for e in range(lo, hi + 1) if e != REFERENCE_EVENT]
    est, cov = _combine(fit, np.array([shares(cell_event == e) for e in event_times]))
    table, vcov = _event_table(event_times, est, cov, fit, lambda e: f"e={e}", prep.event, prep.cohort)

    post = cell_event >= 0
    overall_est, overall_cov = _combine(fit, shares(post))
    overall = _estimate_row("sun_abraham", outcome, overall_est[0], _se(overall_cov)[0], fit, cell_n[post].sum())

    cohorts = prep.treated_cohorts()
    c_est, c_cov = _combine(fit, np.array([shares(post & (cell_cohort == g)) for g in cohorts]))
    c_se = _se(c_cov)
    c_lo, c_hi, c_p = _inference(c_est, c_se, fit.df_denom)
    by_cohort = pd.DataFrame({
        "cohort": cohorts, "towns": [prep.towns_by_cohort.get(g, "") for g in cohorts],
        "estimate": c_est, "se": c_se, "ci_low": c_lo, "ci_high": c_hi, "p_value": c_p,
        "n_treated_obs": [int(cell_n[post & (cell_cohort == g)].sum()) for g in cohorts],
        "n_villages": [len(np.unique(prep.village[prep.cohort == g])) for g in cohorts],
    })[COHORT_COLUMNS]

    g_est, g_cov = _combine(fit, np.eye(len(cell_n)))
    g_se = _se(g_cov)
    g_lo, g_hi, g_p = _inference(g_est, g_se, fit.df_denom)
    cohort_effects = pd.DataFrame({
        "cohort": cell_cohort, "towns": [prep.towns_by_cohort.get(int(g), "") for g in cell_cohort],
        "event_time": cell_event, "estimate": g_est, "se": g_se, "ci_low": g_lo, "ci_high": g_hi,
        "p_value": g_p, "n_obs": cell_n,
    })[CELL_COLUMNS]
    return EventStudyResult("sun_abraham", outcome, (lo, hi), table, vcov, fit.n_obs, fit.n_clusters, fit.df_denom,
                            overall=overall, by_cohort=by_cohort, cohort_effects=cohort_effects)


def _require_controls(prep: _Prepared) -> None:
    """IW with never-treated controls needs them, and a reference year for every cohort."""
    cohorts = prep.treated_cohorts()
    if not cohorts:
        raise PanelDesignError("no village in the panel is ever treated; there is nothing to estimate")
    if not prep.never.any():
        raise PanelDesignError(
            "the panel has no never-treated villages (every village's town adopts a reform by "
            f"{int(prep.year.max())}; cohorts {_cohort_list(cohorts)}); the Sun-Abraham estimator here uses the "
            "never-treated villages as its controls, so it cannot be estimated")
    without_reference = [g for g in cohorts if not np.any((prep.cohort == g) & (prep.event == REFERENCE_EVENT))]
    if without_reference:
        raise PanelDesignError(
            f"cohort(s) {_cohort_list(without_reference)} have no village-year at event time {REFERENCE_EVENT} "
            f"(the year before adoption, the reference); the panel starts in {int(prep.year.min())}")


def _cohort_event_cells(prep: _Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Every (cohort, event time) the panel observes, except the reference: cohort, event time and
    number of village-years of each cell, and the cells as dummies (sorted by cohort, then event time)."""
    treated = ~prep.never & (prep.event != REFERENCE_EVENT)
    pairs, cell_of_row, counts = np.unique(np.column_stack([prep.cohort[treated], prep.event[treated]]).astype(int),
                                           axis=0, return_inverse=True, return_counts=True)
    dummies = np.zeros((len(prep.y), len(pairs)))
    dummies[np.flatnonzero(treated), cell_of_row.ravel()] = 1.0
    X = pd.DataFrame(dummies, columns=[f"cohort_{g}_event_{e}" for g, e in pairs])
    return pairs[:, 0], pairs[:, 1], counts.astype(int), X


# --------------------------------------------------------------------------- stacked DiD

def stacked_did(panel: pd.DataFrame, outcome: str = DEFAULT_OUTCOME,
                window: tuple[int, int] = DEFAULT_STACK_WINDOW) -> EventStudyResult:
    """Stacked event study with clean controls (Cengiz et al. 2019), Wing et al. (2024) weights.

    One sub-experiment ("stack") per cohort g: its villages and the clean controls, i.e. villages
    never treated or adopting after g + last lag, in the years g + first lead .. g + last lag. The
    stacks are appended and one regression with stack x village and stack x year effects estimates
    a common effect per event time (e = -1 left out). A cohort whose window does not fit in the
    panel's years, or that has no clean control, is left out (the `design` table says which and
    why), because a stack with part of the window would mix event times. Unweighted, the stacked
    regression weights stacks by the variance of their treatment dummies; the corrective weights
    (treated villages 1, a stack's controls (N_g^D / N^D) / (N_g^C / N^C)) make each estimate the
    average of the included cohorts' effects weighted by their villages (the "trimmed aggregate
    ATT"). Villages recur across stacks, so errors are clustered by village.

    `overall` (same fields as `sun_abraham`'s) is the average of the post-adoption event-time
    effects in the window, e = 0 .. last lag, each weighted by its treated village-years in the
    stack (`overall_weights`). Every included cohort is observed at every event time of the window,
    so these weights are equal and the target is the mean of the window's event-time effects, the
    included cohorts weighted by their villages; it is NOT the all-years DiD target of
    `sun_abraham`'s overall (which also averages later years), unless effects are constant over
    event time. Its SE is the delta-method one from the event-study covariance (exact: it is linear).
    """
    prep = _prepare(panel, outcome)
    lo, hi = _check_window(window, prep)
    first, last = int(prep.year.min()), int(prep.year.max())
    design_rows, rows_of = [], {}
    for g in prep.treated_cohorts():
        in_years = (prep.year >= g + lo) & (prep.year <= g + hi)
        treated_rows = in_years & (prep.cohort == g)
        control_rows = in_years & (prep.never | (prep.cohort > g + hi))
        n_d, n_c = (len(np.unique(prep.village[r])) for r in (treated_rows, control_rows))
        reason = ("window does not fit in the panel's years" if g + lo < first or g + hi > last
                  else "no clean control" if n_c == 0 else "")
        design_rows.append({"cohort": g, "towns": prep.towns_by_cohort.get(g, ""), "included": not reason,
                            "reason": reason, "first_year": g + lo, "last_year": g + hi,
                            "n_treated_villages": n_d, "n_control_villages": n_c})
        if not reason:
            rows_of[g] = np.flatnonzero(treated_rows | control_rows)
    design = pd.DataFrame(design_rows)
    if not rows_of:
        raise PanelDesignError(f"no cohort has the whole window {window!r} inside {first}-{last} with a clean "
                               "control; narrow the window")
    inc = design["included"]
    treated_share = design["n_treated_villages"] / design.loc[inc, "n_treated_villages"].sum()
    control_share = design["n_control_villages"] / design.loc[inc, "n_control_villages"].sum()
    design["control_weight"] = (treated_share / control_share).where(inc)
    weight_of = dict(zip(design["cohort"], design["control_weight"]))
    parts = []
    for s, (g, rows) in enumerate(rows_of.items()):
        treated = prep.cohort[rows] == g
        parts.append(pd.DataFrame({
            "stack": s, "village": prep.village[rows], "y": prep.y[rows],
            "event": np.where(treated, prep.year[rows] - g, np.nan),
            "cohort": np.where(treated, g, np.nan),
            "stack_year": [f"{g}_{t}" for t in prep.year[rows]],
            "weight": np.where(treated, 1.0, weight_of[g])}))
    stacked = pd.concat(parts, ignore_index=True)
    event_times = [e for e in range(lo, hi + 1) if e != REFERENCE_EVENT]
    dummies = pd.DataFrame({f"event_{e}": (stacked["event"] == e).astype(float) for e in event_times})
    stack_years = pd.get_dummies(stacked["stack_year"], dtype=float)
    firsts = [f"{g}_{g + lo}" for g in rows_of]  # each stack's first year is its baseline
    X = pd.concat([dummies, stack_years.drop(columns=firsts)], axis=1)
    absorb = pd.factorize(stacked["stack"] * (prep.village.max() + 1) + stacked["village"])[0]  # stack x village
    fit = _fit(stacked["y"].to_numpy(), X, absorb, stacked["village"].to_numpy(), stacked["weight"].to_numpy())
    est, cov = _combine(fit, np.eye(len(event_times)))
    table, vcov = _event_table(event_times, est, cov, fit, lambda e: f"e={e}", stacked["event"].to_numpy(),
                               stacked["cohort"].to_numpy())
    counts = table.set_index("event_time")["n_treated_obs"]
    post = [e for e in event_times if e >= 0]
    weights = pd.Series([float(counts[e]) if e >= 0 else 0.0 for e in event_times],
                        index=pd.Index(event_times, name="event_time"))
    weights /= weights.sum()
    overall_est, overall_cov = _combine(fit, weights.to_numpy())
    overall = _estimate_row("stacked", outcome, overall_est[0], _se(overall_cov)[0], fit,
                            int(sum(counts[e] for e in post)))
    return EventStudyResult("stacked", outcome, (lo, hi), table, vcov, fit.n_obs, fit.n_clusters, fit.df_denom,
                            overall=overall, design=design, overall_weights=weights.loc[post])


# --------------------------------------------------------------------------- pre-trends

def pretrend_test(result: EventStudyResult) -> dict:
    """Joint Wald test that every lead (event time < -1 in the window) is zero.

    Parallel trends imply zero leads for the IW and stacked estimators; for the naive dynamic TWFE,
    leads can be nonzero from contamination alone (Sun & Abraham 2021), so a rejection there is not
    by itself evidence against parallel trends. The statistic is F = W / q, W = b' V^-1 b with the
    cluster-robust V, referred to F(q, clusters - 1) as Stata's `test` does after clustered regression.
    Returns estimator, leads, statistic, df, df_denom, p_value, wald_chi2.
    """
    if not isinstance(result, EventStudyResult):
        raise TypeError(f"pretrend_test needs an event study (EventStudyResult), got {type(result).__name__}")
    table = result.event_study
    leads = [int(e) for e in table.loc[(table["event_time"] < REFERENCE_EVENT) & ~table["reference"], "event_time"]]
    if not leads:
        raise ValueError(f"the {result.estimator} event study's window {result.window} has no lead to test; "
                         "start it at -2 or earlier")
    b = table.set_index("event_time").loc[leads, "estimate"].to_numpy(dtype=float)
    V = result.vcov.loc[leads, leads].to_numpy(dtype=float)
    wald = float(b @ np.linalg.solve(V, b))
    q = len(leads)
    statistic = wald / q
    return {"estimator": result.estimator, "leads": tuple(leads), "statistic": statistic, "df": q,
            "df_denom": result.df_denom, "p_value": float(stats.f.sf(statistic, q, result.df_denom)),
            "wald_chi2": wald}
