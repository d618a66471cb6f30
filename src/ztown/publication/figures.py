"""The book's figures: one theme, one function per figure, each returning a matplotlib Figure.

Figures are sized for the book's text column and drawn at twice the screen density (PNG at
`DPI` = 220 dots per inch for a 7-inch column), so they stay sharp on a phone and on high-density
screens; the book scales them to the column. PNG rather than SVG, because the replication
machinery (`ztown.publication.replicate`) and nbval's sanitizer compare images as PNG.

Colours: the Okabe-Ito palette, chosen for colour-vision deficiency. The five towns are told
apart by colour *and* by marker; `tests/test_figures.py` simulates deuteranopia, protanopia and
tritanopia (colorspacious, severity 100) and checks the smallest pairwise distance of the town
palette and of the answer scale in CAM02-UCS. The answer scale runs from vermillion (worst)
through a mid grey that stays visible on white to blue (best).

Text: one font family, Noto Sans CJK SC (Latin and Chinese glyphs alike; Debian's
fonts-noto-cjk), with DejaVu Sans as the fallback; every function takes `lang="en"` or `"zh"`
(default $ZTOWN_LANG, else English) and takes its words from `ztown.data.constructs` (constructs,
items, answer labels) and the terms below. Synthetic data are labelled as such in every figure
that shows them (a small note in the corner); real national series carry their source. Each
figure's underlying data is written as CSV by `save_figure_data`, for download.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

TOWN_ORDER = ["Z", "A", "B", "C", "D"]
TOWN_LABELS = {"Z": "Z town", "A": "Town A", "B": "Town B", "C": "Town C", "D": "Town D"}
SYNTHETIC_TAG = "synthetic data"
WIDTH = 7.0  # inches: the book's text column at the default zoom
DPI = 220  # twice the 110 dpi at which WIDTH fills the column: sharp at phone width and on HiDPI screens
FONT_FAMILY = ["Noto Sans CJK SC", "DejaVu Sans"]  # one family for Latin and Chinese, then a fallback

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency
BLACK, ORANGE, SKY_BLUE, GREEN = "#000000", "#E69F00", "#56B4E9", "#009E73"
BLUE, VERMILLION, PURPLE, GREY = "#0072B2", "#D55E00", "#CC79A7", "#999999"
TOWN_COLOURS = {"Z": BLACK, "A": ORANGE, "B": SKY_BLUE, "C": BLUE, "D": GREY}
TOWN_MARKERS = {"Z": "o", "A": "s", "B": "^", "C": "D", "D": "v"}
# answers 1 (worst) to 5 (best): diverging, with a middle that is visible on a white page
ANSWER_COLOURS = ["#D55E00", "#F0A875", "#A6A6A6", "#8CC3E8", "#0072B2"]
ESTIMATE_COLOUR, TRUTH_COLOUR, SECOND_COLOUR = BLUE, VERMILLION, ORANGE

# Words of the figures, English and Chinese (construct, item and answer words come from ztown.data.constructs).
TERMS: dict[str, tuple[str, str]] = {
    "synthetic": ("synthetic data", "合成数据"),
    "comparison": ("Comparison towns", "对照镇"),  # schema.ROLES
    "national": ("National (real, latest year)", "全国（真实，最新年份）"),
    "estimate_ci": ("estimate, 95% interval", "估计值与95%置信区间"),
    "true_value": ("true value (generator)", "真值（生成器）"),
    "fitted": ("fitted effectiveness", "拟合的服务实效"),
    "residual": ("residual", "残差"),
    "density": ("density", "密度"),
    "years_since": ("years since the reform took effect", "改革生效后的年数"),
    "effect_points": ("effect on satisfaction index (points)", "对满意度指数的影响（分）"),
    "iw": ("interaction-weighted (Sun & Abraham)", "交互加权估计（Sun & Abraham）"),
    "twfe": ("naive two-way fixed effects", "朴素双向固定效应"),
    "true_effect": ("true effect (generator)", "真实效应（生成器）"),
    "eff_change": ("effectiveness\n(change, Likert points)", "服务实效\n（变化，李克特分）"),
    "sat_change": ("share satisfied\n(change, percentage points)", "满意比例\n（变化，百分点）"),
    "paths_tag": ("model-based scenarios on synthetic data", "基于合成数据的模型情景"),
    "mean_score": ("mean scale score (higher is better)", "量表平均分（越高越好）"),
    "sat_index": ("satisfaction index (points)", "满意度指数（分）"),
    "reform_tag": ("synthetic data; dotted lines: first year of each town's reform",
                   "合成数据；虚线：各镇改革的第一年"),
    "coverage": ("coverage of the 95% interval (%)", "95%置信区间的覆盖率（%）"),
    "bias_se": ("bias / mean standard error", "偏差／平均标准误"),
    "band": ("target band (93–97%)", "目标区间（93–97%）"),
    "outside": ("outside the band", "超出目标区间"),
    "inside": ("inside the band", "在目标区间内"),
    "mc_tag": ("Monte Carlo over {n} synthetic data sets", "基于{n}个合成数据集的蒙特卡洛模拟"),
    "answer": ("Answer", "回答"),
    "answer_note": ("* negatively worded item: its answers are reversed, so right is better for every item",
                    "* 反向表述的题项：其回答已反向计分，每个题项都是越靠右越好"),
    "share_answers": ("share of answers", "回答比例"),
    "shares_panel": ("Shares (%)", "比例（%）"),
    "years_panel": ("Age (years)", "年龄（岁）"),
    "profile_tag": ("Z town and comparison towns: synthetic data; national: real published figures",
                    "Z镇与对照镇：合成数据；全国：公开发布的真实数据"),
    "ranks": ("ranks", "排名"),
    "rank": ("rank", "排名"),
    "national_note": ("Real published figures (CPC communiqués; NBS). Orange: share computed from two stated counts. "
                      "Missing years are left missing.",
                      "公开发布的真实数据（中共党内统计公报；国家统计局）。橙色：由两个公布的数字计算的比例。缺失年份保持缺失。"),
    "members": ("Party members\n(million)", "党员人数\n（万人）"),
    "old_share": ("Members aged 61+\n(% of members)", "61岁以上党员\n（占党员%）"),
    "income": ("Rural per-capita disposable\nincome (yuan)", "农村居民人均\n可支配收入（元）"),
    "all_paths": ("All five paths together", "五条路径同时推进"),
}

# The status chapter's indicator and measure names (ztown.analysis.status) in Chinese.
STATUS_ZH = {
    "Members aged 61 and over (%)": "61岁及以上党员（%）",
    "Members with college or above (%)": "大专及以上学历党员（%）",
    "Members away as migrant workers (%)": "外出务工党员（%）",
    "Secretaries with college or above (%)": "大专及以上学历支部书记（%）",
    "Secretaries' mean age (years)": "支部书记平均年龄（岁）",
    "Service funds\n(yuan per resident)": "服务经费\n（元／人）",
    "Meetings held\n(% of required)": "组织生活会议\n（占要求%）",
    "Service activities\n(per 1,000 residents)": "服务活动\n（每千人）",
    "Complaints resolved\n(%)": "诉求解决率\n（%）",
    "Complaints resolved (%)": "诉求解决率（%）",
}


def _lang(lang: str | None) -> str:
    from ztown.publication.tables import resolve_lang
    return resolve_lang(lang)


def term(key: str, lang: str | None = None) -> str:
    """A word of the figures in `lang`."""
    return TERMS[key][0 if _lang(lang) == "en" else 1]


def town_label(town_id: str, lang: str | None = None) -> str:
    """A town's name: "Z town", "Town A" / "Z镇", "甲镇" (from the generator's town list)."""
    from ztown.data.synth import TOWNS
    names = {t[0]: (t[1], t[2]) for t in TOWNS}
    return names[town_id][0 if _lang(lang) == "en" else 1]


def _town_id(label: str) -> str:
    """The town id of an English town label ("Town A" -> "A")."""
    for tid, name in TOWN_LABELS.items():
        if name == label:
            return tid
    raise KeyError(f"not a town: {label!r}")


def status_label(text: str, lang: str | None = None) -> str:
    """An indicator name of the status chapter in `lang` (English if no translation is known)."""
    return text if _lang(lang) == "en" else STATUS_ZH.get(text, text)


def _available_family() -> list[str]:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    if FONT_FAMILY[0] not in names:  # a font cache made before fonts-noto-cjk was installed
        for path in font_manager.findSystemFonts():
            if "NotoSansCJK" in Path(path).name:
                font_manager.fontManager.addfont(path)
        names = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in FONT_FAMILY if f in names] or ["DejaVu Sans"]


def set_theme() -> None:
    """The book's plotting theme: readable at column width, colour-blind safe, CJK-capable, deterministic."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)
    plt.rcParams.update({
        "figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": (WIDTH, 4.0),
        "svg.hashsalt": "ztown", "axes.titleweight": "bold", "figure.autolayout": False,
        "font.family": "sans-serif", "font.sans-serif": _available_family() + ["DejaVu Sans"],
        "axes.unicode_minus": True,
        "axes.prop_cycle": plt.cycler(color=[BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY_BLUE, GREY, BLACK]),
    })


