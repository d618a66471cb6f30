"""Build the HTML book, and the hashes that key its notebook-execution cache.

`build_book()` runs `jupyter-book build <source> --builder html -W -n` as a subprocess of this
environment's jupyter-book, so the build is the same from any working directory. A build that
fails, or that logs a single warning, leaves no `_build/html` behind (and no doctrees, so the next
build re-reads every page and reports every warning again instead of hiding them behind the
incremental build).

The execution cache lives in `_build/.jupyter_cache/<data hash>-<code hash>/`: jupyter-cache keys
a notebook only by its own code cells, so the folder name carries what else the outputs depend on
(the data package the kernels read, and the `ztown` helpers and pinned environment they run with).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ztown.data.errors import DataPackageError, Problem
from ztown.data.paths import find_project_root, project_root

BUILD_DIR_NAME = "_build"
PDF_ENV = "ZTOWN_BOOK_PDF"  # read by ztown.publication.sphinxext: the PDF edition's file name in the HTML folder
PDF_NAME = "ztown-book.pdf"
CHROMIUM = Path("/usr/bin/chromium")
CACHE_DIR_NAME = ".jupyter_cache"
LOCK_NAME = ".ztown-book.lock"
UNFINISHED_MARKER = ".ztown-build-unfinished"  # exists while a build runs; left behind if killed

# Lines of jupyter-book/Sphinx output that are warnings: Sphinx's "file:line: WARNING: ..." and
# "WARNING: ...", and jupyter-book's own boxed "[Warning] ..." / "Warning: ..." messages.
WARNING_LINE = re.compile(r"\bWARNING:|\[Warning\]|^\W*Warning: ")
# Lines that name why a build failed (Sphinx errors, a notebook that failed to execute).
PROBLEM_LINE = re.compile(r"\bERROR:|\bWARNING:|Executing notebook failed|Extension error|"
                          r"^sphinx\.errors\.\w+: |^\W*Warning: ")
# what the build says it did: our extension's cache line, myst-nb's per-notebook execution line
CACHE_LINE = re.compile(r"^\[ztown\] data package .* execution cache (\S+)$")
EXECUTED_LINE = re.compile(r"^(\S+): Executed notebook in ([\d.]+) seconds")
TREATED_AS_ERROR = "Warning, treated as error:"  # Sphinx prints the warning itself on the next line
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# execution-cache folders kept besides the current one (other data packages, earlier helpers)
KEEP_OTHER_CACHES = 3


def _sha256_file(path: Path, digest: "hashlib._Hash") -> None:
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)


def _resource_files(descriptor_path: Path, descriptor: dict) -> list[tuple[str, str, Path]]:
    """Every local file a descriptor points to (data, and schema/dialect given as paths)."""
    base = descriptor_path.parent
    files = []
    for index, resource in enumerate(descriptor.get("resources", [])):
        name = resource.get("name", f"#{index}")
        paths = resource.get("path", [])
        paths = [paths] if isinstance(paths, str) else list(paths)
        paths += [resource[key] for key in ("schema", "dialect") if isinstance(resource.get(key), str)]
        for rel in paths:
            if re.match(r"^[a-z][a-z0-9+.-]*://", rel):
                raise DataPackageError(str(descriptor_path), [Problem(
                    name, None, "path", "remote-path", "a local file (the book is built offline)", rel,
                    str(descriptor_path))])
            files.append((name, rel, base / rel))
    return files


def data_package_hash(descriptor_path: Path) -> str:
    """SHA-256 over the descriptor and every file it points to, in descriptor order."""
    descriptor_path = Path(descriptor_path)
    if not descriptor_path.is_file():
        raise DataPackageError(str(descriptor_path), [Problem(
            None, None, None, "missing-descriptor", "a datapackage.json file", "no such file",
            str(descriptor_path))])
    raw = descriptor_path.read_bytes()
    try:
        descriptor = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataPackageError(str(descriptor_path), [Problem(
            None, exc.lineno, None, "invalid-json", "a JSON object", exc.msg, str(descriptor_path))]) from exc
    digest = hashlib.sha256()
    digest.update(b"datapackage.json\0")
    digest.update(raw)
    for resource, rel, path in _resource_files(descriptor_path, descriptor):
        if not path.is_file():
            raise DataPackageError(str(descriptor_path), [Problem(
                resource, None, "path", "missing-file", "an existing file", f"no file {path}", str(path))])
        digest.update(b"\0" + rel.encode() + b"\0")
        _sha256_file(path, digest)
    return digest.hexdigest()


def code_hash(repo_root: Path | None = None) -> str:
    """SHA-256 over the `ztown` package source and the project's lock file: what the notebooks run with."""
    import ztown

    repo_root = Path(repo_root) if repo_root is not None else find_project_root()
    package_dir = Path(ztown.__file__).resolve().parent
    files = sorted(p for p in package_dir.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    lock = repo_root / "requirements.lock" if repo_root is not None else None
    if lock is not None and lock.is_file():
        files.append(lock)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        _sha256_file(path, digest)
    return digest.hexdigest()


def execution_cache_dir(build_dir: Path, data_hash: str, helpers_hash: str) -> Path:
    """Where myst-nb's jupyter-cache lives for this data package and these helpers."""
    return Path(build_dir) / CACHE_DIR_NAME / f"{data_hash[:16]}-{helpers_hash[:8]}"


def prune_execution_caches(current: Path, keep_others: int = KEEP_OTHER_CACHES) -> list[Path]:
    """Mark `current` as just used and delete all but the `keep_others` most recently used others.

    Every change of data or helpers starts a new cache folder; without pruning they pile up.
    """
    current.mkdir(parents=True, exist_ok=True)
    os.utime(current)
    others = sorted((p for p in current.parent.iterdir() if p.is_dir() and p != current),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    removed = others[keep_others:]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def encrypt_kernel_transport() -> None:
    """Have kernels started from this process use CurveZMQ encryption on their TCP sockets.

    ipykernel (7.4) logs "Kernel is running over TCP without encryption" whenever its manager
    starts it over TCP without CurveZMQ keys, which is jupyter_client's default
    (`KernelManager.transport_encryption = "disabled"`). The kernelspec of this environment
    declares `supported_encryption: ["curve"]`, so the policy "auto" makes the manager provision
    keys and the kernel encrypts. myst-nb executes notebooks through jupyter-cache and nbclient,
    which create their kernel managers without a traitlets config, so the policy is set as the
    class default here (in the build process, before any kernel starts). Nothing changes when
    pyzmq has no CurveZMQ support.
    """
    import zmq
    from jupyter_client.manager import KernelManager

    if zmq.has("curve"):
        KernelManager.transport_encryption.default_value = "auto"


@dataclass
class BookBuild:
    """What one `jupyter-book build` did."""

    returncode: int
    seconds: float
    html_dir: Path
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # warnings, errors and exceptions, in order
    log_path: Path | None = None
    execution_cache: Path | None = None  # the jupyter-cache folder this build used
    executed: dict[str, float] = field(default_factory=dict)  # notebook path -> seconds, run (not cached) now
    # the translated editions built after this one (ztown.publication.edition): code -> their build
    editions: dict[str, "BookBuild"] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.warnings


def jupyter_book_executable() -> Path:
    """The jupyter-book of the running interpreter's environment (not whatever is on PATH)."""
    exe = Path(sys.executable).parent / "jupyter-book"
    if not exe.is_file():
        raise FileNotFoundError(f"jupyter-book is not installed next to {sys.executable} (run `make env`)")
    return exe


@contextlib.contextmanager
def book_lock(source: Path, shared: bool = False):
    """Hold the lock of `source/_build`: exclusive while building, shared while reading the HTML.

    Test workers and readers (the browser test) take it shared, so no build rewrites the pages
    under them; a build waits for them, and they wait for a build to finish.
    """
    build_dir = Path(source) / BUILD_DIR_NAME
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / LOCK_NAME).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_book(source: Path | None = None, data: Path | None = None, keep_going: bool = False,
               echo=print, extra_env: dict[str, str] | None = None, editions: bool = True,
               builder: str = "html") -> BookBuild:
    """Build `source` (a folder with _config.yml and _toc.yml) into `source/_build/html`.

    `data`, when given, is the data package (folder or datapackage.json) the notebooks read;
    otherwise they read $ZTOWN_DATAPACKAGE or the book's own datapackage/. `source` defaults to the
    project found from the working directory (`ztown.data.paths.project_root`). `keep_going`
    reports every warning instead of stopping at the first. Only one build of a source runs at
    a time (see `book_lock`).

    With `editions` (the default), each translated edition of the book (`locales/<language>/`) is
    built after the English one, into `_build/html/<code>/` (`ztown.publication.edition`); the
    result's `seconds`, `warnings` and `ok` cover all editions. `extra_env` is added to the
    environment of the build (an edition's build sets $ZTOWN_LANG with it).

    `builder` "singlehtml" writes the one-page edition the PDF is printed from into
    `source/_build/singlehtml` (see `build_pdf`).
    """
    if builder not in ("html", "singlehtml"):
        raise ValueError(f"builder {builder!r}: html or singlehtml")
    source = Path(source).resolve() if source is not None else project_root()
    for required in ("_config.yml", "_toc.yml"):
        if not (source / required).is_file():
            raise FileNotFoundError(f"{source / required} does not exist: not a book folder")
    env = dict(os.environ)
    env.update(extra_env or {})
    if editions:
        from ztown.publication.edition import editions_env  # every page links its other editions

        env.update(editions_env(source))
    if data is not None:
        from ztown.data.loader import ENV_VAR, resolve_descriptor  # (imports pandas: only when needed)

        descriptor = resolve_descriptor(data)
        if not descriptor.is_file():
            raise FileNotFoundError(f"--data {data}: no data package descriptor at {descriptor}")
        env[ENV_VAR] = str(descriptor)
    build_dir = source / BUILD_DIR_NAME
    html_dir = build_dir / builder
    log_path = build_dir / ("book-build.log" if builder == "html" else f"book-build-{builder}.log")
    unfinished = build_dir / UNFINISHED_MARKER
    command = [str(jupyter_book_executable()), "build", str(source), "--builder", builder, "-W", "-n"]
    if keep_going:
        command.append("--keep-going")

    with book_lock(source):
        if unfinished.exists():
            # an earlier build was killed: its saved environment may hold pages read with warnings
            _discard_build_state(build_dir)
        unfinished.touch()
        started = time.perf_counter()
        warnings, problems, executed = [], [], {}
        execution_cache = None
        after_treated_as_error = False
        with log_path.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(command, cwd=source, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                       errors="replace")
            assert process.stdout is not None
            for line in process.stdout:
                echo(line.rstrip("\n"))
                plain = ANSI_ESCAPE.sub("", line)
                log.write(plain)
                if WARNING_LINE.search(plain):
                    warnings.append(plain.strip())
                if PROBLEM_LINE.search(plain) or (after_treated_as_error and plain.strip()):
                    problems.append(plain.strip())
                after_treated_as_error = plain.strip() == TREATED_AS_ERROR
                if match := CACHE_LINE.match(plain.strip()):
                    execution_cache = Path(match.group(1))
                if match := EXECUTED_LINE.match(plain.strip()):
                    executed[match.group(1)] = float(match.group(2))
            returncode = process.wait()
        result = BookBuild(returncode, time.perf_counter() - started, html_dir, warnings, problems,
                           log_path, execution_cache, executed)
        if not result.ok:
            _discard_build_state(build_dir, builder)
        unfinished.unlink()
        if result.ok and editions:
            from ztown.publication.edition import build_editions

            result = build_editions(source, result, data=data, keep_going=keep_going, echo=echo, extra_env=extra_env)
    return result


def _discard_build_state(build_dir: Path, builder: str = "html") -> None:
    """Remove the HTML and the saved Sphinx environment, keeping only the execution cache.

    Stale HTML would look current; stale doctrees would let the next incremental build skip,
    and so hide, the pages that had warnings. Cached notebook outputs stay valid (they are keyed
    by data and code, and only successful executions are cached).
    """
    shutil.rmtree(build_dir / builder, ignore_errors=True)
    shutil.rmtree(build_dir / ".doctrees", ignore_errors=True)


# --------------------------------------------------------------------------- the PDF edition

PDF_FOOTER = ('<div style="font-size:8px; width:100%; text-align:center; color:#555; font-family:sans-serif;">'
              '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
PDF_TITLE_SCRIPT = """([title, note, contents]) => {
  // a title page and a contents page, made from the chapters' own headings (with their numbers)
  const block = document.createElement('div');
  block.className = 'ztown-pdf-title';
  const h = document.createElement('p'); h.className = 'ztown-pdf-title-main'; h.textContent = title;
  const p = document.createElement('p'); p.className = 'ztown-pdf-title-note'; p.textContent = note;
  block.append(h, p);
  const nav = document.createElement('nav');
  nav.className = 'ztown-pdf-contents';
  const head = document.createElement('p'); head.className = 'ztown-pdf-contents-title'; head.textContent = contents;
  const list = document.createElement('ul');
  for (const h2 of document.querySelectorAll('.toctree-wrapper > section > h2')) {
    const section = h2.parentElement;
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = '#' + section.id;
    link.textContent = h2.textContent.replace(/#$/, '').trim();
    item.append(link);
    list.append(item);
  }
  nav.append(head, list);
  const article = document.querySelector('article') || document.body;
  article.prepend(block, nav);
}"""


def print_pdf(html_dir: Path, out: Path, title: str = "", note: str = "", contents: str = "Contents",
              chromium: Path = CHROMIUM, timeout_ms: int = 180_000) -> Path:
    """Print the single-page HTML edition in `html_dir` (its index.html) to the PDF file `out`.

    Debian's Chromium, driven by Playwright (which downloads no browser here), prints with the
    book's print styles (book/_static/ztown.css: no navigation, no folded code, the contents list
    first, each chapter on a new page), A4, page numbers in the footer, a PDF outline (bookmarks)
    from the headings, and the fonts embedded (Noto Sans CJK for Chinese). `title` and `note`
    open the first page, then a contents page (`contents` is its heading: "目录" for a Chinese edition)
    lists the chapters. Works for any edition's folder (the Chinese one included).
    """
    from playwright.sync_api import sync_playwright

    html_dir, out = Path(html_dir), Path(out)
    index = html_dir / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"{index} does not exist: build the single-page edition first")
    if not Path(chromium).is_file():
        raise FileNotFoundError(f"{chromium} is not installed (apt-get install chromium): it prints the PDF")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    # Sphinx's singlehtml builder writes the root page (book/intro.html) with links relative to the
    # output folder, and index.html is only a redirect to it: print a copy placed at the top.
    redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index.read_text(encoding="utf-8")[:500],
                         re.IGNORECASE)
    page_file = index
    if redirect and (html_dir / redirect.group(1)).is_file():
        page_file = html_dir / "ztown-print.html"
        shutil.copyfile(html_dir / redirect.group(1), page_file)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.abort() if route.request.url.startswith(("http:", "https:"))
                       else route.continue_())
            page.goto(page_file.as_uri(), wait_until="load", timeout=timeout_ms)
            page.wait_for_load_state("networkidle", timeout=timeout_ms)
            page.evaluate("() => (window.MathJax && MathJax.startup && MathJax.startup.promise) || null")
            if title:
                page.evaluate(PDF_TITLE_SCRIPT, [title, note, contents])
            page.emulate_media(media="print")
            page.pdf(path=str(partial), format="A4", print_background=True, display_header_footer=True,
                     header_template="<span></span>", footer_template=PDF_FOOTER, outline=True, tagged=True,
                     margin={"top": "16mm", "bottom": "16mm", "left": "15mm", "right": "15mm"})
        finally:
            browser.close()
    partial.replace(out)
    return out


