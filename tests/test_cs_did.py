"""Callaway-Sant'Anna with not-yet-treated controls: every ATT(g, t) equals a hand computation from
the raw panel, the variance is Welch's for a single cell, a noise-free panel gives the effects back
exactly, and on the committed data the overall estimate covers the generator's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ztown.analysis import cs_did, panel


@pytest.fixture(scope="module")
def pf(study):
    return panel.panel_frame(study)


@pytest.fixture(scope="module")
def result(pf):
    return cs_did.callaway_santanna(pf)


def _hand_att(pf: pd.DataFrame, g: int, t: int) -> tuple[float, np.ndarray, np.ndarray]:
    """ATT(g, t) from group means of the raw rows, written independently of the module."""
    base = g - 1 if t >= g else t - 1
    cohort = pf.groupby("village_id")["cohort"].first()
    y = pf.pivot(index="village_id", columns="year", values="satisfaction_index")
    change = y[t] - y[base]
    treated = cohort.index[cohort == g]
    later = cohort.isna() | (cohort > max(t, base))
    controls = cohort.index[later.fillna(True).to_numpy() & (cohort != g).fillna(True).to_numpy()]
    return (float(change[treated].mean() - change[controls].mean()), change[treated].to_numpy(),
            change[controls].to_numpy())


def test_every_group_time_effect_matches_the_hand_computation(pf, result):
    gt = result.group_time
    assert len(gt) > 20
    for r in gt.itertuples():
        expected, tr, co = _hand_att(pf, r.cohort, r.year)
        assert r.estimate == pytest.approx(expected, abs=1e-10), (r.cohort, r.year)
        assert (r.n_treated, r.n_control) == (len(tr), len(co))


def test_not_yet_treated_controls_are_the_right_villages(pf, result):
    towns = pf.groupby("town_id")["village_id"].nunique()
    cohort = pf.groupby("town_id")["cohort"].first()
    first = int(cohort.min())  # the first cohort; its control set shrinks as later towns adopt
    row = result.group_time.set_index(["cohort", "year"]).loc[(first, first)]
    later = [t for t, g in cohort.items() if pd.isna(g) or g > first]
    assert row["n_control"] == towns[later].sum()
    last_year = int(pf["year"].max())
    row = result.group_time.set_index(["cohort", "year"]).loc[(first, last_year)]
    assert row["n_control"] == towns[[t for t, g in cohort.items() if pd.isna(g)]].sum()  # only Z town


def test_a_single_cell_has_welch_variance_and_degrees_of_freedom(pf, result):
    r = result.group_time.iloc[3]
    _, tr, co = _hand_att(pf, r["cohort"], r["year"])
    v_t, v_c = tr.var(ddof=1) / len(tr), co.var(ddof=1) / len(co)
    assert r["se"] == pytest.approx(np.sqrt(v_t + v_c), rel=1e-10)
    a, b = 1 / len(tr), 1 / len(co)  # Satterthwaite with a common variance
    df = (a + b) ** 2 / (a ** 2 / (len(tr) - 1) + b ** 2 / (len(co) - 1))
    assert r["df"] == pytest.approx(df, rel=1e-10)
    q = stats.t.ppf(0.975, df)
    assert r["ci_high"] - r["estimate"] == pytest.approx(q * r["se"], rel=1e-10)


def test_aggregates_are_the_cohort_weighted_averages_of_the_cells(pf, result):
    gt = result.group_time
    size = pf.groupby("cohort")["village_id"].nunique()
    post = gt[gt["post"]]
    w = post["cohort"].map(size)
    assert result.overall["estimate"] == pytest.approx(float((w * post["estimate"]).sum() / w.sum()), abs=1e-12)
    for r in result.event_study.itertuples():
        cells = gt[gt["event_time"] == r.event_time]
        w = cells["cohort"].map(size)
        assert r.estimate == pytest.approx(float((w * cells["estimate"]).sum() / w.sum()), abs=1e-12)
    for r in result.by_cohort.itertuples():
        assert r.estimate == pytest.approx(post.loc[post["cohort"] == r.cohort, "estimate"].mean(), abs=1e-12)
    # the influence functions give the reported SEs
    n = result.n_villages
    assert result.overall["se"] == pytest.approx(float(np.sqrt((result.influence["overall"] ** 2).sum()) / n))


def test_overall_effect_covers_the_generators_truth(study, result):
    truth = study.truth["att_overall"]
    assert result.overall["ci_low"] <= truth <= result.overall["ci_high"]
    assert abs(result.overall["estimate"] - truth) < 2.5 * result.overall["se"]
    assert 20 < result.overall["df"] <= result.n_villages


def _noise_free_panel() -> tuple[pd.DataFrame, dict]:
    """Village and year effects plus a known dynamic effect per cohort, nothing else."""
    rng = np.random.default_rng(3)
    cohorts = {"Z": None, "A": 2016, "B": 2018, "C": 2019, "D": 2020}
    effect = {"A": 5.0, "B": 6.0, "C": 4.5, "D": 5.0}
    rows = []
    for town, g in cohorts.items():
        for v in range(4):
            alpha = rng.normal(60, 3)
            for year in range(2014, 2024):
                e = None if g is None else year - g
                tau = 0.0 if e is None or e < 0 else effect[town] * min(e + 1, 2) / 2
                rows.append({"village_id": f"{town}{v}", "town_id": town, "year": year,
                             "cohort": g, "satisfaction_index": alpha + 0.8 * (year - 2014) + tau})
    frame = pd.DataFrame(rows)
    frame["cohort"] = frame["cohort"].astype("Int64")
    return frame, effect


def test_a_noise_free_panel_gives_the_effects_back_exactly():
    frame, effect = _noise_free_panel()
    res = cs_did.callaway_santanna(frame)
    gt = res.group_time
    pre = gt[~gt["post"]]
    assert np.allclose(pre["estimate"], 0, atol=1e-10)
    town_of = {2016: "A", 2018: "B", 2019: "C", 2020: "D"}
    for r in gt[gt["post"]].itertuples():
        assert r.estimate == pytest.approx(effect[town_of[r.cohort]] * min(r.event_time + 1, 2) / 2, abs=1e-10)
    assert np.allclose(gt["se"], 0, atol=1e-10)


def test_never_treated_controls_use_z_town_only(pf):
    res = cs_did.callaway_santanna(pf, control="never")
    z = pf.loc[pf["cohort"].isna(), "village_id"].nunique()
    assert (res.group_time["n_control"] == z).all()


def test_an_unbalanced_panel_uses_the_villages_seen_in_both_years(pf, result):
    dropped = pf.drop(pf.index[(pf["village_id"] == pf["village_id"].iloc[0]) & (pf["year"] == 2015)])
    res = cs_did.callaway_santanna(dropped)
    row = res.group_time.set_index(["cohort", "year"]).loc[(2016, 2016)]
    full = result.group_time.set_index(["cohort", "year"]).loc[(2016, 2016)]
    assert row["n_treated"] + row["n_control"] == full["n_treated"] + full["n_control"] - 1


def test_bad_input_gets_a_clear_error(pf):
    with pytest.raises(ValueError, match="control must be one of"):
        cs_did.callaway_santanna(pf, control="everyone")
    with pytest.raises(ValueError, match="lacks the column"):
        cs_did.callaway_santanna(pf.drop(columns="cohort"))
    only_treated = pf[pf["cohort"].notna() & (pf["cohort"] == pf["cohort"].min())]
    with pytest.raises(panel.PanelDesignError, match="no adoption cohort has a control"):
        cs_did.callaway_santanna(only_treated)
