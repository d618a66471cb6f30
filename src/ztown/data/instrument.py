"""The survey instrument, written from the study's single sources: an XLSForm for KoboToolbox and ODK.

Every question comes from where the data are defined: the Likert items and their constructs from
`ztown.data.constructs` (the `items` and `constructs` resources), the respondent fields, their
codes, ranges and missing-value codes from `ztown.data.schema`, and the villages from the
`villages` resource of a data package. Only what neither holds is written here: the question
wording of the demographic fields and the Chinese labels of the answer codes (`QUESTIONS`,
`CHOICE_ZH`); `instrument_problems()` checks they cover the schema, so a new field or code cannot
silently miss a question or a label.

Derivation rules (the same for the form, the import and the book page):

- a coded field is a `select_one` of a list named after the field (the Likert items share `likert`;
  `village_id` is the list `village`); the choices' names are the schema's codes, so exports hold
  the codes the data package holds;
- an item with labelled missing-value codes (8 = don't know, 9 = refused) offers them as choices
  after the scale, and is `required`: the package has no blank for an unanswered item;
- a field with `required` in the schema is `required`; a `minimum`/`maximum` becomes the
  `constraint` `. >= min and . <= max`, with a message in both languages;
- `respondent_id` is not asked: `ztown import` assigns it (see `ztown.data.fieldimport`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ztown.data import schema
from ztown.data.constructs import CONSTRUCTS, ITEMS, LIKERT_LABELS_ZH, SATISFACTION_LABELS_ZH
from ztown.data.errors import DataPackageError, Problem

EN, ZH = "English (en)", "中文 (zh)"
LANGUAGES = (EN, ZH)
FORM_ID = "ztown_respondents"
FORM_TITLE = {EN: "Z town survey of villagers, Party members and cadres",
              ZH: "Z镇村民与党员干部问卷调查"}
META_FIELDS = ("start", "end")  # XLSForm metadata questions the exports carry as `start` and `end`
NOT_ASKED = ("respondent_id",)  # assigned on import

# Question wording of the respondent fields that are not Likert items (those come from constructs).
QUESTIONS = {
    "village_id": ("Which administrative village do you live in?", "您住在哪个行政村？"),
    "role": ("What is your role in the village?", "您在村里的身份是？"),
    "sex": ("Sex of the respondent", "受访者性别"),
    "age": ("How old are you (completed years)?", "您的年龄（周岁）？"),
    "education": ("What is the highest level of education you have completed?", "您的最高学历是？"),
    "satisfaction": ("Overall, how satisfied are you with the Party organization's services?",
                     "总的来说，您对党组织的服务满意吗？"),
    "participation": ("How many service activities have you attended in the past twelve months?",
                      "过去十二个月里，您参加过几次服务活动？"),
}
ITEM_HINT = ("Do you agree or disagree with this statement?", "您是否同意这一说法？")

# Chinese labels of the schema's answer codes (English labels are the schema's own), by choice list.
CHOICE_ZH = {
    "likert": {str(k): v for k, v in LIKERT_LABELS_ZH.items()},
    "satisfaction": {str(k): v for k, v in SATISFACTION_LABELS_ZH.items()},
    "missing": {"8": "不知道", "9": "拒绝回答"},
    "role": {"villager": "村民（非党员）", "member": "普通党员", "cadre": "村干部（党支部委员会或村委会成员）"},
    "sex": {"female": "女", "male": "男"},
    "education": {"primary_or_less": "小学及以下", "junior_secondary": "初中",
                  "senior_secondary": "高中、中专或职高", "college_or_above": "大专及以上"},
}

# Groups of the form: (name, English label, Chinese label, fields). Exports prefix the fields with
# the group name (`respondent/age` in KoboToolbox, `respondent-age` in ODK Central).
RESPONDENT_GROUP = ("respondent", "About you", "基本情况")
OVERALL_GROUP = ("overall", "Overall", "总体评价")


@dataclass(frozen=True)
class Question:
    """One question of the form, derived from one field of the `respondents` resource."""

    name: str  # the field name (and the export column without its group prefix)
    group: str
    type: str  # XLSForm type: "integer" or "select_one <list>"
    label: dict  # language -> label
    hint: dict  # language -> hint ("" for none)
    required: bool
    constraint: str
    constraint_message: dict
    choice_list: str | None  # list name, for select_one
    field: dict  # the schema field it comes from


def respondent_fields() -> list[dict]:
    """The `respondents` resource's fields in the study's schema."""
    return next(r for r in schema.resources() if r["name"] == "respondents")["schema"]["fields"]


def _list_name(name: str) -> str:
    if name == "village_id":
        return "village"
    if name in {i.id for i in ITEMS}:
        return "likert"
    return name


def _constraint(fld: dict) -> tuple[str, dict]:
    c = fld.get("constraints", {})
    lo, hi = c.get("minimum"), c.get("maximum")
    if "enum" in c or (lo is None and hi is None):
        return "", {}
    parts, en, zh = [], [], []
    if lo is not None:
        parts.append(f". >= {lo}")
    if hi is not None:
        parts.append(f". <= {hi}")
    if lo is not None and hi is not None:
        msg = {EN: f"A whole number from {lo} to {hi}.", ZH: f"应为{lo}到{hi}之间的整数。"}
    elif lo is not None:
        msg = {EN: f"A whole number of at least {lo}.", ZH: f"应为不小于{lo}的整数。"}
    else:
        msg = {EN: f"A whole number of at most {hi}.", ZH: f"应为不大于{hi}的整数。"}
    return " and ".join(parts), msg


def questions() -> list[Question]:
    """Every asked field of `respondents`, in the resource's order, with its group."""
    item_by_id = {i.id: i for i in ITEMS}
    out = []
    for fld in respondent_fields():
        name = fld["name"]
        if name in NOT_ASKED:
            continue
        if name in item_by_id:
            item = item_by_id[name]
            label, hint, group = {EN: item.wording_en, ZH: item.wording_zh}, dict(zip(LANGUAGES, ITEM_HINT)), item.construct
        else:
            en, zh = QUESTIONS[name]
            label, hint = {EN: en, ZH: zh}, {EN: "", ZH: ""}
            group = OVERALL_GROUP[0] if name in ("satisfaction", "participation") else RESPONDENT_GROUP[0]
        coded = "categories" in fld or name == "village_id"
        list_name = _list_name(name) if coded else None
        qtype = f"select_one {list_name}" if coded else "integer"
        if fld["type"] not in ("integer", "string"):
            raise ValueError(f"respondents.{name}: no XLSForm question type for a field of type {fld['type']}")
        if not coded and fld["type"] != "integer":
            raise ValueError(f"respondents.{name}: a text field without codes cannot be asked as a choice")
        required = bool(fld.get("constraints", {}).get("required")) or bool(schema.labelled_missing_values(fld))
        constraint, message = _constraint(fld)
        out.append(Question(name, group, qtype, label, hint, required, constraint, message, list_name, fld))
    return out


