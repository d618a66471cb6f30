"""Z town's achievements, measured: its own progress over the decade and its standing on the thesis's
list of achievements, beside the shortfalls the problems chapter measures.

Why: the thesis credits Z town with real achievements (service consciousness, systems, key personnel,
platforms, activities, a service pattern) before it names the problems. A chapter that shows only
the gaps to the comparison towns misreads it. Here every achievement the data can speak to
(`ztown.data.constructs.ACHIEVEMENTS`) gets a measure:

- `progress`: for each village-panel measure, Z town's mean in the first and the last year (what the
  status chapter's figure shows), its change over the decade, the comparison towns' change (their
  towns weighted equally) and the difference between the two changes: did Z town improve, and did
  it catch up? A change is the trend over all years, not the difference of two single years (one
  year's noise would decide it): each village's least-squares slope on the year, times the years
  between the first and the last.
- `levels`: for the village records kept once (Party-and-public service centre, first secretary),
  Z town's share against the comparison towns'.

Inference is on villages (one row per village; HC2 standard errors and Bell-McCaffrey degrees of
freedom, as for the cause gaps), with the same caveat as everywhere in the book: these are
statements about these five towns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ztown.analysis.design import TOWNS
from ztown.analysis.jointcov import contrast_vector, town_means_block
from ztown.analysis.models import interval
from ztown.analysis.status import panel_measures
from ztown.data.constructs import ACHIEVEMENTS

# field -> (label, unit); panel measures are yearly, village measures are recorded once
PANEL_MEASURES = {
    "service_funds_per_resident": ("Service funds per resident", "yuan"),
    "meeting_rate": ("Meetings held, share of those required", "per cent"),
    "activities_per_1000": ("Service activities per 1,000 residents", "activities"),
    "training_hours": ("Training hours", "hours"),
    "reached_per_100": ("Villagers reached by service activities, per 100 residents", "persons"),
    "resolved_rate": ("Complaints resolved", "per cent"),
    "satisfaction_index": ("Satisfaction index", "index points"),
}
VILLAGE_MEASURES = {
    "service_centre": ("Villages with a Party-and-public service centre", "per cent"),
    "first_secretary": ("Villages with a first secretary", "per cent"),
}
MEASURES = {**PANEL_MEASURES, **VILLAGE_MEASURES}


def _town_inference(villages: pd.DataFrame, column: str) -> dict:
    """Town means of a village-level column: Z town's mean, the comparison towns' (equal weights),
    and Z minus comparison, each with its HC2 interval and Bell-McCaffrey df."""
    block = town_means_block(column, villages, column)
    psi = block.influence.to_numpy()
    cov = psi.T @ psi
    params = block.params.to_numpy()

    def combo(c):
        return interval(float(c @ params), float(np.sqrt(c @ cov @ c)), block.cr2.df(c))

    z = np.array([1.0 if t == "Z" else 0.0 for t in block.params.index])
    comp = np.array([0.0 if t == "Z" else 1.0 / (len(TOWNS) - 1) for t in block.params.index])
    return {"z": combo(z), "comparison": combo(comp), "gap": combo(contrast_vector(block))}


def panel_frame(data) -> pd.DataFrame:
    """The village-year measures of `status.panel_measures` plus villagers reached per 100 residents."""
    m = panel_measures(data)
    m["reached_per_100"] = 100 * m["villagers_reached"] / m["population"]
    return m


def village_trends(m: pd.DataFrame, field: str) -> pd.DataFrame:
    """Per village: its mean of `field` in the first and the last year, and its least-squares slope on the
    year over every year it has the measure (at least two)."""
    rows = []
    first, last = m["year"].min(), m["year"].max()
    for (village, town), g in m.dropna(subset=[field]).groupby(["village_id", "town_id"], observed=True):
        if g["year"].nunique() < 2:
            continue
        x, y = g["year"].to_numpy(dtype=float), g[field].to_numpy(dtype=float)
        slope = float(np.polyfit(x - x.mean(), y, 1)[0])
        rows.append({"village_id": str(village), "town_id": str(town), "slope": slope,
                     "first": g.loc[g["year"] == first, field].mean(), "last": g.loc[g["year"] == last, field].mean()})
    return pd.DataFrame(rows)


def progress(data) -> pd.DataFrame:
    """Z town's change on each panel measure over the decade, against the comparison towns.

    One row per measure: label, unit, first, last (the years), z_first, z_last (Z-town means of its
    villages in those years), z_change (the villages' mean trend times last - first) with
    z_change_ci_low/high and df, comparison_first, comparison_last, comparison_change, and gap_change
    (Z's change minus the comparison towns') with its interval.
    """
    m = panel_frame(data)
    first, last = int(m["year"].min()), int(m["year"].max())
    span = last - first
    rows = []
    for field, (label, unit) in PANEL_MEASURES.items():
        v = village_trends(m, field)
        v["change"] = v["slope"] * span
        ch = _town_inference(v, "change")
        lv0, lv1 = _town_inference(v.dropna(subset=["first"]), "first"), _town_inference(v.dropna(subset=["last"]), "last")
        rows.append({"measure": field, "label": label, "unit": unit, "first": first, "last": last,
                     "z_first": lv0["z"]["estimate"], "z_last": lv1["z"]["estimate"],
                     "z_change": ch["z"]["estimate"], "z_change_ci_low": ch["z"]["ci_low"],
                     "z_change_ci_high": ch["z"]["ci_high"], "z_change_df": ch["z"]["df"],
                     "comparison_first": lv0["comparison"]["estimate"],
                     "comparison_last": lv1["comparison"]["estimate"],
                     "comparison_change": ch["comparison"]["estimate"],
                     "gap_change": ch["gap"]["estimate"], "gap_change_ci_low": ch["gap"]["ci_low"],
                     "gap_change_ci_high": ch["gap"]["ci_high"], "villages": len(v)})
    return pd.DataFrame(rows)


def levels(data) -> pd.DataFrame:
    """Z town's share of villages with each once-recorded feature, against the comparison towns (per cent)."""
    v = data.villages.assign(village_id=lambda d: d["village_id"].astype(str),
                             town_id=lambda d: d["town_id"].astype(str))
    rows = []
    for field, (label, unit) in VILLAGE_MEASURES.items():
        v[field + "_pct"] = 100 * v[field].astype(float)
        res = _town_inference(v, field + "_pct")
        rows.append({"measure": field, "label": label, "unit": unit, "z": res["z"]["estimate"],
                     "comparison": res["comparison"]["estimate"], "gap": res["gap"]["estimate"],
                     "gap_ci_low": res["gap"]["ci_low"], "gap_ci_high": res["gap"]["ci_high"]})
    return pd.DataFrame(rows)


def achievement_table(data, progress_table: pd.DataFrame | None = None,
                      levels_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The thesis's achievements, each with the measures the data hold for it.

    One row per (achievement, measure): the thesis's wording, the measure, Z town's value (first and
    last year for panel measures, the share for village records), its change and whether it is
    distinguishable from no change (`improved`: the change's interval lies above zero), and the
    comparison towns' value beside it.
    """
    prog = (progress(data) if progress_table is None else progress_table).set_index("measure")
    lev = (levels(data) if levels_table is None else levels_table).set_index("measure")
    rows = []
    for a in ACHIEVEMENTS:
        for field in a.measures:
            label, unit = MEASURES[field]
            if field in prog.index:
                p = prog.loc[field]
                rows.append({"achievement": a.thesis_wording, "achievement_zh": a.label_zh, "measure": label,
                             "unit": unit, "z_first": p["z_first"], "z_last": p["z_last"], "z_change": p["z_change"],
                             "z_change_ci_low": p["z_change_ci_low"], "z_change_ci_high": p["z_change_ci_high"],
                             "improved": bool(p["z_change_ci_low"] > 0),
                             "comparison_last": p["comparison_last"], "gap_change": p["gap_change"]})
            else:
                lv = lev.loc[field]
                rows.append({"achievement": a.thesis_wording, "achievement_zh": a.label_zh, "measure": label,
                             "unit": unit, "z_first": np.nan, "z_last": lv["z"], "z_change": np.nan,
                             "z_change_ci_low": np.nan, "z_change_ci_high": np.nan, "improved": pd.NA,
                             "comparison_last": lv["comparison"], "gap_change": np.nan})
    return pd.DataFrame(rows)
