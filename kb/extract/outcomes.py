"""Outcomes: endpoint values with unit, statistic, time point and group; arms; follow-up; primary endpoint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from kb.extract.context import Context, entity_for
from kb.extract.effects import statistics_spans
from kb.extract.numbers import FRACTIONS, NUMBER, decimal_value, duration, parse_int, parse_number, unit_name
from kb.lexicon import LexiconMatch
from kb.models import Entity, Passage

_BESIDE = 300
"""Characters read before a value or an endpoint for its ratio or time point ("21 of 33 patients (", "3-year")."""
_PEOPLE = r"(?:patients|participants|adults|children|subjects|people)"
_PERCENT = re.compile(rf"(?P<n>{NUMBER})\s*(?:%|percent\b|per\s+cent\b)")
_TIME_VALUE = re.compile(rf"(?P<n>{NUMBER})\s+(?P<unit>months?|years?|weeks?)\b")
_FOLLOW_UP = re.compile(
    rf"\bmedian\s+(?:duration\s+of\s+)?follow[\s-]?up\s+(?:time\s+|period\s+)?(?:of|was|was\s+about|lasted|,|:)?\s*"
    rf"(?P<n>{NUMBER})\s+(?P<unit>months?|years?|weeks?)\b",
    re.IGNORECASE,
)
_HAZARD = re.compile(
    r"\b(?:hazard\s+ratio|HR)\b(?:\s+for\s+(?P<what>[\w\s-]{2,40}?))?\s*(?:,|of|was|=|:)?\s*(?P<n>\d*\.\d+|\d+)\b"
)
_CHANGE = re.compile(
    rf"\b(?:rose|increased|improved|went\s+up|climbed)\s+from\s+(?P<a>{NUMBER})\s*%\s+to\s+(?P<b>{NUMBER})\s*%"
)
_AFTER_PHRASE = re.compile(r"\b[Aa]fter\s+([^,.;]{3,60}?)(?=,|\s+the\b)")
_TIME_BEFORE = re.compile(
    rf"(?P<n>{NUMBER})[\s-](?P<unit>year|month)s?(?:[\s-]+(?:overall|estimated|cumulative))?[\s-]+$", re.I
)
_TIME_AFTER = re.compile(rf"^[^.;%]{{0,30}}?\bat\s+(?P<n>{NUMBER})\s+(?P<unit>years?|months?)\b", re.I)
_GROUP_AFTER = re.compile(
    r"^\s*(?:\([^)]*\)\s*)?(?:in|for|with)\s+the\s+(?P<name>[\w-]+(?:\s+[\w-]+){0,2}?)\s+(?P<kind>group|arm)\b"
)
_GROUP_NAME = re.compile(r"\bthe\s+(?P<name>[\w-]+(?:\s+[\w-]+){0,2}?)\s+(?P<kind>group|arm)\b")
_AT_TIME = re.compile(r"\b(?:at|by)\s+$", re.I)
"""Before a duration that is a time point, not a value ("at 12 months")."""
_REGIMEN_AFTER = re.compile(
    rf"^\s*(?:with\s+|among\s+(?:the\s+)?{_PEOPLE}\s+(?:who\s+(?:were\s+)?)?"
    r"(?:receiving|received|assigned\s+to|randomi[sz]ed\s+to|treated\s+with|given)\s+)"
    r"(?:the\s+)?(?P<name>[\w'-]+(?:\s+[\w'-]+){0,3}?)"
    r"(?=\s*(?:[,;()]|\.(?!\d)|$|\s(?:compared|versus|vs\b|and\b|in\s+the\b|at\b)))",
    re.I,
)
"""A value's comparison group named by its treatment: "47% with the study-drug combination, compared with 19%
with placebo", "12% among patients receiving chemotherapy alone"."""
_CONTROLS = re.compile(
    r"^(?:placebo|observation|chemotherapy\s+(?:alone|only)|standard(?:\s+of)?\s+care|standard\s+(?:therapy|treatment)"
    r"|best\s+supportive\s+care|investigator'?s\s+choice(?:\s+of\s+(?:therapy|chemotherapy))?)$",
    re.I,
)
_REGIMEN_WORDS = frozenset(
    "plus and with combination combined regimen therapy treatment alone only monotherapy chemotherapy".split()
)
"""Words a regimen phrase may hold beside its drugs ("drug A plus chemotherapy", "the drug B combination")."""
_RATIO = re.compile(
    rf"(?P<num>{NUMBER})\s+of\s+(?:the\s+)?(?P<den>{NUMBER})\s+(?:\w+\s+)?{_PEOPLE}?\s*\(\s*$"
)
_OF_PEOPLE = re.compile(rf"^\s*(?:of\s+(?:the\s+)?(?:\w+\s+)?{_PEOPLE}|of\s+them|of\s+those)\b")
_FRACTION = re.compile(
    r"\b(?P<qual>over|more\s+than|nearly|almost|about|approximately|roughly|less\s+than|fewer\s+than|under)?\s*"
    r"(?P<frac>half|a\s+third|one-third|two-thirds|a\s+quarter|one-quarter|three-quarters)\s+(?:of\s+)?(?:the\s+)?"
    rf"{_PEOPLE}\b[^.;]{{0,40}}?\b(?P<verb>complet\w*|finish\w*)\s+(?:the\s+|all\s+)?(?:entire\s+|planned\s+|full\s+)?"
    r"(?:treatment|therapy|protocol|course)(?:\s+course)?",
    re.IGNORECASE,
)
_QUALIFIERS = {"over": "more than", "more than": "more than", "nearly": "approximately", "almost": "approximately",
               "about": "approximately", "approximately": "approximately", "roughly": "approximately",
               "less than": "less than", "fewer than": "less than", "under": "less than"}  # fmt: skip