def groups() -> list[tuple[str, dict, list[Question]]]:
    """The form's groups in order: (name, labels by language, questions)."""
    qs = questions()
    labels = {RESPONDENT_GROUP[0]: RESPONDENT_GROUP[1:], OVERALL_GROUP[0]: OVERALL_GROUP[1:],
              **{c.id: (c.label_en, c.label_zh) for c in CONSTRUCTS}}
    order: list[str] = []
    for q in qs:
        if q.group not in order:
            order.append(q.group)
    return [(g, dict(zip(LANGUAGES, labels[g])), [q for q in qs if q.group == g]) for g in order]


def read_villages(package=None) -> list[tuple[str, str, str]]:
    """(village_id, English label, Chinese label) of every village of the package, in its order."""
    from ztown.data.validate import read_package

    files = read_package(package)
    if files.descriptor is None or "villages" not in files.data or "regions" not in files.data:
        raise DataPackageError(files.source or str(files.descriptor_path), files.problems or [
            Problem(None, None, None, "missing-resource", "readable villages and regions resources",
                    "none", str(files.descriptor_path))])
    towns = {r["town_id"]: r for r in csv.DictReader(io.StringIO(files.data["regions"].decode("utf-8")))}
    out = []
    for row in csv.DictReader(io.StringIO(files.data["villages"].decode("utf-8"))):
        town = towns.get(row["town_id"], {})
        out.append((row["village_id"], f"{row['village_id']} ({town.get('name_en', row['town_id'])})",
                    f"{row['village_id']}（{town.get('name_zh', row['town_id'])}）"))
    return out


