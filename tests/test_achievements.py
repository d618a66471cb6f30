"""Z town's achievements, measured: decade trends and once-recorded shares against the comparison towns."""

from __future__ import annotations

import numpy as np
import pytest

from ztown.analysis import achievements, status
from ztown.data.constructs import ACHIEVEMENTS


@pytest.fixture(scope="module")
def prog(study):
    return achievements.progress(study).set_index("measure")


def test_first_and_last_year_levels_are_the_figure_s_town_means(prog, study):
    means = status.town_year_means(status.panel_measures(study))
    z = means[means["town"] == "Z town"].set_index("year")
    for field in ("service_funds_per_resident", "meeting_rate", "satisfaction_index"):
        assert prog.loc[field, "z_first"] == pytest.approx(z.loc[2014, field])
        assert prog.loc[field, "z_last"] == pytest.approx(z.loc[2023, field])


def test_change_is_the_villages_mean_trend_over_the_decade(prog, study):
    m = achievements.panel_frame(study)
    z = m[m["town_id"] == "Z"]
    slopes = [np.polyfit(g["year"] - g["year"].mean(), g["service_funds_per_resident"], 1)[0]
              for _, g in z.groupby("village_id", observed=True)]
    assert prog.loc["service_funds_per_resident", "z_change"] == pytest.approx(9 * np.mean(slopes))
    row = prog.loc["service_funds_per_resident"]
    assert row["z_change_ci_low"] < row["z_change"] < row["z_change_ci_high"]
    assert row["gap_change"] == pytest.approx(row["z_change"] - row["comparison_change"])


def test_levels_are_shares_of_villages(study):
    lev = achievements.levels(study).set_index("measure")
    v = study.villages
    z = 100 * v.loc[v["town_id"] == "Z", "service_centre"].astype(float).mean()
    assert lev.loc["service_centre", "z"] == pytest.approx(z)


def test_every_achievement_of_the_thesis_has_a_measure(study):
    table = achievements.achievement_table(study)
    assert set(table["achievement"]) == {a.thesis_wording for a in ACHIEVEMENTS}
    assert all(f in achievements.MEASURES for a in ACHIEVEMENTS for f in a.measures)