def town_palette(lang: str | None = None) -> dict[str, str]:
    """Town label -> colour (Okabe-Ito; Z town black)."""
    return {town_label(t, lang): TOWN_COLOURS[t] for t in TOWN_ORDER}


def town_markers(lang: str | None = None) -> dict[str, str]:
    """Town label -> marker: no two towns share one, so colour is never the only cue."""
    return {town_label(t, lang): TOWN_MARKERS[t] for t in TOWN_ORDER}


def _relabel_towns(values: pd.Series, lang: str) -> pd.Series:
    """English town labels (as the analysis frames carry them) in `lang`."""
    if lang == "en":
        return values
    return values.map(lambda v: town_label(_town_id(v), lang) if v in TOWN_LABELS.values() else v)


def _tag(fig, text: str) -> None:
    fig.text(0.995, 0.005, text, ha="right", va="bottom", fontsize=7, color="0.35", style="italic")


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


def national_series(nc: pd.DataFrame, lang: str | None = None) -> plt.Figure:
    """Real national series: Party members, the share of older members, rural income (published, with sources)."""
    lang = _lang(lang)
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 3.1))
    # members are published in 10,000 persons: shown in millions (English) or 万人 (Chinese, as published)
    scale = 1e4 / 1e6 if lang == "en" else 1.0
    specs = [("party_members", term("members", lang), scale),
             ("members_aged_61_plus_share", term("old_share", lang), 1.0),
             ("rural_income_per_capita", term("income", lang), 1.0)]
    years = range(int(nc["year"].min()), int(nc["year"].max()) + 1)
    for ax, (indicator, title, factor) in zip(axes, specs):
        s = nc[nc["indicator"] == indicator].sort_values("year")
        line = s.set_index("year")["value"].reindex(years) * factor  # a missing year breaks the line
        ax.plot(line.index, line.to_numpy(), marker="o", markersize=4, linestyle="-", color="0.25")
        computed = s[s["basis"] == "computed"]
        ax.plot(computed["year"], computed["value"] * factor, marker="o", markersize=5, linestyle="none",
                color=ORANGE)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}"))
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
        ax.tick_params(labelsize=8)
    note = textwrap.fill(term("national_note", lang), 120 if lang == "en" else 60)
    fig.text(0.005, 0.005, note, fontsize=7, color="0.3", va="bottom")
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def profile_comparison(profile: pd.DataFrame, lang: str | None = None) -> plt.Figure:
    """Who the members and secretaries are: Z town vs comparison towns vs the national figure.

    Shares (per cent) and ages (years) are drawn on separate axes, each with its own unit.
    """
    lang = _lang(lang)
    groups = list(dict.fromkeys(profile["group"]))
    order = [g for g in ("Z town", "Comparison towns") if g in groups] + [
        g for g in groups if g not in ("Z town", "Comparison towns")]
    names = {"Z town": town_label("Z", lang), "Comparison towns": term("comparison", lang)}
    colours = dict(zip(order, [TOWN_COLOURS["Z"], GREY, SKY_BLUE]))
    hatches = dict(zip(order, ["", "//", ".."]))
    panels = [("percent", term("shares_panel", lang)), ("years", term("years_panel", lang))]
    panels = [(u, t) for u, t in panels if (profile["unit"] == u).any()]
    counts = [profile.loc[profile["unit"] == u, "indicator"].nunique() for u, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH, 0.62 * sum(counts) + 1.9),
                             gridspec_kw={"height_ratios": counts}, squeeze=False)
    for ax, (unit, title) in zip(axes[:, 0], panels):
        part = profile[profile["unit"] == unit]
        indicators = list(dict.fromkeys(part["indicator"]))
        y = np.arange(len(indicators))
        height = 0.8 / len(order)
        for k, group in enumerate(order):
            values = part[part["group"] == group].set_index("indicator")["value"].reindex(indicators)
            ax.barh(y + (k - (len(order) - 1) / 2) * height, values.to_numpy(), height=height * 0.95,
                    color=colours[group], hatch=hatches[group], edgecolor="white", linewidth=0.5,
                    label=names.get(group, term("national", lang) if group.startswith("National") else group))
        ax.set_yticks(y, [textwrap.fill(status_label(i, lang), 34) for i in indicators], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncols=len(labels), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    _tag(fig, term("profile_tag", lang))
    fig.tight_layout(rect=(0, 0.04, 1, 0.94))
    return fig


def panel_trends(panel_means: pd.DataFrame, measures: dict[str, str], lang: str | None = None) -> plt.Figure:
    """Service inputs and outputs over time, by town (colour and marker per town)."""
    lang = _lang(lang)
    data = panel_means.assign(town=_relabel_towns(panel_means["town"], lang))
    n = len(measures)
    fig, axes = plt.subplots(1, n, figsize=(WIDTH, 3.1), sharex=True)
    palette, markers = town_palette(lang), town_markers(lang)
    for ax, (col, title) in zip(np.atleast_1d(axes), measures.items()):
        for town in palette:
            d = data[data["town"] == town].sort_values("year")
            ax.plot(d["year"], d[col], color=palette[town], marker=markers[town], markersize=3.5, linewidth=1.2,
                    label=town)
        ax.set_title(status_label(title, lang), fontsize=8.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
        ax.tick_params(labelsize=7.5)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.04))
    _tag(fig, term("synthetic", lang))
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def item_distributions(shares: pd.DataFrame, lang: str | None = None) -> plt.Figure:
    """Answers to every item (negatively worded items reversed), Z town beside the comparison towns.

    Items are shown by their wording, grouped under their construct; answers by their labels,
    from "strongly disagree" (vermillion) through "neither" (grey) to "strongly agree" (blue).
    """
    from ztown.data.constructs import CONSTRUCT_BY_ID, ITEMS, LIKERT_LABELS

    lang = _lang(lang)
    zh = lang == "zh"
    by_id = {i.id: i for i in ITEMS}
    items = [i for i in dict.fromkeys(shares["item"])]
    rows: list[tuple[str, str | None]] = []  # (label, item id or None for a construct heading)
    current = None
    for item_id in items:
        construct = by_id[item_id].construct
        if construct != current:
            rows.append((CONSTRUCT_BY_ID[construct].label_zh if zh else CONSTRUCT_BY_ID[construct].label_en, None))
            current = construct
        item = by_id[item_id]
        wording = item.wording_zh if zh else item.wording_en
        star = " *" if item.reverse_coded else ""
        rows.append((textwrap.fill(wording + star, 24 if zh else 44), item_id))
    heights = [0.36 if item is not None else 0.26 for _, item in rows]
    y = np.cumsum([0] + heights[:-1]) + np.array(heights) / 2
    total = sum(heights) + 1.3
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, total), sharey=True)
    answer_labels = _answer_labels(LIKERT_LABELS, lang)
    for ax, group in zip(axes, ["Z town", "Comparison towns"]):
        sub = shares[shares["group"] == group].set_index("item")
        for (label, item_id), yy, h in zip(rows, y, heights):
            if item_id is None:
                continue
            left = 0.0
            for k in range(1, 6):
                width = float(sub.loc[item_id, str(k)])
                ax.barh(yy, width, left=left, height=h * 0.78, color=ANSWER_COLOURS[k - 1],
                        edgecolor="white", linewidth=0.4, label=answer_labels[k - 1])
                left += width
        ax.set_title(town_label("Z", lang) if group == "Z town" else term("comparison", lang), fontsize=10)
        ax.set_xlim(0, 1)
        ax.set_ylim(sum(heights), 0)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
        ax.tick_params(axis="x", labelsize=7.5)
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(y, [label for label, _ in rows], fontsize=6.8)
    for tick, (_, item_id) in zip(axes[0].get_yticklabels(), rows):
        if item_id is None:
            tick.set_fontweight("bold")
            tick.set_fontsize(7.5)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ANSWER_COLOURS]
    fig.legend(handles, answer_labels, loc="lower center", ncols=5, fontsize=7.5, frameon=False,
               bbox_to_anchor=(0.5, 0.2 / total), title=term("answer", lang), title_fontsize=7.5)
    fig.text(0.005, 0.005, term("answer_note", lang), fontsize=6.5, color="0.3", va="bottom")
    _tag(fig, term("synthetic", lang))
    fig.tight_layout(rect=(0, 0.75 / total, 1, 1))
    return fig


