"""Publication tables: one number format, words for labels, no index, no NaN, numbered and captioned."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from ztown.publication import tables


def test_numbers_are_printed_one_way():
    assert tables.number(-0.8683) == "\u22120.87"
    assert tables.number(-0.001) == "0.00"  # no "−0.00"
    assert tables.number(12345.678, 1) == "12,345.7"
    assert tables.integer(2413.0) == "2,413"
    assert tables.p_value(0.00001) == "<0.001" and tables.p_value(0.2) == "0.200" and tables.p_value(0.0) == "<0.001"
    assert tables.interval(-1.123, -0.613) == "[\u22121.12, \u22120.61]"
    assert tables.estimate_with_interval(-0.868, -1.123, -0.613) == "\u22120.87 [\u22121.12, \u22120.61]"
    assert tables.plain(20231101.0) == "20231101" and tables.plain(0.000123456) == "0.0001235"
    for missing in (np.nan, None, pd.NA, float("inf")):
        assert tables.number(missing) == tables.DASH and tables.p_value(missing) == tables.DASH


def _frame():
    return pd.DataFrame({"construct": ["frm", "cov"], "estimate": [-0.8683, 0.1], "ci_low": [-1.12, np.nan],
                         "ci_high": [-0.6, 1.0], "p": [0.00001, 0.2], "n": [2413, 2414]},
                        index=[7, 3])  # an index that must not show


def _gaps(lang=None, **kw):
    return tables.table(_frame(), [tables.col("construct", label="Problem",
                                              map=lambda c: tables.construct_label(c, lang or "en")),
                                   "estimate", tables.col("ci_low", "ci_high", kind="interval"), "p", "n"],
                        name="tbl-test-gaps", caption="Z town's gaps (Likert points)", lang=lang, **kw)


def test_a_table_has_words_formatted_cells_and_no_index_or_nan():
    t = _gaps(synthetic=True)
    assert t.header == ["Problem", "Estimate", "95% interval", "p-value", "Respondents"]
    assert t.rows[0] == ["Substantive services", "\u22120.87", "[\u22121.12, \u22120.60]", "<0.001", "2,413"]
    assert t.rows[1][2] == tables.DASH
    assert any("dash" in note for note in t.notes) and "Synthetic data." in t.notes
    html = t._repr_html_()
    assert "row_heading" not in html and ">7<" not in html, "the index is shown"
    assert not re.search(r"\bnan\b|NaN|&lt;NA&gt;|<NA>|None", html + t.to_myst())
    assert t._repr_html_() == html, "the notebook HTML must be the same at every run (nbval compares it)"


def test_the_book_view_is_a_numbered_captioned_list_table():
    myst = _gaps().to_myst()
    assert myst.startswith("::::{list-table} Z town's gaps (Likert points)\n:name: tbl-test-gaps\n")
    assert ":class: ztown-table ztown-num-c2 ztown-num-c3 ztown-num-c4 ztown-num-c5" in myst
    assert "\\[\u22121.12, \u22120.60\\]" in myst and "\\<0.001" in myst  # escaped for MyST


def test_chinese_headers_and_labels():
    t = _gaps(lang="zh")
    assert t.header[1:] == ["估计值", "95%置信区间", "p值", "受访者"]
    assert t.rows[0][0] == "服务实效"
    assert "短横" in " ".join(t.notes)


def test_the_language_defaults_to_the_edition(monkeypatch):
    monkeypatch.setenv("ZTOWN_LANG", "zh")
    assert _gaps().header[1] == "估计值"
    monkeypatch.setenv("ZTOWN_LANG", "fr")
    with pytest.raises(ValueError, match="lang"):
        _gaps()


def test_raw_column_names_are_refused():
    with pytest.raises(ValueError, match="no header in words"):
        tables.table(_frame(), ["ci_low", "estimate"], name="tbl-x", caption="x")


def test_a_table_needs_a_label_and_a_caption():
    with pytest.raises(ValueError, match="tbl-"):
        tables.table(_frame(), ["estimate"], name="gaps", caption="x")
    with pytest.raises(ValueError, match="caption"):
        tables.table(_frame(), ["estimate"], name="tbl-x", caption=" ")


def test_a_missing_text_cell_prints_a_dash_not_NA():
    frame = pd.DataFrame({"verdict": pd.array(["supported", pd.NA], dtype="string")})
    t = tables.table(frame, ["verdict"], name="tbl-x", caption="Verdicts")
    assert t.rows == [["supported"], [tables.DASH]]


def test_a_text_kept_in_both_languages_is_shown_in_the_tables_language(monkeypatch):
    from ztown.publication import translation as tr

    monkeypatch.setitem(tr._CATALOGUES, ("zh", tr.TABLES_DOMAIN), {"Town": "镇"})
    frame = pd.DataFrame({"town": ["Z town", "Town A"], "patterned_after": [None, "The Fengqiao experience."],
                          "patterned_after_zh": [None, "“枫桥经验”。"]}, index=[4, 0])
    spec = [tables.col("town", label="Town"), tables.col("patterned_after", label="Patterned after",
                                                         zh="patterned_after_zh")]
    en = tables.table(frame, spec, name="tbl-x", caption="Towns", lang="en")
    zh = tables.table(frame, spec, name="tbl-x", caption="Towns", lang="zh")
    assert [r[1] for r in en.rows] == [tables.DASH, "The Fengqiao experience."]
    assert [r[1] for r in zh.rows] == [tables.DASH, "“枫桥经验”。"]
    # headers the caller words come from the `_tables` catalogue (here: this test's own)
    assert en.header == ["Town", "Patterned after"] and zh.header == ["镇", "Patterned after"]
    assert en.numeric == zh.numeric == [False, False]
    monkeypatch.setenv("ZTOWN_LANG", "zh")  # the edition's kernels: no lang= in the notebook
    assert tables.table(frame, spec, name="tbl-x", caption="Towns").rows == zh.rows
    with pytest.raises(KeyError, match="patterned_after_zh"):  # a package without the Chinese column
        tables.table(frame.drop(columns="patterned_after_zh"), spec, name="tbl-x", caption="Towns", lang="zh")
    with pytest.raises(ValueError, match="zh="):
        tables.col("ci_low", "ci_high", kind="interval", zh="ci_zh")


@pytest.fixture(scope="module")
def fits():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=200), "z_town": rng.integers(0, 2, 200), "g": rng.integers(0, 20, 200)})
    df["y"] = 0.5 * df["x"] - 0.3 * df["z_town"] + rng.normal(size=20)[df["g"]] + rng.normal(size=200)
    ols = smf.ols("y ~ x + z_town", df).fit()
    small = smf.ols("y ~ x", df).fit()
    mixed = smf.mixedlm("y ~ x + z_town", df, groups=df["g"]).fit(reml=True, method=["bfgs"])
    return ols, small, mixed


def test_regression_table_puts_models_side_by_side(fits):
    ols, small, mixed = fits
    t = tables.regression_table(
        [tables.ModelColumn("OLS", ols, "classical"), tables.ModelColumn("OLS, x only", small, "classical"),
         tables.ModelColumn("Mixed model", mixed, "model-based (REML)")],
        terms=["x", "z_town", "Intercept"], name="tbl-test-models", caption="Three models")
    labels = [row[0] for row in t.rows]
    assert labels[:6] == ["x", "", "Z town (indicator)", "", "Constant", ""]
    coef, se = t.rows[0], t.rows[1]
    assert coef[1] == tables.number(ols.params["x"]) and se[1] == f"({tables.number(ols.bse['x'])})"
    assert t.rows[2][2] == "" and t.rows[3][2] == "", "a model without the term leaves its cells blank"
    stats = {row[0]: row[1:] for row in t.rows[6:]}
    assert stats["Observations"] == ["200", "200", "200"]
    assert stats["R²"][0] == tables.number(ols.rsquared) and stats["R²"][2] == ""
    assert stats["Log-likelihood"][2] == tables.number(mixed.llf, 1)
    assert any("Mixed model: model-based (REML)" in note for note in t.notes)
    assert t.numeric == [False, True, True, True]


def test_regression_table_term_labels_are_words():
    assert tables.term_label("idx_sup") == "Internal supervision and management (village index)"
    assert tables.term_label("C(role)[T.member]") == "Role: Party member"
    assert tables.term_label("C(education)[T.college_or_above]", "zh") == "受教育程度：大专及以上"
    assert tables.quantity_label("att_event_-2") == "year \u22122 since adoption"


# --- the Chinese edition's tables: their English texts, translated from the `_tables` catalogue ---------

def _claims():
    return pd.DataFrame({"claim": ["Z town's services are mere form", "Fourth claim"], "estimate": [-0.5, 0.25],
                         "verdict": ["supported", "not supported by these data"],
                         "read_at": ["cssn.cn/dzyx/t2015.shtml", "news.example.com/a/b.htm"]})


def _claims_table(lang="en"):
    return tables.table(_claims(), [tables.col("claim", label="What the thesis claims"),
                                    tables.col("estimate"), tables.col("verdict"),
                                    tables.col("read_at", label="Read at")],
                        name="tbl-claims", caption="The 2 problem claims", notes=["Gaps in Likert points."],
                        synthetic=True, lang=lang)


def test_a_table_remembers_its_english_texts_for_the_catalogue():
    t = _claims_table()
    assert t.texts == ["What the thesis claims", "Read at", "Z town's services are mere form", "Fourth claim",
                       "supported", "not supported by these data", "Gaps in Likert points.", "The 2 problem claims"]
    markdown, metadata = t._repr_markdown_()  # shown with its texts in the output's metadata
    assert markdown == t.to_myst() and metadata == {tables.TEXTS_KEY: t.texts}
    assert "cssn.cn/dzyx/t2015.shtml" not in t.texts  # an address is not translated


def test_a_chinese_table_takes_its_words_from_the_catalogue(monkeypatch):
    from ztown.publication import translation as tr

    monkeypatch.setitem(tr._CATALOGUES, ("zh", tr.TABLES_DOMAIN), {
        "What the thesis claims": "论文的论断", "Z town's services are mere form": "Z镇的服务流于形式",
        "supported": "得到支持", "The {#1} problem claims": "{#1}项问题论断", "Gaps in Likert points.": "差距以李克特分计。"})
    t = _claims_table("zh")
    assert t.caption == "2项问题论断"  # the number is the table's own, whatever the catalogue's example
    assert t.header == ["论文的论断", "估计值", "结论", "Read at"]  # no translation: the English stays
    assert [row[0] for row in t.rows] == ["Z镇的服务流于形式", "Fourth claim"]
    assert t.rows[0][2] == "得到支持" and t.rows[1][2] == "not supported by these data"
    assert t.notes == ["差距以李克特分计。", "合成数据。"]
    assert t.texts == _claims_table("en").texts  # the same English texts, whichever the edition


def test_the_catalogue_collects_the_table_texts_of_the_committed_outputs(tmp_path):
    import nbformat

    from ztown.publication import edition

    nb = nbformat.v4.new_notebook()
    t = _claims_table()
    markdown, metadata = t._repr_markdown_()
    cell = nbformat.v4.new_code_cell("table")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": markdown},
                                           metadata={"text/markdown": metadata})]
    nb.cells = [cell]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "01_x.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: notebooks/01_x\n", encoding="utf-8")
    texts = edition.table_texts(tmp_path)
    assert "The {#1} problem claims" in texts and "not supported by these data" in texts
    assert len(texts) == len(set(texts)) == len(t.texts)


def test_a_number_in_words_is_written_in_chinese_words(monkeypatch):
    from ztown.publication import translation as tr

    monkeypatch.setitem(tr._CATALOGUES, ("zh", tr.TABLES_DOMAIN), {"The largest of the {#1}": "{#1}条路径中最大的一条"})
    assert tr.phrase("The largest of the five", "zh", tr.TABLES_DOMAIN) == "五条路径中最大的一条"
    assert tr.phrase("The largest of the 12", "zh", tr.TABLES_DOMAIN) == "12条路径中最大的一条"