_CLAUSE_END = re.compile(r";|\.(?!\d)")
"""A sentence or clause break (not a decimal point)."""
_PAIR = re.compile(rf"\(\s*(?P<a>{NUMBER})\s*%\s*(?:vs\.?|versus)\s*(?P<b>{NUMBER})\s*%\s*\)", re.IGNORECASE)
"""A comparison of two arms in parentheses: "(36.7% vs. 17.9%)"."""
_THAN_WITH = re.compile(
    r"\bwith\s+(?:the\s+)?(?P<a>[\w-]+(?:\s+[\w-]+){0,3}?)\s+than\s+with\s+(?:the\s+)?"
    r"(?P<b>[\w-]+(?:\s+[\w-]+){0,3}?)(?=\s*[(,;]|\.(?!\d)|$)"
)
"""The order of a comparison: "higher with drug A than with the control regimen"."""
_PRIMARY = re.compile(r"\bprimary\s+(?:end\s*-?\s*point|outcome|objective)s?\b", re.IGNORECASE)
# The primary endpoint as the report defines it: "The primary outcome was a composite of X", "the primary
# outcome, a composite of X, occurred ...", "X ... was the primary end point".
_PRIMARY_DEFINED = re.compile(
    r"(?:^|(?<=[;:,] ))[Tt]he\s+primary\s+(?:[\w-]+\s+){0,2}?(?:outcome|end\s*-?\s*point)\s+(?:was|is)\s+"
    r"(?!(?:consistent|similar|lower|higher|met|reached|significant|not|also)\b)(?P<a>[^.;]{5,200}?)"
    r"(?=\s*(?:[.;]|,\s+(?:and|which|with|as|defined)\b|$))"
    r"|\b[Tt]he\s+primary\s+(?:[\w-]+\s+){0,2}?(?:outcome|end\s*-?\s*point)\s*,\s*(?P<b>(?:a|an)\s+composite\s+of\s+[^,;.]{5,160}),"
    r"|^(?P<c>[A-Z][^.;]{5,160}?)\s+(?:was|were)\s+the\s+primary\s+(?:end\s*-?\s*point|outcome)\b"
    r"|\b[Tt]he\s+primary\s+(?:outcome|end\s*-?\s*point)\s+of\s+(?P<d>[^,;.()]{5,160}?)\s+"
    r"(?:occurred|was\s+(?:lower|higher|reduced|less|more))\b"
)