def _answer_labels(labels: dict[int, str], lang: str) -> list[str]:
    """The five answer labels in `lang` (Chinese: `ztown.data.constructs.LIKERT_LABELS_ZH`, the
    questionnaire's own wording)."""
    from ztown.data.constructs import LIKERT_LABELS_ZH

    return [(labels if lang == "en" else LIKERT_LABELS_ZH)[k] for k in range(1, 6)]


def coefficient_plot(table: pd.DataFrame, label_col: str, title: str, xlabel: str,
                     truth: pd.Series | None = None, lang: str | None = None) -> plt.Figure:
    """Point estimates with 95% intervals, and the generator's true values where known (× markers)."""
    lang = _lang(lang)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.45 * len(table) + 1.4))
    y = np.arange(len(table))
    ax.errorbar(table["estimate"], y, xerr=[table["estimate"] - table["ci_low"], table["ci_high"] - table["estimate"]],
                fmt="o", color=ESTIMATE_COLOUR, capsize=3, markersize=5, label=term("estimate_ci", lang))
    if truth is not None:
        t = pd.to_numeric(pd.Series(np.asarray(truth, dtype=float)), errors="coerce")
        if t.notna().any():
            ax.scatter(t.to_numpy(), y, marker="X", s=55, color=TRUTH_COLOUR, edgecolor="white", linewidth=0.6,
                       zorder=3, label=term("true_value", lang))
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, [textwrap.fill(str(v), 34) for v in table[label_col]], fontsize=8.5)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_title(title, fontsize=10)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower left", ncols=2, fontsize=8, frameon=False)
    _tag(fig, term("synthetic", lang))
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def residual_plot(fitted: np.ndarray, resid: np.ndarray, lang: str | None = None) -> plt.Figure:
    """Residuals against fitted values, and their distribution."""
    lang = _lang(lang)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.0))
    axes[0].scatter(fitted, resid, s=4, alpha=0.3, color=ESTIMATE_COLOUR, rasterized=True)
    axes[0].axhline(0, color="0.3", linewidth=0.8)
    axes[0].set_xlabel(term("fitted", lang))
    axes[0].set_ylabel(term("residual", lang))
    sns.histplot(resid, bins=40, ax=axes[1], color=ESTIMATE_COLOUR, stat="density")
    axes[1].set_xlabel(term("residual", lang))
    axes[1].set_ylabel(term("density", lang))
    _tag(fig, term("synthetic", lang))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def event_study_plot(iw: pd.DataFrame, twfe: pd.DataFrame | None = None,
                     truth: pd.DataFrame | None = None, lang: str | None = None) -> plt.Figure:
    """Event-study estimates by year relative to adoption (interaction-weighted and naive TWFE)."""
    lang = _lang(lang)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.7))
    ax.errorbar(iw["event_time"] - 0.08, iw["estimate"], yerr=[iw["estimate"] - iw["ci_low"], iw["ci_high"] - iw["estimate"]],
                fmt="o-", color=ESTIMATE_COLOUR, capsize=3, markersize=5, label=term("iw", lang))
    if twfe is not None:
        ax.errorbar(twfe["event_time"] + 0.08, twfe["estimate"],
                    yerr=[twfe["estimate"] - twfe["ci_low"], twfe["ci_high"] - twfe["estimate"]],
                    fmt="s--", color=SECOND_COLOUR, capsize=3, markersize=4.5, alpha=0.9, label=term("twfe", lang))
    if truth is not None:
        ax.scatter(truth["event_time"], truth["value"], marker="X", s=55, color=TRUTH_COLOUR, edgecolor="white",
                   linewidth=0.6, zorder=3, label=term("true_effect", lang))
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.axvline(-0.5, color="0.5", linewidth=0.8, linestyle=":")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(term("years_since", lang))
    ax.set_ylabel(term("effect_points", lang))
    ax.legend(fontsize=8)
    _tag(fig, term("synthetic", lang))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def _rank_text(row, lang: str) -> str:
    """'ranks 1–2' from a rank interval (rank_low, rank_high), else the point rank."""
    if "rank_low" in row and "rank_high" in row and pd.notna(row["rank_low"]) and pd.notna(row["rank_high"]):
        lo, hi = int(row["rank_low"]), int(row["rank_high"])
        if lo != hi:
            return f"{term('ranks', lang)} {lo}\u2013{hi}" if lang == "en" else f"{term('ranks', lang)}{lo}\u2013{hi}"
        return f"{term('rank', lang)} {lo}" if lang == "en" else f"{term('rank', lang)}{lo}"
    return f"{int(row['rank'])}."


