"""Every combined interval carries the covariance of what it combines: checked by direct recomputation.

The Oaxaca parts and total, the paths' effectiveness changes and "all five paths" combine the pooled
OLS coefficients b with the five correlated cause gaps d (and the controls' coefficients); the
satisfied-share changes combine the ordered logit with d. Their SEs come from one stacked covariance
(`ztown.analysis.jointcov`). Here they are compared, on the committed data, with two direct computations
that re-estimate everything on resampled villages with plain numpy (no ztown.analysis.jointcov):

1. the delete-one-village jackknife, V = (G - 1)/G sum_g (theta_(g) - theta)^2, exact refits,
   deterministic. For the linear pieces it is CR3, a little larger than our CR2: a Z-town contrast
   resting on n = 11 villages has HC3/HC2 variance ratio n/(n - 1), an SE ratio of 1.05, the
   respondent-level coefficients less. The ordered logit's CV3 is this jackknife by one-step
   updates. Expected ratio jackknife/ours: 1.00-1.05. Tolerance: 0.97-1.10 for the delta-method SEs.
   The satisfied-share SDs come from the parametric simulation, whose variance of a product
   beta_j d_j also holds the second-order term Var(beta_j) Var(d_j) that a jackknife (a
   linearization) leaves out; for the supporting-systems path, where both factors are imprecise
   (coefficients of variation about 0.6 and 0.4), that term is a tenth of the variance, an SE ratio
   of about 0.95; with the simulation's own Monte Carlo error (2,000 draws: 1.6%) the tolerance for
   them is 0.90-1.10.
2. a village pairs cluster bootstrap (villages resampled within their town, B = 300, seeded). It has
   no small-sample correction (its variance of a town mean is (n - 1)/n of HC2's, 10/11 for Z town),
   so the expected ratio is about 0.95; an SD from 300 draws has Monte Carlo error 1/sqrt(600) = 4%.
   Tolerance: 0.80-1.10 (expected value +- 2.5 Monte Carlo SEs, widened downwards for the
   missing small-sample factor).

The independence assumption this replaces gave the explained part an SE 0.69 times the joint one,
so it fails both checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from ztown.analysis import models, ordinal, scales, scenarios
from ztown.data.constructs import CAUSE_IDS
from ztown.analysis.design import TOWNS, town_contrast

JACKKNIFE_BOUNDS = (0.97, 1.10)
JACKKNIFE_BOUNDS_SIMULATED = (0.90, 1.10)
BOOTSTRAP_BOUNDS = (0.80, 1.10)
BOOTSTRAP_DRAWS = 300
BOOTSTRAP_SEED = 8_2024


class Direct:
    """Point estimates of every combined quantity from a set of (possibly repeated) villages, in numpy."""

    def __init__(self, frame: pd.DataFrame, ols, ologit):
        pooled = frame.dropna(subset=["effectiveness", *models.CAUSE_TERMS, "age"])
        pooled = pooled.sort_values("respondent_id")
        X = np.column_stack([
            np.ones(len(pooled)), pooled["role"] == "member", pooled["role"] == "cadre",
            *[pooled["education"] == e for e in ("junior_secondary", "senior_secondary", "college_or_above")],
            *[pooled[t] for t in models.CAUSE_TERMS], pooled["town_id"] == "Z", pooled["age"]]).astype(float)
        assert list(ols.params.index)[6:11] == models.CAUSE_TERMS  # same column order as the formula's
        y = pooled["effectiveness"].to_numpy(float)
        self.causes, self.controls = list(range(6, 11)), [1, 2, 3, 4, 5, 12]
        v = pooled["village_id"].astype(str).to_numpy()
        self.villages = sorted(set(v))
        self.town_of = dict(zip(v, pooled["town_id"].astype(str)))
        self.xtx = {g: X[v == g].T @ X[v == g] for g in self.villages}
        self.xty = {g: X[v == g].T @ y[v == g] for g in self.villages}
        self.mean_y = {g: y[v == g].mean() for g in self.villages}
        self.mean_x = {g: X[v == g].mean(axis=0) for g in self.villages}

        sample = frame.dropna(subset=["satisfaction", *models.CAUSE_TERMS]).sort_values("respondent_id")
        self.Xo = np.column_stack([*[sample[t] for t in models.CAUSE_TERMS], sample["role"] == "member",
                                   sample["role"] == "cadre"]).astype(float)
        self.yo = sample["satisfaction"].astype(int).to_numpy() - 1
        self.vo = sample["village_id"].astype(str).to_numpy()
        self.zo = (sample["town_id"] == "Z").to_numpy()
        self.phi0 = ordinal._to_phi(ologit.params.to_numpy(float), self.Xo.shape[1])
        self.weights = town_contrast(TOWNS)

    def _ologit(self, rows: np.ndarray) -> np.ndarray:
        """The ordered logit's MLE on these rows by Newton's method (concave in beta and the cuts)."""
        phi = self.phi0.copy()
        for _ in range(50):
            _, score, hess = ordinal.observation_derivatives(phi, self.Xo[rows], self.yo[rows], 5)
            step = np.linalg.solve(hess.sum(axis=0), score.sum(axis=0))
            phi = phi - step
            if np.abs(step).max() < 1e-10:
                return phi
        raise RuntimeError("Newton did not converge")

    def estimates(self, drawn: list[str]) -> dict[str, float]:
        coef = np.linalg.solve(sum(self.xtx[g] for g in drawn), sum(self.xty[g] for g in drawn))
        b, gamma = coef[self.causes], coef[self.controls]

        def gap(values: dict[str, float]) -> float:
            by_town = {t: np.mean([values[g] for g in drawn if self.town_of[g] == t]) for t in TOWNS}
            return sum(self.weights[t] * by_town[t] for t in TOWNS)

        d = np.array([gap({g: self.mean_x[g][j] for g in drawn}) for j in self.causes])
        total = gap({g: self.mean_y[g] - self.mean_x[g][self.controls] @ gamma for g in drawn})
        out = {f"part_{c}": b[j] * d[j] for j, c in enumerate(CAUSE_IDS)}
        out.update(explained=b @ d, total=total, unexplained=total - b @ d)

        rows = np.concatenate([np.flatnonzero(self.vo == g) for g in drawn])
        phi = self._ologit(rows)
        k = self.Xo.shape[1]
        z = rows[self.zo[rows]]
        xb = self.Xo[z] @ phi[:k]
        base = (1 - expit(phi[k + 2] - xb)).mean()  # P(answer 4 or 5) = 1 - F(cut_3 - x'b)
        for key, mask in scenarios.scenario_masks():
            shift = -(d * mask) @ phi[:5]
            out[f"sat_{key}"] = (1 - expit(phi[k + 2] - xb - shift)).mean() - base
        return out


@pytest.fixture(scope="module")
def setup(study):
    frame = scales.analysis_frame(study)
    ols, ologit, gaps = models.cause_ols(frame), models.satisfaction_ologit(frame), models.cause_gaps(frame)
    oax = models.oaxaca(frame, ols, gaps).set_index("part")
    paths = scenarios.path_scenarios(frame, ols, ologit, gaps).set_index("path")
    ours = {**{f"part_{c}": oax.loc[c, "se"] for c in CAUSE_IDS},
            **{p: oax.loc[p, "se"] for p in ("explained", "unexplained", "total")},
            **{f"sat_{k}": paths.loc[k, "satisfied_se"] for k in paths.index}}
    direct = Direct(frame, ols, ologit)
    full = direct.estimates(direct.villages)
    return frame, oax, paths, ours, direct, full


def test_direct_point_estimates_are_the_books(setup):
    """The numpy re-implementation computes the same quantities (else the comparison means nothing)."""
    _, oax, paths, _, _, full = setup
    for c in CAUSE_IDS:
        assert full[f"part_{c}"] == pytest.approx(oax.loc[c, "estimate"], abs=1e-10)
    for p in ("explained", "unexplained", "total"):
        assert full[p] == pytest.approx(oax.loc[p, "estimate"], abs=1e-10)
    for key in paths.index:
        assert full[f"sat_{key}"] == pytest.approx(paths.loc[key, "satisfied_share_change"], abs=1e-8)


def test_paths_effectiveness_se_is_the_oaxaca_se(setup):
    _, oax, paths, _, _, _ = setup
    for c in CAUSE_IDS:
        assert paths.loc[c, "effectiveness_se"] == pytest.approx(oax.loc[c, "se"], rel=1e-12)
        assert paths.loc[c, "effectiveness_df"] == pytest.approx(oax.loc[c, "df"], rel=1e-12)
    assert paths.loc["all", "effectiveness_se"] == pytest.approx(oax.loc["explained", "se"], rel=1e-12)


def test_combined_ses_match_the_delete_one_village_jackknife(setup):
    _, _, _, ours, direct, full = setup
    reps = pd.DataFrame([direct.estimates([g for g in direct.villages if g != out]) for out in direct.villages])
    G = len(direct.villages)
    jack = np.sqrt((G - 1) / G * ((reps - pd.Series(full)) ** 2).sum())
    ratio = jack / pd.Series(ours)
    simulated = ratio.index.str.startswith("sat_")
    assert ratio[~simulated].between(*JACKKNIFE_BOUNDS).all(), ratio.round(3).to_dict()
    assert ratio[simulated].between(*JACKKNIFE_BOUNDS_SIMULATED).all(), ratio.round(3).to_dict()


def test_combined_ses_match_a_village_pairs_cluster_bootstrap(setup):
    _, _, _, ours, direct, _ = setup
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    by_town = {t: [g for g in direct.villages if direct.town_of[g] == t] for t in TOWNS}
    draws = []
    for _ in range(BOOTSTRAP_DRAWS):
        drawn = [g for t in TOWNS for g in rng.choice(by_town[t], size=len(by_town[t]), replace=True)]
        draws.append(direct.estimates(drawn))
    boot = pd.DataFrame(draws).std(ddof=1)
    ratio = boot / pd.Series(ours)
    lo, hi = BOOTSTRAP_BOUNDS
    assert ratio.between(lo, hi).all(), ratio.round(3).to_dict()


def test_joint_covariance_blocks_are_each_estimators_own(setup):
    frame, _, _, _, _, _ = setup
    ols, ologit = models.cause_ols(frame), models.satisfaction_ologit(frame)
    joint = models.joint_covariance(frame, ols, ologit)
    names = list(ols.params.index)
    own = joint.sub([("ols", n) for n in names]).to_numpy()
    assert np.allclose(own, ols.cov_params().to_numpy(), rtol=1e-12, atol=0)
    logit = list(ologit.params.index)
    assert np.allclose(joint.sub([("ologit", n) for n in logit]).to_numpy(), ologit.cov_params().to_numpy(),
                       rtol=1e-12, atol=0)
    gaps = models.cause_gaps(frame).set_index("cause")
    cov_d = models.cause_gap_covariance(frame)
    assert np.allclose(np.sqrt(np.diag(cov_d)), gaps.loc[list(CAUSE_IDS), "se"], rtol=1e-12)
    # the cross-covariance of b and d is estimated, not assumed zero
    cross = joint.cov.loc[[("ols", t) for t in models.CAUSE_TERMS], [("sup", "Z")]].to_numpy()
    assert np.abs(cross).max() > 0


def test_explained_se_uses_the_gaps_covariance(setup):
    """The explained part's variance is the full quadratic form, not the sum of the parts' variances."""
    frame, oax, _, _, _, _ = setup
    dec = models.decomposition(frame)
    V = dec.joint.cov.to_numpy()
    a = dec.gradient_part(np.ones(len(CAUSE_IDS)))
    assert oax.loc["explained", "se"] == pytest.approx(np.sqrt(a @ V @ a), rel=1e-12)
    b = dec.b.to_numpy()
    independent = np.sqrt(dec.d.to_numpy() @ dec.result.cov_params().loc[models.CAUSE_TERMS, models.CAUSE_TERMS]
                          .to_numpy() @ dec.d.to_numpy() + np.sum(b ** 2 * np.diag(models.cause_gap_covariance(frame))))
    assert oax.loc["explained", "se"] > 1.2 * independent  # the correlations among the d's are large here
