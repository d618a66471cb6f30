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
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from pathlib import Path

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


def setup(app: Sphinx) -> dict:
    # rebuild="env": a changed value makes Sphinx discard its saved environment and re-read all pages
    app.add_config_value("ztown_data_hash", "", "env", str)
    app.add_config_value("ztown_code_hash", "", "env", str)
    app.add_config_value("ztown_datapackage", "", "", str)  # informational: the hash decides
    app.connect("config-inited", on_config_inited, priority=BEFORE_EXTERNAL_TOC)
    # late, after the extensions that add per-page scripts
    app.connect("html-page-context", drop_duplicate_inline_scripts, priority=900)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
