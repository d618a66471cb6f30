"""Tests of the village-panel estimators (ztown.analysis.panel) against the generator's known truth.

Tolerances. Each recovery check asks |estimate - truth| < 4 SE (a 4-SE miss has probability
6e-5 per estimate if the SE is right, so a failure means bias or a wrong SE, not bad luck) AND
|estimate - truth| < 1 index point, so an estimator cannot pass by having huge SEs (at 10x size
the IW SEs are 0.2-0.35 points). The data are drawn from fixed seeds, so every test is
deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.linear_model import OLS, WLS

import ztown
from ztown.analysis import panel as P
from ztown.data import synth
from ztown.data.errors import DataPackageError

SEED = synth.DEFAULT_SEED
WINDOW = P.DEFAULT_WINDOW
MAX_SE = 4.0
MAX_POINTS = 1.0
# Strongly heterogeneous, slowly building effects: the early adopter (A) gains a lot, the late ones
# little, over six years. Exactly the case where the naive TWFE regressions break down.
HETEROGENEOUS = {"reform_ramp_years": "6", "reform_effect_A": "12", "reform_effect_B": "4",
                 "reform_effect_C": "1", "reform_effect_D": "0"}
NO_EFFECT = {f"reform_effect_{t}": "0" for t in "ABCD"}
NO_NOISE = {"panel_noise_sd": "0", "panel_year_sd": "0", "panel_village_sd": "0", "reform_ramp_years": "4"}


def _frames(size: int = 1, seed: int = SEED, **overrides: str) -> dict[str, pd.DataFrame]:
    return synth.generate(synth.apply_overrides(synth.default_parameters(seed),
                                                {"size_multiplier": str(size), **overrides}))


def _truth(frames) -> dict[str, float]:
    params = frames["parameters"]
    return dict(zip(params["parameter"], params["value"]))


def _event_truth(truth: dict, window=WINDOW) -> pd.Series:
    """att_event_e for e >= 0, zero before adoption (no anticipation)."""
    return pd.Series({e: truth[f"att_event_{e}"] if e >= 0 else 0.0 for e in range(window[0], window[1] + 1)})


def _assert_recovers(estimate: float, se: float, truth: float, what: str):
    miss = abs(estimate - truth)
    assert miss < MAX_SE * se and miss < MAX_POINTS, f"{what}: estimate {estimate:.3f}, truth {truth:.3f}, se {se:.3f}"


@pytest.fixture(scope="module")
def large():
    frames = _frames(size=10)
    panel = P.panel_frame(frames)
    return panel, _truth(frames), P.sun_abraham(panel)


@pytest.fixture(scope="module")
def heterogeneous():
    frames = _frames(size=10, **HETEROGENEOUS)
    return P.panel_frame(frames), _truth(frames)


@pytest.fixture(scope="module")
def small_panel():
    return P.panel_frame(_frames())


# --------------------------------------------------------------------------- the panel frame

def test_panel_frame_from_the_package_is_consistent():
    data = ztown.load()
    panel = P.panel_frame(data)
    assert list(panel.columns[:8]) == P.PANEL_KEY_COLUMNS + ["reform"]
    assert len(panel) == len(data.village_years)
    assert panel[["village_id", "year"]].equals(panel[["village_id", "year"]].sort_values(["village_id", "year"]))
    z = panel["town_id"] == "Z"
    assert panel.loc[z, "cohort"].isna().all() and panel.loc[z, "never_treated"].all()
    adoption = data.regions.set_index("town_id")["reform_year"].dropna().astype(int)
    treated = panel[~z]
    assert (treated["cohort"] == treated["town_id"].map(adoption)).all()
    assert (treated["event_time"] == treated["year"] - treated["cohort"]).all()
    assert (panel["treated_now"] == (panel["reform_in_force"].astype(str) != "none")).all()
    assert P.panel_frame(data).equals(panel)  # deterministic, same row order


def test_panel_frame_names_file_row_and_field_of_bad_input():
    frames = _frames()
    vy = frames["village_years"].copy()
    vy.loc[4, "reform_in_force"] = "local_mediation" if vy.loc[4, "reform_in_force"] == "none" else "none"
    vy.loc[9, "village_id"] = "Q99"
    with pytest.raises(DataPackageError) as err:
        P.panel_frame({**frames, "village_years": vy})
    problems = {(p.resource, p.row, p.field, p.kind) for p in err.value.problems}
    assert ("village_years", 11, "village_id", "foreign-key") in problems

    vy = frames["village_years"].copy()
    vy.loc[4, "reform_in_force"] = "local_mediation" if vy.loc[4, "reform_in_force"] == "none" else "none"
    with pytest.raises(DataPackageError, match=r"row 6, field reform_in_force"):
        P.panel_frame({**frames, "village_years": vy})

    with pytest.raises(DataPackageError, match=r"resource regions, field reform_year: \[missing-field\]"):
        P.panel_frame({**frames, "regions": frames["regions"].drop(columns="reform_year")})


def test_adoption_after_the_panel_counts_as_never_treated():
    panel = P.panel_frame(_frames(reform_year_D="2030"))
    assert panel.loc[panel["town_id"] == "D", "never_treated"].all()
    assert not panel.loc[panel["town_id"] == "D", "treated_now"].any()
    assert P.sun_abraham(panel).by_cohort["towns"].tolist() == ["A", "B", "C"]


# --------------------------------------------------------------------------- the regression machinery

def test_twfe_matches_statsmodels_dummy_regression(small_panel):
    """Absorbing village effects by demeaning gives statsmodels' LSDV estimate and its cluster SE."""
    result = P.twfe_did(small_panel)
    y = small_panel["satisfaction_index"]
    dummies = pd.get_dummies(small_panel[["village_id", "year"]].astype(str), drop_first=True, dtype=float)
    X = pd.concat([small_panel["treated_now"].astype(float), dummies], axis=1).assign(const=1.0)
    lsdv = OLS(y, X).fit()
    assert result["estimate"] == pytest.approx(lsdv.params["treated_now"], abs=1e-10)
    # The CR1 factor counts the regressors that are not absorbed (statsmodels' convention): refit on the
    # within-village data with statsmodels' own cluster covariance to compare the SE.
    within = X.drop(columns=[c for c in X if c.startswith("village_id_")] + ["const"])
    demean = lambda s: s - s.groupby(small_panel["village_id"]).transform("mean")  # noqa: E731
    fit = OLS(demean(y), within.apply(demean)).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(small_panel["village_id"])[0]}, use_t=True)
    assert result["se"] == pytest.approx(fit.bse["treated_now"], rel=1e-9)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(tuple(fit.conf_int().loc["treated_now"]), rel=1e-9)
    assert result["n_clusters"] == small_panel["village_id"].nunique() and result["n_obs"] == len(small_panel)


