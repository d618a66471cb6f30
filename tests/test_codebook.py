"""The codebook pages: generated from the descriptor, complete, rewritten only when changed, and
clean under a Sphinx build with the book's MyST settings and -W -n."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from ztown.publication.codebook import GENERATED_NOTE, glossary_terms, label_for, md_escape, write_pages
from ztown.data.constructs import CONSTRUCTS, GLOSSARY, ITEMS

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout these tests belong to

# markup characters in a description must come out as plain text
NASTY = r"a | b * c _d_ `e` $x$ {{ sub }} <b> [link](x) \ ~y~ & #5 {ref}`z`"


@pytest.fixture(scope="module")
def descriptor(committed_package) -> dict:
    return json.loads((committed_package / "datapackage.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pages(committed_package, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    write_pages(committed_package / "datapackage.json", out)
    return out


def test_a_page_for_every_resource_and_the_index_glossary_and_citation(pages, descriptor):
    expected = {"codebook.md", "glossary.md", "cite.md"} | {f"codebook_{r['name']}.md"
                                                            for r in descriptor["resources"]}
    assert {p.name for p in pages.iterdir()} == expected
    for page in pages.iterdir():
        lines = page.read_text(encoding="utf-8").splitlines()
        assert re.fullmatch(r"\([a-z0-9_-]+\)=", lines[0]), page.name
        assert lines[1].startswith("# "), page.name
        assert GENERATED_NOTE in lines


def test_every_field_and_key_is_on_its_page(pages, descriptor):
    for res in descriptor["resources"]:
        text = (pages / f"codebook_{res['name']}.md").read_text(encoding="utf-8")
        assert text.startswith(f"({label_for(res['name'])})=\n")
        for f in res["schema"]["fields"]:
            assert f"* - `{f['name']}`" in text, (res["name"], f["name"])
            assert md_escape(f["description"]) in text
            if f.get("unit"):
                assert md_escape(f["unit"]) in text
            for c in f.get("categories", []):
                assert md_escape(c["label"]) in text
            for m in f.get("missingValues", []):
                if isinstance(m, dict):
                    assert f"`{m['value']}`" in text and md_escape(m["label"]) in text
        assert "Primary key: " + ", ".join(f"`{k}`" for k in res["schema"]["primaryKey"]) in text
        for fk in res["schema"].get("foreignKeys", []):
            assert f"{{ref}}`{fk['reference']['resource']} <{label_for(fk['reference']['resource'])}>`" in text


def test_items_national_figures_and_index_carry_the_data(pages, descriptor, committed_package):
    items = (pages / "codebook_items.md").read_text(encoding="utf-8")
    for item in ITEMS:
        assert f"`{item.id}`" in items
        assert md_escape(item.wording_en) in items and md_escape(item.wording_zh) in items
    national = (pages / "codebook_national_context.md").read_text(encoding="utf-8")
    res = next(r for r in descriptor["resources"] if r["name"] == "national_context")
    with (committed_package / res["path"]).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            assert f"`{row['read_at']}`" in national and md_escape(row["publication"]) in national
    index = (pages / "codebook.md").read_text(encoding="utf-8")
    assert md_escape(descriptor["title"]) in index and descriptor["version"] in index
    assert descriptor["licenses"][0]["name"] in index and md_escape(descriptor["description"]) in index
    cite = (pages / "cite.md").read_text(encoding="utf-8")
    assert f"version = {{{descriptor['version']}}}" in cite and "CITATION.cff" in cite and "```bibtex" in cite


def test_glossary_has_every_key_term_and_construct(pages):
    text = (pages / "glossary.md").read_text(encoding="utf-8")
    assert "```{glossary}" in text
    for zh, _pinyin, en, _definition in GLOSSARY:
        assert f"\n{zh}\n" in text and f"\n{md_escape(en.replace(chr(34), ''))}\n" in text
    for c in CONSTRUCTS:
        assert f"\n{md_escape(c.label_en)}\n{md_escape(c.label_zh)}\n" in text
    assert {c.label_en for c in CONSTRUCTS} <= glossary_terms()


def changed_copy(committed_package: Path, target: Path, resource: str, field: str, description: str) -> Path:
    shutil.copytree(committed_package, target)
    path = target / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    res = next(r for r in descriptor["resources"] if r["name"] == resource)
    next(f for f in res["schema"]["fields"] if f["name"] == field)["description"] = description
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_pages_follow_the_descriptor_and_are_rewritten_only_when_changed(committed_package, tmp_path):
    out = tmp_path / "generated"
    first = write_pages(committed_package / "datapackage.json", out)
    stamps = {p.name: p.stat().st_mtime_ns for p in first}
    texts = {p.name: p.read_text(encoding="utf-8") for p in first}
    for p in first:  # push the clock back, so that any rewrite would show
        os.utime(p, ns=(p.stat().st_atime_ns, stamps[p.name] - 10**9))
    stamps = {p.name: p.stat().st_mtime_ns for p in first}
    again = write_pages(committed_package / "datapackage.json", out)
    assert {p.name: p.stat().st_mtime_ns for p in again} == stamps

    copy = changed_copy(committed_package, tmp_path / "copy", "villages", "distance_km", "Walking time, " + NASTY)
    changed = write_pages(copy, out)
    rewritten = {p.name for p in changed if p.stat().st_mtime_ns != stamps[p.name]}
    assert rewritten == {"codebook_villages.md"}
    page = (out / "codebook_villages.md").read_text(encoding="utf-8")
    assert page != texts["codebook_villages.md"] and md_escape("Walking time, " + NASTY) in page


def test_stale_generated_pages_are_removed_and_others_kept(committed_package, tmp_path):
    out = tmp_path / "generated"
    out.mkdir()
    (out / "codebook_dropped.md").write_text(f"(x)=\n# x\n\n{GENERATED_NOTE}\n", encoding="utf-8")
    (out / "codebook_notes.md").write_text("(notes)=\n# Hand-written\n", encoding="utf-8")
    write_pages(committed_package / "datapackage.json", out)
    assert not (out / "codebook_dropped.md").exists() and (out / "codebook_notes.md").exists()


def test_md_escape_neutralises_markup():
    assert md_escape("a|b*c_d") == r"a\|b\*c\_d"
    assert md_escape("# heading") == r"\# heading"
    assert md_escape("1. first") == r"1\. first"
    assert md_escape("two\nlines") == "two lines"


def book_myst_extensions() -> list[str]:
    """The MyST extensions the book enables (from _config.yml), so the test parses as the book does."""
    config = REPO_ROOT / "_config.yml"
    if config.is_file():
        parse = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("parse") or {}
        if parse.get("myst_enable_extensions"):
            return list(parse["myst_enable_extensions"])
    return ["amsmath", "colon_fence", "deflist", "dollarmath", "substitution"]


def lean_sphinx_build(src: Path, out: Path, toctree: list[str]):
    """Build the MyST pages in `src` with the book's MyST extensions and numfig, minus theme and indices,
    nitpicky; returns (the Sphinx app, its warnings). HTML goes to `out`/html."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    (src / "conf.py").write_text(
        f"extensions = ['myst_parser']\nmyst_enable_extensions = {book_myst_extensions()!r}\n"
        "master_doc = 'index'\n"
        # a lean HTML build: the pages are written as the book writes them, minus theme and indices
        "html_theme = 'basic'\nhtml_use_index = False\nhtml_domain_indices = False\nhtml_copy_source = False\n"
        "numfig = True  # as the book (_config.yml)\n", encoding="utf-8")
    entries = "\n".join(toctree)
    (src / "index.md").write_text(f"# Test book\n\n```{{toctree}}\n:glob:\n\n{entries}\n```\n", encoding="utf-8")
    warnings = io.StringIO()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(out / "html"), str(out / "doctrees"), "html",
                     status=None, warning=warnings, freshenv=True, keep_going=True)
        app.config.nitpicky = True
        app.build()
    return app, warnings.getvalue()


