"""The book's sources: every source the study's concepts name is a bibliography entry, cited in the chapters,
and no entry points to an encyclopedia or leaves a plain-text citation behind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pybtex.database

from ztown.data.constructs import EXPERIENCES, PATH_PLANS

ROOT = Path(__file__).resolve().parents[1]
BIB = pybtex.database.parse_file(str(ROOT / "book" / "references.bib"))


def cited_keys() -> set[str]:
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "book").glob("*.md")]
    for nb in (ROOT / "notebooks").glob("0*.ipynb"):
        texts += ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]
    keys = set()
    for text in texts:
        for group in re.findall(r"\{cite(?::[a-z]+)?\}`([^`]+)`", text):
            keys |= {k.strip() for k in group.split(",")}
    return keys


def test_every_source_of_the_concepts_is_in_the_bibliography_and_cited():
    named = {k for p in PATH_PLANS for k in p.sources} | {k for e in EXPERIENCES for k in e.sources}
    assert named <= set(BIB.entries), named - set(BIB.entries)
    assert named <= cited_keys(), named - cited_keys()


def test_every_citation_has_an_entry():
    assert cited_keys() <= set(BIB.entries), cited_keys() - set(BIB.entries)


def test_the_thesis_and_the_policy_documents_are_cited():
    assert {"zthesis", "ccp2014service", "ccp2019rural"} <= cited_keys()


def test_no_encyclopedia_entries():
    for key, entry in BIB.entries.items():
        text = " ".join(str(v) for v in entry.fields.values()).lower()
        assert "wikipedia" not in text, key


def test_no_plain_text_citations_of_the_methods_papers_in_the_argument():
    pages = [ROOT / "book" / "data_methods.md", ROOT / "book" / "conclusion.md"]
    texts = [p.read_text(encoding="utf-8") for p in pages]
    for nb in sorted((ROOT / "notebooks").glob("0[1-5]*.ipynb")):
        texts += ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]
    plain = re.compile(r"(Callaway and Sant'Anna|Imbens and Koles|Pustejovsky and Tipton|MacKinnon(, Nielsen)? and "
                       r"Webb)\s*\(?\d{4}")
    assert not [m.group(0) for t in texts for m in plain.finditer(t)]
