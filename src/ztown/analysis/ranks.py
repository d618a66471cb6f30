"""Rank uncertainty: how sure a ranking is, from joint draws of the quantities ranked.

Why: a point estimate ranks five paths (or causes, or problems) in some order whatever the data
say; whether that order means anything depends on how far apart the estimates are relative to
their joint uncertainty. Each quantity's rank is computed in every draw of a joint simulation
(the estimates' joint sampling distribution, correlations included), which gives the probability
of each rank and a 95% rank interval: the 2.5% and 97.5% quantiles of the item's rank over the
draws. These intervals are marginal (one item at a time), not simultaneous for the whole order.
Two items are "not distinguishable" when their rank intervals overlap; `order_words` says which
items the data tell apart.

`rank_table` works on any draws; `normal_draws` makes seeded joint draws (optionally with the
Student-t tails of the intervals they accompany); `problem_gap_ranks` and `cause_ranks` are the
book's two rankings beyond the paths (whose draws `ztown.analysis.scenarios` makes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ztown.analysis import models
from ztown.analysis.design import TOWNS, town_contrast
from ztown.analysis.jointcov import JointCovariance, regression_block
from ztown.data.constructs import CAUSE_IDS, CONSTRUCT_BY_ID, PROBLEM_IDS

RANK_SEED = 20231103  # the rank simulations of the problems and causes chapters
N_DRAWS = 4000
LEVEL = 0.95


def ranks_of(values: np.ndarray, descending: bool = True) -> np.ndarray:
    """Ranks 1..k along the last axis (1 = largest when `descending`); ties share the lowest rank."""
    x = -np.asarray(values, dtype=float) if descending else np.asarray(values, dtype=float)
    return stats.rankdata(x, method="min", axis=-1).astype(int)


def normal_draws(mean: np.ndarray, cov: np.ndarray, n_draws: int = N_DRAWS, seed: int = RANK_SEED,
                 df: float | None = None) -> np.ndarray:
    """Seeded joint draws from N(mean, cov), each scaled by sqrt(df / chi2_df) when `df` is finite.

    The scaling gives the multivariate t with `df` degrees of freedom, the same small-sample
    reference as the intervals the ranking sits beside.
    """
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (len(mean), len(mean)):
        raise ValueError(f"cov must be {len(mean)} x {len(mean)}, got {cov.shape}")
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal(np.zeros(len(mean)), (cov + cov.T) / 2, size=n_draws, method="eigh")
    if df is not None and np.isfinite(df):
        z = z * np.sqrt(df / rng.chisquare(df, n_draws))[:, None]
    return mean + z


def rank_table(draws: np.ndarray, labels: Sequence[str], estimates: Sequence[float] | None = None,
               descending: bool = True, level: float = LEVEL) -> pd.DataFrame:
    """One row per item: its point rank, mean rank, rank interval and the probability of each rank.

    `draws` is (draws x items). Columns: item, rank (of `estimates`, if given, else of the draws'
    means), mean_rank, rank_low, rank_high, p_rank_1 .. p_rank_k (shares of draws), p_first.
    """
    draws = np.asarray(draws, dtype=float)
    if draws.ndim != 2 or draws.shape[1] != len(labels):
        raise ValueError(f"draws must be (draws x {len(labels)} items), got {draws.shape}")
    if not np.all(np.isfinite(draws)):
        raise ValueError("draws contain non-finite values")
    k = len(labels)
    r = ranks_of(draws, descending)
    point = ranks_of(np.asarray(estimates, dtype=float) if estimates is not None else draws.mean(0), descending)
    alpha = 1 - level
    table = pd.DataFrame({
        "item": list(labels), "rank": point, "mean_rank": r.mean(0),
        "rank_low": np.floor(np.quantile(r, alpha / 2, axis=0, method="lower")).astype(int),
        "rank_high": np.ceil(np.quantile(r, 1 - alpha / 2, axis=0, method="higher")).astype(int),
    })
    for j in range(1, k + 1):
        table[f"p_rank_{j}"] = (r == j).mean(0)
    table["p_first"] = table["p_rank_1"]
    return table.sort_values(["rank", "mean_rank"], kind="stable").reset_index(drop=True)


def prob_greater(draws: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """P(row item > column item) over the draws: how often one estimate exceeds another."""
    d = np.asarray(draws, dtype=float)
    p = (d[:, :, None] > d[:, None, :]).mean(0)
    return pd.DataFrame(p, index=list(labels), columns=list(labels))


def distinguishable(table: pd.DataFrame, a: str, b: str) -> bool:
    """Whether two items' rank intervals are disjoint (the data tell their order apart)."""
    t = table.set_index("item")
    return bool(t.loc[a, "rank_high"] < t.loc[b, "rank_low"] or t.loc[b, "rank_high"] < t.loc[a, "rank_low"])


