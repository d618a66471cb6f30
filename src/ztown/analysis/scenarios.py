"""The five construction paths as counterfactual scenarios for Z town.

Path j raises Z town's index of cause j to the comparison towns' average, all else equal. Its
predicted effect on service effectiveness is b_j x (-d_j), where b_j is the pooled OLS coefficient
(`models.cause_ols`) and d_j Z town's gap on cause j (the Oaxaca term with the sign turned). Its
effect on the share of Z-town respondents who are satisfied (answer 4 or 5) comes from the ordered
logit, averaged over the Z-town respondents of the ordered logit's own sample (selected by their
town id, carried with the rows).

Uncertainty. Everything a path combines is correlated: the five gaps share their villages, and the
coefficients come from the respondents of those same villages. So both kinds of interval use the
joint (stacked, village-clustered) covariance of all of them (`models.joint_covariance`):
effectiveness by the delta method with t at the Bell-McCaffrey degrees of freedom; the share
satisfied by a seeded parametric simulation of the coefficients (not a bootstrap: the data are not
resampled). It draws the ordered logit's parameters and the five gaps jointly, from a normal with
mean the estimates and covariance the joint one (CV3 for the logit), and takes the 2.5% and 97.5%
quantiles of the resulting changes. Each block's draws are scaled by its own sqrt(nu / chi2_nu)
factor, so that they follow the Student t each block's own intervals use (t(G - 1) for the
jackknifed logit; the gaps' Bell-McCaffrey df, about 15, as the gaps rest on Z town's 11 villages),
the same small-sample references as every other interval here. In a 500-replication check on the
default generator the intervals covered the truth 95.4-96.8% of the time for four paths and all five
together, and 91.4% for the supporting-systems path (91.2% with plain normal draws); that path's
misses are mostly replications where the ordered logit's own interval for the supporting-systems
coefficient misses (92% coverage, estimates biased low by about 0.2 SE, in a 200-replication
check), so the appendix's full study is where it is judged. `satisfied_se` is the SD of the changes
under the plain normal draws (the linearization's scale, without the t tails).

These are model-based scenarios under the assumption that the cross-sectional coefficients are
causal; the book says so where it shows them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ztown.analysis import models, ranks
from ztown.data.constructs import CAUSE_IDS, PATHS
from ztown.analysis.jointcov import contrast_vector
from ztown.analysis.models import CAUSE_TERMS, interval

SCENARIO_SEED = 20231102
N_DRAWS = 2000
RANK_STREAM = 1  # spawn key of the effectiveness draws behind the paths' rank intervals


def _share_satisfied(params: np.ndarray, cut3: np.ndarray, exog: np.ndarray,
                     extra: np.ndarray | float = 0.0) -> np.ndarray:
    """Mean predicted P(answer 4 or 5) over the rows of exog, for each parameter vector (row of params).

    P(y >= 4) = 1 - F(cut_3 - x'b - extra) with F the logistic cdf, where `extra` raises each
    vector's linear predictor (a path's shift of the cause indices times their coefficients).
    Vectorized over parameter draws, which is what makes a few thousand simulation draws cheap.
    """
    xb = exog @ params[:, :exog.shape[1]].T + np.asarray(extra)[None, ...]  # rows x draws
    return (1 - 1 / (1 + np.exp(-(cut3[None, :] - xb)))).mean(axis=0)


def z_town_design(ologit_result) -> pd.DataFrame:
    """The ordered logit's design rows of Z-town respondents (indexed by respondent id)."""
    ids = ologit_result.ids
    X = np.asarray(ologit_result.model.exog)
    exog = pd.DataFrame(X, index=ids.index, columns=list(ologit_result.params.index[:X.shape[1]]))
    return exog.loc[(ids["town_id"].astype(str) == "Z").to_numpy()]


def scenario_masks() -> list[tuple[str, np.ndarray]]:
    """(path, which causes it raises): one path per cause, then all five together."""
    eye = np.eye(len(CAUSE_IDS))
    return [(cid, eye[j]) for j, cid in enumerate(CAUSE_IDS)] + [("all", np.ones(len(CAUSE_IDS)))]


