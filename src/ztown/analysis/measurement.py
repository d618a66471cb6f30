"""Measurement: do the thirty survey items measure ten distinct constructs, and how much do the
respondents' own answers colour the results?

Cronbach's alpha says only that a construct's three items move together, not that the five
problems are five different things. Here:

- `parallel_analysis` (Horn 1965): how many factors the item correlations hold beyond what random
  data of the same size would show (eigenvalues above the 95th percentile of seeded random draws).
- `efa`: an exploratory maximum-likelihood factor analysis with that many factors (promax rotation,
  statsmodels), to see which items load together.
- `fit_cfa`: a confirmatory factor analysis by maximum likelihood (Bollen 1989), each item on one
  factor, factors correlated, fitted here with scipy (statsmodels has no CFA): loadings, factor
  correlations and the usual fit indices (chi-square, RMSEA, CFI, TLI, SRMR, BIC; Hu & Bentler 1999).
  `compare_structures` fits the design's ten factors against coarser structures (one factor for
  all five problems), which is the test of treating the five problems as distinct.
- `same_source_check`: the causes model regresses a respondent's effectiveness score on village
  cause indices that include the respondent's own answers, and one respondent's general leniency
  colours both (common-method bias; Podsakoff et al. 2003). The check refits the model with each
  respondent's cause indices taken from the other half of the village's respondents only (a seeded
  split), so no respondent's own answers sit on both sides.
- `role_shifts`: how much higher cadres and members rate the services (and the causes) than villagers
  of the same towns, age and education: cadres rate their own work.

Data: complete cases of the items modelled. The generator's "don't know" and "refused" are missing
completely at random, so complete cases are a random subset; on real data that is an assumption.
Respondents are clustered in villages; the ML chi-square treats them as independent, so its p-value
is not to be trusted (nor, with thousands of respondents, informative): the fit indices and the size
of the factor correlations carry the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ztown.analysis import models, scales
from ztown.analysis.design import complete_cases
from ztown.data.constructs import CAUSE_IDS, CONSTRUCT_BY_ID, CONSTRUCTS, PROBLEM_IDS, items_of

PA_SEED = 20231104  # parallel analysis
SPLIT_SEED = 20231105  # the split of each village's respondents into two halves
PA_REPLICATIONS = 200
DISCRIMINANT_LIMIT = 0.85  # factor correlations above this: the two factors are not told apart (Henseler et al. 2015)


def item_matrix(respondents: pd.DataFrame, constructs: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Item scores (reverse-coded items reversed) of the respondents who answered every item modelled,
    indexed by respondent id, columns in construct order."""
    constructs = constructs or tuple(c.id for c in CONSTRUCTS)
    cols = [i.id for c in constructs for i in items_of(c)]
    scores = scales.item_scores(respondents)[cols]
    scores.index = pd.Index(respondents["respondent_id"].to_numpy(), name="respondent_id")
    return scores.dropna()


# --------------------------------------------------------------------------- how many factors

def parallel_analysis(X: pd.DataFrame, replications: int = PA_REPLICATIONS, seed: int = PA_SEED,
                      quantile: float = 0.95) -> pd.DataFrame:
    """Eigenvalues of the item correlation matrix against those of random normal data of the same size.

    One row per factor k: observed eigenvalue, the random eigenvalues' mean and `quantile`, and
    `retain` (the observed eigenvalue exceeds the random quantile, for this and every earlier k).
    `attrs["n_factors"]` is the number retained.
    """
    n, p = X.shape
    observed = np.sort(np.linalg.eigvalsh(np.corrcoef(X.to_numpy(dtype=float), rowvar=False)))[::-1]
    rng = np.random.default_rng(seed)
    random = np.empty((replications, p))
    for r in range(replications):
        Z = rng.standard_normal((n, p))
        random[r] = np.sort(np.linalg.eigvalsh(np.corrcoef(Z, rowvar=False)))[::-1]
    q = np.quantile(random, quantile, axis=0)
    above = observed > q
    retain = np.cumprod(above).astype(bool)
    table = pd.DataFrame({"factor": np.arange(1, p + 1), "observed": observed, "random_mean": random.mean(0),
                          "random_quantile": q, "retain": retain})
    table.attrs.update({"n_factors": int(retain.sum()), "replications": replications, "quantile": quantile,
                        "n": n})
    return table