def interval_words(low: int, high: int) -> str:
    """'1st' or '1st to 3rd': a rank interval in words (ordinals, for the prose)."""
    def ordinal(n: int) -> str:
        return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}.get(n, f"{n}th")
    return ordinal(low) if low == high else f"{ordinal(low)} to {ordinal(high)}"


def order_words(table: pd.DataFrame, names: dict[str, str] | None = None, first: str = "rank first") -> str:
    """A sentence on what a ranking shows: which item can come first, which orders are not told apart.

    Items whose rank interval contains 1 "could each rank first"; items whose rank intervals overlap
    are "not distinguishable"; where the intervals fall into disjoint groups, the groups are named
    in order. `first` words rank 1 (e.g. "be furthest below" for gaps ranked from the most negative).
    """
    names = names or {}
    t = table.sort_values(["rank", "mean_rank"], kind="stable")
    label = [names.get(i, i) for i in t["item"]]
    low, high = t["rank_low"].to_numpy(), t["rank_high"].to_numpy()
    p_first = t["p_rank_1"].to_numpy()

    def join(items):
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    if np.all(low == high):
        return "the order is the same in every draw: " + ", then ".join(label) + "."
    top = [i for i, lo in enumerate(low) if lo == 1]
    if len(top) == 1:
        share = p_first[top[0]]
        how = "more than 99" if share > 0.99 else f"{100 * share:.0f}"
        head = f"only {label[top[0]]} can {first} (it does in {how} per cent of the draws)"
    else:
        head = f"{join([label[i] for i in top])} could each {first}"
    groups, current, reach = [], [0], high[0]
    for j in range(1, len(t)):
        if low[j] <= reach:
            current.append(j)
            reach = max(reach, high[j])
        else:
            groups.append(current)
            current, reach = [j], high[j]
    groups.append(current)
    rest = [i for i in range(len(t)) if i not in top] if len(top) == 1 else list(range(len(t)))
    if len(groups) == 1:
        tail = (f"the order of the other {_count_words(len(rest))} is not distinguishable"
                if len(top) == 1 else f"the order of all {_count_words(len(t))} is not distinguishable")
        return f"{head}; {tail}."
    parts = [join([label[i] for i in g]) + (" (not distinguishable from one another)" if len(g) > 1 else "")
             for g in groups]
    return f"{head}; the data separate them into groups, from the first: " + "; then ".join(parts) + "."


def _count_words(n: int) -> str:
    return {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}.get(n, str(n))


# --------------------------------------------------------------------------- the book's rankings

