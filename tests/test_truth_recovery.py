"""Truth recovery at the test suite's size, and the committed full studies' caches are current.

The full Monte Carlo studies (`montecarlo.FULL_REPLICATIONS` replications, default and stress
settings) are cached in notebooks/montecarlo/ and shown in the appendix. Here a smaller study runs
from scratch: each of the book's estimators must cover the truth at a rate inside binomial bounds
around 95%, and its bias must be small relative to its standard error. Then the caches are checked
against a re-run of their first replications, within the estimators' numerical precision
(`montecarlo.tolerance`), and the check is shown to catch a stale cache.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ztown.analysis import montecarlo

from ztown.data import synth

TEST_REPLICATIONS = 60
RERUN = 2  # replications of each cached study re-run to check that it is current
# A finding of the full study, stated in the appendix: the Oaxaca-Blinder "unexplained" part is biased
# (about -0.6 SE at 1000 replications), because the cause indices carry measurement error and the pooled
# model's Z-town indicator takes up what the attenuated cause coefficients miss. It is held to a stated,
# looser limit instead of 0.5 SE, so that a further loss still fails.
KNOWN_BIAS = {("Oaxaca-Blinder part", "oaxaca_unexplained"): 1.0}


@pytest.fixture(scope="module")
def params(study):
    return montecarlo.parameters_of(study)


@pytest.fixture(scope="module")
def small_study_reps(params):
    return montecarlo.run(params, TEST_REPLICATIONS, workers=1)


@pytest.fixture(scope="module")
def small_summary(small_study_reps):
    summary = montecarlo.summarize(small_study_reps)
    return summary[~summary["reference_only"]]


def _book_estimators() -> list[str]:
    return ["Problem gap (OLS)", "Cause gap (village means)", "OLS coefficient", "Mixed model coefficient",
            "Ordered logit coefficient", "Oaxaca-Blinder part", "Path: effectiveness change",
            "Path: satisfied share change", "Event study (Sun & Abraham)", "DiD (Sun & Abraham)",
            "Reform effect by town (Sun & Abraham)", "DiD (stacked)", "DiD (Callaway-Sant'Anna)",
            "Event study (Callaway-Sant'Anna)"]


def test_every_interval_kind_is_in_the_study(small_study_reps):
    assert set(_book_estimators()) <= set(small_study_reps["estimator"])
    assert not small_study_reps["truth"].isna().any(), "a target without its truth"


def test_no_estimator_failed(small_study_reps):
    failed = small_study_reps[small_study_reps["estimate"].isna()]
    assert failed.empty, failed[["replication", "estimator", "parameter"]].drop_duplicates("estimator")


@pytest.mark.parametrize("estimator", _book_estimators())
def test_coverage_within_binomial_bounds(small_summary, estimator):
    rows = small_summary[small_summary["estimator"] == estimator]
    assert len(rows) > 0
    # pooled over the estimator's targets; 99.9% two-sided binomial bounds around 0.95
    n = int(rows["replications"].sum())
    covered = int(round((rows["coverage"] * rows["replications"]).sum()))
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, montecarlo.NOMINAL)
    assert lo <= covered <= hi, f"{estimator}: {covered}/{n} intervals cover the truth (bounds {lo:.0f}-{hi:.0f})"


@pytest.mark.parametrize("estimator", _book_estimators())
def test_bias_small_relative_to_standard_error(small_summary, estimator):
    rows = small_summary[small_summary["estimator"] == estimator]
    limit = np.array([KNOWN_BIAS.get((estimator, p), 0.5) for p in rows["parameter"]])
    excess = rows["bias_over_se"].abs().to_numpy() / limit
    worst = rows.iloc[int(np.argmax(excess))]
    assert excess.max() < 1, f"{estimator}, {worst['parameter']}: bias {worst['bias_over_se']:.2f} SE"


def test_reported_standard_errors_match_the_spread(small_summary):
    assert small_summary["se_ratio"].between(0.7, 1.4).all(), \
        small_summary[["estimator", "parameter", "se_ratio"]]


# --------------------------------------------------------------------------- the caches are current

def _studies(params):
    return {"default": params, "stress": montecarlo.stress_parameters(params)}


@pytest.mark.parametrize("setting", ["default", "stress"])
def test_committed_full_study_is_current(params, setting):
    """The cache the appendix reads must be what the code computes today (first replications re-run).

    Compared within `montecarlo.tolerance`: 1e-8 relative for closed-form estimators, 1e-4 for those
    from iterative optimizers, on the scale |value| + SE (see `montecarlo.compare_with_cache`), so the
    check survives another BLAS kernel but not a changed generator, estimator, parameter or replication.
    """
    study = _studies(params)[setting]
    cached = montecarlo.cached_run(study, montecarlo.FULL_REPLICATIONS, compute=False)
    assert cached is not None, f"no cached full {setting} study for the committed package's parameters " \
                               f"(expected {montecarlo.cache_path(study, montecarlo.FULL_REPLICATIONS).name})"
    assert cached["replication"].nunique() == montecarlo.FULL_REPLICATIONS
    fresh = montecarlo.run(study, RERUN, workers=1)
    assert len(cached) == montecarlo.FULL_REPLICATIONS * len(fresh) / RERUN
    problems = montecarlo.compare_with_cache(fresh, cached[cached["replication"] < RERUN])
    assert problems.empty, problems.to_string()


def test_no_stale_cache_files_are_left(params):
    """notebooks/montecarlo/ holds exactly the caches of the current studies (a stale file is clutter
    that a later change of key could never read)."""
    expected = {montecarlo.cache_path(s, montecarlo.FULL_REPLICATIONS).name for s in _studies(params).values()}
    present = {p.name for p in montecarlo.committed_cache_dir().glob("mc_*")}
    assert present == expected


@pytest.fixture(scope="module")
def fresh_pair(params, tmp_path_factory):
    """Two fresh replications, and the same numbers after the cache's round trip (10 significant digits)."""
    fresh = montecarlo.run(params, 2, workers=1)
    path = tmp_path_factory.mktemp("mc") / "mc_test.csv.gz"
    return fresh, montecarlo.write_cache(fresh, path)


