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
from scipy import stats

from .constructs import CAUSE_IDS, PATHS
from .models import CAUSE_TERMS, _ordinal_design

SCENARIO_SEED = 20231102
N_DRAWS = 2000


def _share_satisfied(model, params: np.ndarray, exog: np.ndarray) -> float:
    probs = model.predict(params, exog=exog)
    return float(probs[:, 3:].sum(axis=1).mean())


def path_scenarios(frame: pd.DataFrame, ols_result, ologit_result, cause_gaps: pd.DataFrame,
                   seed: int = SCENARIO_SEED, n_draws: int = N_DRAWS) -> pd.DataFrame:
    """One row per path (and all five together): predicted change in effectiveness and share satisfied."""
    rng = np.random.default_rng(seed)
    gaps = cause_gaps.set_index("cause").loc[list(CAUSE_IDS)]
    d, se_d = gaps["estimate"].to_numpy(), gaps["se"].to_numpy()
    b = ols_result.params[CAUSE_TERMS].to_numpy()
    cov_b = ols_result.cov_params().loc[CAUSE_TERMS, CAUSE_TERMS].to_numpy()
    z = stats.norm.ppf(0.975)

    y, X = _ordinal_design(frame)
    z_rows = frame.loc[X.index, "town_id"].to_numpy() == "Z"
    exog = X.loc[z_rows].to_numpy()
    cols = {name: i for i, name in enumerate(X.columns)}
    model, params = ologit_result.model, np.asarray(ologit_result.params)
    draws = rng.multivariate_normal(params, np.asarray(ologit_result.cov_params()), size=n_draws)
    d_draws = rng.normal(d, se_d, size=(n_draws, len(d)))
    base = _share_satisfied(model, params, exog)
    base_draws = np.array([_share_satisfied(model, p, exog) for p in draws])

    def shifted(shift: np.ndarray) -> np.ndarray:
        out = exog.copy()
        for j, term in enumerate(CAUSE_TERMS):
            out[:, cols[term]] += shift[j]
        return out

    rows = []
    scenarios = [(cid, np.eye(len(CAUSE_IDS))[j]) for j, cid in enumerate(CAUSE_IDS)] + [("all", np.ones(len(CAUSE_IDS)))]
    for key, mask in scenarios:
        shift = -d * mask  # raise Z town's index by its gap (for the paths that apply)
        eff = float(b @ shift)
        eff_se = float(np.sqrt(shift @ cov_b @ shift + np.sum((b * mask) ** 2 * se_d ** 2)))
        sat = _share_satisfied(model, params, shifted(shift)) - base
        sat_draws = np.array([_share_satisfied(model, p, shifted(-dd * mask)) for p, dd in zip(draws, d_draws)])
        sat_draws = sat_draws - base_draws
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
