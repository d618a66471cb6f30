"""Putting computed results into the book's prose: myst-nb `glue`, as plain Python values.

Numbers are glued as Python floats or ints (a numpy scalar's text form, "np.float64(...)", would
break `{glue:text}` format specs); words are glued as Markdown so `{glue:md}` shows them unquoted;
figures are glued and then closed so that no figure is displayed twice.
"""

from __future__ import annotations

import numbers

import matplotlib.pyplot as plt


def _glue(name, value):
    from myst_nb import glue  # imported here: myst_nb is a book dependency, not a data one
    glue(name, value, display=False)


def number(name: str, value) -> float | int:
    """Glue a number for `{glue:text}` (use a format spec in the prose, e.g. `name:.2f`)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"glue {name!r}: expected a number, got {type(value).__name__}")
    plain = int(value) if isinstance(value, numbers.Integral) else float(value)
    _glue(name, plain)
    return plain


def numbers_from(prefix: str, values: dict) -> None:
    """Glue several numbers as `<prefix>-<key>`."""
    for key, value in values.items():
        number(f"{prefix}-{key}", value)


def difference(name: str, value, more: str = "more", less: str = "fewer") -> float:
    """Glue a signed difference as its size (`name`) and its direction in words (`name-dir`).

    Prose then reads "{glue:text}`name:.1f` {glue:md}`name-dir`" whatever the sign turns out to be.
    """
    number(name, abs(float(value)))
    text(f"{name}-dir", more if value >= 0 else less)
    return float(value)


def text(name: str, value: str) -> str:
    """Glue a phrase for `{glue:md}`."""
    from IPython.display import Markdown
    _glue(name, Markdown(str(value)))
    return value


def figure(name: str, fig) -> None:
    """Glue a figure for `{glue:figure}` and close it."""
    _glue(name, fig)
    plt.close(fig)
