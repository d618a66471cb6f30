"""The claims ledger: each claim of the thesis with its indicator, estimate, 95% interval, verdict, and
what the generator's truth says of it.

The ledger is computed, never typed: `build_ledger(data)` runs the models on whatever data package
it is given. Verdicts follow one rule, fixed in advance: a claim is "supported" when the 95%
interval of its indicator lies entirely on the side the claim predicts, "not supported by these
data" otherwise, and "not testable here" when the data hold no indicator for it.

Distinct claims. A path claim X_k ("raising cause k would improve services") rests on exactly the
same estimate as the cause claim C_k (b_k x d_k with its sign turned), so it is not a second piece
of evidence: its row names `same_evidence_as` = C_k and the headline counts it once. What a path
row adds is the rank the book states for it (its 95% rank interval from joint draws).

Recovery. Where the data are synthetic, the generator's truth is known, and every claim is true or
false by construction; a count of "supported" claims then measures only the methods' power, not
the thesis. So each row also says whether the estimate has the true sign (`sign_right`), whether the
interval covers the true value (`covers_truth`), whether the verdict agrees with the truth
(`verdict_right`: supported exactly when the claim is true in the generator), and for ranks whether
the stated rank interval holds the true rank (`rank_right`); `recovery` sums these up. On real data
the truth is unknown and these columns are empty. `recovery_summary` gives the headline counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ztown.analysis import models, panel, ranks, scales, scenarios
from ztown.data.constructs import CAUSE_IDS, CONSTRUCT_BY_ID, PATHS, PROBLEM_IDS
from ztown.data.paths import results_dir

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported by these data"
NOT_TESTABLE = "not testable here"
COLUMNS = ["claim_id", "step", "claim", "indicator", "estimate", "ci_low", "ci_high", "unit",
           "predicted_sign", "verdict", "true_value", "same_evidence_as", "claim_true", "sign_right",
           "covers_truth", "verdict_right", "rank_stated", "rank_low", "rank_high", "true_rank", "rank_right",
           "recovery"]
# recovery verdicts
RECOVERED = "recovered"
MISSED_TRUTH = "verdict right, interval misses the truth"
WRONG_RANK = "verdict right, stated rank wrong"
FALSE_SUPPORT = "supported, but false in the generator"
MISSED = "not supported, but true in the generator"
NO_TRUTH = "no known truth"


def verdict(ci_low: float, ci_high: float, predicted_sign: int) -> str:
    """Supported when the whole 95% interval lies on the predicted side of zero."""
    if pd.isna(ci_low) or pd.isna(ci_high):
        return NOT_TESTABLE
    return SUPPORTED if (ci_low > 0 if predicted_sign > 0 else ci_high < 0) else NOT_SUPPORTED


def _row(claim_id, step, claim, indicator, est, lo, hi, unit, sign, truth, same_as=None, rank=None):
    row = {"claim_id": claim_id, "step": step, "claim": claim, "indicator": indicator, "estimate": est,
           "ci_low": lo, "ci_high": hi, "unit": unit, "predicted_sign": sign,
           "verdict": verdict(lo, hi, sign), "true_value": truth, "same_evidence_as": same_as}
    row.update(recovery_checks(row["verdict"], est, lo, hi, sign, truth, rank))
    return row


def recovery_checks(verdict_: str, est: float, lo: float, hi: float, sign: int, truth,
                    rank: dict | None = None) -> dict:
    """What the generator's truth says of one claim (all empty when the truth is unknown).

    claim_true: the true value lies strictly on the predicted side; sign_right: the estimate has the
    true value's sign (empty when the true value is 0, which has none); covers_truth: lo <= truth <= hi;
    verdict_right: supported exactly when the claim is true. With `rank` (rank_stated, rank_low,
    rank_high, true_rank): rank_right when the stated rank interval holds the true rank.
    """
    rank = rank or {}
    out = {"claim_true": None, "sign_right": None, "covers_truth": None, "verdict_right": None,
           "rank_stated": rank.get("rank_stated"), "rank_low": rank.get("rank_low"),
           "rank_high": rank.get("rank_high"), "true_rank": rank.get("true_rank"), "rank_right": None,
           "recovery": NO_TRUTH}
    if truth is None or pd.isna(truth):
        return out
    truth = float(truth)
    out["claim_true"] = bool(truth > 0 if sign > 0 else truth < 0)
    out["sign_right"] = None if truth == 0 else bool(np.sign(est) == np.sign(truth))
    out["covers_truth"] = bool(lo <= truth <= hi)
    out["verdict_right"] = bool((verdict_ == SUPPORTED) == out["claim_true"])
    if rank.get("true_rank") is not None:
        out["rank_right"] = bool(rank["rank_low"] <= rank["true_rank"] <= rank["rank_high"])
    if not out["verdict_right"]:
        out["recovery"] = FALSE_SUPPORT if verdict_ == SUPPORTED else MISSED
    elif not out["covers_truth"]:
        out["recovery"] = MISSED_TRUTH
    elif out["rank_right"] is False:
        out["recovery"] = WRONG_RANK
    else:
        out["recovery"] = RECOVERED
    return out


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
    true_ranks = _true_path_ranks(truth)
    cause_claim = {cid: f"C{k}" for k, cid in enumerate(CAUSE_IDS, start=1)}
    for k, cid in enumerate(CAUSE_IDS, start=1):
        p = paths.loc[cid]
        rank = {"rank_stated": int(p["rank"]), "rank_low": int(p["rank_low"]), "rank_high": int(p["rank_high"]),
                "true_rank": true_ranks.get(cid)}
        rows.append(_row(f"X{k}", "path", f"{PATHS[cid][0]} would improve Z town's services; the path "
                         "ranks where the book places it among the five.",
                         "Predicted change in Z town's service effectiveness if its "
                         f"{CONSTRUCT_BY_ID[cid].label_en.lower()} index rose to the comparison towns' average; "
                         "its rank among the five paths (95% rank interval)",
                         p["effectiveness_change"], p["effectiveness_ci_low"], p["effectiveness_ci_high"],
                         "Likert points", +1, truth.get(f"path_effect_{cid}"), same_as=cause_claim[cid],
                         rank=rank))
    table = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("rank_stated", "rank_low", "rank_high", "true_rank"):
        table[col] = table[col].astype("Int64")
    for col in ("claim_true", "sign_right", "covers_truth", "verdict_right", "rank_right"):
        table[col] = table[col].astype("boolean")
    return table


def _true_path_ranks(truth: dict) -> dict[str, int]:
    """The true paths' ranks by the generator's path effects (1 = largest; ties share the best rank)."""
    values = [truth.get(f"path_effect_{cid}") for cid in CAUSE_IDS]
    if any(v is None or pd.isna(v) for v in values):
        return {}
    return dict(zip(CAUSE_IDS, (int(r) for r in ranks.ranks_of(np.array(values, dtype=float)))))


def distinct(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger's distinct claims: every row that is not the same evidence as another."""
    return ledger[ledger["same_evidence_as"].isna()]


