"""The real published figures (the only real numbers in the study), with computed shares.

`ztown/data/reference/national_figures.csv` is a transcription of `shared/reference/national-context-figures.md`:
one row per figure as the source states it, with the publication and the address where it was
read. The shares the sources do not state are computed here from two stated counts, and marked
`computed` with their formula; nothing is rounded, extrapolated or filled in.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

# share indicator <- (numerator, denominator), both in the same unit
COMPUTED_SHARES = {
    "members_aged_61_plus_share": ("members_aged_61_plus", "party_members"),
    "members_farmers_share": ("members_farmers", "party_members"),
}
# each indicator and unit in words, English and Chinese, for tables and figures (codes stay in the data)
INDICATOR_LABELS: dict[str, tuple[str, str]] = {
    "empty_shell_village_share": ("Villages with no or almost no collective income (\"empty shells\")",
                                  "集体经济“空壳村”占比"),
    "first_secretaries_in_post": ("First secretaries in post", "在岗第一书记"),
    "first_secretaries_selected": ("First secretaries selected to villages", "选派到村的第一书记"),
    "grassroots_organizations": ("Grass-roots Party organizations", "党的基层组织"),
    "members_aged_61_plus": ("Party members aged 61 or over", "61岁及以上党员"),
    "members_aged_61_plus_share": ("Share of Party members aged 61 or over", "61岁及以上党员占比"),
    "members_college_share": ("Share of Party members with college education or above", "大专及以上学历党员占比"),
    "members_farmers": ("Party members who are farmers, herders or fishers", "农牧渔民党员"),
    "members_farmers_share": ("Share of Party members who are farmers, herders or fishers", "农牧渔民党员占比"),
    "party_members": ("Party members", "党员总数"),
    "rural_income_per_capita": ("Rural residents' per-capita disposable income", "农村居民人均可支配收入"),
    "tangyue_net_income_per_capita": ("Tangyue village: per-capita net income", "塘约村人均纯收入"),
    "tangyue_population": ("Tangyue village: population", "塘约村人口"),
    "village_secretaries": ("Village Party secretaries", "村党组织书记"),
    "village_secretaries_college_share": ("Share of village Party secretaries with college education or above",
                                          "大专及以上学历村党组织书记占比"),
    "village_secretaries_leaders_getting_rich_share": ("Share of village Party secretaries who lead villagers in "
                                                       "getting rich", "带头致富能力强的村党组织书记占比"),
    "village_secretary_mean_age": ("Village Party secretaries' mean age", "村党组织书记平均年龄"),
    "villages_party_organization_coverage": ("Share of villages with a Party organization", "建立党组织的行政村占比"),
    "villages_with_party_organization": ("Villages with a Party organization", "建立党组织的行政村"),
    "yantai_branch_cooperatives": ("Yantai: Party-branch-led cooperatives", "烟台：党支部领办合作社"),
    "yantai_new_collective_income": ("Yantai: new village collective income", "烟台：新增村集体收入"),
    "yantai_pilot_villages": ("Yantai: pilot villages", "烟台：试点村"),
    "yantai_villager_income_increase": ("Yantai: increase of villagers' incomes", "烟台：村民增收"),
    "yantai_villages_covered_share": ("Yantai: share of villages covered", "烟台：覆盖村占比"),
}
UNIT_LABELS: dict[str, tuple[str, str]] = {
    "percent": ("per cent", "%"), "persons": ("persons", "人"), "10k_organizations": ("ten thousand organizations", "万个"),
    "10k_persons": ("ten thousand persons", "万人"), "yuan": ("yuan", "元"), "years": ("years", "岁"),
    "villages": ("villages", "个村"), "cooperatives": ("cooperatives", "个"), "100m_yuan": ("hundred million yuan", "亿元"),
}


def indicator_label(indicator: str, lang: str = "en") -> str:
    """An indicator in words ("Party members", "党员总数"); an unknown code is returned as it is."""
    pair = INDICATOR_LABELS.get(indicator)
    return pair[0 if lang == "en" else 1] if pair else indicator


def unit_label(unit: str, lang: str = "en") -> str:
    """A unit in words ("ten thousand persons", "万人"); an unknown code is returned as it is."""
    pair = UNIT_LABELS.get(unit)
    return pair[0 if lang == "en" else 1] if pair else unit


COLUMNS = ["indicator", "year", "period", "value", "value_qualifier", "unit", "scope", "basis", "formula",
           "publication", "issuer", "published", "read_at", "read_note"]


def stated_figures() -> pd.DataFrame:
    """The transcribed figures exactly as the sources state them."""
    with resources.files("ztown.data").joinpath("reference/national_figures.csv").open(encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype={"year": int, "value": float}, keep_default_na=False, na_values=[""])
    df["basis"] = "stated"
    df["formula"] = None
    return df


def national_context() -> pd.DataFrame:
    """Stated figures plus the shares computed from them, sorted by indicator and year."""
    stated = stated_figures()
    have = set(zip(stated["indicator"], stated["year"]))
    by_key = stated.set_index(["indicator", "year"])
    computed = []
    for share, (num, den) in COMPUTED_SHARES.items():
        for year in sorted(stated.loc[stated["indicator"] == num, "year"]):
            if (share, year) in have or (den, year) not in by_key.index:
                continue  # the source states it, or the denominator is missing: do not compute
            a, b = by_key.loc[(num, year)], by_key.loc[(den, year)]
            if a["read_at"] != b["read_at"]:
                continue
            computed.append({**a.to_dict(), "indicator": share, "year": year,
                             "value": 100 * a["value"] / b["value"], "unit": "percent", "basis": "computed",
                             "formula": f"100 * {num} / {den} (same publication, same year)"})
    out = pd.concat([stated, pd.DataFrame(computed)], ignore_index=True)
    return out.sort_values(["indicator", "year"], kind="stable").reset_index(drop=True)[COLUMNS]
