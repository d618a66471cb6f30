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