def test_the_cache_round_trip_is_within_tolerance(fresh_pair):
    fresh, cached = fresh_pair
    assert montecarlo.compare_with_cache(fresh, cached).empty


def test_another_replication_is_caught(fresh_pair):
    """A cache of another replication (say, replication indices shifted) differs everywhere."""
    fresh, cached = fresh_pair
    shifted = cached[cached["replication"] == 1].assign(replication=0).reset_index(drop=True)
    problems = montecarlo.compare_with_cache(fresh[fresh["replication"] == 0].reset_index(drop=True), shifted)
    assert len(problems) > 0.5 * len(shifted)


@pytest.mark.parametrize("estimator, relative", [("OLS coefficient", 1e-6), ("DiD (Sun & Abraham)", 1e-6),
                                                 ("Ordered logit coefficient", 1e-3),
                                                 ("Mixed model coefficient", 1e-3)])
def test_a_small_change_of_one_estimate_is_caught(fresh_pair, estimator, relative):
    """Far smaller changes than any real estimator change are caught (each estimator's own tolerance)."""
    fresh, cached = fresh_pair
    changed = cached.copy()
    i = changed.index[changed["estimator"] == estimator][0]
    changed.loc[i, "estimate"] += relative * (abs(changed.loc[i, "estimate"]) + changed.loc[i, "se"])
    problems = montecarlo.compare_with_cache(fresh, changed)
    assert len(problems) == 1 and estimator in problems["detail"].iloc[0]


def test_missing_rows_and_failures_are_caught(fresh_pair):
    fresh, cached = fresh_pair
    assert not montecarlo.compare_with_cache(fresh, cached.iloc[:-1]).empty
    failed = cached.copy()
    failed.loc[0, ["estimate", "se", "ci_low", "ci_high"]] = np.nan
    assert not montecarlo.compare_with_cache(fresh, failed).empty


def test_the_cache_key_changes_with_generator_estimators_parameters_and_replications(params, monkeypatch):
    key = montecarlo.cache_key(params, 500)
    assert montecarlo.cache_key(params, 501) != key
    assert montecarlo.cache_key(synth.apply_overrides(params, {"beta_sup": "0.31"}), 500) != key
    assert montecarlo.cache_key(montecarlo.stress_parameters(params), 500) != key
    assert montecarlo.cache_key(synth.apply_overrides(params, {"seed": "1"}), 500) == key  # the data seed aside
    monkeypatch.setattr(montecarlo, "ESTIMATOR_VERSION", montecarlo.ESTIMATOR_VERSION + "x")
    assert montecarlo.cache_key(params, 500) != key
    monkeypatch.undo()
    monkeypatch.setattr(synth, "GENERATOR_VERSION", synth.GENERATOR_VERSION + "x")
    assert montecarlo.cache_key(params, 500) != key


