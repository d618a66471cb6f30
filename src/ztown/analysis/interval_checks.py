"""What the truth-recovery study says about the intervals a chapter prints, for a note beside them.

The appendix's Monte Carlo study measures how often each kind of 95% interval covers the generator's
truth. An interval outside the 93-97% band must be flagged where a reader meets it, not only in the
appendix: `chapter_note` turns the cached study into that flag. It reads the full study cached for
the data package's own parameters and never computes one (a chapter must not start a long study);
without a cache it says so.
"""

from __future__ import annotations

import pandas as pd

from ztown.analysis import montecarlo


def flagged_intervals(data, estimators: list[str]) -> pd.DataFrame | None:
    """Rows of the coverage table for `estimators` whose coverage is outside the band (None: no cached study)."""
    params = montecarlo.parameters_of(data)
    reps = montecarlo.cached_run(params, montecarlo.FULL_REPLICATIONS, compute=False)
    if reps is None:
        return None
    unknown = set(estimators) - set(reps["estimator"])
    if unknown:
        raise KeyError(f"the truth-recovery study has no estimator named {sorted(unknown)}")
    table = montecarlo.coverage_table(montecarlo.summarize(reps))
    mine = table[table["estimator"].isin(estimators) & ~table["reference_only"]]
    return mine[mine["flag"] != ""].reset_index(drop=True)


def chapter_note(data, estimators: list[str]) -> str:
    """One Markdown paragraph: which of a chapter's intervals the study found outside 93-97%, or that none is."""
    flagged = flagged_intervals(data, estimators)
    low, high = (round(100 * b) for b in montecarlo.BAND)
    if flagged is None:
        return ("No full truth-recovery study is cached for the parameters of this data package, so the "
                "coverage of this chapter's intervals is not known here (see the appendix).")
    if flagged.empty:
        return (f"In the truth-recovery study (appendix) every interval of this chapter covered the generator's "
                f"truth between {low} and {high} per cent of the time, as a 95% interval should.")
    items = "; ".join(f"{r.estimator}, `{r.parameter}`: {100 * r.coverage:.1f}% "
                      f"(Monte Carlo SE {100 * r.coverage_mc_se:.1f})" for r in flagged.itertuples())
    return (f"**Read these intervals with care.** In the truth-recovery study (appendix) some intervals of this "
            f"chapter covered the generator's truth outside the {low}-{high} per cent band that a correct 95% "
            f"interval keeps to: {items}. Where coverage is too low, the estimate is biased or its interval "
            f"too narrow; the appendix says which.")
