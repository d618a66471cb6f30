"""Replication: compare every published result of the book with a fresh execution of its notebooks.

What is published, per chapter notebook, and how each is compared (one engine, `compare_notebook`,
serves both `ztown replicate` and the test suite's nbval run):

- every glued value (`ztown.publication.publish`): numbers at the tolerance of their kind (`TOLERANCES`, chosen
  per value by `TOLERANCE_RULES`), words exactly, figures perceptually;
- every cell of every displayed table, and every number in other printed output, at its printed
  precision (one unit of the last printed digit) plus the tolerance of its kind;
- every figure: its image perceptually (matplotlib's `compare_images`, RMS of the pixel difference
  at most `IMAGE_RMS_TOLERANCE` on the 0-255 scale), and its data, the figure-data CSV the page
  links for download, point by point at the precision it is written with (`FIGURE_DATA_DIGITS`
  significant digits) plus the tolerance of its kind;
- every claim of the ledger: its verdict, exactly.

Exact agreement is the wrong test: another BLAS kernel (AVX2 instead of AVX-512, say) sums in
another order and changes the last digits of a least-squares solve, and stops an iterative
optimizer at a slightly different point. The tolerances absorb that and nothing a reader could see:
each is far below the precision the book prints.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from ztown.data.paths import FIGURE_DATA_ENV, REPLICATION_DIR, RESULTS_ENV, find_project_root, notebooks_dir, project_root

# --------------------------------------------------------------------------- tolerances


@dataclass(frozen=True)
class Tolerance:
    """|published - reproduced| <= unit + atol + rtol * max(|published|, |reproduced|).

    `unit` is one unit of the last printed digit for printed numbers (0 for glued values, which
    are stored at full precision).
    """

    kind: str
    rtol: float
    atol: float
    why: str

    def allows(self, published: float, reproduced: float, unit: float = 0.0) -> bool:
        if math.isnan(published) or math.isnan(reproduced):
            return math.isnan(published) and math.isnan(reproduced)
        if math.isinf(published) or math.isinf(reproduced):
            return published == reproduced
        return abs(published - reproduced) <= unit + self.atol + self.rtol * max(abs(published), abs(reproduced))

    def describe(self, unit: float = 0.0) -> str:
        if self.rtol == 0 and self.atol == 0 and unit == 0:
            return "equal"
        text = f"rel {self.rtol:.0e}, abs {self.atol:.0e} ({self.kind})"
        return f"{unit:.0e} (last printed digit) + {text}" if unit else text


TOLERANCES = {
    "exact": Tolerance("exact", 0.0, 0.0, "Counts, integers and words: nothing legitimate changes them."),
    "closed-form": Tolerance(
        "closed-form", 1e-9, 1e-12,
        "Least squares, means, shares and their sandwich covariances: float64 solves of these "
        "well-conditioned systems agree to about 1e-13 relative across BLAS kernels (largest seen "
        "between AVX-512 and AVX2: 3e-13); 1e-9 leaves a margin of over 1000 and still shows any "
        "change of data or code, which moves results by far more."),
    "iterative": Tolerance(
        "iterative", 1e-6, 1e-9,
        "Results of iterative optimizers (the mixed model's REML fit, the ordered logit's BFGS fit) "
        "and what is computed from them: the optimizer stops once its gradient is below its "
        "tolerance, and another summation order stops it at another point within that tolerance "
        "(largest seen: 4e-8 relative); 1e-6 leaves a margin of 25."),
    "numerical-derivative": Tolerance(
        "numerical-derivative", 1e-3, 1e-3,
        "Standard errors from a finite-difference Hessian of an iterative fit, and the intervals "
        "and simulations built on them: differencing divides the optimizer's stopping error by a "
        "small step, so they move most (largest seen: 1e-5 relative, 1.1e-4 on a value of 11, and "
        "5.4e-5 absolute on a value of 0.13); 1e-3 relative (absolute below 1) leaves a margin of 20 "
        "and is still a hundredth of the precision the book prints them at."),
}
DEFAULT_KIND = "closed-form"

# Which published numbers come from which kind of computation, by key (first match wins; the
# default is closed-form, the strictest, so a new number is never checked too loosely). Keys:
#   glue:<name>                          a glued value
#   table:<notebook>:<column>            a cell of a displayed table
#   text:<notebook>                      a number in other printed output
#   data:<file>:<row id>:<column>        a point of a figure-data CSV (row id: its first column)
TOLERANCE_RULES: tuple[tuple[str, str], ...] = (
    # the paths' satisfied-share intervals: a parametric simulation from the ordered logit's
    # finite-difference covariance
    (r"^glue:pa-\w+-sat-(lo|hi)$", "numerical-derivative"),
    (r"^data:paths-scenarios\.csv:[^:]*:satisfied_ci_(low|high)$", "numerical-derivative"),
    # chapter 3's regression table: the ordered logit's column holds its coefficients and their SEs
    (r"^table:03_causes:Ordered logit$", "numerical-derivative"),
    # the mixed model and the ordered logit, and what is computed from their estimates
    (r"^glue:ca-\w+-(mixed|ologit)$", "iterative"),
    (r"^glue:ca-max-diff$", "iterative"),  # OLS minus mixed-model coefficients
    (r"^glue:pa-base$", "iterative"),
    (r"^glue:pa-\w+-sat$", "iterative"),
    (r"^data:paths-scenarios\.csv:[^:]*:satisfied_share_change$", "iterative"),
    (r"^table:03_causes:Mixed model$", "iterative"),
    # the confirmatory factor models (maximum likelihood, fitted iteratively) and what they give
    (r"^glue:pr-fa-(cfi|rmsea|srmr|corr-min|corr-max|one-cfi|one-dbic|two-cfi|cause-max|cross-max)$", "iterative"),
    (r"^table:02_problems:(CFI|TLI|RMSEA|SRMR|BIC minus the design's|Substantive services|"
     r"Organization coverage and operation|Service capacity of the backbone ranks|Service carriers and bridges|"
     r"Service pattern)$", "iterative"),
)
IMAGE_RMS_TOLERANCE = 0.5
IMAGE_WHY = ("Figures are compared as images by the root-mean-square difference of their pixels (0-255 "
             "scale, matplotlib's compare_images), not by their PNG bytes: the last digits of a result "
             "move an edge by a fraction of a pixel and change the bytes (RMS 0.04 seen between BLAS "
             "kernels), while a moved bar, point or label changes whole pixels (one bar of the paths "
             "figure longer by 1%: RMS 1.6). Every point a figure shows is also checked in its data.")
# the claims ledger, among the figure data: its verdicts are also compared one by one
CLAIMS_FILE = "claims-ledger.csv"


def tolerance_for(key: str) -> Tolerance:
    """The tolerance of the published number with this key (see TOLERANCE_RULES)."""
    for pattern, kind in TOLERANCE_RULES:
        if re.search(pattern, key):
            return TOLERANCES[kind]
    return TOLERANCES[DEFAULT_KIND]


# --------------------------------------------------------------------------- printed numbers

# A number standing on its own in printed text (not part of a word, an id like "P1" or a version
# like "3.11.7"). tests/nbval_sanitize.cfg masks the same pattern, so nbval checks the text around
# the numbers and this module checks the numbers.
NUMBER_PATTERN = r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])"
NUMBER = re.compile(NUMBER_PATTERN)
_INTEGER = re.compile(r"[-+]?\d+")


def printed_unit(token: str) -> float:
    """One unit of the last digit of a printed number ("0.125" -> 0.001, "1.5e-05" -> 1e-06)."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def significant_unit(value: float, digits: int) -> float:
    """One unit of the last digit of `value` written with `digits` significant digits (%.<digits>g)."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    return 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)


# --------------------------------------------------------------------------- checks


@dataclass
class Check:
    """One published item compared with its reproduction."""

    notebook: str
    kind: str  # glue, table, text, figure-data, image, claim, structure
    item: str
    published: str
    reproduced: str
    difference: float | None
    tolerance: str
    passed: bool
    key: str = ""  # what chose the tolerance (see TOLERANCE_RULES); not written to the report

    def line(self) -> str:
        diff = "" if self.difference is None else f" (difference {self.difference:.3g})"
        return (f"{self.notebook}: {self.kind} {self.item}: published {_short(self.published)}, "
                f"reproduced {_short(self.reproduced)}{diff}; tolerance {self.tolerance}")


def _short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _number_check(notebook, kind, item, key, published: float, reproduced: float, p_text: str, r_text: str,
                  unit: float = 0.0, exact: bool = False) -> Check:
    tol = TOLERANCES["exact"] if exact else tolerance_for(key)
    if exact:
        passed = published == reproduced
    else:
        passed = tol.allows(published, reproduced, unit)
    diff = abs(published - reproduced) if math.isfinite(published) and math.isfinite(reproduced) else None
    return Check(notebook, kind, item, p_text, r_text, diff, tol.describe(unit), passed, key)


def compare_printed(notebook: str, kind: str, item: str, key: str, published: str, reproduced: str) -> list[Check]:
    """Compare two printed texts: the words exactly, each number at its printed precision."""
    p_tokens, r_tokens = NUMBER.findall(published), NUMBER.findall(reproduced)
    p_words, r_words = NUMBER.sub("#", published), NUMBER.sub("#", reproduced)
    checks = []
    if p_words != r_words or len(p_tokens) != len(r_tokens):
        checks.append(Check(notebook, kind, f"{item} (text)", published, reproduced, None, "equal words", False))
        return checks
    if not p_tokens:
        return [Check(notebook, kind, f"{item} (text)", published, reproduced, None, "equal", True)]
    for j, (p, r) in enumerate(zip(p_tokens, r_tokens)):
        label = item if len(p_tokens) == 1 else f"{item} number {j + 1}"
        if _INTEGER.fullmatch(p) and _INTEGER.fullmatch(r):
            checks.append(_number_check(notebook, kind, label, key, int(p), int(r), p, r, exact=True))
        else:
            unit = min(printed_unit(p), printed_unit(r))
            checks.append(_number_check(notebook, kind, label, key, float(p), float(r), p, r, unit=unit))
    return checks


# --------------------------------------------------------------------------- images


def compare_png(notebook: str, item: str, published_b64: str, reproduced_b64: str,
                keep_failures: Path | None = None) -> Check:
    """Compare two PNG images (base64, as stored in a notebook) perceptually."""
    from matplotlib.testing.compare import compare_images
    from matplotlib.testing.exceptions import ImageComparisonFailure

    described = f"RMS <= {IMAGE_RMS_TOLERANCE:g}"
    try:
        expected_bytes, actual_bytes = (base64.b64decode(x) for x in (published_b64, reproduced_b64))
    except (binascii.Error, ValueError) as exc:
        return Check(notebook, "image", item, "PNG", f"undecodable: {exc}", None, described, False)
    if expected_bytes == actual_bytes:
        return Check(notebook, "image", item, "PNG", "identical PNG", 0.0, described, True)
    with tempfile.TemporaryDirectory(prefix="ztown-image-") as scratch:
        expected, actual = Path(scratch) / "published.png", Path(scratch) / "reproduced.png"
        expected.write_bytes(expected_bytes)
        actual.write_bytes(actual_bytes)
        try:
            result = compare_images(str(expected), str(actual), tol=0, in_decorator=True)
        except ImageComparisonFailure as exc:  # e.g. another size
            return Check(notebook, "image", item, "PNG", f"not comparable: {exc}", None, described, False)
        rms = 0.0 if result is None else float(result["rms"])
        passed = rms <= IMAGE_RMS_TOLERANCE
        if not passed and keep_failures is not None:
            keep_failures.mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"[^\w.-]+", "_", f"{notebook}-{item}")
            for path in Path(scratch).glob("*.png"):
                shutil.copyfile(path, keep_failures / f"{stem}-{path.name}")
    return Check(notebook, "image", item, "PNG", f"PNG, RMS {rms:.3g}", rms, described, passed)


# --------------------------------------------------------------------------- tables


class _Tables(HTMLParser):
    """The tables of an HTML output: rows of (tag, text) cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[str, str]]]] = []
        self._row: list[tuple[str, str]] | None = None
        self._cell: list[str] | None = None
        self._tag = ""
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._depth += 1
            if self._depth == 1:
                self.tables.append([])
        elif tag == "tr" and self._depth:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell, self._tag = [], tag

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((self._tag, " ".join("".join(self._cell).split())))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "table":
            self._depth = max(0, self._depth - 1)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str) -> list[list[list[tuple[str, str]]]]:
    parser = _Tables()
    parser.feed(text)
    return parser.tables


