"""The complete-case design of a model: the rows it uses, each carrying its respondent, village and town.

Why one function for every model: a model that drops the rows with missing values and then looks up
each remaining row's village or town by position in the full frame gives rows other respondents'
villages (issue 8 found exactly this in the ordered logit's clusters and the paths' Z-town rows).
Here the ids travel with the rows, so a model takes its clusters and its town groups from the rows
it was fitted on and never re-joins anything by position. The rows are put in respondent order, so
the order (or the index) of the frame a caller passes cannot change any result.

`village_table` is the village-level counterpart: one row per village of a design, with its town
and the village means of the requested columns (the cause indices are constant within a village,
so their "mean" is the index itself).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ID_COLUMNS = ["respondent_id", "village_id", "town_id"]
TOWNS = ("Z", "A", "B", "C", "D")  # Z town first, then the four comparison towns


def _check_ids(frame: pd.DataFrame, what: str) -> None:
    """Every row needs a respondent id (unique), a village and a town: name the first row that lacks one."""
    absent = [c for c in ID_COLUMNS if c not in frame.columns]
    if absent:
        raise KeyError(f"{what} lacks the id column(s) {', '.join(absent)}; build it with scales.analysis_frame(data)")
    for col in ID_COLUMNS:
        bad = np.flatnonzero(frame[col].isna().to_numpy())
        if len(bad):
            raise ValueError(f"{what}, row {bad[0]} (position): field {col} is empty; every respondent needs one")
    dup = np.flatnonzero(frame["respondent_id"].duplicated().to_numpy())
    if len(dup):
        raise ValueError(f"{what}, row {dup[0]} (position): field respondent_id "
                         f"{frame['respondent_id'].iat[dup[0]]!r} appears more than once")


def complete_cases(frame: pd.DataFrame, columns: Sequence[str], what: str = "the analysis frame") -> pd.DataFrame:
    """The rows of `frame` with every one of `columns` present, with the id columns, in respondent order.

    Returns the id columns (respondent_id, village_id, town_id) followed by `columns`; the index is
    the respondent id (named "respondent"), so a row can only ever be found by whose it is.
    """
    columns = list(dict.fromkeys(c for c in columns if c not in ID_COLUMNS))
    _check_ids(frame, what)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise KeyError(f"{what} lacks the column(s) {', '.join(absent)}")
    keep = frame[columns].notna().all(axis=1).to_numpy() if columns else np.ones(len(frame), bool)
    data = frame.loc[keep, ID_COLUMNS + columns].sort_values("respondent_id", kind="mergesort")
    data.index = pd.Index(data["respondent_id"].to_numpy(), name="respondent")
    return data


def village_codes(data: pd.DataFrame) -> np.ndarray:
    """Integer cluster codes of a design's rows: villages numbered in the order of their ids."""
    return pd.factorize(data["village_id"].astype(str), sort=True)[0]


def village_table(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One row per village of a design (sorted by village id): village_id, town_id, respondents, means."""
    columns = list(columns)
    grouped = data.assign(village_id=data["village_id"].astype(str), town_id=data["town_id"].astype(str)) \
        .groupby("village_id", sort=True, observed=True)
    towns = grouped["town_id"].agg(["first", "nunique"])
    if (towns["nunique"] > 1).any():
        village = towns.index[towns["nunique"] > 1][0]
        raise ValueError(f"village {village} is listed under more than one town in the analysis frame")
    out = pd.DataFrame({"village_id": towns.index, "town_id": towns["first"].to_numpy(),
                        "respondents": grouped.size().to_numpy()})
    for col in columns:
        out[col] = grouped[col].mean().to_numpy(dtype=float)
    return out.reset_index(drop=True)


def town_contrast(towns: Sequence[str] = TOWNS) -> dict[str, float]:
    """Weights of "Z town minus the comparison towns' equally weighted average" over town means."""
    others = [t for t in towns if t != "Z"]
    return {"Z": 1.0, **{t: -1.0 / len(others) for t in others}}
