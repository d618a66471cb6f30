"""The XLSForm (`ztown instrument`): pyxform converts it with no error and no warning, and it says what the schema says.

pyxform reports conversion warnings as strings appended to `ConvertResult.warnings` (the list passed
as `warnings=`), and a few through Python's `warnings` module; both are checked. Errors raise
`PyXFormError`.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from ztown.data import instrument
from ztown.data.constructs import CONSTRUCTS, ITEMS, MISSING_CODES


@pytest.fixture(scope="module")
def form(tmp_path_factory, committed_package) -> Path:
    return instrument.write_xlsform(tmp_path_factory.mktemp("form") / "survey.xlsx", committed_package)


def _convert(source):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = convert(source, warnings=[])
    return result, [str(w.message) for w in caught]


def _sheet(path: Path, name: str) -> list[dict]:
    rows = list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_pyxform_converts_it_with_no_error_and_no_warning(form):
    result, python_warnings = _convert(str(form))
    assert result.warnings == []
    assert python_warnings == []
    assert "<h:title>" in result.xform and 'lang="中文 (zh)"' in result.xform


def test_the_warning_check_can_fail(form):
    """The same form with one choice's labels removed: pyxform warns, so the test above can fail."""
    wb = load_workbook(form)
    ws = wb["choices"]
    for col in range(3, ws.max_column + 1):
        ws.cell(2, col).value = None
    broken = form.parent / "broken.xlsx"
    wb.save(broken)
    result, python_warnings = _convert(str(broken))
    assert result.warnings or python_warnings


def test_sheets_and_languages(form):
    wb = load_workbook(form, read_only=True)
    assert {"survey", "choices", "settings"} <= set(wb.sheetnames)
    header = next(wb["survey"].iter_rows(values_only=True))
    assert "label::English (en)" in header and "label::中文 (zh)" in header
    settings = _sheet(form, "settings")[0]
    assert settings["default_language"] == "English (en)" and settings["form_id"] == instrument.FORM_ID


def test_every_item_and_respondent_field_is_asked_with_its_wording(form):
    survey = {r["name"]: r for r in _sheet(form, "survey") if r["name"]}
    asked = [f["name"] for f in instrument.respondent_fields() if f["name"] != "respondent_id"]
    assert set(asked) <= set(survey)
    for item in ITEMS:
        row = survey[item.id]
        assert row["type"] == "select_one likert"
        assert row["label::English (en)"] == item.wording_en and row["label::中文 (zh)"] == item.wording_zh
        assert row["required"] == "yes"
    for c in CONSTRUCTS:  # each construct is a group, labelled in both languages
        assert survey[c.id]["type"] == "begin_group"
        assert (survey[c.id]["label::English (en)"], survey[c.id]["label::中文 (zh)"]) == (c.label_en, c.label_zh)
    assert "respondent_id" not in survey  # assigned by the import
    assert survey["start"]["type"] == "start" and survey["end"]["type"] == "end"


def test_required_and_constraints_come_from_the_schema(form):
    survey = {r["name"]: r for r in _sheet(form, "survey") if r["name"]}
    for fld in instrument.respondent_fields():
        if fld["name"] == "respondent_id":
            continue
        row, c = survey[fld["name"]], fld.get("constraints", {})
        assert (row["required"] == "yes") == (bool(c.get("required")) or bool(fld.get("missingValues")))
        if "minimum" in c and "maximum" in c and "enum" not in c:
            assert row["constraint"] == f". >= {c['minimum']} and . <= {c['maximum']}"
            assert str(c["minimum"]) in row["constraint_message::中文 (zh)"]
        else:
            assert not row["constraint"]
    assert survey["age"]["type"] == "integer" and survey["village_id"]["type"] == "select_one village"


