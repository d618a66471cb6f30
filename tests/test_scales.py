"""Measurement: Cronbach's alpha against a hand-computed example, reverse coding, scale scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ztown.analysis import scales
from ztown.data.constructs import ITEMS


def test_cronbach_alpha_matches_hand_computation():
    # Items a, b, c answered by four respondents.
    # Item variances (ddof=1): a = 2/3, b = 2.75/3, c = 3/3, summing to 7.75/3.
    # Sum scores 4, 6, 7, 10: mean 6.75, squared deviations 18.75, variance 6.25.
    # alpha = 3/2 * (1 - (7.75/3) / 6.25) = 3/2 * 11/18.75 = 0.88.
    items = pd.DataFrame({"a": [1, 2, 2, 3], "b": [1, 2, 3, 3], "c": [2, 2, 2, 4]}, dtype=float)
    assert scales.cronbach_alpha(items) == pytest.approx(0.88, abs=1e-12)


def test_cronbach_alpha_uses_complete_cases_only():
    items = pd.DataFrame({"a": [1, 2, 2, 3, np.nan], "b": [1, 2, 3, 3, 5], "c": [2, 2, 2, 4, 1]}, dtype=float)
    assert scales.cronbach_alpha(items) == pytest.approx(0.88, abs=1e-12)


def test_cronbach_alpha_is_one_for_identical_items_and_refuses_one_item():
    x = pd.Series([1.0, 2.0, 4.0, 5.0])
    assert scales.cronbach_alpha(pd.DataFrame({"a": x, "b": x, "c": x})) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="two items"):
        scales.cronbach_alpha(pd.DataFrame({"a": x}))


def test_reverse_coded_items_are_reversed_and_missing_stays_missing(small_study):
    r = small_study.respondents
    scores = scales.item_scores(r)
    for item in ITEMS:
        raw = r[item.id].astype("Float64").astype(float)
        expected = 6 - raw if item.reverse_coded else raw
        pd.testing.assert_series_equal(scores[item.id], expected, check_names=False)
    assert scores.isna().sum().sum() == r[[i.id for i in ITEMS]].isna().sum().sum()


def test_scale_score_needs_two_items():
    one = pd.DataFrame({i.id: [pd.NA] for i in ITEMS}).astype("Int64")
    one["frm1"] = 4
    frame = scales.scale_scores(one)
    assert np.isnan(frame.loc[0, "frm"])
    one["frm2"] = 2
    assert scales.scale_scores(one).loc[0, "frm"] == pytest.approx(3.0)


def test_answer_shares_sum_to_one(small_study):
    shares = scales.answer_shares(small_study.respondents, small_study.villages)
    total = shares[["1", "2", "3", "4", "5"]].sum(axis=1)
    assert np.allclose(total[shares["answered"] > 0], 1.0)


def test_village_index_is_constant_within_village(study):
    frame = scales.analysis_frame(study)
    spread = frame.groupby("village_id")[["idx_sup", "idx_fun"]].nunique()
    assert (spread <= 1).all().all()


def test_village_index_is_the_full_village_mean_not_leave_one_out(study):
    """What the docstrings say: every respondent's own answer is in their village's index."""
    frame = scales.analysis_frame(study)
    for cid in ("sup", "fun"):
        full = frame.groupby("village_id")[cid].transform("mean")
        assert np.allclose(frame[f"idx_{cid}"], full)
        answered = frame.groupby("village_id")[cid].transform("count")
        loo = (frame.groupby("village_id")[cid].transform("sum") - frame[cid]) / (answered - 1)
        assert not np.allclose(frame[f"idx_{cid}"], loo, equal_nan=True)
