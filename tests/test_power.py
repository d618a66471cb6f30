"""Power and design: the simulated power behaves as power must, the cache is keyed by what determines it,
and the committed default study (notebooks/power/) is what the code computes today.

The studies here are small (two designs, a few replications each), so their checks are coarse but
seeded: with no effect the ledger's claims are supported about as rarely as the test's nominal size,
and with the generator's effects more villages give more power.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ztown.analysis import montecarlo, power
from ztown.cli import main as ztown_main
from ztown.data import synth

SMALL = power.Grid(villages=(4, 12), respondents=(10,), effects=(0.0, 1.0))
SMALL_REPLICATIONS = 20
RERUN_CELLS = (0, 22, 44)  # cells of the default grid whose first replication is re-run (first, middle, last)


@pytest.fixture(scope="module")
def params(study):
    return montecarlo.parameters_of(study)


@pytest.fixture(scope="module")
def small(params):
    reps = power.run(params, SMALL, SMALL_REPLICATIONS, jobs=2)
    return reps, power.summarize(reps, SMALL_REPLICATIONS)


def _distinct(summary: pd.DataFrame) -> pd.DataFrame:
    """The claims that are evidence of their own (a path restates its cause's estimate)."""
    return summary[summary["same_evidence_as"].isna()]


# --------------------------------------------------------------------------- what power must do

def test_every_claim_of_the_ledger_is_studied(small, study):
    from ztown.analysis import claims
    reps, _ = small
    assert not reps["failed"].any(), reps.loc[reps["failed"], "error"].unique()
    assert list(dict.fromkeys(reps["claim_id"])) == claims.build_ledger(study)["claim_id"].tolist()
    per_replication = reps.groupby(power.DESIGN + ["replication"]).size()
    assert (per_replication == per_replication.iloc[0]).all()


def test_with_no_effect_claims_are_supported_about_as_rarely_as_the_nominal_size(small):
    """Every claim is false at effect 0: the ledger's one-sided 2.5% test should say "supported" rarely.

    Pooled over the distinct claims and both designs (correlated tests: the five problem gaps share Z
    town's gap), the rate must stay below 8%; with the gaps or the reforms not switched off it is near 100%.
    """
    _, summary = small
    null = _distinct(summary[summary["effect"] == 0])
    rate = null["supported"].sum() / null["replications"].sum()
    assert rate < 0.08, null.groupby("claim_id")["power"].mean()
    assert (null.groupby("step")["supported"].sum() / null.groupby("step")["replications"].sum() < 0.2).all()


def test_more_villages_give_more_power(small):
    _, summary = small
    full = _distinct(summary[summary["effect"] == 1.0])
    by_villages = full.groupby("villages")["power"].mean()
    assert by_villages.loc[12] > by_villages.loc[4] + 0.05, by_villages
    assert by_villages.loc[12] > 0.9
    # claim by claim, never clearly less power with three times the villages
    wide = full.pivot(index="claim_id", columns="villages", values="power")
    assert (wide[12] >= wide[4] - 0.1).all(), wide


def test_a_path_has_exactly_its_causes_verdicts(small):
    reps, _ = small
    paths = reps[reps["same_evidence_as"].notna()]
    assert not paths.empty
    keys = power.DESIGN + ["replication"]
    causes = reps.set_index(keys + ["claim_id"])["supported"]
    restated = [causes.loc[(*r[keys], r["same_evidence_as"])] for _, r in paths.iterrows()]
    assert (paths["supported"].to_numpy() == np.array(restated)).all()


def test_the_respondents_do_not_change_the_reforms_claims(params):
    """The village panel is drawn before the respondents: the DiD claims depend on villages only."""
    grid = power.Grid(villages=(4,), respondents=(5, 40), effects=(0.5,))
    reps = power.run(params, grid, 2, jobs=1)
    e = reps[reps["step"] == "experience"].pivot_table(index=["replication", "claim_id"], columns="respondents",
                                                       values="estimate")
    assert np.array_equal(e[5].to_numpy(), e[40].to_numpy())


def test_the_design_parameters_set_villages_respondents_and_effects(params):
    base = synth.generate_study(power.design_parameters(params, 3, 6, 1.0, 99))
    half = synth.generate_study(power.design_parameters(params, 3, 6, 0.5, 99))
    none = synth.generate_study(power.design_parameters(params, 3, 6, 0.0, 99))
    assert (base.villages.groupby("town_id", observed=True).size() == 3).all()
    counts = base.respondents.groupby("village_id", observed=True).size()
    assert counts.between(6 - power.JITTER, 6 + power.JITTER).all()
    for key in ("cause_gap_sup", "oaxaca_fun", "effectiveness_gap", "path_effect_all", "att_town_A", "att_overall"):
        assert half.truth[key] == pytest.approx(0.5 * base.truth[key], rel=1e-9, abs=1e-12), key
        assert none.truth[key] == pytest.approx(0.0, abs=1e-12), key
    assert base.truth["cause_gap_sup"] == pytest.approx(montecarlo.parameters_of(base)["mean_Z_sup"].value - np.mean(
        [params[f"mean_{t}_sup"].value for t in power.COMPARISON_TOWNS]))


# --------------------------------------------------------------------------- summaries

def _fake_reps() -> pd.DataFrame:
    """Two claims in four designs, 10 replications each, with known numbers of supported verdicts."""
    supported = {(4, 10, "A"): 3, (4, 40, "A"): 8, (8, 10, "A"): 9, (8, 40, "A"): 10,
                 (4, 10, "B"): 0, (4, 40, "B"): 1, (8, 10, "B"): 2, (8, 40, "B"): 5}
    rows = []
    for (v, r, claim), k in supported.items():
        for rep in range(10):
            failed = (v, r, claim, rep) == (8, 40, "B", 0)  # would have been supported
            rows.append({"villages": v, "respondents": r, "effect": 1.0, "replication": rep, "seed": rep,
                         "claim_id": "" if failed else claim, "step": "" if failed else "s", "same_evidence_as": None,
                         "estimate": r + rep / 100, "ci_low": 0.0, "ci_high": 1.0, "true_value": 1.0,
                         "supported": rep < k,
                         "failed": failed, "error": "boom" if failed else "", "warnings": ""})
    return pd.DataFrame(rows, columns=power.COLUMNS)


def test_power_and_its_wilson_interval():
    from statsmodels.stats.proportion import proportion_confint
    summary = power.summarize(_fake_reps(), 10).set_index(["villages", "respondents", "claim_id"])
    row = summary.loc[(4, 40, "A")]
    assert (row["supported"], row["power"], row["interviews"]) == (8, 0.8, 5 * 4 * 40)
    lo, hi = proportion_confint(8, 10, alpha=0.05, method="wilson")
    assert (row["power_low"], row["power_high"]) == pytest.approx((lo, hi))
    failed = summary.loc[(8, 40, "B")]  # the failed replication counts as not supported
    assert (failed["supported"], failed["power"], failed["failures"]) == (4, 0.4, 1)


def test_the_recommendation_is_the_smallest_design_reaching_the_target():
    summary = power.summarize(_fake_reps(), 10)
    rec = power.recommend(summary, 1.0, 0.8).set_index("claim_id")
    assert rec.loc["A", "reached"] and (rec.loc["A", "villages"], rec.loc["A", "respondents"]) == (8, 10)
    assert not rec.loc["B", "reached"]  # never 80%: the most powerful design is shown
    assert (rec.loc["B", "villages"], rec.loc["B", "respondents"], rec.loc["B", "power"]) == (8, 40, 0.4)
    with pytest.raises(ValueError, match="effect multiplier"):
        power.recommend(summary, 0.5)


def test_the_size_table_pools_the_designs_and_counts_shared_villages_once():
    from statsmodels.stats.proportion import proportion_confint
    reps = _fake_reps().assign(effect=0.0)
    size = power.size_table(reps).set_index("claim_id")
    b = size.loc["B"]
    assert (b["supported"], b["verdicts"], b["units"]) == (7, 39, 20)  # the failed one left out; 2 x 10 draws
    lo, hi = proportion_confint(7 / 39 * 20, 20, alpha=0.05, method="wilson")
    assert (b["size"], b["size_low"], b["size_high"]) == pytest.approx((7 / 39, lo, hi))
    assert size.loc["A", "worst"] == 1.0


def test_a_bad_grid_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="villages per town: 1 is below"):
        power.Grid(villages=(1,), respondents=(10,), effects=(1,))
    with pytest.raises(ValueError, match="respondents per village"):
        power.Grid(villages=(4,), respondents=(3,), effects=(1,))
    with pytest.raises(ValueError, match="effect multipliers"):
        power.Grid(villages=(4,), respondents=(10,), effects=(-0.5,))
    with pytest.raises(ValueError, match="not a whole number"):
        power.Grid(villages=(4.5,), respondents=(10,), effects=(1,))
    assert power.Grid(villages=("8", 4, 8), respondents=(10,), effects=(1,)).villages == (4, 8)


