"""The README is a replication package: its sections exist and its figure table is current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _figure_map():
    spec = importlib.util.spec_from_file_location("figure_map", ROOT / "scripts" / "figure_map.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_has_the_replication_sections():
    for heading in ("## Data availability and provenance", "## Computational requirements", "## Instructions",
                    "## For reviewers: replicating the results", "## Figures and tables", "## Random seeds", "## Speed"):
        assert heading in README, heading


def test_reviewers_section_states_the_tolerances_the_code_uses():
    """The README's tolerance table and image threshold are those of ztown.publication.replicate."""
    import re

    from ztown.publication.replicate import IMAGE_RMS_TOLERANCE, TOLERANCES

    section = README.split("## For reviewers", 1)[1].split("\n## ", 1)[0]
    assert "make replicate" in section and "How long" in section
    for tol in TOLERANCES.values():
        row = re.search(rf"^\| {tol.kind.replace('-', ' ')} \| ([^|]+) \| ([^|]+) \|", section, re.M)
        assert row, f"no README row for the {tol.kind} tolerance"
        assert (float(row.group(1)), float(row.group(2))) == (tol.rtol, tol.atol), tol.kind
    assert re.search(rf"must be at most\s+{IMAGE_RMS_TOLERANCE:g}\.", section)


def test_readme_names_the_two_set_up_commands_and_ci_runs_the_test_one():
    assert "make book" in README and "make test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_figure_table_is_current():
    fm = _figure_map()
    table = README.split(fm.START, 1)[1].split(fm.END, 1)[0].strip()
    assert table == fm.table().strip(), "run: .venv/bin/python scripts/figure_map.py --readme"
    assert table.count("| `fig-") == len(fm.rows()) > 0


def test_readme_says_the_data_are_synthetic():
    assert "synthetic" in README.lower() and "not facts about any real place" in README