def efa(X: pd.DataFrame, n_factors: int, rotation: str = "promax") -> pd.DataFrame:
    """Exploratory ML factor analysis (statsmodels) of the item correlations, rotated.

    One row per item: its construct, the loadings on each factor (F1..Fk) and its primary factor
    (largest absolute loading).
    """
    from statsmodels.multivariate.factor import Factor

    fit = Factor(X.to_numpy(dtype=float), n_factor=n_factors, method="ml", endog_names=list(X.columns)).fit()
    if n_factors > 1:
        fit.rotate(rotation)
    L = pd.DataFrame(fit.loadings, index=list(X.columns), columns=[f"F{k + 1}" for k in range(n_factors)])
    # orient each factor so that most of its large loadings are positive
    L = L * np.sign(L.sum(axis=0)).replace(0, 1)
    out = L.copy()
    out.insert(0, "construct", [i.rstrip("0123456789") for i in X.columns])
    out["primary"] = L.abs().idxmax(axis=1)
    return out.reset_index(names="item")


# --------------------------------------------------------------------------- confirmatory factor analysis

@dataclass(frozen=True)
class CFAResult:
    """A fitted CFA: standardized loadings, factor correlations, uniquenesses and fit."""

    name: str
    factors: list[str]
    assignment: dict[str, str]
    loadings: pd.Series  # standardized, by item
    phi: pd.DataFrame  # factor correlations
    fit: dict

    def max_correlation(self, factors: list[str]) -> float:
        sub = self.phi.loc[factors, factors].to_numpy()
        return float(np.max(sub[np.triu_indices(len(factors), 1)])) if len(factors) > 1 else float("nan")


def _unpack(theta, p, m, rows, cols, tri):
    lam = np.zeros((p, m))
    lam[rows, cols] = theta[:p]
    psi = np.exp(theta[p:2 * p])
    Lt = np.eye(m)
    Lt[tri] = theta[2 * p:]
    norms = np.sqrt((Lt ** 2).sum(axis=1))
    R = Lt / norms[:, None]
    return lam, psi, Lt, norms, R


def _objective(theta, S, logdet_S, p, m, rows, cols, tri):
    lam, psi, Lt, norms, R = _unpack(theta, p, m, rows, cols, tri)
    phi = R @ R.T
    sigma = lam @ phi @ lam.T + np.diag(psi)
    sign, logdet = np.linalg.slogdet(sigma)
    if sign <= 0:
        return 1e10, np.zeros_like(theta)
    inv = np.linalg.inv(sigma)
    f = logdet + np.trace(S @ inv) - logdet_S - p
    G = inv @ (sigma - S) @ inv  # dF/dSigma
    g_lam = (2 * G @ lam @ phi)[rows, cols]
    g_psi = np.diag(G) * psi
    A = lam.T @ G @ lam
    dR = 2 * A @ R
    dL = np.empty_like(Lt)
    for i in range(m):
        r = R[i]
        dL[i] = (dR[i] - r * (r @ dR[i])) / norms[i]
    return f, np.concatenate([g_lam, g_psi, dL[tri]])


def fit_cfa(X: pd.DataFrame, assignment: dict[str, str], name: str = "", start: np.ndarray | None = None) -> CFAResult:
    """Maximum-likelihood CFA: every item (column of X) loads on the one factor `assignment` names.

    Factor variances are fixed at 1 (loadings free); factors correlate freely, parameterized so that
    the correlation matrix stays positive definite; uniquenesses are kept positive (log scale).
    Fit: chi2 = (N - 1) F_min, RMSEA, CFI and TLI against the independence model, SRMR, BIC.
    """
    items = list(X.columns)
    missing = [i for i in items if i not in assignment]
    if missing:
        raise ValueError(f"no factor assigned to item(s) {', '.join(missing)}")
    factors = list(dict.fromkeys(assignment[i] for i in items))
    p, m, n = len(items), len(factors), len(X)
    if n <= p:
        raise ValueError(f"a CFA of {p} items needs more than {p} complete responses, got {n}")
    S = np.cov(X.to_numpy(dtype=float), rowvar=False, ddof=1)
    rows = np.arange(p)
    cols = np.array([factors.index(assignment[i]) for i in items])
    tri = np.tril_indices(m, -1)
    _, logdet_S = np.linalg.slogdet(S)
    if start is None:
        # start: loadings from each item's correlation with its factor's mean score, uniqueness half the variance
        lam0 = np.sqrt(np.diag(S)) * 0.7
        theta0 = np.concatenate([lam0, np.log(np.diag(S) * 0.5), np.zeros(len(tri[0]))])
    else:
        theta0 = start
    res = optimize.minimize(_objective, theta0, args=(S, logdet_S, p, m, rows, cols, tri), jac=True,
                            method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-9, "ftol": 1e-14})
    lam, psi, *_ , R = _unpack(res.x, p, m, rows, cols, tri)
    phi = R @ R.T
    sigma = lam @ phi @ lam.T + np.diag(psi)
    q = p + p + len(tri[0])
    dof = p * (p + 1) // 2 - q
    chi2 = (n - 1) * float(res.fun)
    f0 = float(np.sum(np.log(np.diag(S))) - logdet_S)
    chi2_0, dof_0 = (n - 1) * f0, p * (p - 1) // 2
    d = np.sqrt(np.diag(S))
    resid = (S - sigma) / np.outer(d, d)
    srmr = float(np.sqrt(np.mean(resid[np.tril_indices(p)] ** 2)))
    fit = {"model": name, "factors": m, "n": n, "parameters": q, "chi2": chi2, "df": dof,
           "p": float(stats.chi2.sf(chi2, dof)) if dof > 0 else float("nan"),
           "rmsea": float(np.sqrt(max(chi2 - dof, 0) / (dof * (n - 1)))) if dof > 0 else float("nan"),
           "cfi": float(1 - max(chi2 - dof, 0) / max(chi2_0 - dof_0, chi2 - dof, 1e-12)),
           "tli": float(((chi2_0 / dof_0) - (chi2 / dof)) / ((chi2_0 / dof_0) - 1)) if dof > 0 else float("nan"),
           "srmr": srmr, "bic": chi2 + q * np.log(n), "converged": bool(res.success), "theta": res.x}
    std = lam[rows, cols] / np.sqrt(np.diag(sigma))
    return CFAResult(name, factors, dict(assignment), pd.Series(std, index=items),
                     pd.DataFrame(phi, index=factors, columns=factors), fit)


