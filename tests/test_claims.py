"""The claims ledger: the verdict rule, its shape, and the CSV it writes."""

from __future__ import annotations

import pandas as pd
import pytest

from ztown.analysis import claims


@pytest.mark.parametrize("lo,hi,sign,expected", [
    (0.1, 0.5, +1, claims.SUPPORTED), (-0.1, 0.5, +1, claims.NOT_SUPPORTED),
    (-0.5, -0.1, -1, claims.SUPPORTED), (-0.5, 0.0, -1, claims.NOT_SUPPORTED),
    (-0.5, -0.1, +1, claims.NOT_SUPPORTED), (float("nan"), 0.2, +1, claims.NOT_TESTABLE),
])
def test_verdict_rule(lo, hi, sign, expected):
    assert claims.verdict(lo, hi, sign) == expected


@pytest.fixture(scope="module")
def ledger(study):
    return claims.build_ledger(study)


def test_ledger_has_every_claim_of_the_thesis(ledger):
    counts = ledger["step"].value_counts().to_dict()
    assert counts == {"problem": 5, "cause": 5, "path": 5, "experience": 4}
    assert ledger["claim_id"].is_unique
    assert set(ledger["verdict"]) <= {claims.SUPPORTED, claims.NOT_SUPPORTED, claims.NOT_TESTABLE}
    assert ledger[["estimate", "ci_low", "ci_high"]].notna().all().all()
    assert (ledger["ci_low"] <= ledger["estimate"]).all() and (ledger["estimate"] <= ledger["ci_high"]).all()


def test_ledger_true_values_come_from_the_package(ledger, study):
    causes = ledger[ledger["step"] == "cause"]
    assert list(causes["true_value"]) == [study.truth[f"oaxaca_{c}"] for c in ("sup", "sys", "eva", "sel", "fun")]


def test_ledger_is_written_where_ztown_results_says(ledger, tmp_path, monkeypatch):
    monkeypatch.setenv("ZTOWN_RESULTS", str(tmp_path / "elsewhere"))
    path = claims.write_ledger(ledger)
    assert path == tmp_path / "elsewhere" / "claims.csv"
    back = pd.read_csv(path)
    assert list(back.columns) == claims.COLUMNS and len(back) == len(ledger)


# --------------------------------------------------------------------------- distinct claims and recovery

def test_path_claims_restate_the_cause_claims_and_are_not_counted_twice(ledger):
    paths = ledger[ledger["step"] == "path"].set_index("claim_id")
    causes = ledger[ledger["step"] == "cause"].set_index("claim_id")
    assert list(paths["same_evidence_as"]) == list(causes.index)
    # the same estimate with the sign turned: no second piece of evidence
    for x, c in zip(paths.index, causes.index):
        assert paths.loc[x, "estimate"] == pytest.approx(-causes.loc[c, "estimate"], abs=1e-12)
    summary = claims.recovery_summary(ledger)
    assert summary["claims"] == len(ledger) - len(paths) == 14
    assert summary["restated"] == 5
    assert summary["supported"] + summary["not_supported"] + summary["untestable"] == summary["claims"]


def test_each_path_states_a_rank_interval_and_the_truth_ranks_it(ledger, study):
    paths = ledger[ledger["step"] == "path"]
    assert paths["rank_stated"].notna().all() and (paths["rank_low"] <= paths["rank_stated"]).all()
    assert (paths["rank_stated"] <= paths["rank_high"]).all()
    true = {c: study.truth[f"path_effect_{c}"] for c in ("sup", "sys", "eva", "sel", "fun")}
    order = sorted(true, key=true.get, reverse=True)
    assert list(paths["true_rank"]) == [order.index(c) + 1 for c in ("sup", "sys", "eva", "sel", "fun")]
    right = (paths["rank_low"] <= paths["true_rank"]) & (paths["true_rank"] <= paths["rank_high"])
    assert list(paths["rank_right"]) == list(right)


@pytest.mark.parametrize("verdict_,est,lo,hi,sign,truth,rank,expected", [
    (claims.SUPPORTED, -0.5, -0.8, -0.2, -1, -0.4, None, claims.RECOVERED),
    (claims.SUPPORTED, -0.5, -0.8, -0.2, -1, -0.1, None, claims.MISSED_TRUTH),
    (claims.SUPPORTED, 0.3, 0.1, 0.5, +1, 0.0, None, claims.FALSE_SUPPORT),
    (claims.NOT_SUPPORTED, 0.1, -0.1, 0.3, +1, 0.0, None, claims.RECOVERED),
    (claims.NOT_SUPPORTED, 0.1, -0.1, 0.3, +1, 0.2, None, claims.MISSED),
    (claims.SUPPORTED, 0.3, 0.1, 0.5, +1, 0.25, {"rank_stated": 1, "rank_low": 1, "rank_high": 2, "true_rank": 4},
     claims.WRONG_RANK),
    (claims.SUPPORTED, 0.3, 0.1, 0.5, +1, None, None, claims.NO_TRUTH),
])
def test_recovery_rule(verdict_, est, lo, hi, sign, truth, rank, expected):
    out = claims.recovery_checks(verdict_, est, lo, hi, sign, truth, rank)
    assert out["recovery"] == expected
    if truth == 0.0:
        assert out["sign_right"] is None and out["claim_true"] is False
    if truth is None:
        assert out["covers_truth"] is None and out["verdict_right"] is None


def test_recovery_follows_another_truth():
    """On a package whose supporting-systems effect is zero, the ledger says C2 is false in the
    generator and its path ranks last (tied), and counts right and wrong verdicts against that truth."""
    from ztown.data import synth

    params = synth.apply_overrides(synth.default_parameters(7), {"beta_sys": "0", "reform_effect_D": "0"})
    ledger = claims.build_ledger(synth.generate_study(params))
    c2 = ledger.set_index("claim_id").loc["C2"]
    assert c2["true_value"] == 0 and not c2["claim_true"] and pd.isna(c2["sign_right"])
    assert c2["verdict_right"] == (c2["verdict"] != claims.SUPPORTED)
    x2 = ledger.set_index("claim_id").loc["X2"]
    assert x2["true_rank"] == 5 and x2["same_evidence_as"] == "C2"
    summary = claims.recovery_summary(ledger)
    assert summary["false_claims"] == 2  # C2 and Town D's reform
    assert summary["verdict_right"] == int(ledger.loc[ledger["same_evidence_as"].isna(), "verdict_right"].sum())
