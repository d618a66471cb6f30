"""The chapters' coverage notes: flag an interval kind outside 93-97% where the reader meets it."""

from __future__ import annotations

import pandas as pd
import pytest

from ztown.analysis import interval_checks, montecarlo


def _reps(covered_share: dict[str, float], n: int) -> pd.DataFrame:
    """A fake study: per estimator, a share `covered_share` of n replications whose interval covers truth 0."""
    rows = []
    for estimator, share in covered_share.items():
        hits = int(round(share * n))
        for r in range(n):
            centre = 0.0 if r < hits else 5.0  # covering rows are centred on the truth, the rest far off
            rows.append({"replication": r, "seed": r, "estimator": estimator, "parameter": "p", "estimate": centre,
                         "se": 1.0, "ci_low": centre - 1.96, "ci_high": centre + 1.96, "truth": 0.0})
    return pd.DataFrame(rows, columns=montecarlo.COLUMNS)


@pytest.fixture
def cache(tmp_path, monkeypatch, study):
    monkeypatch.setenv(montecarlo.CACHE_ENV, str(tmp_path))
    path = montecarlo.cache_path(montecarlo.parameters_of(study), montecarlo.FULL_REPLICATIONS, tmp_path)

    def write(shares):
        montecarlo.write_cache(_reps(shares, montecarlo.FULL_REPLICATIONS), path)
    return write


def test_an_interval_below_the_band_is_flagged(cache, study):
    cache({"OLS coefficient": 0.90, "Cause gap (village means)": 0.95})
    note = interval_checks.chapter_note(study, ["OLS coefficient", "Cause gap (village means)"])
    assert "Read these intervals with care" in note
    assert "OLS coefficient" in note and "90.0%" in note
    assert "Cause gap" not in note


def test_intervals_inside_the_band_say_so(cache, study):
    cache({"OLS coefficient": 0.95})
    note = interval_checks.chapter_note(study, ["OLS coefficient"])
    assert "every interval of this chapter covered" in note


def test_no_cached_study_is_said_plainly(tmp_path, monkeypatch, study):
    monkeypatch.setenv(montecarlo.CACHE_ENV, str(tmp_path))
    assert "No full truth-recovery study is cached" in interval_checks.chapter_note(study, ["OLS coefficient"])


def test_an_unknown_estimator_name_is_an_error(cache, study):
    cache({"OLS coefficient": 0.95})
    with pytest.raises(KeyError, match="no estimator named"):
        interval_checks.flagged_intervals(study, ["OLS coefficients"])
