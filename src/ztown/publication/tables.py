"""The book's tables: numbered, captioned, in words, with one way of printing numbers.

A chapter's code cell ends with `tables.table(...)` (or `tables.regression_table(...)`); the
object it returns shows itself twice:

- in the book, as a MyST `list-table` with a caption and a `:name:` (its `_repr_markdown_`):
  Sphinx numbers it ("Table 3.2", by chapter, with `numfig`), prose refers to it with
  {numref}`tbl-...`, pydata-sphinx-theme puts it in a box of its own that scrolls sideways on a
  phone, and the PDF and a translated edition get a real table with its caption;
- in Jupyter, as HTML from pandas' Styler (its `_repr_html_`): no index column, the same labels
  and formatted cells. `ztown.publication.replicate` compares these HTML cells.

Why this choice: a raw HTML table (pandas' `to_html`, Styler, great_tables) renders without
JavaScript but is opaque to Sphinx, so `numfig` cannot number it as a table, and `{glue:figure}`
would number it as a *figure*. A list-table is Sphinx's own table node. Styler is pandas' own,
well-kept formatter, used here for the notebook view; the cell texts come from the formatters
below for both views, so they cannot differ. The book sets `nb_render_markdown_format: myst`
and ranks text/markdown above text/html for its builders (`_config.yml`), so the book shows the
list-table.

Formatting rules (one for the whole book): estimates with a fixed number of decimals and a true
minus sign; intervals as "[lower, upper]"; p-values with three decimals, "<0.001" below that;
counts with thousands separators; a missing value as a dash, explained by a note under the table.
Labels come from `ztown.data.constructs` (constructs, items, paths, glossary) and the terms below,
in English or Chinese (`lang="en"` or `"zh"`).
"""

from __future__ import annotations

import html
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

LANGS = ("en", "zh")
LANG_ENV = "ZTOWN_LANG"  # the edition's language when a function is not given one
MINUS = "\u2212"
DASH = "\u2013"  # a missing value
CI_LEVEL = 95

# Column headers by the column names the analysis modules use (a caller may always pass its own).
COLUMN_TERMS: dict[str, tuple[str, str]] = {
    "estimate": ("Estimate", "估计值"),
    "se": ("Standard error", "标准误"),
    "ci": (f"{CI_LEVEL}% interval", f"{CI_LEVEL}%置信区间"),
    "p": ("p-value", "p值"),
    "p_value": ("p-value", "p值"),
    "p_lower": ("p-value (one-sided)", "单侧p值"),
    "p_upper": ("p-value (one-sided)", "单侧p值"),
    "min_p": ("Smallest possible p-value", "最小可能p值"),
    "df": ("Degrees of freedom", "自由度"),
    "n": ("Respondents", "受访者"),
    "n_obs": ("Observations", "观测数"),
    "villages": ("Villages", "村"),
    "clusters": ("Villages (clusters)", "村（聚类）"),
    "n_clusters": ("Villages (clusters)", "村（聚类）"),
    "n_villages": ("Villages", "村"),
    "n_treated_obs": ("Treated village-years", "处理组村-年"),
    "rank": ("Rank", "排名"),
    "alpha": ("Cronbach's alpha", "克朗巴赫α系数"),
    "items": ("Items", "题项数"),
    "true_value": ("True value (generator)", "真值（生成器）"),
    "verdict": ("Verdict", "结论"),
    "claim": ("Claim", "命题"),
    "claim_id": ("Claim", "编号"),
    "indicator": ("Indicator", "指标"),
    "label": ("", ""),
    "construct": ("Construct", "构念"),
    "town": ("Town", "镇"),
    "year": ("Year", "年份"),
    "unit": ("Unit", "单位"),
    "value": ("Value", "数值"),
    "share_of_gap": ("Share of the gap (%)", "占差距比例（%）"),
    "vif": ("Variance inflation factor", "方差膨胀因子"),
    "parameter": ("Parameter", "参数"),
    "description": ("Description", "说明"),
    "publication": ("Source", "来源"),
    "replications": ("Replications", "重复次数"),
    "coverage": ("Coverage (%)", "覆盖率（%）"),
    "targets": ("Targets", "目标数"),
}