def compare_table(notebook: str, where: str, published: list, reproduced: list) -> list[Check]:
    """Cell by cell; a cell is named by its row's header cells and its column's header."""
    if [len(r) for r in published] != [len(r) for r in reproduced]:
        return [Check(notebook, "structure", f"{where} table shape", str([len(r) for r in published]),
                      str([len(r) for r in reproduced]), None, "equal", False)]
    header = next((r for r in published if r and all(tag == "th" for tag, _ in r)), [])
    columns = [text for _, text in header]
    checks = []
    for i, (p_row, r_row) in enumerate(zip(published, reproduced)):
        row_label = " ".join(text for tag, text in p_row if tag == "th" and text) or f"row {i}"
        for j, ((p_tag, p_text), (r_tag, r_text)) in enumerate(zip(p_row, r_row)):
            if p_tag == "th" or r_tag == "th":  # column headers and row labels (years, ids): exactly
                checks.append(Check(notebook, "table", f"{where} label '{_short(p_text, 40)}'", p_text, r_text,
                                    None, "equal", (p_tag, p_text) == (r_tag, r_text)))
                continue
            column = columns[j] if j < len(columns) else f"column {j}"
            checks += compare_printed(notebook, "table", f"{where} [{row_label}, {column}]",
                                      f"table:{notebook}:{column}", p_text, r_text)
    return checks


# --------------------------------------------------------------------------- notebooks

GLUE_PREFIX = "application/papermill.record/"


