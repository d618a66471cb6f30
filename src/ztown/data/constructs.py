"""The study's concepts: the five problems, the five causes, the five paths, and the survey items.

This is the single place where the thesis's argument is named. The data package's `items`
resource, the codebook pages, the scales and the claims ledger are all built from it, so a
construct cannot be called one thing in the data and another in the book.

Every construct is oriented so that a HIGHER score means a BETTER state (stronger service,
stronger supervision, more funding). A "problem" is therefore a low score on a problem
construct, and a "cause" is a low score on a cause construct. Each construct has three
items; the third is worded negatively and is reverse-coded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Construct:
    id: str
    dimension: str  # "problem" or "cause"
    label_en: str
    label_zh: str
    thesis_wording: str  # how the thesis abstract names the problem or cause


@dataclass(frozen=True)
class Item:
    id: str
    construct: str
    wording_en: str
    wording_zh: str
    reverse_coded: bool


PROBLEMS = (
    Construct("frm", "problem", "Substantive services", "服务实效",
              "grass-roots services are mere form"),
    Construct("cov", "problem", "Organization coverage and operation", "组织覆盖与运行",
              "coverage and operation of the Party organization system not in place"),
    Construct("cap", "problem", "Service capacity of the backbone ranks", "骨干队伍服务能力",
              "service capacity of the backbone ranks is deficient"),
    Construct("car", "problem", "Service carriers and bridges", "服务载体与桥梁作用",
              "the function of service carriers and bridges is not fully played"),
    Construct("pat", "problem", "Service pattern", "服务格局",
              "the service pattern is not perfect"),
)

CAUSES = (
    Construct("sup", "cause", "Internal supervision and management", "内部监督管理",
              "lack of internal supervision and management"),
    Construct("sys", "cause", "Supporting systems", "配套制度",
              "lagging supporting system"),
    Construct("eva", "cause", "Service evaluation system", "服务评价体系",
              "unreasonable evaluation system"),
    Construct("sel", "cause", "Selection and assessment of members and cadres", "党员干部选拔考核机制",
              "unsound mechanism for selecting and assessing Party members and cadres"),
    Construct("fun", "cause", "Service funding", "服务经费保障",
              "lack of construction funds"),
)

CONSTRUCTS = PROBLEMS + CAUSES
CONSTRUCT_BY_ID = {c.id: c for c in CONSTRUCTS}
PROBLEM_IDS = tuple(c.id for c in PROBLEMS)
CAUSE_IDS = tuple(c.id for c in CAUSES)

# The five construction paths answer the five causes one to one (thesis, final chapter).
PATHS = {
    "sup": ("Strengthen internal supervision and management", "加强内部监督管理"),
    "sys": ("Perfect the supporting systems", "完善配套制度"),
    "eva": ("Perfect the service evaluation system", "完善服务评价体系"),
    "sel": ("Perfect the mechanism for selecting and assessing members and cadres", "完善党员干部选拔考核机制"),
    "fun": ("Strengthen the guarantee of service funds", "强化服务经费保障机制"),
}

_ITEM_TEXT = {
    "frm": (
        ("The Party branch's services solve real problems for villagers.", "党支部的服务能解决村民的实际问题。"),
        ("Service activities here are followed up until the matter is settled.", "这里的服务活动能跟进到事情办结。"),
        ("Service activities here are mostly for show and inspection.", "这里的服务活动多是为了应付检查、走形式。"),
    ),
    "cov": (
        ("Every group of Party members in this village is covered by a functioning Party organization.", "本村每一部分党员都有正常运转的党组织覆盖。"),
        ("The branch holds its \"three meetings and one lesson\" as required.", "支部能按要求落实“三会一课”。"),
        ("The branch's organizational life often exists only on paper.", "支部的组织生活常常只停留在纸面上。"),
    ),
    "cap": (
        ("The branch secretary has the skills to lead villagers in development.", "村党支部书记有带领村民发展的本领。"),
        ("Party members here are able to help villagers with their problems.", "这里的党员有能力帮助村民解决困难。"),
        ("The village's backbone cadres lack the ability to provide services.", "村里的骨干干部缺乏服务能力。"),
    ),
    "car": (
        ("The Party-and-public service centre is useful to villagers.", "党群服务中心对村民有用。"),
        ("The Party organization passes villagers' views on to higher levels.", "党组织能把村民的意见反映给上级。"),
        ("Service platforms here exist in name but are rarely used.", "这里的服务平台有名无实，很少使用。"),
    ),
    "pat": (
        ("The Party organization, village committee and social groups work together in services.", "党组织、村委会和社会组织在服务中协同配合。"),
        ("Villagers can take part in deciding which services are provided.", "村民能参与决定提供哪些服务。"),
        ("Services here depend on a few cadres acting alone.", "这里的服务只靠少数干部单打独斗。"),
    ),
    "sup": (
        ("Higher-level Party organizations regularly supervise the branch's service work.", "上级党组织经常督查支部的服务工作。"),
        ("Party members who neglect their duties are dealt with.", "不履职的党员会受到处理。"),
        ("Nobody checks whether the branch keeps its service commitments.", "没有人检查支部是否兑现服务承诺。"),
    ),
    "sys": (
        ("There are clear rules for how the branch delivers services.", "支部提供服务有明确的制度规定。"),
        ("Service rules are adjusted when villagers' needs change.", "村民需求变化时，服务制度会随之调整。"),
        ("The rules for service work lag behind what is needed in practice.", "服务工作的制度跟不上实际需要。"),
    ),
    "eva": (
        ("The branch's service work is evaluated by what villagers think of it.", "支部服务工作的评价看村民的意见。"),
        ("Evaluation results of service work lead to rewards or corrections.", "服务工作的评价结果会带来奖励或整改。"),
        ("Service work is judged by paperwork rather than results.", "服务工作看材料而不看实效。"),
    ),
    "sel": (
        ("Village cadres are selected for their ability to serve.", "村干部是按服务能力选出来的。"),
        ("New Party members are admitted for their quality, not their connections.", "发展党员看素质而不看关系。"),
        ("Assessment of cadres rarely affects who keeps their post.", "对干部的考核很少影响其去留。"),
    ),
    "fun": (
        ("The branch has enough money to run its service activities.", "支部有足够的经费开展服务活动。"),
        ("Service funds arrive on time.", "服务经费能按时到位。"),
        ("Service activities are often cancelled for lack of money.", "服务活动常因缺钱而取消。"),
    ),
}

ITEMS = tuple(
    Item(f"{cid}{k + 1}", cid, en, zh, reverse_coded=(k == 2))
    for cid in (c.id for c in CONSTRUCTS)
    for k, (en, zh) in enumerate(_ITEM_TEXT[cid])
)
ITEM_IDS = tuple(i.id for i in ITEMS)


def items_of(construct_id: str) -> tuple[Item, ...]:
    """The items that measure one construct, in order."""
    return tuple(i for i in ITEMS if i.construct == construct_id)


# Likert answers, with the two labelled missing-value codes used by every survey item.
LIKERT_LABELS = {1: "strongly disagree", 2: "disagree", 3: "neither agree nor disagree", 4: "agree", 5: "strongly agree"}
MISSING_CODES = {"8": "don't know", "9": "refused"}
SATISFACTION_LABELS = {1: "very dissatisfied", 2: "dissatisfied", 3: "neutral", 4: "satisfied", 5: "very satisfied"}
# ... and in Chinese, as the questionnaire (ztown.data.instrument) puts them to respondents and the figures label them
LIKERT_LABELS_ZH = {1: "非常不同意", 2: "不同意", 3: "说不清（既不同意也不反对）", 4: "同意", 5: "非常同意"}
SATISFACTION_LABELS_ZH = {1: "非常不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "非常满意"}

# Key terms of the study, in Chinese and English, for the data package and the glossary page.
GLOSSARY = (
    ("服务型党组织", "fúwùxíng dǎng zǔzhī", "service-oriented Party organization",
     "A Party organization whose grass-roots work is judged by the services it gives residents."),
    ("基层党组织", "jīcéng dǎng zǔzhī", "grass-roots Party organization",
     "The Party's lowest tier of organizations: village branches and general branches."),
    ("党支部", "dǎng zhībù", "Party branch", "The Party organization of a village."),
    ("三会一课", "sān huì yī kè", "\"three meetings and one lesson\"",
     "The branch's required organizational life: branch general meetings, branch committee meetings, "
     "Party group meetings, and Party lessons."),
    ("第一书记", "dìyī shūjì", "first secretary",
     "A cadre sent from a higher-level unit to serve in a village as its first Party secretary."),
    ("党群服务中心", "dǎng qún fúwù zhōngxīn", "Party-and-public service centre",
     "A village building or office where the branch and the village committee serve residents."),
    ("村集体经济", "cūn jítǐ jīngjì", "village collective economy",
     "Income and assets held by the village collective; \"empty-shell\" villages have almost none."),
    ("带头致富", "dàitóu zhìfù", "leader in getting rich",
     "A village Party secretary who leads villagers in raising incomes."),
    ("乡村振兴", "xiāngcūn zhènxīng", "rural revitalization", "The national strategy for rural development."),
    ("枫桥经验", "Fēngqiáo jīngyàn", "Fengqiao experience",
     "Settling disputes locally rather than passing them to higher authorities (Zhuji, Zhejiang, 1963)."),
    ("村务监督委员会", "cūnwù jiāndū wěiyuánhuì", "village supervision committee",
     "A village body that oversees village affairs and finances."),
    ("新时代“枫桥经验”", "xīn shídài Fēngqiáo jīngyàn", "new-era Fengqiao experience",
     "The Fengqiao experience as the Party now promotes it: villagers' disputes and demands are prevented and "
     "settled where they arise, under the leadership of the grass-roots Party organization."),
    ("党支部领办合作社", "dǎng zhībù lǐngbàn hézuòshè", "Party-branch-led cooperative",
     "A cooperative set up and run under the village Party branch, pooling villagers' land and labour."),
    ("村两委", "cūn liǎng wěi", "village two committees",
     "The village Party branch committee and the village committee, which serve villagers together."),
    ("村委会", "cūnwěihuì", "village committee",
     "The village committee (村民委员会), the villagers' elected self-governing body, working under the leadership "
     "of the village Party branch."),
    ("党员干部", "dǎngyuán gànbù", "Party members and cadres",
     "Party members and the cadres who lead Party organizations and villages; selected and assessed by the Party."),
    ("服务载体", "fúwù zàitǐ", "service carrier",
     "A channel through which the branch serves: a service centre, a platform, a regular activity."),
    ("组织生活", "zǔzhī shēnghuó", "organizational life",
     "A branch's meetings, lessons and reviews in which its members take part, such as the three meetings and "
     "one lesson."),
    ("乡镇党委", "xiāngzhèn dǎngwěi", "township Party committee",
     "The Party committee of a township, which leads and assesses the village branches."),
    ("合成数据", "héchéng shùjù", "synthetic data",
     "Data drawn by a documented, seeded generator instead of observed. Every value about Z town and the "
     "comparison towns in this book is synthetic."),
)

# --------------------------------------------------------------------------- the thesis's achievements, the
# experiences of other rural areas and what each path would do: the institutional content the book tabulates.
# (Structured here so that the chapters render them as tables and nothing is named twice.)


@dataclass(frozen=True)
class Achievement:
    """An achievement the thesis credits Z town with, and the data that can measure it."""

    id: str
    thesis_wording: str
    label_zh: str
    measures: tuple[str, ...]  # panel or village fields (see ztown.analysis.achievements.MEASURES)


ACHIEVEMENTS = (
    Achievement("consciousness", "service consciousness and service functions strengthened", "强化服务意识和服务功能",
                ("service_funds_per_resident", "activities_per_1000")),
    Achievement("systems", "systems implemented and organizational forms improved", "落实各项制度、完善组织形式",
                ("meeting_rate",)),
    Achievement("personnel", "the Party's organizational line carried out and key personnel built up",
                "贯彻党的组织路线、建设关键人员", ("training_hours", "first_secretary")),
    Achievement("platforms", "service platforms built and service carriers innovated", "建设服务平台、创新服务载体",
                ("service_centre",)),
    Achievement("activities", "practical activities innovated", "创新实践活动", ("reached_per_100",)),
    Achievement("pattern", "a service pattern built", "构建服务格局", ("resolved_rate",)),
)


@dataclass(frozen=True)
class Experience:
    """An experience of other rural areas (real, described only from the sources named), the fictional
    comparison town patterned after it (if any), and the paths it informs."""

    id: str
    name_en: str
    name_zh: str
    practice: str  # what was done, and by whom
    lesson: str  # what it offers Z town
    town: str | None  # the comparison town patterned after it (town_id), None for a national practice
    paths: tuple[str, ...]  # cause ids of the paths it informs
    sources: tuple[str, ...]  # bibliography keys (book/references.bib)


EXPERIENCES = (
    Experience("fengqiao", "New-era Fengqiao experience", "新时代“枫桥经验”",
               "Villagers' disputes and demands are prevented and settled where they arise, by the village Party "
               "organization with mediators and villagers, rather than passed up to higher authorities; the "
               "\"Fengqiao-style working method\" makes prevention, mediation and follow-up a routine.",
               "A branch that settles matters locally needs written routines (who receives a request, how it is "
               "followed up) and someone who checks that they are kept.",
               "A", ("sys", "sup"), ("wang2024fengqiao",)),
    Experience("yantai", "Party branches lead cooperatives (Yantai, Shandong)", "党支部领办合作社（山东烟台）",
               "Village Party branches set up cooperatives that pool villagers' land and labour; the branch "
               "secretary leads the cooperative and collective income is shared with members.",
               "A second source of service funds, and a test of the branch secretary's ability to lead "
               "development, which selection and assessment can reward.",
               "B", ("fun", "sel"), ("yantai2020",)),
    Experience("tangyue", "Branch-led collective economy (Tangyue village, Guizhou)", "党支部领导村集体经济（贵州塘约村）",
               "The village Party branch reorganized land and labour under a village-wide collective enterprise; "
               "incomes rose, as officially reported.",
               "Collective income under the branch as a stable source of service funds; the branch secretary's "
               "role as leader of development.",
               "C", ("fun", "sel"), ("tangyue2017",)),
    Experience("supervision", "Village affairs supervision committees", "村务监督委员会",
               "An elected committee in each village oversees village affairs and finances and reports to villagers; "
               "national guidance since 2017.",
               "Supervision of the branch's service commitments by a body villagers elect, and villagers' "
               "satisfaction as the yardstick of service work.",
               "D", ("sup", "eva"), ("ccp2017supervision", "zheng2023", "zhao2023supervision")),
    Experience("first_secretary", "Resident first secretaries", "驻村第一书记",
               "Higher-level units send cadres to serve as first secretaries in key villages and in every "
               "village whose Party organization is weak and lax.",
               "Key personnel from outside where the village cannot supply them, and a model for assessing "
               "cadres by results.",
               None, ("sel",), ("ccp2021firstsecretary",)),
)
EXPERIENCE_BY_ID = {e.id: e for e in EXPERIENCES}


@dataclass(frozen=True)
class PathPlan:
    """What a construction path does, by whom, at what cost, how its progress is measured, and what it draws on.

    `indicators` name the survey scale and the data fields that measure progress; `sources` are bibliography
    keys of the policy documents and studies it rests on.
    """

    path: str  # the cause id it answers
    actions: str
    lead: str
    partners: str
    cost: str
    indicators: str
    experiences: tuple[str, ...]
    sources: tuple[str, ...]


PATH_PLANS = (
    PathPlan("sup",
             "A village affairs supervision committee in every village checks, each quarter, the branch's public "
             "list of service commitments; members who neglect their duties are dealt with by the branch.",
             "township Party committee (its discipline inspection member)",
             "village branch; village supervision committee; county organization department (the check list)",
             "Staff time of the township's discipline inspection staff; allowances for committee members. "
             "No building or equipment.",
             "Supervision scale (sup1-sup3) by village, yearly; share of listed commitments checked and met "
             "(a record the data package does not hold yet).",
             ("supervision", "fengqiao"), ("ccp2017supervision", "zhao2023supervision", "sun2019members")),
    PathPlan("sys",
             "Written rules for how the branch delivers services (a service list, hours, follow-up until a matter is "
             "settled), reviewed each year against villagers' requests; organizational life (\"three meetings and "
             "one lesson\") kept with minutes.",
             "village branch (drafts and keeps the rules)",
             "township Party committee (approves and reviews them); county organization department (model rules)",
             "Drafting and review time; posting the rules. Low.",
             "Supporting-systems scale (sys1-sys3); meetings held as a share of those required "
             "(meetings_held / meetings_required).",
             ("fengqiao", "yantai"), ("ccp2014service", "ccp2019rural", "wang2024fengqiao")),
    PathPlan("eva",
             "Villagers' rating of the branch's services enters the township's yearly assessment of the branch; "
             "results are published and lead to rewards or corrections; checks of paperwork are cut back.",
             "township Party committee (runs the assessment)",
             "county organization department (weights in the county's assessment of townships); villagers' "
             "representatives",
             "A yearly rating round among villagers (survey time). Low to moderate.",
             "Evaluation scale (eva1-eva3); share of villagers satisfied or very satisfied (satisfaction "
             "4 or 5).",
             ("supervision",), ("ccp2014service", "chen2025service", "zheng2023")),
    PathPlan("sel",
             "Candidates for branch secretary are vetted for their ability to serve; village cadres are assessed "
             "each year with consequences for their posts; members are trained; a first secretary is sent to "
             "every village whose branch is weak.",
             "county organization department (vetting, first secretaries)",
             "township Party committee (yearly assessment); first secretary; village branch (admitting members)",
             "Training hours; the first secretaries' time, borne by the units that send them.",
             "Selection scale (sel1-sel3); training hours (training_hours); villages with a first "
             "secretary (first_secretary).",
             ("first_secretary", "yantai", "tangyue"),
             ("ccp2021firstsecretary", "ccp2019rural", "wang2018leftbehind", "sun2019members")),
    PathPlan("fun",
             "A guaranteed yearly service budget for every village, paid on a fixed date; collective income from "
             "branch-led cooperatives as a second source; service accounts published.",
             "county government and Party committee (the budget line)",
             "township Party committee (disburses); village branch (collective enterprises, accounts)",
             "The largest of the five: a recurring budget line per resident, the size of Z town's shortfall in "
             "service funds (see the table's data column).",
             "Funding scale (fun1-fun3); service funds per resident (service_funds_per_resident); "
             "collective income (collective_income).",
             ("yantai", "tangyue"), ("ccp2014service", "ccp2019rural")),
)
PATH_PLAN_BY_ID = {p.path: p for p in PATH_PLANS}
