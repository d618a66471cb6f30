"""The HTML book: it builds with no warning, has every chapter, and loads nothing from outside.

The book is built once per test session with `ztown book` into the repository's `_build/html`.
A build with nothing changed is cheap: Sphinx keeps its environment and myst-nb its execution
cache, which is keyed by the data package's hash, so only a change of data, helpers or pages
re-executes anything. The failure-path tests build small scratch books in tmp_path.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from ztown.publication.book import book_lock

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout these tests belong to

BOOK_ROOT = REPO_ROOT
HTML_DIR = BOOK_ROOT / "_build" / "html"
CHAPTERS = ["01_status", "02_problems", "03_causes", "04_experiences", "05_paths", "06_truth_recovery", "07_power"]
BUILD_TIMEOUT = 1800


def run_ztown_book(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ztown", "book", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=BUILD_TIMEOUT)


@pytest.fixture(scope="module")
def book_build(tmp_path_factory):
    """`ztown book` on the repository, run from an unrelated working directory."""
    result = run_ztown_book("--keep-going", "--source", str(BOOK_ROOT), cwd=tmp_path_factory.mktemp("elsewhere"))
    with book_lock(BOOK_ROOT, shared=True):  # no other worker rebuilds the pages while we read them
        yield result


def html_pages() -> list[Path]:
    return sorted(p for p in HTML_DIR.rglob("*.html") if "_static" not in p.relative_to(HTML_DIR).parts)


def article_pages() -> list[Path]:
    """The book's own pages (not Sphinx's index and search pages)."""
    return [p for p in html_pages() if p.stem not in ("genindex", "search", "py-modindex")]


def test_build_exits_zero_without_warnings(book_build):
    output = book_build.stdout + book_build.stderr
    assert book_build.returncode == 0, output[-5000:]
    assert "WARNING:" not in output
    assert "ztown book: built" in book_build.stdout
    assert re.search(r"built .* in \d+\.\d s", book_build.stdout), "the build time is reported"


def test_index_and_one_page_per_chapter(book_build):
    assert (HTML_DIR / "index.html").is_file()
    missing = [c for c in CHAPTERS if not (HTML_DIR / "notebooks" / f"{c}.html").is_file()]
    assert not missing, f"no HTML page for chapter notebook(s) {missing}"
    for page in ["book/intro", "book/data_methods", "book/appendix", "book/status",
                 "book/generated/codebook", "book/generated/glossary", "book/generated/cite",
                 "book/generated/replication"]:
        assert (HTML_DIR / f"{page}.html").is_file(), page


class _ArticleScan(HTMLParser):
    """Positions (in document order) of the synthetic-data notice and of the first cell output."""

    def __init__(self):
        super().__init__()
        self.position = 0
        self.notice_at: int | None = None
        self.notice_title = ""
        self.first_output_at: int | None = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.position += 1
        classes = (dict(attrs).get("class") or "").split()
        if self.notice_at is None and "admonition" in classes and "synthetic-data" in classes:
            self.notice_at = self.position
        elif self.notice_at is not None and not self.notice_title and "admonition-title" in classes:
            self._in_title = True
        if self.first_output_at is None and "cell_output" in classes:
            self.first_output_at = self.position

    def handle_data(self, data):
        if self._in_title:
            self.notice_title += data
            self._in_title = False


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_opens_with_synthetic_data_notice(book_build, chapter):
    page = HTML_DIR / "notebooks" / f"{chapter}.html"
    scan = _ArticleScan()
    scan.feed(page.read_text(encoding="utf-8"))
    assert scan.notice_at is not None, f"{page.name} has no admonition with class synthetic-data"
    assert "synthetic" in scan.notice_title.lower(), scan.notice_title
    if scan.first_output_at is not None:
        assert scan.notice_at < scan.first_output_at, "the notice must come before the first result"


# --- nothing is loaded from outside ----------------------------------------------------------

# <link rel=...> values that make the browser fetch the href
FETCHING_LINK_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "prefetch",
                      "modulepreload", "manifest", "dns-prefetch", "preconnect", "mask-icon"}
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_EXTERNAL = re.compile(r"""(?:url\(\s*["']?|@import\s+["']?)\s*((?:https?:)?//[^"')\s]+)""", re.IGNORECASE)
# JavaScript that loads a resource: x.src = "...", setAttribute("src", "..."), import("..."), fetch(...)
JS_EXTERNAL = re.compile(
    r"""(?:\b(?:src|href)\s*[:=]\s*|setAttribute\(\s*["'](?:src|href)["']\s*,\s*|\bimport\s*\(\s*|"""
    r"""\bimportScripts\s*\(\s*|\bfetch\s*\(\s*|\bfrom\s+)["'`]((?:https?:)?//[^"'`]+)""", re.IGNORECASE)


class _LoadedUrls(HTMLParser):
    """Every URL an HTML page makes the browser load (plain <a href> links are not loads)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.inline: list[str] = []  # inline <script> and <style> bodies
        self._inline_tag: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        for key in ("src", "data", "poster", "background"):
            if key in a:
                self.urls.append(a[key])
        if "srcset" in a:
            self.urls += [part.split()[0] for part in a["srcset"].split(",") if part.strip()]
        if tag == "link" and set(a.get("rel", "").lower().split()) & FETCHING_LINK_RELS:
            self.urls.append(a.get("href", ""))
        if tag in ("image", "use") and ("href" in a or "xlink:href" in a):  # SVG
            self.urls.append(a.get("href") or a.get("xlink:href", ""))
        if "style" in a:
            self.urls += CSS_EXTERNAL.findall(a["style"])
        if tag in ("script", "style") and "src" not in a:
            self._inline_tag = tag

    def handle_data(self, data):
        if self._inline_tag == "script":
            self.urls += js_external_loads(data)
        elif self._inline_tag == "style":
            self.urls += CSS_EXTERNAL.findall(data)

    def handle_endtag(self, tag):
        self._inline_tag = None


# plain links written by scripts (MathJax's "About" box): <a href="https://www.mathjax.org">
ANCHOR_TAG = re.compile(r"<a\b[^>]*>", re.IGNORECASE)


def js_external_loads(text: str) -> list[str]:
    return JS_EXTERNAL.findall(ANCHOR_TAG.sub("", text))


def external_loads(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        parser = _LoadedUrls()
        parser.feed(text)
        return [u for u in parser.urls if EXTERNAL.match(u)]
    if path.suffix == ".css":
        return CSS_EXTERNAL.findall(text)
    return js_external_loads(text)


def test_no_page_loads_an_external_url(book_build):
    files = [p for p in HTML_DIR.rglob("*") if p.suffix in (".html", ".css", ".js")]
    assert len(files) > 20
    offenders = {str(p.relative_to(HTML_DIR)): urls for p in files if (urls := external_loads(p))}
    assert not offenders, json.dumps(offenders, indent=1)


def test_scanner_sees_the_usual_cdn_loads():
    """The scan above must recognise what Sphinx themes normally load from CDNs."""
    page = ('<html><head><script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js">'
            '</script><link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">'
            '<script>var s = document.createElement("script"); s.src = "https://www.googletagmanager.com/gtag/js";'
            '</script></head><body><a href="https://github.com/ztown-study/ztown">repository</a>'
            '<img src="_static/logo.png"></body></html>')
    parser = _LoadedUrls()
    parser.feed(page)
    assert [u for u in parser.urls if EXTERNAL.match(u)] == [
        "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js", "//fonts.googleapis.com/css?family=Lato",
        "https://www.googletagmanager.com/gtag/js"]
    assert CSS_EXTERNAL.findall('@import "https://fonts.googleapis.com/x.css"; a{background:url(img.png)}') == [
        "https://fonts.googleapis.com/x.css"]
    assert js_external_loads('l.href = "https://fonts.example/a.css"; s = \'<a href="https://x.org">x</a>\'') == [
        "https://fonts.example/a.css"]


def test_math_uses_the_vendored_mathjax(book_build):
    pages_with_math = [p for p in html_pages() if 'class="math' in p.read_text(encoding="utf-8")]
    assert pages_with_math, "the book has no typeset math at all"
    for page in pages_with_math:
        assert re.search(r'<script[^>]+src="[./]*_static/mathjax/tex-chtml-full\.js', page.read_text(encoding="utf-8")), page
    assert (HTML_DIR / "_static/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()


# --- scratch books: failure and data-keyed execution ------------------------------------------

def scratch_book(root: Path, notebooks: dict[str, list[str]], markdown: dict[str, str] | None = None) -> Path:
    """A minimal book in `root` with the repository's configuration, its data package and the given
    notebooks (each with an optional closing Markdown cell)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "_config.yml", root / "_config.yml")
    (root / "book").mkdir()
    shutil.copy(REPO_ROOT / "book" / "references.bib", root / "book" / "references.bib")
    shutil.copytree(REPO_ROOT / "book" / "_static", root / "book" / "_static")
    (root / "datapackage").symlink_to(REPO_ROOT / "datapackage")  # a book reads its own data package
    (root / "book" / "intro.md").write_text("# Scratch book\n\nA test book.\n", encoding="utf-8")
    chapters = "\n".join(f"  - file: {name}" for name in notebooks)
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: book/intro\nchapters:\n{chapters}\n", encoding="utf-8")
    for name, sources in notebooks.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}")]
        nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
        if markdown and name in markdown:
            nb.cells.append(nbformat.v4.new_markdown_cell(markdown[name]))
        nbformat.write(nb, root / f"{name}.ipynb")
    return root


