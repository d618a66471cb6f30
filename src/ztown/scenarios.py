"""The five construction paths as counterfactual scenarios for Z town.

Path j raises Z town's index of cause j to the comparison towns' average, all else equal. Its
predicted effect on service effectiveness is b_j x (-d_j), where b_j is the pooled OLS coefficient
and d_j Z town's gap on cause j (the Oaxaca term with the sign turned). Its effect on the share of
Z-town respondents who are satisfied (answer 4 or 5) comes from the ordered logit. Uncertainty:
delta method for effectiveness; a seeded parametric bootstrap (coefficients and gaps drawn from
their estimated sampling distributions) for the share satisfied.

These are model-based scenarios under the assumption that the cross-sectional coefficients are
causal; the book says so where it shows them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .constructs import CAUSE_IDS, PATHS
from .models import CAUSE_TERMS, ordinal_design, reference_distribution

SCENARIO_SEED = 20231102
N_DRAWS = 2000


def _share_satisfied(params: np.ndarray, cut3: np.ndarray, exog: np.ndarray,
                     extra: np.ndarray | float = 0.0) -> np.ndarray:
    """Mean predicted P(answer 4 or 5) over the rows of exog, for each parameter vector (row of params).

    P(y >= 4) = 1 - F(cut_3 - x'b - extra) with F the logistic cdf, where `extra` raises each
    vector's linear predictor (a path's shift of the cause indices times their coefficients).
    Vectorized over parameter draws, which is what makes a few thousand bootstrap draws cheap.
    """
    xb = exog @ params[:, :exog.shape[1]].T + np.asarray(extra)[None, ...]  # rows x draws
    return (1 - 1 / (1 + np.exp(-(cut3[None, :] - xb)))).mean(axis=0)


def path_scenarios(frame: pd.DataFrame, ols_result, ologit_result, cause_gaps: pd.DataFrame,
                   seed: int = SCENARIO_SEED, n_draws: int = N_DRAWS) -> pd.DataFrame:
    """One row per path (and all five together): predicted change in effectiveness and share satisfied."""
    rng = np.random.default_rng(seed)
    gaps = cause_gaps.set_index("cause").loc[list(CAUSE_IDS)]
    d, se_d = gaps["estimate"].to_numpy(), gaps["se"].to_numpy()
    b = ols_result.params[CAUSE_TERMS].to_numpy()
    cov_b = ols_result.cov_params().loc[CAUSE_TERMS, CAUSE_TERMS].to_numpy()
    z = reference_distribution(ols_result).ppf(0.975)

    y, X = ordinal_design(frame)
    z_rows = frame.loc[X.index, "town_id"].to_numpy() == "Z"
    exog = X.loc[z_rows].to_numpy()
    cause_cols = [list(X.columns).index(t) for t in CAUSE_TERMS]
    model = ologit_result.model
    params = np.asarray(ologit_result.params)[None, :]
    draws = rng.multivariate_normal(params[0], np.asarray(ologit_result.cov_params()), size=n_draws)
    d_draws = rng.normal(d, se_d, size=(n_draws, len(d)))
    cut3, cut3_draws = (np.array([model.transform_threshold_params(p)[3] for p in ps]) for ps in (params, draws))
    base = float(_share_satisfied(params, cut3, exog)[0])
    base_draws = _share_satisfied(draws, cut3_draws, exog)

    rows = []
    scenarios = [(cid, np.eye(len(CAUSE_IDS))[j]) for j, cid in enumerate(CAUSE_IDS)] + [("all", np.ones(len(CAUSE_IDS)))]
    for key, mask in scenarios:
        shift = -d * mask  # raise Z town's index by its gap (for the paths that apply)
        eff = float(b @ shift)
        eff_se = float(np.sqrt(shift @ cov_b @ shift + np.sum((b * mask) ** 2 * se_d ** 2)))
        # raising the cause indices by `shift` raises the linear predictor by sum_j b_j shift_j;
        # each draw shifts by its own drawn gap, with its own coefficients
        sat = float(_share_satisfied(params, cut3, exog, params[:, cause_cols] @ shift)[0]) - base
        extra_draws = (draws[:, cause_cols] * (-d_draws * mask)).sum(axis=1)
        sat_draws = _share_satisfied(draws, cut3_draws, exog, extra_draws) - base_draws
        label_en, label_zh = PATHS[key] if key != "all" else ("All five paths together", "五条路径同时推进")
        rows.append({"path": key, "label": label_en, "label_zh": label_zh,
                     "index_shift": float(shift.sum()) if key != "all" else float(np.nan),
                     "effectiveness_change": eff, "effectiveness_se": eff_se,
                     "effectiveness_ci_low": eff - z * eff_se, "effectiveness_ci_high": eff + z * eff_se,
                     "satisfied_share_change": sat,
                     "satisfied_ci_low": float(np.quantile(sat_draws, 0.025)),
                     "satisfied_ci_high": float(np.quantile(sat_draws, 0.975))})
    table = pd.DataFrame(rows)
    single = table["path"] != "all"
    order = table.loc[single, "effectiveness_change"].rank(ascending=False, method="first")
    table["rank"] = pd.array([int(r) if s else pd.NA for r, s in zip(order.reindex(table.index), single)],
                             dtype="Int64")
    table.attrs["baseline_satisfied_share"] = base
    return table