def test_the_pages_build_without_a_single_sphinx_warning(committed_package, tmp_path):
    src = tmp_path / "src"
    copy = changed_copy(committed_package, tmp_path / "copy", "respondents", "age", NASTY)
    write_pages(copy, src / "generated")
    app, warnings = lean_sphinx_build(src, tmp_path, ["generated/codebook", "generated/codebook_*",
                                                      "generated/glossary", "generated/cite"])
    assert warnings == "", warnings
    assert app.statuscode == 0
    built = (tmp_path / "html" / "generated" / "codebook_respondents.html").read_text(encoding="utf-8")
    assert html.escape(NASTY, quote=False) in built  # the markup came out as text
    items = (tmp_path / "html" / "generated" / "codebook_items.html").read_text(encoding="utf-8")
    assert 'href="glossary.html#term-' in items  # constructs link to their glossary terms


# --- every numbered table of a generated page is referenced from its prose ({numref}) -----------

NUMBERED_TABLE = re.compile(r'<table\b[^>]*\bid="(?P<id>[^"]+)"[^>]*>\s*<caption>\s*'
                            r'<span class="caption-number">(?P<number>[^<]*?)\s*</span>')
NUMREF_LINK = re.compile(r'<a class="reference internal" href="#(?P<target>[^"]+)">'
                         r'<span class="std std-numref">(?P<text>[^<]*)</span></a>')