# Words of the tables themselves.
WORDS: dict[str, tuple[str, str]] = {
    "note": ("Note", "注"),
    "missing": (f"A dash ({DASH}) marks a value that does not apply to that row.", f"短横（{DASH}）表示该行无此数值。"),
    "synthetic": ("Synthetic data.", "合成数据。"),
    "source": ("Source", "来源"),
    "term": ("", ""),
    "observations": ("Observations", "观测数"),
    "clusters": ("Villages (clusters)", "村（聚类）"),
    "r2": ("R²", "R²"),
    "loglik": ("Log-likelihood", "对数似然"),
    "se_type": ("Standard errors", "标准误类型"),
    "se_paren": ("Standard errors in parentheses.", "括号内为标准误。"),
    "ci_paren": (f"{CI_LEVEL}% intervals in brackets.", f"方括号内为{CI_LEVEL}%置信区间。"),
    "intercept": ("Constant", "常数项"),
    "z_town": ("Z town (indicator)", "Z镇（虚拟变量）"),
    "age": ("Age (years)", "年龄（岁）"),
    "group_var": ("Village intercept variance", "村随机截距方差"),
}

ROLE_TERMS = {"villager": ("villager", "村民"), "member": ("Party member", "党员"), "cadre": ("village cadre", "村干部")}
EDUCATION_TERMS = {"primary_or_less": ("primary or less", "小学及以下"),
                   "junior_secondary": ("junior secondary", "初中"),
                   "senior_secondary": ("senior secondary", "高中"),
                   "college_or_above": ("college or above", "大专及以上")}


def default_lang() -> str:
    """The edition's language: $ZTOWN_LANG ("en" or "zh"), else English."""
    import os

    return os.environ.get(LANG_ENV) or "en"


def resolve_lang(lang: str | None) -> str:
    lang = default_lang() if lang is None else lang
    _check_lang(lang)
    return lang


def _check_lang(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    return LANGS.index(lang)


def word(key: str, lang: str = "en") -> str:
    """A word of the tables (`WORDS`) or a column header (`COLUMN_TERMS`) in `lang`."""
    i = _check_lang(lang)
    if key in WORDS:
        return WORDS[key][i]
    if key in COLUMN_TERMS:
        return COLUMN_TERMS[key][i]
    raise KeyError(f"no table term {key!r}")


def construct_label(construct_id: str, lang: str = "en") -> str:
    """A construct's name from `ztown.data.constructs`."""
    from ztown.data.constructs import CONSTRUCT_BY_ID

    c = CONSTRUCT_BY_ID[construct_id]
    return c.label_zh if _check_lang(lang) else c.label_en


def term_label(term: str, lang: str = "en") -> str:
    """A regression term in words: 'idx_sup' -> the cause's name, 'C(role)[T.member]' -> 'Role: Party member'."""
    from ztown.data.constructs import CONSTRUCT_BY_ID

    i = _check_lang(lang)
    if term.startswith("idx_") and term[4:] in CONSTRUCT_BY_ID:
        return construct_label(term[4:], lang) + (" (village index)" if i == 0 else "（村指数）")
    if term == "Intercept":
        return word("intercept", lang)
    if term in ("z_town", "age"):
        return word(term, lang)
    if term == "Group Var":
        return word("group_var", lang)
    match = re.fullmatch(r"C\((\w+)\)\[T\.(\w+)\]|(role|education)_(\w+)", term)
    if match:
        var, level = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        terms = {"role": ROLE_TERMS, "education": EDUCATION_TERMS}.get(var, {})
        name = {"role": ("Role", "身份"), "education": ("Education", "受教育程度")}.get(var, (var, var))[i]
        level_text = terms.get(level, (level.replace("_", " "), level))[i]
        return f"{name}: {level_text}" if i == 0 else f"{name}：{level_text}"
    return term


def quantity_label(name: str, lang: str | None = None) -> str:
    """A true quantity of the generator in words, as a row label under its estimator's name.

    problem_gap_frm -> "Substantive services", beta_fun -> "Service funding", path_effect_sup -> the path,
    att_event_-2 -> "year −2 since adoption", att_town_A -> "Town A"; an unknown name is returned as is.
    """
    from ztown.data.constructs import CONSTRUCT_BY_ID, PATHS

    lang = resolve_lang(lang)
    zh = lang == "zh"
    match = re.fullmatch(r"(problem_gap|cause_gap|beta|ologit|oaxaca)_(\w+)", name)
    if match and match.group(2) in CONSTRUCT_BY_ID:
        return construct_label(match.group(2), lang)
    match = re.fullmatch(r"(path_effect|satisfied_change)_(\w+)", name)
    if match and match.group(2) in PATHS:
        return PATHS[match.group(2)][1 if zh else 0]
    if match and match.group(2) == "all":
        return "五条路径同时推进" if zh else "All five paths together"
    match = re.fullmatch(r"att_event_(-?\d+)", name)
    if match:
        k = int(match.group(1))
        shown = (MINUS + str(-k)) if k < 0 else str(k)
        return f"采纳后第{shown}年" if zh else f"year {shown} since adoption"
    match = re.fullmatch(r"att_town_(\w)", name)
    if match:
        from ztown.data.synth import TOWNS
        names = {t[0]: (t[1], t[2]) for t in TOWNS}
        if match.group(1) in names:
            return names[match.group(1)][1 if zh else 0]
    fixed = {"effectiveness_gap": ("Service effectiveness (mean of the five)", "服务实效（五项平均）"),
             "oaxaca_explained": ("Explained by the five causes", "五项原因解释的部分"),
             "oaxaca_unexplained": ("Not explained", "未解释的部分"),
             "att_overall": ("All treated village-years", "全部处理组村-年"),
             "att_stacked": ("First years after adoption (stacked window)", "采纳后头几年（堆叠窗口）")}
    if name in fixed:
        return fixed[name][1 if zh else 0]
    return name


# --------------------------------------------------------------------------- numbers

def _missing(x) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, numbers.Number) and not math.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def number(x, digits: int = 2, thousands: bool = True, sign: bool = False) -> str:
    """A number with `digits` decimals, a true minus sign, thousands separators; a dash if missing.

    A value that rounds to zero is printed without a sign ("0.00", not "−0.00").
    """
    if _missing(x):
        return DASH
    x = float(x)
    text = f"{abs(x):,.{digits}f}" if thousands else f"{abs(x):.{digits}f}"
    if float(text.replace(",", "")) == 0:
        return text
    if x < 0:
        return MINUS + text
    return "+" + text if sign else text


