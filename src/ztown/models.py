"""The cross-sectional models of the problems and causes chapters, returning tidy tables.

All models take the respondent-level `scales.analysis_frame`. Standard errors are clustered by
village, because respondents of one village share its service environment. "Comparison towns"
means the equally weighted average of the four comparison towns, so that a town with more
villages does not count for more; every Z-town gap is the contrast Z - mean(A, B, C, D).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.stats.outliers_influence import variance_inflation_factor

from .clustered import ClusteredOLS
from .constructs import CAUSE_IDS, CONSTRUCT_BY_ID, PROBLEM_IDS
from .scales import EFFECTIVENESS

CONTROLS = "C(role) + age + C(education)"
CAUSE_TERMS = [f"idx_{c}" for c in CAUSE_IDS]
TOWNS = ("Z", "A", "B", "C", "D")
TIDY_COLUMNS = ["term", "estimate", "se", "ci_low", "ci_high", "p"]
VIF_WARNING = 5.0  # a common rule of thumb: above this, a coefficient's variance is badly inflated


def _complete(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame.dropna(subset=columns).reset_index(drop=True)


def cluster_ols(formula: str, data: pd.DataFrame) -> ClusteredOLS:
    """OLS with CR2 standard errors clustered by village (see `ztown.clustered` for why CR2)."""
    return ClusteredOLS(smf.ols(formula, data).fit(), pd.factorize(data["village_id"])[0])


def tidy(result, terms: list[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """term, estimate, se, 95% CI and p of a fitted statsmodels result (optionally some terms only)."""
    ci = result.conf_int(alpha=alpha)
    ci = ci.to_numpy() if hasattr(ci, "to_numpy") else np.asarray(ci)
    names = list(result.params.index)
    table = pd.DataFrame({"term": names, "estimate": np.asarray(result.params), "se": np.asarray(result.bse),
                          "ci_low": ci[:, 0], "ci_high": ci[:, 1], "p": np.asarray(result.pvalues)})
    if terms is not None:
        table = table.set_index("term").loc[terms].reset_index()
    return table[TIDY_COLUMNS]


def contrast(result, weights: dict[str, float], label: str) -> dict:
    """A linear combination of coefficients with its (cluster-robust) SE, 95% CI and p."""
    vec = np.array([weights.get(name, 0.0) for name in result.params.index])
    est = float(vec @ np.asarray(result.params))
    se = float(np.sqrt(vec @ np.asarray(result.cov_params()) @ vec))
    dist = reference_distribution(result)
    q = dist.ppf(0.975)
    return {"term": label, "estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
            "p": float(2 * dist.sf(abs(est / se)))}


def reference_distribution(result):
    """t(clusters - 1) for clustered OLS, t(residual df) for HC-robust OLS, else the normal."""
    if isinstance(result, ClusteredOLS):
        return stats.t(result.df_inference)
    if getattr(result, "use_t", False):
        return stats.t(result.df_resid)
    return stats.norm


def _z_minus_comparison(prefix: str = "C(town_id)") -> dict[str, float]:
    weights = {f"{prefix}[Z]": 1.0}
    for town in TOWNS[1:]:
        weights[f"{prefix}[{town}]"] = -1.0 / (len(TOWNS) - 1)
    return weights


def town_gap(frame: pd.DataFrame, outcome: str, controls: str = CONTROLS) -> tuple[dict, object]:
    """Z town's gap to the comparison towns on `outcome`, adjusted for controls, clustered by village."""
    data = _complete(frame, [outcome, "age", "role", "education"])
    fit = cluster_ols(f"{outcome} ~ 0 + C(town_id) + {controls}", data)
    return contrast(fit, _z_minus_comparison(), f"gap_{outcome}"), fit


