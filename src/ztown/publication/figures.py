"""The book's figures: one theme, one function per figure, each returning a matplotlib Figure.

Figures are sized for the book's text column and drawn with seaborn. Synthetic data are labelled
as such in every figure that shows them (a small note in the corner); real national series carry
their source. Each figure's underlying data is written as CSV by `save_figure_data`, for download.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

TOWN_ORDER = ["Z", "A", "B", "C", "D"]
TOWN_LABELS = {"Z": "Z town", "A": "Town A", "B": "Town B", "C": "Town C", "D": "Town D"}
SYNTHETIC_TAG = "synthetic data"
WIDTH = 7.0  # inches: the book's text column at the default zoom


def set_theme() -> None:
    """The book's plotting theme: readable at column width, colour-blind safe, deterministic output."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "figure.figsize": (WIDTH, 4.0),
                         "svg.hashsalt": "ztown", "axes.titleweight": "bold", "figure.autolayout": False})


def town_palette() -> dict[str, tuple]:
    colours = sns.color_palette("colorblind", len(TOWN_ORDER))
    return {TOWN_LABELS[t]: colours[i] for i, t in enumerate(TOWN_ORDER)}


def _tag(fig, text: str = SYNTHETIC_TAG) -> None:
    fig.text(0.995, 0.005, text, ha="right", va="bottom", fontsize=7, color="0.4", style="italic")


# significant digits of the numbers in figure-data CSV files (what a replication compares them at)
FIGURE_DATA_DIGITS = 6


def save_figure_data(df: pd.DataFrame, name: str, folder: str | Path | None = None) -> Path:
    """Write a figure's data as CSV (the page links it for download).

    The folder is `folder`, else `ztown.data.paths.figure_data_dir()` ($ZTOWN_FIGURE_DATA, else the
    results folder), never the notebook's own folder: executing a chapter, in a build, a test or
    on other data, must not overwrite the committed figure data (only `ztown publish` does).
    """
    from ztown.data.paths import figure_data_dir

    folder = Path(folder) if folder is not None else figure_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    df.to_csv(path, index=False, lineterminator="\n", float_format=f"%.{FIGURE_DATA_DIGITS}g")
    return path