def integer(x) -> str:
    """A count with thousands separators."""
    if _missing(x):
        return DASH
    return f"{int(round(float(x))):,}"


def p_value(p, digits: int = 3) -> str:
    """A p-value: three decimals, '<0.001' below that."""
    if _missing(p):
        return DASH
    p = float(p)
    floor = 10.0 ** -digits
    if p < floor:
        return f"<{floor:.{digits}f}"
    return f"{min(p, 1.0):.{digits}f}"


def interval(low, high, digits: int = 2) -> str:
    """An interval as '[lower, upper]'."""
    if _missing(low) or _missing(high):
        return DASH
    return f"[{number(low, digits)}, {number(high, digits)}]"


def estimate_with_interval(est, low, high, digits: int = 2) -> str:
    """'−0.84 [−1.08, −0.61]'."""
    if _missing(est):
        return DASH
    return f"{number(est, digits)} {interval(low, high, digits)}"


def percent(x, digits: int = 1, share: bool = False) -> str:
    """A percentage (x in per cent, or a share 0-1 with share=True), without the % sign (put it in the header)."""
    if _missing(x):
        return DASH
    return number(100 * float(x) if share else float(x), digits)


def plain(x, significant: int = 4) -> str:
    """A value of any size as a reader writes it: whole numbers without separators (seeds, years),
    others with `significant` digits and no exponent (0.000123, 0.8, 3.142, 14,567.8)."""
    if _missing(x):
        return DASH
    x = float(x)
    if x.is_integer():
        return (MINUS if x < 0 else "") + f"{abs(int(x))}"
    if abs(x) >= 1000:
        return number(x, 1)
    text_ = np.format_float_positional(abs(x), precision=significant, unique=False, fractional=False, trim="-")
    return (MINUS if x < 0 else "") + text_


def text(x) -> str:
    if _missing(x):
        return DASH
    s = " ".join(str(x).split())
    return s if s else DASH


# --------------------------------------------------------------------------- columns

