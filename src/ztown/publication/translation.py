"""Translating the book's pages: Markdown split into messages, gettext catalogues, and their checks.

Sphinx's own gettext route does not fit this book: it cannot apply translations to notebooks
(myst-nb re-parses a translated paragraph as a whole notebook and fails, executablebooks/MyST-NB#587),
and MyST paragraphs are extracted by their rendered text, so a paragraph's message would hold the
glued numbers of one build instead of its `{glue:text}` roles. Here the messages are taken from
the Markdown *source* instead: every heading, paragraph, list, table row, admonition title and
figure caption of a page (a `.md` page or a notebook's Markdown cells) is one message, with its
roles as written. Code, math, labels, directive options and code cells are never messages, so a
translated page keeps exactly the code, the figures and the glued values of the English page.

Translations are ordinary gettext catalogues, one `.po` file per page in
`locales/<language>/LC_MESSAGES/<page>.po` (the layout of sphinx-intl), so any PO editor works and
`update_catalogues` (= `python -m ztown.publication.translation update`) merges a changed English
text the way msgmerge does: a changed paragraph keeps its old translation marked fuzzy, with the old
English beside it. Only non-fuzzy translations are used; a paragraph without one stays in English
(and the tests say which). A translation that does not carry the same glue, reference, citation
and download roles as its English is refused (`role_mismatch`), so the two editions cannot show
different numbers.

Pages generated from the data package (codebook, citation, replication report) say data-dependent
things ("2418 rows"); their messages are templates: every number becomes a numbered placeholder
`{#1}`, `{#2}` ... that the translation must keep and that is filled in from the English page.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ztown.publication.publish import NUMBER_WORDS  # small numbers in words, both languages

# Directives whose body is prose (translated); any other fenced block is kept verbatim.
PROSE_DIRECTIVES = {"ztown-exec-table", "admonition", "note", "warning", "important", "tip", "hint", "caution", "attention",
                    "seealso", "epigraph", "glue:figure", "figure", "list-table", "table", "margin",
                    "sidebar", "topic", "dropdown"}
# ... and those of them whose argument is a title to translate (the others' argument is a name).
TITLED_DIRECTIVES = {"ztown-exec-table", "admonition", "list-table", "table", "margin", "sidebar", "topic", "dropdown"}

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*?)\s*$")
DIRECTIVE_INFO = re.compile(r"^\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^[ \t]*:[\w-]+:(?:\s.*)?$")
LABEL = re.compile(r"^[ \t]*\([\w:.-]+\)=\s*$")
HEADING = re.compile(r"^(?P<indent>[ \t]*)(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t]*#*\s*$")
LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|\d+[.)])(?:[ \t]+|$)")
TABLE_ROW = re.compile(r"^[ \t]*\|")
TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$")
INCLUDE = re.compile(r"^```\{include\}\s*(?P<path>\S+)\s*\n(?P<options>(?:[ \t]*:[\w-]+:.*\n)*)```[ \t]*$",
                     re.MULTILINE)
# A MyST role: {name}`content`
ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<content>[^`]*)`")
# Numbers that a template message replaces by placeholders (generated pages only)
NUMBER = re.compile(r"(?<![\w#.])\d+(?:[.,]\d+)*(?![\w])")
PLACEHOLDER = re.compile(r"\{#(\d+)\}")
PROTECTED = re.compile(r"\{[\w:.-]+\}`[^`]*`|`[^`]*`|\]\([^)]*\)|<https?://[^>]*>")


@dataclass
class Piece:
    """A run of a Markdown source: kept as it is (`msgid` None) or one message to translate.

    A message piece is rendered as `head`, then the message's lines (the first as it is, the next
    ones after `indent`), then `tail`; `text` is the original source of the whole piece.
    """

    text: str
    msgid: str | None = None
    head: str = ""
    indent: str = ""
    tail: str = "\n"
    values: tuple[str, ...] = ()  # the numbers a template message stands for, in order

    def render(self, message: str) -> str:
        if self.values:
            message = fill_placeholders(message, self.values)
        body = message.replace("\n", "\n" + self.indent)
        return self.head + body + self.tail


def _dedent(lines: list[str]) -> tuple[str, list[str]]:
    widths = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    width = min(widths) if widths else 0
    indent = lines[0][:width] if lines else ""
    return indent, [line[width:] for line in lines]


def normalize_paragraph(lines: list[str]) -> str:
    """One message from the lines of a paragraph: soft line breaks become spaces.

    A line that starts a list item or a table row keeps its line break (and its relative
    indentation), so lists and tables keep their structure; re-wrapping the English text changes
    no message.
    """
    out = ""
    previous_row = False
    for number, raw in enumerate(lines):
        line = raw.rstrip("\n").rstrip()
        row = bool(TABLE_ROW.match(line))
        if number == 0:
            out = line.strip()
        elif LIST_ITEM.match(line) or row or previous_row:
            out += "\n" + line
        else:
            out += " " + line.strip()
        previous_row = row
    return out


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def _starts_block(line: str) -> bool:
    return bool(FENCE.match(line) or HEADING.match(line) or LABEL.match(line) or line.lstrip().startswith("%")
                or line.lstrip().startswith("<!--") or line.strip().startswith("$$"))


def segment(text: str) -> list[Piece]:
    """Split Markdown (MyST) into verbatim pieces and message pieces; their texts concatenate to `text`."""
    lines = text.splitlines(keepends=True)
    pieces: list[Piece] = []
    i = 0
    if lines and lines[0].strip() == "---":  # front matter (a MyST notebook's kernelspec)
        end = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), None)
        if end is not None:
            pieces.append(Piece("".join(lines[:end + 1])))
            i = end + 1
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or LABEL.match(line) or stripped.startswith("%"):  # blank, label, MyST comment
            pieces.append(Piece(line))
            i += 1
        elif stripped.startswith("<!--"):
            end = next((k for k in range(i, len(lines)) if "-->" in lines[k]), len(lines) - 1)
            pieces.append(Piece("".join(lines[i:end + 1])))
            i = end + 1
        elif stripped.startswith("$$"):
            closed = stripped.endswith("$$") and len(stripped) > 2
            end = i if closed else next((k for k in range(i + 1, len(lines)) if lines[k].rstrip().endswith("$$")),
                                        len(lines) - 1)
            pieces.append(Piece("".join(lines[i:end + 1])))
            i = end + 1
        elif match := FENCE.match(line):
            i = _fenced(lines, i, match, pieces)
        elif match := HEADING.match(line):
            newline = "\n" if line.endswith("\n") else ""
            pieces.append(Piece(line, match["text"], head=f"{match['indent']}{match['hashes']} ", tail=newline))
            i += 1
        else:
            end = i + 1
            while end < len(lines) and lines[end].strip() and not _starts_block(lines[end]):
                end += 1
            block = lines[i:end]
            if all(TABLE_ROW.match(row) for row in block):
                for row in block:
                    pieces.append(_table_row(row))
            elif LIST_ITEM.match(block[0]):
                pieces.extend(_list_items(block))
            else:
                indent, body = _dedent(block)
                newline = "\n" if block[-1].endswith("\n") else ""
                pieces.append(Piece("".join(block), normalize_paragraph(body), head=indent, indent=indent,
                                    tail=newline))
            i = end
    return pieces


def _list_items(block: list[str]) -> list[Piece]:
    """One message per item of a list (at the list's own level); nested lists stay in their item."""
    level = len(LIST_ITEM.match(block[0])["indent"])
    starts = [k for k, line in enumerate(block)
              if (m := LIST_ITEM.match(line)) and len(m["indent"]) == level]
    pieces = []
    for start, end in zip(starts, starts[1:] + [len(block)]):
        lines = block[start:end]
        match = LIST_ITEM.match(lines[0])
        head = lines[0][:match.end()]
        width = len(head.rstrip("\n"))
        rest = [line[min(width, len(line) - len(line.lstrip(" \t"))):] for line in lines[1:]]
        body = normalize_paragraph([lines[0][match.end():]] + rest)
        if not body.strip():
            pieces.append(Piece("".join(lines)))
            continue
        newline = "\n" if lines[-1].endswith("\n") else ""
        if head.endswith("\n"):  # an empty first line: the item's text starts on the next line
            pieces.append(Piece("".join(lines)))
            continue
        pieces.append(Piece("".join(lines), body, head=head, indent=" " * width, tail=newline))
    return pieces


def _table_row(row: str) -> Piece:
    if TABLE_SEPARATOR.match(row):
        return Piece(row)
    indent = row[:len(row) - len(row.lstrip(" \t"))]
    newline = "\n" if row.endswith("\n") else ""
    return Piece(row, row.strip(), head=indent, tail=newline)


def _fenced(lines: list[str], i: int, match: re.Match, pieces: list[Piece]) -> int:
    """A fenced block from line `i`: verbatim, or a prose directive with translated title and body."""
    fence = match["fence"]
    end = next((k for k in range(i + 1, len(lines)) if _closes(lines[k], fence)), len(lines))
    directive = DIRECTIVE_INFO.match(match["info"])
    if directive is not None and directive["name"] == "glossary" and fence[0] != "~":
        return _glossary(lines, i, end, pieces)
    if directive is None or directive["name"] not in PROSE_DIRECTIVES or fence[0] == "~":
        pieces.append(Piece("".join(lines[i:end + 1])))
        return end + 1
    header = lines[i]
    if directive["name"] in TITLED_DIRECTIVES and directive["arg"]:
        head = f"{match['indent']}{fence}{{{directive['name']}}} "
        pieces.append(Piece(header, directive["arg"], head=head, tail="\n" if header.endswith("\n") else ""))
    else:
        pieces.append(Piece(header))
    k = i + 1
    while k < end and OPTION.match(lines[k]):
        pieces.append(Piece(lines[k]))
        k += 1
    pieces.extend(segment("".join(lines[k:end])))
    if end < len(lines):
        pieces.append(Piece(lines[end]))
    return end + 1


def _glossary(lines: list[str], i: int, end: int, pieces: list[Piece]) -> int:
    """A `{glossary}` fence from line `i` to its closing line `end`: its term lines stay verbatim (the
    book's terms are bilingual already: the Chinese and the English name are each a term), and each
    definition (the indented lines under its terms) is split into messages like any Markdown, its
    indentation kept on output so that Sphinx still reads it as the terms' definition."""
    pieces.append(Piece(lines[i]))
    k = i + 1
    while k < end and OPTION.match(lines[k]):
        pieces.append(Piece(lines[k]))
        k += 1
    body = [line for line in lines[k:end] if line.strip()]
    base = min((len(line) - len(line.lstrip(" \t")) for line in body), default=0)

    def indented(line: str) -> bool:
        return len(line) - len(line.lstrip(" \t")) > base

    while k < end:
        if not lines[k].strip() or not indented(lines[k]):  # a blank line or a term
            pieces.append(Piece(lines[k]))
            k += 1
            continue
        stop = k
        while stop < end and (not lines[stop].strip() or indented(lines[stop])):
            stop += 1
        while not lines[stop - 1].strip():  # blank lines after a definition are the glossary's
            stop -= 1
        pieces.extend(_indented_pieces(lines[k:stop]))
        k = stop
    if end < len(lines):
        pieces.append(Piece(lines[end]))
    return end + 1


def _indented_pieces(block: list[str]) -> list[Piece]:
    """`segment` of an indented block of Markdown, as pieces that render with the block's indentation."""
    width = min(len(line) - len(line.lstrip(" \t")) for line in block if line.strip())
    indent = next(line for line in block if line.strip())[:width]
    inner = segment("".join(line[width:] if line.strip() else line for line in block))
    out = []
    for piece in inner:
        text = "".join(indent + line if line.strip() else line for line in piece.text.splitlines(keepends=True))
        if piece.msgid is None:
            out.append(Piece(text))
        else:
            out.append(Piece(text, piece.msgid, head=indent + piece.head, indent=indent + piece.indent,
                             tail=piece.tail, values=piece.values))
    return out


# --- templates (pages generated from the data) ------------------------------------------------

# Numbers a notebook may write in words (`publish.number_words`, English or Chinese) inside a glued
# phrase; "one" is left alone ("one by one", "any one of").
NUMBER_WORD = re.compile(r"(?<![\w-])(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)(?![\w-])"
                         r"|(?<![\u4e00-\u9fff])[一二两三四五六七八九十]+(?![\u4e00-\u9fff])")


def make_template(message: str, words: bool = False) -> tuple[str, tuple[str, ...]]:
    """Replace every number of `message` (outside roles' targets) by `{#1}`, `{#2}`, ...

    With `words`, also numbers written in words (glued phrases: the Chinese build writes them in
    Chinese, so the English template must not hold them).
    """
    values: list[str] = []
    number = re.compile(f"{NUMBER.pattern}|{NUMBER_WORD.pattern}") if words else NUMBER

    def substitute(match: re.Match) -> str:
        values.append(match.group(0))
        return f"{{#{len(values)}}}"

    parts, last = [], 0
    for kept in PROTECTED.finditer(message):  # roles and code stay whole
        parts.append(number.sub(substitute, message[last:kept.start()]))
        parts.append(kept.group(0))
        last = kept.end()
    parts.append(number.sub(substitute, message[last:]))
    return "".join(parts), tuple(values)


def fill_placeholders(message: str, values: tuple[str, ...]) -> str:
    return PLACEHOLDER.sub(lambda m: values[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(values)
                           else m.group(0), message)


def templated(pieces: list[Piece]) -> list[Piece]:
    for piece in pieces:
        if piece.msgid is not None:
            piece.msgid, piece.values = make_template(piece.msgid)
    return pieces


# --- the checks a translation must pass ---------------------------------------------------------

def role_targets(text: str) -> Counter:
    """The glue keys, cross-references, citations and downloads of a message, as (kind, target).

    These are what make two editions show the same numbers and point at the same things; the
    format spec of a glue role (`name:.1f`) and the text of a reference may differ.
    """
    found: Counter = Counter()
    for match in ROLE.finditer(text):
        name, content = match["name"], match["content"].strip()
        target = content[content.rfind("<") + 1:-1].strip() if content.endswith(">") and "<" in content else content
        if name.startswith("glue"):
            found[("glue", target.split(":", 1)[0].strip())] += 1
        elif name.startswith("cite"):
            for key in target.split(","):
                found[("cite", key.strip())] += 1
        elif name in ("ref", "numref", "doc", "eq", "download", "term"):
            found[(name, target)] += 1
    for placeholder in PLACEHOLDER.findall(text):
        found[("placeholder", placeholder)] += 1
    return found


def role_mismatch(msgid: str, msgstr: str) -> str | None:
    """Why `msgstr` cannot stand for `msgid` (a role missing or added), or None if it can."""
    english, translated = role_targets(msgid), role_targets(msgstr)
    if english == translated:
        return None
    missing = sorted((english - translated).elements())
    extra = sorted((translated - english).elements())
    return "; ".join(part for part in (missing and f"missing {missing}", extra and f"not in the English {extra}")
                     if part)


def glue_keys(text: str) -> set[str]:
    """Every glue key a Markdown source shows: in roles and as `glue` directives' arguments."""
    keys = {target for (kind, target) in role_targets(text) if kind == "glue"}
    for line in text.splitlines():
        match = FENCE.match(line)
        directive = DIRECTIVE_INFO.match(match["info"]) if match else None
        if directive and directive["name"].startswith("glue") and directive["arg"]:
            keys.add(directive["arg"].split()[0])
    return keys


def _strip_markup(text: str) -> str:
    text = ROLE.sub(" ", text)
    text = re.sub(r"`[^`]*`", " ", text)  # code
    text = re.sub(r"\$[^$]*\$", " ", text)  # math
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"<https?://[^>]*>|https?://\S+", " ", text)
    # a site named as a source (Chinese text may follow it without a space)
    text = re.sub(r"[A-Za-z0-9.-]+\.(?:com|cn|org|net|cc|mg|gov|edu)(?![A-Za-z])[A-Za-z0-9./_-]*", " ", text)
    return text


LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ \t,;:()/&–—-]+[A-Za-z][A-Za-z'’-]*){3,}")


def latin_prose(text: str, max_words: int = 3) -> list[str]:
    """Runs of more than `max_words` Latin-script words in `text`: English left in a Chinese text.

    Names of methods (Oaxaca-Blinder, Callaway-Sant'Anna), abbreviations (OLS, TWFE) and single
    English words in brackets are shorter; code, math, links and roles are removed first.
    """
    pattern = re.compile(LATIN_RUN.pattern.replace("{3,}", f"{{{max_words},}}"))
    return [match.group(0) for match in pattern.finditer(_strip_markup(text))]


def cjk_share(text: str) -> float:
    """Share of CJK characters among the letters of `text` (after removing markup)."""
    letters = [ch for ch in _strip_markup(text) if ch.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for ch in letters if unicodedata.name(ch, "").startswith("CJK")) / len(letters)


def term_mismatches(msgid: str, msgstr: str, terms: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Glossary terms the English message uses whose Chinese term is missing from the translation.

    `terms` are (English, Chinese) pairs; an English term is found as whole words, with its first
    letter in either case (so "Town A" is not found in "town as") and a plural -s allowed.
    """
    missing = []
    for english, chinese in terms:
        first = f"[{re.escape(english[0].upper())}{re.escape(english[0].lower())}]"
        pattern = r"(?<![\w-])" + first + re.escape(english[1:]).replace(r"\ ", r"[\s-]+") + r"s?(?![\w-])"
        if re.search(pattern, msgid) and chinese not in msgstr:
            missing.append((english, chinese))
    return missing


# --- pages: their sources and messages ----------------------------------------------------------

@dataclass
class Page:
    """One page of the book in its source form: a Markdown file or a notebook's Markdown cells."""

    docname: str  # as in _toc.yml, without suffix
    path: Path
    template: bool = False  # generated from the data: numbers are placeholders

    @property
    def is_notebook(self) -> bool:
        return self.path.suffix == ".ipynb"

    def markdown_sources(self, root: Path | None = None) -> list[str]:
        """The page's Markdown: the whole file, or each Markdown cell; includes expanded."""
        if self.is_notebook:
            notebook = nbformat.read(self.path, as_version=4)
            return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
        return [expand_includes(self.path.read_text(encoding="utf-8"), self.path.parent)]

    def pieces(self) -> list[list[Piece]]:
        out = [segment(source) for source in self.markdown_sources()]
        return [templated(p) for p in out] if self.template else out

    def messages(self) -> list[str]:
        seen: dict[str, None] = {}
        for pieces in self.pieces():
            for piece in pieces:
                if piece.msgid is not None and piece.msgid.strip():
                    seen.setdefault(piece.msgid, None)
        return list(seen)


def expand_includes(text: str, folder: Path) -> str:
    """Replace `{include}` directives by the text they include (honouring start-after/end-before).

    A translated page is written elsewhere, where the relative path would not resolve, and the
    included text must be translated like the rest.
    """
    def include(match: re.Match) -> str:
        options = dict(re.findall(r":([\w-]+):\s*(.*)", match["options"]))
        included = (folder / match["path"]).read_text(encoding="utf-8")
        if options.get("start-after"):
            included = included.split(options["start-after"].strip(), 1)[1]
        if options.get("end-before"):
            included = included.split(options["end-before"].strip(), 1)[0]
        return included.strip("\n")

    return INCLUDE.sub(include, text)


@dataclass
class Catalogue:
    """The translations of one page: English message -> translated message (non-fuzzy only)."""

    path: Path
    translations: dict[str, str] = field(default_factory=dict)
    fuzzy: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, path: Path) -> "Catalogue":
        from babel.messages.pofile import read_po

        catalogue = cls(Path(path))
        if not catalogue.path.is_file():
            return catalogue
        with catalogue.path.open("rb") as fh:
            po = read_po(fh, abort_invalid=True)
        # obsolete entries (#~) too: a message the last update did not see (a phrase glued only by a
        # newer build than the outputs the update read) is still translated when it matches exactly
        for message in [*po, *po.obsolete.values()]:
            if not message.id or not isinstance(message.id, str):
                continue
            if message.fuzzy:
                catalogue.fuzzy.add(message.id)
            elif message.string:
                catalogue.translations[message.id] = message.string
        return catalogue


@dataclass
class Translated:
    """A page's translated Markdown sources, and what could not be translated."""

    sources: list[str]
    untranslated: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (msgid, why)


CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")


def bilingual(message: str) -> bool:
    """A message the English book already writes in both languages needs no translation: one of its
    lines (or " / "-separated parts) is Chinese, like the questionnaire's "question | 问题" rows. A
    Chinese term in brackets inside an English sentence does not make it bilingual."""
    parts = [part for line in message.splitlines() for part in line.split(" / ")]
    return any(len(CJK_CHAR.findall(part)) >= 2 and cjk_share(part) >= 0.5 for part in parts)


def translate_sources(sources: list[list[Piece]], catalogue: Catalogue) -> Translated:
    """Render each source with its messages translated (English where no usable translation)."""
    result = Translated([])
    for pieces in sources:
        out = []
        for piece in pieces:
            if piece.msgid is None or not piece.msgid.strip():
                out.append(piece.text)
                continue
            message = catalogue.translations.get(piece.msgid)
            why = role_mismatch(piece.msgid, message) if message is not None else None
            if message is None and bilingual(piece.msgid):
                out.append(piece.text)  # already bilingual in the English book (the questionnaire's rows)
            elif message is None:
                result.untranslated.append(piece.msgid)
                out.append(piece.text)
            elif why:
                result.refused.append((piece.msgid, why))
                out.append(piece.text)
            else:
                out.append(piece.render(message))
        result.sources.append("".join(out))
    return result


CATALOGUE_HEADER = dict(
    header_comment="# Translation of one page of the Z town book (see ztown.publication.translation).\n"
                   "# Text CC BY 4.0, like the English it translates.",
    project="Z town book", version="1", copyright_holder="The Z town publication team",
    msgid_bugs_address="https://github.com/ztown-study/ztown/issues",
    last_translator="The Z town publication team", language_team="The Z town publication team",
    charset="utf-8")


def write_template(path: Path, messages: list[str]) -> None:
    """Write a .pot file of `messages` (in page order)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(fuzzy=False, **CATALOGUE_HEADER)
    for message in messages:
        catalog.add(message)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=False)
    path.write_bytes(_drop_creation_date(buffer.getvalue()))


def update_catalogue(po_path: Path, messages: list[str], locale: str) -> tuple[int, int]:
    """Merge the page's current English `messages` into its .po file, the way msgmerge does.

    New messages are added untranslated; a message whose English changed keeps its old translation,
    marked fuzzy (with the old English as `#| msgid`); messages no longer used are kept as obsolete
    (`#~`). Returns (added, removed).
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = Catalog(charset="utf-8", fuzzy=False)
    for message in messages:
        template.add(message)
    if po_path.is_file():
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=locale, abort_invalid=True)
    else:
        catalog = Catalog(locale=locale, fuzzy=False, **CATALOGUE_HEADER)
    # a message that comes back (a glued phrase absent from one build's outputs) gets its old
    # translation back, as msgmerge does, instead of staying obsolete
    wanted = set(messages)
    for key, old in list(catalog.obsolete.items()):
        if old.id in wanted and old.id not in catalog:
            catalog[old.id] = old
            del catalog.obsolete[key]
    before = {m.id for m in catalog if m.id}
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
    after = {m.id for m in catalog if m.id}
    po_path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, include_previous=True, ignore_obsolete=False)
    po_path.write_bytes(_drop_creation_date(buffer.getvalue()))
    return len(after - before), len(before - after)


