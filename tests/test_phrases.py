"""The phrases a careful writer would not leave to a format spec (`ztown.publication.publish`)."""

from __future__ import annotations

import pytest

from ztown.publication.publish import amount_text, count_of_text, number_words, signed_text


@pytest.mark.parametrize("value, unit, scale, digits, lang, expected", [
    (10027.1, ("members", "名党员"), 1e4, 1, "en", "100.3 million members"),
    (10027.1, ("members", "名党员"), 1e4, 1, "zh", "1.0亿名党员"),
    (3.91, ("yuan", "元"), 1e8, (0, 2), "en", "391 million yuan"),
    (3.91, ("yuan", "元"), 1e8, (0, 2), "zh", "3.91亿元"),
    (2.5, "yuan", 1e9, 1, "en", "2.5 billion yuan"),
    (12345, "yuan", 1, 1, "en", "12,345 yuan"),
    (12345, ("yuan", "元"), 1, 1, "zh", "1.2万元"),
    (-2e6, "yuan", 1, 1, "en", "\u22122.0 million yuan"),
    (7.5, "", 1, 1, "en", "7.5"),
])
def test_amounts_in_words(value, unit, scale, digits, lang, expected):
    assert amount_text(value, unit, scale=scale, digits=digits, lang=lang) == expected


@pytest.mark.parametrize("value, lang, expected", [
    (-0.84, "en", "0.84 points below"),
    (0.3, "en", "0.30 points above"),
    (0.001, "en", "level with"),
    (-0.84, "zh", "低0.84分"),
    (0.3, "zh", "高0.30分"),
    (-0.004, "zh", "相当"),
])
def test_signed_differences_in_words(value, lang, expected):
    assert signed_text(value, ("points", "分"), more=("above", "高"), less=("below", "低"),
                       same=("level with", "相当"), lang=lang) == expected


@pytest.mark.parametrize("k, n, lang, expected", [
    (5, 5, "en", "all five causes"),
    (3, 5, "en", "three of the five causes"),
    (0, 5, "en", "none of the five causes"),
    (2, 2, "en", "both causes"),
    (5, 5, "zh", "全部五项原因"),
    (3, 5, "zh", "五项原因中的三项原因"),
])
def test_counts_in_words(k, n, lang, expected):
    assert count_of_text(k, n, ("causes", "项原因"), lang=lang) == expected


def test_a_count_beyond_its_total_is_refused():
    with pytest.raises(ValueError, match="6 of 5"):
        count_of_text(6, 5)


def test_numbers_in_words_stop_at_ten():
    assert [number_words(n, "en") for n in (0, 2, 10, 11, 1200)] == ["zero", "two", "ten", "11", "1,200"]
    assert number_words(2, "zh") == "两"


def test_a_glued_phrase_prints_a_true_minus_but_keeps_hyphens_and_code():
    from ztown.publication.publish import true_minus

    assert true_minus("each is -0.79, bias -0.64 SE") == "each is \u22120.79, bias \u22120.64 SE"
    assert true_minus("2014-2023, Oaxaca-Blinder, `att_event_-2` and x-1") == \
        "2014-2023, Oaxaca-Blinder, `att_event_-2` and x-1"


def test_a_signed_difference_is_worded_in_both_languages_by_default():
    assert signed_text(-0.84, lang="en") == "0.84 points below"
    assert signed_text(-0.84, lang="zh") == "低0.84分"
    assert signed_text(0.0001, lang="zh") == "相当"