@dataclass(frozen=True)
class Col:
    """One column of a table: which frame column(s), how to print it, and its header."""

    source: tuple[str, ...]
    kind: str = "auto"  # auto, text, int, number, p, percent, share, interval, estimate_ci
    label: str | None = None
    digits: int | None = None
    map: Mapping | Callable | None = None  # for text columns: codes -> words
    numeric: bool | None = None  # right-aligned and unbroken (default: every kind but text)
    zh: str | None = None  # the frame column shown instead in Chinese (a text the data hold in both languages)

    def columns(self, lang: str) -> tuple[str, ...]:
        """The frame column(s) shown in `lang`."""
        return (self.zh,) if self.zh is not None and _check_lang(lang) else self.source


KINDS = ("auto", "text", "int", "number", "plain", "p", "percent", "share", "interval", "estimate_ci")


def col(*source: str, kind: str = "auto", label: str | None = None, digits: int | None = None,
        map: Mapping | Callable | None = None, numeric: bool | None = None, zh: str | None = None) -> Col:
    """A column spec: `col("estimate")`, `col("ci_low", "ci_high", kind="interval")`,
    `col("estimate", "ci_low", "ci_high", kind="estimate_ci")`, `col("p", kind="p")`,
    `col("cause", label="Cause", map=lambda c: tables.construct_label(c))`.

    `zh` names the column whose text a Chinese table shows instead of `source` (the data keep some
    texts in both languages, e.g. `col("patterned_after", zh="patterned_after_zh")`), so the table
    of the Chinese edition is in Chinese without a language switch in the notebook.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown column kind {kind!r}; one of {KINDS}")
    need = {"interval": 2, "estimate_ci": 3}.get(kind, 1)
    if len(source) != need:
        raise ValueError(f"a column of kind {kind!r} takes {need} source column(s), got {source}")
    if zh is not None and need != 1:
        raise ValueError(f"zh= names one column in Chinese; a column of kind {kind!r} has {need}")
    return Col(tuple(source), kind, label, digits, map, numeric, zh)


def _as_col(spec) -> Col:
    if isinstance(spec, Col):
        return spec
    if isinstance(spec, str):
        return col(spec)
    raise TypeError(f"a column is a name or tables.col(...), not {spec!r}")


def _infer_kind(name: str, series: pd.Series) -> str:
    if name in ("p", "p_value", "p_lower", "p_upper", "min_p") or name.startswith("p_"):
        return "p"
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_numeric_dtype(series):
        values = pd.to_numeric(series, errors="coerce").dropna()
        if name in ("n", "n_obs", "replications", "villages", "clusters", "n_clusters", "rank") or (
                len(values) and np.all(values == np.round(values)) and name in COLUMN_TERMS
                and name not in ("estimate", "true_value", "value")):
            return "int"
        return "number"
    return "text"


def _header(c: Col, lang: str) -> str:
    if c.label is not None:
        return c.label
    key = "ci" if c.kind == "interval" else c.source[0]
    if c.kind == "estimate_ci":
        i = _check_lang(lang)
        return ("Estimate [95% interval]", "估计值［95%置信区间］")[i]
    if key in COLUMN_TERMS:
        return COLUMN_TERMS[key][_check_lang(lang)]
    raise ValueError(f"column {c.source[0]!r} has no header in words: pass label=... (no raw column names in "
                     "a published table)")


def _cells(frame: pd.DataFrame, c: Col, digits: int, lang: str = "en") -> list[str]:
    source = c.columns(lang)
    for name in source:
        if name not in frame.columns:
            raise KeyError(f"table column {name!r} is not in the frame (columns: {list(frame.columns)})")
    d = c.digits if c.digits is not None else digits
    kind = c.kind if c.kind != "auto" else _infer_kind(c.source[0], frame[source[0]])
    s = [frame[name].tolist() for name in source]
    if kind == "interval":
        return [interval(lo, hi, d) for lo, hi in zip(*s)]
    if kind == "estimate_ci":
        return [estimate_with_interval(e, lo, hi, d) for e, lo, hi in zip(*s)]
    values = s[0]
    if kind == "text":
        if c.map is not None:
            f = c.map if callable(c.map) else (lambda v, m=c.map: m.get(v, v))
            values = [v if _missing(v) else f(v) for v in values]
        return [text(v) for v in values]
    if kind == "int":
        return [integer(v) for v in values]
    if kind == "p":
        return [p_value(v) for v in values]
    if kind == "percent":
        return [percent(v, c.digits if c.digits is not None else 1) for v in values]
    if kind == "share":
        return [percent(v, c.digits if c.digits is not None else 1, share=True) for v in values]
    if kind == "plain":
        return [plain(v) for v in values]
    return [number(v, d) for v in values]


def _numeric(c: Col, frame: pd.DataFrame, lang: str = "en") -> bool:
    if c.numeric is not None:
        return c.numeric
    kind = c.kind if c.kind != "auto" else _infer_kind(c.source[0], frame[c.columns(lang)[0]])
    return kind != "text"


# --------------------------------------------------------------------------- the table

_INLINE_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|$~&])")


def md_cell(s: str) -> str:
    """A cell's text for one line of MyST: whitespace collapsed, markup escaped."""
    s = _INLINE_SPECIAL.sub(r"\\\1", " ".join(str(s).split()))
    if s[:1] in set("#+-=%(>:!"):
        s = "\\" + s
    return re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", s)


