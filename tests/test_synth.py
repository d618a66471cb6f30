"""`ztown synth` is reproducible: the default seed regenerates the committed package byte for byte,
the same seed gives the same bytes, another seed other bytes, and `--set` overrides are recorded."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ztown
from ztown.data import schema, synth
from ztown.cli import main as ztown_main
from ztown.data.schema import DEFAULT_SEED


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _parameter(folder: Path, name: str) -> dict[str, str]:
    text = (folder / "data" / "parameters.csv").read_text(encoding="utf-8")
    return next(row for row in csv.DictReader(io.StringIO(text)) if row["parameter"] == name)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """`ztown synth --out ...` at the default seed, run as a user would run it."""
    out = tmp_path_factory.mktemp("synth") / "datapackage"
    ztown_script = Path(sys.executable).with_name("ztown")
    subprocess.run([str(ztown_script), "synth", "--out", str(out)], check=True, capture_output=True, text=True)
    return out


def test_default_seed_regenerates_every_committed_file_byte_for_byte(regenerated, committed_package):
    committed, fresh = _files(committed_package), _files(regenerated)
    assert sorted(fresh) == sorted(committed)
    assert set(fresh) == {"datapackage.json"} | {f"data/{name}.csv" for name in schema.RESOURCE_NAMES}
    differing = [name for name in committed if committed[name] != fresh[name]]
    assert not differing, f"regeneration differs from the committed package in {differing}"


def test_same_seed_same_bytes_and_another_seed_other_bytes(regenerated, tmp_path):
    assert ztown_main(["synth", "--out", str(tmp_path / "again"), "--seed", str(DEFAULT_SEED)]) == 0
    assert _files(tmp_path / "again") == _files(regenerated)

    assert ztown_main(["synth", "--out", str(tmp_path / "other"), "--seed", str(DEFAULT_SEED + 1)]) == 0
    other, first = _files(tmp_path / "other"), _files(regenerated)
    for name in ("data/respondents.csv", "data/villages.csv", "data/village_years.csv", "datapackage.json"):
        assert other[name] != first[name], name
    assert float(_parameter(tmp_path / "other", "seed")["value"]) == DEFAULT_SEED + 1
    # the real figures do not depend on the seed
    assert other["data/national_context.csv"] == first["data/national_context.csv"]


def test_a_set_override_is_recorded_in_parameters_and_the_package_is_valid(tmp_path, capsys):
    out = tmp_path / "null_funding"
    assert ztown_main(["synth", "--out", str(out), "--set", "beta_fun=0"]) == 0
    assert float(_parameter(out, "beta_fun")["value"]) == 0.0
    assert float(_parameter(out, "beta_sup")["value"]) != 0.0
    data = ztown.load(out)
    assert data.truth["beta_fun"] == 0.0


def test_an_unknown_set_name_fails_with_a_clear_message(tmp_path, capsys):
    out = tmp_path / "never"
    assert ztown_main(["synth", "--out", str(out), "--set", "beta_nonsense=1"]) != 0
    err = capsys.readouterr().err
    assert "unknown parameter" in err and "beta_nonsense" in err
    assert "beta_fun" in err  # the message lists the names that exist
    assert not (out / "datapackage.json").exists()


# --------------------------------------------------------------------------- town and town-year shocks

STRESS = {k: str(v) for k, v in synth.STRESS_SHOCKS.items()}


def _frames(overrides: dict[str, str] | None = None, seed: int = DEFAULT_SEED) -> dict:
    return synth.generate(synth.apply_overrides(synth.default_parameters(seed), overrides or {}))


def _truth(frames) -> dict[str, float]:
    p = frames["parameters"]
    return dict(zip(p["parameter"], p["value"]))


def test_shocks_default_to_zero_and_the_truths_given_the_towns_equal_the_structural_ones():
    params = synth.default_parameters()
    assert all(params[k].value == 0.0 and params[k].group == "town_shock" and params[k].unit
               for k in synth.STRESS_SHOCKS)
    truth = _truth(_frames())
    given = [k for k in truth if k.endswith("_given_towns")]
    assert len(given) >= 30
    for name in given:
        assert truth[name] == truth[name.removesuffix("_given_towns")], name
    assert all(v == 0.0 for k, v in truth.items() if k.startswith("town_shock_"))


def test_year_shocks_move_only_the_satisfaction_index_by_the_town_year_shock():
    base, shocked = _frames(), _frames({"town_year_sd": "2.0"})
    for name in ("regions", "villages", "respondents"):
        pd.testing.assert_frame_equal(base[name], shocked[name])
    vy0, vy1 = base["village_years"], shocked["village_years"]
    pd.testing.assert_frame_equal(vy0.drop(columns="satisfaction_index"), vy1.drop(columns="satisfaction_index"))
    shocks = synth.town_shocks({"seed": DEFAULT_SEED, "town_cause_sd": 0.0, "town_effect_sd": 0.0,
                                "town_year_sd": 2.0})
    town = vy0["village_id"].map(dict(zip(base["villages"]["village_id"], base["villages"]["town_id"])))
    expected = [shocks.year[t][y - schema.FIRST_YEAR] for t, y in zip(town, vy0["year"])]
    diff = vy1["satisfaction_index"] - vy0["satisfaction_index"]
    # the index is rounded to 0.1 (and clipped to 0-100, which these values never reach)
    assert np.abs(diff - np.array(expected)).max() <= 0.1 + 1e-9
    assert np.abs(np.array(expected)).max() > 1.0


def test_town_shocks_shift_each_towns_causes_and_effectiveness_as_documented():
    """With the shocks large, each town's mean cause score moves by about its realized shock.

    (About: the answers are 1-5 categories, which flatten a shift a little, and the respondents'
    draws differ, since the panel's binomial and Poisson draws use the main stream by the value.)"""
    big = {"size_multiplier": "10"}
    base, shocked = _frames(big), _frames(big | {"town_cause_sd": "0.4", "town_effect_sd": "0.4"})
    truth = _truth(shocked)
    pd.testing.assert_frame_equal(base["villages"][["village_id", "town_id", "population"]],
                                  shocked["villages"][["village_id", "town_id", "population"]])
    from ztown.data import constructs
    from ztown.analysis import scales

    def town_means(frames):
        scores = scales.scale_scores(frames["respondents"])
        town = frames["respondents"]["village_id"].map(
            dict(zip(frames["villages"]["village_id"], frames["villages"]["town_id"])))
        return scores.groupby(town.to_numpy()).mean()

    moved = town_means(shocked) - town_means(base)
    for t in schema.TOWN_IDS:
        for c in constructs.CAUSE_IDS:
            shock = truth[f"town_shock_{t}_{c}"]
            assert moved.loc[t, c] == pytest.approx(shock, abs=0.03 + 0.1 * abs(shock)), (t, c)
        # effectiveness moves by its own shock plus the causes' shocks through beta
        through_causes = sum(truth[f"beta_{c}"] * truth[f"town_shock_{t}_{c}"] for c in constructs.CAUSE_IDS)
        shock = truth[f"town_shock_{t}_effectiveness"] + through_causes
        assert moved.loc[t, scales.EFFECTIVENESS] == pytest.approx(shock, abs=0.03 + 0.1 * abs(shock)), t
    # the truths given the towns carry the shocks; the structural ones do not
    comp = [t for t in schema.TOWN_IDS if t != "Z"]
    for c in constructs.CAUSE_IDS:
        shift = truth[f"town_shock_Z_{c}"] - np.mean([truth[f"town_shock_{t}_{c}"] for t in comp])
        assert truth[f"cause_gap_{c}_given_towns"] == pytest.approx(truth[f"cause_gap_{c}"] + shift, abs=1e-9)
    unexplained = truth["town_shock_Z_effectiveness"] - np.mean([truth[f"town_shock_{t}_effectiveness"] for t in comp])
    assert truth["oaxaca_unexplained_given_towns"] == pytest.approx(unexplained, abs=1e-9)
    assert truth["effectiveness_gap_given_towns"] == pytest.approx(
        truth["oaxaca_explained_given_towns"] + unexplained, abs=1e-9)
    assert truth["effectiveness_gap"] == _truth(base)["effectiveness_gap"]  # structural: unmoved
    assert max(abs(truth[f"town_shock_{t}_{c}"]) for t in schema.TOWN_IDS for c in constructs.CAUSE_IDS) > 0.3


def test_shocks_are_deterministic_and_an_sd_only_rescales_its_draws(tmp_path):
    assert ztown_main(["synth", "--out", str(tmp_path / "a"), *sum((["--set", f"{k}={v}"] for k, v in STRESS.items()), [])]) == 0
    assert ztown_main(["synth", "--out", str(tmp_path / "b"), *sum((["--set", f"{k}={v}"] for k, v in STRESS.items()), [])]) == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    one = synth.town_shocks({"seed": 5, "town_cause_sd": 1.0, "town_effect_sd": 1.0, "town_year_sd": 1.0})
    half = synth.town_shocks({"seed": 5, "town_cause_sd": 0.5, "town_effect_sd": 0.5, "town_year_sd": 0.5})
    other = synth.town_shocks({"seed": 6, "town_cause_sd": 1.0, "town_effect_sd": 1.0, "town_year_sd": 1.0})
    for t in schema.TOWN_IDS:
        assert np.allclose(half.cause[t], 0.5 * one.cause[t]) and half.effect[t] == pytest.approx(0.5 * one.effect[t])
        assert np.allclose(half.year[t], 0.5 * one.year[t])
    assert not np.allclose(one.cause["Z"], other.cause["Z"])


def test_satisfied_share_truth_matches_a_large_sample():
    """The paths' satisfied-share truths: Z town's share in a large draw, and the share after 'all paths'
    (Z town's cause means set to the comparison towns' average) moves by satisfied_change_all."""
    big = {"size_multiplier": "30"}
    frames = _frames(big, seed=11)
    truth = _truth(frames)

    def z_share(frames):
        r = frames["respondents"]
        z = r["village_id"].str.startswith("Z") & r["satisfaction"].between(1, 5)
        return float((r.loc[z, "satisfaction"] >= 4).mean()), int(z.sum())

    share, n = z_share(frames)
    assert share == pytest.approx(truth["satisfied_share_Z"], abs=0.02)
    params = synth.default_parameters()
    raised = {f"mean_Z_{c}": str(np.mean([params[f"mean_{t}_{c}"].value for t in "ABCD"]))
              for c in ("sup", "sys", "eva", "sel", "fun")}
    after, _ = z_share(_frames(big | raised, seed=12))
    assert after - share == pytest.approx(truth["satisfied_change_all"], abs=0.03)


def _figures(text: str) -> list[float]:
    """The numbers a text states (thousands separators removed; a year range gives both years)."""
    return sorted(float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text or ""))