@dataclass(frozen=True)
class _Value:
    number: Decimal
    unit: str
    start: int
    end: int


def extract_outcomes(ctx: Context) -> None:
    """Every outcome measurement of the trial, and its primary endpoint."""
    if ctx.trial is None:
        return
    for passage in ctx.passages():
        endpoints = [m for m in ctx.matches(passage, "Endpoint") if m.entry.key != "follow-up"]
        _primary(ctx, passage, endpoints)
        used: set[tuple[int, int]] = set()
        _follow_up(ctx, passage, used)
        _hazard_ratios(ctx, passage, endpoints, used)
        _changes(ctx, passage, endpoints, used)
        _fractions(ctx, passage, used)
        _pairs(ctx, passage, endpoints, used)
        # Numbers of a confidence interval or a P value are never results; per-arm values are read already.
        used |= {(passage.start + a, passage.start + b) for a, b in statistics_spans(passage.text)}
        used |= ctx.claimed or set()
        values = [
            _Value(n, u, s, e) for n, u, s, e in _values(passage) if not any(a <= s < b for a, b in used)
        ]
        for value in values:
            endpoint = _endpoint_for(ctx, passage, value, endpoints)
            if endpoint is not None:
                _record(ctx, passage, endpoint, value)


def _values(passage: Passage) -> list[tuple[Decimal, str, int, int]]:
    found: list[tuple[Decimal, str, int, int]] = []
    for match in _PERCENT.finditer(passage.text):
        number = parse_number(match.group("n"))
        if number is not None:
            found.append((number, "%", passage.start + match.start(), passage.start + match.end()))
    for match in _TIME_VALUE.finditer(passage.text):
        number = parse_number(match.group("n"))
        if number is not None and not _AT_TIME.search(
            passage.text[max(0, match.start() - 6) : match.start()]
        ):
            found.append(
                (
                    number,
                    unit_name(match.group("unit")),
                    passage.start + match.start(),
                    passage.start + match.end(),
                )
            )
    return sorted(found, key=lambda v: v[2])


def _endpoint_for(
    ctx: Context, passage: Passage, value: _Value, endpoints: list[LexiconMatch]
) -> LexiconMatch | None:
    """ "CR rate of 97%" (endpoint before), or "75% of patients remained alive and relapse-free" (after)."""
    text = ctx.document.text
    following = [e for e in endpoints if e.start >= value.end and e.start - value.end <= 120]
    if _OF_PEOPLE.match(text[value.end : passage.end]) or re.match(
        r"^\s*\)\s+\w+", text[value.end : passage.end]
    ):
        if following and not re.search(_CLAUSE_END, text[value.end : following[0].start]):
            return following[0]
    preceding = [e for e in endpoints if e.end <= value.start and value.start - e.end <= 100]
    if preceding and not re.search(_CLAUSE_END, text[preceding[-1].end : value.start]):
        return preceding[-1]
    if (
        following
        and value.unit == "%"
        and re.match(
            r"^\s*(?:\([^)]*\)\s*)?(?:\w+\s+){0,3}(?:reached|achieved|had|attained)",
            text[value.end : passage.end],
        )
    ):
        return following[0]
    return None


def arm_for(ctx: Context, name: str, kind: str, start: int, end: int, passage: Passage) -> Entity:
    """The arm a document names ("the placebo group"), made once per trial."""
    assert ctx.trial is not None
    key = ctx.scoped_key("arm", name)
    arm = ctx.arms.get(key)
    if arm is None:
        arm = Entity("Arm", key, f"{ctx.trial.label} {name} {kind}")
        ctx.arms[key] = arm
        ctx.add(ctx.trial, "hasArm", arm, start, end)
        for match in ctx.matches(passage, "Drug"):
            if start <= match.start and match.end <= end:
                ctx.add(arm, "intervention", entity_for(match.entry), start, end)
    return arm