@dataclass
class Table:
    """A formatted table: header and cell texts, caption, label and notes."""

    header: list[str]
    rows: list[list[str]]
    name: str
    caption: str
    notes: list[str] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)  # per column: right-aligned, no wrapping
    lang: str = "en"
    header_rows: int = 1
    stub_rows: set[int] = field(default_factory=set)  # rows that are labels of a block (regression tables)
    texts: list[str] = field(default_factory=list)  # its English words, which a translated edition translates

    def __post_init__(self):
        if not re.fullmatch(r"tbl-[a-z0-9][a-z0-9-]*", self.name):
            raise ValueError(f"table name {self.name!r}: use 'tbl-' and lower-case words joined by '-'")
        if not self.caption.strip():
            raise ValueError(f"table {self.name}: a published table needs a caption")
        width = len(self.header)
        for row in self.rows:
            if len(row) != width:
                raise ValueError(f"table {self.name}: a row has {len(row)} cells, the header {width}")
        if not self.numeric:
            self.numeric = [False] * width
        for i, row in enumerate(self.rows):
            for j, cell in enumerate(row):
                if re.search(r"\b(nan|NaN|None)\b|<NA>", cell):
                    raise ValueError(f"table {self.name}, row {i + 1}, column {self.header[j]!r}: "
                                     f"{cell!r} (missing values are printed as a dash)")

    @property
    def frame(self) -> pd.DataFrame:
        """The formatted cells as a DataFrame of strings (header as column names)."""
        return pd.DataFrame(self.rows, columns=_unique(self.header))

    def classes(self) -> list[str]:
        return ["ztown-table"] + [f"ztown-num-c{j + 1}" for j, num in enumerate(self.numeric) if num]

    def to_myst(self) -> str:
        """The MyST list-table (with caption and label) and its notes."""
        fence = "::::"  # a colon fence: a backtick fence cannot carry backticks (code) in its caption
        caption = " ".join(self.caption.split())
        lines = [f"{fence}{{list-table}} {caption}", f":name: {self.name}", f":header-rows: {self.header_rows}",
                 f":class: {' '.join(self.classes())}", ":widths: auto", ""]
        for row in [self.header, *self.rows]:
            for j, cell in enumerate(row):
                lead = "* - " if j == 0 else "  - "
                lines.append((lead + md_cell(cell)).rstrip() if cell else lead.rstrip())
        lines.append(fence)
        if self.notes:
            label = word("note", self.lang)
            sep = ": " if self.lang == "en" else "："
            lines += ["", "```{container} ztown-table-notes", f"{label}{sep}" + " ".join(self.notes), "```"]
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self):
        """The list-table, with the table's English texts in the output's metadata, where
        `ztown.publication.edition` collects them into the translated editions' catalogues."""
        if not self.texts:
            return self.to_myst()
        return self.to_myst(), {TEXTS_KEY: list(dict.fromkeys(self.texts))}

    def to_styler(self):
        """pandas' Styler of the formatted cells: no index, caption, notes below (for Jupyter)."""
        styler = self.frame.style.hide(axis="index")
        styler = styler.set_uuid(self.name.replace("-", "_"))
        label = word("note", self.lang)
        caption = html.escape(self.caption)
        styler = styler.set_caption(caption)
        styles = [{"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: 600;"},
                  {"selector": "td", "props": "vertical-align: top;"}]
        for j, num in enumerate(self.numeric):
            if num:
                styles.append({"selector": f"td.col{j}", "props": "text-align: right; white-space: nowrap;"})
        styler = styler.set_table_styles(styles)
        if self.notes:
            styler = styler.set_table_attributes(f'data-notes="{html.escape(label)}"')
        return styler

    def _repr_html_(self) -> str:
        out = self.to_styler().to_html()
        if self.notes:
            out += f'<p class="ztown-table-notes">{html.escape(word("note", self.lang))}: ' \
                   f'{html.escape(" ".join(self.notes))}</p>'
        return out

    def __repr__(self) -> str:
        return f"Table {self.name}: {self.caption}\n" + self.frame.to_string(index=False)