def _drop_creation_date(po: bytes) -> bytes:
    """No timestamps in the files: the same messages give the same bytes."""
    return re.sub(rb'"(POT-Creation-Date|PO-Revision-Date): [^"]*\\n"\n', b"", po)


# --- terms and glued phrases --------------------------------------------------------------------

def glossary_terms() -> list[tuple[str, str]]:
    """(English, Chinese) pairs of the study's terms, from `ztown.data.constructs` (the single source):
    the glossary, the ten constructs, the five paths and the towns' names; longest English first."""
    from ztown.data.constructs import CONSTRUCTS, GLOSSARY, PATHS

    pairs = [(" ".join(en.replace('"', "").split()), zh) for zh, _pinyin, en, _definition in GLOSSARY]
    pairs += [(c.label_en, c.label_zh) for c in CONSTRUCTS]
    pairs += list(PATHS.values())
    pairs += list(town_names().items())
    return sorted(dict.fromkeys(pairs), key=lambda pair: -len(pair[0]))


def chinese_terms() -> list[str]:
    """The Chinese terms, for the search's word segmenter."""
    return list(dict.fromkeys(zh for _en, zh in glossary_terms()))


def town_names() -> dict[str, str]:
    """The (fictional) towns' English and Chinese names, as the generator writes them into `regions`."""
    from ztown.data.synth import TOWNS

    return {en: zh for _id, en, zh, *_rest in TOWNS}

