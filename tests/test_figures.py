"""The figures' palettes stay distinguishable under colour-vision deficiency, and figures speak words.

Simulated with colorspacious (Machado et al. 2009 model, severity 100) for deuteranopia,
protanopia and tritanopia; distances in CAM02-UCS, where about 1 is a just-noticeable difference.
"""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from colorspacious import cspace_convert  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from ztown.publication import figures  # noqa: E402

VISION = ("normal", "deuteranomaly", "protanomaly", "tritanomaly")
MIN_TOWN_DISTANCE = 20.0  # measured: 22.4 at the worst (Okabe-Ito black, orange, sky blue, blue, grey); the old palette 10.7
MIN_ANSWER_DISTANCE = 15.0  # neighbouring answers: measured 17.8 at the worst (protanopia)
MIN_MIDDLE_FROM_WHITE = 25.0  # the "neither" answer must not vanish on the page (measured 29.1)


def _seen(colour: str, vision: str) -> np.ndarray:
    rgb = np.array(to_rgb(colour))
    if vision != "normal":
        rgb = np.clip(cspace_convert(rgb, {"name": "sRGB1+CVD", "cvd_type": vision, "severity": 100}, "sRGB1"), 0, 1)
    return cspace_convert(rgb, "sRGB1", "CAM02-UCS")


def min_distance(colours, vision: str, pairs=None) -> float:
    seen = [_seen(c, vision) for c in colours]
    pairs = pairs or list(itertools.combinations(range(len(colours)), 2))
    return min(float(np.linalg.norm(seen[a] - seen[b])) for a, b in pairs)


@pytest.mark.parametrize("vision", VISION)
def test_towns_stay_apart_under_colour_vision_deficiency(vision):
    colours = [figures.TOWN_COLOURS[t] for t in figures.TOWN_ORDER]
    assert min_distance(colours, vision) >= MIN_TOWN_DISTANCE


def test_every_town_has_its_own_marker():
    markers = [figures.TOWN_MARKERS[t] for t in figures.TOWN_ORDER]
    assert len(set(markers)) == len(markers) == len(figures.TOWN_ORDER)


@pytest.mark.parametrize("vision", VISION)
def test_answer_scale_is_ordered_and_its_middle_visible(vision):
    colours = figures.ANSWER_COLOURS
    neighbours = [(k, k + 1) for k in range(len(colours) - 1)]
    assert min_distance(colours, vision, neighbours) >= MIN_ANSWER_DISTANCE
    white = _seen("#ffffff", vision)
    assert float(np.linalg.norm(_seen(colours[2], vision) - white)) >= MIN_MIDDLE_FROM_WHITE


def test_the_check_would_catch_the_old_palette():
    """seaborn's 'colorblind' palette put Town A and Town C within a few units of each other for a deuteranope."""
    import seaborn as sns
    old = sns.color_palette("colorblind", 5).as_hex()
    assert min_distance(old, "deuteranomaly") < MIN_TOWN_DISTANCE


def test_one_font_family_with_chinese_glyphs():
    from matplotlib import font_manager
    figures.set_theme()
    family = matplotlib.rcParams["font.sans-serif"]
    assert family[0] == "Noto Sans CJK SC", family  # fonts-noto-cjk (installed by .ci/run)
    path = font_manager.findfont(font_manager.FontProperties(family=family))
    from matplotlib.ft2font import FT2Font
    font = FT2Font(path)
    assert font.get_char_index(ord("镇")) and font.get_char_index(ord("Z"))


def _texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def test_item_figure_names_items_by_their_text_and_answers_by_their_labels():
    from ztown.data.constructs import ITEMS, LIKERT_LABELS
    figures.set_theme()
    rows = []
    for item in ITEMS[:6]:
        for group in ("Z town", "Comparison towns"):
            rows.append({"item": item.id, "construct": item.construct, "group": group, "answered": 10,
                         "1": 0.1, "2": 0.2, "3": 0.4, "4": 0.2, "5": 0.1})
    for lang, wording, labels in (("en", "wording_en", list(LIKERT_LABELS.values())), ("zh", "wording_zh", None)):
        fig = figures.item_distributions(pd.DataFrame(rows), lang=lang)
        text = " ".join(_texts(fig).split())
        matplotlib.pyplot.close(fig)
        assert "frm1" not in text and "score 1" not in text
        assert " ".join(getattr(ITEMS[0], wording).split()[:3]) in text or getattr(ITEMS[0], wording)[:6] in text
        if labels:
            assert all(label in text for label in labels)
        else:
            assert "非常同意" in text and "Z镇" in text


def test_figures_are_drawn_at_twice_the_screen_density():
    figures.set_theme()
    assert matplotlib.rcParams["figure.dpi"] >= 2 * 110 and matplotlib.rcParams["savefig.dpi"] >= 2 * 110