# --------------------------------------------------------------------------- the cache

def test_the_cache_key_changes_with_everything_that_determines_the_results(params, monkeypatch):
    key = power.cache_key(params, SMALL, 5)
    assert power.cache_key(params, SMALL, 6) != key
    assert power.cache_key(synth.apply_overrides(params, {"beta_sup": "0.31"}), SMALL, 5) != key
    assert power.cache_key(synth.apply_overrides(params, {"seed": "1"}), SMALL, 5) == key  # the data seed aside
    for other in (power.Grid((4, 13), (10,), (0, 1)), power.Grid((4, 12), (20,), (0, 1)),
                  power.Grid((4, 12), (10,), (0, 0.5))):
        assert power.cache_key(params, other, 5) != key
    for module, name in ((synth, "GENERATOR_VERSION"), (montecarlo, "ESTIMATOR_VERSION"), (power, "POWER_VERSION")):
        monkeypatch.setattr(module, name, getattr(module, name) + "x")
        assert power.cache_key(params, SMALL, 5) != key, name
        monkeypatch.undo()
    monkeypatch.setattr(power, "POWER_SEED_BASE", power.POWER_SEED_BASE + 1)
    assert power.cache_key(params, SMALL, 5) != key


def test_a_study_computed_by_a_build_goes_to_the_results_folder(params, tmp_path, monkeypatch):
    committed = tmp_path / "committed"
    committed.mkdir()
    monkeypatch.setattr(power, "committed_cache_dir", lambda: committed)
    monkeypatch.delenv(power.CACHE_ENV, raising=False)
    monkeypatch.setenv("ZTOWN_RESULTS", str(tmp_path / "results"))
    grid = power.Grid((4,), (10,), (1.0,))
    reps = power.cached_run(params, grid, 1, jobs=1)
    assert list(committed.iterdir()) == []
    written = [p.name for p in (tmp_path / "results" / "power").iterdir()]
    assert written == [power.cache_path(params, grid, 1, tmp_path).name]  # the partial chunks are gone
    pd.testing.assert_frame_equal(power.cached_run(params, grid, 1, compute=False), reps)


