"""The Chinese edition (issue 13): its catalogues, its build beside the English book, and what a reader gets.

The unit tests need no build. The others share one `ztown book` of the repository (as tests/test_book.py
does: a build with nothing changed is cheap), which builds the English book into `_build/html` and the
Chinese edition into `_build/html/zh`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ztown.publication import edition as ed
from ztown.publication import translation as tr
from ztown.publication.book import book_lock

REPO_ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = REPO_ROOT / "_build" / "html"
ZH = ed.EDITIONS["zh"]
ZH_SOURCE = REPO_ROOT / "_build" / "zh" / "src"
CJK = re.compile(r"[\u4e00-\u9fff]")


def chapters() -> list[str]:
    return [d for d in ed.toc_docnames(REPO_ROOT) if d.startswith("notebooks/")]


def hand_written_pages() -> list[tr.Page]:
    return ed.book_pages(REPO_ROOT, generated=False)


# --- splitting pages into messages ---------------------------------------------------------------

SAMPLE = """---
file_format: mystnb
---

(label)=
# A title

:::{admonition} Synthetic data
:class: warning synthetic-data
Every number here is drawn by a generator, see {ref}`data-methods`
and {cite:t}`key2020`.
:::

A paragraph with {glue:text}`x-est:.2f` and
a second line, then math $a+b$.

- first item
  continued
- second item

| Head | Other |
|---|---|
| cell {glue:text}`y:.1f` | two |

$$ y = \\beta x $$

```python
print("code stays")
```

:::{glue:figure} fig-x
:name: fig-x

A caption. {download}`Figure data (CSV) </_build/figure_data/x.csv>`
:::
"""


def test_messages_are_the_prose_and_nothing_else():
    pieces = tr.segment(SAMPLE)
    assert "".join(p.text for p in pieces) == SAMPLE, "the pieces must add up to the source"
    messages = [p.msgid for p in pieces if p.msgid]
    assert messages == [
        "A title", "Synthetic data",
        "Every number here is drawn by a generator, see {ref}`data-methods` and {cite:t}`key2020`.",
        "A paragraph with {glue:text}`x-est:.2f` and a second line, then math $a+b$.",
        "first item continued", "second item",
        "| Head | Other |", "| cell {glue:text}`y:.1f` | two |",
        "A caption. {download}`Figure data (CSV) </_build/figure_data/x.csv>`"]


def test_a_translation_replaces_only_the_prose():
    pieces = tr.segment(SAMPLE)
    messages = [p.msgid for p in pieces if p.msgid]
    translations = {m: f"译文{k}" + "".join(f" {{{r['name']}}}`{r['content']}`" for r in tr.ROLE.finditer(m))
                    for k, m in enumerate(messages)}
    catalogue = tr.Catalogue(Path("x.po"), translations)
    out = tr.translate_sources([pieces], catalogue)
    text = out.sources[0]
    assert not out.untranslated and not out.refused
    for kept in ["(label)=", ":class: warning synthetic-data", "$$ y = \\beta x $$", 'print("code stays")',
                 ":::{glue:figure} fig-x", ":name: fig-x", "|---|---|", "file_format: mystnb"]:
        assert kept in text, kept
    assert "# 译文0" in text and ":::{admonition} 译文1" in text and "- 译文4" in text and "| 译文6 |" not in text
    assert "译文7 {glue:text}`y:.1f`" in text
    assert tr.glue_keys(text) == tr.glue_keys(SAMPLE) == {"x-est", "y", "fig-x"}


def test_a_translation_that_drops_or_adds_a_glued_value_is_refused():
    msgid = "Z town is {glue:text}`gap:.1f` points {glue:md}`gap-dir` ({numref}`fig-x`)."
    assert tr.role_mismatch(msgid, "Z镇{glue:md}`gap-dir`{glue:text}`gap:.2f`分（{numref}`fig-x`）。") is None
    assert "gap" in tr.role_mismatch(msgid, "Z镇{glue:md}`gap-dir`几分（{numref}`fig-x`）。")
    assert "other" in tr.role_mismatch(msgid, "Z镇{glue:text}`other:.1f`{glue:text}`gap:.1f`{glue:md}`gap-dir`"
                                              "（{numref}`fig-x`）。")
    pieces = tr.segment(msgid + "\n")
    out = tr.translate_sources([pieces], tr.Catalogue(Path("x.po"), {msgid: "Z镇几分。"}))
    assert out.sources == [msgid + "\n"] and out.refused, "a refused translation leaves the English"


def test_generated_pages_use_number_placeholders():
    template, values = tr.make_template("- File: `data/x.csv`, 2418 rows, 38 fields; see {ref}`codebook-x2`.")
    assert template == "- File: `data/x.csv`, {#1} rows, {#2} fields; see {ref}`codebook-x2`."
    assert values == ("2418", "38")
    assert tr.fill_placeholders("{#1}行，{#2}个字段", values) == "2418行，38个字段"
    assert tr.role_mismatch(template, "{#1}行") is not None, "a placeholder must not get lost"


def test_every_hand_written_page_splits_and_joins_back():
    for page in hand_written_pages():
        for source, pieces in zip(page.markdown_sources(), page.pieces()):
            assert "".join(p.text for p in pieces) == source, page.docname
            same = "".join(p.render(p.msgid) if p.msgid else p.text for p in pieces)
            assert [p.msgid for p in tr.segment(same) if p.msgid] == [p.msgid for p in pieces if p.msgid], page.docname
            assert tr.glue_keys(same) == tr.glue_keys(source), page.docname


def test_only_a_message_written_in_both_languages_counts_as_bilingual():
    assert tr.bilingual("- `sex`\n- Sex of the respondent\n- 受访者性别\n- choice list `sex`; required")
    assert tr.bilingual("**Z town survey of villagers** / **Z镇村民问卷调查**")
    assert not tr.bilingual("Whether a first secretary (第一书记) is stationed in the village.")
    assert not tr.bilingual("The branch holds its three meetings and one lesson (三会一课) as required.")


GLOSSARY_SAMPLE = """## Key terms