PDF_NOTE = ("All data about Z town and the comparison towns in this book are synthetic; only the national "
            "figures are real, each with its source.")


def build_pdf(source: Path | None = None, data: Path | None = None, echo=print) -> tuple[BookBuild, Path | None]:
    """The HTML book (its footers linking the PDF), the single-page edition, and the PDF printed from it.

    Writes `_build/pdf/ztown-book.pdf` and a copy in `_build/html/` (the pages' link). Returns the
    build that failed, if one did (and no PDF), else the single-page build and the PDF.
    """
    source = Path(source).resolve() if source is not None else project_root()
    html = build_book(source, data=data, keep_going=True, echo=echo, extra_env={PDF_ENV: PDF_NAME})
    if not html.ok:
        return html, None
    single = build_book(source, data=data, keep_going=True, echo=echo, editions=False, builder="singlehtml")
    if not single.ok:
        return single, None
    from ztown.publication.codebook import BOOK_TITLE

    out = source / BUILD_DIR_NAME / "pdf" / PDF_NAME
    with book_lock(source):
        print_pdf(single.html_dir, out, title=BOOK_TITLE, note=PDF_NOTE)
        shutil.copyfile(out, html.html_dir / PDF_NAME)
    echo(f"ztown book: printed {out}")
    from ztown.publication.edition import build_edition_pdfs  # the translated editions' PDFs

    failed = build_edition_pdfs(source, data=data, echo=echo)
    if failed is not None:
        return failed, None
    return single, out