TEXTS_KEY = "ztown-table-texts"  # output metadata (of text/markdown): the texts of a table to translate


class _Words:
    """The words of one table in its language: each English text is translated from the edition's
    `_tables` catalogue (`ztown.publication.translation.phrase`), and remembered, in English, as a
    text of the table (`Table.texts`)."""

    def __init__(self, lang: str):
        self.lang = lang
        self.texts: list[str] = []

    def __call__(self, english: str) -> str:
        from ztown.publication.translation import TABLES_DOMAIN, phrase, translatable

        if not english or not translatable(english):
            return english
        self.texts.append(english)
        return english if self.lang == "en" else phrase(english, self.lang, TABLES_DOMAIN)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        out.append(n if k == 0 else n + "\u200b" * k)
        seen[n] = k + 1
    return out


def table(frame: pd.DataFrame, columns: Sequence[str | Col], *, name: str, caption: str,
          notes: Iterable[str] = (), digits: int = 2, lang: str | None = None, missing_note: str | None = None,
          synthetic: bool | None = None, source: str | None = None) -> Table:
    """A publication table of `frame`'s rows (in their order; the index is never shown).

    `columns`: names or `col(...)` specs, in the order shown; each header is the spec's label,
    else the word for the column name (`COLUMN_TERMS`); a name with no word is an error, so no raw
    column name reaches a reader. `name` is the label for {numref} (`tbl-...`), `caption` says
    what the table shows. A missing value prints as a dash, and the notes then say what a dash
    means (`missing_note`, else a general sentence). `synthetic=True` adds "Synthetic data." to
    the notes, `source` a source line.
    """
    lang = resolve_lang(lang)
    words = _Words(lang)
    specs = [_as_col(c) for c in columns]
    header = [words(c.label) if c.label is not None else _header(c, lang) for c in specs]
    cells = [_cells(frame, c, digits, lang) for c in specs]
    for c, column in zip(specs, cells):
        if _text_column(c, frame, lang):
            column[:] = [words(cell) for cell in column]
    rows = [list(r) for r in zip(*cells)] if cells else []
    all_notes = [words(n) for n in notes]
    if any(DASH == cell for row in rows for cell in row):
        all_notes.append(words(missing_note) if missing_note else word("missing", lang))
    if source:
        sep = ": " if lang == "en" else "："
        all_notes.append(f"{word('source', lang)}{sep}{words(source)}")
    if synthetic:
        all_notes.append(word("synthetic", lang))
    return Table(header, rows, name, words(caption), all_notes, [_numeric(c, frame, lang) for c in specs], lang,
                 texts=words.texts)


def _text_column(c: Col, frame: pd.DataFrame, lang: str) -> bool:
    """A column of English words to translate: of kind text, not one the data hold in Chinese (`zh=`)."""
    if c.zh is not None and lang != "en":
        return False
    kind = c.kind if c.kind != "auto" else _infer_kind(c.source[0], frame[c.columns(lang)[0]])
    return kind == "text"


# --------------------------------------------------------------------------- regression tables

@dataclass(frozen=True)
class ModelColumn:
    """One model of a regression table: its result, heading and statistics."""

    label: str
    result: object
    se_type: str  # what the standard errors are, in words (the notes list them)
    stats: Mapping[str, float] = field(default_factory=dict)  # e.g. {"r2": ..., "loglik": ...}


