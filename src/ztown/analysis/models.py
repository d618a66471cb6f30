"""The cross-sectional models of the problems and causes chapters, returning tidy tables.

All models take the respondent-level `scales.analysis_frame` and fit on its complete cases as
`design.complete_cases` builds them: the rows a model uses carry their respondent, village and town
ids, so clusters and town groups always come from the rows actually used (never by position).
Standard errors are clustered by village, because respondents of one village share its service
environment: CR2 with Bell-McCaffrey degrees of freedom for OLS (`ztown.analysis.clustered`), the cluster
jackknife for the ordered logit (`ztown.analysis.ordinal`). "Comparison towns" means the equally weighted
average of the four comparison towns, so that a town with more villages does not count for more;
every Z-town gap is the contrast Z - mean(A, B, C, D). Estimates that combine several models (the
Oaxaca parts, the paths) use their joint covariance (`ztown.analysis.jointcov`, `joint_covariance`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.stats.outliers_influence import variance_inflation_factor

from ztown.analysis.clustered import ClusteredOLS
from ztown.data.constructs import CAUSE_IDS, CONSTRUCT_BY_ID, PROBLEM_IDS
from ztown.analysis.design import ID_COLUMNS, TOWNS, complete_cases, town_contrast, village_table
from ztown.analysis.jointcov import Block, JointCovariance, contrast_vector, regression_block, town_means_block
from ztown.analysis.ordinal import ClusteredOrderedLogit
from ztown.analysis.scales import EFFECTIVENESS

CONTROLS = "C(role) + age + C(education)"
CONTROL_COLUMNS = ["role", "age", "education"]
GROUP_TERM = "z_town"  # the group indicator of the pooled (Oaxaca reference) model
CAUSE_TERMS = [f"idx_{c}" for c in CAUSE_IDS]
TIDY_COLUMNS = ["term", "estimate", "se", "ci_low", "ci_high", "p"]
VIF_WARNING = 5.0  # a common rule of thumb: above this, a coefficient's variance is badly inflated
CONFIDENCE = 0.95


def cluster_ols(formula: str, data: pd.DataFrame) -> ClusteredOLS:
    """OLS with CR2 standard errors clustered by village (see `ztown.analysis.clustered` for why CR2).

    The clusters are taken from the rows the fit used, by their index labels (so a row patsy drops
    for a missing value cannot shift the others' villages); with the design's id columns present,
    the result carries them (`result.ids`).
    """
    if not data.index.is_unique:
        raise ValueError("cluster_ols needs a frame with a unique index (its rows are matched by label)")
    fit = smf.ols(formula, data).fit()
    used = data.loc[fit.model.data.row_labels]
    ids = used[ID_COLUMNS] if all(c in used.columns for c in ID_COLUMNS) else None
    return ClusteredOLS(fit, used["village_id"].astype(str).to_numpy(), ids)


def _df_of(result) -> pd.Series | None:
    if isinstance(result, (ClusteredOLS, ClusteredOrderedLogit)):
        return result.df
    if getattr(result, "use_t", False):
        return pd.Series(float(result.df_resid), index=result.params.index)
    return None


def tidy(result, terms: list[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """term, estimate, se, CI, p (and the degrees of freedom of the t reference, inf for the normal)."""
    ci = result.conf_int(alpha=alpha)
    ci = ci.to_numpy() if hasattr(ci, "to_numpy") else np.asarray(ci)
    names = list(result.params.index)
    df = _df_of(result)
    table = pd.DataFrame({"term": names, "estimate": np.asarray(result.params), "se": np.asarray(result.bse),
                          "ci_low": ci[:, 0], "ci_high": ci[:, 1], "p": np.asarray(result.pvalues),
                          "df": np.inf if df is None else df.to_numpy(dtype=float)})
    if terms is not None:
        table = table.set_index("term").loc[terms].reset_index()
    return table[TIDY_COLUMNS + ["df"]]


def combination_df(result, weights: dict[str, float] | None = None) -> float:
    """Degrees of freedom of the t reference for a coefficient combination (inf: the normal).

    CR2-clustered OLS: the combination's Bell-McCaffrey df (so `weights` are needed); the jackknifed
    ordered logit: clusters - 1; other t-based fits: their residual df; else inf.
    """
    if isinstance(result, ClusteredOLS):
        if weights is None:
            raise ValueError("CR2 inference is per combination: pass the weights")
        return float(result.df_for(weights))
    if isinstance(result, ClusteredOrderedLogit):
        return float(result.df_inference)
    if getattr(result, "use_t", False):
        return float(result.df_resid)
    return float("inf")


def reference_distribution(result, weights: dict[str, float] | None = None):
    """The t (or normal) reference distribution of a coefficient combination (see `combination_df`)."""
    df = combination_df(result, weights)
    return stats.t(df) if np.isfinite(df) else stats.norm


def interval(estimate: float, se: float, df: float, label: str | None = None) -> dict:
    """estimate, se, df, 95% CI and p from Student's t(df) (the normal when df is inf or NaN)."""
    dist = stats.norm if not np.isfinite(df) else stats.t(df)
    q = dist.ppf(0.5 + CONFIDENCE / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = float(2 * dist.sf(abs(estimate / se))) if se > 0 else float("nan")
    out = {"estimate": float(estimate), "se": float(se), "ci_low": float(estimate - q * se),
           "ci_high": float(estimate + q * se), "p": p, "df": float(df)}
    return out if label is None else {"term": label, **out}


def contrast(result, weights: dict[str, float], label: str) -> dict:
    """A linear combination of coefficients with its cluster-robust SE, 95% CI, p and degrees of freedom."""
    vec = np.array([weights.get(name, 0.0) for name in result.params.index])
    est = float(vec @ np.asarray(result.params))
    se = float(np.sqrt(vec @ np.asarray(result.cov_params()) @ vec))
    return interval(est, se, combination_df(result, weights), label)


def _z_minus_comparison(prefix: str = "C(town_id)") -> dict[str, float]:
    return {f"{prefix}[{town}]": w for town, w in town_contrast(TOWNS).items()}


def town_gap(frame: pd.DataFrame, outcome: str, controls: str = CONTROLS) -> tuple[dict, object]:
    """Z town's gap to the comparison towns on `outcome`, adjusted for controls, clustered by village.

    The interval uses the contrast's Bell-McCaffrey degrees of freedom (about 15 with Z town's 11
    villages, not the 60 of t(G - 1)), returned as `df`.
    """
    data = complete_cases(frame, [outcome, *CONTROL_COLUMNS])
    fit = cluster_ols(f"{outcome} ~ 0 + C(town_id) + {controls}", data)
    return contrast(fit, _z_minus_comparison(), f"gap_{outcome}"), fit


def problem_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per problem dimension (and overall effectiveness): Z town's adjusted gap with 95% CI.

    `n` and `clusters` are the respondents and villages the fit used; `df` its BM degrees of freedom.
    """
    rows = []
    for cid in (*PROBLEM_IDS, EFFECTIVENESS):
        gap, fit = town_gap(frame, cid)
        label = CONSTRUCT_BY_ID[cid].label_en if cid in CONSTRUCT_BY_ID else "Service effectiveness (mean)"
        rows.append({"construct": cid, "label": label, **{k: gap[k] for k in TIDY_COLUMNS[1:]},
                     "n": int(fit.nobs), "clusters": int(fit.n_clusters), "df": gap["df"]})
    return pd.DataFrame(rows)


def _pooled_columns(outcome: str) -> list[str]:
    return [outcome, *CAUSE_TERMS, GROUP_TERM, *CONTROL_COLUMNS]


def _pooled_formula(outcome: str) -> str:
    return f"{outcome} ~ {' + '.join(CAUSE_TERMS)} + {GROUP_TERM} + {CONTROLS}"


def cause_ols(frame: pd.DataFrame, outcome: str = EFFECTIVENESS) -> ClusteredOLS:
    """OLS of service effectiveness on the five cause indices, the Z-town indicator and controls (CR2).

    The Z-town indicator is there because this is also the pooled reference model of the
    Oaxaca-Blinder decomposition and of the paths: without a group indicator the pooled
    coefficients absorb part of the group difference itself and overstate the explained part
    (Jann 2008; Fortin, Lemieux & Firpo 2011). The cause coefficients then come from how
    effectiveness varies with the indices within Z town and within the comparison towns.
    """
    data = complete_cases(frame, _pooled_columns(outcome))
    return cluster_ols(_pooled_formula(outcome), data)


def cause_mixed(frame: pd.DataFrame, outcome: str = EFFECTIVENESS):
    """The same regression as a mixed model with a random intercept per village (REML)."""
    data = complete_cases(frame, _pooled_columns(outcome))
    model = smf.mixedlm(_pooled_formula(outcome), data, groups=data["village_id"].astype(str))
    # BFGS first: statsmodels' default L-BFGS can stop at all-zero coefficients and report convergence.
    # Powell, derivative-free, is the fallback when BFGS does not converge.
    for method in ("bfgs", "powell"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; convergence is checked here
            result = model.fit(reml=True, method=[method])
        if result.converged and np.all(np.isfinite(result.bse[CAUSE_TERMS])):
            return result
    raise RuntimeError("the mixed model did not converge (BFGS and Powell)")


def ordinal_sample(frame: pd.DataFrame) -> pd.DataFrame:
    """The ordered logit's complete cases (satisfaction, cause indices, role) with their ids."""
    return complete_cases(frame, ["satisfaction", *CAUSE_TERMS, "role"])


def ordinal_design(frame: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Outcome (ordered 1-5) and regressors of the ordered logit, indexed by respondent id."""
    data = ordinal_sample(frame)
    y = pd.Categorical(data["satisfaction"].astype(int), categories=[1, 2, 3, 4, 5], ordered=True)
    X = data[CAUSE_TERMS].astype(float).copy()
    X["role_member"] = (data["role"] == "member").astype(float)
    X["role_cadre"] = (data["role"] == "cadre").astype(float)
    return pd.Series(y, index=data.index, name="satisfaction"), X


def satisfaction_ologit(frame: pd.DataFrame) -> ClusteredOrderedLogit:
    """Ordered logit of overall satisfaction (1-5) on the five cause indices and the role.

    Inference: the village cluster jackknife (CV3) with t(G - 1) intervals (see `ztown.analysis.ordinal`
    for why not the clustered sandwich). The result carries the ids of the rows it used (`ids`),
    in the order of its design matrix.
    """
    data = ordinal_sample(frame)
    y, X = ordinal_design(frame)
    result = OrderedModel(y, X, distr="logit").fit(method="bfgs", disp=False, maxiter=2000, gtol=1e-8)
    return ClusteredOrderedLogit(result, data[ID_COLUMNS])


def standardized(frame: pd.DataFrame, result, outcome: str = EFFECTIVENESS) -> pd.DataFrame:
    """Standardized cause coefficients (SD of y per SD of x), ranked: the causes in order of weight.

    The SDs are those of the respondents the fit used (selected by respondent id).
    """
    rows = frame.set_index("respondent_id").loc[result.ids["respondent_id"]] if getattr(result, "ids", None) \
        is not None else complete_cases(frame, [outcome, *CAUSE_TERMS])
    table = tidy(result, CAUSE_TERMS)
    scale = rows[CAUSE_TERMS].std().to_numpy() / rows[outcome].std()
    for col in ("estimate", "se", "ci_low", "ci_high"):
        table[col] = table[col] * scale
    table["cause"] = [t.removeprefix("idx_") for t in table["term"]]
    table["label"] = [CONSTRUCT_BY_ID[c].label_en for c in table["cause"]]
    table = table.sort_values("estimate", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table


def vif_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Variance inflation factor of each cause index (with an intercept): are the causes separable?"""
    data = complete_cases(frame, CAUSE_TERMS)
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


# --------------------------------------------------------------------------- cause gaps and their covariance

def cause_gap_blocks(frame: pd.DataFrame) -> list[Block]:
    """The five village-level town-means regressions behind the cause gaps (one stack block each).

    Each uses the villages whose index is known (one row per village, from the respondents who have it).
    """
    blocks = []
    for cid in CAUSE_IDS:
        term = f"idx_{cid}"
        blocks.append(town_means_block(cid, village_table(complete_cases(frame, [term]), [term]), term))
    return blocks


def cause_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """Z town's gap to the comparison towns on each cause index, on one row per village, no controls.

    The indices are village properties, so each gap is the contrast of town means of the village
    indices, with HC2 standard errors (CR2 with one village per cluster) and Bell-McCaffrey
    degrees of freedom (`df`; about 15, since the Z-town mean rests on its 11 villages). The five
    gaps are correlated (same villages): their joint covariance is `cause_gap_covariance(frame)`.
    """
    rows = []
    for block in cause_gap_blocks(frame):
        c = contrast_vector(block)
        cov = block.influence.to_numpy().T @ block.influence.to_numpy()
        est, se = float(c @ block.params.to_numpy()), float(np.sqrt(c @ cov @ c))
        gap = interval(est, se, block.cr2.df(c))
        rows.append({"cause": block.name, **{k: gap[k] for k in TIDY_COLUMNS[1:]}, "df": gap["df"],
                     "villages": len(block.influence)})
    return pd.DataFrame(rows)


def cause_gap_covariance(frame: pd.DataFrame) -> pd.DataFrame:
    """The joint (stacked HC2) covariance of the five cause gaps (causes x causes).

    Its diagonal is each gap's own squared SE; the off-diagonal sum_v psi_v,j psi_v,k uses the same
    adjusted per-village terms.
    """
    joint = JointCovariance(cause_gap_blocks(frame))
    L = np.array([joint.gradient({cid: contrast_vector(joint.blocks[cid])}) for cid in CAUSE_IDS])
    return pd.DataFrame(L @ joint.cov.to_numpy() @ L.T, index=list(CAUSE_IDS), columns=list(CAUSE_IDS))


# --------------------------------------------------------------------------- Oaxaca-Blinder

@dataclass(frozen=True)
class Decomposition:
    """Everything the Oaxaca-Blinder decomposition and the paths combine, with its joint covariance.

    `b` cause coefficients of the pooled model, `d` the cause gaps (village level), `controls` the
    pooled model's control terms with `gamma` their coefficients and `delta_controls` their Z-town
    gaps of village means; `joint` stacks the pooled OLS ("ols"), the village-level town means of
    effectiveness net of the controls ("total") and of each cause index (named by cause).
    """

    result: ClusteredOLS
    b: pd.Series
    d: pd.Series
    controls: list[str]
    gamma: pd.Series
    delta_controls: pd.Series
    raw_total: float
    contrast: np.ndarray
    joint: JointCovariance

    def gradient_total(self) -> np.ndarray:
        """Total (adjusted) gap = c'(town means of y - gamma'W): its gradient in the stack."""
        return self.joint.gradient({"total": self.contrast, "ols": dict(-self.delta_controls)})

    def gradient_part(self, mask: np.ndarray) -> np.ndarray:
        """sum_j mask_j b_j d_j: its gradient (d_j for b_j, b_j c for the town means of index j)."""
        pieces: dict = {"ols": {t: m * dj for t, m, dj in zip(CAUSE_TERMS, mask, self.d) if m}}
        for cid, m, bj in zip(CAUSE_IDS, mask, self.b):
            if m:
                pieces[cid] = m * bj * self.contrast
        return self.joint.gradient(pieces)


def decomposition(frame: pd.DataFrame, result: ClusteredOLS | None = None,
                  extra_blocks: list[Block] | None = None) -> Decomposition:
    """The pieces of the Oaxaca-Blinder decomposition on the pooled model's respondents and villages.

    `result` must be `cause_ols(frame)` (fitted here if not given): a pooled model with the
    group indicator, fitted on this frame's complete cases (checked by respondent id).
    """
    result = cause_ols(frame) if result is None else result
    if GROUP_TERM not in result.params.index or getattr(result, "ids", None) is None:
        raise ValueError("the Oaxaca-Blinder decomposition needs the pooled model of models.cause_ols "
                         f"(with the group indicator {GROUP_TERM!r} and its design ids)")
    outcome = result.model.endog_names
    design = complete_cases(frame, _pooled_columns(outcome))
    if not np.array_equal(design["respondent_id"].to_numpy(), result.ids["respondent_id"].to_numpy()):
        raise ValueError("the pooled model given was not fitted on this frame's complete cases "
                         "(its respondents differ); pass models.cause_ols(frame)")
    names = list(result.params.index)
    controls = [t for t in names if t not in CAUSE_TERMS and t not in (GROUP_TERM, "Intercept")]
    exog = pd.DataFrame(np.asarray(result.model.exog), columns=names, index=result.ids.index)
    gamma = result.params[controls]
    rows = result.ids.copy()
    rows["y"] = np.asarray(result.model.endog)
    rows["adjusted"] = rows["y"] - exog[controls].to_numpy() @ gamma.to_numpy()
    for term in [*CAUSE_TERMS, *controls]:
        rows[term] = exog[term].to_numpy()
    villages = village_table(rows, ["y", "adjusted", *CAUSE_TERMS, *controls])
    c = np.array([town_contrast(TOWNS)[t] for t in TOWNS])

    def gap(column: str) -> float:
        means = villages.groupby("town_id")[column].mean().reindex(list(TOWNS)).to_numpy()
        return float(c @ means)

    blocks = [regression_block("ols", result), town_means_block("total", villages, "adjusted"),
              *[town_means_block(cid, villages, f"idx_{cid}") for cid in CAUSE_IDS], *(extra_blocks or [])]
    joint = JointCovariance(blocks)
    d = pd.Series([float(c @ joint.blocks[cid].params.to_numpy()) for cid in CAUSE_IDS], index=list(CAUSE_IDS))
    return Decomposition(result, result.params[CAUSE_TERMS].set_axis(list(CAUSE_IDS)), d, controls, gamma,
                         pd.Series({t: gap(t) for t in controls}), gap("y"), c, joint)


def _check_gaps(gaps: pd.DataFrame | None, d: pd.Series) -> None:
    if gaps is None:
        return
    given = gaps.set_index("cause").loc[list(CAUSE_IDS), "estimate"].to_numpy(dtype=float)
    if not np.allclose(given, d.to_numpy(), rtol=0, atol=1e-9):
        raise ValueError("the cause gaps given differ from those of this frame's pooled-model villages "
                         f"({np.round(given, 4)} vs {np.round(d.to_numpy(), 4)}); pass models.cause_gaps(frame)")


def oaxaca(frame: pd.DataFrame, result=None, gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Twofold Oaxaca-Blinder decomposition of Z town's effectiveness gap by cause, at village level.

    One level throughout: every gap is the Z-minus-comparison contrast of village means (as in
    `cause_gaps`), over the villages and respondents of the pooled model (`cause_ols`: the five
    indices, the Z-town indicator and the controls). With that model's coefficients b (causes) and
    gamma (controls):

    - `total`: the gap in village-mean effectiveness net of the controls, c'(ybar - gamma'Wbar), i.e.
      the raw village-level gap minus the part due to role, age and education composition (the raw
      gap and the composition part are in `attrs`);
    - each cause j: b_j d_j, its coefficient times Z town's gap on it; `explained`: their sum;
    - `unexplained` = total - explained (by the pooled model's algebra, the Z-town coefficient plus
      the part of the residuals the equal weighting of towns leaves).

    Every SE comes from the joint covariance of b, gamma and the village-level means (`decomposition`,
    a stacked CR2 sandwich clustered by village: the d_j are correlated, and b and d share villages)
    by the delta method, and every interval uses t with its Bell-McCaffrey degrees of freedom (`df`).
    `result` and `gaps` are computed here unless given (and then checked against this frame).
    """
    dec = decomposition(frame, result)
    _check_gaps(gaps, dec.d)
    joint = dec.joint
    rows = []
    eye = np.eye(len(CAUSE_IDS))
    for j, cid in enumerate(CAUSE_IDS):
        a = dec.gradient_part(eye[j])
        rows.append({"part": cid, **interval(float(dec.b.iloc[j] * dec.d.iloc[j]), joint.se(a), joint.df(a))})
    a_expl = dec.gradient_part(np.ones(len(CAUSE_IDS)))
    explained = float(dec.b @ dec.d)
    a_total = dec.gradient_total()
    total = float(dec.contrast @ joint.blocks["total"].params.to_numpy())
    a_unexpl = a_total - a_expl
    rows.append({"part": "explained", **interval(explained, joint.se(a_expl), joint.df(a_expl))})
    rows.append({"part": "unexplained", **interval(total - explained, joint.se(a_unexpl), joint.df(a_unexpl))})
    rows.append({"part": "total", **interval(total, joint.se(a_total), joint.df(a_total))})
    table = pd.DataFrame(rows)[["part", "estimate", "se", "ci_low", "ci_high", "p", "df"]]
    table["share_of_gap"] = table["estimate"] / total
    table.attrs.update({"level": "village", "raw_total": dec.raw_total,
                        "composition": float(dec.gamma @ dec.delta_controls),
                        "villages": int(len(joint.labels)), "respondents": int(dec.result.nobs)})
    return table


def joint_covariance(frame: pd.DataFrame, ols: ClusteredOLS | None = None,
                     ologit: ClusteredOrderedLogit | None = None) -> JointCovariance:
    """The stacked covariance of the pooled OLS, the Oaxaca total, the five cause gaps' town means
    and (if given) the ordered logit: everything the decomposition and the paths combine."""
    extra = [ologit_block(ologit)] if ologit is not None else None
    return decomposition(frame, ols, extra).joint


def ologit_block(result: ClusteredOrderedLogit) -> Block:
    """The jackknifed ordered logit as a stack block (its CV3 per-village terms)."""
    return Block("ologit", result.params.astype(float), result.influence)


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