PHRASES_DOMAIN = "_phrases"  # catalogue of the words notebooks glue as text ("more", "fewer", ...)
TABLES_DOMAIN = "_tables"  # catalogue of the tables' captions, headers, notes and text cells
_CATALOGUES: dict[tuple[str, str], dict[str, str]] = {}


def phrase(value: str, language: str | None = None, domain: str = PHRASES_DOMAIN) -> str:
    """A glued phrase (or, with `domain=TABLES_DOMAIN`, a table's text) in the language of this build
    ($ZTOWN_LANG), from the edition's catalogue `domain`.po; else unchanged.

    Notebooks glue a few words as text (a difference's direction, "more" or "fewer") and print
    tables whose captions and cells are English strings; the translated edition's kernels show them
    in its language, from the same catalogues as the prose. Numbers are placeholders, so a phrase
    made from a result is translated whatever the result.
    """
    import os

    from ztown.data.paths import find_project_root

    language = language or os.environ.get("ZTOWN_LANG", "en")
    if language == "en":
        return value
    if (language, domain) not in _CATALOGUES:
        from ztown.publication.edition import EDITIONS, catalogue

        root = find_project_root()
        edition = EDITIONS.get(language)
        _CATALOGUES[language, domain] = catalogue(root, edition, domain).translations if root and edition else {}
    template, values = make_template(value, words=True)
    translated = _CATALOGUES[language, domain].get(template)
    if not translated:
        return value
    if language in NUMBER_WORDS:  # a number the English wrote in words is written in the edition's words
        from_english = dict(zip(NUMBER_WORDS["en"], NUMBER_WORDS[language]))
        values = tuple(from_english.get(v.lower(), v) for v in values)
    return fill_placeholders(translated, values)


