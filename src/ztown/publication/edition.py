"""The Chinese edition: its sources, its build beside the English book, and the language switch.

`ztown book` builds the English book into `_build/html`, then, for each language in `locales/`
(today `zh_CN`), writes that edition's sources into `_build/<code>/src/` and builds them into
`_build/html/<code>/`:

- the same notebooks, their code cells unchanged, their Markdown cells translated from the
  catalogues (`ztown.publication.translation`); the same data package; the kernels run with
  `$ZTOWN_LANG=<code>`, which the figure and table functions read to label in that language; the
  numbers are the same computations on the same data (a test compares the glued values of both
  builds);
- `_config.yml` with the translated title and footer, Sphinx's `language`, and Chinese search
  (Sphinx segments Chinese with jieba; the glossary's terms are given to it as a user dictionary, so
  三会一课 or 服务型党组织 are found as one word);
- `_toc.yml` with translated part captions;
- links (never copies) to what both editions read: the data package, `book/_static`, the
  bibliography, the Monte Carlo caches and the catalogues.

Nothing is written outside `_build/`. Every page of both editions carries a language switch that
leads to the same page in the other edition (`language_switch`, on `html-page-context`). The
pages generated at build time from the data package (codebook, citation, replication report) are
translated in the edition's own build, after they are written (`translate_generated_pages`).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from ztown.publication.translation import (Catalogue, Page, bilingual, chinese_terms, make_template,
                                          translate_sources)

LOCALES_DIR = "locales"
LANG_ENV = "ZTOWN_LANG"  # the language the kernels label figures and tables in ("en" if unset)
EDITIONS_ENV = "ZTOWN_EDITIONS"  # the editions a build is part of, e.g. "en,zh": the language switch
BOOK_DOMAIN = "_book"  # catalogue of the configuration's and the table of contents' texts
GENERATED_PREFIX = "book/generated/"
REPORT_DIR = "_build/replication"  # where `ztown replicate` writes its report (ztown.publication.replicate)
# sources both editions read, linked into an edition's source folder (never written by a build)
# (and every folder beside the notebooks: their committed caches and figure data, notebooks/montecarlo,
# notebooks/power, ...)
SHARED = ["datapackage", "book/_static", "book/references.bib", "requirements.lock", LOCALES_DIR]


@dataclass(frozen=True)
class Edition:
    code: str  # folder under _build/html and value of $ZTOWN_LANG
    locale: str  # gettext and Sphinx language
    name: str  # the language's own name, in the switch
    html_lang: str  # BCP 47, for hreflang
    # myst-nb's buttons of folded code cells (its default "Show code cell {type}" is English; the
    # book folds only inputs, `hide-input`)
    code_prompts: tuple[str, str] = ("Show code cell {type}", "Hide code cell {type}")


ENGLISH = Edition("en", "en", "English", "en")
EDITIONS = {"zh": Edition("zh", "zh_CN", "中文", "zh-CN", ("显示代码", "隐藏代码"))}


def available_editions(source: Path) -> list[Edition]:
    """The translated editions of the book in `source`: those with a catalogue folder in locales/."""
    return [e for e in EDITIONS.values() if (Path(source) / LOCALES_DIR / e.locale / "LC_MESSAGES").is_dir()]


def editions_env(source: Path) -> dict[str, str]:
    """The environment a build of `source` runs with, so every page links its other editions."""
    codes = [e.code for e in available_editions(source)]
    return {EDITIONS_ENV: ",".join([ENGLISH.code, *codes]), LANG_ENV: ENGLISH.code} if codes else {}


def catalogue_dir(source: Path, edition: Edition) -> Path:
    return Path(source) / LOCALES_DIR / edition.locale / "LC_MESSAGES"


def catalogue(source: Path, edition: Edition, domain: str) -> Catalogue:
    return Catalogue.read(catalogue_dir(source, edition) / f"{domain}.po")


# --- the pages of the book ----------------------------------------------------------------------

def toc_docnames(source: Path) -> list[str]:
    """Every document the table of contents lists, in order (globs expanded), root first."""
    source = Path(source)
    toc = yaml.safe_load((source / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(_strip_suffix(entry["file"]))
            if "glob" in entry:
                matches = sorted(p for p in source.glob(entry["glob"]) if p.suffix in (".md", ".ipynb"))
                names.extend(_strip_suffix(p.relative_to(source).as_posix()) for p in matches)
            for key in ("sections", "chapters", "parts"):
                walk(entry.get(key))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return list(dict.fromkeys(names))


def _strip_suffix(name: str) -> str:
    for suffix in (".ipynb", ".md"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def page(source: Path, docname: str) -> Page:
    for suffix in (".ipynb", ".md"):
        path = Path(source) / f"{docname}{suffix}"
        if path.is_file():
            return Page(docname, path, template=docname.startswith(GENERATED_PREFIX))
    raise FileNotFoundError(f"{docname}: no {docname}.ipynb or {docname}.md in {source}")


def book_pages(source: Path, generated: bool = True) -> list[Page]:
    """The pages of the book (written by hand; with `generated`, also those written at build time
    that exist)."""
    pages = []
    for docname in toc_docnames(source):
        if docname.startswith(GENERATED_PREFIX):
            if generated and any((Path(source) / f"{docname}{s}").is_file() for s in (".md", ".ipynb")):
                pages.append(page(source, docname))
            continue
        pages.append(page(source, docname))
    return pages


def book_texts(source: Path) -> list[str]:
    """The texts of the configuration and the table of contents that readers see: title, footer, captions."""
    config = yaml.safe_load((Path(source) / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((Path(source) / "_toc.yml").read_text(encoding="utf-8"))
    texts = [config.get("title", ""), config.get("author", ""), (config.get("html") or {}).get("extra_footer", "")]
    texts += [part["caption"] for part in toc.get("parts", []) if part.get("caption")]
    return [t for t in dict.fromkeys(texts) if t]


# --- writing an edition's sources --------------------------------------------------------------

@dataclass
class Prepared:
    """What writing an edition's sources found."""

    folder: Path
    untranslated: dict[str, list[str]] = field(default_factory=dict)  # docname -> English messages
    refused: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # docname -> (msgid, why)

    @property
    def missing(self) -> int:
        return sum(len(v) for v in self.untranslated.values()) + sum(len(v) for v in self.refused.values())


