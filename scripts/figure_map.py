"""Print the table of every figure and table in the book with the notebook that makes it.

The README's "Figures and tables" section is this table between its two marker comments;
tests/test_readme.py checks that it is current, and the book's appendix includes it from there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLE = re.compile(r"\{[a-z:]+\}`([^`<]+)`")
FIGURE = re.compile(r":::\{glue:figure\}\s+(\S+)\n(?::[^\n]*\n)*\n(.+?)(?:\n:::|\{download\})", re.S)


def rows() -> list[tuple[str, str, str, str]]:
    out = []
    for nb_path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        nb = json.loads(nb_path.read_text())
        title = next("".join(c["source"]).split("# ", 1)[1].splitlines()[0] for c in nb["cells"]
                     if c["cell_type"] == "markdown" and "\n# " in "\n" + "".join(c["source"]))
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for name, caption in FIGURE.findall("".join(cell["source"])):
                first = " ".join(caption.split()).split(". ")[0].rstrip(".")
                first = ROLE.sub(r"`\1`", first)  # a reference shows its label (the README is not MyST)
                out.append((name, first, f"notebooks/{nb_path.name}", title))
    return out


def table() -> str:
    lines = ["| Figure | What it shows | Made by | Chapter |", "|---|---|---|---|"]
    lines += [f"| `{n}` | {c} | `{p}` | {t} |" for n, c, p, t in rows()]
    return "\n".join(lines)


START, END = "<!-- figure-map:start -->", "<!-- figure-map:end -->"


def update_readme(path: Path = ROOT / "README.md") -> None:
    """Replace the README's table between the figure-map markers with the current one."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{table()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    import sys

    if "--readme" in sys.argv:
        update_readme()
    else:
        print(table())
