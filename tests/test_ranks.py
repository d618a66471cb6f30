"""Rank uncertainty: ranks in joint draws, rank intervals, the equality test, and the book's rankings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ztown.analysis import models, ranks, scales


def test_ranks_of_orders_descending_and_ties_share_the_best_rank():
    assert list(ranks.ranks_of(np.array([0.2, 0.5, 0.2, 0.1]))) == [2, 1, 2, 4]
    assert list(ranks.ranks_of(np.array([0.2, 0.5, 0.1]), descending=False)) == [2, 3, 1]


def test_well_separated_items_get_single_rank_intervals():
    draws = ranks.normal_draws(np.array([10.0, 5.0, 0.0]), np.eye(3) * 0.01, 2000, seed=1)
    table = ranks.rank_table(draws, ["a", "b", "c"])
    assert list(table["item"]) == ["a", "b", "c"]
    assert list(table["rank_low"]) == [1, 2, 3] and list(table["rank_high"]) == [1, 2, 3]
    assert np.allclose(table[["p_rank_1", "p_rank_2", "p_rank_3"]].sum(axis=1), 1.0)
    assert ranks.distinguishable(table, "a", "b")
    assert ranks.order_words(table).startswith("the order is the same in every draw")


def test_equal_items_are_not_distinguishable():
    draws = ranks.normal_draws(np.zeros(4), np.eye(4), 4000, seed=2)
    table = ranks.rank_table(draws, list("abcd"))
    assert (table["rank_low"] == 1).all() and (table["rank_high"] == 4).all()
    assert table["p_first"].between(0.2, 0.3).all()  # each about 1/4
    assert not ranks.distinguishable(table, "a", "d")
    assert "not distinguishable" in ranks.order_words(table)


def test_one_clear_leader_and_an_undistinguished_rest():
    draws = ranks.normal_draws(np.array([5.0, 0.0, 0.0, 0.0]), np.eye(4), 4000, seed=3)
    words = ranks.order_words(ranks.rank_table(draws, list("abcd")))
    assert words.startswith("only a can rank first (it does in more than 99 per cent")
    assert words.endswith("a; then d, c and b (not distinguishable from one another).")


def test_two_separate_groups_are_named_in_order():
    draws = ranks.normal_draws(np.array([10.0, 10.0, 0.0, 0.0]), np.eye(4), 4000, seed=4)
    words = ranks.order_words(ranks.rank_table(draws, list("abcd")))
    assert "groups" in words and words.index("a and b") < words.index("c and d")


def test_draws_are_seeded_and_t_draws_have_heavier_tails():
    a = ranks.normal_draws(np.zeros(2), np.eye(2), 500, seed=9)
    assert np.array_equal(a, ranks.normal_draws(np.zeros(2), np.eye(2), 500, seed=9))
    normal = ranks.normal_draws(np.zeros(1), np.eye(1), 20000, seed=5)
    t3 = ranks.normal_draws(np.zeros(1), np.eye(1), 20000, seed=5, df=3)
    assert np.quantile(np.abs(t3), 0.99) > 1.3 * np.quantile(np.abs(normal), 0.99)
    with pytest.raises(ValueError, match="cov must be"):
        ranks.normal_draws(np.zeros(2), np.eye(3))


def test_rank_table_refuses_bad_draws():
    with pytest.raises(ValueError, match="items"):
        ranks.rank_table(np.zeros((10, 3)), ["a", "b"])
    bad = np.zeros((10, 2))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        ranks.rank_table(bad, ["a", "b"])


def test_equality_test_matches_the_hand_computed_wald_statistic():
    est = pd.Series([1.0, 2.0, 4.0])
    # identity covariance: differences (-1, -2) with covariance [[2, -1], [-1, 2]]; its inverse is
    # [[2, 1], [1, 2]] / 3, so W = (2*1 + 2*1*2 + 2*4) / 3 = 14 / 3
    out = ranks.equality_test(est, pd.DataFrame(np.eye(3)), df=np.inf)
    assert out["wald"] == pytest.approx(14 / 3) and out["q"] == 2 and out["max_difference"] == 3.0


@pytest.fixture(scope="module")
def frame(study):
    return scales.analysis_frame(study)


def test_problem_gap_ranks_use_the_chapter_s_gaps_and_their_own_standard_errors(frame):
    out = ranks.problem_gap_ranks(frame, n_draws=500)
    gaps = models.problem_gaps(frame).set_index("construct")
    for cid, value in out["estimates"].items():
        assert value == pytest.approx(gaps.loc[cid, "estimate"], abs=1e-10)
        assert np.sqrt(out["cov"].loc[cid, cid]) == pytest.approx(gaps.loc[cid, "se"], rel=1e-8)
    assert set(out["ranks"]["item"]) == set(out["estimates"].index)
    assert 0 <= out["test"]["p_f"] <= 1


def test_cause_ranks_rank_the_standardized_coefficients(frame):
    ols = models.cause_ols(frame)
    table = ranks.cause_ranks(frame, ols, n_draws=500)
    std = models.standardized(frame, ols)
    assert list(table["item"]) == list(std["cause"])  # same point order as the chapter's table
    assert np.allclose(table["estimate"], std["estimate"])
