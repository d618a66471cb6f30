"""The cross-sectional models recover the generator's truth at a large sample, within stated tolerances.

Tolerance: |estimate - truth| < 4 standard errors + 6% of the truth. The 6% allows for the two
attenuations the design builds in and the book documents (answers cut off at both ends of the Likert
scale; cause indices measured with error as village means); the 4 SE for sampling noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from ztown.analysis import models, scales, scenarios

from ztown.data import synth
from ztown.data.constructs import CAUSE_IDS


def _close(est, se, truth):
    return abs(est - truth) < 4 * se + 0.06 * abs(truth)


@pytest.fixture(scope="module")
def large():
    params = synth.apply_overrides(synth.default_parameters(7), {"size_multiplier": "6"})
    data = synth.generate_study(params)
    frame = scales.analysis_frame(data)
    ols = models.cause_ols(frame)
    return data, frame, ols


def test_ols_and_mixed_model_recover_the_cause_effects(large):
    data, frame, ols = large
    mixed = models.cause_mixed(frame)
    for res in (ols, mixed):
        table = models.tidy(res, models.CAUSE_TERMS)
        for cid, row in zip(CAUSE_IDS, table.itertuples()):
            assert _close(row.estimate, row.se, data.truth[f"beta_{cid}"]), (cid, row.estimate, row.se)


def test_ordered_logit_recovers_theta_times_beta(large):
    data, frame, _ = large
    table = models.tidy(models.satisfaction_ologit(frame), models.CAUSE_TERMS)
    for cid, row in zip(CAUSE_IDS, table.itertuples()):
        assert _close(row.estimate, row.se, data.truth[f"ologit_{cid}"]), (cid, row.estimate, row.se)


def test_oaxaca_recovers_the_contributions_and_adds_up(large):
    data, frame, ols = large
    oax = models.oaxaca(frame, ols).set_index("part")
    for cid in CAUSE_IDS:
        row = oax.loc[cid]
        assert _close(row["estimate"], row["se"], data.truth[f"oaxaca_{cid}"]), cid
    parts = oax.loc[list(CAUSE_IDS), "estimate"].sum()
    assert oax.loc["explained", "estimate"] == pytest.approx(parts)
    assert oax.loc["explained", "estimate"] + oax.loc["unexplained", "estimate"] == pytest.approx(
        oax.loc["total", "estimate"])


def test_problem_gaps_recover_the_effectiveness_gap(large):
    data, frame, _ = large
    gaps = models.problem_gaps(frame).set_index("construct")
    for cid, row in gaps.iterrows():
        assert _close(row["estimate"], row["se"], data.truth["effectiveness_gap"]), cid


def test_zeroed_cause_is_estimated_near_zero():
    params = synth.apply_overrides(synth.default_parameters(11), {"size_multiplier": "4", "beta_sys": "0"})
    frame = scales.analysis_frame(synth.generate_study(params))
    row = models.tidy(models.cause_ols(frame), ["idx_sys"]).iloc[0]
    assert row.ci_low < 0.03 and abs(row.estimate) < 4 * row.se + 0.02


def test_contrast_equals_hand_computed_combination(study):
    frame = scales.analysis_frame(study)
    gap, fit = models.town_gap(frame, "frm")
    p = fit.params
    by_hand = p["C(town_id)[Z]"] - np.mean([p[f"C(town_id)[{t}]"] for t in "ABCD"])
    assert gap["estimate"] == pytest.approx(by_hand)


def test_path_effects_are_minus_the_oaxaca_terms(study):
    frame = scales.analysis_frame(study)
    ols = models.cause_ols(frame)
    gaps = models.cause_gaps(frame)
    paths = scenarios.path_scenarios(frame, ols, models.satisfaction_ologit(frame), gaps, n_draws=50).set_index("path")
    oax = models.oaxaca(frame, ols).set_index("part")
    for cid in CAUSE_IDS:
        assert paths.loc[cid, "effectiveness_change"] == pytest.approx(-oax.loc[cid, "estimate"])
        assert paths.loc[cid, "effectiveness_se"] == pytest.approx(oax.loc[cid, "se"])
    assert sorted(paths["rank"].dropna().astype(int)) == [1, 2, 3, 4, 5]


def test_vectorized_share_satisfied_matches_statsmodels_predict(study):
    frame = scales.analysis_frame(study)
    res = models.satisfaction_ologit(frame)
    _, X = models.ordinal_design(frame)
    exog = X.to_numpy()
    by_statsmodels = res.model.predict(res.params.to_numpy(), exog=exog)[:, 3:].sum(axis=1).mean()
    params = res.params.to_numpy()[None, :]
    cut3 = np.array([res.model.transform_threshold_params(params[0])[3]])
    assert scenarios._share_satisfied(params, cut3, exog)[0] == pytest.approx(by_statsmodels)
    # a shift of the linear predictor equals the same shift of the indices times their coefficients
    shifted = exog.copy()
    shifted[:, 0] += 0.5
    by_shifted_exog = res.model.predict(params[0], exog=shifted)[:, 3:].sum(axis=1).mean()
    assert scenarios._share_satisfied(params, cut3, exog, params[:, 0] * 0.5)[0] == pytest.approx(by_shifted_exog)


def test_oaxaca_is_one_level_with_a_group_indicator_and_every_part_has_an_se(study):
    frame = scales.analysis_frame(study)
    ols = models.cause_ols(frame)
    assert models.GROUP_TERM in ols.params.index  # the pooled reference model (Jann 2008; Fortin et al. 2011)
    oax = models.oaxaca(frame, ols)
    assert oax.attrs["level"] == "village"
    parts = oax.set_index("part")
    assert parts[["se", "ci_low", "ci_high", "df"]].notna().all().all()
    # the total is the village-level gap net of the controls' composition
    assert parts.loc["total", "estimate"] == pytest.approx(oax.attrs["raw_total"] - oax.attrs["composition"])
    villages = frame.dropna(subset=["effectiveness", "age"]).groupby("village_id").agg(
        town=("town_id", "first"), y=("effectiveness", "mean"))
    by_town = villages.groupby("town", observed=True)["y"].mean()
    assert oax.attrs["raw_total"] == pytest.approx(by_town["Z"] - by_town[list("ABCD")].mean())


def test_oaxaca_total_and_explained_recover_the_gap_at_large_size(large):
    data, frame, ols = large
    oax = models.oaxaca(frame, ols).set_index("part")
    for part in ("explained", "total"):
        assert _close(oax.loc[part, "estimate"], oax.loc[part, "se"], data.truth["effectiveness_gap"]), part
    assert abs(oax.loc["unexplained", "estimate"]) < 4 * oax.loc["unexplained", "se"]