```{glossary}
:sorted:
服务型党组织
service-oriented Party organization
  *fúwùxíng dǎng zǔzhī*. A Party organization judged by
  the services it gives residents (since 1990).

Substantive services
服务实效
  Problem construct `frm` (items frm1, frm2). The thesis: services are mere form.

  A second paragraph, with a {term}`Party branch`.
```

After.
"""


def test_glossary_definitions_are_messages_and_terms_stay():
    pieces = tr.segment(GLOSSARY_SAMPLE)
    assert "".join(p.text for p in pieces) == GLOSSARY_SAMPLE, "the pieces must add up to the source"
    assert [p.msgid for p in pieces if p.msgid] == [
        "Key terms",
        "*fúwùxíng dǎng zǔzhī*. A Party organization judged by the services it gives residents (since 1990).",
        "Problem construct `frm` (items frm1, frm2). The thesis: services are mere form.",
        "A second paragraph, with a {term}`Party branch`.", "After."]
    untranslated = tr.translate_sources([pieces], tr.Catalogue(Path("x.po"), {}))
    assert untranslated.sources == [GLOSSARY_SAMPLE], "an untranslated glossary is the English one, byte for byte"
    assert [tr.segment(p.render(p.msgid))[0].msgid for p in pieces if p.msgid and "\n" not in p.text.strip()] == \
        [p.msgid for p in pieces if p.msgid and "\n" not in p.text.strip()]
    templated = tr.templated(tr.segment(GLOSSARY_SAMPLE))
    messages = [p.msgid for p in templated if p.msgid]
    chinese = {messages[1]: "*fúwùxíng dǎng zǔzhī*。以服务成效衡量的党组织\n（自{#1}年起）。",
               messages[2]: "问题构念 `frm`（题目 frm1、frm2）。论文表述：服务流于形式。",
               messages[3]: "第二段，含{term}`Party branch`。"}
    out = tr.translate_sources([templated], tr.Catalogue(Path("x.po"), chinese))
    assert not out.refused and out.untranslated == ["Key terms", "After."]
    assert out.sources[0].splitlines()[2:15] == [
        "```{glossary}", ":sorted:", "服务型党组织", "service-oriented Party organization",
        "  *fúwùxíng dǎng zǔzhī*。以服务成效衡量的党组织", "  （自1990年起）。", "",
        "Substantive services", "服务实效", "  问题构念 `frm`（题目 frm1、frm2）。论文表述：服务流于形式。", "",
        "  第二段，含{term}`Party branch`。", "```"]


def test_every_definition_of_the_glossary_page_is_a_message():
    from ztown.data.constructs import CONSTRUCTS, GLOSSARY
    from ztown.publication.codebook import render_pages

    text = render_pages(REPO_ROOT / "datapackage" / "datapackage.json")["glossary.md"]
    pieces = tr.templated(tr.segment(text))
    assert "".join(p.text for p in pieces) == text
    messages = {p.msgid for p in pieces if p.msgid}
    inside, definitions, terms = False, [], []
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.startswith("```{glossary}")
        elif inside and line.startswith("  "):
            definitions.append(tr.make_template(line.strip())[0])
        elif inside and line.strip():
            terms.append(line)
    assert len(definitions) == len(GLOSSARY) + len(CONSTRUCTS)
    assert not [d for d in definitions if d not in messages], "a definition is not a message"
    assert not set(terms) & messages, "a glossary term became a message"


def test_execution_table_is_in_the_build_language():
    from collections import defaultdict

    from docutils import nodes
    from myst_nb.ext.execution_tables import make_stat_table

    from ztown.publication.sphinxext import translate_exec_table

    run = {"mtime": 0, "method": "cache", "runtime": 1.5, "succeeded": True, "error": None}
    metadata = defaultdict(dict, {"notebooks/01_status": {"exec_data": run}})
    cells = {}
    for language in ("en", None, "zh_CN"):
        table = make_stat_table("book/status", metadata)
        translate_exec_table(table, language)
        cells[language] = [entry.astext() for entry in table.findall(nodes.entry)]
    assert cells["en"] == cells[None]
    assert cells["en"][:5] == ["Document", "Modified", "Method", "Run Time (s)", "Status"]
    assert cells["en"][7] == "cache"
    assert cells["zh_CN"][:5] == ["文档", "修改时间", "方法", "运行时间（秒）", "状态"]
    assert cells["zh_CN"][7] == "缓存（cache）", "the method in Chinese, with the name the prose gives in code"
    assert [cells["zh_CN"][k] for k in (5, 6, 8, 9)] == [cells["en"][k] for k in (5, 6, 8, 9)]


def test_latin_prose_finds_english_sentences_not_names():
    assert tr.latin_prose("Z镇的差距（Oaxaca-Blinder分解，CR2标准误，TWFE）") == []
    assert tr.latin_prose("方法见 Callaway and Sant'Anna 的文献") == []
    assert tr.latin_prose("这里 the comparison towns are fictional 了") == ["the comparison towns are fictional"]
    assert tr.latin_prose("代码 `ztown.load()` 与 {ref}`data-methods`") == []


def test_language_switch_leads_to_the_same_page():
    assert ed.switch_href("index", "en", "zh") == "zh/index.html"
    assert ed.switch_href("notebooks/01_status", "en", "zh") == "../zh/notebooks/01_status.html"
    assert ed.switch_href("notebooks/01_status", "zh", "en") == "../../notebooks/01_status.html"
    assert ed.switch_href("book/generated/codebook", "zh", "en") == "../../../book/generated/codebook.html"


# --- the catalogues ---------------------------------------------------------------------------------

def test_catalogues_are_in_step_with_the_english(tmp_path):
    """`python -m ztown.publication.edition update` has been run since the English last changed: merging
    the English book's messages into a copy of the catalogues changes nothing."""
    copy = tmp_path / "locales"
    shutil.copytree(REPO_ROOT / ed.LOCALES_DIR, copy)
    messages = ed.current_messages(REPO_ROOT)
    stale = {}
    for domain, current in messages.items():
        po = copy / ZH.locale / "LC_MESSAGES" / f"{domain}.po"
        added, _removed = tr.update_catalogue(po, current, ZH.locale)
        if added:
            stale[domain] = added
    assert not stale, f"English messages missing from the catalogues (run the update): {stale}"


