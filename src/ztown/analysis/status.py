"""Descriptive measures for the status chapter: who the members and cadres are, service inputs and outputs.

Z town and the comparison towns are synthetic; the national comparators come from the real
`national_context` resource, and each comparator is returned with the year and publication it
comes from, so the chapter can say where every real number was read.
"""

from __future__ import annotations

import pandas as pd

from ztown.analysis.models import TIDY_COLUMNS, cluster_ols, tidy

COMPARISON = "Comparison towns"
NATIONAL = "National (real, latest year)"
OLD_AGE = 61  # the communiqués' age band "61 and over"
OLD_LABEL = f"Members aged {OLD_AGE} and over (%)"
ZTOWN = "Z town"


def latest(nc: pd.DataFrame, indicator: str, year: int | None = None) -> pd.Series:
    """The national figure for an indicator: a given year, else the latest year published."""
    rows = nc[nc["indicator"] == indicator]
    if year is not None:
        rows = rows[rows["year"] == year]
    if rows.empty:
        raise KeyError(f"national_context has no figure {indicator!r}" + (f" for {year}" if year else ""))
    return rows.sort_values("year").iloc[-1]


def _group(town: pd.Series) -> pd.Series:
    return town.map(lambda t: ZTOWN if t == "Z" else COMPARISON)


def member_profile(data) -> pd.DataFrame:
    """Profile of Party members and branch secretaries by group, beside the national figure.

    Shares of groups are simple pooled shares of the synthetic respondents and villages.
    """
    r = data.respondents.merge(data.villages[["village_id", "town_id"]], on="village_id")
    members = r[r["role"] == "member"].assign(group=lambda d: _group(d["town_id"]))
    v = data.villages.assign(group=lambda d: _group(d["town_id"]))
    nc = data.national_context
    rows = []

    def add(indicator, unit, by_group, national):
        for group, value in by_group.items():
            rows.append({"indicator": indicator, "unit": unit, "group": group, "value": float(value),
                         "year": pd.NA, "source": "synthetic"})
        if national is not None:
            rows.append({"indicator": indicator, "unit": unit, "group": NATIONAL,
                         "value": float(national["value"]), "year": int(national["year"]),
                         "source": f"{national['publication']}; read at {national['read_at']}"})

    add(OLD_LABEL, "percent",
        members.groupby("group")["age"].apply(lambda a: 100 * (a >= OLD_AGE).mean()),
        latest(nc, "members_aged_61_plus_share"))
    add("Members with college or above (%)", "percent",
        members.groupby("group")["education"].apply(lambda e: 100 * (e == "college_or_above").mean()),
        latest(nc, "members_college_share"))
    add("Members away as migrant workers (%)", "percent",
        v.groupby("group").apply(lambda d: 100 * d["members_migrant"].sum() / d["party_members"].sum(),
                                 include_groups=False), None)
    add("Secretaries with college or above (%)", "percent",
        v.groupby("group")["secretary_education"].apply(lambda e: 100 * (e == "college_or_above").mean()),
        latest(nc, "village_secretaries_college_share"))
    add("Secretaries' mean age (years)", "years", v.groupby("group")["secretary_age"].mean(),
        latest(nc, "village_secretary_mean_age"))
    return pd.DataFrame(rows)


def panel_measures(data) -> pd.DataFrame:
    """Village-year service measures with derived rates, joined to town and group."""
    p = data.village_years.merge(data.villages[["village_id", "town_id", "population"]], on="village_id")
    p = p.assign(
        group=lambda d: _group(d["town_id"]),
        town=lambda d: d["town_id"].map({"Z": "Z town", "A": "Town A", "B": "Town B", "C": "Town C",
                                         "D": "Town D"}),
        meeting_rate=lambda d: 100 * d["meetings_held"] / d["meetings_required"],
        activities_per_1000=lambda d: 1000 * d["service_activities"] / d["population"],
        resolved_rate=lambda d: 100 * d["complaints_resolved"] / d["complaints_received"].where(
            d["complaints_received"] > 0),
    )
    for col in ("year", "meetings_held", "meetings_required", "service_activities", "population"):
        p[col] = p[col].astype(float)
    p["z_town"] = (p["town_id"] == "Z").astype(int)
    return p


PANEL_MEASURES = {
    "service_funds_per_resident": "Service funds\n(yuan per resident)",
    "meeting_rate": "Meetings held\n(% of required)",
    "activities_per_1000": "Service activities\n(per 1,000 residents)",
    "resolved_rate": "Complaints resolved\n(%)",
}


def town_year_means(measures: pd.DataFrame) -> pd.DataFrame:
    """Mean of each panel measure by town and year (the figure's data)."""
    cols = [*PANEL_MEASURES, "satisfaction_index"]
    return measures.groupby(["town", "year"], as_index=False, observed=True)[cols].mean()


def input_gaps(measures: pd.DataFrame, years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Z town's gap to the comparison towns on each panel measure, with year fixed effects.

    OLS over village-years (optionally within a range of years), CR2 standard errors clustered by village.
    """
    data = measures if years is None else measures[measures["year"].between(*years)]
    rows = []
    for col, label in PANEL_MEASURES.items():
        d = data.dropna(subset=[col])
        fit = cluster_ols(f"{col} ~ z_town + C(year)", d)
        row = tidy(fit, ["z_town"]).iloc[0]
        rows.append({"measure": col, "label": label.replace("\n", " "),
                     **{k: row[k] for k in TIDY_COLUMNS[1:]}, "n": int(fit.nobs)})
    return pd.DataFrame(rows)


def adoption_years(data) -> dict[str, int]:
    """First reform year of each town that adopted one, keyed by the town's English name."""
    regions = data.regions
    return {str(name): int(year) for name, year in zip(regions["name_en"], regions["reform_year"])
            if pd.notna(year)}