def design_assignment(items: list[str], merge_problems: bool = False, merge_causes: bool = False) -> dict[str, str]:
    """Item -> factor: each construct its own factor, or the five problems (causes) as one."""
    out = {}
    for item in items:
        construct = item.rstrip("0123456789")
        if merge_problems and construct in PROBLEM_IDS:
            out[item] = "problems"
        elif merge_causes and construct in CAUSE_IDS:
            out[item] = "causes"
        else:
            out[item] = construct
    return out


STRUCTURES = {
    "ten constructs (the design)": {},
    "one problem factor, five causes": {"merge_problems": True},
    "one problem factor, one cause factor": {"merge_problems": True, "merge_causes": True},
}


def compare_structures(X: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, CFAResult]]:
    """Fit the design's ten factors and two coarser structures; one row of fit indices per structure.

    The chi-square difference of each coarser structure against the design (nested: factor
    correlations fixed at 1) is added as `delta_chi2`, `delta_df`, with `delta_bic` (negative: the
    coarser structure is preferred by BIC).
    """
    fits = {name: fit_cfa(X, design_assignment(list(X.columns), **kw), name) for name, kw in STRUCTURES.items()}
    base = fits["ten constructs (the design)"].fit
    rows = []
    for name, res in fits.items():
        f = {k: v for k, v in res.fit.items() if k != "theta"}
        f["delta_chi2"] = f["chi2"] - base["chi2"]
        f["delta_df"] = f["df"] - base["df"]
        f["delta_bic"] = f["bic"] - base["bic"]
        rows.append(f)
    return pd.DataFrame(rows), fits


def dimension_specific_share(truth: dict) -> float:
    """In the generator, the share of a problem dimension's variance across a town's villages that is its own.

    Each dimension k is e_k = 3 + sum_j beta_j (c_j - 3) + u_k: the causes' part is common to all five,
    only u_k (SD `effect_noise_sd`) is specific. Share = sd_u^2 / (beta' Sigma_c beta + sd_u^2), Sigma_c
    the within-town covariance of the cause indices (SD `cause_sd`, correlation `cause_corr`).
    NaN when the truth is not known.
    """
    keys = ["effect_noise_sd", "cause_sd", "cause_corr", *[f"beta_{c}" for c in CAUSE_IDS]]
    if any(k not in truth for k in keys):
        return float("nan")
    beta = np.array([truth[f"beta_{c}"] for c in CAUSE_IDS], dtype=float)
    k = len(beta)
    cov = (np.full((k, k), truth["cause_corr"]) + np.eye(k) * (1 - truth["cause_corr"])) * truth["cause_sd"] ** 2
    u = truth["effect_noise_sd"] ** 2
    return float(u / (beta @ cov @ beta + u))