def paths_plot(paths: pd.DataFrame, truth: pd.DataFrame | None = None, lang: str | None = None) -> plt.Figure:
    """The five paths ranked by predicted gain in effectiveness, with the gain in the share satisfied.

    Each label carries the path's 95% rank interval when the table has one (`rank_low`, `rank_high`),
    since the point rank alone overstates the order. `truth`: the generator's true values, indexed
    by path id, columns `effectiveness` (change) and `satisfied` (change in the share, 0-1), drawn as
    × markers; a missing value draws none.
    """
    lang = _lang(lang)
    single = paths[paths["path"] != "all"].sort_values("rank")
    labels = single["label_zh"] if lang == "zh" and "label_zh" in single else single["label"]
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.1), sharey=True, gridspec_kw={"width_ratios": [1, 1]})
    y = np.arange(len(single))
    axes[0].barh(y, single["effectiveness_change"], color=BLUE, label=term("estimate_ci", lang),
                 xerr=[single["effectiveness_change"] - single["effectiveness_ci_low"],
                       single["effectiveness_ci_high"] - single["effectiveness_change"]], capsize=3)
    sep = ": " if lang == "en" else "："
    axes[0].set_yticks(y, [textwrap.fill(f"{_rank_text(r, lang)}{sep}{lab}", 16 if lang == "zh" else 30)
                           for (_, r), lab in zip(single.iterrows(), labels)], fontsize=8)
    axes[0].invert_yaxis()
    axes[0].set_xlabel(term("eff_change", lang), fontsize=8)
    pct = 100 * single["satisfied_share_change"]
    axes[1].barh(y, pct, color=SKY_BLUE, hatch="//", edgecolor="white", linewidth=0.5,
                 xerr=[pct - 100 * single["satisfied_ci_low"], 100 * single["satisfied_ci_high"] - pct], capsize=3)
    axes[1].set_xlabel(term("sat_change", lang), fontsize=8)
    if truth is not None:
        t = truth.reindex(single["path"].to_numpy())
        for ax, column, factor in ((axes[0], "effectiveness", 1.0), (axes[1], "satisfied", 100.0)):
            if column in t and t[column].notna().any():
                values = pd.to_numeric(t[column], errors="coerce").to_numpy(dtype=float) * factor
                ax.scatter(values, y, marker="X", s=55, color=TRUTH_COLOUR, edgecolor="white", linewidth=0.6,
                           zorder=4, label=term("true_value", lang))
    for ax in axes:
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.tick_params(axis="x", labelsize=8)
    handles, names = axes[0].get_legend_handles_labels()
    if truth is not None and len(handles) > 1:
        fig.legend(handles, names, loc="lower left", ncols=2, fontsize=8, frameon=False)
    _tag(fig, term("paths_tag", lang))
    fig.tight_layout(rect=(0, 0.09 if truth is not None else 0.04, 1, 1))
    return fig