def named_groups(ctx: Context) -> dict[str, str]:
    """Every group the document names ("the placebo group": "placebo" -> "group"), read once per document."""
    if ctx.named_groups is None:
        ctx.named_groups = {}
        for passage in ctx.passages():
            for group in _GROUP_NAME.finditer(passage.text):
                ctx.named_groups.setdefault(group.group("name").lower(), group.group("kind"))
    return ctx.named_groups


def _arm_words(name: str) -> frozenset[str]:
    words = re.split(r"[\s-]+", name.lower().strip())
    return frozenset("only" if w == "alone" else w for w in words if w and w != "the")


def _regimen_arm(ctx: Context, passage: Passage, value: _Value) -> tuple[Entity, int, int] | None:
    """The arm a value's following treatment phrase names: a group the document names ("with placebo" for
    "the placebo-combination group", the only group whose name holds its words), else a control
    ("placebo", "observation") or a regimen of known drugs; nothing for other phrases ("with grade 3 events")."""
    text = ctx.document.text
    match = _REGIMEN_AFTER.match(text[value.end : passage.end])
    if not match:
        return None
    phrase = re.sub(r"\s+", " ", match.group("name")).strip()
    start, end = value.end + match.start("name"), value.end + match.end("name")
    words = _arm_words(phrase)
    if not words:
        return None
    known = {name: kind for name, kind in named_groups(ctx).items() if words <= _arm_words(name)}
    if len({_arm_words(name) for name in known}) == 1:
        name, kind = next(iter(known.items()))
        return arm_for(ctx, name, kind, start, end, passage), start, end
    if _CONTROLS.match(phrase) or _is_regimen(ctx, passage, phrase, start, end):
        return arm_for(ctx, phrase.lower(), "arm", start, end, passage), start, end
    return None


def _is_regimen(ctx: Context, passage: Passage, phrase: str, start: int, end: int) -> bool:
    """A phrase of known drugs and regimen words only ("drug A plus chemotherapy", "the drug B combination")."""
    drugs = [m for m in ctx.matches(passage, "Drug") if start <= m.start and m.end <= end]
    if not drugs:
        return False
    rest = ctx.document.text[start:end]
    for drug in sorted(drugs, key=lambda m: -m.start):
        rest = rest[: drug.start - start] + " " + rest[drug.end - start :]
    return _arm_words(rest) <= _REGIMEN_WORDS


def _arms_in(ctx: Context, passage: Passage) -> list[tuple[Entity, int, int]]:
    found = []
    for match in _GROUP_NAME.finditer(passage.text):
        start, end = passage.start + match.start("name"), passage.start + match.end()
        found.append(
            (arm_for(ctx, match.group("name").lower(), match.group("kind"), start, end, passage), start, end)
        )
    return found