def translatable(text: str) -> bool:
    """Whether a table's text needs a translation: it has English words (not only numbers, codes,
    names in Chinese, an address or a dash)."""
    if re.fullmatch(r"(https?://)?[\w-]+(\.[\w-]+)+(/\S*)?", text.strip()):
        return False
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)+", text.strip()):  # a code: a field or parameter name
        return False
    if re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", text.strip()):  # a name: a package, a program
        return False
    if re.fullmatch(r"[0-9a-f]{16,}", text.strip()):  # a hash
        return False
    return bool(re.search(r"[A-Za-z]{2,}", text)) and not bilingual(text)


# --- what a reader sees: the prose of a built page ----------------------------------------------

class _ProseScan:
    """Collect the prose paragraphs of a built HTML page's article: headings, paragraphs, list
    items, captions and admonitions, without code, math, cell inputs and outputs, glued values and
    citations (names of authors and titles of works stay in their own language)."""

    BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "caption", "dt", "dd", "th", "td"}
    SKIP_TAGS = {"code", "pre", "script", "style", "math", "svg", "kbd"}
    SKIP_CLASSES = {"cell_input", "cell_output", "math", "pasted-text", "pasted-inline", "bibtex-citation",
                    "highlight", "headerlink", "ztown-language-switch", "citation", "footnote",
                    "docutils container", "sig", "toctree-wrapper", "bibliography"}