def _coalesce(outputs: list) -> list[dict]:
    """Outputs with the stream outputs of one name joined (as nbval does), as plain dicts."""
    merged, streams = [], {}
    for out in outputs or []:
        out = dict(out)
        if out.get("output_type") == "stream":
            if out["name"] in streams:
                streams[out["name"]]["text"] += out["text"]
                continue
            out["text"] = "".join(out.get("text", ""))
            streams[out["name"]] = out
        merged.append(out)
    return merged


def code_cell_outputs(nb) -> list[list[dict]]:
    """Each code cell's outputs, in order (cell numbers as nbval counts them: code cells only)."""
    return [_coalesce(cell.get("outputs", [])) for cell in nb["cells"] if cell["cell_type"] == "code"]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def glue_records(outputs_by_cell: list[list[dict]]) -> dict[str, tuple[int, dict]]:
    """name -> (cell number, data) of every glued value."""
    records = {}
    for n, outputs in enumerate(outputs_by_cell):
        for out in outputs:
            name = (out.get("metadata") or {}).get("scrapbook", {}).get("name")
            if name:
                records[name] = (n, {k[len(GLUE_PREFIX):]: _text(v) for k, v in out.get("data", {}).items()
                                     if k.startswith(GLUE_PREFIX)})
    return records


def _glue_value(text: str):
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return None


def compare_glue(notebook: str, name: str, published: dict, reproduced: dict,
                 keep_failures: Path | None = None) -> list[Check]:
    if "image/png" in published or "image/png" in reproduced:
        if "image/png" not in published or "image/png" not in reproduced:
            return [Check(notebook, "structure", f"glue {name}", ", ".join(published), ", ".join(reproduced),
                          None, "same kind of output", False)]
        return [compare_png(notebook, name, published["image/png"], reproduced["image/png"], keep_failures)]
    if "text/markdown" in published or "text/markdown" in reproduced:
        return compare_printed(notebook, "glue", name, f"glue:{name}", published.get("text/markdown", ""),
                               reproduced.get("text/markdown", ""))
    p_text, r_text = published.get("text/plain", ""), reproduced.get("text/plain", "")
    p, r = _glue_value(p_text), _glue_value(r_text)
    if p is None or r is None:
        return [Check(notebook, "glue", name, p_text, r_text, None, "equal", p_text == r_text)]
    exact = isinstance(p, int) and isinstance(r, int)
    return [_number_check(notebook, "glue", name, f"glue:{name}", float(p), float(r), p_text, r_text, exact=exact)]


def _output_summary(out: dict) -> str:
    if out.get("output_type") == "stream":
        return f"stream {out.get('name')}"
    return f"{out.get('output_type')} ({', '.join(sorted(out.get('data', {}))) or 'no data'})"


def compare_output(notebook: str, where: str, published: dict, reproduced: dict,
                   keep_failures: Path | None = None) -> list[Check]:
    """One displayed output (not a glue record) against its reproduction."""
    if published.get("output_type") == "stream" or reproduced.get("output_type") == "stream":
        if (published.get("output_type"), published.get("name")) != (reproduced.get("output_type"), reproduced.get("name")):
            return [Check(notebook, "structure", where, _output_summary(published), _output_summary(reproduced),
                          None, "same kind of output", False)]
        return compare_printed(notebook, "text", where, f"text:{notebook}", published.get("text", ""),
                               reproduced.get("text", ""))
    if reproduced.get("output_type") == "error" or published.get("output_type") == "error":
        return [Check(notebook, "structure", where, _output_summary(published),
                      f"{reproduced.get('ename', '')}: {reproduced.get('evalue', '')}" if reproduced.get("output_type") == "error"
                      else _output_summary(reproduced), None, "no error", False)]
    p_data = {k: _text(v) for k, v in published.get("data", {}).items()}
    r_data = {k: _text(v) for k, v in reproduced.get("data", {}).items()}
    if sorted(p_data) != sorted(r_data):
        return [Check(notebook, "structure", where, _output_summary(published), _output_summary(reproduced),
                      None, "same kind of output", False)]
    if "image/png" in p_data:
        return [compare_png(notebook, where, p_data["image/png"], r_data["image/png"], keep_failures)]
    p_tables = html_tables(p_data.get("text/html", ""))
    if p_tables:
        r_tables = html_tables(r_data["text/html"])
        if len(p_tables) != len(r_tables):
            return [Check(notebook, "structure", f"{where} tables", str(len(p_tables)), str(len(r_tables)),
                          None, "equal", False)]
        checks = []
        for k, (pt, rt) in enumerate(zip(p_tables, r_tables)):
            checks += compare_table(notebook, where if len(p_tables) == 1 else f"{where} table {k + 1}", pt, rt)
        return checks  # the text/plain form shows the same table
    for mime in ("text/markdown", "text/latex", "text/plain"):
        if mime in p_data:
            return compare_printed(notebook, "text", where, f"text:{notebook}", p_data[mime], r_data[mime])
    return [Check(notebook, "structure", where, _output_summary(published), "(no comparable output)", None,
                  "a text, table or image output", False)]


FIGURE_DATA_LINK = re.compile(r"\{download\}`[^`<]*<([^>`]*?figure_data/([\w.-]+\.csv))>`")


def figure_data_files(nb) -> list[str]:
    """The figure-data CSV files a notebook's pages link for download, in order."""
    files = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            files += [m.group(2) for m in FIGURE_DATA_LINK.finditer(_text(cell["source"]))]
    return list(dict.fromkeys(files))


def compare_notebook(name: str, published, reproduced, published_figure_data: Path | None = None,
                     reproduced_figure_data: Path | None = None, keep_failures: Path | None = None) -> list[Check]:
    """Every published result of one notebook against a reproduction of it.

    `published` and `reproduced` are notebooks (nbformat nodes or dicts) with the same code;
    the figure-data folders hold the CSV files the published notebook links (committed copies
    and the ones the reproduction wrote).
    """
    p_cells, r_cells = code_cell_outputs(published), code_cell_outputs(reproduced)
    checks: list[Check] = []
    if len(p_cells) != len(r_cells):
        return [Check(name, "structure", "code cells", str(len(p_cells)), str(len(r_cells)), None, "equal", False)]
    p_glue, r_glue = glue_records(p_cells), glue_records(r_cells)
    for key in p_glue:
        if key not in r_glue:
            checks.append(Check(name, "glue", key, _short(str(p_glue[key][1])), "(not glued)", None, "present", False))
        else:
            checks += compare_glue(name, key, p_glue[key][1], r_glue[key][1], keep_failures)
    for key in r_glue.keys() - p_glue.keys():
        checks.append(Check(name, "glue", key, "(not published)", _short(str(r_glue[key][1])), None, "present", False))

    for n, (p_outs, r_outs) in enumerate(zip(p_cells, r_cells)):
        p_shown = [o for o in p_outs if not (o.get("metadata") or {}).get("scrapbook")]
        r_shown = [o for o in r_outs if not (o.get("metadata") or {}).get("scrapbook")]
        if len(p_shown) != len(r_shown):
            checks.append(Check(name, "structure", f"cell {n} outputs", "; ".join(map(_output_summary, p_shown)) or "none",
                                "; ".join(map(_output_summary, r_shown)) or "none", None, "same outputs", False))
            continue
        for k, (p, r) in enumerate(zip(p_shown, r_shown)):
            where = f"cell {n}" if len(p_shown) == 1 else f"cell {n} output {k + 1}"
            checks += compare_output(name, where, p, r, keep_failures)

    files = figure_data_files(published)
    if files and (published_figure_data is None or reproduced_figure_data is None):
        raise ValueError(f"{name} links figure data {files}: give both figure-data folders")
    for file in files:
        checks += compare_figure_data(name, Path(published_figure_data) / file, Path(reproduced_figure_data) / file)
        if file == CLAIMS_FILE:
            checks += compare_claims(name, Path(published_figure_data) / file, Path(reproduced_figure_data) / file)
    return checks