def _record(
    ctx: Context,
    passage: Passage,
    endpoint: LexiconMatch,
    value: _Value,
    statistic: str | None = None,
    arm: Entity | None = None,
) -> Entity:
    assert ctx.trial is not None and ctx.cohort is not None
    text = ctx.document.text
    entry = endpoint.entry
    population = ctx.cohort
    group = _GROUP_AFTER.match(text[value.end : passage.end])
    start, end = min(endpoint.start, value.start), max(endpoint.end, value.end)
    if arm is not None:
        population = arm
    elif group:
        arm_start = value.end + group.start("name")
        arm_end = value.end + group.end()
        population = arm_for(
            ctx, group.group("name").lower(), group.group("kind"), arm_start, arm_end, passage
        )
        end = max(end, arm_end)
    elif statistic != "hazard ratio":
        regimen = _regimen_arm(ctx, passage, value)
        if regimen is not None:
            population, _, arm_end = regimen
            end = max(end, arm_end)
    if statistic is None:
        statistic = (
            "rate" if value.unit == "%" else "median" if value.unit in ("month", "year", "week") else "value"
        )
    timepoint, timepoint_start = (
        (None, None) if statistic == "hazard ratio" else _timepoint(ctx, passage, endpoint, value)
    )
    count = ctx.count("measures", entity_for(entry))
    when = f" at {_readable(timepoint)}" if timepoint else ""
    outcome = Entity(
        "OutcomeMeasurement",
        ctx.scoped_key("outcome", entry.key, str(count + 1)),
        f"{entry.label} {statistic}{when}, {population.label}",
    )
    if timepoint and timepoint_start is not None:
        start = min(start, timepoint_start)
    ctx.add(ctx.trial, "hasOutcome", outcome, start, end)
    ctx.add(outcome, "measures", entity_for(entry), endpoint.start, endpoint.end)
    ctx.add_value(outcome, "numericValue", decimal_value(value.number), "decimal", start, end, value.unit)
    ctx.add_value(outcome, "statistic", statistic, "string", start, end)
    ctx.add(outcome, "population", population, start, end)
    if timepoint:
        ctx.add_value(outcome, "timePoint", timepoint, "duration", start, end)
    window = max(passage.start, value.start - _BESIDE)  # the words before the value, not the whole sentence
    ratio = _RATIO.search(text[window : value.start])
    if ratio and value.unit == "%":
        numerator, denominator = parse_int(ratio.group("num")), parse_int(ratio.group("den"))
        ratio_start = window + ratio.start()
        if numerator is not None and denominator is not None:
            ctx.add_value(outcome, "numerator", numerator, "integer", ratio_start, value.end)
            ctx.add_value(outcome, "denominator", denominator, "integer", ratio_start, value.end)
    return outcome


def _readable(timepoint: str) -> str:
    """ "P3Y" -> "3 years", "P1Y" -> "1 year", "P6M" -> "6 months"."""
    match = re.fullmatch(r"P(\d+)([YMD])", timepoint)
    if not match:
        return timepoint
    number, unit = int(match.group(1)), {"Y": "year", "M": "month", "D": "day"}[match.group(2)]
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _timepoint(
    ctx: Context, passage: Passage, endpoint: LexiconMatch, value: _Value
) -> tuple[str | None, int | None]:
    """ "three-year overall survival" -> P3Y; survival at "a median follow-up of one year" -> P1Y."""
    text = ctx.document.text
    window = max(passage.start, endpoint.start - _BESIDE)  # the words before the endpoint, not the sentence
    before = _TIME_BEFORE.search(text[window : endpoint.start])
    if before:
        return duration(before.group("n"), before.group("unit")), window + before.start()
    if endpoint.end <= value.start:
        # Between the endpoint and its values: "the rate of overall survival at 12 months was 69%".
        between = _TIME_AFTER.match(text[endpoint.end : value.start])
        if between:
            return duration(between.group("n"), between.group("unit")), None
    after = _TIME_AFTER.match(text[max(endpoint.end, value.end) : passage.end])
    if after:
        return duration(after.group("n"), after.group("unit")), None
    if value.unit == "%" and endpoint.entry.key.endswith("survival"):
        follow = _FOLLOW_UP.search(passage.text)
        if follow:
            return duration(follow.group("n"), follow.group("unit")), passage.start + follow.start()
    return None, None


def _follow_up(ctx: Context, passage: Passage, used: set[tuple[int, int]]) -> None:
    assert ctx.trial is not None and ctx.cohort is not None
    entry = ctx.lexicon.get("Endpoint", "follow-up")
    if entry is None:
        return
    for match in _FOLLOW_UP.finditer(passage.text):
        number = parse_number(match.group("n"))
        if number is None:
            continue
        start, end = passage.start + match.start(), passage.start + match.end()
        used.add((passage.start + match.start("n"), end))
        endpoint = LexiconMatch(entry, start, end, match.group(0))
        _record(ctx, passage, endpoint, _Value(number, unit_name(match.group("unit")), start, end), "median")