def edition_dir(source: Path, edition: Edition) -> Path:
    return Path(source) / "_build" / edition.code


def _write_if_changed(path: Path, data: bytes) -> None:
    """Leave an unchanged file alone: Sphinx re-reads only pages whose time changed."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _link(target: Path, link: Path) -> None:
    if link.is_symlink():
        if os.readlink(link) == os.path.relpath(target, link.parent):
            return
        link.unlink()
    elif link.exists():
        shutil.rmtree(link) if link.is_dir() else link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(target, link.parent), target_is_directory=target.is_dir())


def translated_config(source: Path, edition: Edition, search_dict: Path) -> dict:
    """The English `_config.yml` with the edition's title, footer, language and search."""
    config = yaml.safe_load((Path(source) / "_config.yml").read_text(encoding="utf-8"))
    texts = catalogue(source, edition, BOOK_DOMAIN).translations
    for key in ("title", "author"):
        if config.get(key) in texts:
            config[key] = texts[config[key]]
    html_options = config.setdefault("html", {})
    if html_options.get("extra_footer") in texts:
        html_options["extra_footer"] = texts[html_options["extra_footer"]]
    config["exclude_patterns"] = list(config.get("exclude_patterns", [])) + [LOCALES_DIR]
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config.update({
        "language": edition.locale,
        # the catalogues are read by this module, not by Sphinx: without this, Sphinx's default
        # locale_dirs (["locales"]) would compile .mo files into the source tree at every build
        "locale_dirs": [],
        "ztown_edition": edition.code,
        "html_search_language": edition.code,
        # jieba's user dictionary: the glossary's terms stay whole words in the search index
        "html_search_options": {"dict": str(search_dict)},
        "nb_code_prompt_show": edition.code_prompts[0],
        "nb_code_prompt_hide": edition.code_prompts[1],
    })
    css = list(sphinx_config.get("html_css_files", []))
    if (Path(source) / "book" / "_static" / f"ztown-{edition.code}.css").is_file():
        css.append(f"ztown-{edition.code}.css")
    sphinx_config["html_css_files"] = css
    return config