def unreferenced_tables(page_html: str) -> list[str]:
    """The numbered tables of a built page that no {numref} link on the same page points at, by their
    label (a link counts only if it shows the table's own number, i.e. the reference resolved to it)."""
    links = {(m["target"], " ".join(m["text"].split())) for m in NUMREF_LINK.finditer(page_html)}
    return [m["id"] for m in NUMBERED_TABLE.finditer(page_html)
            if (m["id"], " ".join(m["number"].split())) not in links]


def package_with_more_codes(committed_package: Path, target: Path) -> Path:
    """A copy of the package with an extra coded field in `villages` and an extra resource with two coded
    fields that share one code list (so its page has fields and codes tables of its own)."""
    shutil.copytree(committed_package, target)
    path = target / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    villages = next(r for r in descriptor["resources"] if r["name"] == "villages")
    water = [{"value": "piped", "label": "Piped water"}, {"value": "well", "label": "Well"}]
    villages["schema"]["fields"].append({"name": "water_supply", "type": "string", "description": "Main water source.",
                                         "categories": water, "constraints": {"enum": ["piped", "well"]}})
    with (target / villages["path"]).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with (target / villages["path"]).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], "water_supply"])
        writer.writeheader()
        writer.writerows({**row, "water_supply": "piped"} for row in rows)
    tenure = [{"value": "own", "label": "Owned"}, {"value": "rent", "label": "Rented"}]
    (target / "data" / "household_survey.csv").write_text("household_id,tenure_2020,tenure_2024\n1,own,rent\n",
                                                          encoding="utf-8")
    descriptor["resources"].append({
        "name": "household_survey", "title": "Household tenure", "path": "data/household_survey.csv",
        "format": "csv", "encoding": "utf-8", "description": "Tenure of households.",
        "schema": {"primaryKey": ["household_id"], "fields": [
            {"name": "household_id", "type": "integer", "description": "Household.", "constraints": {"required": True}},
            {"name": "tenure_2020", "type": "string", "description": "Tenure then.", "categories": tenure},
            {"name": "tenure_2024", "type": "string", "description": "Tenure now.", "categories": tenure}]}})
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _built_generated_pages(descriptor_path: Path, tmp_path: Path) -> dict[str, str]:
    """The HTML of the codebook and questionnaire pages, from a lean build without warnings."""
    from ztown.publication.questionnaire import write_page as write_questionnaire

    src = tmp_path / "src"
    write_pages(descriptor_path, src / "generated")
    write_questionnaire(src / "generated")
    app, warnings = lean_sphinx_build(src, tmp_path, ["generated/*"])
    assert warnings == "" and app.statuscode == 0, warnings
    return {p.stem: p.read_text(encoding="utf-8") for p in (tmp_path / "html" / "generated").glob("*.html")
            if p.stem == "codebook" or p.stem.startswith("codebook_") or p.stem == "questionnaire"}


