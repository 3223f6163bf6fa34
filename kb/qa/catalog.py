"""What a question can ask for: properties of trials, groups, drugs and publications, as ontology paths.

Each `PropertySpec` names the predicates that hold the answer, the node they hang off (the trial, one of
its groups, its publication, a regimen step, a drug) and the cue words that ask for it. Cues are general
English for the ontology property, never the wording of particular questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class PropertySpec:
    """One askable property: ``via`` is where the predicates hang (see `kb.qa.queries.NODE_PATTERNS`)."""

    name: str
    cue: re.Pattern[str]
    via: str
    predicates: tuple[str, ...]
    label: str
    value: str = "literal"  # literal | entity | number | date
    shape: str = "list"  # list | single | range | cycles | marker | count
    needs: tuple[str, ...] = ()  # entity kinds the question must name
    avoids: tuple[str, ...] = ()  # entity kinds that make the cue mean something else ("start blinatumomab")
    unless: re.Pattern[str] | None = None  # words that make the cue mean something else ("enrollment start")


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# "number randomised", "number enrolled": a count, as "number of" is.
_NUMBER_PARTICIPLE = (
    r"number(?=\s+(?:randomi[sz]ed|enrolled|treated|assigned|included|infused|analy[sz]ed)\b)"
)
_HOW_MANY = rf"(?:how many|number of|count of|total of|how much|{_NUMBER_PARTICIPLE})"
_PEOPLE = r"(?:patients|participants|people|adults|subjects|individuals|persons|children|men|women|cases)"

# "When did enrollment start", "when did patients start the drug": not the trial's own dates.
_NOT_A_TRIAL_DATE = _cue(
    r"\b(?:enrol\w*|recruit\w*|accru\w*|patients?|participants?|treatment|therapy|dosing)\b"
)
_NOT_A_TRIAL_DATE_KINDS = ("Drug", "DrugClass")

PROPERTIES: tuple[PropertySpec, ...] = (
    PropertySpec(
        "nct_id",
        _cue(
            r"\bnct\b|clinical ?trials(?:\.gov)?(?: gov)? (?:id|identifier|number)|"
            r"regist(?:ry|ration) (?:id|number|identifier)|trial (?:id|identifier)\b|\bregistry id"
        ),
        "trial",
        ("tkb:nctId",),
        "ClinicalTrials.gov ID",
    ),
    PropertySpec("doi", _cue(r"\bdoi\b|digital object identifier"), "publication", ("tkb:doi",), "DOI"),
    PropertySpec(
        "first_author",
        _cue(r"\bauthors?\b|who wrote|written by|\bauthored\b"),
        "publication",
        ("tkb:firstAuthor",),
        "first author",
    ),
    PropertySpec(
        "journal",
        _cue(
            r"\bjournal\b|where (?:was|were|is|are|did|has|have) .*(?:publish|appear|report)|published in (?:which|what)|"
            r"(?:which|what) (?:venue|periodical)|in which .*published"
        ),
        "publication",
        ("tkb:journal",),
        "journal",
        value="entity",
    ),
    # Registry dates, ahead of the publication date: "what date did the trial start" asks for the former.
    PropertySpec(
        "start_date",
        _cue(
            r"\bwhen (?:did|does|do|was|is|will)\b.*\b(?:start\w*|begin\w*|began|begun|open(?:ed)?|launch\w*|initiat\w*|kick\w* off)\b|"
            r"\bstart(?:ing)? date\b|\bdate .*\b(?:start\w*|began|begin\w*|open(?:ed)?)\b|\b(?:study|trial) start\b"
        ),
        "trial",
        ("tkb:startDate",),
        "start date",
        value="date",
        shape="single",
        avoids=_NOT_A_TRIAL_DATE_KINDS,
        unless=_NOT_A_TRIAL_DATE,
    ),
    PropertySpec(
        "completion_date",
        _cue(
            r"\bwhen (?:did|does|do|was|is|will|would)\b.*\b(?:complet\w*|finish\w*|end(?:ed|s)?|conclud\w*|clos(?:e|ed|es))\b|"
            r"\bcompletion date\b|\bdate .*\b(?:complet\w*|finish\w*|end(?:ed|s)?)\b|\b(?:study|trial) (?:completion|end)\b"
        ),
        "trial",
        ("tkb:primaryCompletionDate", "tkb:completionDate"),
        "completion date",
        value="date",
        avoids=_NOT_A_TRIAL_DATE_KINDS,
        unless=_NOT_A_TRIAL_DATE,
    ),
    PropertySpec(
        "date_published",
        _cue(
            r"\bwhen\b.*\b(?:publish\w*|appear\w*|released?|came out|out)\b|publication date|date of (?:the )?publication|"
            r"published (?:on|when)|(?:what|which) date|what day"
        ),
        "publication",
        ("schema:datePublished",),
        "publication date",
        value="date",
        shape="single",
    ),
    PropertySpec("sponsor", _cue(r"\bsponsor"), "trial", ("tkb:sponsor",), "sponsor", value="entity"),
    PropertySpec(
        "funders",
        _cue(r"\bfund\w*|\bgrants?\b|\bfinanc\w*|\bsupport(?:ed|ing|er|ers)?\b|paid for|\bmoney\b|backed"),
        "trial",
        ("tkb:fundedBy",),
        "funder",
        value="entity",
    ),
    PropertySpec(
        "network",
        _cue(r"\bnetworks?\b|\b(?:through|via) (?:which|what)\b|\bwhich channel\b"),
        "trial",
        ("tkb:throughNetwork",),
        "through network",
        value="entity",
    ),
    PropertySpec(
        "conducted_by",
        _cue(
            r"\b(?:group|organi[sz]ation|consortium|network|institution|cooperative|who)\b.*"
            r"\b(?:ran|run|runs|conduct\w*|led|lead|leads|carried|perform\w*|organi[sz]ed|behind|spearhead\w*|did)\b|"
            r"\bconducted by\b|\bwhich (?:cooperative )?group\b|\bresearch group\b|\bstudy group\b"
        ),
        "trial",
        ("tkb:conductedBy",),
        "conducted by",
        value="entity",
    ),
    PropertySpec(
        "trial_name",
        _cue(
            r"\bname of (?:the|this) (?:trial|study)|(?:trial|study)(?:'s)? (?:name|called|known as)|"
            r"what (?:is|was) (?:the|this) (?:trial|study) called|(?:what|which) (?:trial|study) (?:is|was) (?:this|it|reported|described)|"
            r"protocol (?:number|id)|\bwhat trial\b|\bwhich trial\b(?! .*\b(?:used|use|tested|test|gave|with|of|had|targeting))"
        ),
        "trial",
        ("tkb:trialName",),
        "trial name",
        shape="single",
    ),
    PropertySpec(
        "primary_endpoint",
        _cue(r"primary (?:end ?points?|outcomes?|objectives?|measures?)"),
        "trial",
        ("tkb:primaryEndpoint", "tkb:primaryEndpointText"),
        "primary endpoint",
        value="entity",
    ),
    PropertySpec(
        "phase",
        _cue(r"\b(?:what|which) phase\b|\bphase of\b|trial phase|\bphase\?|\bphase (?:is|was)\b"),
        "trial",
        ("tkb:phase",),
        "phase",
    ),
    PropertySpec(
        "arms",
        _cue(
            r"\b(?:what|which)\s+(?:were|are)\s+the\s+(?:(?:treatment|study|trial)\s+)?(?:arms|groups)\b|"
            r"\b(?:arms|treatment groups)\s+(?:of|in)\b|\blist\s+(?:the\s+)?arms\b"
        ),
        "trial",
        ("tkb:hasArm",),
        "arms",
        value="entity",
    ),
    PropertySpec(
        "treatment_duration",
        _cue(
            r"\bhow long\b.*\b(?:treat\w*|therapy|given|receiv\w*|dos\w*|took|take)\b|"
            r"\b(?:treatment|therapy)\s+(?:duration|period|length)\b|\b(?:duration|length)\s+of\s+(?:the\s+)?(?:treatment|therapy)\b"
        ),
        "trial",
        ("tkb:treatmentDuration",),
        "treatment duration",
    ),
    PropertySpec(
        "allocation_ratio",
        _cue(
            r"\b(?:allocation|randomi[sz]ation|assignment)\s+ratio\b|\bratio\b.*\b(?:randomi[sz]\w*|allocat\w*|assigned)\b|"
            r"\bin what (?:ratio|proportion)\b"
        ),
        "trial",
        ("tkb:allocationRatio",),
        "allocation ratio",
    ),
    PropertySpec(
        "median_age",
        _cue(r"\bmedian age\b|\bmedian\b.*\bage\b|\bmedian\b.*\bold\b"),
        "group",
        ("tkb:medianAge",),
        "median age",
        value="number",
        shape="single",
    ),
    PropertySpec(
        "age_range",
        _cue(
            r"age range|range of (?:the )?ages?|\bhow old\b|\bages? of (?:the )?"
            + _PEOPLE
            + r"|\baged?\b.*\b(?:between|from)\b|"
            r"youngest|oldest|what ages|\bages? (?:ranged?|span|limits?|criteria|eligib\w*)|\bages\b"
        ),
        "group",
        ("tkb:minimumAge", "tkb:maximumAge"),
        "age range",
        value="number",
        shape="range",
    ),
    PropertySpec(
        "cycles",
        _cue(r"\bcycles?\b|\bcourses?\b|\brounds?\b"),
        "step",
        ("tkb:minCycles", "tkb:maxCycles"),
        "cycles",
        value="number",
        shape="cycles",
    ),
    PropertySpec(
        "randomized_count",
        _cue(
            rf"{_HOW_MANY}\b.*\b(?:randomi[sz]\w*|randomly assigned|assigned)|(?:randomi[sz]ed|randomly assigned)\b.*\bhow many"
        ),
        "group",
        ("tkb:randomizedCount",),
        "randomized",
        value="number",
        shape="count",
    ),
    PropertySpec(
        "treated_count",
        _cue(
            rf"{_HOW_MANY}\b.*\b(?:treated|infused|dosed|received (?:the )?(?:treatment|infusion|therapy|cells))\b"
        ),
        "group",
        ("tkb:treatedCount",),
        "treated",
        value="number",
        shape="count",
    ),
    PropertySpec(
        "enrolled_count",
        _cue(
            rf"{_HOW_MANY}\s+(?:[\w-]+\s+){{0,2}}?{_PEOPLE}|{_HOW_MANY}\b.*\b(?:enrol\w*|recruit\w*|accru\w*|includ\w*|particip\w*)|\benrol\w*\b.*\bhow many|"
            r"sample size|\bhow (?:large|big)\b|size of (?:the )?(?:trial|study|cohort)|\benrollment\b|\benrolment\b|\bheadcount"
        ),
        "group",
        ("tkb:enrolledCount",),
        "enrolled",
        value="number",
        shape="count",
    ),
    PropertySpec(
        "prior_condition",
        _cue(
            r"(?:\bprior\b|\bprevious\w*|\bhistory of|pre-?existing|\bearlier\b|\bbefore\b|\bcomorbid\w*|\bother\b|\bsecond\b)"
            r".*(?:malignanc\w*|cancers?|conditions?|diseases?|tumou?rs?|illness\w*|diagnos\w*)"
        ),
        "group",
        ("tkb:priorCondition",),
        "prior condition",
        value="entity",
    ),
    PropertySpec(
        "image_credit",
        _cue(
            r"\b(?:image|photo\w*|picture|illustration)s?\b.*\b(?:credit\w*|took|taken|by whom|who)\b|"
            r"\b(?:credit\w*|who took)\b.*\b(?:image|photo\w*|picture)"
        ),
        "document",
        ("tkb:imageCredit",),
        "image credit",
        value="entity",
    ),
    PropertySpec(
        "media_contact",
        _cue(
            r"\b(?:media|press)\s+(?:contact\w*|enquir\w*|inquir\w*|officer)|\bcontact (?:person|for)\b|"
            r"\bwho (?:should|can|do|to) (?:i |journalists |reporters )?contact\b"
        ),
        "document",
        ("tkb:mediaContact",),
        "media contact",
    ),
    PropertySpec(
        "performance_status",
        _cue(r"\bperformance(?:[\s-]status)?\b|\bECOG\b(?!-ACRIN)|\bKarnofsky\b|\bfunctional status\b"),
        "group",
        ("tkb:performanceStatus",),
        "performance status",
    ),
    PropertySpec(
        "completed_treatment",
        _cue(
            r"\b(?:complet\w*|finish\w*|went through)\b.*\b(?:course|cycles?|treatment|therapy|regimen)\b|"
            r"\badheren\w*|\bcompliance\b"
        ),
        "group",
        ("tkb:completedTreatmentShare", "tkb:completedTreatmentCount"),
        "completed the treatment",
        unless=_cue(r"remission|response|\bCRi?\b|\bMRD\b|\bdate\b|\bwhen\b|\bsurviv"),
    ),
    PropertySpec(
        "discontinued_count",
        _cue(r"\bdiscontinu\w*|\bstopp?\w*\b.*\b(?:treatment|therapy|early)\b|\bdropp?\w*\s+out"),
        "group",
        ("tkb:discontinuedCount",),
        "discontinued",
        value="number",
        shape="count",
    ),
    PropertySpec(
        "dose",
        _cue(r"\bdos(?:e|es|ed|ing|age)\b|\bhow much\b|\bmg\b|\bmicrograms?\b"),
        "step",
        ("tkb:dose",),
        "dose",
        shape="list",
    ),
    PropertySpec(
        "route",
        _cue(r"\broute\b|\badministered\b|\bhow (?:was|were|is|are) .* (?:given|delivered|infused)"),
        "step",
        ("tkb:route",),
        "route",
    ),
    PropertySpec(
        "marker_status",
        _cue(r"\bstatus\b|\bpositiv\w*|\bnegativ\w*|\bexpress\w*|\bmarkers?\b|\bbiomarkers?\b"),
        "group",
        ("tkb:positiveFor", "tkb:negativeFor"),
        "marker status",
        value="entity",
        shape="marker",
    ),
    PropertySpec(
        "diagnosis_status",
        _cue(
            r"newly diagnosed|relapsed|refractory|diagnosis status|disease (?:status|setting|stage)|"
            r"(?:front|first)[- ]line|treatment[- ]naive|previously (?:un)?treated|setting"
        ),
        "group",
        ("tkb:diagnosisStatus",),
        "diagnosis status",
    ),
    PropertySpec(
        "payload",
        _cue(r"\bpayloads?\b|\bwarheads?\b|\bconjugated to\b|\bcarr(?:y|ies)\b"),
        "drug",
        ("tkb:payload",),
        "payload",
        needs=("Drug",),
    ),
    PropertySpec(
        "mechanism",
        _cue(r"\bmechanism\b|\bhow does .* work\b|\bmode of action\b"),
        "drug",
        ("tkb:mechanism",),
        "mechanism",
        needs=("Drug",),
    ),
    PropertySpec(
        "effector_cells",
        _cue(
            r"\b(?:cells?|lymphocytes?)\b.*\b(?:recruit\w*|engag\w*|redirect\w*|activat\w*|harness\w*|bring\w*)|"
            r"\b(?:recruit\w*|engag\w*|redirect\w*|harness\w*)\b.*\b(?:cells?|lymphocytes?)\b|\beffector\b"
        ),
        "drug",
        ("tkb:effectorCell",),
        "effector cells",
        needs=("Drug",),
    ),
    PropertySpec(
        "target",
        _cue(
            r"\btarget\w*|\bdirected (?:against|at|to)|\bbinds?\b|\bbinding\b|\bantigens?\b|\baim\w* at\b|\bacts? on\b"
        ),
        "drug",
        ("tkb:target",),
        "target",
        value="entity",
        needs=("Drug",),
    ),
    PropertySpec(
        "drug_class",
        _cue(
            r"\b(?:kind|type|class|sort|category|classes|types|kinds)\b|\bwhat (?:is|was|are|were) (?!the\b)\w+"
        ),
        "drug",
        ("tkb:drugClass",),
        "drug class",
        value="entity",
        needs=("Drug",),
    ),
    PropertySpec(
        "disease",
        _cue(
            r"\b(?:leuka?emias?|cancers?|diseases?|conditions?|malignanc\w*|indications?|illness\w*|tumou?rs?|lymphomas?)\b|"
            r"\bstudied\b|\bdiagnos\w*"
        ),
        "group",
        ("tkb:condition",),
        "disease",
        value="entity",
    ),
    PropertySpec(
        "interventions",
        _cue(
            r"\b(?:which|what) (?:\w+ )?(?:drugs?|medications?|medicines?|agents?|therapies|treatments?|interventions?|"
            r"antibod\w*)\b|\bregimen\b|\binterventions?\b|\bcombination\b|\btreated with\b|\bgiven\b"
        ),
        "trial",
        ("tkb:intervention",),
        "intervention",
        value="entity",
    ),
    PropertySpec(
        "design",
        _cue(
            r"\bdesign\w*\b|\bsingle[- ]arm\b|\bopen[- ]label\b|\bmulti-?cent\w*|\b(?:double|single|triple)[- ]blind\w*"
            r"|\bblind\w*|\bkind of (?:trial|study)"
        ),
        "trial",
        ("tkb:designFeature",),
        "design",
    ),
    PropertySpec(
        "enrollment_years",
        _cue(r"\bwhen\b.*\b(?:enrol\w*|recruit\w*|accru\w*)|\benrol\w* (?:period|years|dates)"),
        "trial",
        ("tkb:enrollmentStartYear", "tkb:enrollmentEndYear"),
        "enrollment years",
        shape="range",
    ),
    PropertySpec(
        "registry_status",
        _cue(
            r"\b(?:overall|recruitment|recruiting|trial|study|registry|current|its|their) status\b|"
            r"\bstatus of (?:the |this |that )?(?:trial|study)|^(?:what(?:'s| is| was)|and) (?:the |its )?status\b|"
            r"\bstill (?:recruiting|enrolling|accruing|open|ongoing|running|active|going)|\b(?:is|are) (?:it|they|the (?:trial|study)) "
            r"(?:recruiting|enrolling|accruing|open|ongoing|active|running|completed|finished|closed|suspended)|"
            r"\bstopped\b|\bsuspend\w*|\bterminat\w*|\bwithdrawn\b|\bhalt\w*|\bon hold\b|\bclinical hold\b|"
            r"\bpaused\b|\bwhy (?:was|did|has|is) .*\b(?:stop|end|clos)\w*"
        ),
        "trial",
        ("tkb:overallStatus", "tkb:whyStopped"),
        "overall status",
        shape="status",
    ),
)
BY_NAME = {spec.name: spec for spec in PROPERTIES}

STATISTIC_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("hazard ratio", _cue(r"\bhazard ratios?\b|\bHR\b")),
    ("odds ratio", _cue(r"\bodds ratios?\b")),
    ("p value", _cue(r"\bp[- ]?values?\b|\bsignifican\w*")),
    ("confidence interval", _cue(r"\bconfidence intervals?\b|\b95%? CI\b")),
    ("median", _cue(r"\bmedian\b")),
    ("rate", _cue(r"\brates?\b|\bpercent\w*|\bproportion\b|%|\bhow many\b|\bshare\b|\bfraction\b")),
)

GENERIC_ENDPOINT_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("overall-survival", _cue(r"\bsurviv\w*|\balive\b|\bdeaths?\b|\bdied\b|\bmortality\b|\bdying\b")),
    # A response in general is the overall response where a trial reports one, else the complete remission.
    ("overall-response-rate", _cue(r"\bresponse rates?\b|\bresponded\b|\bresponders?\b|\bhad a response\b")),
    ("complete-remission", _cue(r"\bremissions?\b|\bresponse rates?\b|\bresponded\b|\bresponders?\b")),
    ("mrd-negativity", _cue(r"\bMRD\b.*\b(?:negativ\w*|clear\w*|rates?|undetectable|response)")),
    ("follow-up", _cue(r"\bfollow(?:ed)?[- ]?up\b|\bfollowed\b")),
)
"""Plain words for the commonest endpoints when the question names none precisely: the first cue that
matches an endpoint the KB holds decides."""

COMPARISON = re.compile(
    r"(?P<op>at least|no less than|more than|greater than|higher than|above|over|exceed(?:ing|ed|s)?|>=|≥|>|"
    r"at most|no more than|less than|lower than|below|under|<=|≤|<)\s*(?P<number>\d+(?:\.\d+)?)\s*(?:%|percent)?",
    re.IGNORECASE,
)
TIME_POINT = re.compile(
    r"\b(?P<amount>\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|eighteen|twenty-four|thirty-six)"
    r"[- ]?(?P<unit>years?|months?|yr|mo)\b(?![- ]?(?:old|of age))",
    re.IGNORECASE,
)
TREATMENT_PHASES = ("induction", "consolidation", "maintenance", "intensification", "conditioning", "salvage")
YES_NO = re.compile(r"^(?:did|does|do|was|were|is|are|has|have|had|can|could|will)\b", re.IGNORECASE)
_BETWEEN = r"(?:(?:clinical|of|the|other|all|both|these|those|two|three|four|several|different|phase|randomi[sz]ed|published|\d+|[0-9/]+|[a-z]+-?\d+)\s+){0,3}"
ASKS_TRIALS = re.compile(
    rf"^(?:which|what|list|name|show|find|give me|how many)\s+{_BETWEEN}(?:trials?|studies)\b", re.IGNORECASE
)
ASKS_DRUGS = re.compile(
    r"^(?:which|what|list|name|show|find|give me|how many)\b(?:\s+\w+){0,2}?\s+(?:drugs?|agents?|medications?|medicines?|"
    r"therapies|therapy|antibod\w*|products?|treatments?)\b",
    re.IGNORECASE,
)
# Properties that count a trial's patients: a question counting an endpoint's patients is not one of them.
STOPPED_EARLY = re.compile(
    r"\b(?:stop(?:ped|ping|s)?|terminat\w*|halt\w*|end(?:ed|s)?|clos\w*|discontinu\w*)\s+(?:\w+\s+)?early\b|"
    r"\bearly\s+(?:stopping|termination|stop)\b",
    re.IGNORECASE,
)
"""A trial stopped before its planned end: a design feature the extractor records, asked yes/no or in a list."""
DESIGN_WORDS = re.compile(
    rf"{STOPPED_EARLY.pattern}|\b(?:non[- ]?)?randomi[sz]ed\b|\bopen[- ]label\b|\b(?:double|single|triple)[- ]blind\w*|"
    r"\bplacebo[- ]controlled\b|\bmulti-?cent(?:er|re)\b|\bsingle[- ](?:arm|group)\b",
    re.IGNORECASE,
)
"""Design features a list of trials may be asked by ("Which trials were double-blind?")."""
PATIENT_COUNTS = frozenset({"enrolled_count", "randomized_count", "treated_count"})
COUNT = re.compile(rf"^how many\b|\bnumber of\b|\b{_NUMBER_PARTICIPLE}", re.IGNORECASE)