def _hazard_ratios(
    ctx: Context, passage: Passage, endpoints: list[LexiconMatch], used: set[tuple[int, int]]
) -> None:
    assert ctx.trial is not None
    for match in _HAZARD.finditer(passage.text):
        number = parse_number(match.group("n"))
        if number is None or number > 20:
            continue
        start, end = passage.start + match.start(), passage.start + match.end()
        used.add((start, end))
        key = _hazard_endpoint((match.group("what") or "").lower())
        endpoint = next((e for e in endpoints if key and e.entry.key == key), None)
        if endpoint is None:
            if key:
                entry = ctx.lexicon.get("Endpoint", key)
                endpoint = LexiconMatch(entry, start, end, match.group(0)) if entry else None
            else:
                named = [e for e in endpoints if start <= e.start < end]
                endpoint = named[0] if named else (endpoints[-1] if endpoints else None)
        if endpoint is None:
            continue
        arms = _arms_in(ctx, passage)
        recorded = len(ctx.facts)  # the new outcome's facts all come after this
        outcome = _record(ctx, passage, endpoint, _Value(number, "ratio", start, end), "hazard ratio")
        if len(arms) >= 2:
            for (arm, arm_start, arm_end), predicate in ((arms[0], "population"), (arms[1], "comparator")):
                ctx.add(outcome, predicate, arm, min(arm_start, start), max(arm_end, end))
            _drop_cohort_population(ctx, outcome, recorded)


def _hazard_endpoint(what: str) -> str | None:
    """What a "hazard ratio for ..." is about: "death" is overall survival, "progression or death" PFS."""
    for word, key in (
        ("progression", "progression-free-survival"),
        ("relapse", "relapse-free-survival"),
        ("event", "event-free-survival"),
        ("death", "overall-survival"),
    ):
        if word in what:
            return key
    return None


def _drop_cohort_population(ctx: Context, outcome: Entity, since: int = 0) -> None:
    """Drop the outcome's population fact naming the cohort, looking only at facts from ``since`` on (a scan
    of every fact per hazard ratio was quadratic)."""
    ctx.facts[since:] = [
        f
        for f in ctx.facts[since:]
        if not (f.subject == outcome and f.predicate == "population" and f.object == ctx.cohort)
    ]


def _changes(
    ctx: Context, passage: Passage, endpoints: list[LexiconMatch], used: set[tuple[int, int]]
) -> None:
    """ "the MRD negativity rate rose from 72% to 93%": 93 is the result, 72 the value before."""
    for match in _CHANGE.finditer(passage.text):
        start, end = passage.start + match.start(), passage.start + match.end()
        preceding = [e for e in endpoints if e.end <= start]
        if not preceding:
            continue
        used.add((start, end))
        endpoint = preceding[-1]
        after = _AFTER_PHRASE.search(passage.text)
        phrase = after.group(1).strip() if after else None
        before_number, after_number = parse_number(match.group("a")), parse_number(match.group("b"))
        if before_number is None or after_number is None:
            continue
        result_start = passage.start + match.start("b")
        result = _record(ctx, passage, endpoint, _Value(after_number, "%", result_start, end))
        baseline = _record(
            ctx, passage, endpoint, _Value(before_number, "%", passage.start + match.start("a"), end)
        )
        if phrase:
            evidence_start = passage.start + after.start() if after else start
            ctx.add_value(result, "assessmentPoint", f"after {phrase}", "string", evidence_start, end)
            ctx.add_value(baseline, "assessmentPoint", f"before {phrase}", "string", evidence_start, end)
        else:
            ctx.add_value(baseline, "assessmentPoint", "baseline", "string", start, end)