# --------------------------------------------------------------------------- findings of the full studies

def _full(params, setting="default"):
    cached = montecarlo.cached_run(_studies(params)[setting], montecarlo.FULL_REPLICATIONS, compute=False)
    if cached is None:
        pytest.fail(f"no cached full {setting} study")
    return montecarlo.summarize(cached)


def test_naive_twfe_is_shown_to_be_biased(params):
    """A finding the experiences chapter relies on: with dynamic effects the naive DiD is off."""
    summary = _full(params).set_index(["estimator", "parameter"])
    naive = summary.loc[("DiD (naive TWFE)", "att_overall")]
    iw = summary.loc[("DiD (Sun & Abraham)", "att_overall")]
    assert abs(naive["bias_over_se"]) > 2 * abs(iw["bias_over_se"])


def test_stress_shocks_cost_the_village_clustered_intervals_their_coverage(params):
    """A finding the book states: with town shocks the village-clustered intervals miss the structural
    truth far more often than 5%, while the Z-town contrasts still cover the truth given the towns."""
    stress = _full(params, "stress")
    gaps = stress[stress["estimator"] == "Problem gap (OLS)"]
    assert (gaps["coverage"] < 0.85).all()
    assert (gaps["coverage_given_towns"] > 0.9).all()
    did = stress.set_index(["estimator", "parameter"]).loc[("DiD (Sun & Abraham)", "att_overall")]
    assert did["coverage"] < 0.85


def test_a_study_computed_by_a_build_goes_to_the_results_folder(params, tmp_path, monkeypatch):
    """Other parameters than the committed caches': the study is computed into $ZTOWN_RESULTS/montecarlo,
    never into the committed folder, and read back from there the next time."""
    committed = tmp_path / "committed"
    committed.mkdir()
    monkeypatch.setattr(montecarlo, "committed_cache_dir", lambda: committed)
    monkeypatch.delenv(montecarlo.CACHE_ENV, raising=False)
    monkeypatch.setenv("ZTOWN_RESULTS", str(tmp_path / "results"))
    other = synth.apply_overrides(params, {"beta_sys": "0"})
    reps = montecarlo.cached_run(other, 1, workers=1)
    assert list(committed.iterdir()) == []
    written = list((tmp_path / "results" / "montecarlo").iterdir())
    assert [p.name for p in written] == [montecarlo.cache_path(other, 1).name]
    pd.testing.assert_frame_equal(montecarlo.cached_run(other, 1, compute=False), reps)
    assert montecarlo.cached_run(synth.apply_overrides(params, {"beta_sys": "0.1"}), 1, compute=False) is None


def test_the_coverage_table_flags_intervals_outside_the_band():
    rows = []
    for parameter, covered in (("good", 95), ("low", 90), ("high", 99)):
        for r in range(100):
            hit = r < covered
            rows.append({"replication": r, "seed": r, "estimator": "E", "parameter": parameter,
                         "estimate": 0.0, "se": 1.0, "ci_low": -1.0 if hit else 0.5, "ci_high": 1.0,
                         "truth": 0.0, "truth_given_towns": 0.0})
    summary = montecarlo.summarize(pd.DataFrame(rows))
    full = montecarlo.coverage_table(summary, summary)
    table = full.set_index("parameter")
    assert table.loc["good", "flag"] == "" and table.loc["low", "flag"] == "below 93%"
    assert table.loc["high", "flag"] == "above 97%"
    assert table.loc["low", "coverage_mc_se"] == pytest.approx(np.sqrt(0.9 * 0.1 / 100))
    assert table.loc["low", "stress_coverage"] == pytest.approx(0.9)
    pooled = montecarlo.estimator_table(full).iloc[0]
    assert (pooled["targets"], pooled["outside_band"]) == (3, 2)
    assert pooled["lowest"] == pytest.approx(0.9) and pooled["highest"] == pytest.approx(0.99)