def path_scenarios(frame: pd.DataFrame, ols_result, ologit_result, cause_gaps: pd.DataFrame,
                   seed: int = SCENARIO_SEED, n_draws: int = N_DRAWS) -> pd.DataFrame:
    """One row per path (and all five together): predicted change in effectiveness and share satisfied.

    Columns: path, label, label_zh, index_shift, effectiveness_change / _se / _df / _ci_low / _ci_high,
    satisfied_share_change, satisfied_se (SD of the simulated changes), satisfied_ci_low / _ci_high,
    rank (of the point estimates), rank_low / rank_high (95% rank interval), p_first and mean_rank
    and p_rank_1 .. p_rank_5 (probability of each rank) from joint draws of the five effectiveness
    changes (`effectiveness_draws`). `attrs`: baseline_satisfied_share, z_town_respondents, n_draws.
    """
    dec = models.decomposition(frame, ols_result, [models.ologit_block(ologit_result)])
    models._check_gaps(cause_gaps, dec.d)
    joint = dec.joint
    b, d = dec.b.to_numpy(), dec.d.to_numpy()

    exog = z_town_design(ologit_result).to_numpy()
    names = list(ologit_result.params.index)
    cause_cols = [names.index(t) for t in CAUSE_TERMS]
    model = ologit_result.model
    params = ologit_result.params.to_numpy(dtype=float)[None, :]
    # joint draws of (ordered-logit parameters, the five gaps): linear maps of the stacked parameters
    L = np.array([joint.gradient({"ologit": np.eye(len(names))[k]}) for k in range(len(names))]
                 + [joint.gradient({cid: contrast_vector(joint.blocks[cid])}) for cid in CAUSE_IDS])
    mean = np.concatenate([params[0], d])
    cov = L @ joint.cov.to_numpy() @ L.T
    # the t reference of each block: t(G - 1) for the jackknifed logit, the gaps' Bell-McCaffrey df
    df_logit = float(ologit_result.df_inference)
    df_gaps = min(joint.df(row) for row in L[len(names):])
    rng = np.random.default_rng(seed)
    normal = rng.multivariate_normal(np.zeros(len(mean)), (cov + cov.T) / 2, size=n_draws)
    scale = np.column_stack([np.repeat(np.sqrt(df / rng.chisquare(df, n_draws))[:, None], k, axis=1)
                             for df, k in ((df_logit, len(names)), (df_gaps, len(CAUSE_IDS)))])
    draws_by_kind = {"normal": mean + normal, "t": mean + normal * scale}
    cut3 = np.array([model.transform_threshold_params(params[0])[3]])
    base = float(_share_satisfied(params, cut3, exog)[0])
    simulated = {}
    for kind, sim in draws_by_kind.items():
        draws, d_draws = sim[:, :len(names)], sim[:, len(names):]
        cut3_draws = np.array([model.transform_threshold_params(p)[3] for p in draws])
        simulated[kind] = (draws, d_draws, cut3_draws, _share_satisfied(draws, cut3_draws, exog))

    rows = []
    for key, mask in scenario_masks():
        shift = -d * mask  # raise Z town's index by its gap (for the paths that apply)
        a = -dec.gradient_part(mask)
        eff = interval(float(b @ shift), joint.se(a), joint.df(a))
        # raising the cause indices by `shift` raises the linear predictor by sum_j beta_j shift_j;
        # each draw shifts by its own drawn gaps, with its own coefficients
        sat = float(_share_satisfied(params, cut3, exog, params[:, cause_cols] @ shift)[0]) - base
        sat_draws = {}
        for kind, (draws, d_draws, cut3_draws, base_draws) in simulated.items():
            extra_draws = (draws[:, cause_cols] * (-d_draws * mask)).sum(axis=1)
            sat_draws[kind] = _share_satisfied(draws, cut3_draws, exog, extra_draws) - base_draws
        label_en, label_zh = PATHS[key] if key != "all" else ("All five paths together", "五条路径同时推进")
        rows.append({"path": key, "label": label_en, "label_zh": label_zh,
                     "index_shift": float(shift.sum()) if key != "all" else float(np.nan),
                     "effectiveness_change": eff["estimate"], "effectiveness_se": eff["se"],
                     "effectiveness_df": eff["df"],
                     "effectiveness_ci_low": eff["ci_low"], "effectiveness_ci_high": eff["ci_high"],
                     "satisfied_share_change": sat, "satisfied_se": float(np.std(sat_draws["normal"], ddof=1)),
                     "satisfied_ci_low": float(np.quantile(sat_draws["t"], 0.025)),
                     "satisfied_ci_high": float(np.quantile(sat_draws["t"], 0.975))})
    table = pd.DataFrame(rows)
    single = table["path"] != "all"
    order = table.loc[single, "effectiveness_change"].rank(ascending=False, method="first")
    table["rank"] = pd.array([int(r) if s else pd.NA for r, s in zip(order.reindex(table.index), single)],
                             dtype="Int64")
    # how sure is that order? ranks in joint draws of the five effectiveness changes
    eff_draws = effectiveness_draws(dec, n_draws, seed)
    rank_tab = ranks.rank_table(eff_draws, list(CAUSE_IDS), b * -d).set_index("item")
    prob_cols = [c for c in rank_tab.columns if c.startswith("p_rank_")]
    for col in ("rank_low", "rank_high", "mean_rank", *prob_cols, "p_first"):
        table[col] = [rank_tab.loc[k, col] if k in rank_tab.index else np.nan for k in table["path"]]
    for col in ("rank_low", "rank_high"):
        table[col] = pd.array([int(v) if s else pd.NA for v, s in zip(table[col], single)], dtype="Int64")
    table.attrs.update({"baseline_satisfied_share": base, "z_town_respondents": int(len(exog)),
                        "n_draws": int(n_draws), "simulation_df_ologit": df_logit, "simulation_df_gaps": df_gaps})
    return table


def effectiveness_draws(dec, n_draws: int = N_DRAWS, seed: int = SCENARIO_SEED) -> np.ndarray:
    """Joint draws of the five paths' effectiveness changes b_j x (-d_j), one column per cause.

    (b, d) are drawn together from their joint (stacked, village-clustered) covariance, with
    Student-t tails at the smallest Bell-McCaffrey df of the five path effects, from a random stream
    of their own (a child of `seed`), so the share-satisfied draws above are unchanged. They serve
    the paths' rank intervals (`ztown.analysis.ranks`), not their effect intervals (delta method).
    """
    joint = dec.joint
    L = np.array([joint.gradient({"ols": {t: 1.0}}) for t in CAUSE_TERMS]
                 + [joint.gradient({cid: contrast_vector(joint.blocks[cid])}) for cid in CAUSE_IDS])
    mean = np.concatenate([dec.b.to_numpy(), dec.d.to_numpy()])
    cov = L @ joint.cov.to_numpy() @ L.T
    eye = np.eye(len(CAUSE_IDS))
    df = min(joint.df(-dec.gradient_part(eye[j])) for j in range(len(CAUSE_IDS)))
    seq = np.random.SeedSequence(seed, spawn_key=(RANK_STREAM,))
    sim = ranks.normal_draws(mean, cov, n_draws, int(seq.generate_state(1)[0]), df)
    k = len(CAUSE_IDS)
    return sim[:, :k] * -sim[:, k:]
