"""OLS with bias-reduced cluster-robust inference (CR2, Bell & McCaffrey 2002), clustered by village.

Why not statsmodels' own `cov_type="cluster"` (CR1)? The book's regressors of interest are village
properties (cause indices, town indicators) and there are only some sixty villages, so each cluster
has high leverage. CR1 then understates the standard errors: the appendix's Monte Carlo study found
its 95% intervals covering the truth about 90-92% of the time. CR2 adjusts each cluster's residuals
by (I - H_gg)^(-1/2), which undoes the shrinkage the fit imposes on them, and the intervals use
Student's t with (clusters - 1) degrees of freedom.

`ClusteredOLS` wraps a fitted statsmodels OLS result and replaces only its inference (covariance,
standard errors, intervals, p-values); everything else (params, residuals, R², the model) is the
statsmodels result's own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def cr2_covariance(exog: np.ndarray, resid: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The CR2 sandwich covariance of OLS coefficients for the given clusters."""
    X = np.asarray(exog, dtype=float)
    e = np.asarray(resid, dtype=float)
    bread = np.linalg.pinv(X.T @ X)
    meat = np.zeros((X.shape[1], X.shape[1]))
    for g in np.unique(groups):
        rows = groups == g
        Xg, eg = X[rows], e[rows]
        M = np.eye(rows.sum()) - Xg @ bread @ Xg.T
        w, V = np.linalg.eigh((M + M.T) / 2)
        # generalized inverse square root: directions the fit determines exactly (w ~ 0) are dropped
        inv_sqrt = np.where(w > 1e-10, 1 / np.sqrt(np.clip(w, 1e-10, None)), 0.0)
        u = Xg.T @ (V @ (inv_sqrt * (V.T @ eg)))
        meat += np.outer(u, u)
    return bread @ meat @ bread


class ClusteredOLS:
    """A statsmodels OLS result with CR2 cluster-robust inference and t(G - 1) intervals."""

    def __init__(self, result, groups: np.ndarray):
        self._result = result
        self.groups = np.asarray(groups)
        self.n_clusters = int(len(np.unique(self.groups)))
        self.df_inference = self.n_clusters - 1
        names = list(result.params.index)
        cov = cr2_covariance(result.model.exog, result.resid, self.groups)
        self._cov = pd.DataFrame(cov, index=names, columns=names)
        self.bse = pd.Series(np.sqrt(np.diag(cov)), index=names)
        self.tvalues = result.params / self.bse
        self.pvalues = pd.Series(2 * stats.t.sf(np.abs(self.tvalues), self.df_inference), index=names)

    def __getattr__(self, name):
        return getattr(self._result, name)

    def cov_params(self) -> pd.DataFrame:
        return self._cov

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        q = stats.t.ppf(1 - alpha / 2, self.df_inference)
        return pd.DataFrame({0: self.params - q * self.bse, 1: self.params + q * self.bse})

    def critical_value(self, alpha: float = 0.05) -> float:
        return float(stats.t.ppf(1 - alpha / 2, self.df_inference))
