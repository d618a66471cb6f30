"""The built book in a real browser: Debian's Chromium, headless, driven by Playwright.

Every page of `_build/html` is opened from a local static server: no console error, every image
loaded, every same-site link and anchor resolves, search finds a chapter, and not one request
leaves 127.0.0.1. The front page is also opened from file://. Screenshots of the chapters go to
`_build/screenshots/`. Playwright never downloads a browser here; without /usr/bin/chromium the
tests skip, except under CI (the environment variable CI set), where that is a failure.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from ztown.publication.book import book_lock

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout these tests belong to

pytestmark = pytest.mark.browser

BOOK_ROOT = REPO_ROOT
HTML_DIR = BOOK_ROOT / "_build" / "html"
SCREENSHOT_DIR = BOOK_ROOT / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
CHAPTERS = ["01_status", "02_problems", "03_causes", "04_experiences", "05_paths", "06_truth_recovery"]
LOCAL_HOST = "127.0.0.1"


def _require_chromium():
    if CHROMIUM.is_file():
        return
    reason = f"{CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The book, built (or brought up to date) by `ztown book`, served on a random local port."""
    _require_chromium()
    result = subprocess.run([sys.executable, "-m", "ztown", "book", "--source", str(BOOK_ROOT)], cwd=tmp_path_factory.mktemp("cwd"),
                            text=True, capture_output=True, timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    with book_lock(BOOK_ROOT, shared=True):
        server = ThreadingHTTPServer((LOCAL_HOST, 0), functools.partial(_QuietHandler, directory=str(HTML_DIR)))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
        finally:
            server.shutdown()
            server.server_close()


class Browser:
    """One headless Chromium whose every request is checked: anything not on 127.0.0.1 is aborted
    and recorded."""

    def __init__(self, playwright):
        self.blocked: list[str] = []
        self.browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        self.context = self.browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        self.context.route("**/*", self._guard)

    def _guard(self, route):
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname != LOCAL_HOST:
            self.blocked.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def open(self, url: str, redirects: bool = False):
        """Open `url`, wait for MathJax to finish; return the page and its console errors.

        `redirects`: the page is a `<meta http-equiv="refresh">` stub (index.html); wait for the
        page it leads to instead.
        """
        page = self.context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error"
                and errors.append(f"console: {msg.text} ({msg.location.get('url')})"))
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        page.on("requestfailed", lambda req: urlparse(req.url).hostname == LOCAL_HOST
                and errors.append(f"request failed: {req.url} ({req.failure})"))
        if redirects:
            with page.expect_navigation(url=lambda u: u.split("#")[0] != url, wait_until="load"):
                response = page.goto(url, wait_until="commit")
        else:
            response = page.goto(url, wait_until="load")
        if url.startswith("http"):
            assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
        page.evaluate("() => (window.MathJax && MathJax.startup && MathJax.startup.promise) || null")
        page.wait_for_load_state("networkidle")
        return page, errors


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        b = Browser(playwright)
        yield b
        b.browser.close()


def page_paths() -> list[str]:
    return sorted(p.relative_to(HTML_DIR).as_posix() for p in HTML_DIR.rglob("*.html")
                  if not {"_static", "_sources"} & set(p.relative_to(HTML_DIR).parts))


class _Anchors(HTMLParser):
    """The ids and names a page defines (targets of #fragment links)."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value or "")


def is_redirect(path: str) -> bool:
    head = (HTML_DIR / path).read_text(encoding="utf-8")[:2000].lower()
    return 'http-equiv="refresh"' in head


@functools.cache
def anchors_of(path: str) -> frozenset[str]:
    parser = _Anchors()
    parser.feed((HTML_DIR / path).read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def test_every_page_renders_cleanly_and_stays_local(site, browser):
    pages = page_paths()
    assert len(pages) >= 15, pages
    problems: dict[str, list[str]] = {}
    checked_targets: dict[str, int] = {}
    for rel in pages:
        page, errors = browser.open(site + rel, redirects=is_redirect(rel))
        broken_images = page.evaluate(
            "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.currentSrc || i.src)")
        errors += [f"image not loaded: {src}" for src in broken_images]
        has_math, typeset = page.evaluate(
            "() => [!!document.querySelector('.math'), !!document.querySelector('mjx-container')]")
        if has_math and not typeset:
            errors.append("the page has math but MathJax typeset none of it")
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        page.close()
        for href in hrefs:
            target, fragment = urldefrag(href)
            if not target.startswith(site):
                continue  # plain links to other sites (repository, Binder) are not loaded
            if target not in checked_targets:
                checked_targets[target] = browser.context.request.get(target).status
            if checked_targets[target] != 200:
                errors.append(f"link {href}: HTTP {checked_targets[target]}")
                continue
            path = urlparse(target).path.lstrip("/") or "index.html"
            if fragment and path.endswith(".html") and unquote(fragment) not in anchors_of(unquote(path)):
                errors.append(f"link {href}: no element with id {fragment!r}")
        if errors:
            problems[rel] = sorted(set(errors))
    assert not problems, "\n".join(f"{p}:\n  " + "\n  ".join(e) for p, e in problems.items())
    assert not browser.blocked, f"requests that would have left {LOCAL_HOST}: {sorted(set(browser.blocked))}"


def _search_term() -> str:
    """A word from the first chapter's title: what a reader would type to find that chapter."""
    html = (HTML_DIR / "notebooks" / f"{CHAPTERS[0]}.html").read_text(encoding="utf-8")
    title = re.sub(r"<[^>]+>", "", re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1))
    words = [w for w in re.findall(r"[A-Za-z]{5,}", title) if w.lower() not in {"about", "which", "their", "there"}]
    assert words, f"no searchable word in the title {title!r}"
    return max(words, key=len)


def test_search_finds_the_chapter(site, browser):
    term = _search_term()
    page, errors = browser.open(f"{site}search.html?q={term}")
    page.wait_for_selector("#search-results li", timeout=30_000)
    results = page.evaluate("() => Array.from(document.querySelectorAll('#search-results li a')).map(a => a.href)")
    page.close()
    assert not errors, errors
    assert any(f"notebooks/{CHAPTERS[0]}.html" in r for r in results), (term, results)


def test_front_page_renders_from_file_url(site, browser):
    page, errors = browser.open((HTML_DIR / "index.html").as_uri(), redirects=is_redirect("index.html"))
    page.wait_for_selector("article h1", timeout=15_000)
    styled = page.evaluate("() => getComputedStyle(document.querySelector('.bd-sidebar-primary')).display")
    title = page.inner_text("article h1")
    page.close()
    assert not errors, errors
    assert styled != "none" and title.strip()
    assert not browser.blocked, browser.blocked


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_screenshot(site, browser, chapter):
    """Full-page screenshots for a person to look at; checks what can be checked mechanically."""
    page, errors = browser.open(f"{site}notebooks/{chapter}.html")
    notice = page.locator("div.admonition.synthetic-data").first
    assert notice.is_visible(), f"{chapter}: the synthetic-data notice is not visible"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{chapter}.png"), full_page=True)
    page.close()
    assert not errors, errors
    assert overflow <= 0, f"{chapter}: the page is {overflow}px wider than the window"