def national_series(nc: pd.DataFrame) -> plt.Figure:
    """Real national series: Party members and rural income (published figures, with sources)."""
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 3.0))
    specs = [("party_members", "Party members\n(10,000 persons)"),
             ("members_aged_61_plus_share", "Members aged 61+\n(% of members)"),
             ("rural_income_per_capita", "Rural per-capita disposable\nincome (yuan)")]
    years = range(int(nc["year"].min()), int(nc["year"].max()) + 1)
    for ax, (indicator, title) in zip(axes, specs):
        s = nc[nc["indicator"] == indicator].sort_values("year")
        line = s.set_index("year")["value"].reindex(years)  # a missing year breaks the line
        ax.plot(line.index, line.to_numpy(), marker="o", linestyle="-", color="0.25")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        computed = s[s["basis"] == "computed"]
        ax.plot(computed["year"], computed["value"], marker="o", linestyle="none", color="C1")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
        ax.tick_params(labelsize=8)
    fig.text(0.005, 0.005, "Real published figures (CPC communiqués; NBS). Orange: share computed from two "
             "stated counts. Missing years are left missing.", fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def profile_comparison(profile: pd.DataFrame) -> plt.Figure:
    """Who the members and secretaries are: Z town vs comparison towns vs the national figure."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    groups = list(dict.fromkeys(profile["group"]))
    order = [g for g in ("Z town", "Comparison towns") if g in groups] + [g for g in groups
                                                                         if g not in ("Z town", "Comparison towns")]
    colours = dict(zip(order, [town_palette()["Z town"], "0.65", "0.25"]))
    sns.barplot(data=profile, y="indicator", x="value", hue="group", hue_order=order, palette=colours, ax=ax,
                orient="h")
    ax.set_xlabel("value (see indicator for the unit)")
    ax.set_ylabel("")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower left", ncols=3, fontsize=8, frameon=False)
    ax.get_legend().remove()
    _tag(fig, "Z town and comparison towns: synthetic data; national: real published figures")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def panel_trends(panel_means: pd.DataFrame, measures: dict[str, str]) -> plt.Figure:
    """Service inputs and outputs over time, by town."""
    n = len(measures)
    fig, axes = plt.subplots(1, n, figsize=(WIDTH, 2.9), sharex=True)
    for ax, (col, title) in zip(np.atleast_1d(axes), measures.items()):
        sns.lineplot(data=panel_means, x="year", y=col, hue="town", ax=ax, palette=town_palette(),
                     hue_order=list(town_palette()), legend=ax is np.atleast_1d(axes)[0], marker=".")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=8)
    first = np.atleast_1d(axes)[0]
    handles, labels = first.get_legend_handles_labels()
    if first.get_legend():
        first.get_legend().remove()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8, frameon=False)
    _tag(fig)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def item_distributions(shares: pd.DataFrame) -> plt.Figure:
    """Stacked shares of answers 1-5 per item (after reverse coding), Z town vs comparison towns."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 7.5), sharey=True)
    colours = sns.color_palette("RdYlGn", 5)
    for ax, group in zip(axes, ["Z town", "Comparison towns"]):
        sub = shares[shares["group"] == group].set_index("item")
        left = np.zeros(len(sub))
        for k in range(1, 6):
            ax.barh(sub.index, sub[str(k)], left=left, color=colours[k - 1], label=str(k))
            left += sub[str(k)].to_numpy()
        ax.set_title(group, fontsize=10)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.tick_params(labelsize=7)
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, [f"score {lab}" for lab in labels], loc="lower center", ncols=5, fontsize=8, frameon=False)
    _tag(fig)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def coefficient_plot(table: pd.DataFrame, label_col: str, title: str, xlabel: str,
                     truth: pd.Series | None = None) -> plt.Figure:
    """Point estimates with 95% intervals (and the generator's true values where known)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 0.45 * len(table) + 1.2))
    y = np.arange(len(table))
    ax.errorbar(table["estimate"], y, xerr=[table["estimate"] - table["ci_low"], table["ci_high"] - table["estimate"]],
                fmt="o", color="C0", capsize=3, label="estimate, 95% CI")
    if truth is not None:
        ax.scatter(truth.to_numpy(), y, marker="x", color="C3", zorder=3, label="true value (generator)")
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, table[label_col])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower left", ncols=2, fontsize=8, frameon=False)
    _tag(fig)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def residual_plot(fitted: np.ndarray, resid: np.ndarray) -> plt.Figure:
    """Residuals against fitted values, and their distribution."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.0))
    axes[0].scatter(fitted, resid, s=4, alpha=0.3, color="C0", rasterized=True)
    axes[0].axhline(0, color="0.3", linewidth=0.8)
    axes[0].set_xlabel("fitted effectiveness")
    axes[0].set_ylabel("residual")
    sns.histplot(resid, bins=40, ax=axes[1], color="C0", stat="density")
    axes[1].set_xlabel("residual")
    _tag(fig)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def event_study_plot(iw: pd.DataFrame, twfe: pd.DataFrame | None = None,
                     truth: pd.DataFrame | None = None) -> plt.Figure:
    """Event-study estimates by year relative to adoption (interaction-weighted and naive TWFE)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    ax.errorbar(iw["event_time"] - 0.08, iw["estimate"], yerr=[iw["estimate"] - iw["ci_low"], iw["ci_high"] - iw["estimate"]],
                fmt="o-", color="C0", capsize=3, label="interaction-weighted (Sun & Abraham)")
    if twfe is not None:
        ax.errorbar(twfe["event_time"] + 0.08, twfe["estimate"],
                    yerr=[twfe["estimate"] - twfe["ci_low"], twfe["ci_high"] - twfe["estimate"]],
                    fmt="s--", color="C1", capsize=3, alpha=0.8, label="naive two-way fixed effects")
    if truth is not None:
        ax.scatter(truth["event_time"], truth["value"], marker="x", color="C3", zorder=3, label="true effect (generator)")
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.axvline(-0.5, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_xlabel("years since the reform took effect")
    ax.set_ylabel("effect on satisfaction index (points)")
    ax.legend(fontsize=8)
    _tag(fig)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def paths_plot(paths: pd.DataFrame) -> plt.Figure:
    """The five paths ranked by predicted gain in effectiveness, with the gain in the share satisfied."""
    single = paths[paths["path"] != "all"].sort_values("rank")
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.8), sharey=True, gridspec_kw={"width_ratios": [1, 1]})
    y = np.arange(len(single))
    axes[0].barh(y, single["effectiveness_change"], color="C2",
                 xerr=[single["effectiveness_change"] - single["effectiveness_ci_low"],
                       single["effectiveness_ci_high"] - single["effectiveness_change"]], capsize=3)
    axes[0].set_yticks(y, [textwrap.fill(f"{int(r)}. {lab}", 30) for r, lab in zip(single["rank"], single["label"])],
                       fontsize=8)
    axes[0].invert_yaxis()
    axes[0].set_xlabel("effectiveness\n(change, Likert points)", fontsize=8)
    pct = 100 * single["satisfied_share_change"]
    axes[1].barh(y, pct, color="C0",
                 xerr=[pct - 100 * single["satisfied_ci_low"], 100 * single["satisfied_ci_high"] - pct], capsize=3)
    axes[1].set_xlabel("share satisfied\n(change, percentage points)", fontsize=8)
    for ax in axes:
        ax.axvline(0, color="0.3", linewidth=0.8)
    _tag(fig, "model-based scenarios on synthetic data")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def scale_means(frame: pd.DataFrame, constructs: list[str], labels: dict[str, str]) -> plt.Figure:
    """Mean scale score per construct and town, with ±2 standard errors of the mean (no bootstrap)."""
    long = frame.melt(id_vars=["town_id"], value_vars=constructs, var_name="construct", value_name="score")
    long = long.dropna(subset=["score"])
    long["construct"] = long["construct"].map(labels)
    long["town"] = long["town_id"].map(TOWN_LABELS)
    fig, ax = plt.subplots(figsize=(WIDTH, 4.0))
    sns.pointplot(data=long, y="construct", x="score", hue="town", hue_order=list(town_palette()),
                  palette=town_palette(), ax=ax, errorbar=("se", 2), dodge=0.5, linestyle="none",
                  markersize=5, err_kws={"linewidth": 1.2})
    ax.set_xlabel("mean scale score (higher is better)")
    ax.set_ylabel("")
    handles, names = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    fig.legend(handles, names, loc="lower center", ncols=5, fontsize=8, frameon=False)
    _tag(fig)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def satisfaction_trends(means: pd.DataFrame, adoption: dict[str, int]) -> plt.Figure:
    """Mean satisfaction index by town and year, with each comparison town's reform year marked."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    palette = town_palette()
    sns.lineplot(data=means, x="year", y="satisfaction_index", hue="town", hue_order=list(palette),
                 palette=palette, marker="o", ax=ax)
    for town, year in adoption.items():
        ax.axvline(year - 0.5, color=palette[town], linestyle=":", linewidth=1.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("")
    ax.set_ylabel("satisfaction index (points)")
    ax.legend(fontsize=8, title="", ncols=5, loc="upper left")
    _tag(fig, "synthetic data; dotted lines: first year of each town's reform")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def truth_recovery_plot(summary: pd.DataFrame, nominal: float = 0.95) -> plt.Figure:
    """Coverage of the 95% intervals and bias relative to the standard error, per estimator and target."""
    s = summary.assign(label=summary["estimator"] + ": " + summary["parameter"])
    n = int(summary["replications"].min())
    band = 2 * np.sqrt(nominal * (1 - nominal) / n)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 0.22 * len(s) + 1.6), sharey=True)
    y = np.arange(len(s))
    axes[0].axvspan(nominal - band, nominal + band, color="0.85", label="binomial band (±2 MC SE)")
    axes[0].axvline(nominal, color="0.3", linewidth=0.8)
    axes[0].scatter(s["coverage"], y, s=14, color="C0", zorder=3)
    axes[0].set_xlabel("coverage of the 95% interval")
    axes[0].set_yticks(y, s["label"], fontsize=6.5)
    axes[0].invert_yaxis()
    axes[1].axvspan(-0.5, 0.5, color="0.9")
    axes[1].axvline(0, color="0.3", linewidth=0.8)
    axes[1].scatter(s["bias_over_se"], y, s=14, color="C3", zorder=3)
    axes[1].set_xlabel("bias / mean standard error")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    _tag(fig, f"Monte Carlo over {n} synthetic data sets")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig
