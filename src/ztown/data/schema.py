"""The data package's descriptor: every resource, field, unit, constraint and key.

The generator writes `datapackage.json` from `build_descriptor()`, and the loader checks any
package it is given against the same description (`REQUIRED_FIELDS`), so the study's schema is
defined once. Coded fields carry labelled `categories` and, because frictionless 5.21 does not
enforce categories, an `enum` constraint with the same values.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ztown import __version__
from ztown.data.constructs import (
    CONSTRUCTS, ITEMS, LIKERT_LABELS, MISSING_CODES, SATISFACTION_LABELS,
)

PACKAGE_VERSION = __version__
# When this version of the package was made: a fixed date, not the clock, so that regenerating the
# package gives identical bytes (and SOURCE_DATE_EPOCH, which differs between build systems, cannot
# change the committed descriptor). Move it with PACKAGE_VERSION.
PACKAGE_CREATED = "2026-11-28T00:00:00Z"
HOMEPAGE = "https://github.com/ztown-study/ztown"  # where the project is published (see README)
DEFAULT_SEED = 20231101  # the seed of the committed data package
FIRST_YEAR, LAST_YEAR = 2014, 2023
SURVEY_YEAR = 2023

TOWN_IDS = ("Z", "A", "B", "C", "D")
ROLES = {"case": "case town (Z town) / 个案镇", "comparison": "comparison town (fictional) / 对照镇"}
REFORMS = {
    "none": "no reform",
    "local_mediation": "disputes settled in the village by a Party-led mediation committee",
    "branch_cooperative": "the Party branch leads a village cooperative",
    "collective_economy": "the Party branch leads the village collective economy",
    "supervision_committee": "a village supervision committee oversees service work and finances",
}
EDUCATION = {
    "primary_or_less": "primary school or less",
    "junior_secondary": "junior secondary school",
    "senior_secondary": "senior secondary or vocational school",
    "college_or_above": "college (大专) or above",
}
RESPONDENT_ROLES = {
    "villager": "villager who is not a Party member",
    "member": "ordinary Party member",
    "cadre": "village cadre (branch committee or village committee member)",
}
SEX = {"female": "female", "male": "male"}
DIMENSIONS = {"problem": "one of the five problems of service", "cause": "one of the five causes"}
BASIS = {"stated": "stated by the source", "computed": "computed here from two figures the source states"}
QUALIFIERS = {"exact": "the figure as stated", "over": "stated as 'over' this value (a lower bound)",
              "under": "stated as 'under' this value (an upper bound)",
              "approximately": "stated as a round approximation"}

SYNTHETIC_NOTE = (
    "SYNTHETIC DATA. Z town and the four comparison towns (Town A to Town D) are fictional, and every "
    "value in the resources regions, villages, village_years and respondents was produced by the seeded "
    "generator ztown.data.synth (its true parameters are in the resource parameters). No survey of any real "
    "place is behind them; they must not be read as facts about a real town. Only the resource "
    "national_context holds real, published figures, each with its source."
)


def _field(name: str, type_: str, description: str, *, unit: str | None = None,
           required: bool = True, minimum: Any = None, maximum: Any = None,
           codes: dict | None = None, ordered: bool = False, pattern: str | None = None,
           unique: bool = False, missing: dict | None = None, **extra: Any) -> dict:
    """One Table Schema field with its constraints (codes become categories plus enum)."""
    field: dict[str, Any] = {"name": name, "type": type_, "description": description}
    if unit:
        field["unit"] = unit
    constraints: dict[str, Any] = {}
    if required:
        constraints["required"] = True
    if unique:
        constraints["unique"] = True
    if minimum is not None:
        constraints["minimum"] = minimum
    if maximum is not None:
        constraints["maximum"] = maximum
    if pattern:
        constraints["pattern"] = pattern
    if codes:
        field["categories"] = [{"value": v, "label": lab} for v, lab in codes.items()]
        if ordered:
            field["categoriesOrdered"] = True
        constraints["enum"] = list(codes)
    if constraints:
        field["constraints"] = constraints
    if missing:
        field["missingValues"] = [{"value": v, "label": lab} for v, lab in missing.items()]
    field.update(extra)
    return field


def _likert(name: str, description: str, labels: dict[int, str]) -> dict:
    # Not required: an answer coded 8 (don't know) or 9 (refused) is missing. A blank cell is not
    # one of the item's missing values, so it is still refused as a type error.
    return _field(name, "integer", description, unit="Likert point (1-5)", codes=labels,
                  ordered=True, missing=MISSING_CODES, required=False)


def _resource(name: str, title: str, description: str, fields: list[dict], primary_key: list[str],
              foreign_keys: list[dict] | None = None, synthetic: bool = True) -> dict:
    schema: dict[str, Any] = {"fields": fields, "primaryKey": primary_key, "missingValues": [""]}
    if foreign_keys:
        schema["foreignKeys"] = foreign_keys
    return {
        "name": name,
        "type": "table",
        "path": f"data/{name}.csv",
        "scheme": "file",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": title,
        "description": (SYNTHETIC_NOTE + " " if synthetic else "") + description,
        "schema": schema,
    }


def _fk(field: str, resource: str, ref_field: str | None = None) -> dict:
    return {"fields": [field], "reference": {"resource": resource, "fields": [ref_field or field]}}


def resources() -> list[dict]:
    village_id = _field("village_id", "string", "Village identifier: town letter and a two-digit number.",
                        pattern=r"^[ZABCD][0-9]{2,5}$")
    town_codes = {"Z": "Z town (case)", "A": "Town A (fictional)", "B": "Town B (fictional)",
                  "C": "Town C (fictional)", "D": "Town D (fictional)"}
    regions = _resource("regions", "Towns",
        "Z town and the four fictional comparison towns: their role in the study and the reform each "
        "comparison town adopted.", [
            _field("town_id", "string", "Town identifier.", codes=town_codes, unique=True),
            _field("name_en", "string", "Name of the (fictional) town in English."),
            _field("name_zh", "string", "Name of the (fictional) town in Chinese."),
            _field("role", "string", "The town's role in the study.", codes=ROLES),
            _field("patterned_after", "string",
                   "The real experience this fictional comparison town is patterned after (a description, "
                   "never the town's own name); empty for Z town.", required=False),
            _field("patterned_after_zh", "string",
                   "The description of patterned_after in Chinese; empty for Z town.", required=False),
            _field("reform", "string", "The reform the town adopted ('none' for Z town).", codes=REFORMS),
            _field("reform_zh", "string", "The reform's name in Chinese."),
            _field("reform_year", "integer", "First year in which the reform was in force; empty if never.",
                   unit="year", required=False, minimum=FIRST_YEAR, maximum=LAST_YEAR),
        ], ["town_id"], synthetic=True)

    villages = _resource("villages", "Administrative villages",
        "One row per administrative village (10 to 15 per town), as of the 2023 survey.", [
            {**village_id, "constraints": {**village_id["constraints"], "unique": True}},
            _field("town_id", "string", "Town the village belongs to.", codes=town_codes),
            _field("population", "integer", "Registered residents.", unit="persons", minimum=100, maximum=20000),
            _field("households", "integer", "Registered households.", unit="households", minimum=30, maximum=8000),
            _field("party_members", "integer", "Registered Party members of the village branch.",
                   unit="persons", minimum=5, maximum=1000),
            _field("members_migrant", "integer", "Registered Party members away as migrant workers.",
                   unit="persons", minimum=0, maximum=1000),
            _field("secretary_age", "integer", "Age of the village Party branch secretary.", unit="years",
                   minimum=22, maximum=75),
            _field("secretary_education", "string", "Highest education of the branch secretary.",
                   codes=EDUCATION, ordered=True),
            _field("secretary_years_in_post", "integer", "Years the secretary has been in post.", unit="years",
                   minimum=0, maximum=45),
            _field("first_secretary", "boolean", "Whether a first secretary (第一书记) is stationed in the village."),
            _field("distance_km", "number", "Road distance to the town seat.", unit="km", minimum=0, maximum=100),
            _field("collective_income", "integer", "Income of the village collective economy in 2023.",
                   unit="yuan per year", minimum=0),
            _field("service_centre", "boolean", "Whether a Party-and-public service centre (党群服务中心) operates."),
        ], ["village_id"], [_fk("town_id", "regions")])

    village_years = _resource("village_years", "Village-by-year panel",
        f"Service inputs and outputs of each village, {FIRST_YEAR} to {LAST_YEAR}, with the reform in force.", [
            village_id,
            _field("year", "integer", "Calendar year.", unit="year", minimum=FIRST_YEAR, maximum=LAST_YEAR),
            _field("service_funds_per_resident", "number", "Service funds spent by the branch per resident.",
                   unit="yuan per resident per year", minimum=0),
            _field("meetings_required", "integer",
                   "Meetings and lessons required by \"three meetings and one lesson\" (三会一课).",
                   unit="meetings per year", minimum=0, maximum=60),
            _field("meetings_held", "integer", "Of those, meetings and lessons actually held.",
                   unit="meetings per year", minimum=0, maximum=60),
            _field("training_hours", "number", "Training received per Party member.",
                   unit="hours per member per year", minimum=0, maximum=200),
            _field("service_activities", "integer", "Service activities held by the branch.",
                   unit="activities per year", minimum=0),
            _field("villagers_reached", "integer", "Villager attendances at those activities.",
                   unit="attendances per year", minimum=0),
            _field("complaints_received", "integer", "Villagers' complaints and requests received.",
                   unit="complaints per year", minimum=0),
            _field("complaints_resolved", "integer", "Of those, resolved within the year.",
                   unit="complaints per year", minimum=0),
            _field("collective_income", "integer", "Income of the village collective economy.",
                   unit="yuan per year", minimum=0),
            _field("income_per_capita", "integer", "Villagers' per-capita disposable income.",
                   unit="yuan per person per year", minimum=0),
            _field("satisfaction_index", "number", "Villagers' satisfaction with the branch's services "
                   "(annual town assessment).", unit="index points (0-100)", minimum=0, maximum=100),
            _field("reform_in_force", "string", "The reform in force in the village that year.", codes=REFORMS),
        ], ["village_id", "year"], [_fk("village_id", "villages")])

    item_fields = [
        _likert(item.id, f"{item.wording_en} ({item.construct}; "
                f"{'reverse-coded' if item.reverse_coded else 'positively worded'}; wording in resource items)",
                LIKERT_LABELS)
        for item in ITEMS
    ]
    respondents = _resource("respondents", f"Survey respondents, {SURVEY_YEAR} wave",
        "One row per respondent (about 40 per village): demographics, the Likert items on the five problems "
        "and five causes (codebook in resource items), overall satisfaction and participation.", [
            _field("respondent_id", "integer", "Respondent identifier.", minimum=1, unique=True),
            village_id,
            _field("role", "string", "The respondent's role in the village.", codes=RESPONDENT_ROLES),
            _field("sex", "string", "Sex of the respondent.", codes=SEX),
            _field("age", "integer", "Age in completed years.", unit="years", minimum=18, maximum=95),
            _field("education", "string", "Highest education completed.", codes=EDUCATION, ordered=True),
            *item_fields,
            _likert("satisfaction", "Overall, how satisfied are you with the Party organization's services?",
                    SATISFACTION_LABELS),
            _field("participation", "integer", "Service activities attended in the past 12 months.",
                   unit="activities", minimum=0, maximum=60),
        ], ["respondent_id"], [_fk("village_id", "villages")])

    constructs = _resource("constructs", "Constructs",
        "The five problems and five causes the survey measures, oriented so that a higher score is better, "
        "with the construction path that answers each cause.", [
            _field("construct_id", "string", "Construct identifier.", codes={c.id: c.label_en for c in CONSTRUCTS},
                   unique=True),
            _field("dimension", "string", "Problem or cause.", codes=DIMENSIONS),
            _field("label_en", "string", "Construct name in English."),
            _field("label_zh", "string", "Construct name in Chinese."),
            _field("thesis_wording", "string", "How the thesis abstract names the problem or cause."),
            _field("path_en", "string", "The construction path that answers this cause (causes only).",
                   required=False),
            _field("path_zh", "string", "The construction path in Chinese (causes only).", required=False),
        ], ["construct_id"], synthetic=False)

    items = _resource("items", "Codebook of survey items",
        "Every Likert item of the respondents resource: its construct, wording in English and Chinese, and "
        "whether it is reverse-coded (agreement means a worse state).", [
            _field("item_id", "string", "Item identifier, also the column name in respondents.",
                   codes={i.id: i.wording_en for i in ITEMS}, unique=True),
            _field("construct_id", "string", "Construct the item measures.",
                   codes={c.id: c.label_en for c in CONSTRUCTS}),
            _field("dimension", "string", "Problem or cause.", codes=DIMENSIONS),
            _field("wording_en", "string", "Item wording in English."),
            _field("wording_zh", "string", "Item wording in Chinese."),
            _field("reverse_coded", "boolean", "True if agreement means a worse state; the scales reverse it."),
        ], ["item_id"], [_fk("construct_id", "constructs")], synthetic=False)

    national = _resource("national_context", "National context (real published figures)",
        "REAL DATA. Published national figures on Party membership, village cadres and rural incomes, and a few "
        "local figures for the experiences chapter, one row per figure, each with the publication it comes from "
        "and the address where it was read. Not rounded, not extrapolated; missing years stay missing. Shares "
        "that the source does not state are marked computed, with their formula.", [
            _field("indicator", "string", "What the figure measures."),
            _field("year", "integer", "Reference year of the figure (year-end for Party statistics).",
                   unit="year", minimum=1960, maximum=2030),
            _field("period", "string", "Reference period as the source gives it."),
            _field("value", "number", "The figure as published (or computed, see basis)."),
            _field("value_qualifier", "string", "Whether the source states the figure exactly or as a bound.",
                   codes=QUALIFIERS),
            _field("unit", "string", "Unit of value: 10k_persons = 万人; 100m_yuan = 亿元."),
            _field("scope", "string", "National figure, or a local figure as officially reported (not audited)."),
            _field("basis", "string", "Stated by the source, or computed here.", codes=BASIS),
            _field("formula", "string", "For computed figures, how they were computed.", required=False),
            _field("publication", "string", "The original publication (title)."),
            _field("issuer", "string", "Who issued the publication."),
            _field("published", "string", "When the publication was released."),
            _field("read_at", "string", "Address where the figure was read (scheme not recorded)."),
            _field("read_note", "string", "Whether the address is a repost, and of what.", required=False),
        ], ["indicator", "year"], synthetic=False)

    parameters = _resource("parameters", "True parameters of the generator",
        "The values the generator actually used (after any --set override), and quantities they imply, so that "
        "every estimate in the book can be checked against the truth.", [
            _field("parameter", "string", "Parameter name.", unique=True),
            _field("group", "string", "Kind of parameter.", codes={
                "design": "sample design", "calibration": "calibrated to a real figure",
                "cause_effect": "effect of a cause index on service effectiveness",
                "town_mean": "town mean of a cause index", "perception": "respondent-level perception model",
                "satisfaction": "satisfaction model", "reform_effect": "effect of a reform",
                "panel": "village panel process", "noise": "noise scale", "implied": "implied by the others",
                "town_shock": "SD of a shock shared by a town's villages (town or town-year)",
                "realized_shock": "a town shock as drawn",
                "implied_given_towns": "implied by the others for these five towns, realized town shocks included",
                "meta": "generator metadata"}),
            _field("value", "number", "Numeric value.", required=False),
            _field("value_text", "string", "Text value (for non-numeric parameters).", required=False),
            _field("unit", "string", "Unit or metric of the value.", required=False),
            _field("description", "string", "What the parameter does in the data-generating process."),
        ], ["parameter"], synthetic=True)
    return [regions, villages, village_years, respondents, constructs, items, national, parameters]


RESOURCE_NAMES = ("regions", "villages", "village_years", "respondents", "constructs", "items",
                  "national_context", "parameters")


def build_descriptor(seed: int, generator_version: str) -> dict:
    """The full `datapackage.json` for a package generated with this seed."""
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": "ztown-service-party-organizations",
        "id": "ztown-service-party-organizations",
        "title": "Z town: rural grass-roots service-oriented Party organizations (synthetic study data)",
        "description": SYNTHETIC_NOTE + (
            " The package supports a reproducible study of how rural grass-roots service-oriented Party "
            "organizations are built, with 'Z town' as the case: its status, five problems, five causes, "
            "the experiences of other rural areas (as fictional comparison towns with staggered reforms), and "
            "five construction paths. The data-generating process and its true parameters are documented in "
            "the book's data-and-methods page and in the parameters resource. "
            f"Generated by ztown.data.synth version {generator_version} with seed {seed}."
        ),
        "version": PACKAGE_VERSION,
        "created": PACKAGE_CREATED,
        "homepage": HOMEPAGE,
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
                      "title": "Creative Commons Attribution 4.0"}],
        "sources": [
            {"title": "ztown.data.synth, the seeded generator of the synthetic resources",
             "description": f"Version {generator_version}, seed {seed}; see the parameters resource."},
            {"title": "CPC intra-party statistical communiqués (中国共产党党内统计公报), 2014-2024",
             "description": "Organization Department of the CPC Central Committee; read at the addresses in "
                            "national_context.read_at."},
            {"title": "National Bureau of Statistics: rural residents' per-capita disposable income, 2015-2024"},
            {"title": "CASS China Rural Revitalization Survey; Chen Xueyuan et al.; china.org.cn; local press"},
        ],
        "contributors": [{"title": "The Z town publication team", "roles": ["creator"]}],
        "keywords": ["synthetic data", "rural governance", "grass-roots Party organizations",
                     "service-oriented Party organization", "服务型党组织", "rural revitalization", "China"],
        "ztown:generator": {"name": "ztown.data.synth", "version": generator_version, "seed": seed},
        "resources": resources(),
    }


def file_stats(data: bytes) -> dict[str, Any]:
    """A resource's `bytes` and `hash` (Data Package v2: "sha256:<hex>") for the file's bytes."""
    return {"bytes": len(data), "hash": "sha256:" + hashlib.sha256(data).hexdigest()}


def stamp_resources(descriptor: dict, data: dict[str, bytes]) -> dict:
    """Set `bytes` and `hash` of every resource whose file bytes are in `data` (by resource name), right
    after its `encoding`; frictionless then refuses a file that differs from the one described."""
    for i, res in enumerate(descriptor["resources"]):
        if res.get("name") not in data:
            continue
        stats = file_stats(data[res["name"]])
        stamped = {}
        for key, value in res.items():
            if key not in stats:
                stamped[key] = value
            if key == "encoding":
                stamped.update(stats)
        stamped.update({k: v for k, v in stats.items() if k not in stamped})
        descriptor["resources"][i] = stamped
    return descriptor


def missing_values(field: dict, resource_schema: dict | None = None) -> dict[str, str]:
    """A field's missing-value codes with their labels: its own list, else its resource's, else [""].

    Table Schema v2 allows plain strings or labelled {"value", "label"} entries; both are read here.
    """
    codes = field.get("missingValues", (resource_schema or {}).get("missingValues", [""]))
    return {str(c["value"] if isinstance(c, dict) else c): (c.get("label", "") if isinstance(c, dict) else "")
            for c in codes}


def labelled_missing_values(field: dict) -> list[tuple[str, str]]:
    """The field's own labelled missing codes as (code, label), in the order the schema lists them."""
    return [(str(m["value"]), m.get("label", "")) for m in field.get("missingValues", []) if isinstance(m, dict)]


def required_fields() -> dict[str, list[tuple[str, str]]]:
    """Each resource's field names and types, in order: what any package must have to be read."""
    return {r["name"]: [(f["name"], f["type"]) for f in r["schema"]["fields"]] for r in resources()}


def resource_kind(resource: dict) -> str:
    """'synthetic', 'real' or 'design', read from the resource's own description."""
    text = resource.get("description", "").lstrip().upper()
    if text.startswith("SYNTHETIC"):
        return "synthetic"
    if text.startswith("REAL DATA"):
        return "real"
    return "design"
