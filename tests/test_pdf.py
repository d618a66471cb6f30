"""The PDF edition: `ztown book --pdf` prints the single-page book with Debian's Chromium.

Read back with poppler's pdfinfo, pdffonts and pdftotext (Debian's poppler-utils, installed by
.ci/run): page count, page numbers, the contents, every chapter with its synthetic-data note,
numbered figures and tables, lettered appendices, fonts embedded, Chinese text present, and no
character the fonts could not draw. Without Chromium or poppler the tests skip, except under CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ztown.publication.book import PDF_NAME, book_lock

REPO_ROOT = Path(__file__).resolve().parents[1]
PDF = REPO_ROOT / "_build" / "pdf" / PDF_NAME
CHROMIUM = Path("/usr/bin/chromium")
CHAPTERS = ["01_status", "02_problems", "03_causes", "04_experiences", "05_paths", "06_truth_recovery"]

pytestmark = pytest.mark.browser


def _require_tools():
    missing = [tool for tool in ("pdftotext", "pdfinfo", "pdffonts") if shutil.which(tool) is None]
    if not CHROMIUM.is_file():
        missing.append(str(CHROMIUM))
    if missing:
        reason = f"{', '.join(missing)} not installed (apt-get install chromium poppler-utils; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)


def chapter_titles() -> list[str]:
    import nbformat
    titles = []
    for name in CHAPTERS:
        nb = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        heading = next(line for cell in nb.cells if cell.cell_type == "markdown"
                       for line in cell.source.splitlines() if line.startswith("# "))
        titles.append(heading[2:].strip())
    return titles


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    _require_tools()
    result = subprocess.run([sys.executable, "-m", "ztown", "book", "--pdf", "--source", str(REPO_ROOT)],
                            cwd=tmp_path_factory.mktemp("cwd"), text=True, capture_output=True, timeout=2400)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    with book_lock(REPO_ROOT, shared=True):
        text = subprocess.run(["pdftotext", "-layout", str(PDF), "-"], capture_output=True, text=True,
                              check=True).stdout
        info = subprocess.run(["pdfinfo", str(PDF)], capture_output=True, text=True, check=True).stdout
        fonts = subprocess.run(["pdffonts", str(PDF)], capture_output=True, text=True, check=True).stdout
        yield {"text": text, "info": info, "fonts": fonts, "log": result.stdout + result.stderr}


def test_the_pdf_is_made_and_linked_from_the_book(pdf):
    assert PDF.is_file() and PDF.stat().st_size > 100_000
    assert (REPO_ROOT / "_build" / "html" / PDF_NAME).is_file(), "the book's link points at a copy in the HTML folder"
    intro = (REPO_ROOT / "_build" / "html" / "book" / "intro.html").read_text(encoding="utf-8")
    assert re.search(rf'<a class="ztown-pdf-link" href="(\.\./)*{re.escape(PDF_NAME)}"', intro)


def test_pages_and_page_numbers(pdf):
    pages = int(re.search(r"^Pages:\s+(\d+)", pdf["info"], re.M).group(1))
    assert pages >= 40, pages
    assert f"1 / {pages}" in pdf["text"] and f"{pages} / {pages}" in pdf["text"], "page numbers in the footer"


def test_contents_chapters_and_synthetic_notes(pdf):
    text = " ".join(pdf["text"].replace("\u2019", "'").split())  # Sphinx prints typographic apostrophes
    contents = text[: text.index("Contents") + 3000] if "Contents" in text else ""
    assert contents, "no contents page"
    titles = chapter_titles()
    positions = []
    for title in titles:
        assert " ".join(title.split()[:4]) in contents, f"{title!r} is not in the contents"
        heading = re.search(rf"(\d+|Appendix [A-Z])\. {re.escape(title)}", text[len(contents):])
        assert heading, f"no numbered chapter heading {title!r}"
        positions.append(len(contents) + heading.start())
    assert positions == sorted(positions)
    for start, end, title in zip(positions, positions[1:] + [len(text)], titles):
        assert "synthetic" in text[start:end].lower(), f"chapter {title!r} has no synthetic-data note"
    assert f"Appendix A. {titles[-1]}" in text


def test_numbered_figures_and_tables(pdf):
    text = pdf["text"]
    assert re.search(r"Fig\. 1\.1\b", text) and re.search(r"Table \d+\.\d+\b", text)
    assert re.search(r"Fig\. A\.1\b", text), "the appendix's figures are numbered A.1, ..."


def test_fonts_are_embedded_and_chinese_is_drawn(pdf):
    rows = [line.split() for line in pdf["fonts"].splitlines()[2:] if line.strip()]
    assert rows
    # columns from the right: object ID (two fields), uni, sub, emb
    assert all(row[-5] == "yes" for row in rows), pdf["fonts"]
    assert re.search(r"[\u4e00-\u9fff]{2,}", pdf["text"]), "no Chinese text in the PDF"
    assert "\ufffd" not in pdf["text"], "a character the fonts could not draw"