def translated_toc(source: Path, edition: Edition) -> dict:
    toc = yaml.safe_load((Path(source) / "_toc.yml").read_text(encoding="utf-8"))
    texts = catalogue(source, edition, BOOK_DOMAIN).translations
    for part in toc.get("parts", []):
        if part.get("caption") in texts:
            part["caption"] = texts[part["caption"]]
    return toc


def search_dictionary(path: Path) -> Path:
    """A jieba user dictionary of the study's Chinese terms (glossary, constructs, paths)."""
    lines = [f"{term} 1000 n" for term in chinese_terms()]
    _write_if_changed(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def write_sources(source: Path, edition: Edition) -> Prepared:
    """Write the edition's book into `_build/<code>/src/`: translated pages, config and toc, links."""
    source = Path(source).resolve()
    folder = edition_dir(source, edition) / "src"
    prepared = Prepared(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shared = SHARED + [p.relative_to(source).as_posix() for p in sorted((source / "notebooks").glob("*"))
                       if p.is_dir() and not p.name.startswith(".")]
    for rel in shared:
        if (source / rel).exists():
            _link(source / rel, folder / rel)
    # the last replication report (`ztown replicate`), so the edition's report page shows the same run
    report, report_link = source / REPORT_DIR, folder / REPORT_DIR
    if report.is_dir():
        _link(report, report_link)
    elif report_link.is_symlink():
        report_link.unlink()
    dictionary = search_dictionary(edition_dir(source, edition) / "search_terms.txt")
    config = translated_config(source, edition, dictionary)
    _write_if_changed(folder / "_config.yml", yaml.safe_dump(config, allow_unicode=True, sort_keys=False).encode())
    toc = translated_toc(source, edition)
    _write_if_changed(folder / "_toc.yml", yaml.safe_dump(toc, allow_unicode=True, sort_keys=False).encode())
    wanted = set()
    for book_page in book_pages(source, generated=False):
        result = translate_sources(book_page.pieces(), catalogue(source, edition, book_page.docname))
        target = folder / book_page.path.relative_to(source)
        wanted.add(target)
        if book_page.is_notebook:
            notebook = nbformat.read(book_page.path, as_version=4)
            markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
            for cell, text in zip(markdown, result.sources):
                cell.source = text
            data = nbformat.writes(notebook).encode("utf-8") + b"\n"
        else:
            data = result.sources[0].encode("utf-8")
        _write_if_changed(target, data)
        if result.untranslated:
            prepared.untranslated[book_page.docname] = result.untranslated
        if result.refused:
            prepared.refused[book_page.docname] = result.refused
    # pages dropped from the English book are dropped here too (generated pages are the build's)
    for old in list(folder.glob("book/*.md")) + list(folder.glob("notebooks/*.ipynb")):
        if old not in wanted and not old.is_symlink():
            old.unlink()
    return prepared


def write_report(prepared: Prepared, path: Path) -> None:
    """The untranslated and refused messages of an edition, for the translator (JSON)."""
    report = {"untranslated": prepared.untranslated,
              "refused": {doc: [{"msgid": m, "why": why} for m, why in items] for doc, items in prepared.refused.items()}}
    _write_if_changed(path, json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8"))


# --- building the editions (called by ztown.publication.book.build_book) ---------------------

def build_editions(source: Path, english, data: Path | None = None, keep_going: bool = False, echo=print,
                   extra_env: dict[str, str] | None = None):
    """Build every translated edition of `source` after its English build `english` (a BookBuild).

    Each edition is a complete `build_book` of its own sources, with its own execution cache;
    its HTML is then mirrored into `_build/html/<code>/`. A failed edition fails the whole
    build: its warnings and problems are added to `english`, and no HTML is left behind.
    Returns `english`, with each edition's BookBuild in `english.editions`. `extra_env` is what
    the English build had added to its environment (the PDF edition's name, for the footers).
    """
    from ztown.publication.book import _discard_build_state, build_book
    from ztown.publication.sphinxext import _sync_tree

    source = Path(source).resolve()
    for edition in available_editions(source):
        prepared = write_sources(source, edition)
        write_report(prepared, edition_dir(source, edition) / "untranslated.json")
        echo(f"[ztown] {edition.code} edition: sources in {prepared.folder}; "
             f"{prepared.missing} message(s) shown in English (see {edition_dir(source, edition) / 'untranslated.json'})")
        env = {**(extra_env or {}), **editions_env(source), LANG_ENV: edition.code}  # (editions_env: "en")
        descriptor = data if data is not None else _english_descriptor(english, source)
        result = build_book(prepared.folder, data=descriptor, keep_going=keep_going,
                            echo=lambda line, code=edition.code: echo(f"[{code}] {line}"),
                            extra_env=env, editions=False)
        english.editions[edition.code] = result
        english.seconds += result.seconds
        if not result.ok:
            english.returncode = english.returncode or result.returncode or 1
            english.warnings += [f"[{edition.code}] {w}" for w in result.warnings]
            english.problems += [f"[{edition.code}] {p}" for p in result.problems]
            _discard_build_state(source / "_build")
            break
        _sync_tree(result.html_dir, english.html_dir / edition.code)
    return english


def _english_descriptor(english, source: Path) -> Path:
    """The data package the English build read (from its environment), so both editions read the same."""
    from ztown.data.loader import ENV_VAR, resolve_descriptor

    return resolve_descriptor(os.environ.get(ENV_VAR) or Path(source) / "datapackage")


# --- in the Sphinx build of either edition ------------------------------------------------------

def translate_generated_pages(app, config) -> None:
    """In a translated edition's build: translate the pages `ztown.publication.sphinxext` has just
    generated from the data package (they exist only inside the build).

    A page whose translation is the same as in the last build keeps its file time, so Sphinx
    does not re-read it.
    """
    if config.ztown_edition == ENGLISH.code:
        return
    edition = EDITIONS[config.ztown_edition]
    source = Path(app.srcdir)
    shadow = Path(app.outdir).parent / "translated-generated"
    for path in sorted((source / GENERATED_PREFIX).glob("*.md")):
        docname = path.relative_to(source).with_suffix("").as_posix()
        result = translate_sources(page(source, docname).pieces(), catalogue(source, edition, docname))
        text = result.sources[0]
        previous = shadow / path.name
        if previous.is_file() and previous.read_text(encoding="utf-8") == text:
            mtime = previous.stat().st_mtime
            path.write_text(text, encoding="utf-8")
            os.utime(path, (mtime, mtime))
            continue
        path.write_text(text, encoding="utf-8")
        previous.parent.mkdir(parents=True, exist_ok=True)
        previous.write_text(text, encoding="utf-8")
        os.utime(previous, (path.stat().st_mtime, path.stat().st_mtime))


def other_editions(config) -> list[Edition]:
    codes = [c for c in (os.environ.get(EDITIONS_ENV) or "").split(",") if c]
    everyone = {ENGLISH.code: ENGLISH, **EDITIONS}
    return [everyone[c] for c in codes if c in everyone and c != config.ztown_edition]


def switch_href(pagename: str, this: str, other: str) -> str:
    """The relative address of page `pagename` in edition `other`, seen from edition `this`.

    English is at the root of the HTML folder, each other edition in a folder named by its code.
    """
    up = "../" * pagename.count("/")
    if this != ENGLISH.code:
        up += "../"
    folder = "" if other == ENGLISH.code else f"{other}/"
    return f"{up}{folder}{pagename}.html"


SWITCH_TEMPLATE = "ztown-language-switch.html"


def add_switch_template(app, config) -> None:
    """Give the theme's article header (shown on every page, the index and search pages included) a
    language switch, when the build is one edition of several ($ZTOWN_EDITIONS).

    The one-line template is written below the build folder and added to `templates_path`, so the
    package carries no template files and the source tree is not written to.
    """
    if not other_editions(config):
        return
    folder = Path(app.outdir).parent / "ztown-templates"
    _write_if_changed(folder / SWITCH_TEMPLATE,
                      b'{%- if ztown_language_links %}<div class="ztown-language-switch" '
                      b'style="display:flex;align-items:center;margin:0 .5rem;font-weight:600">'
                      b'{{ ztown_language_links }}</div>{%- endif %}\n')
    config.templates_path = [*config.templates_path, str(folder)]
    options = dict(config.html_theme_options or {})
    end = options.get("article_header_end") or ["article-header-buttons.html"]
    end = [end] if isinstance(end, str) else list(end)
    options["article_header_end"] = [SWITCH_TEMPLATE, *[t for t in end if t != SWITCH_TEMPLATE]]
    config.html_theme_options = options


def language_switch(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Link the same page in the other edition(s), in the article header of every page."""
    if app.builder.name != "html":
        return
    others = other_editions(app.config)
    if not others:
        return
    links = " · ".join(
        f'<a class="ztown-language-link" href="{html.escape(switch_href(pagename, app.config.ztown_edition, e.code))}"'
        f' hreflang="{e.html_lang}" lang="{e.html_lang}">{html.escape(e.name)}</a>' for e in others)
    context["ztown_language_links"] = links
    alternates = "".join(
        f'<link rel="alternate" hreflang="{e.html_lang}" '
        f'href="{html.escape(switch_href(pagename, app.config.ztown_edition, e.code))}" />\n' for e in others)
    context["metatags"] = context.get("metatags", "") + alternates


def setup(app) -> dict:
    from ztown import __version__

    app.add_config_value("ztown_edition", ENGLISH.code, "env", str)
    # after ztown.publication.sphinxext has written the generated pages (priority 100), before
    # sphinx-external-toc reads the table of contents (900)
    app.connect("config-inited", translate_generated_pages, priority=500)
    app.connect("config-inited", add_switch_template, priority=600)
    app.connect("html-page-context", language_switch)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}


# --- keeping the catalogues in step with the English --------------------------------------------

def glued_phrases(source: Path) -> list[str]:
    """The words the chapters glue as text (`ztown.publish.text`), read from the committed outputs.

    Numbers in them are placeholders (a phrase such as "bias -0.64 SE" is made in code from a result).
    """
    phrases: dict[str, None] = {}

    def add(value) -> None:
        phrases.setdefault(make_template(str(value).strip(), words=True)[0], None)

    for docname in toc_docnames(source):
        path = Path(source) / f"{docname}.ipynb"
        cells = nbformat.read(path, as_version=4).cells if path.is_file() else []  # (MyST pages keep no outputs)
        outputs = [output for cell in cells for output in cell.get("outputs", [])]
        # ... and the latest English build's, which may be newer than the committed outputs
        built = Path(source) / "_build" / "jupyter_execute" / f"{docname}.glue.json"
        if built.is_file():
            outputs += list(json.loads(built.read_text(encoding="utf-8")).values())
        for output in outputs:
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            data = output.get("data", {})  # committed outputs carry the mime prefix, myst-nb's glue.json not
            value = data.get(scrapbook.get("mime_prefix", "") + "text/markdown", data.get("text/markdown"))
            if value is not None:
                add(value)
        # the words a difference can be glued with, whichever sign these data give it
        for cell in cells:
            if cell.cell_type == "code":
                for match in DIRECTION_WORD.finditer(cell.source):
                    add(match.group(2))
    return [p for p in phrases if p]


def table_texts(source: Path) -> list[str]:
    """The captions, headers, notes and text cells of the book's tables, in English, from the
    committed outputs of the notebooks and, for the MyST pages with code (which keep no outputs),
    from the latest English build's executed copies (`_build/jupyter_execute/`), as for the glued
    phrases. `ztown.publication.tables` writes them into each table output's metadata.

    Numbers in them are placeholders, as in the glued phrases.
    """
    from ztown.publication.tables import TEXTS_KEY

    texts: dict[str, None] = {}
    for docname in toc_docnames(source):
        path = Path(source) / f"{docname}.ipynb"
        if not path.is_file():
            path = Path(source) / "_build" / "jupyter_execute" / f"{docname}.ipynb"
        if not path.is_file():
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                for text in (output.get("metadata", {}).get("text/markdown") or {}).get(TEXTS_KEY, []):
                    texts.setdefault(make_template(str(text).strip(), words=True)[0], None)
    return [t for t in texts if t]


DIRECTION_WORD = re.compile(r"\b(more|less|same)\s*=\s*[\"']([^\"']+)[\"']")


def current_messages(source: Path) -> dict[str, list[str]]:
    """Every catalogue's messages as the English book has them now: domain -> messages, in order.

    The pages generated from the data package are written afresh into a scratch folder (from the
    book's own data package), so the catalogues follow the data the book is published with.
    """
    import tempfile

    from ztown.data.loader import resolve_descriptor
    from ztown.publication.sphinxext import write_generated_pages

    source = Path(source).resolve()
    domains = {p.docname: p.messages() for p in book_pages(source, generated=False)}
    with tempfile.TemporaryDirectory(prefix="ztown-messages-") as scratch:
        shutil.copy(source / "_toc.yml", Path(scratch) / "_toc.yml")
        write_generated_pages(resolve_descriptor(source / "datapackage"), Path(scratch))
        for docname in toc_docnames(Path(scratch)):
            if docname.startswith(GENERATED_PREFIX):
                domains[docname] = page(Path(scratch), docname).messages()
    domains[BOOK_DOMAIN] = book_texts(source)
    from ztown.publication.translation import PHRASES_DOMAIN, TABLES_DOMAIN

    domains[PHRASES_DOMAIN] = glued_phrases(source)
    domains[TABLES_DOMAIN] = table_texts(source)
    return domains


def update_catalogues(source: Path, edition: Edition, templates: Path | None = None) -> dict[str, tuple[int, int]]:
    """Merge the English book's current messages into the edition's catalogues (msgmerge-style).

    Also writes the templates (`.pot`) into `templates` (default `_build/gettext/`), so
    `sphinx-intl update -p _build/gettext -d locales -l zh_CN` does the same merge.
    Returns {domain: (added, removed)} for the catalogues that changed.
    """
    from ztown.publication.translation import update_catalogue, write_template

    source = Path(source).resolve()
    templates = Path(templates) if templates is not None else source / "_build" / "gettext"
    changed = {}
    for domain, messages in current_messages(source).items():
        write_template(templates / f"{domain}.pot", messages)
        added, removed = update_catalogue(catalogue_dir(source, edition) / f"{domain}.po", messages, edition.locale)
        if added or removed:
            changed[domain] = (added, removed)
    return changed


@dataclass
class Coverage:
    domain: str
    messages: int
    translated: int
    fuzzy: int
    refused: list[tuple[str, str]]

    @property
    def untranslated(self) -> int:
        return self.messages - self.translated


def coverage(source: Path, edition: Edition) -> list[Coverage]:
    """How much of each catalogue is translated, against the English book as it is now."""
    from ztown.publication.translation import role_mismatch

    out = []
    for domain, messages in current_messages(source).items():
        cat = catalogue(source, edition, domain)
        refused = [(m, why) for m in messages if m in cat.translations
                   and (why := role_mismatch(m, cat.translations[m]))]
        translated = sum(1 for m in messages if m in cat.translations or bilingual(m)) - len(refused)
        fuzzy = sum(1 for m in messages if m in cat.fuzzy)
        out.append(Coverage(domain, len(messages), translated, fuzzy, refused))
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m ztown.publication.edition update|status [--language zh]`."""
    import argparse

    from ztown.data.paths import project_root

    parser = argparse.ArgumentParser(prog="python -m ztown.publication.edition",
                                     description="Keep the translated editions' catalogues in step with the English book.")
    parser.add_argument("command", choices=["update", "status"],
                        help="update: merge the English messages into locales/<language>/LC_MESSAGES/*.po; "
                             "status: how much of each page is translated")
    parser.add_argument("--language", default="zh", choices=sorted(EDITIONS))
    args = parser.parse_args(argv)
    source, edition = project_root(), EDITIONS[args.language]
    if args.command == "update":
        for domain, (added, removed) in update_catalogues(source, edition).items():
            print(f"{domain}.po: {added} new message(s), {removed} no longer used")
        return 0
    total = missing = 0
    for c in coverage(source, edition):
        total += c.messages
        missing += c.untranslated
        flag = "" if not c.untranslated else f"  ({c.untranslated} untranslated, {c.fuzzy} fuzzy, {len(c.refused)} refused)"
        print(f"{c.domain:45s} {c.translated:4d}/{c.messages:<4d}{flag}")
    print(f"{total - missing} of {total} messages translated")
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())


def build_edition_pdfs(source: Path, data: Path | None = None, echo=print):
    """The PDF of each translated edition, as `ztown.publication.book.build_pdf` makes the English one.

    Builds the edition's single-page HTML from its sources (written by the HTML build just before)
    and prints it to `_build/pdf/ztown-book-<code>.pdf`, with a copy in `_build/html/<code>/` under the
    English PDF's name, which that edition's footers link. Returns the single-page build that
    failed, if one did (its HTML removed, as any failed build), else None.
    """
    from ztown.publication.book import PDF_NAME, book_lock, build_book, print_pdf

    source = Path(source).resolve()
    for edition in available_editions(source):
        folder = edition_dir(source, edition) / "src"
        descriptor = data if data is not None else _english_descriptor(None, source)
        single = build_book(folder, data=descriptor, keep_going=True, echo=lambda line, c=edition.code: echo(f"[{c}] {line}"),
                            extra_env={**editions_env(source), LANG_ENV: edition.code}, editions=False,
                            builder="singlehtml")
        if not single.ok:
            return single
        texts = catalogue(source, edition, BOOK_DOMAIN).translations
        config = yaml.safe_load((source / "_config.yml").read_text(encoding="utf-8"))
        title = texts.get(config.get("title", ""), config.get("title", ""))
        note = texts.get((config.get("html") or {}).get("extra_footer", ""), "")
        out = source / "_build" / "pdf" / PDF_NAME.replace(".pdf", f"-{edition.code}.pdf")
        with book_lock(source):
            print_pdf(single.html_dir, out, title=title, note=note, contents=PDF_CONTENTS.get(edition.code, "Contents"))
            target = source / "_build" / "html" / edition.code / PDF_NAME
            if target.parent.is_dir():
                shutil.copyfile(out, target)
        echo(f"ztown book: printed {out}")
    return None


PDF_CONTENTS = {"zh": "目录"}  # the heading of the PDF's contents page