# --------------------------------------------------------------------------- figure data and claims


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return (rows[0], rows[1:]) if rows else ([], [])


def _as_number(text: str):
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    if text.lower() in ("nan", ""):
        return float("nan") if text else None
    try:
        return float(text)
    except ValueError:
        return None


def compare_figure_data(notebook: str, published: Path, reproduced: Path) -> list[Check]:
    """A figure-data CSV point by point: numbers at the written precision plus their kind's tolerance.

    Columns holding only integers in both files (years, counts, ids) must be equal; other numeric
    columns were written with FIGURE_DATA_DIGITS significant digits; text must be equal.
    """
    from ztown.publication.figures import FIGURE_DATA_DIGITS

    file = published.name
    for path, role in ((published, "published"), (reproduced, "reproduced")):
        if not path.is_file():
            return [Check(notebook, "figure-data", file, "present" if role == "reproduced" else "(missing)",
                          "(not written)" if role == "reproduced" else "present", None, "present", False)]
    p_head, p_rows = _read_csv(published)
    r_head, r_rows = _read_csv(reproduced)
    if p_head != r_head or len(p_rows) != len(r_rows):
        return [Check(notebook, "figure-data", f"{file} shape", f"{len(p_rows)} rows: {','.join(p_head)}",
                      f"{len(r_rows)} rows: {','.join(r_head)}", None, "same columns and rows", False)]
    checks = []
    for c, column in enumerate(p_head):
        p_col = [row[c] if c < len(row) else "" for row in p_rows]
        r_col = [row[c] if c < len(row) else "" for row in r_rows]
        p_num, r_num = [_as_number(x) for x in p_col], [_as_number(x) for x in r_col]
        numeric = all(x is not None for x in p_num + r_num) and any(x == x for x in p_num)
        integral = numeric and all(_INTEGER.fullmatch(x.strip()) for x in p_col + r_col)
        for i, (p_text, r_text) in enumerate(zip(p_col, r_col)):
            row_id = p_rows[i][0] if p_rows[i] else str(i)
            item = f"{file} row {i + 1} ({_short(row_id, 30)}), {column}"
            key = f"data:{file}:{row_id}:{column}"
            if integral:
                checks.append(_number_check(notebook, "figure-data", item, key, int(p_text), int(r_text),
                                            p_text, r_text, exact=True))
            elif numeric:
                p, r = float(p_num[i]), float(r_num[i])
                unit = significant_unit(max(abs(p), abs(r)) if math.isfinite(p) and math.isfinite(r) else 0.0,
                                        FIGURE_DATA_DIGITS)
                checks.append(_number_check(notebook, "figure-data", item, key, p, r, p_text, r_text, unit=unit))
            else:
                checks.append(Check(notebook, "figure-data", item, p_text, r_text, None, "equal", p_text == r_text))
    return checks


def claims_rows(path: Path) -> dict[str, dict[str, str]]:
    head, rows = _read_csv(path)
    return {row[head.index("claim_id")]: dict(zip(head, row)) for row in rows}


def compare_claims(notebook: str, published: Path, reproduced: Path) -> list[Check]:
    """Each claim's verdict, published against reproduced (claims matched by id)."""
    if not (published.is_file() and reproduced.is_file()):
        return []  # reported by compare_figure_data
    p, r = claims_rows(published), claims_rows(reproduced)
    checks = []
    for claim_id, row in p.items():
        got = r.get(claim_id, {}).get("verdict", "(claim missing)")
        checks.append(Check(notebook, "claim", claim_id, row["verdict"], got, None, "same verdict", got == row["verdict"]))
    for claim_id in r.keys() - p.keys():
        checks.append(Check(notebook, "claim", claim_id, "(claim not published)", r[claim_id]["verdict"], None,
                            "same verdict", False))
    return checks


# --------------------------------------------------------------------------- the environment

UNCOMMITTED = " (with uncommitted changes)"  # after the commit of a working tree that differs from it
KEY_PACKAGES = ("numpy", "scipy", "pandas", "statsmodels", "matplotlib", "seaborn", "jupyter-book", "myst-nb",
                "nbclient", "ipykernel", "frictionless", "threadpoolctl")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_libraries() -> list[dict]:
    """The BLAS libraries numpy and scipy loaded, with the kernel each runs (threadpoolctl)."""
    import numpy  # noqa: F401  (load the libraries before asking about them)
    import scipy.linalg  # noqa: F401
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"library": "unknown", "note": "threadpoolctl is not installed, so the BLAS kernel in use "
                 "cannot be named (it is listed in requirements.in)"}]
    return [{"library": f"{i.get('internal_api')} {i.get('version')}", "kernel": i.get("architecture") or "",
             "threads": i.get("num_threads"), "file": Path(i.get("filepath", "")).name}
            for i in threadpool_info() if i.get("user_api") == "blas"]


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=find_project_root() or Path.cwd(), capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def environment(descriptor: Path) -> dict:
    """What the reproduction ran on: Python, packages, BLAS and its kernel, CPU, OS, data and code."""
    from importlib import metadata

    from ztown.publication.book import code_hash, data_package_hash

    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "blas": blas_libraries(),
        "blas_environment": {k: v for k, v in sorted(os.environ.items()) if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))},
        "packages": versions,
        "commit": (commit + (UNCOMMITTED if dirty else "")) if commit else "unknown",
        "data_hash": data_package_hash(descriptor),
        "code_hash": code_hash(),
    }


# --------------------------------------------------------------------------- executing notebooks

CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"
EXECUTION_TIMEOUT = 900  # seconds per cell, as the book build allows


def chapter_notebooks(folder: Path | None = None) -> list[Path]:
    """The chapters of `folder` (default: the project's notebooks/), in order."""
    return sorted(Path(folder if folder is not None else notebooks_dir()).glob(CHAPTER_GLOB))


