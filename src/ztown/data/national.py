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