@pytest.mark.parametrize("package", ["committed", "more codes"])
def test_every_numbered_table_of_a_generated_page_is_referenced_from_its_prose(package, committed_package,
                                                                                 tmp_path):
    descriptor_path = (committed_package / "datapackage.json" if package == "committed" else
                       package_with_more_codes(committed_package, tmp_path / "package"))
    built = _built_generated_pages(descriptor_path, tmp_path / "build")
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    assert set(built) == {"codebook", "questionnaire"} | {f"codebook_{r['name']}" for r in descriptor["resources"]}
    for name, page in built.items():
        tables = [m["id"] for m in NUMBERED_TABLE.finditer(page)]
        assert tables, f"{name}: no numbered table found (has the HTML changed?)"
        assert unreferenced_tables(page) == [], name
    if package == "more codes":
        for page, label in (("codebook_villages", "tbl-codebook-villages-codes-water-supply"),
                            ("codebook_household_survey", "tbl-codebook-household-survey-fields"),
                            ("codebook_household_survey", "tbl-codebook-household-survey-codes-tenure-2020")):
            assert f'id="{label}"' in built[page] and f'href="#{label}"' in built[page], label
    # the check fails on a page whose reference is gone, or points at another table
    page = built["codebook_respondents"]
    first = [m["id"] for m in NUMBERED_TABLE.finditer(page)]
    unlinked = NUMREF_LINK.sub(lambda m: "" if m["target"] == first[0] else m.group(0), page)
    assert unreferenced_tables(unlinked) == [first[0]]
    swapped = page.replace(f'href="#{first[1]}"', f'href="#{first[0]}"')
    assert first[1] in unreferenced_tables(swapped)


def _chinese_page(path: Path, catalogue) -> tuple[str, list[str]]:
    """A generated page translated with `catalogue` as the zh build translates it, and the messages that
    refer to a table but stayed English (untranslated, or refused for a changed reference)."""
    from ztown.publication.translation import Page, translate_sources

    result = translate_sources(Page(f"book/generated/{path.stem}", path, template=True).pieces(), catalogue)
    english = [m for m in result.untranslated + [m for m, _why in result.refused] if "{numref}" in m]
    return result.sources[0], english


def test_the_chinese_codebook_and_questionnaire_refer_to_every_table_too(committed_package, tmp_path):
    """The catalogues translate every sentence that refers to a table, and keep its reference."""
    from ztown.publication import edition
    from ztown.publication.questionnaire import write_page as write_questionnaire
    from ztown.publication.translation import Catalogue

    zh = edition.EDITIONS["zh"]
    if not edition.catalogue_dir(REPO_ROOT, zh).is_dir():
        pytest.skip("no Chinese catalogues in this checkout")
    generated = tmp_path / "generated"
    write_pages(committed_package / "datapackage.json", generated)
    write_questionnaire(generated)
    pages = sorted(p for p in generated.glob("*.md") if p.stem.startswith("codebook") or p.stem == "questionnaire")
    for path in pages:
        text, english = _chinese_page(path, edition.catalogue(REPO_ROOT, zh, f"book/generated/{path.stem}"))
        assert english == [], (path.stem, english)
        labels = re.findall(r"^:name: (\S+)$", text, flags=re.M)
        assert labels and set(labels) <= set(re.findall(r"\{numref\}`([^`]+)`", text)), path.stem
        leads = [line for line in text.splitlines() if line.startswith("{numref}")]
        assert leads and all(re.search(r"[\u4e00-\u9fff]", line) for line in leads), path.stem
    # without the translations, the same check finds the English sentences
    assert _chinese_page(pages[0], Catalogue(Path("empty.po")))[1]
