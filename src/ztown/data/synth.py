"""The seeded generator of the study's synthetic data (`ztown synth`).

No survey of Z town exists, so every value about Z town and the four fictional comparison
towns is drawn here, from one documented data-generating process (DGP) whose true parameters
are written to the package's `parameters` resource. The DGP, in the order of the draws:

1. Towns and villages. Each town has 10 to 15 villages (times `size_multiplier`).
2. Causes. Each village has five cause indices c (supervision, supporting systems, evaluation,
   selection, funding) on the 1-5 Likert metric, higher = stronger: multivariate normal with
   the town's means, standard deviation `cause_sd` and common correlation `cause_corr`, plus a
   town shock a_tj ~ N(0, `town_cause_sd`) shared by every village of town t (one per cause).
3. Service effectiveness. Each of the five problem dimensions k has village level
   e_k = 3 + sum_j beta_j (c_j - 3) + b_t + u_k, with u_k ~ N(0, `effect_noise_sd`) and a town
   shock b_t ~ N(0, `town_effect_sd`) common to the town's villages and to the five dimensions.
4. Respondents (~40 per village) perceive e_k (problem items) or c_j (cause items) through
   y* = level + role shift + education and age shifts + leniency r_i + e, r_i ~ N(0, `leniency_sd`),
   e ~ N(0, `item_noise_sd`), and answer a 1-5 Likert item through the thresholds 1.5, 2.5, 3.5,
   4.5 (negatively worded items are answered in reverse). A share of answers is "don't know" (8)
   or "refused" (9), completely at random.
5. Satisfaction (1-5) follows an ordered logit: s* = theta (mean_k e_k - 3) + role shift + logistic
   noise, with thresholds `sat_cut1..4`.
6. The village panel, 2014-2023: comparison towns adopt their reforms in staggered years (Z town
   never); the satisfaction index has village effects, common year effects, town-year shocks
   w_ty ~ N(0, `town_year_sd`) shared by a town's villages in a year, and the reform's effect
   ramping up over `reform_ramp_years` from the year of adoption; no anticipation.

The town and town-year shocks are what a design with five towns cannot average away: every
village of a town shares them. They come from their own random stream (`shock_rng`, a child of
the seed), drawn whatever their SDs, so the SDs only rescale the same standard-normal draws and,
at the default SDs of 0, the data are exactly those of the DGP without shocks. The realized town
shocks are recorded in `parameters` (group "realized_shock"), and the truths come twice: group
"implied" holds the structural values (what the town means and betas imply for towns like these,
shocks averaged out), group "implied_given_towns" (names ending `_given_towns`) the values for
these five towns with their realized shocks. The two agree when the shock SDs are 0.

Calibration to real figures (national_context) is recorded in `parameters` (group
"calibration"). The same seed and generator version give the same draws and true parameters (the Monte
Carlo and power caches are keyed by it); the same seed and `ztown` version give byte-identical CSV files,
descriptive texts included.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ztown.data import schema
from ztown.data.constructs import CAUSE_IDS, CONSTRUCTS, ITEMS, PATHS, PROBLEM_IDS
from ztown.data.national import national_context

GENERATOR_VERSION = "1.1.0"  # 1.1: town and town-year shocks (0 by default), more implied truths
DEFAULT_SEED = schema.DEFAULT_SEED
REFERENCE_YEAR = 2019  # year of the "empty-shell" calibration target
SHOCK_STREAM = 1  # spawn key of the town shocks' random stream (the main stream is the seed's root)
# The stress setting of the truth-recovery study: town and town-year shocks of a size a real set of
# five towns could well have (see the data-and-methods page for the reasoning behind each value).
STRESS_SHOCKS = {"town_cause_sd": 0.15, "town_effect_sd": 0.10, "town_year_sd": 0.5}


@dataclass(frozen=True)
class Param:
    name: str
    value: float | str
    group: str
    unit: str
    description: str


TOWNS = (
    # id, English name, Chinese name, role, patterned after in English and in Chinese (the real experience
    # as the book's cited sources describe it, see constructs.EXPERIENCES; no press figures), reform
    ("Z", "Z town", "Z镇", "case", None, None, "none"),
    ("A", "Town A", "甲镇", "comparison",
     "The new-era Fengqiao experience (Zhuji, Zhejiang): villagers' disputes and demands are prevented and "
     "settled where they arise, under the leadership of the grass-roots Party organization, rather than passed "
     "up to higher authorities.",
     "新时代“枫桥经验”（浙江诸暨）：在基层党组织领导下，村民的矛盾纠纷和诉求就地预防、就地化解，矛盾不上交。",
     "local_mediation"),
    ("B", "Town B", "乙镇", "comparison",
     "Yantai (Shandong), where village Party branches lead cooperatives that pool villagers' land and labour.",
     "山东烟台：村党支部领办合作社，把村民的土地和劳动力组织起来。",
     "branch_cooperative"),
    ("C", "Town C", "丙镇", "comparison",
     "Tangyue village (Anshun, Guizhou), where the village Party branch leads the village collective economy, "
     "with the village's land and labour reorganized under a village-wide collective enterprise.",
     "贵州安顺塘约村：村党支部领导村集体经济，以全村统一的集体经营重新组织土地和劳动力。",
     "collective_economy"),
    ("D", "Town D", "丁镇", "comparison",
     "Village supervision committees, which a study of 100 villages in five provinces (2005-2019) finds "
     "raised satisfaction with public goods.",
     "村务监督委员会：一项对五省100个村（2005—2019年）的研究发现，村务监督提高了农户对公共品的满意度。",
     "supervision_committee"),
)
REFORM_ZH = {"none": "无", "local_mediation": "党组织领导的村内调解", "branch_cooperative": "党支部领办合作社",
             "collective_economy": "党支部领导村集体经济", "supervision_committee": "村务监督委员会"}
EDU_LEVELS = list(schema.EDUCATION)  # ordered, lowest first
MEETINGS_REQUIRED = 32  # 4 branch general meetings + 12 committee meetings + 12 group meetings + 4 lessons


def calibration_targets() -> dict[str, tuple[float, str]]:
    """Targets taken from the real national figures, each with the figure it came from."""
    nc = national_context().set_index(["indicator", "year"])["value"]
    income = nc.xs("rural_income_per_capita")
    first, last = int(income.index.min()), int(income.index.max())
    last_survey = 2023  # the survey wave; 2024 figures are published after it
    growth = (income.loc[last_survey] / income.loc[first]) ** (1 / (last_survey - first)) - 1
    return {
        "member_share_61_plus": (float(nc.loc[("members_aged_61_plus_share", 2023)]),
                                 "members aged 61 and over / members, 2023 communiqué (computed)"),
        "member_college_share": (float(nc.loc[("members_college_share", 2023)]),
                                 "members with college education or above, 2023 communiqué (stated)"),
        "secretary_mean_age": (float(nc.loc[("village_secretary_mean_age", 2022)]),
                               "village Party secretaries' mean age, 2022 (CASS survey)"),
        "secretary_college_share": (float(nc.loc[("village_secretaries_college_share", 2022)]),
                                    "village Party secretaries with college or above, 2022 communiqué"),
        "empty_shell_share": (float(nc.loc[("empty_shell_village_share", REFERENCE_YEAR)]),
                              "villages with collective income under 50,000 yuan, 2019 (Chen Xueyuan et al.)"),
        "rural_income_2015": (float(income.loc[first]),
                              f"rural per-capita disposable income, {first} (NBS)"),
        "rural_income_growth": (float(growth),
                                f"annual growth of rural per-capita disposable income, {first}-{last_survey} "
                                f"(NBS; computed as (income{last_survey}/income{first})^(1/{last_survey - first}) - 1)"),
    }
    del last


def default_parameters(seed: int = DEFAULT_SEED) -> dict[str, Param]:
    """Every true parameter of the DGP, with its default value."""
    P: list[Param] = [
        Param("seed", seed, "meta", "", "Seed of numpy's default_rng (PCG64) for every draw."),
        Param("generator_version", GENERATOR_VERSION, "meta", "", "Version of ztown.data.synth."),
        Param("size_multiplier", 1, "design", "x", "Multiplies the number of villages per town."),
        Param("villages_min", 10, "design", "villages", "Fewest villages per town (before the multiplier)."),
        Param("villages_max", 15, "design", "villages", "Most villages per town (before the multiplier)."),
        Param("respondents_per_village", 40, "design", "persons", "Mean respondents per village (+-3)."),
        Param("share_cadre", 0.10, "design", "share", "Share of respondents who are village cadres."),
        Param("share_member", 0.25, "design", "share", "Share of respondents who are ordinary Party members."),
    ]
    betas = {"sup": 0.30, "sys": 0.20, "eva": 0.20, "sel": 0.25, "fun": 0.35}
    for cid in CAUSE_IDS:
        P.append(Param(f"beta_{cid}", betas[cid], "cause_effect", "Likert points per Likert point",
                       f"Effect of the {cid} cause index on every service-effectiveness dimension."))
    means = {"Z": (2.60, 2.65, 2.70, 2.65, 2.50), "A": (3.30, 3.20, 3.15, 3.25, 3.10),
             "B": (3.20, 3.25, 3.10, 3.30, 3.35), "C": (3.15, 3.10, 3.20, 3.20, 3.30),
             "D": (3.40, 3.15, 3.25, 3.15, 3.05)}
    for town, vals in means.items():
        for cid, v in zip(CAUSE_IDS, vals):
            P.append(Param(f"mean_{town}_{cid}", v, "town_mean", "Likert points",
                           f"Mean of the {cid} cause index in town {town}."))
    P += [
        Param("cause_sd", 0.35, "noise", "Likert points", "Within-town SD of each cause index across villages."),
        Param("cause_corr", 0.30, "noise", "correlation", "Correlation between any two cause indices in a village."),
        Param("effect_noise_sd", 0.15, "noise", "Likert points", "SD of the village-level effectiveness residual u_k."),
        Param("leniency_sd", 0.25, "perception", "Likert points", "SD of a respondent's general leniency r_i."),
        Param("item_noise_sd", 0.50, "perception", "Likert points", "SD of the item-level perception noise."),
        Param("role_shift_member", 0.15, "perception", "Likert points",
              "Shift of members' answers on problem items (members rate services higher)."),
        Param("role_shift_cadre", 0.35, "perception", "Likert points",
              "Shift of cadres' answers on problem items (cadres rate their own work higher)."),
        Param("role_shift_cause_cadre", 0.15, "perception", "Likert points", "Shift of cadres' answers on cause items."),
        Param("education_shift", -0.06, "perception", "Likert points per level",
              "Shift per education level above the lowest (the more educated are more critical)."),
        Param("age_shift", 0.03, "perception", "Likert points per decade", "Shift per decade of age above 50."),
        Param("p_dont_know", 0.02, "perception", "share", "Probability that an item is answered \"don't know\" (8)."),
        Param("p_refused", 0.005, "perception", "share", "Probability that an item is refused (9)."),
        Param("theta", 1.60, "satisfaction", "logit per Likert point",
              "Effect of mean village effectiveness on the latent satisfaction (ordered logit)."),
        Param("sat_role_cadre", 0.40, "satisfaction", "logit", "Cadres' shift in latent satisfaction."),
        Param("sat_role_member", 0.20, "satisfaction", "logit", "Members' shift in latent satisfaction."),
        Param("sat_cut1", -3.0, "satisfaction", "logit", "Threshold between answers 1 and 2."),
        Param("sat_cut2", -1.5, "satisfaction", "logit", "Threshold between answers 2 and 3."),
        Param("sat_cut3", 0.0, "satisfaction", "logit", "Threshold between answers 3 and 4."),
        Param("sat_cut4", 2.0, "satisfaction", "logit", "Threshold between answers 4 and 5."),
    ]
    reforms = {"A": (2016, 5.0), "B": (2018, 6.0), "C": (2019, 4.5), "D": (2020, 5.0)}
    for town, (year, effect) in reforms.items():
        P.append(Param(f"reform_year_{town}", year, "reform_effect", "year", f"Year town {town}'s reform takes effect."))
        P.append(Param(f"reform_effect_{town}", effect, "reform_effect", "index points",
                       f"Full effect of town {town}'s reform on the satisfaction index (reached after the ramp)."))
    P += [
        Param("reform_ramp_years", 2, "reform_effect", "years",
              "Years over which a reform's effect builds up: effect x min(e + 1, ramp) / ramp in event year e."),
        Param("panel_base", 60.0, "panel", "index points", "Satisfaction index of an average village in 2014."),
        Param("panel_effectiveness_slope", 8.0, "panel", "index points per Likert point",
              "Village satisfaction-index level per point of mean effectiveness."),
        Param("panel_village_sd", 2.0, "noise", "index points", "SD of the village effect beyond effectiveness."),
        Param("panel_trend", 0.8, "panel", "index points per year", "Common linear trend of the satisfaction index."),
        Param("panel_year_sd", 1.0, "noise", "index points", "SD of the common year shocks."),
        Param("panel_noise_sd", 1.5, "noise", "index points", "SD of the village-year noise."),
        Param("migrant_share_Z", 0.28, "panel", "share", "Share of Z town's Party members away as migrant workers."),
        Param("migrant_share_comparison", 0.16, "panel", "share", "The same share in the comparison towns."),
        Param("secretary_age_shift_Z", 4.0, "calibration", "years",
              "Z town's secretaries are older than the calibrated national mean by this much."),
        Param("secretary_college_share_Z", 25.0, "calibration", "percent",
              "Share of Z town's secretaries with college or above (comparison towns: national figure)."),
        Param("member_college_share_Z", 35.0, "calibration", "percent",
              "Share of Z town's Party members with college or above (comparison towns: national figure)."),
        Param("income_factor_Z", 0.90, "calibration", "ratio", "Z town's per-capita income relative to the national level."),
        Param("town_cause_sd", 0.0, "town_shock", "Likert points",
              "SD of the town shock a_tj added to cause index j of every village of town t (one draw per town "
              "and cause). 0: the town means are the towns' own levels, and the book's estimands are about "
              "these five towns; above 0: the towns are draws from a population of towns."),
        Param("town_effect_sd", 0.0, "town_shock", "Likert points",
              "SD of the town shock b_t added to every effectiveness dimension of every village of town t. "
              "It is effectiveness the causes do not explain, shared by a town's villages."),
        Param("town_year_sd", 0.0, "town_shock", "index points",
              "SD of the town-year shock w_ty added to the satisfaction index of every village of town t in "
              "year y: a town's good and bad years, which no village-level comparison averages away."),
    ]
    for name, (value, source) in calibration_targets().items():
        P.append(Param(f"target_{name}", value, "calibration", "", f"Calibration target: {source}."))
    return {p.name: p for p in P}


def apply_overrides(params: dict[str, Param], overrides: dict[str, str]) -> dict[str, Param]:
    """Return the parameters with `--set NAME=VALUE` overrides applied (numbers only)."""
    out = dict(params)
    for name, raw in overrides.items():
        if name not in out:
            raise KeyError(f"unknown parameter {name!r}; known: {', '.join(sorted(out))}")
        if name == "generator_version" or out[name].group == "calibration" and name.startswith("target_"):
            raise ValueError(f"parameter {name!r} is fixed (it records a version or a real figure)")
        old = out[name]
        value = float(raw)
        if isinstance(old.value, int) and not isinstance(old.value, bool):
            if value != int(value):
                raise ValueError(f"parameter {name!r} takes a whole number, got {raw!r}")
            value = int(value)
        out[name] = Param(name, value, old.group, old.unit, old.description)
    return out


def shock_table(params: dict[str, Param], shocks: dict[str, float] | None = None) -> pd.DataFrame:
    """The town-shock SDs (default and `shocks`, e.g. STRESS_SHOCKS) and the share of the variance between a
    town's villages each would make shared: s^2 / (s^2 + sigma^2), with sigma^2 the variance the shock adds
    to (the cause indices' spread for a; the effectiveness that causes and residual make vary across
    villages for b; the village-year noise for w)."""
    p = {k: v.value for k, v in params.items()}
    shocks = STRESS_SHOCKS if shocks is None else shocks
    beta = np.array([p[f"beta_{c}"] for c in CAUSE_IDS])
    between = {"town_cause_sd": p["cause_sd"] ** 2,
               "town_effect_sd": float(beta @ _cause_cov(p) @ beta) + p["effect_noise_sd"] ** 2,
               "town_year_sd": p["panel_noise_sd"] ** 2}
    return pd.DataFrame([{"parameter": k, "unit": params[k].unit, "default": p[k], "stress": v,
                          "stress_shared_share": v ** 2 / (v ** 2 + between[k]),
                          "description": params[k].description} for k, v in shocks.items()])


def _cause_cov(p: dict[str, float]) -> np.ndarray:
    k = len(CAUSE_IDS)
    corr = np.full((k, k), p["cause_corr"]) + np.eye(k) * (1 - p["cause_corr"])
    return corr * p["cause_sd"] ** 2


def _likert(latent: np.ndarray) -> np.ndarray:
    return 1 + (latent[..., None] > np.array([1.5, 2.5, 3.5, 4.5])).sum(-1)


def _ordered_logit_draw(rng: np.random.Generator, eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    latent = eta + rng.logistic(size=eta.shape)
    return 1 + (latent[:, None] > cuts).sum(1)


def generate(params: dict[str, Param]) -> dict[str, pd.DataFrame]:
    """Draw every synthetic resource from the DGP. Deterministic given the parameters."""
    p = {k: v.value for k, v in params.items()}
    rng = np.random.default_rng(int(p["seed"]))
    towns = [t[0] for t in TOWNS]
    targets = {k[len("target_"):]: v for k, v in p.items() if k.startswith("target_")}

    # --- regions
    reform_year = {t: (None if t == "Z" else int(p[f"reform_year_{t}"])) for t in towns}
    regions = pd.DataFrame([
        {"town_id": t, "name_en": en, "name_zh": zh, "role": role, "patterned_after": pat,
         "patterned_after_zh": pat_zh, "reform": ref, "reform_zh": REFORM_ZH[ref], "reform_year": reform_year[t]}
        for t, en, zh, role, pat, pat_zh, ref in TOWNS
    ])
    regions["reform_year"] = regions["reform_year"].astype("Int64")

    shocks = town_shocks(p)

    # --- villages and their latent causes and effectiveness
    mult = int(p["size_multiplier"])
    n_by_town = {t: int(rng.integers(p["villages_min"], p["villages_max"] + 1)) * mult for t in towns}
    width = max(2, len(str(max(n_by_town.values()))))
    rows, cause_rows = [], []
    cov = _cause_cov(p)
    for t in towns:
        mu = np.array([p[f"mean_{t}_{c}"] for c in CAUSE_IDS])
        causes = rng.multivariate_normal(mu, cov, size=n_by_town[t], method="cholesky")
        for i in range(n_by_town[t]):
            rows.append({"village_id": f"{t}{i + 1:0{width}d}", "town_id": t})
            cause_rows.append(causes[i])
    villages = pd.DataFrame(rows)
    n_v = len(villages)
    town_of_village = villages["town_id"].to_numpy()
    # the town shocks (exactly 0 at the default SDs, which leaves every value as without them)
    C = np.array(cause_rows) + np.array([shocks.cause[t] for t in town_of_village])  # villages x causes
    beta = np.array([p[f"beta_{c}"] for c in CAUSE_IDS])
    U = rng.normal(0, p["effect_noise_sd"], size=(n_v, len(PROBLEM_IDS)))
    E = 3 + ((C - 3) @ beta)[:, None] + U  # villages x problem dimensions
    E = E + np.array([shocks.effect[t] for t in town_of_village])[:, None]
    is_z = (villages["town_id"] == "Z").to_numpy()

    pop = np.clip(np.round(np.exp(rng.normal(np.log(1800), 0.45, n_v))), 300, 8000).astype(int)
    villages["population"] = pop
    villages["households"] = np.round(pop / rng.uniform(2.8, 3.6, n_v)).astype(int)
    members = np.maximum(8, np.round(pop * rng.uniform(0.03, 0.05, n_v))).astype(int)
    villages["party_members"] = members
    mig = np.where(is_z, p["migrant_share_Z"], p["migrant_share_comparison"])
    villages["members_migrant"] = rng.binomial(members, mig)
    age_mean = targets["secretary_mean_age"] + np.where(is_z, p["secretary_age_shift_Z"], 0.0)
    villages["secretary_age"] = np.clip(np.round(rng.normal(age_mean, 7.0)), 25, 70).astype(int)
    college = np.where(is_z, p["secretary_college_share_Z"], targets["secretary_college_share"]) / 100
    villages["secretary_education"] = _draw_education(rng, college, (0.05, 0.35, 0.60))
    villages["secretary_years_in_post"] = np.minimum(
        rng.poisson(6.0, n_v), villages["secretary_age"].to_numpy() - 22).astype(int)
    villages["first_secretary"] = rng.random(n_v) < 0.3
    villages["distance_km"] = np.round(np.clip(rng.gamma(2.0, 4.0, n_v), 0.5, 60), 1)
    car = E[:, PROBLEM_IDS.index("car")]
    villages["service_centre"] = rng.random(n_v) < 1 / (1 + np.exp(-(1.5 + 2.0 * (car - 3))))

    panel = _panel(rng, p, targets, villages, C, E, reform_year, shocks)
    villages["collective_income"] = panel.loc[panel["year"] == schema.LAST_YEAR, "collective_income"].to_numpy()

    respondents = _respondents(rng, p, targets, villages, C, E)
    frames = {
        "regions": regions, "villages": villages, "village_years": panel, "respondents": respondents,
        "constructs": _constructs(), "items": _items(), "national_context": national_context(),
        "parameters": _parameter_table(params, villages, panel, reform_year, shocks),
    }
    return frames


@dataclass(frozen=True)
class TownShocks:
    """The realized town shocks: per town, one per cause index, one on effectiveness, one per panel year."""

    cause: dict[str, np.ndarray]
    effect: dict[str, float]
    year: dict[str, np.ndarray]


def town_shocks(p: dict) -> TownShocks:
    """Draw the town and town-year shocks from their own stream, a child of the seed.

    Every standard-normal draw is made whatever the SDs, in a fixed order (causes, effectiveness,
    years, town by town), so an SD only scales its own draws: with SD 0 a shock is exactly 0, and
    the main stream, hence every other value of the data, is untouched by this function.
    """
    shock_rng = np.random.default_rng(np.random.SeedSequence(int(p["seed"]), spawn_key=(SHOCK_STREAM,)))
    towns = [t[0] for t in TOWNS]
    n_years = schema.LAST_YEAR - schema.FIRST_YEAR + 1
    z_cause = shock_rng.standard_normal((len(towns), len(CAUSE_IDS)))
    z_effect = shock_rng.standard_normal(len(towns))
    z_year = shock_rng.standard_normal((len(towns), n_years))
    # (+ 0.0 turns the -0.0 of a zero SD times a negative draw into 0.0, for a tidy parameters table)
    return TownShocks(
        cause={t: float(p["town_cause_sd"]) * z_cause[i] + 0.0 for i, t in enumerate(towns)},
        effect={t: float(p["town_effect_sd"]) * float(z_effect[i]) + 0.0 for i, t in enumerate(towns)},
        year={t: float(p["town_year_sd"]) * z_year[i] + 0.0 for i, t in enumerate(towns)},
    )


def _draw_education(rng, college_share, lower_split) -> np.ndarray:
    """Draw education levels: P(college) given, the rest split in the proportions given."""
    n = len(college_share)
    lower = np.asarray(lower_split) / np.sum(lower_split)
    probs = np.column_stack([(1 - college_share)[:, None] * lower[None, :], college_share])
    u = rng.random(n)[:, None]
    idx = (u > probs.cumsum(1)).sum(1)
    return np.array(EDU_LEVELS, dtype=object)[np.minimum(idx, 3)]


def _panel(rng, p, targets, villages, C, E, reform_year, shocks: TownShocks) -> pd.DataFrame:
    years = np.arange(schema.FIRST_YEAR, schema.LAST_YEAR + 1)
    n_v, n_t = len(villages), len(years)
    town = villages["town_id"].to_numpy()
    is_z = town == "Z"
    fun = C[:, CAUSE_IDS.index("fun")]
    sel = C[:, CAUSE_IDS.index("sel")]
    effbar = E.mean(1)
    g = targets["rural_income_growth"]
    t_idx = years - schema.FIRST_YEAR

    year_shock = rng.normal(0, p["panel_year_sd"], n_t)
    village_fe = p["panel_effectiveness_slope"] * (effbar - 3) + rng.normal(0, p["panel_village_sd"], n_v)
    adopt = np.array([reform_year[t] if reform_year[t] is not None else 10_000 for t in town])
    event = years[None, :] - adopt[:, None]
    ramp = float(p["reform_ramp_years"])
    full = np.array([0.0 if t == "Z" else p[f"reform_effect_{t}"] for t in town])
    effect = np.where(event >= 0, full[:, None] * np.minimum(event + 1, ramp) / ramp, 0.0)
    in_force = event >= 0
    sat = (p["panel_base"] + village_fe[:, None] + p["panel_trend"] * t_idx[None, :] + year_shock[None, :]
           + effect + rng.normal(0, p["panel_noise_sd"], (n_v, n_t)))
    sat = sat + np.array([shocks.year[t] for t in town])  # town-year shocks (0 at the default SD)
    sat = np.round(np.clip(sat, 0, 100), 1)

    # Collective income: log-normal, calibrated so that the share under 50,000 yuan in 2019 is the
    # empty-shell share, growing at the rural income growth rate; stronger funding, richer collective.
    sd = 1.0
    z = stats.norm.ppf(targets["empty_shell_share"] / 100)
    log_median_2019 = np.log(50_000) - sd * z
    log_ci = log_median_2019 + 0.5 * (fun - 3) + rng.normal(0, sd, n_v)
    ci = np.exp(log_ci[:, None] + np.log1p(g) * (years - REFERENCE_YEAR)[None, :]
                + rng.normal(0, 0.15, (n_v, n_t)))
    income_level = targets["rural_income_2015"] * np.where(is_z, p["income_factor_Z"], 1.0)
    income = (income_level * np.exp(rng.normal(0, 0.12, n_v)))[:, None] * (1 + g) ** (years - 2015)[None, :]
    income = income * np.exp(rng.normal(0, 0.03, (n_v, n_t)))
    funds = (20.0 * np.exp(0.6 * (fun - 3)))[:, None] * (1 + g) ** t_idx[None, :] * np.exp(
        rng.normal(0, 0.10, (n_v, n_t)))
    cov = E[:, PROBLEM_IDS.index("cov")]
    p_meet = 1 / (1 + np.exp(-(1.0 + 1.2 * (cov - 3)[:, None] + 0.3 * in_force + 0.05 * t_idx[None, :])))
    meetings = rng.binomial(MEETINGS_REQUIRED, p_meet)
    training = np.round(np.clip(rng.gamma(4.0, (12 + 3 * (sel - 3))[:, None] / 4.0, (n_v, n_t)), 0, 200), 1)
    frm = E[:, PROBLEM_IDS.index("frm")]
    pop = villages["population"].to_numpy()
    activities = rng.poisson((pop / 100)[:, None] * np.exp(0.4 * (frm - 3)[:, None] + 0.15 * in_force))
    reached = rng.poisson(activities * 25.0)
    received = rng.poisson(np.broadcast_to((pop / 60)[:, None], (n_v, n_t)))
    carr = E[:, PROBLEM_IDS.index("car")]
    p_res = 1 / (1 + np.exp(-(0.5 + 1.5 * (carr - 3)[:, None] + 0.4 * in_force)))
    resolved = rng.binomial(received, p_res)
    reform = np.array([schema_reform(t) for t in town], dtype=object)

    return pd.DataFrame({
        "village_id": np.repeat(villages["village_id"].to_numpy(), n_t),
        "year": np.tile(years, n_v),
        "service_funds_per_resident": np.round(funds, 2).ravel(),
        "meetings_required": MEETINGS_REQUIRED,
        "meetings_held": meetings.ravel(),
        "training_hours": training.ravel(),
        "service_activities": activities.ravel(),
        "villagers_reached": reached.ravel(),
        "complaints_received": received.ravel(),
        "complaints_resolved": resolved.ravel(),
        "collective_income": np.round(ci).astype(np.int64).ravel(),
        "income_per_capita": np.round(income).astype(np.int64).ravel(),
        "satisfaction_index": sat.ravel(),
        "reform_in_force": np.where(in_force, reform[:, None], "none").ravel(),
    })


def schema_reform(town: str) -> str:
    """The reform code of a town."""
    return {t: reform for t, *_, reform in TOWNS}[town]


def _respondents(rng, p, targets, villages, C, E) -> pd.DataFrame:
    n_v = len(villages)
    n_r = (p["respondents_per_village"] + rng.integers(-3, 4, n_v)).astype(int)
    v_idx = np.repeat(np.arange(n_v), n_r)
    n = len(v_idx)
    is_z = (villages["town_id"].to_numpy() == "Z")[v_idx]
    u = rng.random(n)
    role = np.where(u < p["share_cadre"], "cadre", np.where(u < p["share_cadre"] + p["share_member"], "member",
                                                            "villager"))
    male_p = np.select([role == "cadre", role == "member"], [0.75, 0.70], 0.5)
    sex = np.where(rng.random(n) < male_p, "male", "female")
    # Members' ages: normal with SD 13, mean set so that the share aged 61+ hits the national target.
    member_mu = 60.5 - 13 * stats.norm.ppf(1 - targets["member_share_61_plus"] / 100)
    mu_age = np.select([role == "cadre", role == "member"], [targets["secretary_mean_age"], member_mu], 48.0)
    sd_age = np.select([role == "cadre", role == "member"], [8.0, 13.0], 15.0)
    age = np.clip(np.round(rng.normal(mu_age, sd_age)), 18, 90).astype(int)
    member_college = np.where(is_z, p["member_college_share_Z"], targets["member_college_share"]) / 100
    college = np.select([role == "cadre", role == "member"],
                        [targets["secretary_college_share"] / 100, member_college], 0.15)
    education = _draw_education(rng, college, (0.15, 0.45, 0.40))
    edu_level = np.array([EDU_LEVELS.index(e) for e in education])

    shift_common = p["education_shift"] * edu_level + p["age_shift"] * (age - 50) / 10
    problem_shift = np.select([role == "cadre", role == "member"], [p["role_shift_cadre"], p["role_shift_member"]], 0.0)
    cause_shift = np.where(role == "cadre", p["role_shift_cause_cadre"], 0.0)
    leniency = rng.normal(0, p["leniency_sd"], n)
    out = {"respondent_id": np.arange(1, n + 1), "village_id": villages["village_id"].to_numpy()[v_idx],
           "role": role, "sex": sex, "age": age, "education": education}
    for item in ITEMS:
        if item.construct in PROBLEM_IDS:
            level = E[v_idx, PROBLEM_IDS.index(item.construct)] + problem_shift
        else:
            level = C[v_idx, CAUSE_IDS.index(item.construct)] + cause_shift
        latent = level + shift_common + leniency + rng.normal(0, p["item_noise_sd"], n)
        answer = _likert(latent)
        if item.reverse_coded:
            answer = 6 - answer
        out[item.id] = _with_missing(rng, answer, p)
    eta = (p["theta"] * (E.mean(1)[v_idx] - 3)
           + np.select([role == "cadre", role == "member"], [p["sat_role_cadre"], p["sat_role_member"]], 0.0))
    cuts = np.array([p[f"sat_cut{k}"] for k in range(1, 5)])
    out["satisfaction"] = _with_missing(rng, _ordered_logit_draw(rng, eta, cuts), p)
    car = E[v_idx, PROBLEM_IDS.index("car")]
    lam = np.exp(0.8 + 0.5 * (car - 3) + np.select([role == "cadre", role == "member"], [1.0, 0.5], 0.0))
    out["participation"] = np.minimum(rng.poisson(lam), 60)
    return pd.DataFrame(out)


def _with_missing(rng, answer: np.ndarray, p) -> np.ndarray:
    u = rng.random(len(answer))
    return np.where(u < p["p_dont_know"], 8, np.where(u < p["p_dont_know"] + p["p_refused"], 9, answer))


def _constructs() -> pd.DataFrame:
    return pd.DataFrame([
        {"construct_id": c.id, "dimension": c.dimension, "label_en": c.label_en, "label_zh": c.label_zh,
         "thesis_wording": c.thesis_wording, "path_en": PATHS.get(c.id, (None, None))[0],
         "path_zh": PATHS.get(c.id, (None, None))[1]}
        for c in CONSTRUCTS
    ])


def _items() -> pd.DataFrame:
    dim = {c.id: c.dimension for c in CONSTRUCTS}
    return pd.DataFrame([
        {"item_id": i.id, "construct_id": i.construct, "dimension": dim[i.construct], "wording_en": i.wording_en,
         "wording_zh": i.wording_zh, "reverse_coded": i.reverse_coded}
        for i in ITEMS
    ])


def implied_truth(params: dict[str, Param], villages: pd.DataFrame, panel: pd.DataFrame,
                  reform_year: dict, shocks: TownShocks | None = None) -> list[Param]:
    """Quantities the estimators target, computed from the true parameters (and realized cohort sizes).

    The structural values (group "implied") follow from the town means and effects alone. With
    `shocks` (the realized town shocks) the same cross-sectional quantities are also given for these
    five towns as drawn (group "implied_given_towns", names ending `_given_towns`), and the shocks
    themselves are listed (group "realized_shock"). The DiD truths have one version only: a town-year
    shock moves a village's outcome with and without its reform alike, so the reform's effect is the
    same whatever the shocks (they are noise the estimators must cope with, not part of the effect).
    """
    p = {k: v.value for k, v in params.items()}
    out: list[Param] = []
    comp = [t for t, *_ in TOWNS if t != "Z"]
    structural = _cross_section_truth(p, None)
    for c in CAUSE_IDS:
        gap, contrib = structural[f"cause_gap_{c}"], structural[f"oaxaca_{c}"]
        out.append(Param(f"cause_gap_{c}", gap, "implied", "Likert points",
                         f"Z town's mean {c} index minus the comparison towns' average (population means)."))
        out.append(Param(f"oaxaca_{c}", contrib, "implied", "Likert points",
                         f"Part of Z town's effectiveness gap explained by the {c} cause: beta_{c} x cause_gap_{c}."))
        out.append(Param(f"path_effect_{c}", -contrib, "implied", "Likert points",
                         f"Change in Z town's effectiveness if its {c} index rose to the comparison towns' average."))
        out.append(Param(f"ologit_{c}", float(p["theta"] * p[f"beta_{c}"]), "implied", "logit per Likert point",
                         f"Ordered-logit coefficient of satisfaction on the {c} index: theta x beta_{c}."))
    out.append(Param("effectiveness_gap", structural["effectiveness_gap"], "implied", "Likert points",
                     "Expected gap of Z town's service effectiveness (each problem dimension) to the comparison "
                     "towns' average: sum of the oaxaca_* terms."))
    # Event-study truth: average effect in event year e over the cohorts observed at e, weighted by
    # their number of villages (the realized sample, as the interaction-weighted estimator weights).
    ramp = float(p["reform_ramp_years"])
    n_by_town = villages.groupby("town_id").size()
    treated = [t for t in comp]
    for e in range(0, schema.LAST_YEAR - min(reform_year[t] for t in treated) + 1):
        towns_e = [t for t in treated if reform_year[t] + e <= schema.LAST_YEAR]
        w = np.array([n_by_town[t] for t in towns_e], dtype=float)
        eff = np.array([p[f"reform_effect_{t}"] * min(e + 1, ramp) / ramp for t in towns_e])
        out.append(Param(f"att_event_{e}", float((w * eff).sum() / w.sum()), "implied", "index points",
                         f"Average effect of the reforms {e} years after adoption (cohorts observed then, "
                         "weighted by villages)."))
    post = panel.merge(villages[["village_id", "town_id"]], on="village_id")
    post = post[post["reform_in_force"] != "none"]
    e = post["year"] - post["town_id"].map(reform_year).astype(float)
    eff = post["town_id"].map({t: p[f"reform_effect_{t}"] for t in treated}) * np.minimum(e + 1, ramp) / ramp
    out.append(Param("att_overall", float(eff.mean()), "implied", "index points",
                     "Average effect over all treated village-years (the DiD target)."))
    for t in treated:
        s = eff[post["town_id"] == t]
        out.append(Param(f"att_town_{t}", float(s.mean()), "implied", "index points",
                         f"Average effect of town {t}'s reform over its treated village-years."))
    out += _more_cross_section_truth(structural, "", "implied", "(structural: town means, no town shocks)")
    if shocks is not None:
        given = _cross_section_truth(p, shocks)
        for c in CAUSE_IDS:
            out.append(Param(f"cause_gap_{c}_given_towns", given[f"cause_gap_{c}"], "implied_given_towns",
                             "Likert points", f"cause_gap_{c} for these five towns, their realized town shocks included."))
            out.append(Param(f"oaxaca_{c}_given_towns", given[f"oaxaca_{c}"], "implied_given_towns",
                             "Likert points", f"beta_{c} x cause_gap_{c}_given_towns."))
            out.append(Param(f"path_effect_{c}_given_towns", -given[f"oaxaca_{c}"], "implied_given_towns",
                             "Likert points", f"-oaxaca_{c}_given_towns."))
        out.append(Param("effectiveness_gap_given_towns", given["effectiveness_gap"], "implied_given_towns",
                         "Likert points", "Z town's expected effectiveness gap given the five towns' realized "
                         "shocks: the oaxaca_*_given_towns terms plus Z town's effectiveness shock minus the "
                         "comparison towns' average."))
        out += _more_cross_section_truth(given, "_given_towns", "implied_given_towns",
                                         "(for these five towns, their realized town shocks included)")
        for t, *_ in TOWNS:
            for j, c in enumerate(CAUSE_IDS):
                out.append(Param(f"town_shock_{t}_{c}", float(shocks.cause[t][j]), "realized_shock", "Likert points",
                                 f"Realized town shock a on town {t}'s {c} index (town_cause_sd x a standard normal)."))
            out.append(Param(f"town_shock_{t}_effectiveness", float(shocks.effect[t]), "realized_shock",
                             "Likert points", f"Realized town shock b on town {t}'s effectiveness "
                             "(town_effect_sd x a standard normal)."))
    return out


def _cross_section_truth(p: dict, shocks: TownShocks | None) -> dict[str, float]:
    """Cause gaps, Oaxaca terms, effectiveness gap and the paths' satisfied-share truths.

    Without `shocks`: structural (the town means). With them: these towns, realized shocks included.
    The satisfied share is P(answer 4 or 5) averaged over Z town's respondents, whose village mean
    effectiveness is normal (the causes' spread through beta, plus the dimensions' mean residual) and
    whose roles have the design's shares; a path raises the cause indices by their gaps, which moves
    the latent satisfaction by theta x sum_j beta_j x shift_j (see `satisfied_share`).
    """
    comp = [t for t, *_ in TOWNS if t != "Z"]
    zero = np.zeros(len(CAUSE_IDS))
    cause_shock = {t: (shocks.cause[t] if shocks else zero) for t, *_ in TOWNS}
    effect_shock = {t: (shocks.effect[t] if shocks else 0.0) for t, *_ in TOWNS}
    level = {t: np.array([p[f"mean_{t}_{c}"] for c in CAUSE_IDS]) + cause_shock[t] for t, *_ in TOWNS}
    beta = np.array([p[f"beta_{c}"] for c in CAUSE_IDS])
    gaps = np.array([level["Z"][j] - np.mean([level[t][j] for t in comp]) for j in range(len(CAUSE_IDS))])
    out = {}
    for j, c in enumerate(CAUSE_IDS):
        out[f"cause_gap_{c}"] = float(gaps[j])
        out[f"oaxaca_{c}"] = float(beta[j] * gaps[j])
    out["oaxaca_unexplained"] = float(effect_shock["Z"] - np.mean([effect_shock[t] for t in comp]))
    out["oaxaca_explained"] = float(sum(out[f"oaxaca_{c}"] for c in CAUSE_IDS))
    out["effectiveness_gap"] = out["oaxaca_explained"] + out["oaxaca_unexplained"]
    mean_z = 3 + float(beta @ (level["Z"] - 3)) + effect_shock["Z"]
    out["satisfied_share_Z"] = satisfied_share(p, mean_z)
    for j, c in enumerate(CAUSE_IDS):
        out[f"satisfied_change_{c}"] = satisfied_share(p, mean_z, -beta[j] * gaps[j]) - out["satisfied_share_Z"]
    out["satisfied_change_all"] = satisfied_share(p, mean_z, -out["oaxaca_explained"]) - out["satisfied_share_Z"]
    return out


def _more_cross_section_truth(values: dict[str, float], suffix: str, group: str, note: str) -> list[Param]:
    out = [Param(f"problem_gap_{k}{suffix}", values["effectiveness_gap"], group, "Likert points",
                 f"Z town's expected gap on the {k} problem scale {note}: every dimension has the effectiveness gap.")
           for k in PROBLEM_IDS]
    out += [
        Param(f"oaxaca_explained{suffix}", values["oaxaca_explained"], group, "Likert points",
              f"Part of Z town's effectiveness gap explained by the five causes, the sum of the oaxaca terms {note}."),
        Param(f"oaxaca_unexplained{suffix}", values["oaxaca_unexplained"], group, "Likert points",
              f"Part of the gap the causes do not explain {note}: Z town's effectiveness shock minus the "
              "comparison towns' average (0 without town shocks)."),
        Param(f"path_effect_all{suffix}", -values["oaxaca_explained"], group, "Likert points",
              f"Change in Z town's effectiveness if all five cause indices rose to the comparison towns' average {note}."),
        Param(f"satisfied_share_Z{suffix}", values["satisfied_share_Z"], group, "share",
              f"Expected share of Z town's respondents answering 4 or 5 on satisfaction {note}."),
    ]
    for c in (*CAUSE_IDS, "all"):
        which = "all five cause indices" if c == "all" else f"its {c} index"
        out.append(Param(f"satisfied_change_{c}{suffix}", values[f"satisfied_change_{c}"], group, "share",
                         f"Change in Z town's share of satisfied respondents (4 or 5) if {which} rose to the "
                         f"comparison towns' average {note}."))
    return out


def satisfied_share(p: dict, mean_effectiveness: float, effectiveness_shift: float = 0.0,
                    nodes: int = 64) -> float:
    """Expected share answering 4 or 5 in a town whose villages' mean effectiveness averages `mean_effectiveness`.

    s* = theta (e_bar - 3) + role shift + logistic noise, so P(s >= 4) = logistic(theta (e_bar - 3) +
    role shift - sat_cut3). Across the town's villages e_bar is normal with variance beta' Sigma_c beta
    (the causes' within-town spread) + effect_noise_sd^2 / 5 (the mean of five independent residuals);
    the roles have the design's shares. `effectiveness_shift` raises every village's e_bar (a path raising
    cause j by x shifts it by beta_j x). Gauss-Hermite quadrature with `nodes` nodes: exact to ~1e-12.
    """
    beta = np.array([p[f"beta_{c}"] for c in CAUSE_IDS])
    sd = float(np.sqrt(beta @ _cause_cov(p) @ beta + p["effect_noise_sd"] ** 2 / len(PROBLEM_IDS)))
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    ebar = mean_effectiveness + effectiveness_shift + sd * x
    roles = ((1 - p["share_cadre"] - p["share_member"], 0.0), (p["share_member"], p["sat_role_member"]),
             (p["share_cadre"], p["sat_role_cadre"]))
    return float(sum(share * (w @ stats.logistic.cdf(p["theta"] * (ebar - 3) + shift - p["sat_cut3"]))
                     for share, shift in roles))


def _parameter_table(params, villages, panel, reform_year, shocks: TownShocks | None = None) -> pd.DataFrame:
    rows = list(params.values()) + implied_truth(params, villages, panel, reform_year, shocks)
    return pd.DataFrame([
        {"parameter": r.name, "group": r.group,
         "value": None if isinstance(r.value, str) else round(float(r.value), 10),
         "value_text": r.value if isinstance(r.value, str) else None,
         "unit": r.unit or None, "description": r.description}
        for r in rows
    ])


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV: UTF-8, LF line ends, shortest round-trip floats, empty string for missing."""
    buf = io.StringIO()
    # booleans as lowercase true/false, which every CSV reader understands (only those columns copied)
    bools = {c: df[c].map({True: "true", False: "false"}) for c in df.columns if df[c].dtype == bool}
    if bools:
        df = df.assign(**bools)
    df.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue().encode("utf-8")


def write_package(out_dir: str | Path, seed: int = DEFAULT_SEED, overrides: dict[str, str] | None = None) -> Path:
    """Generate every resource and write the data package to `out_dir`; returns the descriptor path."""
    params = apply_overrides(default_parameters(seed), overrides or {})
    frames = generate(params)
    out = Path(out_dir)
    (out / "data").mkdir(parents=True, exist_ok=True)
    descriptor = schema.build_descriptor(seed=int(params["seed"].value), generator_version=GENERATOR_VERSION)
    data = {}
    for res in descriptor["resources"]:
        df = frames[res["name"]][[f["name"] for f in res["schema"]["fields"]]]
        data[res["name"]] = to_csv_bytes(df)
        (out / res["path"]).write_bytes(data[res["name"]])
    schema.stamp_resources(descriptor, data)  # each resource's bytes and sha256 hash
    path = out / "datapackage.json"
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def generate_study(params: dict[str, Param]):
    """The generator's output as `ztown.load` would read it, without touching the disk (for simulations).

    The frames go through the same CSV serialization and typed reading as a written package, so a
    simulation sees exactly what the book sees; validation is skipped (the generator's output is
    valid by construction, which the test suite checks on written packages).
    """
    from ztown.data.loader import StudyData, read_frames, truth_of

    frames = generate(params)
    descriptor = schema.build_descriptor(seed=int(params["seed"].value), generator_version=GENERATOR_VERSION)
    data = {res["name"]: to_csv_bytes(frames[res["name"]][[f["name"] for f in res["schema"]["fields"]]])
            for res in descriptor["resources"]}
    typed, missing = read_frames(Path("<memory>/datapackage.json"), descriptor, data)
    return StudyData(Path("<memory>/datapackage.json"), descriptor, typed, missing, truth=truth_of(typed))
