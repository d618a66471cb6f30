"""Joint (stacked) covariance of several estimators fitted on the same villages.

Why: the book combines estimates from different models (the Oaxaca parts b_j x d_j, the paths, the
explained total), and the pieces are correlated. The five cause gaps d come from the same 61
villages (their estimated correlations reach about 0.7); the cause coefficients b come from the
respondents of those villages. Treating them as independent understated the SE of the explained
part by a third. Here every estimator is written through its per-village influence terms psi_g
(the contribution of village g to the estimator's deviation from its target), and stacking them
gives the joint covariance sum_g psi_g psi_g' of everything at once, b, d and their cross-covariance
included (a seemingly-unrelated / stacked sandwich; the same idea as Stata's `suest` or a stacked
GMM system, clustered by village).

Each block keeps its own small-sample adjustment, so its own diagonal block is exactly the
covariance reported for it on its own: CR2 (Bell & McCaffrey) for the respondent-level OLS,
HC2 = CR2 with one village per cluster for the village-level town means behind the cause gaps,
and the CV3 jackknife for the ordered logit (`ztown.analysis.ordinal`). The cross-blocks multiply the same
adjusted per-village terms.

Degrees of freedom of a linear combination a'theta of regression blocks: the stacked CR2 variance
is a quadratic form in the blocks' errors; under a working model in which errors are independent
across units, homoskedastic within a block, and correlated across blocks only between outcomes of
the same units (the five village-level indices, with their residual covariance), its Satterthwaite
approximation gives the Bell-McCaffrey degrees of freedom (Imbens & Kolesar 2016; Pustejovsky &
Tipton 2018). Blocks on different levels (respondents, villages) are independent in that working
model, the only choice that keeps it a valid covariance with independent respondents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ztown.analysis.clustered import CR2, satterthwaite_df
from ztown.analysis.design import TOWNS, town_contrast


@dataclass(frozen=True)
class Block:
    """One estimator in the stack: its parameters and per-village influence terms.

    `influence` is indexed by village id (one row per village the estimator uses) with one column
    per parameter. `cr2`, `level` and `units` (each row's unit id) are set for linear regressions,
    whose errors enter the degrees of freedom; a block without them (the ordered logit) enters the
    covariance only.
    """

    name: str
    params: pd.Series
    influence: pd.DataFrame
    cr2: CR2 | None = None
    level: str | None = None
    units: np.ndarray | None = None
    resid_df: int | None = None


def regression_block(name: str, result, level: str = "respondent") -> Block:
    """A `ClusteredOLS` (with its design ids) as a block: influence rows are its clusters (villages)."""
    if result.ids is None:
        raise ValueError(f"block {name!r}: the regression carries no design ids; fit it with models.cluster_ols")
    cr2 = result.cr2
    names = list(result.params.index)
    influence = pd.DataFrame(cr2.influence, index=pd.Index(cr2.labels, name="village_id"), columns=names)
    units = result.ids["respondent_id"].astype(str).to_numpy() if level == "respondent" \
        else result.ids["village_id"].astype(str).to_numpy()
    return Block(name, result.params.astype(float), influence, cr2, level, units,
                 int(result.nobs - len(names)))


def town_means_block(name: str, villages: pd.DataFrame, column: str, towns: Sequence[str] = TOWNS) -> Block:
    """Town means of a village-level column (OLS on town dummies), HC2 = CR2 with one village per cluster.

    `villages` is a `design.village_table`; villages without the column are left out. The parameters
    are the town means in the order of `towns`; their contrast with `design.town_contrast` is the
    Z-town gap.
    """
    data = villages.loc[villages[column].notna()]
    town = data["town_id"].astype(str).to_numpy()
    absent = [t for t in towns if not np.any(town == t)]
    if absent:
        raise ValueError(f"{name}: no village of town(s) {', '.join(absent)} has a value of {column}")
    X = np.column_stack([(town == t).astype(float) for t in towns])
    y = data[column].to_numpy(dtype=float)
    means = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ means
    villages_ids = data["village_id"].astype(str).to_numpy()
    cr2 = CR2(X, resid, villages_ids)
    names = list(towns)
    influence = pd.DataFrame(cr2.influence, index=pd.Index(cr2.labels, name="village_id"), columns=names)
    return Block(name, pd.Series(means, index=names), influence, cr2, "village",
                 cr2.labels[cr2.codes], len(y) - len(names))


def contrast_vector(block: Block, towns: Sequence[str] = TOWNS) -> np.ndarray:
    """The Z-minus-comparison weights over a town-means block's parameters."""
    weights = town_contrast(towns)
    return np.array([weights[t] for t in block.params.index])


class JointCovariance:
    """The stacked covariance of several blocks, and inference for functions of their parameters.

    Parameters are addressed as (block name, parameter name). `gradient({...})` builds the full
    gradient vector from per-block pieces; `se`, `df` and `interval` take such a vector.
    """

    def __init__(self, blocks: Sequence[Block]):
        names = [b.name for b in blocks]
        if len(set(names)) != len(names):
            raise ValueError(f"block names must be unique, got {names}")
        self.blocks = {b.name: b for b in blocks}
        labels = sorted(set().union(*(set(b.influence.index) for b in blocks)))
        self.labels = np.array(labels, dtype=object)
        self.index = pd.MultiIndex.from_tuples([(b.name, p) for b in blocks for p in b.params.index],
                                               names=["block", "parameter"])
        self.influence = np.column_stack([b.influence.reindex(labels).fillna(0.0).to_numpy() for b in blocks])
        self.params = pd.Series(np.concatenate([b.params.to_numpy(dtype=float) for b in blocks]), index=self.index)
        cov = self.influence.T @ self.influence
        self.cov = pd.DataFrame(cov, index=self.index, columns=self.index)
        self._offsets = {}
        start = 0
        for b in blocks:
            self._offsets[b.name] = (start, start + len(b.params))
            start += len(b.params)

    def gradient(self, pieces: Mapping[str, Mapping[str, float] | np.ndarray]) -> np.ndarray:
        """Full gradient vector from {block: {parameter: weight}} or {block: array over its parameters}."""
        a = np.zeros(len(self.params))
        for name, piece in pieces.items():
            lo, hi = self._offsets[name]
            block = self.blocks[name]
            if isinstance(piece, Mapping):
                unknown = set(piece) - set(block.params.index)
                if unknown:
                    raise KeyError(f"block {name!r} has no parameter(s) {', '.join(sorted(unknown))}")
                a[lo:hi] += np.array([piece.get(p, 0.0) for p in block.params.index])
            else:
                a[lo:hi] += np.asarray(piece, dtype=float)
        return a

    def sub(self, keys: Sequence[tuple[str, str]]) -> pd.DataFrame:
        """The covariance of some (block, parameter) pairs."""
        idx = pd.MultiIndex.from_tuples(list(keys), names=self.index.names)
        return self.cov.loc[idx, idx]

    def se(self, a: np.ndarray) -> float:
        return float(np.sqrt(max(float(a @ self.cov.to_numpy() @ a), 0.0)))

    def df(self, a: np.ndarray) -> float:
        """Bell-McCaffrey degrees of freedom of a'theta (NaN if a block without an error model enters).

        T = sum over blocks r, s on the same level and units of S_rs K_r'K_s, where K_r (units x villages)
        maps block r's errors to its part of a'psi_g and S is the blocks' residual covariance; then
        nu = (tr T)^2 / tr T^2.
        """
        G = len(self.labels)
        col = {label: j for j, label in enumerate(self.labels)}
        parts: dict[tuple, list] = {}
        for name, block in self.blocks.items():
            lo, hi = self._offsets[name]
            piece = a[lo:hi]
            if not np.any(piece != 0):
                continue
            if block.cr2 is None:
                return float("nan")
            K = np.zeros((block.cr2.X.shape[0], G))
            K[:, [col[label] for label in block.cr2.labels]] = block.cr2.k_matrix(piece)
            key = (block.level, tuple(block.units))
            parts.setdefault(key, []).append((block, K))
        T = np.zeros((G, G))
        for members in parts.values():
            R = np.column_stack([b.cr2.resid for b, _ in members])
            dof = min(b.resid_df for b, _ in members)
            S = R.T @ R / max(dof, 1)
            for i, (_, Ki) in enumerate(members):
                for j, (_, Kj) in enumerate(members):
                    T += S[i, j] * (Ki.T @ Kj)
        return satterthwaite_df(T)