def problem_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per problem dimension (and overall effectiveness): Z town's adjusted gap with 95% CI."""
    rows = []
    for cid in (*PROBLEM_IDS, EFFECTIVENESS):
        gap, fit = town_gap(frame, cid)
        label = CONSTRUCT_BY_ID[cid].label_en if cid in CONSTRUCT_BY_ID else "Service effectiveness (mean)"
        rows.append({"construct": cid, "label": label, **{k: gap[k] for k in TIDY_COLUMNS[1:]},
                     "n": int(fit.nobs), "clusters": int(frame.loc[frame[cid].notna(), "village_id"].nunique())})
    return pd.DataFrame(rows)


def cause_ols(frame: pd.DataFrame, outcome: str = EFFECTIVENESS):
    """OLS of service effectiveness on the five cause indices with controls, cluster-robust by village."""
    data = _complete(frame, [outcome, *CAUSE_TERMS, "age", "role", "education"])
    return cluster_ols(f"{outcome} ~ {' + '.join(CAUSE_TERMS)} + {CONTROLS}", data)


def cause_mixed(frame: pd.DataFrame, outcome: str = EFFECTIVENESS):
    """The same regression as a mixed model with a random intercept per village (REML)."""
    data = _complete(frame, [outcome, *CAUSE_TERMS, "age", "role", "education"])
    model = smf.mixedlm(f"{outcome} ~ {' + '.join(CAUSE_TERMS)} + {CONTROLS}", data, groups=data["village_id"])
    # BFGS first: statsmodels' default L-BFGS can stop at all-zero coefficients and report convergence.
    # Powell, derivative-free, is the fallback when BFGS does not converge.
    for method in ("bfgs", "powell"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; convergence is checked here
            result = model.fit(reml=True, method=[method])
        if result.converged and np.all(np.isfinite(result.bse[CAUSE_TERMS])):
            return result
    raise RuntimeError("the mixed model did not converge (BFGS and Powell)")


def ordinal_design(frame: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    data = _complete(frame, ["satisfaction", *CAUSE_TERMS, "role"])
    y = pd.Categorical(data["satisfaction"].astype(int), categories=[1, 2, 3, 4, 5], ordered=True)
    X = data[CAUSE_TERMS].astype(float).copy()
    X["role_member"] = (data["role"] == "member").astype(float)
    X["role_cadre"] = (data["role"] == "cadre").astype(float)
    return pd.Series(y, index=data.index), X


def satisfaction_ologit(frame: pd.DataFrame):
    """Ordered logit of overall satisfaction (1-5) on the five cause indices and the role, clustered by village."""
    y, X = ordinal_design(frame)
    model = OrderedModel(y, X, distr="logit")
    groups = pd.factorize(frame.loc[X.index, "village_id"])[0]
    # sandwich standard errors clustered by village: respondents of a village share its services
    return model.fit(method="bfgs", disp=False, maxiter=2000, cov_type="cluster", cov_kwds={"groups": groups})


def standardized(frame: pd.DataFrame, result, outcome: str = EFFECTIVENESS) -> pd.DataFrame:
    """Standardized cause coefficients (SD of y per SD of x), ranked: the causes in order of weight."""
    data = _complete(frame, [outcome, *CAUSE_TERMS])
    table = tidy(result, CAUSE_TERMS)
    scale = data[CAUSE_TERMS].std().to_numpy() / data[outcome].std()
    for col in ("estimate", "se", "ci_low", "ci_high"):
        table[col] = table[col] * scale
    table["cause"] = [t.removeprefix("idx_") for t in table["term"]]
    table["label"] = [CONSTRUCT_BY_ID[c].label_en for c in table["cause"]]
    table = table.sort_values("estimate", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table


def vif_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Variance inflation factor of each cause index (with an intercept): are the causes separable?"""
    data = _complete(frame, CAUSE_TERMS)
    X = sm.add_constant(data[CAUSE_TERMS].astype(float))
    return pd.DataFrame({"term": CAUSE_TERMS,
                         "vif": [variance_inflation_factor(X.to_numpy(), i + 1) for i in range(len(CAUSE_TERMS))]})


def residual_diagnostics(result) -> dict:
    """Fit and residual checks of an OLS result: R², residual SD, skewness, Breusch-Pagan p."""
    from statsmodels.stats.diagnostic import het_breuschpagan

    resid = np.asarray(result.resid)
    bp = het_breuschpagan(resid, result.model.exog)
    return {"n": int(result.nobs), "r2": float(result.rsquared), "resid_sd": float(resid.std(ddof=1)),
            "resid_skew": float(stats.skew(resid)), "breusch_pagan_p": float(bp[1])}


def cause_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """Z town's gap to the comparison towns on each cause index (village-clustered), no controls.

    The indices are village properties, so the gap is estimated on one row per village.
    """
    villages = frame.groupby("village_id", observed=True).agg(
        town_id=("town_id", "first"), **{c: (c, "mean") for c in CAUSE_IDS}).reset_index()
    rows = []
    for cid in CAUSE_IDS:
        fit = smf.ols(f"{cid} ~ 0 + C(town_id)", villages).fit(cov_type="HC1", use_t=True)
        rows.append({"cause": cid, **{k: v for k, v in contrast(fit, _z_minus_comparison(), cid).items()
                                      if k != "term"}})
    return pd.DataFrame(rows)


def oaxaca(frame: pd.DataFrame, result=None, gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Twofold Oaxaca-Blinder decomposition of Z town's effectiveness gap by cause (pooled coefficients).

    The explained part of cause j is b_j x d_j: its pooled coefficient times Z town's gap on it. Its SE
    is by the delta method, treating b and d as independent (they come from different variation).
    Rows: one per cause, then `explained` (sum), `unexplained` (rest) and `total` gap. `result` and
    `gaps` (from `cause_ols` and `cause_gaps`) are computed here unless given.
    """
    result = result or cause_ols(frame)
    gaps = (cause_gaps(frame) if gaps is None else gaps).set_index("cause")
    coef = tidy(result, CAUSE_TERMS).set_index("term")
    cov = result.cov_params().loc[CAUSE_TERMS, CAUSE_TERMS].to_numpy()
    z = reference_distribution(result).ppf(0.975)
    rows = []
    b = coef["estimate"].to_numpy()
    d = gaps.loc[list(CAUSE_IDS), "estimate"].to_numpy()
    var_d = gaps.loc[list(CAUSE_IDS), "se"].to_numpy() ** 2
    for j, cid in enumerate(CAUSE_IDS):
        est = b[j] * d[j]
        se = np.sqrt(d[j] ** 2 * cov[j, j] + b[j] ** 2 * var_d[j])
        rows.append({"part": cid, "estimate": est, "se": se})
    explained = float(b @ d)
    se_expl = float(np.sqrt(d @ cov @ d + np.sum(b ** 2 * var_d)))
    total, _ = town_gap(frame, EFFECTIVENESS)
    rows.append({"part": "explained", "estimate": explained, "se": se_expl})
    rows.append({"part": "unexplained", "estimate": total["estimate"] - explained, "se": np.nan})
    rows.append({"part": "total", "estimate": total["estimate"], "se": total["se"]})
    table = pd.DataFrame(rows)
    table["ci_low"] = table["estimate"] - z * table["se"]
    table["ci_high"] = table["estimate"] + z * table["se"]
    table["share_of_gap"] = table["estimate"] / total["estimate"]
    return table


def compare_cause_models(ols, mixed, ologit, truth: dict | None = None) -> pd.DataFrame:
    """The cause coefficients of the three models side by side (with the true values if known)."""
    truth = truth or {}
    table = pd.DataFrame({"cause": list(CAUSE_IDS),
                          "label": [CONSTRUCT_BY_ID[c].label_en for c in CAUSE_IDS]})
    for name, res in (("ols", ols), ("mixed", mixed), ("ologit", ologit)):
        t = tidy(res, CAUSE_TERMS)
        table[f"{name}_estimate"] = t["estimate"].to_numpy()
        table[f"{name}_se"] = t["se"].to_numpy()
    table["true_beta"] = [truth.get(f"beta_{c}", np.nan) for c in CAUSE_IDS]
    table["true_ologit"] = [truth.get(f"ologit_{c}", np.nan) for c in CAUSE_IDS]
    return table