def test_each_comparison_town_says_what_it_is_patterned_after_in_both_languages_and_states_no_press_figure():
    """The regions' descriptions of the real experiences: in English and Chinese for each comparison town
    (Z town: neither), the same figures in both, and none of the press-reported local figures, which the
    data hold only in national_context, each with its source (nor the years they are reported for)."""
    from ztown.data.constructs import EXPERIENCES
    from ztown.data.national import national_context
    from ztown.publication.translation import cjk_share

    regions = _frames()["regions"].set_index("town_id")
    columns = list(regions.columns)
    assert columns.index("patterned_after_zh") == columns.index("patterned_after") + 1  # beside its English
    nc = national_context()
    local = nc[nc["scope"].str.startswith("local")]
    checked = 0
    for town, row in regions.iterrows():
        en, zh = row["patterned_after"], row["patterned_after_zh"]
        if row["role"] == "case":
            assert pd.isna(en) and pd.isna(zh), town
            continue
        assert isinstance(en, str) and isinstance(zh, str) and cjk_share(zh) > 0.6 and cjk_share(en) == 0, town
        assert _figures(en) == _figures(zh), f"town {town}: the English and Chinese texts state other figures"
        for experience in (e for e in EXPERIENCES if e.town == town):
            reported = local[local["indicator"].str.startswith(experience.id + "_")]
            press = set(reported["value"].astype(float)) | set(reported["year"].astype(float))
            assert not press & set(_figures(en)), f"town {town} states a press figure: {en}"
            checked += len(reported)
    assert checked >= 5, "the local figures of the experiences were not found (indicator names changed?)"