def model_stats(result) -> dict[str, float]:
    """Observations, clusters, R² or log-likelihood of a fitted model, as far as it has them."""
    out: dict[str, float] = {"observations": float(result.nobs)}
    clusters = getattr(result, "n_clusters", None)
    if clusters is None and hasattr(result, "model") and hasattr(result.model, "n_groups"):
        clusters = result.model.n_groups
    if clusters is not None:
        out["clusters"] = float(clusters)
    r2 = getattr(result, "rsquared", None)
    if r2 is not None:
        out["r2"] = float(r2)
    else:
        llf = getattr(result, "llf", None)
        if llf is not None:
            out["loglik"] = float(llf)
    return out


def regression_table(models: Sequence[ModelColumn], terms: Sequence[str] | Mapping[str, str] | None = None, *,
                     name: str, caption: str, show: str = "se", digits: int = 2, lang: str | None = None,
                     notes: Iterable[str] = (), extra_stats: Mapping[str, Sequence] | None = None,
                     same: Mapping[str, str] | None = None) -> Table:
    """Models side by side, as social scientists print them.

    One row per term: its coefficient in each model, and below it the standard error in
    parentheses (`show="se"`) or the 95% interval in brackets (`show="ci"`); a blank cell where a
    model has no such term. Then the number of observations and of clusters, R² (OLS) or the
    log-likelihood, and a note naming each model's type of standard error. `terms`: the terms
    shown, in order (a mapping gives their labels); default: every term of the first model
    (the others' extra terms after it). `extra_stats`: further statistic rows, label -> one
    value per model (None for a blank). `same` maps a model's own term name to the row it belongs
    on (by default the ordered logit's `role_member` / `role_cadre` share the rows of
    `C(role)[T.member]` / `C(role)[T.cadre]`). The ordered logit's cut points (`1/2`, ...) are left
    out unless `terms` names them.
    """
    from ztown.analysis.models import tidy

    lang = resolve_lang(lang)
    words = _Words(lang)
    if show not in ("se", "ci"):
        raise ValueError("show is 'se' or 'ci'")
    aliases = {"role_member": "C(role)[T.member]", "role_cadre": "C(role)[T.cadre]", **(same or {})}
    tidies = [tidy(m.result).set_index("term").rename(index=aliases) for m in models]
    if terms is None:
        order = [t for t in dict.fromkeys(t for td in tidies for t in td.index) if not re.fullmatch(r"\d+/\d+", t)]
        labels = {t: term_label(t, lang) for t in order}
    elif isinstance(terms, Mapping):
        order, labels = list(terms), {t: words(label) for t, label in terms.items()}
    else:
        order, labels = list(terms), {t: term_label(t, lang) for t in terms}
    rows: list[list[str]] = []
    stub_rows: set[int] = set()
    for term in order:
        if not any(term in td.index for td in tidies):
            raise KeyError(f"regression table {name}: no model has the term {term!r}")
        coef, below = [labels[term]], [""]
        for td in tidies:
            if term in td.index:
                r = td.loc[term]
                coef.append(number(r["estimate"], digits))
                below.append(f"({number(r['se'], digits)})" if show == "se" else interval(r["ci_low"], r["ci_high"], digits))
            else:
                coef.append("")
                below.append("")
        stub_rows.add(len(rows))
        rows += [coef, below]
    stats = [m.stats or model_stats(m.result) for m in models]
    for key, fmt in (("observations", integer), ("clusters", integer), ("r2", lambda v: number(v, 2)),
                     ("loglik", lambda v: number(v, 1))):
        if any(key in s for s in stats):
            rows.append([word(key, lang)] + [fmt(s[key]) if key in s else "" for s in stats])
    for label, values in (extra_stats or {}).items():
        if len(values) != len(models):
            raise ValueError(f"extra statistic {label!r}: one value per model")
        rows.append([words(label)] + ["" if v is None else (words(v) if isinstance(v, str) else number(v, digits))
                                      for v in values])
    sep = ": " if lang == "en" else "："
    se_notes = ("; " if lang == "en" else "；").join(f"{words(m.label)}{sep}{words(m.se_type)}" for m in models)
    head = word("se_paren" if show == "se" else "ci_paren", lang)
    all_notes = [head, (f"Standard errors: {se_notes}." if lang == "en" else f"标准误：{se_notes}。"),
                 *[words(n) for n in notes]]
    header = [word("term", lang)] + [words(m.label) for m in models]
    return Table(header, rows, name, words(caption), all_notes, [False] + [True] * len(models), lang,
                 stub_rows=stub_rows, texts=words.texts)