def scale_means(frame: pd.DataFrame, constructs: list[str], labels: dict[str, str] | None = None,
                lang: str | None = None) -> plt.Figure:
    """Mean scale score per construct and town, with ±2 standard errors of the mean (no bootstrap).

    `labels` (construct id -> name) defaults to the construct names of `ztown.data.constructs` in `lang`.
    """
    from ztown.data.constructs import CONSTRUCT_BY_ID

    lang = _lang(lang)
    if labels is None or lang == "zh":
        labels = {c: (CONSTRUCT_BY_ID[c].label_zh if lang == "zh" else CONSTRUCT_BY_ID[c].label_en) for c in constructs}
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2))
    offsets = np.linspace(-0.3, 0.3, len(TOWN_ORDER))
    for k, town in enumerate(TOWN_ORDER):
        sub = frame[frame["town_id"] == town]
        means = np.array([sub[c].mean() for c in constructs])
        ses = np.array([sub[c].std(ddof=1) / np.sqrt(sub[c].notna().sum()) for c in constructs])
        ax.errorbar(means, np.arange(len(constructs)) + offsets[k], xerr=2 * ses, fmt=TOWN_MARKERS[town],
                    color=TOWN_COLOURS[town], markersize=5, capsize=0, elinewidth=1.2, label=town_label(town, lang))
    ax.set_yticks(np.arange(len(constructs)), [textwrap.fill(labels[c], 26) for c in constructs], fontsize=8.5)
    ax.invert_yaxis()
    ax.set_xlabel(term("mean_score", lang))
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=5, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.03))
    _tag(fig, term("synthetic", lang))
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def satisfaction_trends(means: pd.DataFrame, adoption: dict[str, int], lang: str | None = None) -> plt.Figure:
    """Mean satisfaction index by town and year, with each comparison town's reform year marked."""
    lang = _lang(lang)
    data = means.assign(town=_relabel_towns(means["town"], lang))
    palette, markers = town_palette(lang), town_markers(lang)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    for town in palette:
        d = data[data["town"] == town].sort_values("year")
        ax.plot(d["year"], d["satisfaction_index"], color=palette[town], marker=markers[town], markersize=5,
                linewidth=1.4, label=town)
    for town, year in adoption.items():
        name = town_label(_town_id(town), lang) if town in TOWN_LABELS.values() else town
        ax.axvline(year - 0.5, color=palette.get(name, "0.5"), linestyle=":", linewidth=1.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("")
    ax.set_ylabel(term("sat_index", lang))
    ax.legend(fontsize=8, title="", ncols=5, loc="upper left")
    _tag(fig, term("reform_tag", lang))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def truth_recovery_plot(summary: pd.DataFrame, nominal: float = 0.95, band: tuple[float, float] = (0.93, 0.97),
                        lang: str | None = None) -> plt.Figure:
    """Coverage and bias of every interval the book prints, one row per kind of interval.

    Each dot is one target (a gap, a coefficient, a path, an event time...); the shaded band is
    where a correct 95% interval's coverage lies; dots outside it are drawn filled and named.
    Reference-only estimators (the naive DiD) are left out: the text reports them.
    """
    lang = _lang(lang)
    s = summary[~summary.get("reference_only", pd.Series(False, index=summary.index)).astype(bool)]
    kinds = list(dict.fromkeys(s["estimator"]))
    n = int(summary["replications"].min())
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 0.36 * len(kinds) + 1.6), sharey=True,
                             gridspec_kw={"width_ratios": [1.25, 1]})
    rng = np.random.default_rng(0)  # a fixed vertical jitter, so dots of one row do not hide each other
    for ax in axes:
        ax.grid(axis="y", visible=False)
    axes[0].axvspan(100 * band[0], 100 * band[1], color="0.88", label=term("band", lang))
    axes[0].axvline(100 * nominal, color="0.3", linewidth=0.8)
    axes[1].axvspan(-0.5, 0.5, color="0.92")
    axes[1].axvline(0, color="0.3", linewidth=0.8)
    for k, kind in enumerate(kinds):
        rows = s[s["estimator"] == kind]
        jitter = rng.uniform(-0.22, 0.22, len(rows))
        outside = ~rows["coverage"].between(*band)
        cov = 100 * rows["coverage"].to_numpy()
        axes[0].scatter(cov[~outside.to_numpy()], (k + jitter)[~outside.to_numpy()], s=16, facecolor="white",
                        edgecolor=BLUE, linewidth=1.0, zorder=3)
        axes[0].scatter(cov[outside.to_numpy()], (k + jitter)[outside.to_numpy()], s=22, marker="D",
                        color=VERMILLION, zorder=4)
        for (_, r), yy in zip(rows[outside].iterrows(), (k + jitter)[outside.to_numpy()]):
            axes[0].annotate(str(r["parameter"]), (100 * r["coverage"], yy), xytext=(5, -7), textcoords="offset points",
                             fontsize=6, color=VERMILLION, va="center",
                             bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        axes[1].scatter(rows["bias_over_se"], k + jitter, s=16, facecolor="white", edgecolor=BLUE, linewidth=1.0,
                        zorder=3)
    axes[0].set_yticks(np.arange(len(kinds)), [textwrap.fill(k, 30) for k in kinds], fontsize=7.5)
    axes[0].set_ylim(len(kinds) - 0.5, -0.5)
    axes[0].set_xlabel(term("coverage", lang), fontsize=8.5)
    axes[1].set_xlabel(term("bias_se", lang), fontsize=8.5)
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    legend = [plt.Rectangle((0, 0), 1, 1, color="0.88"),
              Line2D([], [], marker="o", linestyle="none", markerfacecolor="white", markeredgecolor=BLUE),
              Line2D([], [], marker="D", linestyle="none", color=VERMILLION)]
    fig.legend(legend, [term("band", lang), term("inside", lang), term("outside", lang)], loc="lower left",
               ncols=3, fontsize=7.5, frameon=False)
    _tag(fig, term("mc_tag", lang).format(n=n))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


# --------------------------------------------------------------------------- power and design (appendix)

POWER_TERMS: dict[str, tuple[str, str]] = {
    "villages": ("villages per town", "每镇村数"),
    "power": ("power", "检验效能"),
    "respondents": ("respondents per village", "每村受访者"),
    "effect": ("effects × {m:g}", "效应 × {m:g}"),
    "no_effect": ("no effect: size", "无效应：检验水准"),
    "target": ("target power", "目标效能"),
    "nominal": ("nominal size", "名义检验水准"),
    "tag": ("Monte Carlo over {n} synthetic data sets per design; bars: 95% Wilson intervals",
            "每种设计{n}个合成数据集的蒙特卡洛模拟；误差线：95% Wilson区间"),
}


def power_curves(summary: pd.DataFrame, claims: list[str], titles: dict[str, str] | None = None,
                 target: float = 0.8, nominal: float = 0.025, lang: str | None = None) -> plt.Figure:
    """Power of some claims against the villages per town: one column per claim, one row per effect size.

    `summary` is `ztown.analysis.power.summarize` output. Lines: respondents per village (colour and
    marker); bars: each power's Wilson interval. Rows run from the largest effect multiplier down to
    0, where the power is the test's size (dotted line: `nominal`); the dashed line is `target`.
    """
    lang = _lang(lang)
    words = {k: v[0 if lang == "en" else 1] for k, v in POWER_TERMS.items()}
    s = summary[summary["claim_id"].isin(claims)]
    effects = sorted(s["effect"].unique(), reverse=True)
    sizes = sorted(s["respondents"].unique())
    colours = dict(zip(sizes, [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY_BLUE, GREY, BLACK]))
    markers = dict(zip(sizes, ["o", "s", "^", "D", "v", "P", "X", "*"]))
    span = float(s["villages"].max() - s["villages"].min()) or 1.0
    dodge = {r: (k - (len(sizes) - 1) / 2) * 0.03 * span for k, r in enumerate(sizes)}
    fig, axes = plt.subplots(len(effects), len(claims), figsize=(WIDTH, 1.55 * len(effects) + 1.0),
                             sharex=True, sharey=True, squeeze=False)
    for i, m in enumerate(effects):
        for j, claim in enumerate(claims):
            ax = axes[i, j]
            cell = s[(s["claim_id"] == claim) & np.isclose(s["effect"], m)].sort_values("villages")
            ax.axhline(target if m > 0 else nominal, color="0.35", linewidth=0.8,
                       linestyle="--" if m > 0 else ":")
            cell = cell.assign(x=cell["villages"] + cell["respondents"].map(dodge))  # lines side by side
            sns.lineplot(data=cell, x="x", y="power", hue="respondents", style="respondents",
                         palette=colours, markers=markers, dashes=False, markersize=4.5, linewidth=1.1,
                         errorbar=None, legend=False, ax=ax)
            for r in sizes:
                rows = cell[cell["respondents"] == r]
                ax.vlines(rows["x"], rows["power_low"], rows["power_high"], color=colours[r], linewidth=0.7,
                          alpha=0.6)
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel("")
            ax.set_ylabel("")
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title((titles or {}).get(claim, claim), fontsize=8)
        label = words["effect"].format(m=m) if m > 0 else words["no_effect"]
        axes[i, 0].set_ylabel(f"{label}\n{words['power']}", fontsize=7.5)
    villages = sorted(s["villages"].unique())
    for ax in axes[-1]:
        ax.set_xticks(villages)
    fig.supxlabel(words["villages"], fontsize=8.5, y=0.045)
    handles = [Line2D([], [], color=colours[r], marker=markers[r], linewidth=1.1, markersize=4.5) for r in sizes]
    fig.legend(handles, [f"{r:g}" for r in sizes], title=words["respondents"], title_fontsize=7.5, fontsize=7,
               ncols=len(sizes), loc="upper left", bbox_to_anchor=(0.01, 1.0), frameon=False)
    lines = [Line2D([], [], color="0.35", linestyle="--", linewidth=0.8),
             Line2D([], [], color="0.35", linestyle=":", linewidth=0.8)]
    fig.legend(lines, [f"{words['target']} ({target:.0%})", f"{words['nominal']} ({nominal:.1%})"], fontsize=7,
               ncols=2, loc="upper right", bbox_to_anchor=(0.99, 0.985), frameon=False)
    _tag(fig, words["tag"].format(n=int(s["replications"].max())))
    fig.tight_layout(rect=(0, 0.05, 1, 0.93))
    return fig
