"""Small-sample inference: Bell-McCaffrey degrees of freedom for CR2, and the ordered logit's jackknife.

The BM df are checked three ways: against the closed forms clubSandwich's own test suite uses for the
mean of clustered data (tests/testthat/test_intercept_formulas.R: CR2 variance and Satterthwaite df
of an intercept-only `lm`), against a direct N x N computation of the quadratic form's eigenvalues
on a random design, and against the Welch-type closed form for a contrast of group means. The
ordered logit's analytic derivatives are checked against finite differences and statsmodels, and its
one-step leave-one-village-out estimates against exact refits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit
from statsmodels.miscmodels.ordinal_model import OrderedModel

from ztown.analysis import jointcov, models, ordinal, scales
from ztown.analysis.clustered import CR2, satterthwaite_df


def _direct_bm_df(X, clusters, c):
    """nu = (sum lambda)^2 / sum lambda^2, lambda the eigenvalues of G'G, built with N x N matrices."""
    n = len(X)
    H = X @ np.linalg.pinv(X.T @ X) @ X.T
    M = np.eye(n) - H
    B = np.linalg.pinv(X.T @ X)
    cols = []
    for g in np.unique(clusters):
        rows = np.flatnonzero(clusters == g)
        w, V = np.linalg.eigh(M[np.ix_(rows, rows)])
        A = (V * np.where(w > 1e-10, 1 / np.sqrt(np.clip(w, 1e-10, None)), 0)) @ V.T
        u = A @ X[rows] @ B @ c
        cols.append(M[rows].T @ u)
    Gm = np.column_stack(cols)
    lam = np.linalg.eigvalsh(Gm.T @ Gm)
    return lam.sum() ** 2 / (lam ** 2).sum()


def test_cr2_mean_and_df_match_clubsandwich_formulas():
    rng = np.random.default_rng(20190513)
    nj = 1 + rng.negative_binomial(2, 2 / 7, size=14)  # cluster sizes as in clubSandwich's test (mean 1 + 5)
    groups = np.repeat(np.arange(14), nj)
    N = nj.sum()
    y = rng.normal(size=14)[groups] * np.sqrt(0.2) + rng.normal(size=N) * np.sqrt(0.8)
    X = np.ones((N, 1))
    cr2 = CR2(X, y - y.mean(), groups)
    ybar = np.bincount(groups, weights=y) / nj
    v_formula = np.sum(nj ** 2 * (ybar - y.mean()) ** 2 / (1 - nj / N)) / N ** 2
    df_formula = N ** 2 / (N ** 2 * np.sum(nj ** 2 / (N - nj) ** 2) - 2 * N * np.sum(nj ** 3 / (N - nj) ** 2)
                           + np.sum(nj ** 2 / (N - nj)) ** 2)
    assert cr2.cov[0, 0] == pytest.approx(v_formula, rel=1e-10)
    assert cr2.df(np.array([1.0])) == pytest.approx(df_formula, rel=1e-10)


def test_bm_df_matches_the_direct_eigenvalue_computation():
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(8), rng.integers(2, 7, size=8))
    n = len(groups)
    X = np.column_stack([np.ones(n), rng.normal(size=n), (groups < 3).astype(float), rng.normal(size=(n,))[groups]])
    y = X @ np.array([1.0, 0.5, -1.0, 0.3]) + rng.normal(size=n)
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    cr2 = CR2(X, resid, groups)
    for c in (np.eye(4)[1], np.eye(4)[2], np.array([0.0, 1.0, -0.5, 2.0])):
        assert cr2.df(c) == pytest.approx(_direct_bm_df(X, groups, c), rel=1e-9)
        K = cr2.k_matrix(c)
        assert np.allclose(K.T @ K, cr2.df_matrix(c), atol=1e-12)
        # and K maps the errors to the adjusted scores: c'psi_g = K[:, g]' e for the fit's residuals
        assert np.allclose(K.T @ resid, cr2.influence @ c, atol=1e-12)


def test_town_contrast_df_is_the_welch_type_closed_form():
    """HC2 contrast of group means: nu = (sum w^2/n)^2 / sum w^4 / (n^2 (n - 1))."""
    sizes = {"Z": 11, "A": 10, "B": 12, "C": 14, "D": 14}
    rng = np.random.default_rng(3)
    villages = pd.DataFrame({"village_id": [f"{t}{i:02d}" for t, n in sizes.items() for i in range(n)],
                             "town_id": [t for t, n in sizes.items() for _ in range(n)]})
    villages["x"] = rng.normal(size=len(villages))
    block = jointcov.town_means_block("x", villages, "x")
    c = jointcov.contrast_vector(block)
    n = np.array([sizes[t] for t in block.params.index])
    expected = np.sum(c ** 2 / n) ** 2 / np.sum(c ** 4 / (n ** 2 * (n - 1)))
    assert block.cr2.df(c) == pytest.approx(expected, rel=1e-10)
    assert 14 < expected < 16  # the "about 15, not 60" of issue 8
    # HC2 variance of the contrast = sum w^2 s_t^2 / n_t (unbiased within-town variances)
    s2 = villages.groupby("town_id")["x"].var(ddof=1).reindex(block.params.index).to_numpy()
    V = block.influence.to_numpy().T @ block.influence.to_numpy()
    assert c @ V @ c == pytest.approx(np.sum(c ** 2 * s2 / n), rel=1e-10)


