"""Randomization inference over the five towns: known answers on small designs, and on the committed
data every relabeled contrast is the book's estimator applied with another town as "Z"."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ztown.analysis import models, panel, scales, towninference


def _toy_frame(town_values: dict[str, float]) -> pd.DataFrame:
    """Three villages per town, each with the town's value plus a fixed village wiggle."""
    rows = []
    for town, value in town_values.items():
        for v, wiggle in enumerate((-0.1, 0.0, 0.1)):
            rows.append({"village_id": f"{town}{v}", "town_id": town, "y": value + wiggle})
    return pd.DataFrame(rows)


def _z_minus_rest(frame: pd.DataFrame) -> pd.Series:
    means = frame.groupby("town_id")["y"].mean()
    return pd.Series({"y": means["Z"] - means.drop("Z").mean()})


def test_z_the_most_extreme_town_gives_the_smallest_attainable_p_exactly():
    table = towninference.z_contrast_ri(_toy_frame({"Z": -3.0, "A": 0.5, "B": 0.0, "C": 1.0, "D": -0.5}),
                                        _z_minus_rest)
    row = table.iloc[0]
    assert row["assignments"] == 5 and row["min_p"] == 0.2
    assert row["p_value"] == 0.2 and row["p_lower"] == 0.2 and row["p_upper"] == 1.0
    assert row["rank"] == 1
    assert row["estimate"] == pytest.approx(-3.0 - 0.25)


def test_z_in_the_middle_gives_the_share_of_towns_as_extreme():
    # contrasts (town minus the other four): Z 0.0, A 2.5, B -2.5, C 1.25, D -1.25
    table = towninference.z_contrast_ri(_toy_frame({"Z": 0.0, "A": 2.0, "B": -2.0, "C": 1.0, "D": -1.0}),
                                        _z_minus_rest)
    row = table.iloc[0]
    assert row["estimate"] == pytest.approx(0.0)
    assert row["p_value"] == 1.0  # every town's contrast is at least as far from 0 as Z town's
    assert row["p_lower"] == pytest.approx(0.6) and row["p_upper"] == pytest.approx(0.6)
    assert row["as_A"] == pytest.approx(2.5) and row["as_B"] == pytest.approx(-2.5)
    # the relabeled contrasts of "town minus the other four" always sum to zero
    assert sum(row[f"as_{t}"] for t in towninference.TOWNS) == pytest.approx(0.0, abs=1e-12)


def test_a_frame_without_the_five_towns_is_refused():
    with pytest.raises(ValueError, match="exactly the towns"):
        towninference.z_contrast_ri(_toy_frame({"Z": 0.0, "A": 1.0, "B": 2.0}), _z_minus_rest)


@pytest.fixture(scope="module")
def frame(study):
    return scales.analysis_frame(study)


def test_problem_gaps_ri_relabels_the_books_estimator(frame):
    table = towninference.problem_gaps_ri(frame).set_index("contrast")
    book = models.problem_gaps(frame).set_index("construct")
    assert np.allclose(table.loc[book.index, "as_Z"], book["estimate"], atol=1e-12)
    # town A as "Z": the same regression's contrast A - mean(Z, B, C, D), computed directly
    data = frame.dropna(subset=[scales.EFFECTIVENESS, "age", "role", "education"])
    fit = models.cluster_ols(f"{scales.EFFECTIVENESS} ~ 0 + C(town_id) + {models.CONTROLS}", data)
    coef = {t: fit.params[f"C(town_id)[{t}]"] for t in towninference.TOWNS}
    direct = coef["A"] - np.mean([coef[t] for t in towninference.TOWNS if t != "A"])
    assert table.loc[scales.EFFECTIVENESS, "as_A"] == pytest.approx(direct, abs=1e-10)
    assert set(table["p_value"]) <= {0.2, 0.4, 0.6, 0.8, 1.0}


def test_cause_gaps_ri_on_the_committed_data(frame):
    table = towninference.cause_gaps_ri(frame)
    book = models.cause_gaps(frame).set_index("cause")
    assert np.allclose(table.set_index("contrast").loc[book.index, "as_Z"], book["estimate"], atol=1e-12)
    assert (table["min_p"] == 0.2).all()


@pytest.fixture(scope="module")
def pf(study):
    return panel.panel_frame(study)