def execute_notebook(path: Path, cwd: Path, env: dict[str, str], log: Path | None = None,
                     timeout: int = EXECUTION_TIMEOUT):
    """Execute the notebook at `path` in a fresh kernel (working folder `cwd`, environment `env`).

    Returns (executed notebook, seconds, error text or ""). The file itself is not written.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from ztown.publication.book import encrypt_kernel_transport

    encrypt_kernel_transport()  # no "running over TCP without encryption" line in the kernel logs
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    started = time.perf_counter()
    error = ""
    kernel_log = open(log, "w", encoding="utf-8") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        client.execute(env=env, cwd=str(cwd), stdout=kernel_log, stderr=kernel_log)
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    except Exception as exc:  # a dead kernel, a timeout: the notebook did not reproduce
        error = f"{type(exc).__name__}: {exc}"
    finally:
        if log:
            kernel_log.close()
    return nb, time.perf_counter() - started, error


def _execute_job(args):
    path, cwd, env, log = args
    nb, seconds, error = execute_notebook(Path(path), Path(cwd), env, Path(log))
    return path, nb, seconds, error


def execute_many(paths: list[Path], cwd: Path, env: dict[str, str], logs: Path, jobs: int = 2):
    """Execute notebooks `jobs` at a time (each in its own kernel); yield (path, notebook, seconds,
    error) in the order given. The kernels' own messages go to `logs/<name>.log`."""
    from concurrent.futures import ProcessPoolExecutor

    logs.mkdir(parents=True, exist_ok=True)
    args = [(str(p), str(cwd), env, str(logs / f"{Path(p).stem}.log")) for p in paths]
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(args)))) as pool:
        for path, nb, seconds, error in pool.map(_execute_job, args):
            yield Path(path), nb, seconds, error


def kernel_environment(datapackage: Path, results: Path, figure_data: Path) -> dict[str, str]:
    """The environment the notebooks run in: this one (BLAS settings included), with the data
    package, results folder and figure-data folder set, and no Monte Carlo cache override (the
    committed study is read)."""
    from ztown.data.loader import ENV_VAR

    env = dict(os.environ)
    env.pop("ZTOWN_MC_CACHE", None)
    env[ENV_VAR] = str(datapackage)
    env[RESULTS_ENV] = str(results)
    env[FIGURE_DATA_ENV] = str(figure_data)
    return env


# --------------------------------------------------------------------------- the replication


@dataclass
class NotebookRun:
    name: str
    seconds: float
    error: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


@dataclass
class Replication:
    runs: list[NotebookRun]
    environment: dict
    started: str
    seconds: float
    out_dir: Path

    @property
    def checks(self) -> list[Check]:
        return [c for run in self.runs for c in run.checks]

    @property
    def ok(self) -> bool:
        return all(not run.error and not run.failed for run in self.runs) and bool(self.runs)


def project_descriptor(notebook_folder: Path, datapackage: Path | None = None) -> Path:
    """The data package chapters in `notebook_folder` run against: `datapackage`, else $ZTOWN_DATAPACKAGE,
    else that of the project holding the folder, else that of the working directory's project."""
    from ztown.data.loader import ENV_VAR, resolve_descriptor

    if datapackage is not None or os.environ.get(ENV_VAR):
        return resolve_descriptor(datapackage)
    root = find_project_root(Path(notebook_folder))
    return resolve_descriptor(root / "datapackage" if root is not None else None)


def default_out_dir() -> Path:
    return project_root() / REPLICATION_DIR


def run_replication(out_dir: Path | None = None, notebooks: list[Path] | None = None,
                    datapackage: Path | None = None, jobs: int = 2, echo=print) -> Replication:
    """Execute each notebook from scratch in `out_dir/work` and compare it with its committed copy
    (and its figure data with the committed ones, in figure_data/ beside the notebooks).

    Nothing outside `out_dir` is written: the notebooks are copied, their figure data and results
    go to `out_dir/work/results`. Writes report.csv, report.md and report.json to `out_dir`.
    """
    import nbformat

    out_dir = Path(out_dir or default_out_dir()).resolve()
    notebooks = [Path(p).resolve() for p in (notebooks or chapter_notebooks())]
    if not notebooks:
        raise FileNotFoundError("no notebook to replicate")
    published_figure_data = notebooks[0].parent / "figure_data"
    descriptor = project_descriptor(notebooks[0].parent, datapackage)
    work = out_dir / "work"
    shutil.rmtree(work, ignore_errors=True)
    (work / "notebooks").mkdir(parents=True)
    results, figure_data, logs = work / "results", work / "results" / "figure_data", work / "logs"
    shutil.rmtree(out_dir / "images", ignore_errors=True)  # failed comparisons' images of an earlier run
    for folder in (results, figure_data):
        folder.mkdir(parents=True, exist_ok=True)
    env = kernel_environment(descriptor, results, figure_data)
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    t0 = time.perf_counter()
    echo(f"ztown replicate: executing {len(notebooks)} notebook(s) against {descriptor} "
         f"in {work} ({jobs} at a time)")
    copies = []
    for path in notebooks:
        copies.append(work / "notebooks" / path.name)
        shutil.copyfile(path, copies[-1])
    runs: dict[str, NotebookRun] = {}
    executed_all = execute_many(copies, work / "notebooks", env, logs, jobs)
    for done, (copy, executed, seconds, error) in enumerate(executed_all, 1):
        name = copy.stem
        published = nbformat.read(next(p for p in notebooks if p.stem == name), as_version=4)
        nbformat.write(executed, copy)  # the executed copy, for a reader to inspect
        run = NotebookRun(name, seconds, error)
        if error:
            run.checks.append(Check(name, "structure", "execution", "runs without error", error, None,
                                    "no error", False))
        else:
            run.checks = compare_notebook(name, published, executed, published_figure_data, figure_data,
                                          keep_failures=out_dir / "images")
        runs[name] = run
        status = (f"FAILED: {error}" if error else
                  f"{len(run.checks)} checks, " + ("all within tolerance" if not run.failed
                                                   else f"{len(run.failed)} outside tolerance"))
        echo(f"ztown replicate: [{done}/{len(notebooks)}] {name}: executed in {seconds:.1f} s; {status}")
    replication = Replication([runs[p.stem] for p in notebooks], environment(descriptor), started,
                              time.perf_counter() - t0, out_dir)
    write_report(replication)
    return replication


def publish(notebooks: list[Path] | None = None, jobs: int = 2, echo=print) -> int:
    """Re-execute chapters in place: their outputs into the .ipynb files, their figure data into
    figure_data/ beside them (notebooks/figure_data). The one deliberate way the committed results
    change (`make publish`).

    Always against the committed data package. Returns the number of notebooks that failed (a
    failed notebook is left as it was).
    """
    import nbformat

    from ztown.data.paths import results_dir

    notebooks = [Path(p).resolve() for p in (notebooks or chapter_notebooks())]
    folders = {p.parent for p in notebooks}
    if len(folders) != 1:
        raise ValueError("publish notebooks of one folder at a time")
    folder = folders.pop()
    figure_data = folder / "figure_data"
    descriptor = project_descriptor(folder)
    env = kernel_environment(descriptor, results_dir(), figure_data)
    echo(f"ztown publish: re-executing {len(notebooks)} notebook(s) in place against {descriptor}; "
         f"figure data to {figure_data}")
    failures = 0
    logs = results_dir() / "publish-logs"
    for done, (path, executed, seconds, error) in enumerate(
            execute_many(notebooks, folder, env, logs, jobs), 1):
        if error:
            failures += 1
            echo(f"ztown publish: [{done}/{len(notebooks)}] {path.stem}: FAILED after {seconds:.1f} s, left "
                 f"unchanged: {error}")
            continue
        nbformat.write(executed, path)
        echo(f"ztown publish: [{done}/{len(notebooks)}] {path.stem}: executed in {seconds:.1f} s and written")
    linked = {f for p in chapter_notebooks(folder) for f in figure_data_files(nbformat.read(p, as_version=4))}
    unlinked = sorted(p.name for p in figure_data.glob("*.csv") if p.name not in linked)
    if unlinked:
        echo(f"ztown publish: no chapter links {', '.join(unlinked)} any more; remove them from "
             f"{figure_data} if they are stale")
    return failures