def test_iw_cells_match_statsmodels_dummy_regression(small_panel):
    """The cohort x event-time effects are those of the saturated regression with village dummies."""
    sa = P.sun_abraham(small_panel)
    cells = sa.cohort_effects
    cohort = small_panel["cohort"].astype("float")
    event = small_panel["year"] - cohort
    X = pd.DataFrame({f"{g}:{e}": ((cohort == g) & (event == e)).astype(float)
                      for g, e in zip(cells["cohort"], cells["event_time"])})
    X = pd.concat([X, pd.get_dummies(small_panel[["village_id", "year"]].astype(str), drop_first=True, dtype=float)],
                  axis=1).assign(const=1.0)
    lsdv = OLS(small_panel["satisfaction_index"], X).fit()
    assert np.allclose(cells["estimate"], lsdv.params.iloc[:len(cells)], atol=1e-9)


def test_stacked_matches_statsmodels_weighted_dummy_regression(small_panel):
    """Stacks built by hand, with stack x village and stack x year dummies, give the same estimates."""
    lo, hi = P.DEFAULT_STACK_WINDOW
    stacks = []
    for g in (2016, 2018, 2019, 2020):
        in_window = small_panel["year"].between(g + lo, g + hi)
        treated = (small_panel["cohort"] == g).fillna(False)
        clean = small_panel["never_treated"] | (small_panel["cohort"] > g + hi).fillna(False)
        stacks.append(small_panel[in_window & (treated | clean)].assign(stack=g, treated=treated))
    stacked = pd.concat(stacks, ignore_index=True)
    n_treated = stacked[stacked["treated"]].groupby("stack")["village_id"].nunique()
    n_control = stacked[~stacked["treated"]].groupby("stack")["village_id"].nunique()
    control_weight = (n_treated / n_treated.sum()) / (n_control / n_control.sum())
    weight = np.where(stacked["treated"], 1.0, stacked["stack"].map(control_weight))
    events = [e for e in range(lo, hi + 1) if e != -1]
    X = pd.DataFrame({e: (stacked["treated"] & (stacked["year"] - stacked["stack"] == e)).astype(float)
                      for e in events})
    stack_of = stacked["stack"].astype(str)
    X = pd.concat([X, pd.get_dummies(stack_of + stacked["village_id"], drop_first=True, dtype=float),
                   pd.get_dummies(stack_of + "/" + stacked["year"].astype(str), dtype=float)
                   .drop(columns=[f"{g}/{g + lo}" for g in (2016, 2018, 2019, 2020)])], axis=1).assign(const=1.0)
    lsdv = WLS(stacked["satisfaction_index"], X, weights=weight).fit()
    ours = P.stacked_did(small_panel).event_study.query("~reference")
    assert np.allclose(ours["estimate"], lsdv.params[events], atol=1e-9)