def _coverage():
    return {c.domain: c for c in ed.coverage(REPO_ROOT, ZH)}


def test_every_message_of_the_book_is_translated():
    coverage = _coverage()
    problems = {d: f"{c.untranslated} untranslated ({c.fuzzy} fuzzy), refused: {c.refused}"
                for d, c in coverage.items() if c.untranslated or c.refused}
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def _translated_messages():
    for domain, messages in ed.current_messages(REPO_ROOT).items():
        catalogue = ed.catalogue(REPO_ROOT, ZH, domain)
        for msgid in messages:
            if msgid in catalogue.translations:
                yield domain, msgid, catalogue.translations[msgid]


def test_glossary_terms_are_spelled_as_in_the_glossary():
    """Where the English uses a term of the glossary (or a construct, path or town), the Chinese uses the
    glossary's Chinese term, character for character."""
    terms = tr.glossary_terms()
    assert ("service-oriented Party organization", "服务型党组织") in terms
    assert ("three meetings and one lesson", "三会一课") in terms and ("Town A", "甲镇") in terms
    # (a message that is bilingual already in the English book, like the questionnaire's rows, keeps its
    # own Chinese: it is checked where it is written)
    wrong = [(domain, msgid[:80], missing) for domain, msgid, msgstr in _translated_messages()
             if not tr.bilingual(msgid) and (missing := tr.term_mismatches(msgid, msgstr, terms))]
    assert not wrong, "\n".join(map(str, wrong))