def problem_correlations(result: CFAResult) -> pd.DataFrame:
    """The factor correlations among the five problems (from the ten-factor CFA), labelled."""
    phi = result.phi.loc[list(PROBLEM_IDS), list(PROBLEM_IDS)]
    labels = [CONSTRUCT_BY_ID[c].label_en for c in PROBLEM_IDS]
    return pd.DataFrame(phi.to_numpy(), index=labels, columns=labels)


# --------------------------------------------------------------------------- same source, self-rating

def split_half_indices(frame: pd.DataFrame, seed: int = SPLIT_SEED) -> pd.DataFrame:
    """The analysis frame with each respondent's cause indices taken from the other half of the village.

    Each village's respondents are split at random (seeded; by respondent id, so the frame's order does
    not matter) into halves 0 and 1; a respondent of half h gets, for each cause, the mean score of the
    village's half 1 - h. Returns a copy with the `idx_<cause>` columns replaced and a `half` column.
    """
    out = frame.sort_values("respondent_id", kind="mergesort").copy()
    rng = np.random.default_rng(seed)
    u = pd.Series(rng.random(len(out)), index=out.index)
    rank = u.groupby(out["village_id"].astype(str)).rank(method="first")
    size = out.groupby(out["village_id"].astype(str))["respondent_id"].transform("size")
    out["half"] = (rank > size / 2).astype(int)
    for cid in CAUSE_IDS:
        means = out.groupby([out["village_id"].astype(str), "half"])[cid].mean()
        key = list(zip(out["village_id"].astype(str), 1 - out["half"]))
        out[f"idx_{cid}"] = means.reindex(key).to_numpy()
    return out.sort_index()


def same_source_check(frame: pd.DataFrame, truth: dict | None = None, seed: int = SPLIT_SEED) -> pd.DataFrame:
    """The causes model with full-village indices (own answers included) against other-half indices.

    One row per cause: the OLS coefficient with each kind of index (CR2 intervals), their difference
    and the generator's true value if known. Same-source bias would make the full-index coefficients
    larger; the other-half indices rest on half the respondents, which attenuates them slightly.
    """
    truth = truth or {}
    full = models.tidy(models.cause_ols(frame), models.CAUSE_TERMS)
    half = models.tidy(models.cause_ols(split_half_indices(frame, seed)), models.CAUSE_TERMS)
    table = pd.DataFrame({"cause": list(CAUSE_IDS), "label": [CONSTRUCT_BY_ID[c].label_en for c in CAUSE_IDS],
                          "full_estimate": full["estimate"].to_numpy(), "full_ci_low": full["ci_low"].to_numpy(),
                          "full_ci_high": full["ci_high"].to_numpy(),
                          "other_half_estimate": half["estimate"].to_numpy(),
                          "other_half_ci_low": half["ci_low"].to_numpy(), "other_half_ci_high": half["ci_high"].to_numpy()})
    table["difference"] = table["full_estimate"] - table["other_half_estimate"]
    table["true_beta"] = [truth.get(f"beta_{c}", np.nan) for c in CAUSE_IDS]
    return table


def role_shifts(frame: pd.DataFrame, truth: dict | None = None) -> pd.DataFrame:
    """How differently cadres and members answer than villagers of the same town, age and education.

    OLS (CR2, clustered by village) of the effectiveness score and of the mean cause score on town
    indicators, role, age and education; one row per outcome and role with the coefficient, its
    interval and the generator's shift of the latent answer where known (`role_shift_*`; the Likert
    categories compress a latent shift, so the score moves by somewhat less).
    """
    truth = truth or {}
    data = frame.copy()
    data["cause_mean"] = data[list(CAUSE_IDS)].mean(axis=1, skipna=False)
    rows = []
    for outcome, label in ((scales.EFFECTIVENESS, "service effectiveness (problem items)"),
                           ("cause_mean", "causes (mean of the five cause scales)")):
        d = complete_cases(data, [outcome, *models.CONTROL_COLUMNS])
        fit = models.cluster_ols(f"{outcome} ~ 0 + C(town_id) + {models.CONTROLS}", d)
        t = models.tidy(fit).set_index("term")
        for role in ("cadre", "member"):
            term = f"C(role)[T.{role}]"
            key = {("cadre", "effectiveness"): "role_shift_cadre", ("member", "effectiveness"): "role_shift_member",
                   ("cadre", "cause_mean"): "role_shift_cause_cadre"}.get((role, outcome))
            rows.append({"outcome": label, "role": role, "estimate": t.loc[term, "estimate"],
                         "ci_low": t.loc[term, "ci_low"], "ci_high": t.loc[term, "ci_high"],
                         "latent_shift_true": ((truth.get(key, np.nan) if key else 0.0) if truth else np.nan)})
    return pd.DataFrame(rows)