def recovery_summary(ledger: pd.DataFrame) -> dict:
    """Headline counts over distinct claims (path rows count only for their ranks).

    claims, supported, not_supported, untestable: the evidence verdicts; with_truth, true_claims,
    verdict_right, sign_right (of those with a signed truth), covers_truth, recovered: what the
    generator's truth says; ranks_stated, rank_right (true rank inside the stated interval),
    rank_point_right (the point estimate's rank is the true one).
    """
    d = distinct(ledger)
    known = d[d["claim_true"].notna()]
    signed = known[known["sign_right"].notna()]
    r = ledger[ledger["rank_stated"].notna()]
    r_known = r[r["true_rank"].notna()]
    return {
        "claims": len(d), "supported": int((d["verdict"] == SUPPORTED).sum()),
        "not_supported": int((d["verdict"] == NOT_SUPPORTED).sum()),
        "untestable": int((d["verdict"] == NOT_TESTABLE).sum()),
        "restated": int(ledger["same_evidence_as"].notna().sum()),
        "with_truth": len(known), "true_claims": int(known["claim_true"].sum()),
        "false_claims": int((~known["claim_true"].astype(bool)).sum()),
        "verdict_right": int(known["verdict_right"].sum()), "signed": len(signed),
        "sign_right": int(signed["sign_right"].sum()), "covers_truth": int(known["covers_truth"].sum()),
        "recovered": int((known["recovery"] == RECOVERED).sum()),
        "ranks_stated": len(r), "ranks_with_truth": len(r_known),
        "rank_right": int(r_known["rank_right"].sum()),
        "rank_point_right": int((r_known["rank_stated"] == r_known["true_rank"]).sum()),
    }


def write_ledger(ledger: pd.DataFrame, folder: Path | None = None) -> Path:
    """Write the ledger as CSV to `folder` (default: $ZTOWN_RESULTS or _build/results)."""
    folder = Path(folder) if folder else results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "claims.csv"
    ledger.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")
    return path
