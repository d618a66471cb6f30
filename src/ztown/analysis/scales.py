"""Measurement: item scores, reverse coding, Cronbach's alpha, scale scores and village indices.

Items are answered on 1-5; negatively worded items are reversed (6 - x) so that a higher score
always means a better state. A respondent's scale score is the mean of the items they answered
("don't know" and "refused" are missing, not zero). Village indices of the causes are means over
all respondents of the village: a property of the village, constant within it. (A leave-one-out
mean would keep a respondent's own answering style out of the index, but it varies within the
village in exact opposition to the respondent's own answers, which a random-intercept model then
mistakes for the effect; with ~40 respondents the own-answer share of the full mean is 1/40.)
"""

from __future__ import annotations

import pandas as pd

from ztown.data.constructs import CAUSE_IDS, CONSTRUCTS, ITEMS, PROBLEM_IDS, items_of

EFFECTIVENESS = "effectiveness"  # mean of the five problem scales: overall service effectiveness
ALPHA_RULE_OF_THUMB = 0.7  # the conventional minimum alpha for a scale used to compare groups


def item_scores(respondents: pd.DataFrame) -> pd.DataFrame:
    """Numeric item scores (float, NaN for missing), reverse-coded items reversed."""
    out = {}
    for item in ITEMS:
        x = pd.to_numeric(respondents[item.id].astype("Float64"), errors="raise").astype(float)
        out[item.id] = 6 - x if item.reverse_coded else x
    return pd.DataFrame(out, index=respondents.index)


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of a set of item columns, over respondents who answered all of them.

    alpha = k/(k-1) * (1 - sum of item variances / variance of the sum score), sample variances (ddof=1).
    """
    complete = items.dropna()
    k = complete.shape[1]
    if k < 2:
        raise ValueError("Cronbach's alpha needs at least two items")
    if len(complete) < 2:
        raise ValueError("Cronbach's alpha needs at least two complete responses")
    item_var = complete.var(axis=0, ddof=1).sum()
    total_var = complete.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1 - item_var / total_var))


def reliability_table(respondents: pd.DataFrame) -> pd.DataFrame:
    """Alpha, item count and complete cases per construct (reverse-coded items handled)."""
    scores = item_scores(respondents)
    rows = []
    for c in CONSTRUCTS:
        cols = [i.id for i in items_of(c.id)]
        rows.append({"construct": c.id, "label": c.label_en, "dimension": c.dimension, "items": len(cols),
                     "complete_cases": int(scores[cols].dropna().shape[0]),
                     "alpha": cronbach_alpha(scores[cols])})
    return pd.DataFrame(rows)


def scale_scores(respondents: pd.DataFrame, min_items: int = 2) -> pd.DataFrame:
    """Per-respondent scale score of every construct: mean of answered items (NaN if fewer than min_items).

    Also `effectiveness`: the mean of the five problem scales (NaN if any is missing).
    """
    scores = item_scores(respondents)
    out = {}
    for c in CONSTRUCTS:
        cols = [i.id for i in items_of(c.id)]
        block = scores[cols]
        out[c.id] = block.mean(axis=1).where(block.notna().sum(axis=1) >= min_items)
    frame = pd.DataFrame(out, index=respondents.index)
    frame[EFFECTIVENESS] = frame[list(PROBLEM_IDS)].mean(axis=1, skipna=False)
    return frame


def analysis_frame(data) -> pd.DataFrame:
    """One row per respondent: demographics, town, scale scores and the village cause indices.

    Cause index columns are named `idx_<cause>`: the mean of the cause scale over ALL respondents of
    the village who have it, the respondent's own answer included (not a leave-one-out mean; the
    module docstring says why), so the index is constant within a village. `z_town` is 1 for Z town,
    0 for comparison towns.
    """
    r = data.respondents
    frame = r[["respondent_id", "village_id", "role", "sex", "age", "education", "satisfaction",
               "participation"]].copy()
    frame = frame.merge(data.villages[["village_id", "town_id"]].astype({"village_id": "string"}),
                        on="village_id", how="left", validate="many_to_one")
    scores = scale_scores(r)
    frame = pd.concat([frame.reset_index(drop=True), scores.reset_index(drop=True)], axis=1)
    for cid in CAUSE_IDS:
        frame[f"idx_{cid}"] = frame.groupby("village_id")[cid].transform("mean")
    frame["z_town"] = (frame["town_id"] == "Z").astype(int)
    frame["age"] = frame["age"].astype(float)
    frame["role"] = pd.Categorical(frame["role"].astype(str), categories=["villager", "member", "cadre"])
    frame["education"] = pd.Categorical(frame["education"].astype(str),
                                        categories=list(data.respondents["education"].cat.categories))
    return frame


def answer_shares(respondents: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """Share of each answer 1-5 per item (after reverse coding), Z town vs comparison towns.

    Shares are among answered items ("don't know" and "refused" left out); one row per item and group.
    """
    scores = item_scores(respondents)
    town = respondents[["village_id"]].merge(villages[["village_id", "town_id"]], on="village_id", how="left")
    group = pd.Series((town["town_id"] == "Z").map({True: "Z town", False: "Comparison towns"}).to_numpy(),
                      index=respondents.index)
    rows = []
    for item in ITEMS:
        for g in ("Z town", "Comparison towns"):
            answered = scores.loc[group == g, item.id].dropna()
            shares = answered.value_counts(normalize=True).reindex([1.0, 2.0, 3.0, 4.0, 5.0], fill_value=0.0)
            rows.append({"item": item.id, "construct": item.construct, "group": g, "answered": len(answered),
                         **{str(k): float(shares.iloc[k - 1]) for k in range(1, 6)}})
    return pd.DataFrame(rows)