def test_noiseless_panel_is_recovered_exactly():
    """Without noise the IW and stacked estimates equal their targets (up to the 0.1-point rounding)."""
    frames = _frames(**NO_NOISE)
    truth, panel = _truth(frames), P.panel_frame(frames)
    sa = P.sun_abraham(panel, window=(-6, 7))
    assert np.allclose(sa.event_study["estimate"], _event_truth(truth, (-6, 7)), atol=0.02)
    assert sa.overall["estimate"] == pytest.approx(truth["att_overall"], abs=0.02)
    by_town = sa.by_cohort.set_index("towns")["estimate"]
    assert np.allclose(by_town, [truth[f"att_town_{t}"] for t in by_town.index], atol=0.02)
    stacked = P.stacked_did(panel)  # every cohort fits the default stacking window
    assert stacked.design["included"].all()
    assert np.allclose(stacked.event_study["estimate"], _event_truth(truth, P.DEFAULT_STACK_WINDOW), atol=0.02)
    assert abs(P.twfe_did(panel)["estimate"] - truth["att_overall"]) > 0.5  # the naive one is off even so


# --------------------------------------------------------------------------- recovering the truth

def test_iw_event_study_recovers_the_truth_at_large_size(large):
    _, truth, sa = large
    table = sa.event_study
    assert list(table.columns) == P.EVENT_COLUMNS
    assert table["event_time"].tolist() == list(range(WINDOW[0], WINDOW[1] + 1))
    target = _event_truth(truth)
    for row in table[~table["reference"]].itertuples():
        _assert_recovers(row.estimate, row.se, target[row.event_time], f"IW e={row.event_time}")
    ref = table[table["reference"]].iloc[0]
    assert ref["event_time"] == -1 and ref["estimate"] == 0 and np.isnan(ref["se"])


def test_iw_overall_and_per_town_recover_the_truth(large):
    _, truth, sa = large
    assert list(sa.overall.index) == P.ESTIMATE_FIELDS
    _assert_recovers(sa.overall["estimate"], sa.overall["se"], truth["att_overall"], "IW overall")
    assert list(sa.by_cohort.columns) == P.COHORT_COLUMNS
    assert sa.by_cohort["towns"].tolist() == ["A", "B", "C", "D"]
    for row in sa.by_cohort.itertuples():
        _assert_recovers(row.estimate, row.se, truth[f"att_town_{row.towns}"], f"IW town {row.towns}")
    cells = sa.cohort_effects
    assert len(cells) == 4 * 9 and not (cells["event_time"] == -1).any()  # 10 years per cohort, minus e=-1


def test_pretrend_test_does_not_reject_under_parallel_trends(large):
    _, _, sa = large
    test = P.pretrend_test(sa)
    assert test["leads"] == (-4, -3, -2) and test["df"] == 3 and test["df_denom"] == sa.n_clusters - 1
    assert test["p_value"] > 0.01
    leads = sa.event_study[sa.event_study["event_time"] < -1]
    assert (leads["estimate"].abs() < MAX_SE * leads["se"]).all() and (leads["estimate"].abs() < MAX_POINTS).all()


def test_stacked_did_recovers_the_truth_at_large_size(large):
    panel, truth, _ = large
    stacked = P.stacked_did(panel)
    assert stacked.design["included"].all()  # so its target is att_event_e itself
    table = stacked.event_study[~stacked.event_study["reference"]]
    for row in table.itertuples():
        _assert_recovers(row.estimate, row.se, _event_truth(truth, P.DEFAULT_STACK_WINDOW)[row.event_time],
                         f"stacked e={row.event_time}")
    narrow = P.stacked_did(panel, window=WINDOW).design  # only the 2018 cohort fits 2014-2023 from -4 to 5
    assert narrow.loc[narrow["included"], "cohort"].tolist() == [2018]


def test_no_effect_gives_a_confidence_interval_around_zero():
    panel = P.panel_frame(_frames(**NO_EFFECT))
    sa = P.sun_abraham(panel)
    assert sa.overall["ci_low"] < 0 < sa.overall["ci_high"]


# --------------------------------------------------------------------------- why not naive TWFE