def test_the_committed_default_study_is_current(params):
    """notebooks/power/ holds the default study for the committed package, and a re-run of the first
    replication of three of its designs gives the same verdicts and numbers."""
    grid, n = power.DEFAULT_GRID, power.DEFAULT_REPLICATIONS
    cached = power.cached_run(params, grid, n, compute=False)
    assert cached is not None, f"no committed default power study (expected " \
                               f"{power.cache_path(params, grid, n, power.committed_cache_dir()).name}); " \
                               "compute it with `python -m ztown.analysis.power`"
    assert cached.groupby(power.DESIGN)["replication"].nunique().eq(n).all()
    assert len(cached[power.DESIGN].drop_duplicates()) == len(grid.cells())
    cells = [grid.cells()[c] for c in RERUN_CELLS]
    fresh = power.run(params, grid, n, jobs=1, indices=[c * n for c in RERUN_CELLS])
    expected = pd.concat([cached[(cached["villages"] == v) & (cached["respondents"] == r)
                                 & np.isclose(cached["effect"], m) & (cached["replication"] == 0)]
                          for v, r, m in cells], ignore_index=True)
    problems = power.compare_with_cache(fresh, expected[power.COLUMNS])
    assert problems.empty, problems.to_string()
    present = {p.name for p in power.committed_cache_dir().iterdir()}
    assert present == {power.cache_path(params, grid, n, power.committed_cache_dir()).name}


def test_a_stale_cache_is_caught(params, tmp_path):
    grid = power.Grid((4,), (10,), (1.0,))
    fresh = power.run(params, grid, 2, jobs=1)
    cached = power.write_cache(fresh, tmp_path / "p.csv.gz")
    assert power.compare_with_cache(fresh, cached).empty
    moved = cached.copy()
    moved.loc[0, "estimate"] += 1e-6
    assert len(power.compare_with_cache(fresh, moved)) == 1
    flipped = cached.copy()
    i = flipped.index[flipped["ci_high"] < -0.01][0]
    flipped.loc[i, "supported"] = not flipped.loc[i, "supported"]
    assert power.compare_with_cache(fresh, flipped)["problem"].tolist() == ["verdict"]
    other = cached.assign(replication=cached["replication"][::-1].to_numpy())
    assert not power.compare_with_cache(fresh, other).empty


# --------------------------------------------------------------------------- the command

def test_ztown_power_runs_a_small_grid_and_then_reads_its_cache(tmp_path, capsys):
    args = ["power", "--villages", "4", "--respondents", "10", "--effects", "0", "1", "--replications", "2",
            "--jobs", "1", "--out", str(tmp_path)]
    assert ztown_main(args) == 0
    out = capsys.readouterr().out
    assert "Smallest design reaching power 0.80" in out and "computed in" in out
    names = {p.name for p in tmp_path.iterdir()}
    assert {"power_recommendations.csv", "power_summary.csv"} <= names
    assert len([n for n in names if n.startswith("power_") and n.endswith(".csv.gz")]) == 1
    summary = pd.read_csv(tmp_path / "power_summary.csv")
    assert set(summary["effect"]) == {0.0, 1.0} and (summary["replications"] == 2).all()
    assert ztown_main(args) == 0
    assert "cached" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--villages", "0"], "villages per town: '0' is below"),
    (["--respondents", "ten"], "respondents per village: 'ten' is not a number"),
    (["--set", "seed=3"], "--set seed: the grid sets these"),
    (["--set", "nope=1"], "unknown parameter 'nope'"),
    (["--replications", "0"], "--replications must be at least 1"),
    (["--target", "80"], "--target is a power between 0 and 1"),
])
def test_ztown_power_refuses_bad_input_without_a_traceback(extra, message, capsys, tmp_path):
    assert ztown_main(["power", "--out", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
