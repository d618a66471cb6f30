"""Truth recovery at the test suite's size, and the committed full study's cache is current.

The full Monte Carlo study (`montecarlo.FULL_REPLICATIONS` replications) is cached in
notebooks/montecarlo/ and shown in the appendix. Here a smaller study runs from scratch: each of
the book's estimators must cover the truth at a rate inside binomial bounds around 95%, and its
bias must be small relative to its standard error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ztown import montecarlo

TEST_REPLICATIONS = 60
BOOK_ESTIMATORS = ["OLS (CR2 cluster-robust)", "Mixed model (MixedLM)", "Ordered logit", "Oaxaca-Blinder contribution",
                   "Z-town gap (OLS)", "Event study (Sun & Abraham)", "DiD (Sun & Abraham)"]
# A finding of the full study, stated in the appendix: the ordered logit's clustered sandwich
# intervals are too narrow (coverage about 0.88-0.93 at 500 replications). It is held to a lower,
# stated floor instead of the 95% bounds, so that a further loss of coverage still fails.
UNDER_COVERING = {"Ordered logit": 0.85}


@pytest.fixture(scope="module")
def params(study):
    return montecarlo.parameters_of(study)


@pytest.fixture(scope="module")
def small_study_reps(params):
    return montecarlo.run(params, TEST_REPLICATIONS, workers=1)


def test_no_estimator_failed(small_study_reps):
    assert not small_study_reps["estimate"].isna().any()


@pytest.mark.parametrize("estimator", BOOK_ESTIMATORS)
def test_coverage_within_binomial_bounds(small_study_reps, estimator):
    summary = montecarlo.summarize(small_study_reps)
    rows = summary[summary["estimator"] == estimator]
    assert len(rows) > 0
    # pooled over the estimator's targets; 99.9% two-sided binomial bounds around 0.95
    n = int(rows["replications"].sum())
    covered = int(round((rows["coverage"] * rows["replications"]).sum()))
    nominal = 0.95
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, nominal)
    if estimator in UNDER_COVERING:
        lo = stats.binom.ppf(0.0005, n, UNDER_COVERING[estimator])
    assert lo <= covered <= hi, f"{estimator}: {covered}/{n} intervals cover the truth (bounds {lo:.0f}-{hi:.0f})"


@pytest.mark.parametrize("estimator", BOOK_ESTIMATORS)
def test_bias_small_relative_to_standard_error(small_study_reps, estimator):
    summary = montecarlo.summarize(small_study_reps)
    rows = summary[summary["estimator"] == estimator]
    worst = rows.loc[rows["bias_over_se"].abs().idxmax()]
    assert abs(worst["bias_over_se"]) < 0.5, f"{estimator}, {worst['parameter']}: bias {worst['bias_over_se']:.2f} SE"


def test_reported_standard_errors_match_the_spread(small_study_reps):
    summary = montecarlo.summarize(small_study_reps)
    book = summary[summary["estimator"].isin(BOOK_ESTIMATORS)]
    ratio = book["mean_se"] / book["sd_estimate"]
    assert ratio.between(0.7, 1.4).all(), book.assign(ratio=ratio)[["estimator", "parameter", "ratio"]]


def test_committed_full_study_is_current(params):
    """The cache the appendix reads must be what the code computes today (first replications re-run)."""
    cached = montecarlo.cached_run(params, montecarlo.FULL_REPLICATIONS, compute=False)
    assert cached is not None, "no cached full study for the committed package's parameters"
    assert len(cached) == montecarlo.FULL_REPLICATIONS * len(montecarlo.replicate(params, 0))
    fresh = montecarlo.run(params, 2, workers=1)
    old = cached[cached["replication"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(fresh[["replication", "estimator", "parameter"]],
                                  old[["replication", "estimator", "parameter"]])
    for col in ("estimate", "se", "ci_low", "ci_high", "truth"):
        assert np.allclose(fresh[col], old[col], rtol=1e-8, atol=1e-10, equal_nan=True), col


def test_naive_twfe_is_shown_to_be_biased(params):
    """A finding the experiences chapter relies on: with dynamic effects the naive DiD is off."""
    cached = montecarlo.cached_run(params, montecarlo.FULL_REPLICATIONS, compute=False)
    summary = montecarlo.summarize(cached)
    naive = summary[(summary["estimator"] == "DiD (naive TWFE)")].iloc[0]
    iw = summary[(summary["estimator"] == "DiD (Sun & Abraham)")].iloc[0]
    assert abs(naive["bias_over_se"]) > 2 * abs(iw["bias_over_se"])