def test_iw_beats_naive_twfe_with_heterogeneous_dynamic_effects(heterogeneous):
    panel, truth = heterogeneous
    naive, sa = P.twfe_did(panel), P.sun_abraham(panel)
    naive_miss = abs(naive["estimate"] - truth["att_overall"])
    iw_miss = abs(sa.overall["estimate"] - truth["att_overall"])
    assert naive_miss > 10 * naive["se"] and naive_miss > 2.0  # visibly biased, not noise
    _assert_recovers(sa.overall["estimate"], sa.overall["se"], truth["att_overall"], "IW overall")
    assert iw_miss < naive_miss / 3

    dynamic = P.event_study_twfe(panel)
    naive_events = dynamic.event_study.set_index("event_time")["estimate"]
    iw = sa.event_study.set_index("event_time")["estimate"]
    target = _event_truth(truth)
    assert (iw - target).abs().max() < (naive_events - target).abs().max() / 2
    # Contamination alone makes the naive leads "detect" a pre-trend that does not exist.
    assert P.pretrend_test(dynamic)["p_value"] < 1e-6
    assert P.pretrend_test(sa)["p_value"] > 0.01


# --------------------------------------------------------------------------- clear errors

def test_unknown_or_non_numeric_outcome_is_a_clear_error(small_panel):
    with pytest.raises(ValueError, match=r"outcome 'happiness' is not a column.*satisfaction_index"):
        P.sun_abraham(small_panel, outcome="happiness")
    with pytest.raises(ValueError, match=r"outcome 'reform_in_force' is not a numeric outcome"):
        P.twfe_did(small_panel, outcome="reform_in_force")


def test_panel_without_never_treated_villages_is_a_clear_error(small_panel):
    treated_only = small_panel[~small_panel["never_treated"]]
    with pytest.raises(P.PanelDesignError, match="no never-treated villages"):
        P.sun_abraham(treated_only)


def test_cohort_without_a_reference_year_is_a_clear_error():
    panel = P.panel_frame(_frames(reform_year_A="2014"))
    with pytest.raises(P.PanelDesignError, match=r"cohort\(s\) 2014 have no village-year at event time -1"):
        P.sun_abraham(panel)


def test_bad_windows_are_clear_errors(small_panel):
    with pytest.raises(ValueError, match="reaches beyond the event times the panel observes"):
        P.sun_abraham(small_panel, window=(-9, 5))
    with pytest.raises(ValueError, match="first <= -1 and last >= 0"):
        P.event_study_twfe(small_panel, window=(0, 5))
    with pytest.raises(ValueError, match="has no lead to test"):
        P.pretrend_test(P.sun_abraham(small_panel, window=(-1, 3)))


# --------------------------------------------------------------------------- the stacked design's overall

CONSTANT = {"reform_ramp_years": "1", **{f"reform_effect_{t}": "3" for t in "ABCD"}}


def test_stacked_overall_is_the_stated_average_of_its_event_times(small_panel):
    stacked = P.stacked_did(small_panel)
    assert list(stacked.overall.index) == P.ESTIMATE_FIELDS and stacked.overall["estimator"] == "stacked"
    w = stacked.overall_weights
    assert list(w.index) == list(range(0, P.DEFAULT_STACK_WINDOW[1] + 1)) and w.sum() == pytest.approx(1.0)
    assert np.allclose(w, 1 / len(w))  # every included cohort is seen at every event time of the window
    table = stacked.event_study.set_index("event_time")
    assert stacked.overall["estimate"] == pytest.approx((w * table.loc[w.index, "estimate"]).sum())
    V = stacked.vcov.loc[w.index, w.index].to_numpy()
    assert stacked.overall["se"] == pytest.approx(np.sqrt(w.to_numpy() @ V @ w.to_numpy()))
    assert stacked.overall["n_treated_obs"] == table.loc[w.index, "n_treated_obs"].sum()


def test_stacked_overall_covers_the_truth_on_the_committed_data():
    data = ztown.load()
    stacked = P.stacked_did(P.panel_frame(data))
    o, w = stacked.overall, stacked.overall_weights
    window_truth = sum(w[e] * data.truth[f"att_event_{e}"] for e in w.index)  # what it targets
    for truth in (window_truth, data.truth["att_overall"]):
        assert o["ci_low"] < truth < o["ci_high"], (o["estimate"], o["ci_low"], o["ci_high"], truth)


def test_stacked_overall_recovers_a_known_constant_effect():
    exact = P.stacked_did(P.panel_frame(_frames(**{**NO_NOISE, **CONSTANT})))
    assert exact.overall["estimate"] == pytest.approx(3.0, abs=0.02)  # up to the 0.1-point rounding
    frames = _frames(size=10, **CONSTANT)
    truth = _truth(frames)
    assert truth["att_overall"] == pytest.approx(3.0)
    noisy = P.stacked_did(P.panel_frame(frames)).overall
    _assert_recovers(noisy["estimate"], noisy["se"], 3.0, "stacked overall")