# --------------------------------------------------------------------------- the report

REPORT_COLUMNS = ["notebook", "kind", "item", "published", "reproduced", "difference", "tolerance", "result"]


def _md(text) -> str:
    """Text safe inside a Markdown table cell (and free of MyST roles and math)."""
    text = " ".join(str(text).split()).replace("|", "\\|").replace("$", "\\$").replace("{", "\\{")
    return text.replace("`", "'")


def write_report(replication: Replication) -> Path:
    """report.csv (every check), report.md (summary, claims, differences, environment), report.json."""
    out = replication.out_dir
    out.mkdir(parents=True, exist_ok=True)
    with (out / "report.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(REPORT_COLUMNS)
        for c in replication.checks:
            writer.writerow([c.notebook, c.kind, c.item, c.published, c.reproduced,
                             "" if c.difference is None else f"{c.difference:.6g}", c.tolerance,
                             "pass" if c.passed else "FAIL"])
    summary = {
        "ok": replication.ok, "started": replication.started, "seconds": round(replication.seconds, 1),
        "checks": len(replication.checks), "failed": sum(not c.passed for c in replication.checks),
        "notebooks": {r.name: {"seconds": round(r.seconds, 1), "error": r.error, "checks": len(r.checks),
                               "failed": len(r.failed)} for r in replication.runs},
        "environment": replication.environment,
    }
    (out / "report.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(report_markdown(replication), encoding="utf-8")
    return out / "report.md"


def report_markdown(replication: Replication, heading_level: int = 1) -> str:
    h = "#" * heading_level
    checks = replication.checks
    failed = [c for c in checks if not c.passed]
    env = replication.environment
    verdict = ("Every published result was reproduced within its tolerance." if replication.ok
               else f"{len(failed)} of {len(checks)} published results were **not** reproduced within their tolerance.")
    lines = [f"{h} Replication report", "",
             f"Run {replication.started} in {replication.seconds:.0f} s: every chapter notebook executed from "
             "scratch against the committed data package, and every published result compared with the "
             f"committed copy. {verdict}", "",
             f"{h}# What was compared", "",
             "| Notebook | Run time (s) | Glued values | Table cells | Other printed numbers | Figure images "
             "| Figure-data points | Claims | Not reproduced |",
             "|---|---|---|---|---|---|---|---|---|"]
    kinds = ("glue", "table", "text", "image", "figure-data", "claim")
    for run in replication.runs:
        counts = [sum(c.kind == k for c in run.checks) for k in kinds]
        status = f"execution failed: {_md(run.error)}" if run.error else str(len(run.failed))
        lines.append(f"| {run.name} | {run.seconds:.1f} | " + " | ".join(map(str, counts)) + f" | {status} |")
    lines += ["", "Every row of `report.csv` is one comparison: published value, reproduced value, difference, "
              "tolerance and result.", "", f"{h}# Tolerances", "",
              "A number passes when |published − reproduced| ≤ unit + abs + rel × max(|published|, |reproduced|), "
              "where unit is one unit of the last printed digit for printed numbers (table cells, text, figure "
              "data written with six significant digits) and 0 for glued values (stored at full precision).", "",
              "| Kind | rel | abs | Why |", "|---|---|---|---|"]
    for tol in TOLERANCES.values():
        lines.append(f"| {tol.kind} | {tol.rtol:g} | {tol.atol:g} | {_md(tol.why)} |")
    lines += [f"| figure image | RMS ≤ {IMAGE_RMS_TOLERANCE:g} | | {_md(IMAGE_WHY)} |", ""]
    claims = [c for c in checks if c.kind == "claim"]
    if claims:
        lines += [f"{h}# Claims", "", "| Claim | Verdict published | Verdict reproduced | Same |", "|---|---|---|---|"]
        lines += [f"| {c.item} | {_md(c.published)} | {_md(c.reproduced)} | {'yes' if c.passed else '**no**'} |"
                  for c in claims]
        lines.append("")
    lines += [f"{h}# Differences", ""]
    if failed:
        shown = failed[:50]
        lines += [f"The first {len(shown)} of {len(failed)} results not reproduced:", "",
                  "| Notebook | Kind | Item | Published | Reproduced | Difference | Tolerance |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {c.notebook} | {c.kind} | {_md(c.item)} | {_md(_short(c.published, 40))} | "
                  f"{_md(_short(c.reproduced, 40))} | {'' if c.difference is None else f'{c.difference:.3g}'} | "
                  f"{_md(c.tolerance)} |" for c in shown]
    else:
        lines.append("None.")
    lines += ["", f"{h}# Environment", "", "| | |", "|---|---|",
              f"| Python | {env.get('python')} |", f"| Operating system | {_md(env.get('os'))} |",
              f"| CPU | {_md(env.get('cpu'))} ({env.get('cpu_count')} logical cores) |"]
    for lib in env.get("blas", []):
        if "note" in lib:
            lines.append(f"| BLAS | {_md(lib['note'])} |")
        else:
            lines.append(f"| BLAS | {_md(lib['library'])}, kernel {_md(lib['kernel'])}, {lib['threads']} thread(s) "
                         f"({_md(lib['file'])}) |")
    blas_env = env.get("blas_environment") or {}
    lines.append("| BLAS settings | " + (_md(", ".join(f"{k}={v}" for k, v in blas_env.items())) or "none set") + " |")
    lines.append("| Packages | " + _md(", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())) + " |")
    lines += [f"| Commit | {_md(env.get('commit'))} |",
              f"| Data package (SHA-256) | {str(env.get('data_hash', ''))[:16]} |",
              f"| Helpers and lock file (SHA-256) | {str(env.get('code_hash', ''))[:16]} |", ""]
    return "\n".join(lines)


def first_differences(replication: Replication, n: int = 10) -> list[str]:
    return [c.line() for c in replication.checks if not c.passed][:n]


# --------------------------------------------------------------------------- the book page

REPORT_PAGE_NAME = "replication.md"
PAGE_LABEL = "replication-report"
TABLE_PREFIX = "tbl-replication-"  # every table of the page is labelled tbl-replication-<what>
MAX_DIFFERENCES = 50  # rows of the page's table of differences (report.csv lists them all)

# the kinds of comparison, in words (report.csv's `kind` column holds the codes)
KIND_WORDS = {"glue": "Glued value", "table": "Table cell", "text": "Printed number", "image": "Figure image",
              "figure-data": "Figure-data point", "claim": "Claim verdict", "structure": "Structure"}
COMPARED_KINDS = ("glue", "table", "text", "image", "figure-data", "claim")
TOLERANCE_WORDS = {"exact": "Exact", "closed-form": "Closed-form", "iterative": "Iterative",
                   "numerical-derivative": "Numerical derivative"}
_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
_SUBSTITUTION = re.compile("\x00([A-Za-z0-9]+)\x00")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MISSING_WORDS = ((re.compile(r"\b(?:nan|NaN)\b"), "not a number"), (re.compile(r"\bNone\b"), "none"),
                  (re.compile(r"<NA>|\bNaT\b"), "missing"))


def _power(x: float) -> str:
    """A tolerance as a reader writes it: 0, 10⁻⁹, or 5e-07 when not a power of ten."""
    if x == 0:
        return "0"
    exponent = round(math.log10(x))
    if math.isclose(x, 10.0 ** exponent, rel_tol=1e-12):
        return "10" + str(exponent).translate(_SUPERSCRIPT)
    return f"{x:g}"


def _data(text) -> str:
    """Text of a report (user-controlled: items, printed values, errors) for a cell or a substitution:
    no control characters, and no 'nan'/'None' a reader would take for a defect of the page."""
    text = " ".join(_CONTROL.sub(" ", str(text)).split())
    for pattern, words in _MISSING_WORDS:
        text = pattern.sub(words, text)
    return text


def _page_text(text) -> str:
    """Report text as MyST (for a substitution; table cells are escaped by their Table)."""
    from ztown.publication.tables import md_cell

    return md_cell(_data(text))


def _code(text) -> str:
    """Report text as inline code that survives backticks in it."""
    from ztown.publication.codebook import md_code

    return md_code(_data(text))


class _Substitutions:
    """MyST substitutions of one page (its front matter): what differs from run to run (dates, machine,
    hashes, lists of claims) stays out of the page's messages, so a translation made once keeps applying."""

    def __init__(self):
        self.values: dict[str, str] = {}

    def cell(self, key: str, myst: str) -> str:
        """A table cell that shows `myst` (already MyST: escaped text or code)."""
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key):
            raise ValueError(f"substitution key {key!r}: letters and digits only")
        self.values[key] = myst
        return f"\x00{key}\x00"  # replaced by {{ key }} once the table is written (see _table_myst)

    def ref(self, key: str, myst: str) -> str:
        """The same in running text."""
        return "{{ " + self.cell(key, myst).strip("\x00") + " }}"

    def front_matter(self) -> list[str]:
        if not self.values:
            return []
        import yaml

        dumped = yaml.safe_dump({"myst": {"substitutions": self.values}}, allow_unicode=True, sort_keys=False,
                                width=1000)
        return ["---", dumped.rstrip("\n"), "---", ""]


def _table_myst(header: list[str], rows: list[list[str]], what: str, caption: str,
                numeric: list[bool] | None = None) -> str:
    """One of the page's tables: `ztown.publication.tables.Table` (the book's numbered, captioned
    list-table, with its classes), cells escaped by it; substitution cells put in after."""
    from ztown.publication.tables import Table

    table = Table(header, rows, TABLE_PREFIX + what, caption, numeric=numeric or [False] * len(header))
    return _SUBSTITUTION.sub(r"{{ \1 }}", table.to_myst().rstrip("\n"))


def _ref(what: str) -> str:
    return f"{{numref}}`{TABLE_PREFIX}{what}`"


def _tolerance_section() -> list[str]:
    """The tolerances: the same on the page with and without a report (they are the code's)."""
    rows = [[TOLERANCE_WORDS.get(t.kind, t.kind),
             "equal" if t.rtol == 0 and t.atol == 0 else f"rel {_power(t.rtol)}, abs {_power(t.atol)}", t.why]
            for t in TOLERANCES.values()]
    rows.append(["Figure image", f"RMS \u2264 {IMAGE_RMS_TOLERANCE:g} (0\u2013255 scale)", IMAGE_WHY])
    return ["## Tolerances", "",
            "A number passes when |published − reproduced| ≤ unit + abs + rel × max(|published|, |reproduced|), "
            "where unit is one unit of the last printed digit for printed numbers (table cells, text, figure data "
            "written with six significant digits) and 0 for glued values (stored at full precision); rel and abs "
            f"depend on the kind of computation that produced the number, and figures are compared as images "
            f"({_ref('tolerances')}).", "",
            _table_myst(["Kind", "Tolerance", "Why"], rows, "tolerances",
                        "Tolerances of the replication, by kind of published result"), ""]


def _read_report_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _started(text: str) -> str:
    try:
        when = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return _data(text)
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M") + (" UTC" if when.tzinfo is not None else "")


def _compared_section(summary: dict, rows: list[dict[str, str]]) -> list[str]:
    from ztown.publication.tables import integer, number

    names = list(summary.get("notebooks") or {}) or list(dict.fromkeys(r["notebook"] for r in rows))
    counts = {name: {k: 0 for k in COMPARED_KINDS} for name in names}
    failed = dict.fromkeys(names, 0)
    for r in rows:
        if r["notebook"] not in counts:
            counts[r["notebook"]], failed[r["notebook"]] = {k: 0 for k in COMPARED_KINDS}, 0
            names.append(r["notebook"])
        if r["kind"] in COMPARED_KINDS:
            counts[r["notebook"]][r["kind"]] += 1
        failed[r["notebook"]] += r["result"] != "pass"
    table_rows, total_seconds = [], 0.0
    for name in names:
        run = (summary.get("notebooks") or {}).get(name, {})
        seconds = run.get("seconds")
        total_seconds += seconds or 0.0
        status = "execution failed" if run.get("error") else integer(failed[name])
        table_rows.append([_data(name), number(seconds, 1)] + [integer(counts[name][k]) for k in COMPARED_KINDS]
                          + [status])
    if len(names) > 1:
        table_rows.append(["All notebooks", number(total_seconds, 1)]
                          + [integer(sum(counts[n][k] for n in names)) for k in COMPARED_KINDS]
                          + [integer(sum(failed.values()))])
    header = ["Notebook", "Run time (s)", "Glued values", "Table cells", "Other printed numbers", "Figure images",
              "Figure-data points", "Claims", "Not reproduced"]
    return ["## What was compared", "",
            f"{_ref('compared')} counts the published results compared, by chapter notebook and kind: glued "
            "values, cells of displayed tables, other printed numbers, figure images, points of the figure data "
            "and verdicts of the claims ledger. The last column counts those not reproduced within their "
            "tolerance. Every row of `report.csv` is one comparison: published value, reproduced value, "
            "difference, tolerance and result.", "",
            _table_myst(header, table_rows, "compared", "Published results compared, by chapter notebook and kind",
                        [False] + [True] * (len(header) - 2) + [True]), ""]


def _claims_section(rows: list[dict[str, str]], subs: _Substitutions) -> list[str]:
    import hashlib

    from ztown.publication.tables import integer

    groups: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if r["kind"] == "claim":
            groups.setdefault((r["published"], r["reproduced"]), []).append(r["item"])
    if not groups:
        return []
    table_rows = []
    for (published, reproduced), ids in sorted(groups.items(), key=lambda g: (g[0][0] == g[0][1], g[0])):
        key = "claims" + hashlib.sha256(f"{published}\n{reproduced}".encode()).hexdigest()[:10]
        table_rows.append([_data(published), _data(reproduced), "yes" if published == reproduced else "no",
                           integer(len(ids)), subs.cell(key, ", ".join(_code(i) for i in ids))])
    return ["## Claims", "",
            f"{_ref('claims')} groups the claims of the ledger by their verdict in the published book and in "
            "the reproduction.", "",
            _table_myst(["Verdict published", "Verdict reproduced", "Same verdict", "Number of claims", "Claims"],
                        table_rows, "claims", "Verdicts of the claims ledger, published and reproduced",
                        [False, False, False, True, False]), ""]


def _differences_section(rows: list[dict[str, str]]) -> list[str]:
    from ztown.publication.tables import DASH, integer

    failed = [r for r in rows if r["result"] != "pass"]
    if not failed:
        return ["## Differences", "", "None: every published result was reproduced within its tolerance.", ""]
    shown = failed[:MAX_DIFFERENCES]
    table_rows = [[_data(r["notebook"]), KIND_WORDS.get(r["kind"], _data(r["kind"])), _data(r["item"]),
                   _data(_short(r["published"], 40)), _data(_short(r["reproduced"], 40)),
                   _data(r["difference"]) or DASH, _data(r["tolerance"])] for r in shown]
    if len(shown) == len(failed):
        lead = f"{_ref('differences')} lists the {integer(len(failed))} results not reproduced within their tolerance"
    else:
        lead = (f"{_ref('differences')} lists the first {integer(len(shown))} of the {integer(len(failed))} results "
                "not reproduced within their tolerance (`report.csv` lists them all)")
    return ["## Differences", "",
            f"{lead}; values longer than forty characters are cut short, and a dash stands for a difference that "
            "cannot be computed (text, or a value missing on one side).", "",
            _table_myst(["Notebook", "Kind", "Item", "Published", "Reproduced", "Difference", "Tolerance"],
                        table_rows, "differences", "Published results not reproduced within their tolerance",
                        [False, False, False, False, False, True, False]), ""]


def _environment_section(env: dict, subs: _Substitutions) -> list[str]:
    from ztown.publication.tables import DASH

    def value(key: str, raw, code: bool = False) -> str:
        shown = "" if raw is None or str(raw).strip() == "" else (_code(raw) if code else _page_text(raw))
        return subs.cell(key, shown or DASH)

    commit = str(env.get("commit") or "")
    dirty = commit.endswith(UNCOMMITTED)
    commit = commit.removesuffix(UNCOMMITTED)
    blas_env = env.get("blas_environment") or {}
    packages = env.get("packages") or {}
    rows = [["Python", value("envpython", env.get("python"))],
            ["Operating system", value("envos", env.get("os"))],
            ["Processor", value("envcpu", env.get("cpu"))],
            ["Logical processor cores", value("envcores", env.get("cpu_count"))],
            ["BLAS and OpenMP settings", value("envblasenv", ", ".join(f"{k}={v}" for k, v in blas_env.items()))],
            ["Packages", value("envpackages", ", ".join(f"{k} {v}" for k, v in packages.items()))],
            ["Commit, with uncommitted changes" if dirty else "Commit", value("envcommit", commit, code=True)],
            ["Data package (SHA-256, first 16 hexadecimal digits)",
             value("envdata", str(env.get("data_hash") or "")[:16], code=True)],
            ["Helpers and lock file (SHA-256, first 16 hexadecimal digits)",
             value("envcode", str(env.get("code_hash") or "")[:16], code=True)]]
    out = ["## Environment", "",
           f"{_ref('environment')} describes the machine and the software the reproduction ran on (a dash: not "
           "recorded, or no BLAS or OpenMP variable set)"]
    blas = env.get("blas") or []
    if blas:
        out[-1] += f", and {_ref('blas')} the BLAS libraries numpy and scipy loaded, with the kernel each ran."
    else:
        out[-1] += "."
    out += ["", _table_myst(["Property", "Value"], rows, "environment", "The machine and software of the reproduction"),
            ""]
    if blas:
        blas_rows = []
        for lib in blas:
            if "note" in lib:
                blas_rows.append([_data(lib.get("library", "")) or DASH, DASH, DASH, _data(lib["note"])])
            else:
                blas_rows.append([_data(lib.get("library", "")) or DASH, _data(lib.get("kernel", "")) or DASH,
                                  _data(lib.get("threads", "")) or DASH, _data(lib.get("file", "")) or DASH])
        out += [_table_myst(["Library", "Kernel", "Threads", "File"], blas_rows, "blas",
                            "The BLAS libraries of the reproduction", [False, False, True, False]), ""]
    return out


def report_page(report_dir: Path, data_hash: str = "", code_hash: str = "") -> str:
    """The book's "Replication report" page: the last run's report, or a note that none ran.

    Built from the run's report.json and report.csv (not from report.md, which is for reading on its
    own): every table a publication table (`ztown.publication.tables.Table`: numbered, captioned and
    referred to from the text). What differs from run to run, beyond numbers, is kept out of the
    page's messages (MyST substitutions in its front matter), so the Chinese edition's catalogue
    translates the page once. `data_hash` and `code_hash` are those of the build, so the page says
    whether the report was made from the same data package and helpers.
    """
    report_dir = Path(report_dir)
    head = [f"({PAGE_LABEL})=", "# Replication report", ""]
    summary_path, csv_path = report_dir / "report.json", report_dir / "report.csv"
    if not (summary_path.is_file() and csv_path.is_file()):
        return "\n".join(head + [
            "No replication has been run on this copy of the book, so there is no report to show.", "",
            "`make replicate` (or `ztown replicate`) executes every chapter notebook from scratch against the "
            "committed data package, compares every glued value, table cell, figure and claim with the "
            f"published notebooks at the tolerances of {_ref('tolerances')}, and writes its report to "
            "`_build/replication/`; the next build of the book shows it here.", ""] + _tolerance_section())
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    rows = _read_report_rows(csv_path)
    env = summary.get("environment", {})
    subs = _Substitutions()
    from ztown.publication.tables import integer

    notes = []
    if data_hash and env.get("data_hash") and env["data_hash"] != data_hash:
        notes.append("This book was built from another data package than the committed one a replication "
                     "uses, so the report is about the published book, not about these pages.")
    if code_hash and env.get("code_hash") and env["code_hash"] != code_hash:
        notes.append("It was made with other helpers or locked packages than this build: run `make replicate` "
                     "again for a current report.")
    if not notes:
        notes.append("It was made from the same data package and helpers as this build.")
    failed = sum(r["result"] != "pass" for r in rows)
    result = ("**Every published result was reproduced.**" if summary.get("ok") and not failed
              else f"**{integer(failed)} of {integer(len(rows))} published results were not reproduced.**")
    body = [f"This page shows the report of the last `make replicate` on the machine that built this book, run "
            f"on {subs.ref('started', _page_text(_started(summary.get('started', ''))))}; "
            "{download}`report.csv </_build/replication/report.csv>` lists every comparison.", "", result, ""]
    for note in notes:
        body += [note, ""]
    body += _compared_section(summary, rows)
    body += _tolerance_section()
    body += _claims_section(rows, subs)
    body += _differences_section(rows)
    body += _environment_section(env, subs)
    return "\n".join(subs.front_matter() + head + body)