def html_prose(page: str, tables: bool = True) -> list[str]:
    """The prose paragraphs of a built page's article (see `_ProseScan`), each as plain text;
    without `tables`, not the cells of tables."""
    from html.parser import HTMLParser

    class Scan(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack: list[tuple[str, bool]] = []  # (tag, skipping)
            self.in_article = 0
            self.paragraphs: list[str] = []
            self.current: list[str] = []

        def skipping(self) -> bool:
            return any(skip for _tag, skip in self.stack)

        def handle_starttag(self, tag, attrs):
            if tag in ("br", "img", "hr", "meta", "link", "input", "wbr", "source"):
                return
            classes = set((dict(attrs).get("class") or "").split())
            if tag == "article":
                self.in_article += 1
            skip = (tag in _ProseScan.SKIP_TAGS or bool(classes & _ProseScan.SKIP_CLASSES)
                    or (not tables and tag == "table"))
            if tag in _ProseScan.BLOCKS and not self.skipping():
                self._flush()
            self.stack.append((tag, skip))

        def handle_endtag(self, tag):
            if tag == "article":
                self.in_article -= 1
            for k in range(len(self.stack) - 1, -1, -1):
                if self.stack[k][0] == tag:
                    del self.stack[k:]
                    break
            if tag in _ProseScan.BLOCKS and not self.skipping():
                self._flush()

        def handle_data(self, data):
            if self.in_article and not self.skipping():
                self.current.append(data)

        def _flush(self):
            text = " ".join("".join(self.current).split())
            if text:
                self.paragraphs.append(text)
            self.current = []

    scan = Scan()
    scan.feed(page)
    scan._flush()
    return scan.paragraphs