def test_no_translation_keeps_english_prose():
    english = [(domain, msgstr[:120], runs) for domain, msgid, msgstr in _translated_messages()
               if (runs := tr.latin_prose(msgstr)) and not tr.bilingual(msgid)]
    assert not english, "\n".join(map(str, english))
    kept = [(domain, msgid[:120]) for domain, msgid, msgstr in _translated_messages()
            if msgstr == msgid and tr.latin_prose(msgid) and not tr.bilingual(msgid)]
    assert not kept, f"English prose 'translated' as itself: {kept}"


def test_glued_phrases_are_translated_in_the_chinese_build(monkeypatch):
    monkeypatch.setenv("ZTOWN_PROJECT", str(REPO_ROOT))
    tr._CATALOGUES.clear()
    for english in ed.glued_phrases(REPO_ROOT):
        chinese = tr.phrase(english, "zh")
        if re.search(r"[A-Za-z]{3,}", tr._strip_markup(english)):
            assert chinese != english, f"no Chinese for the glued phrase {english!r}"
    assert tr.phrase("fewer", "en") == "fewer"


def test_writing_the_sources_writes_only_below_build(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    for rel in ["_config.yml", "_toc.yml", "README.md", "book", "notebooks", ed.LOCALES_DIR, "requirements.lock"]:
        src = REPO_ROOT / rel
        if src.is_dir():
            shutil.copytree(src, book / rel, ignore=shutil.ignore_patterns("generated", "montecarlo", "figure_data"))
        else:
            shutil.copy(src, book / rel)
    before = {p: p.stat().st_mtime_ns for p in book.rglob("*")}
    prepared = ed.write_sources(book, ZH)
    after = {p: p.stat().st_mtime_ns for p in book.rglob("*") if "_build" not in p.relative_to(book).parts}
    assert after == before
    assert prepared.folder == book / "_build" / "zh" / "src"
    for docname in chapters():
        nb_en = nbformat.read(book / f"{docname}.ipynb", as_version=4)
        nb_zh = nbformat.read(prepared.folder / f"{docname}.ipynb", as_version=4)
        code = [[c.source for c in nb.cells if c.cell_type == "code"] for nb in (nb_en, nb_zh)]
        assert code[0] == code[1], f"{docname}: the Chinese edition runs the same code"
    config = (prepared.folder / "_config.yml").read_text(encoding="utf-8")
    assert "language: zh_CN" in config and "html_search_language: zh" in config
    # the last replication report is the edition's too (linked), and only while it exists
    report = book / ed.REPORT_DIR
    assert not (prepared.folder / ed.REPORT_DIR).exists()
    report.mkdir(parents=True)
    (report / "report.json").write_text("{}", encoding="utf-8")
    ed.write_sources(book, ZH)
    assert (prepared.folder / ed.REPORT_DIR / "report.json").read_text(encoding="utf-8") == "{}"
    shutil.rmtree(report)
    ed.write_sources(book, ZH)
    assert not (prepared.folder / ed.REPORT_DIR).is_symlink()


# --- the built editions ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def build(tmp_path_factory):
    result = subprocess.run([sys.executable, "-m", "ztown", "book", "--keep-going", "--source", str(REPO_ROOT)],
                            cwd=tmp_path_factory.mktemp("elsewhere"), text=True, capture_output=True, timeout=2400)
    with book_lock(REPO_ROOT, shared=True):
        yield result


def html_pages(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html")
                  if not {"_static", "_sources", "zh"} & set(p.relative_to(folder).parts[:1])
                  and "_static" not in p.relative_to(folder).parts)


def test_both_editions_build_without_warnings(build):
    output = build.stdout + build.stderr
    assert build.returncode == 0, output[-5000:]
    assert "WARNING:" not in output
    assert f"the zh edition is in {HTML_DIR / 'zh'}" in build.stdout
    assert '<html lang="zh-CN"' in (HTML_DIR / "zh" / "notebooks" / "01_status.html").read_text(encoding="utf-8")


def test_the_build_writes_nothing_into_the_catalogues(build):
    """Sphinx would compile .mo files into locales/ (its default locale_dirs); the build must not."""
    assert build.returncode == 0
    written = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "locales").rglob("*")
                     if p.is_file() and p.suffix != ".po")
    assert not written, written


