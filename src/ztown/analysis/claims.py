"""The claims ledger: each claim of the thesis with its indicator, estimate, 95% interval and verdict.

The ledger is computed, never typed: `build_ledger(data)` runs the models on whatever data package
it is given. Verdicts follow one rule, fixed in advance: a claim is "supported" when the 95%
interval of its indicator lies entirely on the side the claim predicts, "not supported by these
data" otherwise, and "not testable here" when the data hold no indicator for it. Where the data
are synthetic the generator's true value is shown beside the estimate.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ztown.analysis import models, panel, scales, scenarios
from ztown.data.constructs import CAUSE_IDS, CONSTRUCT_BY_ID, PATHS, PROBLEM_IDS
from ztown.data.paths import results_dir

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported by these data"
NOT_TESTABLE = "not testable here"
COLUMNS = ["claim_id", "step", "claim", "indicator", "estimate", "ci_low", "ci_high", "unit",
           "predicted_sign", "verdict", "true_value"]


def verdict(ci_low: float, ci_high: float, predicted_sign: int) -> str:
    """Supported when the whole 95% interval lies on the predicted side of zero."""
    if pd.isna(ci_low) or pd.isna(ci_high):
        return NOT_TESTABLE
    return SUPPORTED if (ci_low > 0 if predicted_sign > 0 else ci_high < 0) else NOT_SUPPORTED


def _row(claim_id, step, claim, indicator, est, lo, hi, unit, sign, truth):
    return {"claim_id": claim_id, "step": step, "claim": claim, "indicator": indicator, "estimate": est,
            "ci_low": lo, "ci_high": hi, "unit": unit, "predicted_sign": sign,
            "verdict": verdict(lo, hi, sign), "true_value": truth}


def compute_results(data) -> dict:
    """Every estimate the ledger needs, from one data package (the models of chapters 2 to 5)."""
    frame = scales.analysis_frame(data)
    ols = models.cause_ols(frame)
    gaps = models.cause_gaps(frame)
    ologit = models.satisfaction_ologit(frame)
    pf = panel.panel_frame(data)
    return {
        "frame": frame,
        "problem_gaps": models.problem_gaps(frame),
        "cause_ols": ols,
        "cause_gaps": gaps,
        "oaxaca": models.oaxaca(frame, ols, gaps),
        "ologit": ologit,
        "paths": scenarios.path_scenarios(frame, ols, ologit, gaps),
        "panel": pf,
        "event_study": panel.sun_abraham(pf, "satisfaction_index"),
    }


def build_ledger(data, results: dict | None = None) -> pd.DataFrame:
    """The claims ledger for one data package: five problems, five causes, the reforms, five paths."""
    res = results or compute_results(data)
    truth = data.truth
    rows = []
    gaps = res["problem_gaps"].set_index("construct")
    for k, cid in enumerate(PROBLEM_IDS, start=1):
        g = gaps.loc[cid]
        rows.append(_row(f"P{k}", "problem", f"Z town: {CONSTRUCT_BY_ID[cid].thesis_wording}.",
                         f"Z town minus comparison towns, {CONSTRUCT_BY_ID[cid].label_en.lower()} scale "
                         "(adjusted for role, age, education)",
                         g["estimate"], g["ci_low"], g["ci_high"], "Likert points", -1,
                         truth.get("effectiveness_gap")))
    oax = res["oaxaca"].set_index("part")
    for k, cid in enumerate(CAUSE_IDS, start=1):
        o = oax.loc[cid]
        rows.append(_row(f"C{k}", "cause", f"Z town's problems are due in part to the {CONSTRUCT_BY_ID[cid].thesis_wording}.",
                         f"Part of Z town's effectiveness gap explained by its {CONSTRUCT_BY_ID[cid].label_en.lower()} "
                         "index (Oaxaca-Blinder)",
                         o["estimate"], o["ci_low"], o["ci_high"], "Likert points", -1, truth.get(f"oaxaca_{cid}")))
    towns = data.regions.set_index("town_id")
    cohorts = res["event_study"].by_cohort
    for k, row in enumerate(cohorts.itertuples(), start=1):
        ids = [t.strip() for t in str(row.towns).split(",") if t.strip()]
        names = " and ".join(towns.loc[t, "name_en"] for t in ids)
        reforms = ", ".join(str(towns.loc[t, "reform"]).replace("_", " ") for t in ids)
        rows.append(_row(f"E{k}", "experience",
                         f"The reform of {names} ({reforms}), patterned after a real experience, raised "
                         "villagers' satisfaction.",
                         f"Average effect of the reform adopted in {row.cohort} on the satisfaction index "
                         "(interaction-weighted event study)",
                         row.estimate, row.ci_low, row.ci_high, "index points", +1,
                         truth.get(f"att_town_{ids[0]}") if len(ids) == 1 else None))
    paths = res["paths"].set_index("path")
    for k, cid in enumerate(CAUSE_IDS, start=1):
        p = paths.loc[cid]
        rows.append(_row(f"X{k}", "path", f"{PATHS[cid][0]} would improve Z town's services.",
                         "Predicted change in Z town's service effectiveness if its "
                         f"{CONSTRUCT_BY_ID[cid].label_en.lower()} index rose to the comparison towns' average",
                         p["effectiveness_change"], p["effectiveness_ci_low"], p["effectiveness_ci_high"],
                         "Likert points", +1, truth.get(f"path_effect_{cid}")))
    return pd.DataFrame(rows, columns=COLUMNS)


def write_ledger(ledger: pd.DataFrame, folder: Path | None = None) -> Path:
    """Write the ledger as CSV to `folder` (default: $ZTOWN_RESULTS or _build/results)."""
    folder = Path(folder) if folder else results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "claims.csv"
    ledger.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")
    return path