def test_problem_gaps_use_bm_df_on_the_committed_data(study):
    gaps = models.problem_gaps(scales.analysis_frame(study))
    assert gaps["df"].between(12, 20).all()  # Z town's 11 villages carry the contrast, not 61
    q = stats.t.ppf(0.975, gaps["df"].to_numpy())
    assert np.allclose(gaps["ci_high"] - gaps["estimate"], q * gaps["se"])


def test_joint_df_of_one_block_is_that_blocks_df(study):
    frame = scales.analysis_frame(study)
    ols = models.cause_ols(frame)
    joint = models.joint_covariance(frame, ols)
    for term in ("idx_sup", "z_town"):
        a = joint.gradient({"ols": {term: 1.0}})
        assert joint.df(a) == pytest.approx(ols.df[term], rel=1e-10)
    sup = joint.blocks["sup"]
    a = joint.gradient({"sup": jointcov.contrast_vector(sup)})
    assert joint.df(a) == pytest.approx(models.cause_gaps(frame).set_index("cause").loc["sup", "df"], rel=1e-10)
    assert satterthwaite_df(np.eye(5)) == pytest.approx(5.0)


# --------------------------------------------------------------------------- the ordered logit


@pytest.fixture(scope="module")
def logit(study):
    frame = scales.analysis_frame(study)
    result = models.satisfaction_ologit(frame)
    X = np.asarray(result.model.exog, dtype=float)
    y = np.asarray(result.model.endog, dtype=int)
    return frame, result, X, y


def test_ordered_logit_derivatives_are_exact(logit):
    _, result, X, y = logit
    k = X.shape[1]
    phi = ordinal._to_phi(result.params.to_numpy(), k) + 0.01  # off the optimum, so the score is not zero
    ll, score, hess = ordinal.observation_derivatives(phi, X, y, 5)
    assert ll.sum() == pytest.approx(result.model.loglike(ordinal._to_theta(phi, k)[0]), rel=1e-10)
    h = 1e-6
    for j in range(len(phi)):
        step = np.eye(len(phi))[j] * h
        up, down = (ordinal.observation_derivatives(phi + s, X, y, 5) for s in (step, -step))
        assert np.allclose((up[0] - down[0]).sum() / (2 * h), score[:, j].sum(), rtol=1e-5)
        assert np.allclose((up[1] - down[1]).sum(axis=0) / (2 * h), hess[:, :, j].sum(axis=0), rtol=1e-4, atol=1e-4)


def test_one_step_jackknife_is_close_to_exact_refits(logit):
    frame, result, X, y = logit
    k = X.shape[1]
    clusters = result.ids["village_id"].astype(str).to_numpy()
    phi = ordinal._to_phi(result.params.to_numpy(), k)
    phi_g, labels, _, _ = ordinal.jackknife(phi, X, y, 5, clusters)
    names = list(result.params.index[:k])
    for g in (0, 30, 60):
        keep = clusters != labels[g]
        exact = OrderedModel(pd.Categorical(y[keep] + 1, categories=[1, 2, 3, 4, 5], ordered=True),
                             pd.DataFrame(X[keep], columns=names), distr="logit").fit(
            method="bfgs", disp=False, maxiter=2000, gtol=1e-9)
        exact_phi = ordinal._to_phi(exact.params.to_numpy(), k)
        shift = np.abs(exact_phi - phi).max()
        # the one-step error is second order: below 2% of the shift that dropping the village causes
        assert np.abs(exact_phi - phi_g[g]).max() < 0.02 * shift, labels[g]


def test_cv3_covariance_is_the_jackknife_spread(logit):
    _, result, _, _ = logit
    dev = result.influence.to_numpy()
    assert np.allclose(dev.T @ dev, result.cov_params().to_numpy(), rtol=1e-12)
    G = result.n_clusters
    assert result.df_inference == G - 1
    table = models.tidy(result, models.CAUSE_TERMS)
    assert np.allclose(table["ci_high"] - table["estimate"], stats.t.ppf(0.975, G - 1) * table["se"])
    # the jackknife is wider than the sandwich, as the small-cluster bias of the sandwich predicts
    sandwich = np.sqrt(np.diag(result.sandwich_cov))[: len(models.CAUSE_TERMS)]
    assert (table["se"].to_numpy() > sandwich).all()


def test_share_formula_uses_the_third_cut(logit):
    _, result, X, _ = logit
    theta = result.params.to_numpy()
    k = X.shape[1]
    phi = ordinal._to_phi(theta, k)
    by_hand = (1 - expit(phi[k + 2] - X @ phi[:k])).mean()
    assert by_hand == pytest.approx(result.model.predict(theta, exog=X)[:, 3:].sum(axis=1).mean(), rel=1e-12)