def choice_lists(villages: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    """List name -> [(name, English label, Chinese label)], from the schema's categories and missing codes."""
    lists: dict[str, list[tuple[str, str, str]]] = {}
    for q in questions():
        if q.choice_list is None or q.choice_list in lists:
            continue
        if q.choice_list == "village":
            lists["village"] = list(villages)
            continue
        zh = CHOICE_ZH[q.choice_list]
        rows = [(str(c["value"]), c["label"], zh[str(c["value"])]) for c in q.field["categories"]]
        rows += [(code, label, CHOICE_ZH["missing"][code]) for code, label in schema.labelled_missing_values(q.field)]
        lists[q.choice_list] = rows
    return lists


def instrument_problems() -> list[str]:
    """What the hand-written wording lacks for the schema: a question or a Chinese label (empty if none)."""
    out = []
    items = {i.id for i in ITEMS}
    for fld in respondent_fields():
        name = fld["name"]
        if name in NOT_ASKED or name in items:
            continue
        if name not in QUESTIONS:
            out.append(f"no question wording for respondents.{name}")
    for fld in respondent_fields():
        if "categories" not in fld:
            continue
        zh = CHOICE_ZH.get(_list_name(fld["name"]), {})
        out += [f"no Chinese label for code {c['value']} of respondents.{fld['name']}"
                for c in fld["categories"] if str(c["value"]) not in zh]
        out += [f"no Chinese label for missing code {code} of respondents.{fld['name']}"
                for code, _ in schema.labelled_missing_values(fld) if code not in CHOICE_ZH["missing"]]
    return out


def _label_cols(prefix: str) -> list[str]:
    return [f"{prefix}::{lang}" for lang in LANGUAGES]


SURVEY_COLUMNS = ["type", "name", *_label_cols("label"), *_label_cols("hint"), "required", "constraint",
                  *_label_cols("constraint_message")]
CHOICES_COLUMNS = ["list_name", "name", *_label_cols("label")]
SETTINGS_COLUMNS = ["form_title", "form_id", "version", "default_language"]


def xlsform_sheets(package=None) -> dict[str, list[list[str]]]:
    """The XLSForm's sheets as rows (header first): survey, choices, settings."""
    problems = instrument_problems()
    if problems:
        raise ValueError("the instrument does not cover the schema: " + "; ".join(problems))
    survey = [SURVEY_COLUMNS]
    blank = {lang: "" for lang in LANGUAGES}

    def row(type_, name, label=blank, hint=blank, required="", constraint="", message=blank):
        return [type_, name, *(label[lang] for lang in LANGUAGES), *(hint[lang] for lang in LANGUAGES),
                required, constraint, *(message.get(lang, "") for lang in LANGUAGES)]

    survey += [row(m, m) for m in META_FIELDS]
    for name, labels, qs in groups():
        survey.append(row("begin_group", name, labels))
        for q in qs:
            survey.append(row(q.type, q.name, q.label, q.hint, "yes" if q.required else "", q.constraint,
                              q.constraint_message or blank))
        survey.append(row("end_group", ""))
    choices = [CHOICES_COLUMNS]
    for list_name, rows in choice_lists(read_villages(package)).items():
        choices += [[list_name, name, en, zh] for name, en, zh in rows]
    settings = [SETTINGS_COLUMNS, [FORM_TITLE[EN], FORM_ID, schema.PACKAGE_VERSION, EN]]
    return {"survey": survey, "choices": choices, "settings": settings}


def write_xlsform(out: str | Path, package=None) -> Path:
    """Write the XLSForm to `out` (an .xlsx file), atomically; returns its path."""
    import os
    import tempfile

    from openpyxl import Workbook

    out = Path(out)
    sheets = xlsform_sheets(package)
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