def test_failing_cell_fails_the_build_and_leaves_no_html(tmp_path):
    book = scratch_book(tmp_path / "book", {"broken": ["x = 1", "1 / 0"]})
    stale = book / "_build" / "html" / "stale.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("<p>from an earlier build</p>", encoding="utf-8")

    result = run_ztown_book("--source", str(book), cwd=tmp_path)

    assert result.returncode != 0
    assert not (book / "_build" / "html").exists(), "a failed build must not leave HTML behind"
    assert "broken.ipynb" in result.stdout + result.stderr
    assert "removed" in result.stderr and "_build/html" in result.stderr


def test_a_book_reads_its_own_data_package_and_says_when_it_has_none(tmp_path, monkeypatch):
    """A copy of the book elsewhere never falls back to the checkout's data (issue 11)."""
    monkeypatch.delenv("ZTOWN_DATAPACKAGE", raising=False)
    monkeypatch.delenv("ZTOWN_PROJECT", raising=False)
    book = scratch_book(tmp_path / "book", {"fine": ["x = 1"]})
    (book / "datapackage").unlink()
    result = run_ztown_book("--source", str(book), cwd=tmp_path)
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "missing-descriptor" in said and str(book / "datapackage") in said


def test_execution_cache_and_figure_data_are_keyed_by_the_data_package(tmp_path):
    """Building with other data re-executes: the kernel sees the other package, not a cached output,
    and the page's figure-data download is that build's data, also when served from the cache.
    Nothing is written beside the notebook (the source tree stays as it was)."""
    other = tmp_path / "other-data"
    shutil.copytree(REPO_ROOT / "datapackage", other)
    descriptor = json.loads((other / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["description"] = "SCRATCH COPY for a cache test. " + descriptor["description"]
    (other / "datapackage.json").write_text(json.dumps(descriptor, indent=2), encoding="utf-8")
    probe = ("import json, os\n"
             "import pandas as pd\n"
             "from ztown import figures\n"
             "description = json.load(open(os.environ['ZTOWN_DATAPACKAGE']))['description'][:40]\n"
             "figures.save_figure_data(pd.DataFrame({'description': [description]}), 'probe')\n"
             "print('DATA:', description)")
    book = scratch_book(tmp_path / "book", {"probe": [probe]},
                        {"probe": "{download}`Figure data (CSV) </_build/figure_data/probe.csv>`"})
    source_files = sorted(p.relative_to(book) for p in book.rglob("*") if "_build" not in p.parts)

    caches = []
    for data, executes in ((REPO_ROOT / "datapackage", True), (other, True), (REPO_ROOT / "datapackage", False)):
        result = run_ztown_book("--source", str(book), "--data", str(data), cwd=tmp_path)
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
        assert ("Executed notebook" in result.stdout) == executes, result.stdout[-3000:]
        page = html.unescape((book / "_build" / "html" / "probe.html").read_text(encoding="utf-8"))
        expected = json.loads((data / "datapackage.json").read_text(encoding="utf-8"))["description"][:40]
        assert f"DATA: {expected}" in page
        href = re.search(r'href="(_downloads/[^"]+/probe\.csv)"', page).group(1)
        downloaded = (book / "_build" / "html" / href).read_text(encoding="utf-8")
        assert list(csv.reader(downloaded.splitlines()))[1] == [expected], "the download must be this build's data"
        caches.append(re.search(r"execution cache (\S+)", result.stdout).group(1))
    assert caches[0] != caches[1] and caches[0] == caches[2]
    assert Path(caches[1]).name.startswith(_hash16(other / "datapackage.json"))
    assert sorted(p.relative_to(book) for p in book.rglob("*") if "_build" not in p.parts
                  and "generated" not in p.parts) == [p for p in source_files if "generated" not in p.parts]


def _hash16(descriptor: Path) -> str:
    from ztown.publication.book import data_package_hash
    return data_package_hash(descriptor)[:16]


# --- the pieces the cache key and the generated pages rely on ---------------------------------

def test_data_hash_follows_every_data_file(tmp_path):
    from ztown.publication.book import data_package_hash
    from ztown.data.errors import DataPackageError

    package = tmp_path / "datapackage"
    shutil.copytree(REPO_ROOT / "datapackage", package)
    descriptor = package / "datapackage.json"
    before = data_package_hash(descriptor)
    assert data_package_hash(descriptor) == before
    first_resource = json.loads(descriptor.read_text(encoding="utf-8"))["resources"][0]
    data_file = package / first_resource["path"]
    data_file.write_bytes(data_file.read_bytes() + b"\n")
    assert data_package_hash(descriptor) != before
    data_file.unlink()
    with pytest.raises(DataPackageError, match=rf"resource {first_resource['name']}.*missing-file"):
        data_package_hash(descriptor)


def test_generated_pages_are_rewritten_only_when_changed(tmp_path):
    """Unchanged pages keep their mtime (so Sphinx does not re-read them); stale pages go."""
    from ztown.publication.sphinxext import _sync_tree

    fresh, target = tmp_path / "fresh", tmp_path / "target"
    fresh.mkdir()
    (fresh / "same.md").write_text("# Same\n", encoding="utf-8")
    (fresh / "changed.md").write_text("# New\n", encoding="utf-8")
    target.mkdir()
    (target / "same.md").write_text("# Same\n", encoding="utf-8")
    (target / "changed.md").write_text("# Old\n", encoding="utf-8")
    (target / "gone.md").write_text("# Resource no longer in the package\n", encoding="utf-8")
    old_time = 1_000_000_000
    for page in target.iterdir():
        os.utime(page, (old_time, old_time))

    _sync_tree(fresh, target)

    assert sorted(p.name for p in target.iterdir()) == ["changed.md", "same.md"]
    assert (target / "same.md").stat().st_mtime == old_time
    assert (target / "changed.md").read_text(encoding="utf-8") == "# New\n"


def _replication_tables(page: Path) -> dict[str, dict]:
    """The tables of a built replication page, by id: each must be a publication table (the book's
    class, a numbered caption, words for headers) referred to from the page's text by {numref}."""
    text = page.read_text(encoding="utf-8")
    tables = {t["id"]: t for t in scan(page).tables}
    for table_id, t in tables.items():
        assert table_id.startswith("tbl-replication-"), t
        assert "ztown-table" in t["classes"], t
        assert re.match(r"^Table \d+(\.\d+)* \S", t["caption"]), t
        reference = (rf'<a class="reference internal" href="#{re.escape(table_id)}">\s*'
                     rf'<span class="std std-numref">Table \d+(\.\d+)*</span>')
        assert re.search(reference, text), f"{table_id} is not referred to with {{numref}}"
        cells = [c for row in t["header"] + t["rows"] for c in row]
        assert not [c for c in cells if MISSING_TEXT.match(c) or "{{" in c], t
    assert "{{" not in html.unescape(text), "a substitution left unrendered"
    return tables


def test_replication_report_page_builds_without_warning_with_or_without_a_report(tmp_path):
    """The "Replication report" page: a plain note when no replication has run, else the report,
    differences with Markdown-hostile characters included, and the book still builds under -W -n.
    Every table of it, with or without a report, is numbered, captioned and referred to."""
    from ztown.publication import replicate

    book = scratch_book(tmp_path / "book", {"probe": ["print('probe')"]})
    toc = (book / "_toc.yml").read_text(encoding="utf-8") + "  - file: book/generated/replication\n"
    (book / "_toc.yml").write_text(toc, encoding="utf-8")
    result = run_ztown_book("--source", str(book), cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    built = book / "_build" / "html" / "book" / "generated" / "replication.html"
    page = html.unescape(built.read_text(encoding="utf-8"))
    assert "No replication has been run" in page
    assert set(_replication_tables(built)) == {"tbl-replication-tolerances"}

    odd = "a|b $x$ {glue}`y` *z* _w_"
    checks = [replicate.Check("01_x", "glue", "x-est", "0.5", "0.6", 0.1, "rel 1e-09", False),
              replicate.Check("01_x", "table", odd, odd, odd + "!", None, "equal words", False),
              replicate.Check("01_x", "claim", "P1", "supported", "not supported by these data", None, "same verdict", False),
              replicate.Check("01_x", "glue", "x-nan", "nan", "None", None, "equal", False)]
    run = replicate.NotebookRun("01_x", 1.0, "", checks)
    environment = replicate.environment(REPO_ROOT / "datapackage" / "datapackage.json")
    replicate.write_report(replicate.Replication(
        [run], environment, "2026-01-01T00:00:00+00:00", 2.0, book / "_build" / "replication"))
    result = run_ztown_book("--source", str(book), cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    page = html.unescape(built.read_text(encoding="utf-8"))
    assert "4 of 4 published results were not reproduced" in page and "not supported by these data" in page
    assert "x-est" in page and "a|b $x$ {glue}`y` *z* _w_" in page
    assert re.search(r'href="[./]*_downloads/[0-9a-f]+/report\.csv"', page)
    tables = _replication_tables(built)
    assert set(tables) == {f"tbl-replication-{t}" for t in
                           ("compared", "tolerances", "claims", "differences", "environment", "blas")}
    differences = tables["tbl-replication-differences"]["rows"]
    assert [odd, odd, odd + "!"] == differences[1][2:5], "user text shown literally"
    assert differences[3][3:5] == ["not a number", "none"]
    values = dict(tables["tbl-replication-environment"]["rows"])
    assert values["Python"] == environment["python"] and "2026-01-01 00:00 UTC" in page


# --- presentation: tables, figures, code, glue (issue 12) ------------------------------------

MISSING_TEXT = re.compile(r"^(nan|NaN|<NA>|None|NaT)$")
RAW_NAME = re.compile(r"^[a-z]+(_[a-z0-9]+)+$|^(se|ci|p|n|df|estimate|value|label)$")


class _Page(HTMLParser):
    """The tables, figures and images of a page's article, and its code cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.figures: list[dict] = []
        self.images: list[dict] = []
        self.code_cells: list[dict] = []  # one per cell_input: whether it sits in a folded <details>
        self.pasted_bold = 0
        self._stack: list[tuple[str, list[str]]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._caption: list[str] | None = None
        self._in_article = False

    def _inside(self, tag: str, cls: str | None = None) -> bool:
        return any(t == tag and (cls is None or cls in c) for t, c in self._stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "article":
            self._in_article = True
        if tag not in ("img", "br", "hr", "meta", "link", "input", "col", "source", "wbr"):
            self._stack.append((tag, classes))
        if not self._in_article:
            return
        if tag == "table":
            self.tables.append({"id": a.get("id", ""), "classes": classes, "caption": "", "number": "",
                                "header": [], "rows": []})
        elif tag == "caption" and self.tables:
            self._caption = []
        elif tag == "span" and "caption-number" in classes and self._inside("caption") and self.tables:
            self.tables[-1]["number"] = "pending"
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "figure":
            self.figures.append({"id": a.get("id", ""), "number": False, "caption": ""})
        elif tag == "span" and "caption-number" in classes and self._inside("figure"):
            self.figures[-1]["number"] = True
        elif tag == "img":
            self.images.append({"src": a.get("src", ""), "alt": a.get("alt", ""),
                                "in_figure": self._inside("figure")})
        elif tag == "div" and "cell_input" in classes:
            self.code_cells.append({"folded": self._inside("details", "hide")})

    def handle_endtag(self, tag):
        if self._in_article:
            if tag in ("td", "th") and self._cell is not None and self._row is not None:
                self._row.append(" ".join("".join(self._cell).split()))
                self._cell = None
            elif tag == "tr" and self._row is not None and self.tables:
                t = self.tables[-1]
                (t["header"] if self._inside("thead") else t["rows"]).append(self._row)
                self._row = None
            elif tag == "caption" and self._caption is not None and self.tables:
                self.tables[-1]["caption"] = " ".join("".join(self._caption).split())
                self._caption = None
        if tag == "article":
            self._in_article = False
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)
        if self._inside("figure") and self._inside("figcaption") and self.figures:
            self.figures[-1]["caption"] += data


def scan(page: Path) -> _Page:
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _rel(page: Path) -> str:
    return page.relative_to(HTML_DIR).as_posix()


def test_tables_have_words_and_values_no_index_and_no_raw_frames(book_build):
    problems = []
    for page in article_pages():
        rel = _rel(page)
        if "{list-table}" in page.read_text(encoding="utf-8"):
            problems.append(f"{rel}: a list-table printed as text (a backtick fence cannot carry backticks)")
        for t in scan(page).tables:
            where = f"{rel} table {t['id'] or t['caption'][:40]!r}"
            if "dataframe" in t["classes"]:
                problems.append(f"{where}: a raw DataFrame (use ztown.publication.tables)")
            header = [cell for row in t["header"] for cell in row]
            raw = [h for h in header if RAW_NAME.match(h)]
            if raw:
                problems.append(f"{where}: raw column names {raw}")
            missing = sorted({c for row in t["rows"] for c in row if MISSING_TEXT.match(c)})
            if missing:
                problems.append(f"{where}: {missing} in the cells")
            first = [row[0] for row in t["rows"] if row]
            if first and header and header[0] == "" and first == [str(i) for i in range(len(first))]:
                problems.append(f"{where}: an index column 0..n-1")
    assert not problems, "\n".join(problems)


def test_every_table_and_figure_is_numbered_and_captioned(book_build):
    problems = []
    for page in article_pages():
        rel = _rel(page)
        parsed = scan(page)
        for t in parsed.tables:
            if not re.match(r"^(Table|表) ?[A-Z0-9]+(\.\d+)*", t["caption"]):
                problems.append(f"{rel}: table {t['id'] or t['header'][:1]} has no numbered caption "
                                f"({t['caption']!r})")
        for f in parsed.figures:
            if not (f["number"] and f["caption"].strip()):
                problems.append(f"{rel}: figure {f['id']!r} is not numbered and captioned")
    assert not problems, "\n".join(problems)


def test_images_have_meaningful_alt_text(book_build):
    problems = []
    for page in html_pages():
        for img in scan(page).images:
            alt = img["alt"].strip()
            words = len(alt.split()) + len(re.findall(r"[\u4e00-\u9fff]", alt)) // 2  # Chinese: two characters a word
            if not alt or re.fullmatch(r"[0-9a-f]{16,}(\.\w+)?", alt) or words < 3:
                problems.append(f"{_rel(page)}: {img['src']} alt={alt!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_code_is_folded(book_build, chapter):
    """Every code cell a reader can see is folded (one click opens it); glue-only cells are removed."""
    page = HTML_DIR / "notebooks" / f"{chapter}.html"
    cells = scan(page).code_cells
    unfolded = sum(not c["folded"] for c in cells)
    assert unfolded == 0, f"{chapter}: {unfolded} of {len(cells)} code cells are not folded (tag them hide-input)"
    nb = nbformat.read(REPO_ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)
    glue_only = [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")
                 and all((o.get("metadata") or {}).get("scrapbook") for o in c.outputs)
                 and not any(k.endswith("image/png") for o in c.outputs for k in o.get("data", {}))
                 and "remove-cell" not in c.metadata.get("tags", [])]
    assert not glue_only, f"{chapter}: cells that only glue values are shown: tag them remove-cell\n" + \
        "\n---\n".join(c.source[:200] for c in glue_only)


def test_glued_values_are_set_in_the_text_weight():
    """myst-nb prints glued values bold (span.pasted-text); the book's stylesheet sets them in the text's weight."""
    css = (REPO_ROOT / "book" / "_static" / "ztown.css").read_text(encoding="utf-8")
    rule = re.search(r"span\.pasted-text[^{]*\{([^}]*)\}", css)
    assert rule and re.search(r"font-weight:\s*(inherit|normal|400)", rule.group(1))


def test_build_log_has_no_kernel_transport_warning(book_build):
    """ipykernel warns for each kernel started over TCP without CurveZMQ keys; the build provisions them."""
    output = book_build.stdout + book_build.stderr
    log = (BOOK_ROOT / "_build" / "book-build.log").read_text(encoding="utf-8")
    for text in (output, log):
        assert "IPKernelApp" not in text and "without encryption" not in text
    assert not [line for line in output.splitlines() if re.search(r"\bwarning\b", line, re.I)]


def test_appendices_are_lettered_with_their_own_figure_numbers(book_build):
    page = (HTML_DIR / "notebooks" / "06_truth_recovery.html").read_text(encoding="utf-8")
    assert re.search(r'<h1><span class="section-number">Appendix A\. </span>', page)
    assert re.search(r'<span class="caption-number">Fig\. A\.1 </span>', page)
    assert re.search(r'<span class="caption-number">Table A\.1 </span>', page)
    assert "Fig. 6." not in page and "Table 6." not in page


def test_a_scratch_book_numbers_tables_letters_appendices_and_describes_images(tmp_path):
    """The machinery on a small book: a table output is 'Table 1.1' and {numref} finds it; an appendix's
    figure is 'Fig. A.1'; a glued figure's alt text is its caption; no kernel warning."""
    setup = ("import pandas as pd\nimport matplotlib.pyplot as plt\n"
             "from ztown.publication import tables, publish\n"
             "df = pd.DataFrame({'estimate': [-0.5, None]})")
    def table(name):
        return (f"tables.table(df, ['estimate'], name='{name}', caption='Estimates of a test')")
    def figure(name):
        return f"fig, ax = plt.subplots(); ax.plot([1, 2], [3, 4]); publish.figure('{name}', fig)"
    def md(name, tname):
        return (f"See {{numref}}`{tname}` and {{numref}}`{name}`.\n\n:::{{glue:figure}} {name}\n:name: {name}\n\n"
                f"A rising line of a test.\n:::")
    book = scratch_book(tmp_path / "book", {"ch": [setup, table("tbl-ch"), figure("fig-ch")],
                                            "app": [setup, table("tbl-app"), figure("fig-app")]},
                        {"ch": md("fig-ch", "tbl-ch"), "app": md("fig-app", "tbl-app")})
    (book / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n"
                                   "  - caption: Chapters\n    numbered: true\n    chapters:\n      - file: ch\n"
                                   "  - caption: Appendices\n    numbered: true\n    chapters:\n      - file: app\n",
                                   encoding="utf-8")
    result = run_ztown_book("--source", str(book), cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "IPKernelApp" not in result.stdout + result.stderr
    ch = (book / "_build" / "html" / "ch.html").read_text(encoding="utf-8")
    app = (book / "_build" / "html" / "app.html").read_text(encoding="utf-8")
    assert '<span class="caption-number">Table 1.1 </span>' in ch and ">Table 1.1</span></a>" in ch
    assert '<span class="caption-number">Fig. 1.1 </span>' in ch
    assert '<span class="caption-number">Table A.1 </span>' in app and ">Fig. A.1</span></a>" in app
    assert re.search(r'<h1><span class="section-number">Appendix A\. </span>', app)
    assert re.search(r'<img alt="A rising line of a test\." ', ch)
    assert "ztown-table-notes" in ch and "\u2013" in ch and "nan" not in re.sub(r"<[^>]+>", "", ch).split()


NUMBERED = re.compile(r'<(table|figure)\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</\1>', re.S)
REFERENCE = re.compile(r'<a class="reference internal" href="([^"]*)"')


def unreferenced(page_html: str) -> list[str]:
    """The numbered tables and figures of a page that no link of the page points to ({numref} is
    rendered as a link to the element's id)."""
    targets = {href.split("#", 1)[1] for href in REFERENCE.findall(page_html) if "#" in href}
    return [f"{kind} {ident}" for kind, ident, body in NUMBERED.findall(page_html)
            if 'class="caption-number"' in body and ident not in targets]


def test_the_reference_check_finds_an_unreferenced_table():
    table = '<table class="t" id="tbl-x"><caption><span class="caption-number">Table 1.1 </span>x</caption></table>'
    assert unreferenced(table) == ["table tbl-x"]
    assert unreferenced('<p><a class="reference internal" href="#tbl-x">Table 1.1</a></p>' + table) == []
    assert unreferenced('<table id="tbl-y"><tr><td>no caption</td></tr></table>') == []


def test_every_table_and_figure_is_referenced_from_the_text(book_build):
    """Issue 12: every numbered table and figure is referenced from its page's prose with {numref}, in
    both editions."""
    problems = [f"{_rel(page)}: {item}" for page in article_pages()
                for item in unreferenced(page.read_text(encoding="utf-8"))]
    assert not problems, "not referenced from the text:\n" + "\n".join(problems)


def test_a_glued_negative_number_has_a_true_minus():
    from docutils import nodes

    from ztown.publication.sphinxext import true_minus_in_glued_numbers

    doc = nodes.paragraph()
    doc += nodes.inline("", "-0.72", classes=["pasted-text"])
    doc += nodes.inline("", "2014-2023", classes=["pasted-text"])
    doc += nodes.Text(" a hyphen -1 outside a glued value stays")
    true_minus_in_glued_numbers(None, doc)
    assert [n.astext() for n in doc.children] == ["\u22120.72", "2014-2023", " a hyphen -1 outside a glued value stays"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_glued_numbers_in_the_chapters_print_a_true_minus(book_build, chapter):
    for edition in (HTML_DIR, HTML_DIR / "zh"):
        page = (edition / "notebooks" / f"{chapter}.html").read_text(encoding="utf-8")
        hyphens = re.findall(r'<span class="pasted-text">-\d[^<]*</span>', page)
        assert not hyphens, f"{chapter}: glued numbers with a hyphen for a minus: {hyphens[:5]}"
        # ... and the prose, glued phrases included (`publish.true_minus`)
        from ztown.publication.translation import html_prose

        minus = [p for p in html_prose(page) if re.search(r"(?<![\w.])-(?=\d)", p)]
        assert not minus, f"{chapter}: a hyphen for a minus in the prose: {minus[:3]}"