SWITCH = re.compile(r'<div class="ztown-language-switch"[^>]*>\s*<a class="ztown-language-link" href="([^"]+)"')


def test_every_page_links_the_same_page_in_the_other_edition(build):
    english = html_pages(HTML_DIR)
    chinese = html_pages(HTML_DIR / "zh")
    assert len(english) > 20 and english == chinese, set(english) ^ set(chinese)
    for rel in english:
        page = HTML_DIR / rel
        if 'http-equiv="refresh"' in page.read_text(encoding="utf-8")[:2000].lower():
            continue  # the redirect stub index.html
        for here, there in ((page, HTML_DIR / "zh" / rel), (HTML_DIR / "zh" / rel, page)):
            match = SWITCH.search(here.read_text(encoding="utf-8"))
            assert match, f"{here}: no language switch"
            target = (here.parent / match.group(1)).resolve()
            assert target == there.resolve(), f"{here}: the switch leads to {target}, not {there}"


def _glue(folder: Path, docname: str) -> dict:
    path = folder / "_build" / "jupyter_execute" / f"{docname}.glue.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _markdown(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("docname", chapters())
def test_both_editions_glue_the_same_values_computed_in_the_chapter(build, docname):
    keys_en = tr.glue_keys(_markdown(REPO_ROOT / f"{docname}.ipynb"))
    keys_zh = tr.glue_keys(_markdown(ZH_SOURCE / f"{docname}.ipynb"))
    assert keys_en, f"{docname} glues nothing"
    assert keys_zh == keys_en, {"only English": keys_en - keys_zh, "only Chinese": keys_zh - keys_en}
    glued_en, glued_zh = _glue(REPO_ROOT, docname), _glue(ZH_SOURCE, docname)
    assert not keys_en - set(glued_en), f"shown but not computed in {docname}: {keys_en - set(glued_en)}"
    assert set(glued_zh) == set(glued_en)
    for key, output in glued_en.items():
        plain_en = output["data"].get("text/plain")  # myst-nb's glue.json: data without the mime prefix
        plain_zh = glued_zh[key]["data"].get("text/plain")
        if "text/markdown" not in output["data"] and "image/png" not in output["data"]:
            assert plain_zh == plain_en, f"{docname}: {key} is {plain_en} in English and {plain_zh} in Chinese"


@pytest.mark.parametrize("docname", chapters())
def test_chinese_chapter_opens_with_the_synthetic_data_notice(build, docname):
    page = (HTML_DIR / "zh" / f"{docname}.html").read_text(encoding="utf-8")
    notice = re.search(r'<div class="[^"]*\bsynthetic-data\b[^"]*">\s*<p class="admonition-title">([^<]*)<', page)
    assert notice, f"{docname}: no synthetic-data notice"
    assert "合成数据" in notice.group(1)
    first_output = page.find('class="cell_output')
    assert first_output == -1 or notice.start() < first_output


@pytest.mark.parametrize("docname", chapters() + [p.docname for p in hand_written_pages() if not p.is_notebook])
def test_no_english_paragraph_in_the_chinese_edition(build, docname):
    page = (HTML_DIR / "zh" / f"{docname}.html").read_text(encoding="utf-8")
    prose = tr.html_prose(page, tables=False)
    assert prose and sum(bool(CJK.search(p)) for p in prose) >= 0.8 * len(prose), prose[:5]
    paragraphs = tr.html_prose(page)
    english = [(p[:100], runs) for p in paragraphs if (runs := tr.latin_prose(p))]
    assert not english, "\n".join(map(str, english))
    glued = _glue(ZH_SOURCE, docname)
    for key, output in glued.items():
        text = output["data"].get("text/markdown")
        if text:
            assert not tr.latin_prose(text) and not re.fullmatch(r"[A-Za-z ,.]+", text.strip()), (key, text)


