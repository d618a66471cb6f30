"""The chapters' prose: no typed numbers, every glued name defined, the synthetic-data note on top."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
PROSE_PAGES = [ROOT / "book" / "intro.md", ROOT / "book" / "data_methods.md", ROOT / "book" / "conclusion.md"]

ROLE = re.compile(r"\{[a-z:\-+]+\}`[^`]*`")  # {glue:text}`x:.2f`, {cite}`key`, {numref}`fig`, ...
INLINE_CODE = re.compile(r"`[^`]*`")
DIRECTIVE_LINE = re.compile(r"^\s*(:::|```|:[a-z\-]+:|\(\S+\)=)")  # fences, options, targets
YEAR = re.compile(r"\b(19|20)\d\d\b")
URL = re.compile(r"\(?https?://\S+")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]+\$", re.S)
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)  # code cells and code blocks are code, not prose


def typed_numbers(markdown: str) -> list[str]:
    """Digits left in prose once glued values, roles, code, years, URLs and math are taken out."""
    text = MATH.sub(" ", CODE_BLOCK.sub(" ", FRONT_MATTER.sub(" ", markdown)))
    found = []
    for line in text.splitlines():
        if DIRECTIVE_LINE.match(line):
            continue
        line = ROLE.sub(" ", line)
        line = INLINE_CODE.sub(" ", line)
        line = URL.sub(" ", line)
        line = YEAR.sub(" ", line)
        line = re.sub(r"^\s*\d+\.\s", " ", line)  # numbered list items (chapter order)
        found += re.findall(r"\d[\d.,]*", line)
    return found


def markdown_cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown"]


def glued_names(path: Path) -> set[str]:
    names = set()
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                names.add(name)
    return names


def test_every_chapter_is_there():
    assert [p.stem[:2] for p in CHAPTERS] == ["01", "02", "03", "04", "05", "06", "07"]


def test_scanner_finds_a_typed_number():
    assert typed_numbers("Z town lags by 0.42 points in 2019.") == ["0.42"]
    assert typed_numbers("Z town lags by {glue:text}`gap:.2f` points in 2019.") == []


@pytest.mark.parametrize("path", CHAPTERS + PROSE_PAGES, ids=lambda p: p.name)
def test_no_number_typed_into_prose(path):
    texts = markdown_cells(path) if path.suffix == ".ipynb" else [path.read_text(encoding="utf-8")]
    leftovers = [n for t in texts for n in typed_numbers(t)]
    assert leftovers == [], f"{path.name}: numbers typed into the prose: {leftovers}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_opens_with_synthetic_data_note(path):
    cells = markdown_cells(path)
    head = "\n".join(cells[:2])
    assert ":class: warning synthetic-data" in head and "Synthetic data" in head


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_glued_name_in_the_prose_is_computed_in_the_chapter(path):
    used = set()
    for text in markdown_cells(path):
        used |= set(re.findall(r"\{glue(?::[a-z]+)?\}`([^`:]+)", text))
        used |= set(re.findall(r":::\{glue:figure\}\s+(\S+)", text))
    missing = used - glued_names(path)
    assert not missing, f"{path.name}: glued in prose but not computed: {sorted(missing)}"


# --- units and signs as a careful writer phrases them (issue 12) --------------------------------

# a glued number followed by a unit word that belongs in the number ("10,027.1 ten-thousand members"),
# a signed number read as a distance ("lies -0.84 points from") or digits before a number in words
# ("5 of the five"): glue the phrase whole (`publish.amount`, `publish.signed`, `publish.count_of`)
AWKWARD = [
    (re.compile(r"\{glue:text\}`[^`]+`\s+(ten-thousand|hundred million|ten thousand)"), "a Chinese unit in English"),
    (re.compile(r"\{glue:text\}`[^`]+`\s+points\s+from\b"), "a signed number read as a distance"),
    (re.compile(r"\{glue:text\}`[^`]+`\s+of\s+(the\s+)?(two|three|four|five|six|seven|eight|nine|ten)\b"),
     "digits before a number in words"),
]


def awkward_phrasings(markdown: str) -> list[str]:
    text = " ".join(markdown.split())
    return [f"{why}: {m.group(0)!r}" for pattern, why in AWKWARD for m in pattern.finditer(text)]


def test_the_awkward_phrasings_are_found():
    assert awkward_phrasings("the Party had {glue:text}`st-members:,.1f` ten-thousand\nmembers")
    assert awkward_phrasings("Z town lies {glue:text}`gap:.2f` points from the others")
    assert awkward_phrasings("on {glue:text}`k:.0f` of\nthe five causes")
    assert not awkward_phrasings("the Party had {glue:md}`st-members-amount`; {glue:text}`k:.0f` of "
                                 "{glue:text}`n:.0f` claims")


@pytest.mark.parametrize("path", CHAPTERS + PROSE_PAGES, ids=lambda p: p.stem)
def test_units_and_signs_are_phrased_in_words(path):
    texts = markdown_cells(path) if path.suffix == ".ipynb" else [path.read_text(encoding="utf-8")]
    found = [a for text in texts for a in awkward_phrasings(text)]
    assert not found, "\n".join(found)