def test_adoption_assignments_are_the_120_permutations_observed_first(pf):
    assignments = towninference.adoption_assignments(pf)
    assert len(assignments) == math.factorial(5)
    observed = pf.groupby("town_id")["cohort"].first()
    first = assignments[0]
    for town, year in observed.items():
        assert (np.isnan(first[town]) and pd.isna(year)) or first[town] == year
    keys = {tuple("never" if np.isnan(a[t]) else int(a[t]) for t in sorted(a)) for a in assignments}
    assert len(keys) == 120
    assert all(sum(np.isnan(a[t]) for t in a) == 1 for a in assignments)  # one never-treated town each time


def test_with_adoption_moves_the_treatment_with_the_town(pf):
    swapped = {"Z": 2016.0, "A": np.nan, "B": 2018.0, "C": 2019.0, "D": 2020.0}
    moved = towninference.with_adoption(pf, swapped)
    assert moved.loc[moved["town_id"] == "A", "never_treated"].all()
    z = moved[moved["town_id"] == "Z"]
    assert (z["treated_now"] == (z["year"] >= 2016)).all()
    assert "reform_in_force" not in moved.columns


def test_did_ri_p_values_follow_from_the_distribution(pf):
    ri = towninference.did_ri(pf)
    dist = ri.distribution
    assert ri.assignments == 120 and ri.min_p == pytest.approx(1 / 120)
    assert dist["observed"].iloc[0] and dist["observed"].sum() == 1
    assert ri.observed == pytest.approx(panel.sun_abraham(pf).overall["estimate"])
    est = dist["estimate"].to_numpy()
    assert ri.p_value == pytest.approx(np.mean(np.abs(est) >= abs(ri.observed) - 1e-9))
    assert ri.p_upper == pytest.approx(np.mean(est >= ri.observed - 1e-9))
    # one assignment recomputed by hand
    k = 7
    assignment = {t: dist.loc[k, f"year_{t}"] for t in towninference.TOWNS}
    again = panel.sun_abraham(towninference.with_adoption(pf, assignment)).overall["estimate"]
    assert dist.loc[k, "estimate"] == pytest.approx(again)


def test_did_ri_without_any_effect_cannot_reject():
    # a panel whose outcome ignores the treatment: every assignment gives the same picture up to noise,
    # and with an outcome that is identical across villages every estimate is 0, so p = 1
    rows = []
    for town, g in {"Z": None, "A": 2016, "B": 2018, "C": 2019, "D": 2020}.items():
        for v in range(3):
            for year in range(2014, 2024):
                rows.append({"village_id": f"{town}{v}", "town_id": town, "year": year, "cohort": g,
                             "satisfaction_index": 50.0 + year - 2014})
    pf = pd.DataFrame(rows)
    pf["cohort"] = pf["cohort"].astype("Int64")
    ri = towninference.did_ri(pf, lambda f: pd.Series({"estimate": panel.sun_abraham(f).overall["estimate"]}))
    assert np.allclose(ri.distribution["estimate"], 0, atol=1e-9)
    assert ri.p_value == 1.0


def test_design_summary_states_the_towns_behind_each_design(frame, pf):
    summary = towninference.design_summary(frame, pf).set_index("design")
    z = summary.loc["Z town against the comparison towns"]
    assert (z["towns"], z["treated_towns"], z["control_towns"], z["assignments"]) == (5, 1, 4, 5)
    did = summary.loc["the comparison towns' reforms (DiD)"]
    assert (did["treated_towns"], did["control_towns"], did["assignments"]) == (4, 1, 120)
    assert did["village_clusters"] == pf["village_id"].nunique()


def test_reform_ri_overall_agrees_with_did_ri_and_names_each_years_town(pf):
    table = towninference.reform_ri(pf).set_index("contrast")
    ri = towninference.did_ri(pf)
    assert table.loc["overall", "p_upper"] == pytest.approx(ri.p_upper)
    assert table.loc["overall", "estimate"] == pytest.approx(ri.observed)
    by_cohort = panel.sun_abraham(pf).by_cohort
    for r in by_cohort.itertuples():
        assert table.loc[str(r.cohort), "estimate"] == pytest.approx(r.estimate)
        assert table.loc[str(r.cohort), "town"] == r.towns
    assert (table["assignments"] == 120).all()
    assert ((table["p_upper"] >= 1 / 120) & (table["p_upper"] <= 1)).all()
