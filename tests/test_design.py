"""Every model uses the rows it says it uses: clusters and town groups come from those rows' own ids.

Issue 8 found the ordered logit clustered on other respondents' villages and the paths' "Z town"
rows including Town A respondents, both from re-joining rows by position after dropping missing
values. These tests compare, by respondent id, what each fit used with what the analysis frame says
about those respondents, and check that the order and index of the frame change nothing (to 1e-10).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ztown.analysis import design, models, scales, scenarios
from ztown.data.constructs import CAUSE_IDS

TOL = 1e-10  # shuffling the frame must not change any result beyond floating-point summation order


@pytest.fixture(scope="module")
def frame(study):
    return scales.analysis_frame(study)


@pytest.fixture(scope="module")
def shuffled(frame):
    """The same respondents in another order, under an index that is neither 0..n-1 nor unique-by-position."""
    out = frame.sample(frac=1.0, random_state=20240517)
    out.index = pd.Index([f"row-{i}" for i in range(len(out), 0, -1)])
    return out


@pytest.fixture(scope="module")
def fits(frame):
    ols = models.cause_ols(frame)
    ologit = models.satisfaction_ologit(frame)
    gaps = models.cause_gaps(frame)
    return {"ols": ols, "ologit": ologit, "gaps": gaps,
            "paths": scenarios.path_scenarios(frame, ols, ologit, gaps, n_draws=400)}


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("respondent_id")


def test_complete_cases_carry_ids_in_respondent_order(frame):
    data = design.complete_cases(frame.iloc[::-1], ["satisfaction", "idx_sup"])
    assert list(data.columns[:3]) == design.ID_COLUMNS
    assert data["respondent_id"].is_monotonic_increasing
    assert (data.index == data["respondent_id"].to_numpy()).all()
    expected = frame.loc[frame["satisfaction"].notna(), "respondent_id"]
    assert sorted(data["respondent_id"]) == sorted(expected)
    looked_up = _by_id(frame).loc[data["respondent_id"], ["village_id", "town_id"]]
    assert (looked_up["village_id"].to_numpy() == data["village_id"].to_numpy()).all()


def test_complete_cases_refuse_missing_or_repeated_ids(frame):
    broken = frame.copy()
    broken.loc[broken.index[5], "respondent_id"] = broken["respondent_id"].iat[4]
    with pytest.raises(ValueError, match=r"row 5 \(position\): field respondent_id .* more than once"):
        design.complete_cases(broken, ["satisfaction"])
    with pytest.raises(KeyError, match="town_id"):
        design.complete_cases(frame.drop(columns="town_id"), ["satisfaction"])


def test_ordered_logit_clusters_are_each_respondents_own_village(frame, fits):
    ologit = fits["ologit"]
    ids = ologit.ids
    complete = frame[["satisfaction", *models.CAUSE_TERMS, "role"]].notna().all(axis=1)
    assert sorted(ids["respondent_id"]) == sorted(frame.loc[complete, "respondent_id"])
    assert len(ids) == 2342  # 2,418 respondents, 76 without a satisfaction answer
    own = _by_id(frame).loc[ids["respondent_id"]]
    assert (ids["village_id"].to_numpy() == own["village_id"].to_numpy()).all()
    # the model's rows are these respondents' answers, in this order
    assert np.array_equal(np.asarray(ologit.model.endog) + 1, own["satisfaction"].astype(int).to_numpy())
    assert np.allclose(ologit.model.exog[:, 0], own["idx_sup"].to_numpy())
    # and the jackknife's clusters are exactly those villages
    assert list(ologit.influence.index) == sorted(own["village_id"].astype(str).unique())


def test_ologit_sandwich_matches_statsmodels_with_clusters_looked_up_by_id(frame, fits):
    """An independent route to the clusters: statsmodels' clustered fit, villages found by respondent id."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    ologit = fits["ologit"]
    y, X = models.ordinal_design(frame)
    villages = _by_id(frame).loc[X.index, "village_id"].astype(str)
    sm = OrderedModel(y, X, distr="logit").fit(method="bfgs", disp=False, maxiter=2000, cov_type="cluster",
                                               cov_kwds={"groups": pd.factorize(villages)[0]})
    n, k = X.shape[0], len(sm.params)
    # statsmodels' CR1 factor has (N - 1)/(N - K) on top of the G/(G - 1) of ours; its Hessian is numerical
    ours = np.sqrt(np.diag(ologit.sandwich_cov) * (n - 1) / (n - k))
    assert np.allclose(ours, sm.bse.to_numpy(), rtol=2e-4)


