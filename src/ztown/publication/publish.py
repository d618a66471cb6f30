"""Putting computed results into the book's prose: myst-nb `glue`, as plain Python values.

Numbers are glued as Python floats or ints (a numpy scalar's text form, "np.float64(...)", would
break `{glue:text}` format specs); words are glued as Markdown so `{glue:md}` shows them unquoted;
figures are glued and then closed so that no figure is displayed twice.

Phrases that a careful writer would not leave to a format spec are glued whole, in English or
Chinese (`lang`, default $ZTOWN_LANG, else English): `amount` ("100.3 million members", not
"10,027.1 ten-thousand members"), `signed` ("0.84 points below", not "-0.84 points from"),
`count_of` ("all five", not "5 of the five"). Every function returns None, so a cell that ends
with a glue call prints nothing (the glue cells are tagged `remove-cell`: they run, in the build
and under nbval, but are not in the HTML).
"""

from __future__ import annotations

import numbers
import re


def _glue(name, value):
    from myst_nb import glue  # imported here: myst_nb is a book dependency, not a data one
    glue(name, value, display=False)


def number(name: str, value) -> None:
    """Glue a number for `{glue:text}` (use a format spec in the prose, e.g. `name:.2f`)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"glue {name!r}: expected a number, got {type(value).__name__}")
    plain = int(value) if isinstance(value, numbers.Integral) else float(value)
    _glue(name, plain)


def numbers_from(prefix: str, values: dict) -> None:
    """Glue several numbers as `<prefix>-<key>`."""
    for key, value in values.items():
        number(f"{prefix}-{key}", value)


def difference(name: str, value, more: str = "more", less: str = "fewer") -> None:
    """Glue a signed difference as its size (`name`) and its direction in words (`name-dir`).

    Prose then reads "{glue:text}`name:.1f` {glue:md}`name-dir`" whatever the sign turns out to be.
    """
    number(name, abs(float(value)))
    text(f"{name}-dir", more if value >= 0 else less)


def text(name: str, value: str) -> None:
    """Glue a phrase for `{glue:md}` (in a translated edition's build, its translation from the
    edition's `_phrases.po`: `ztown.publication.translation.phrase`)."""
    from IPython.display import Markdown

    from ztown.publication.translation import phrase
    _glue(name, Markdown(phrase(true_minus(str(value)))))


_MINUS = re.compile(r"(?<![\w.])-(?=\d)")  # a minus sign before a number, not a hyphen (2014-2023, Oaxaca-Blinder)


def true_minus(text: str) -> str:
    """A phrase's minus signs as the typographic minus (U+2212), as tables and glued numbers print
    them; code spans are left as they are."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(part if part.startswith("`") else _MINUS.sub("\u2212", part) for part in parts)


def figure(name: str, fig) -> None:
    """Glue a figure for `{glue:figure}` and close it."""
    import matplotlib.pyplot as plt  # here: the book build imports this module for `true_minus` alone

    _glue(name, fig)
    plt.close(fig)


# --------------------------------------------------------------------------- phrases

# small whole numbers in words, by language (`number_words` writes up to ten; a translated edition also
# reads "eleven" and "twelve", which `ztown.publication.translation` finds in English phrases)
NUMBER_WORDS = {"en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                       "eleven", "twelve"),
                "zh": ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")}


def _lang(lang):
    from ztown.publication.tables import resolve_lang
    return resolve_lang(lang)


def _unit(unit, lang: str) -> str:
    if isinstance(unit, (tuple, list)):
        return unit[0] if lang == "en" else unit[1]
    return unit


def number_words(n: int, lang: str | None = None) -> str:
    """A small whole number in words ("five", "五"); digits from eleven on."""
    lang = _lang(lang)
    return NUMBER_WORDS[lang][n] if 0 <= n <= 10 else f"{n:,}"


def amount_text(value, unit="", *, scale: float = 1.0, digits: int | tuple = 1, lang: str | None = None) -> str:
    """A quantity in words: amount_text(10027.1, "members", scale=1e4) -> "100.3 million members".

    `value * scale` is the quantity in ones. English: millions and billions above a million, else
    thousands separators; Chinese: 万 and 亿 (亿 from a hundred million). `unit` is a word or an
    (English, Chinese) pair; Chinese takes no space ("1.0亿名党员"). `digits` may be a pair too, since
    the two languages scale differently (391 million yuan, 3.91亿元: `digits=(0, 2)`).
    """
    lang = _lang(lang)
    x = float(value) * scale
    unit = _unit(unit, lang)
    digits = _unit(digits, lang)
    sign = "\u2212" if x < 0 else ""
    x = abs(x)
    if lang == "en":
        for size, word in ((1e9, "billion"), (1e6, "million")):
            if x >= size:
                return f"{sign}{x / size:,.{digits}f} {word}{' ' + unit if unit else ''}"
        shown = f"{x:,.0f}" if x >= 1000 or float(x).is_integer() else f"{x:,.{digits}f}"
        return f"{sign}{shown}{' ' + unit if unit else ''}"
    for size, word in ((1e8, "亿"), (1e4, "万")):
        if x >= size:
            return f"{sign}{x / size:,.{digits}f}{word}{unit}"
    shown = f"{x:,.0f}" if float(x).is_integer() else f"{x:,.{digits}f}"
    return f"{sign}{shown}{unit}"


def amount(name: str, value, unit="", *, scale: float = 1.0, digits: int | tuple = 1, lang: str | None = None) -> None:
    """Glue `amount_text(...)` for `{glue:md}`: "100.3 million members", "3.9亿元"."""
    text(name, amount_text(value, unit, scale=scale, digits=digits, lang=lang))


# the words of a signed difference, English and Chinese ("0.84 points below", "低0.84分")
POINTS, ABOVE, BELOW, LEVEL = ("points", "分"), ("above", "高"), ("below", "低"), ("level with", "相当")


def signed_text(value, unit=POINTS, *, more=ABOVE, less=BELOW, same=LEVEL, digits: int = 2,
                lang: str | None = None) -> str:
    """A signed difference in words: -0.84 -> "0.84 points below"; one that rounds to zero -> `same`.

    `more`/`less`/`same` and `unit` are words or (English, Chinese) pairs; Chinese reads
    "低0.84分" (the defaults are such pairs).
    """
    lang = _lang(lang)
    size = f"{abs(float(value)):,.{digits}f}"
    if float(size.replace(",", "")) == 0:
        return _unit(same, lang)
    direction = _unit(more if value > 0 else less, lang)
    unit = _unit(unit, lang)
    if lang == "en":
        return f"{size}{' ' + unit if unit else ''} {direction}"
    return f"{direction}{size}{unit}"


def signed(name: str, value, unit=POINTS, *, more=ABOVE, less=BELOW, same=LEVEL, digits: int = 2,
           lang: str | None = None) -> None:
    """Glue `signed_text(...)` for `{glue:md}`, and the size alone as a number (`<name>-size`)."""
    text(name, signed_text(value, unit, more=more, less=less, same=same, digits=digits, lang=lang))
    number(f"{name}-size", abs(float(value)))


def count_of_text(k: int, n: int, noun: str | tuple = "", lang: str | None = None) -> str:
    """k of n in words: "all five", "four of the five", "none of the five" (Chinese: "全部五项", "五项中的四项")."""
    lang = _lang(lang)
    k, n = int(k), int(n)
    if not 0 <= k <= n:
        raise ValueError(f"count_of: {k} of {n}")
    noun = _unit(noun, lang)
    if lang == "en":
        tail = f" {noun}" if noun else ""
        if k == n:
            return f"all {number_words(n, lang)}{tail}" if n > 2 else (f"both{tail}" if n == 2 else f"the one{tail}")
        if k == 0:
            return f"none of the {number_words(n, lang)}{tail}"
        return f"{number_words(k, lang)} of the {number_words(n, lang)}{tail}"
    unit = noun or "项"
    if k == n:
        return f"全部{number_words(n, lang)}{unit}"
    if k == 0:
        return f"{number_words(n, lang)}{unit}中没有一{unit}"
    return f"{number_words(n, lang)}{unit}中的{number_words(k, lang)}{unit}"


def count_of(name: str, k: int, n: int, noun: str | tuple = "", lang: str | None = None) -> None:
    """Glue `count_of_text(...)` for `{glue:md}`."""
    text(name, count_of_text(k, n, noun, lang))
