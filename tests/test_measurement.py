"""Measurement: parallel analysis, the ML CFA against data of known structure, the split-half indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ztown.analysis import measurement, scales


def simulated_items(phi: float, n: int = 4000, seed: int = 11) -> pd.DataFrame:
    """Six items, three on each of two factors with correlation `phi`; standardized loadings 0.7."""
    rng = np.random.default_rng(seed)
    F = rng.multivariate_normal([0, 0], [[1, phi], [phi, 1]], size=n)
    lam = 0.7
    noise = rng.standard_normal((n, 6)) * np.sqrt(1 - lam ** 2)
    X = np.column_stack([lam * F[:, 0]] * 3 + [lam * F[:, 1]] * 3) + noise
    return pd.DataFrame(X, columns=["aa1", "aa2", "aa3", "bb1", "bb2", "bb3"])


ASSIGN = {"aa1": "a", "aa2": "a", "aa3": "a", "bb1": "b", "bb2": "b", "bb3": "b"}


def test_cfa_recovers_loadings_and_factor_correlation():
    res = measurement.fit_cfa(simulated_items(0.5), ASSIGN, "two")
    assert res.fit["converged"]
    assert res.phi.loc["a", "b"] == pytest.approx(0.5, abs=0.04)
    assert np.allclose(res.loadings, 0.7, atol=0.04)
    assert res.fit["df"] == 8 and res.fit["rmsea"] < 0.03 and res.fit["cfi"] > 0.99
    assert res.fit["p"] > 0.001  # the true model


def test_merging_two_factors_is_rejected_when_they_differ_and_preferred_when_they_do_not():
    one = {k: "ab" for k in ASSIGN}
    distinct = simulated_items(0.5)
    merged = measurement.fit_cfa(distinct, one, "one")
    two = measurement.fit_cfa(distinct, ASSIGN, "two")
    assert merged.fit["bic"] > two.fit["bic"] + 100 and merged.fit["cfi"] < 0.95
    same = simulated_items(0.999)
    assert measurement.fit_cfa(same, one).fit["bic"] < measurement.fit_cfa(same, ASSIGN).fit["bic"]


def test_cfa_refuses_unassigned_items_and_too_few_rows():
    X = simulated_items(0.5)
    with pytest.raises(ValueError, match="no factor assigned to item"):
        measurement.fit_cfa(X, {"aa1": "a"})
    with pytest.raises(ValueError, match="more than 6 complete responses"):
        measurement.fit_cfa(X.head(5), ASSIGN)


def test_parallel_analysis_finds_two_factors_and_is_seeded():
    X = simulated_items(0.3)
    a = measurement.parallel_analysis(X, replications=50)
    assert a.attrs["n_factors"] == 2
    pd.testing.assert_frame_equal(a, measurement.parallel_analysis(X, replications=50))


def test_efa_puts_each_item_with_its_own_factor():
    out = measurement.efa(simulated_items(0.3), 2)
    primary = out.set_index("item")["primary"]
    assert primary[["aa1", "aa2", "aa3"]].nunique() == 1 and primary[["bb1", "bb2", "bb3"]].nunique() == 1
    assert primary["aa1"] != primary["bb1"]


@pytest.fixture(scope="module")
def frame(study):
    return scales.analysis_frame(study)


def test_split_half_index_is_the_other_half_s_mean(frame):
    split = measurement.split_half_indices(frame)
    assert (split["respondent_id"].to_numpy() == frame["respondent_id"].to_numpy()).all()  # same rows, same order
    sizes = split.groupby(["village_id", "half"], observed=True).size().unstack()
    assert ((sizes[0] - sizes[1]).abs() <= 1).all()
    village = split["village_id"].iloc[0]
    v = split[split["village_id"] == village]
    for half in (0, 1):
        other = v.loc[v["half"] == 1 - half, "sup"].mean()
        assert np.allclose(v.loc[v["half"] == half, "idx_sup"], other)
    # reordering the frame changes nothing
    shuffled = measurement.split_half_indices(frame.sample(frac=1, random_state=3))
    pd.testing.assert_series_equal(shuffled.sort_values("respondent_id")["idx_fun"].reset_index(drop=True),
                                   split.sort_values("respondent_id")["idx_fun"].reset_index(drop=True))


def test_same_source_check_and_role_shifts_report_the_truth_beside(frame, study):
    check = measurement.same_source_check(frame, study.truth)
    assert list(check["cause"]) == ["sup", "sys", "eva", "sel", "fun"]
    assert np.allclose(check["difference"], check["full_estimate"] - check["other_half_estimate"])
    assert list(check["true_beta"]) == [study.truth[f"beta_{c}"] for c in check["cause"]]
    roles = measurement.role_shifts(frame, study.truth).set_index(["outcome", "role"])
    cadre = roles.xs("cadre", level="role").iloc[0]
    assert cadre["latent_shift_true"] == study.truth["role_shift_cadre"]
    assert cadre["ci_low"] > 0  # cadres rate their own work higher


def test_the_design_structure_fits_the_committed_items(study):
    X = measurement.item_matrix(study.respondents)
    table, fits = measurement.compare_structures(X)
    assert table["converged"].all() and list(table["model"]) == list(measurement.STRUCTURES)
    design = fits["ten constructs (the design)"]
    assert set(design.factors) == {c for c in ("frm", "cov", "cap", "car", "pat", "sup", "sys", "eva", "sel", "fun")}
    phi = design.phi.to_numpy()
    assert np.allclose(phi, phi.T) and np.all(np.linalg.eigvalsh(phi) > 0) and np.allclose(np.diag(phi), 1)


def test_dimension_specific_share_by_hand():
    truth = {"effect_noise_sd": 0.15, "cause_sd": 0.35, "cause_corr": 0.3,
             **{f"beta_{c}": b for c, b in zip(("sup", "sys", "eva", "sel", "fun"), (0.3, 0.2, 0.2, 0.25, 0.35))}}
    # beta' Sigma beta = 0.35^2 (0.7 sum b^2 + 0.3 (sum b)^2) = 0.1225 (0.7 x 0.355 + 0.3 x 1.69)
    common = 0.1225 * (0.7 * 0.355 + 0.3 * 1.69)
    assert measurement.dimension_specific_share(truth) == pytest.approx(0.0225 / (common + 0.0225))
    assert np.isnan(measurement.dimension_specific_share({}))
