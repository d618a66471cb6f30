"""Sphinx extension that ties the book build to the data package it is built from.

Listed under `sphinx: extra_extensions` in _config.yml. On `config-inited`, before
sphinx-external-toc reads _toc.yml (its handler has priority 900; ours runs at 100), it

1. resolves the data package exactly as `ztown.data.loader.resolve_descriptor()` does
   ($ZTOWN_DATAPACKAGE, else the book's own datapackage/ beside _config.yml) and exports the absolute
   path as $ZTOWN_DATAPACKAGE, and the book's folder as $ZTOWN_PROJECT, so the notebook kernels
   (children of this process) read the same package and write below this book's _build/;
2. hashes the package (and the `ztown` helpers) into the config values `ztown_data_hash` and
   `ztown_code_hash`, declared with rebuild="env", so Sphinx re-reads every page when either
   changes, and points myst-nb's execution cache at `_build/.jupyter_cache/<data16>-<code8>`,
   so the cache can never serve outputs computed from other data or other helpers;
3. keeps the figure data the notebooks write with their execution cache, in
   `<cache>/figure_data/` ($ZTOWN_FIGURE_DATA for the kernels), and points `<srcdir>/_build/figure_data`
   (a symbolic link), where the pages' `{download}` links look, at it: the downloads are the data
   of this build (other data give other files), and a cached notebook's figure data come from the
   same execution as its cached outputs. Nothing is written into notebooks/ (the committed figure
   data change only through `ztown publish`);
4. writes the codebook, glossary, citation and replication-report pages into
   `<srcdir>/book/generated/`, which the table of contents lists (a glob included), so they must
   exist before the toc is parsed. The replication report is that of the last `ztown replicate`
   (`<srcdir>/_build/replication/`), or a page saying that none has been run.

myst-nb copies `nb_execution_cache_path` into its own configuration only on `builder-inited`,
after this handler, and jupyter-book passes its `execute.cache` value in as a config override,
which is applied before `config-inited`; so the value set here is the one used. Cache folders
of other data or helpers are kept (the few most recently used) so switching back is cheap.

On `html-page-context` it also removes the duplicate inline scripts Sphinx 7.4 writes (see
`drop_duplicate_inline_scripts`), which would otherwise throw a SyntaxError in every page.

Presentation (issue 12):

- `letter_appendices` (on `env-get-updated`, after Sphinx has numbered sections and figures): the
  chapters of the toctree part captioned "Appendices" (`ztown_appendix_captions`) are lettered,
  "Appendix A", "Appendix B", ..., and their figures and tables numbered in their own sequence
  (A.1, A.2, ...), instead of continuing the chapters' numbers;
- `alt_text_from_captions` (on `doctree-read`): an image in a figure that has no alt text gets its
  caption's text, so no image's alt text is its file name (myst-nb names glued images by hash);
- `true_minus_in_glued_numbers` (on `doctree-read`): a glued number's minus sign is the
  typographic minus (U+2212), as in the tables, not the hyphen of Python's format spec;
- `ExecutionTable` / `FillExecutionTable`: myst-nb's table of notebook executions, captioned and
  numbered like every table, its headers and methods in the edition's language
  (`translate_exec_table`);
- `pdf_link` (on `html-page-context`): when the build is made for a PDF edition
  ($ZTOWN_BOOK_PDF names the file, set by `ztown book --pdf`), every page's footer links it;
- kernels started by the build get CurveZMQ transport keys from their manager
  (`ztown.publication.book.encrypt_kernel_transport`), so ipykernel's "Kernel is running over
  TCP without encryption" warning has no cause.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import tempfile
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

from ztown import __version__
from ztown.data.paths import BUILD_FIGURE_DATA_LINK, DATAPACKAGE_DIR, FIGURE_DATA_ENV, PROJECT_ENV, REPLICATION_DIR

logger = logging.getLogger(__name__)

# sphinx_external_toc.parse_toc_to_env runs on config-inited with priority 900
BEFORE_EXTERNAL_TOC = 100
GENERATED_DIR = Path("book") / "generated"


def _sync_tree(fresh: Path, target: Path) -> None:
    """Make `target` a copy of `fresh`, touching only files whose content changed.

    Unchanged pages keep their modification time, so Sphinx does not re-read them (and the
    pages that link to them) on every build.
    """
    target.mkdir(parents=True, exist_ok=True)
    wanted = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    for old in [p for p in target.rglob("*") if p.is_file()]:
        if old.relative_to(target) not in wanted:
            old.unlink()
    for rel in sorted(wanted):
        src, dst = fresh / rel, target / rel
        if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def write_generated_pages(descriptor_path: Path, srcdir: Path, data_hash: str = "", code_hash: str = "") -> Path:
    """Write the data-package pages (`ztown.publication.codebook.write_pages`) and the replication-report page
    (`ztown.publication.replicate.report_page`) into `srcdir/book/generated`."""
    from ztown.publication.codebook import write_pages
    from ztown.publication.replicate import REPORT_PAGE_NAME, report_page

    target = Path(srcdir) / GENERATED_DIR
    with tempfile.TemporaryDirectory(prefix="ztown-generated-") as scratch:
        written = write_pages(descriptor_path, Path(scratch))
        if not written:
            raise ExtensionError(f"ztown.publication.codebook.write_pages wrote no page for {descriptor_path}")
        page = report_page(Path(srcdir) / REPLICATION_DIR, data_hash, code_hash)
        (Path(scratch) / REPORT_PAGE_NAME).write_text(page, encoding="utf-8")
        from ztown.publication.questionnaire import write_page as write_questionnaire
        write_questionnaire(Path(scratch))  # "The questionnaire", from the XLSForm's source
        _sync_tree(Path(scratch), target)
    return target


def link_figure_data(srcdir: Path, cache_dir: Path) -> Path:
    """Keep the build's figure data in `cache_dir/figure_data` and point the pages' link folder at it.

    An execution cache that has no figure data (made before they were kept with it, or damaged)
    is emptied, so its notebooks execute again and write them.
    """
    figure_dir = Path(cache_dir) / "figure_data"
    if Path(cache_dir).is_dir() and any(Path(cache_dir).iterdir()) and not figure_dir.is_dir():
        shutil.rmtree(cache_dir)
        logger.info("[ztown] emptied execution cache %s: it kept no figure data", cache_dir)
    figure_dir.mkdir(parents=True, exist_ok=True)
    link = Path(srcdir) / BUILD_FIGURE_DATA_LINK
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)  # a real folder left by an older build
    link.symlink_to(os.path.relpath(figure_dir, link.parent), target_is_directory=True)
    return figure_dir


def on_config_inited(app: Sphinx, config: Config) -> None:
    from ztown.publication.book import code_hash, data_package_hash, execution_cache_dir, prune_execution_caches
    from ztown.data.errors import DataPackageError
    from ztown.data.loader import ENV_VAR, resolve_descriptor

    # the book's own data package unless $ZTOWN_DATAPACKAGE names another; the kernels (children of
    # this process) see this book's folder as their project, wherever they were started from
    descriptor_path = resolve_descriptor(os.environ.get(ENV_VAR) or Path(app.srcdir) / DATAPACKAGE_DIR)
    os.environ[PROJECT_ENV] = str(Path(app.srcdir).resolve())
    try:
        data_hash = data_package_hash(descriptor_path)
    except DataPackageError as exc:
        raise ExtensionError(f"cannot build the book from this data package: {exc}") from exc
    os.environ[ENV_VAR] = str(descriptor_path)

    config.ztown_data_hash = data_hash
    config.ztown_code_hash = code_hash(Path(app.srcdir))
    config.ztown_datapackage = str(descriptor_path)
    cache_dir = execution_cache_dir(Path(app.outdir).parent, data_hash, config.ztown_code_hash)
    config.nb_execution_cache_path = str(cache_dir)
    figure_dir = link_figure_data(Path(app.srcdir), cache_dir)
    os.environ[FIGURE_DATA_ENV] = str(figure_dir)
    for old in prune_execution_caches(cache_dir):
        logger.info("[ztown] removed old execution cache %s", old)
    logger.info("[ztown] data package %s (sha256 %s); execution cache %s",
                descriptor_path, data_hash[:16], cache_dir)

    generated = write_generated_pages(descriptor_path, Path(app.srcdir), data_hash, config.ztown_code_hash)
    logger.info("[ztown] codebook pages written to %s", generated)


def drop_duplicate_inline_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                                  doctree) -> None:
    """Keep one copy of each inline <script> of a page.

    Sphinx 7.4 adds the scripts registered after `Builder.init()` a second time, with the file
    name '' instead of None, so inline scripts (sphinx-thebe's `const THEBE_JS_URL = ...`,
    sphinx-togglebutton's settings) appear twice, and the second `const` is a SyntaxError in
    the browser.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (getattr(script, "filename", script) or "", repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


APPENDIX_CAPTIONS = ["Appendices", "附录"]
APPENDIX_WORD = {"zh": "附录"}  # by the build's `language`; English otherwise
PDF_ENV = "ZTOWN_BOOK_PDF"  # the PDF edition's file name, relative to the HTML folder


def appendix_docs(env) -> list[str]:
    """The documents of the toctree part(s) whose caption is one of `ztown_appendix_captions`, in order."""
    captions = set(env.config.ztown_appendix_captions)
    root = env.config.root_doc
    if root not in env.found_docs:
        return []
    docs = []
    for toctree in env.get_doctree(root).findall(addnodes.toctree):
        if toctree.get("caption") in captions:
            docs += [ref for _title, ref in toctree["entries"] if ref in env.found_docs]
    return docs


def appendix_letter(k: int) -> str:
    return chr(ord("A") + k) if k < 26 else f"A{k - 25}"


def letter_appendices(app: Sphinx, env) -> list[str]:
    """Number the appendices A, B, ... and their figures and tables A.1, A.2, ..., B.1, ...

    Runs after Sphinx's toctree collector has assigned section and figure numbers (it connects
    `env-get-updated` at the default priority): the chapter number of each appendix is replaced
    by its letter wherever Sphinx keeps it (the page's section numbers, the toctree entries and
    the figure numbers), so headings, the sidebar, captions and {numref} all agree. The page's
    own title reads "Appendix A" ("附录A" in a Chinese build).
    """
    word = APPENDIX_WORD.get((env.config.language or "en").split("_")[0], "Appendix")
    sep = "" if word == "附录" else " "
    changed = []
    for k, doc in enumerate(appendix_docs(env)):
        letter = appendix_letter(k)

        def relabel(number):
            if not number:
                return number
            return type(number)([letter, *list(number)[1:]])

        secnumbers = env.toc_secnumbers.get(doc)
        if not secnumbers:
            continue  # the appendix part is not numbered: nothing to letter
        for anchor, number in list(secnumbers.items()):
            secnumbers[anchor] = relabel(number)
        if secnumbers.get(""):
            secnumbers[""] = (f"{word}{sep}{letter}",)
        for ref in env.tocs[doc].findall(nodes.reference):
            if ref.get("secnumber"):
                ref["secnumber"] = relabel(ref["secnumber"])
        title = env.titles.get(doc)
        if title is not None and title.get("secnumber"):
            title["secnumber"] = relabel(title["secnumber"])
        for numbers in env.toc_fignumbers.get(doc, {}).values():
            for figure_id, number in list(numbers.items()):
                numbers[figure_id] = (letter, number[-1])
        changed.append(doc)
    return changed


FIGURE_DATA_LINK_TEXT = ("Figure data (CSV)", "图数据（CSV）")


def alt_text_from_captions(app: Sphinx, doctree) -> None:
    """Give every image of a captioned figure that lacks alt text the caption's text."""
    for figure in doctree.findall(nodes.figure):
        captions = [c for c in figure.children if isinstance(c, nodes.caption)]
        if not captions:
            continue
        text = captions[0].astext()
        for link_text in FIGURE_DATA_LINK_TEXT:
            text = text.replace(link_text, "")
        text = " ".join(text.split()).rstrip(" .;:。；：")
        text += "。" if re.search(r"[\u4e00-\u9fff]$", text) else "."
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = text


def true_minus_in_glued_numbers(app: Sphinx, doctree) -> None:
    """Print a glued number's minus sign as the typographic minus (U+2212), as the tables and the
    glued phrases do (`publish.true_minus`): `{glue:text}` formats with Python's format spec, which
    writes a hyphen ("-0.72")."""
    from ztown.publication.publish import true_minus

    for node in list(doctree.findall(nodes.inline)):
        if "pasted-text" not in node.get("classes", []):
            continue
        for text in list(node.findall(nodes.Text)):
            fixed = true_minus(text.astext())
            if fixed != text.astext():
                text.parent.replace(text, nodes.Text(fixed))


def pdf_link(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Link the PDF edition from every page's footer, when this build comes with one."""
    pdf = os.environ.get(PDF_ENV)
    if not pdf or app.builder.name != "html":
        return
    href = context["pathto"](pdf, 1)
    label = "本书PDF版" if (app.config.language or "").startswith("zh") else "The book as PDF"
    footer = context.get("theme_extra_footer") or ""
    context["theme_extra_footer"] = f'{footer} <a class="ztown-pdf-link" href="{href}">{label}</a>'


from sphinx.transforms.post_transforms import SphinxPostTransform  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402


class ExecutionTable(SphinxDirective):
    """myst-nb's table of notebook executions (`nb-exec-table`) with a caption and a label.

    myst-nb's own directive makes its table only after Sphinx has numbered the tables, so it
    stays uncaptioned and unnumbered. This one puts a captioned, labelled table node in place
    at parse time (so it is numbered like every other table) and fills in myst-nb's rows after
    (`FillExecutionTable`).
    """

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"name": lambda text: text.strip()}

    def run(self):
        from myst_nb.ext.execution_tables import METADATA_KEY
        from myst_nb.sphinx_ import NbMetadataCollector

        # as myst-nb's directive does: the page is rewritten whenever a notebook is re-executed
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, METADATA_KEY, True)
        table = nodes.table(classes=["ztown-exec-table", "ztown-table"])
        title = nodes.title(self.arguments[0], self.arguments[0])
        table += title
        self.set_source_info(table)
        self.add_name(table)
        return [table]


# myst-nb's execution table in the build's `language`: its header cells and the execution methods
# (myst-nb's `nb_execution_mode`s, which the English prose names in code: `cache`)
EXEC_TABLE_WORDS = {"zh": {"Document": "文档", "Modified": "修改时间", "Method": "方法", "Run Time (s)": "运行时间（秒）",
                           "Status": "状态", "cache": "缓存（cache）", "inline": "内联（inline）", "force": "强制执行（force）",
                           "auto": "自动（auto）", "off": "不执行（off）"}}


def translate_exec_table(table: nodes.table, language: str | None) -> None:
    """Put the header cells and the Method column of myst-nb's execution table into `language`
    (`EXEC_TABLE_WORDS`); the documents' names, dates, times and status marks stay as they are."""
    words = EXEC_TABLE_WORDS.get((language or "en").split("_")[0].split("-")[0])
    if not words:
        return
    method = None
    for row in table.findall(nodes.row):
        entries = [e for e in row.children if isinstance(e, nodes.entry)]
        if isinstance(row.parent, nodes.thead):
            method = next((k for k, e in enumerate(entries) if e.astext() == "Method"), method)
            cells = entries
        else:
            cells = [entries[method]] if method is not None and method < len(entries) else []
        for cell in cells:
            for text in list(cell.findall(nodes.Text)):
                if str(text) in words:
                    text.parent.replace(text, nodes.Text(words[str(text)]))


class FillExecutionTable(SphinxPostTransform):
    """Fill each `ztown-exec-table` with the rows of myst-nb's execution statistics, in the build's language."""

    default_priority = 7  # before myst-nb's own (8) and the reference resolvers (9, 10)

    def run(self, **kwargs) -> None:
        from myst_nb.ext.execution_tables import make_stat_table
        from myst_nb.sphinx_ import NbMetadataCollector

        for table in list(self.document.findall(nodes.table)):
            if "ztown-exec-table" not in table["classes"]:
                continue
            made = make_stat_table(self.env.docname, NbMetadataCollector.get_doc_data(self.env))
            translate_exec_table(made, self.config.language)
            for child in list(made.children):
                table += child
            table["classes"] += [c for c in made["classes"] if c not in table["classes"]]


def setup(app: Sphinx) -> dict:
    # rebuild="env": a changed value makes Sphinx discard its saved environment and re-read all pages
    app.add_config_value("ztown_data_hash", "", "env", str)
    app.add_config_value("ztown_code_hash", "", "env", str)
    app.add_config_value("ztown_datapackage", "", "", str)  # informational: the hash decides
    app.add_config_value("ztown_appendix_captions", APPENDIX_CAPTIONS, "env", list)
    app.connect("config-inited", on_config_inited, priority=BEFORE_EXTERNAL_TOC)
    # after the toctree collector (default priority 500) has numbered sections and figures
    app.connect("env-get-updated", letter_appendices, priority=800)
    app.connect("doctree-read", alt_text_from_captions)
    app.connect("doctree-read", true_minus_in_glued_numbers)
    app.add_directive("ztown-exec-table", ExecutionTable)
    app.add_post_transform(FillExecutionTable)
    app.connect("html-page-context", pdf_link)
    from ztown.publication.book import encrypt_kernel_transport
    encrypt_kernel_transport()
    # late, after the extensions that add per-page scripts
    app.connect("html-page-context", drop_duplicate_inline_scripts, priority=900)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