def test_choices_are_the_schema_codes_with_8_and_9(form, committed_package):
    choices = _sheet(form, "choices")
    by_list: dict[str, list[dict]] = {}
    for r in choices:
        by_list.setdefault(r["list_name"], []).append(r)
    likert = [r["name"] for r in by_list["likert"]]
    assert likert == ["1", "2", "3", "4", "5", *MISSING_CODES]
    assert [r["label::English (en)"] for r in by_list["likert"]][-2:] == list(MISSING_CODES.values())
    assert all(r["label::中文 (zh)"] for rows in by_list.values() for r in rows)
    fields = {f["name"]: f for f in instrument.respondent_fields()}
    for name in ("role", "sex", "education"):
        assert [r["name"] for r in by_list[name]] == fields[name]["constraints"]["enum"]
    import csv
    with open(committed_package / "data" / "villages.csv", encoding="utf-8") as fh:
        villages = [r["village_id"] for r in csv.DictReader(fh)]
    assert [r["name"] for r in by_list["village"]] == villages


def test_the_wording_covers_the_schema():
    assert instrument.instrument_problems() == []
    assert set(instrument.CHOICE_ZH["missing"]) == set(MISSING_CODES)


def test_a_new_code_without_chinese_label_is_caught(monkeypatch):
    monkeypatch.setitem(instrument.CHOICE_ZH, "sex", {"female": "女"})
    assert instrument.instrument_problems() == ["no Chinese label for code male of respondents.sex"]
    with pytest.raises(ValueError, match="male"):
        instrument.xlsform_sheets()


def test_command_line(tmp_path, committed_package):
    out = tmp_path / "form.xlsx"
    run = subprocess.run([sys.executable, "-m", "ztown", "instrument", "--format", "xlsform", str(out),
                          "--from", str(committed_package)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert _sheet(out, "survey")
    bad = subprocess.run([sys.executable, "-m", "ztown", "instrument", str(tmp_path / "form.txt")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "xlsx" in bad.stderr and "Traceback" not in bad.stderr
    missing = subprocess.run([sys.executable, "-m", "ztown", "instrument", str(out), "--from",
                              str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_the_questionnaire_page_shows_the_same_instrument(tmp_path, committed_package):
    """The book page prints every question, answer and village of the form, in both languages."""
    from ztown.publication.questionnaire import GENERATED_NOTE, PAGE_NAME
    from ztown.publication.sphinxext import write_generated_pages

    target = write_generated_pages(committed_package / "datapackage.json", tmp_path)
    text = (target / PAGE_NAME).read_text(encoding="utf-8")
    assert text.startswith("(questionnaire)=\n# The questionnaire") and GENERATED_NOTE in text
    for q in instrument.questions():
        assert f"`{q.name}`" in text
        for lang in instrument.LANGUAGES:
            assert q.label[lang].rstrip(".。？?") in text.replace("\\", "")
    for rows in instrument.choice_lists([]).values():
        for code, en, zh in rows:
            assert f"`{code}`" in text and en in text.replace("\\", "") and zh in text
    assert "{ref}`codebook-villages`" in text  # the village list is the package's, described not listed
    assert (target / "codebook.md").exists()  # written beside the codebook pages, not instead of them


def test_the_chinese_edition_of_the_page_is_generated_from_the_same_source():
    """Every message of the page has a Chinese translation from the instrument that the edition's checks accept,
    and translating the English page with them gives the Chinese rendering."""
    from ztown.publication.questionnaire import catalogue_translations, render_page
    from ztown.publication.translation import (Catalogue, glossary_terms, latin_prose, role_mismatch, segment,
                                               templated, term_mismatches, translate_sources)

    zh = catalogue_translations()
    terms = glossary_terms()
    assert zh and not [m for m, s in zh.items() if latin_prose(s) or role_mismatch(m, s) or term_mismatches(m, s, terms)]
    result = translate_sources([templated(segment(render_page("en")))], Catalogue(Path("x.po"), zh))
    assert not result.untranslated and not result.refused
    assert result.sources[0] == render_page("zh")