@pytest.mark.parametrize("docname", chapters() + ["book/data_methods", "book/status"])
def test_the_chinese_chapters_tables_are_in_chinese(build, docname):
    """Captions, headers, notes and text cells of the tables that code cells print (cell outputs, which
    the prose check skips) come from the `_tables` catalogue: no English run of four or more words is
    left (a name without spaces, such as the data package's, is not prose)."""
    page = (HTML_DIR / "zh" / f"{docname}.html").read_text(encoding="utf-8")
    tables = re.findall(r"<table\b.*?</table>", page, re.S)
    assert tables, f"{docname}: no table"
    texts = []
    for table in tables:
        texts += _cells(re.findall(r"<caption>(.*?)</caption>", table, re.S))
        texts += _cells(re.findall(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", table, re.S))
    texts += _cells(re.findall(r'<div class="ztown-table-notes[^"]*">(.*?)</div>', page, re.S))
    english = sorted({t for t in texts if " " in t and tr.latin_prose(t)})
    assert not english, f"{docname}: English left in tables:\n" + "\n".join(english)


def test_chinese_search_index_knows_the_glossary_terms(build):
    raw = (HTML_DIR / "zh" / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(raw[raw.index("(") + 1: raw.rindex(")")])
    terms = index["terms"]
    for term in ("三会一课", "服务型党组织", "合成数据", "党支部"):
        assert term in terms, f"{term} is not a search term of the Chinese edition"
    chapter = index["docnames"].index("notebooks/01_status")
    hits = terms["三会一课"]
    assert chapter in (hits if isinstance(hits, list) else [hits])


def _cells(cells: list[str]) -> list[str]:
    import html as html_lib

    return [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def _glossary_page(folder: Path) -> str:
    return (folder / "book" / "generated" / "glossary.html").read_text(encoding="utf-8")


def test_chinese_glossary_defines_every_term_in_chinese(build):
    """The definitions of the Chinese glossary are Chinese (pinyin, construct codes and items aside); its
    terms, the same bilingual terms as in English, keep their anchors, so {term} links work in both."""
    from ztown.data.constructs import CONSTRUCTS, GLOSSARY

    english, chinese = _glossary_page(HTML_DIR), _glossary_page(HTML_DIR / "zh")
    definitions = {code: _cells(re.findall(r"<dd>(.*?)</dd>", page, re.S))
                   for code, page in (("en", english), ("zh", chinese))}
    assert len(definitions["zh"]) == len(definitions["en"]) == len(GLOSSARY) + len(CONSTRUCTS)
    left = [(d[:80], runs) for d in definitions["zh"] if (runs := tr.latin_prose(d)) or not CJK.search(d)]
    assert not left, "English left in the Chinese glossary:\n" + "\n".join(map(str, left))
    shown = " ".join(definitions["en"]).translate(str.maketrans("“”‘’", "\"\"''"))  # (Sphinx's smart quotes)
    assert [definition for *_terms, definition in GLOSSARY if definition not in shown] == []
    anchors = {code: re.findall(r'<dt id="([^"]+)"', page) for code, page in (("en", english), ("zh", chinese))}
    assert anchors["zh"] == anchors["en"] and len(anchors["en"]) == 2 * len(definitions["en"])


def _execution_table(page: str) -> tuple[list[str], list[str]]:
    """The header cells and the Method column of the page's execution table."""
    table = re.search(r'<table class="[^"]*\bztown-exec-table\b.*?</table>', page, re.S)
    assert table, "no execution table"
    header = _cells(re.findall(r"<th[^>]*>(.*?)</th>", table.group(0), re.S))
    body = table.group(0).split("<tbody>", 1)[1]
    rows = [_cells(re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)) for row in re.findall(r"<tr.*?</tr>", body, re.S)]
    return header, [row[2] for row in rows]


def test_chinese_status_page_execution_table_is_in_chinese(build):
    header_en, methods_en = _execution_table((HTML_DIR / "book" / "status.html").read_text(encoding="utf-8"))
    header_zh, methods_zh = _execution_table((HTML_DIR / "zh" / "book" / "status.html").read_text(encoding="utf-8"))
    assert header_en == ["Document", "Modified", "Method", "Run Time (s)", "Status"]
    assert header_zh == ["文档", "修改时间", "方法", "运行时间（秒）", "状态"]
    assert methods_en and len(methods_zh) == len(methods_en)
    assert all(CJK.search(method) and f"（{english}）" in method for method, english in zip(methods_zh, methods_en))