def _fractions(ctx: Context, passage: Passage, used: set[tuple[int, int]]) -> None:
    """ "over half the patients completed all treatment": 50% with the qualifier "more than"."""
    entry = ctx.lexicon.get("Endpoint", "treatment-completion")
    if entry is None:
        return
    for match in _FRACTION.finditer(passage.text):
        fraction = FRACTIONS.get(re.sub(r"\s+", " ", match.group("frac").lower()))
        if fraction is None:
            continue
        start, end = passage.start + match.start(), passage.start + match.end()
        used.add((start, end))
        endpoint = LexiconMatch(entry, passage.start + match.start("verb"), end, match.group(0))
        outcome = _record(ctx, passage, endpoint, _Value(fraction, "%", start, end), "rate")
        qualifier = match.group("qual")
        if qualifier:
            label = _QUALIFIERS[re.sub(r"\s+", " ", qualifier.lower())]
            ctx.add_value(outcome, "valueQualifier", label, "string", start, end)


def _pairs(ctx: Context, passage: Passage, endpoints: list[LexiconMatch], used: set[tuple[int, int]]) -> None:
    """ "higher with drug A than with the control regimen (36.7% vs. 17.9%)": each value to its arm, when the
    sentence orders the comparison and each side is one group the document names; else left to the rest."""
    order = _THAN_WITH.search(passage.text)
    if order is None:
        return
    side_a, side_b = _named_group(ctx, order.group("a")), _named_group(ctx, order.group("b"))
    if side_a is None or side_b is None or side_a == side_b:
        return
    for match in _PAIR.finditer(passage.text):
        start, end = passage.start + match.start(), passage.start + match.end()
        preceding = [e for e in endpoints if e.end <= start]
        first, second = parse_number(match.group("a")), parse_number(match.group("b"))
        if not preceding or first is None or second is None:
            continue
        used.add((start, end))
        arm_start, arm_end = passage.start + order.start(), passage.start + order.end()
        for (name, kind), number, side in zip((side_a, side_b), (first, second), ("a", "b"), strict=True):
            arm = arm_for(ctx, name, kind, arm_start, arm_end, passage)
            value_start = passage.start + match.start(side)
            _record(ctx, passage, preceding[-1], _Value(number, "%", value_start, end), arm=arm)


def _named_group(ctx: Context, phrase: str) -> tuple[str, str] | None:
    """The one group the document names ("the venetoclax group") whose words a phrase holds, or that holds the
    phrase's words ("the control regimen" for "the control group")."""
    words = _arm_words(phrase) - _REGIMEN_WORDS
    if not words:
        return None
    found = {n: k for n, k in named_groups(ctx).items() if _arm_words(n) <= words or words <= _arm_words(n)}
    if len(found) != 1:
        return None
    return next(iter(found.items()))


def _primary(ctx: Context, passage: Passage, endpoints: list[LexiconMatch]) -> None:
    assert ctx.trial is not None
    cue = _PRIMARY.search(passage.text)
    if not cue:
        return
    defined = _PRIMARY_DEFINED.search(passage.text)
    if defined:
        group = next(g for g in ("a", "b", "c", "d") if defined.group(g))
        start, end = passage.start + defined.start(group), passage.start + defined.end(group)
        inside = [e for e in endpoints if start <= e.start and e.end <= end]
        words = re.sub(r"\s+", " ", defined.group(group)).strip()
        # A definition the lexicon's endpoints do not already name whole ("overall survival and progression-free
        # survival" are two lexicon endpoints; "a composite of cardiovascular death or ..." is none of them).
        named = " and ".join(e.surface.lower() for e in inside)
        if (
            not re.search(r"\d", words)
            and (not inside or "composite" in words.lower())
            and named != words.lower()
        ):
            ctx.add_value(ctx.trial, "primaryEndpointText", words, "string", start, end)
        if "composite" in words.lower():
            return  # the composite is the endpoint: the lexicon endpoints inside it are its parts
    for endpoint in endpoints:
        start = min(endpoint.start, passage.start + cue.start())
        end = max(endpoint.end, passage.start + cue.end())
        ctx.add(ctx.trial, "primaryEndpoint", entity_for(endpoint.entry), start, end)