def test_ols_fits_use_their_respondents_villages(frame, fits):
    ols = fits["ols"]
    own = _by_id(frame).loc[ols.ids["respondent_id"]]
    assert np.allclose(np.asarray(ols.model.endog), own["effectiveness"].to_numpy())
    assert (ols.cluster_labels[ols.groups] == own["village_id"].astype(str).to_numpy()).all()
    gaps = models.problem_gaps(frame).set_index("construct")
    for cid, row in gaps.iterrows():
        used = frame[[cid, "age", "role", "education"]].notna().all(axis=1)
        assert row["n"] == used.sum() and row["clusters"] == frame.loc[used, "village_id"].nunique()


def test_paths_average_over_the_z_town_respondents_of_the_ologit(frame, fits):
    z = scenarios.z_town_design(fits["ologit"])
    complete = frame[["satisfaction", *models.CAUSE_TERMS, "role"]].notna().all(axis=1)
    expected = frame.loc[complete & (frame["town_id"] == "Z"), "respondent_id"]
    assert sorted(z.index) == sorted(expected)
    assert len(z) == 425  # not 438: no Town A respondent among them
    assert (_by_id(frame).loc[z.index, "town_id"] == "Z").all()
    assert fits["paths"].attrs["z_town_respondents"] == 425
    # the baseline is the mean predicted P(4 or 5) of exactly those respondents
    res = fits["ologit"]
    probs = res.model.predict(res.params.to_numpy(), exog=z.to_numpy())
    assert fits["paths"].attrs["baseline_satisfied_share"] == pytest.approx(probs[:, 3:].sum(axis=1).mean(), abs=1e-12)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame):
    num = a.select_dtypes("number").columns
    assert list(a.columns) == list(b.columns)
    assert np.allclose(a[num].to_numpy(dtype=float), b[num].to_numpy(dtype=float), rtol=0, atol=TOL, equal_nan=True)


def test_shuffled_frame_with_another_index_gives_identical_results(frame, shuffled, fits):
    _assert_same(models.problem_gaps(frame), models.problem_gaps(shuffled))
    _assert_same(models.cause_gaps(frame), models.cause_gaps(shuffled))
    _assert_same(models.cause_gap_covariance(frame), models.cause_gap_covariance(shuffled))
    ols2, ologit2 = models.cause_ols(shuffled), models.satisfaction_ologit(shuffled)
    _assert_same(models.tidy(fits["ols"]), models.tidy(ols2))
    _assert_same(models.tidy(fits["ologit"]), models.tidy(ologit2))
    _assert_same(models.oaxaca(frame, fits["ols"]), models.oaxaca(shuffled, ols2))
    gaps2 = models.cause_gaps(shuffled)
    paths2 = scenarios.path_scenarios(shuffled, ols2, ologit2, gaps2, n_draws=400)
    _assert_same(fits["paths"], paths2)
    assert paths2.attrs == fits["paths"].attrs
    _assert_same(models.standardized(frame, fits["ols"]), models.standardized(shuffled, ols2))


def test_a_pooled_model_from_other_rows_is_refused(frame, fits):
    other = frame[frame["respondent_id"] != frame["respondent_id"].iat[0]]
    with pytest.raises(ValueError, match="not fitted on this frame's complete cases"):
        models.oaxaca(other, fits["ols"])
    with pytest.raises(ValueError, match="cause gaps given differ"):
        models.oaxaca(frame, fits["ols"], fits["gaps"].assign(estimate=fits["gaps"]["estimate"] + 0.01))


def test_village_table_uses_each_village_once(frame):
    villages = design.village_table(design.complete_cases(frame, models.CAUSE_TERMS), models.CAUSE_TERMS)
    assert villages["village_id"].is_unique and len(villages) == frame["village_id"].nunique()
    for cid in CAUSE_IDS:
        expected = frame.groupby("village_id")[cid].mean()
        assert np.allclose(villages.set_index("village_id")[f"idx_{cid}"], expected.loc[villages["village_id"]])