def problem_gap_covariance(frame: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame, float]:
    """Z town's five problem gaps, their joint (stacked CR2) covariance and the smallest BM df.

    The five regressions share their villages (and mostly their respondents), so the gaps are
    correlated; `ztown.analysis.jointcov` stacks their per-village terms.
    """
    blocks, vectors = [], []
    weights = {f"C(town_id)[{t}]": w for t, w in town_contrast(TOWNS).items()}
    for cid in PROBLEM_IDS:
        _, fit = models.town_gap(frame, cid)
        blocks.append(regression_block(cid, fit))
    joint = JointCovariance(blocks)
    L = np.array([joint.gradient({cid: weights}) for cid in PROBLEM_IDS])
    est = pd.Series(L @ joint.params.to_numpy(), index=list(PROBLEM_IDS))
    cov = pd.DataFrame(L @ joint.cov.to_numpy() @ L.T, index=list(PROBLEM_IDS), columns=list(PROBLEM_IDS))
    df = min(joint.df(row) for row in L)
    return est, cov, float(df)


def equality_test(estimates: pd.Series, cov: pd.DataFrame, df: float) -> dict:
    """Wald test that all estimates are equal: the k - 1 successive differences are all zero.

    Reported as F = W / (k - 1) on (k - 1, df) degrees of freedom, df the smallest Bell-McCaffrey df
    of the items (conservative), and as chi-square(k - 1).
    """
    k = len(estimates)
    C = np.eye(k)[:-1] - np.eye(k, k=1)[:-1]
    diff = C @ estimates.to_numpy()
    V = C @ cov.to_numpy() @ C.T
    wald = float(diff @ np.linalg.solve(V, diff))
    return {"wald": wald, "q": k - 1, "df": df, "f": wald / (k - 1),
            "p_f": float(stats.f.sf(wald / (k - 1), k - 1, df)) if np.isfinite(df) else float("nan"),
            "p_chi2": float(stats.chi2.sf(wald, k - 1)),
            "max_difference": float(estimates.max() - estimates.min())}


def problem_gap_ranks(frame: pd.DataFrame, seed: int = RANK_SEED, n_draws: int = N_DRAWS) -> dict:
    """Which problem is Z town's worst? Ranks of the five gaps (rank 1 = furthest below) and the
    test that the five gaps are equal. Returns {"ranks", "test", "estimates", "cov"}."""
    est, cov, df = problem_gap_covariance(frame)
    draws = normal_draws(est.to_numpy(), cov.to_numpy(), n_draws, seed, df)
    table = rank_table(draws, list(PROBLEM_IDS), est.to_numpy(), descending=False)
    table["label"] = [CONSTRUCT_BY_ID[c].label_en for c in table["item"]]
    table["estimate"] = est.reindex(table["item"]).to_numpy()
    return {"ranks": table, "test": equality_test(est, cov, df), "estimates": est, "cov": cov}


def cause_ranks(frame: pd.DataFrame, ols=None, seed: int = RANK_SEED, n_draws: int = N_DRAWS) -> pd.DataFrame:
    """Ranks of the five standardized OLS cause coefficients (rank 1 = weightiest), with intervals.

    Draws the five coefficients jointly from their CR2 covariance with t tails at the smallest BM
    df of the five, then standardizes them with the same SDs as `models.standardized` (held fixed).
    """
    ols = models.cause_ols(frame) if ols is None else ols
    std = models.standardized(frame, ols).set_index("term").loc[models.CAUSE_TERMS]
    raw = ols.params[models.CAUSE_TERMS].to_numpy(dtype=float)
    scale = std["estimate"].to_numpy() / raw
    cov = np.asarray(ols.cov_params().loc[models.CAUSE_TERMS, models.CAUSE_TERMS], dtype=float)
    df = min(models.combination_df(ols, {t: 1.0}) for t in models.CAUSE_TERMS)
    draws = normal_draws(raw, cov, n_draws, seed, df) * scale[None, :]
    table = rank_table(draws, list(CAUSE_IDS), raw * scale)
    table["label"] = [CONSTRUCT_BY_ID[c].label_en for c in table["item"]]
    table["estimate"] = (pd.Series(raw * scale, index=list(CAUSE_IDS))).reindex(table["item"]).to_numpy()
    return table
