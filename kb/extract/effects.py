"""Effect estimates: hazard, rate, risk and odds ratios, differences and relative risk reductions, each with
its confidence interval and P value, the endpoint it compares, and the arms of the comparison.

The numbers of a confidence interval or a P value are never results: `statistics_spans` gives their spans
so the outcome extractor leaves them alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from kb.extract.context import Context, entity_for
from kb.extract.numbers import decimal_value
from kb.lexicon import LexiconMatch
from kb.models import Entity, Passage

_NUM = r"[-\u2212]?\d*\.?\d+"
_KINDS = {
    "HazardRatio": r"hazard\s+ratio|HR",
    "RateRatio": r"(?:incidence\s+)?rate\s+ratio|IRR",
    "OddsRatio": r"odds\s+ratio|OR",
    "RiskRatio": r"risk\s+ratio|relative\s+risk|RR",
    "RiskDifference": r"(?:absolute\s+)?risk\s+difference",
    "MeanDifference": r"mean\s+difference",
}
_KIND = "|".join(f"(?P<{name}>{pattern})" for name, pattern in _KINDS.items())
_ESTIMATE = re.compile(
    rf"(?<![\w-])(?:{_KIND})(?![\w-])(?:\s*\[(?-i:[A-Z]{{2,3}})\])?"
    r"(?:\s+(?:for|of|in)\s+(?P<what>[a-zA-Z][\w\s,'-]{1,60}?))?"
    r"(?:\s+with\s+[\w-]+(?:\s+[\w-]+)?)?"
    r"\s*(?:,|:|=|\bof\b|\bwas\b|\bwas\s+estimated\s+at\b|\bwere\b)?\s*(?:\(\s*)?"
    rf"(?<![A-Za-z])(?P<value>{_NUM})(?P<percent>\s*%)?(?!\d|\.\d|[A-Za-z])"
)
_CI = re.compile(
    r"(?:\s*(?:percentage\s+points?|points?|mg\s+per\s+deciliter|mg/dL|mm\s*Hg|kg|%))?"
    rf"\s*(?:[;,]\s*|\(\s*|\[\s*)?(?:(?P<level>\d{{2}}(?:\.\d+)?)\s*%\s*"
    r"(?:CI|C\.I\.|confidence\s+interval|credible\s+interval)(?:\s*\[CI\])?\s*[,:]?\s*)?"
    rf"\[?\s*(?P<lo>{_NUM})\s*(?:to|\u2013|\u2014|-|,)\s*(?P<hi>{_NUM})\s*\]?"
)
P_VALUE = re.compile(
    r"\b[Pp]\s*(?P<rel><=|>=|=|<|>|\u2264|\u2265)\s*"
    r"(?P<p>\d*\.?\d+(?:\s*(?:x|\u00d7|\*)\s*10\s*\^?\s*(?:\(\s*)?[-\u2212]\s*\d+\)?|(?:e|E)[-\u2212]\d+)?)"
)
_CI_CLAUSE = re.compile(
    rf"\b\d{{2}}(?:\.\d+)?\s*%\s*(?:CI|C\.I\.|confidence\s+interval|credible\s+interval)(?:\s*\[CI\])?\s*[,:]?\s*"
    rf"(?:{_NUM}|not\s+estimable|NE)(?:\s*(?:months?|years?|weeks?|days?|%))?\s*(?:to|\u2013|\u2014|-|,)\s*"
    rf"(?:{_NUM}|not\s+estimable|NE|not\s+reached)(?:\s*(?:months?|years?|weeks?|days?|%))?"
)
_RRR = re.compile(
    r"\b(?:reduced|lowered|cut)\s+the\s+relative\s+risk(?:\s+of\s+(?P<what>[a-z][a-z\s'-]{1,50}?))?\s+by\s+"
    r"(?P<value>\d+(?:\.\d+)?)\s*%|\brelative\s+risk\s+reduction\s*(?:,\s*|:\s*|of\s+|was\s+)?(?P<value2>\d+(?:\.\d+)?)\s*%",
    re.IGNORECASE,
)
_SUBJECT_END = re.compile(
    r"\s+(?:occurred|was|were|is|are|had|did|recovered|died|in\s+\d|rose|fell|declined|increased|decreased|"
    r"improved|remained|reached|at\s+an?\b|with\b|by\b|among\b|than\b)|[,;:(]"
)
_LEAD = re.compile(r"^(?:and|but|while|whereas|or|also|the|a|an|annual|total)\s+", re.IGNORECASE)
PRIMARY = re.compile(
    r"\bprimary\s+(?:composite\s+|efficacy\s+)?(?:outcome|end\s*-?\s*point)\b", re.IGNORECASE
)
_NAMED_POINT = re.compile(
    r"\b(?:secondary|primary)\s+(?:end\s*-?\s*point|outcome)\s*,\s*(?!(?:a|an|the)\s)(?P<what>[a-z][\w\s-]{3,80}?)\s*,",
    re.IGNORECASE,
)
_DIED = re.compile(
    r"\bdied\b(?:\s+(?P<cause>from\s+[a-z][a-z\s-]{2,40}?))?(?=\s*[(,;.]|\s+(?:within|by|at|in)\b|$)"
)
_DAY = re.compile(r"\b(?:by|at|through)\s+(?P<unit>day|week|month)\s+(?P<n>\d+)\b", re.IGNORECASE)
SUBGROUP = re.compile(
    r"\bamong\s+(?P<a>(?:patients|participants|those)\s+(?:who|with|receiving|treated|given|on|in)\b[^,;()]{3,80})|"
    r"\bin\s+whom\b|\bsubgroup\s+of\s+(?P<b>[^,;()]{3,60})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PValue:
    """A P value as written: its relation (=, <), number and text."""

    relation: str
    value: Decimal
    text: str
    start: int
    end: int


def parse_p(match: re.Match[str]) -> PValue | None:
    """'P<0.001' -> (<, 0.001); 'P=3.29x10^-6' -> (=, 0.00000329)."""
    raw = match.group("p")
    relation = {"\u2264": "<=", "\u2265": ">="}.get(match.group("rel"), match.group("rel"))
    cleaned = raw.replace("\u2212", "-").replace(" ", "")
    power = re.match(r"(\d*\.?\d+)(?:x|\u00d7|\*)10\^?\(?(-\d+)\)?", cleaned)
    try:
        if power:
            value = Decimal(power.group(1)) * (Decimal(10) ** int(power.group(2)))
        else:
            value = Decimal(cleaned.replace("E", "e"))
    except ArithmeticError:
        return None
    if not Decimal(0) <= value <= Decimal(1):
        return None
    return PValue(relation, value, match.group(0), match.start(), match.end())


def statistics_spans(text: str) -> list[tuple[int, int]]:
    """Spans (offsets into ``text``) of confidence intervals and P values: never read as results."""
    spans = [(m.start(), m.end()) for m in _CI_CLAUSE.finditer(text)]
    spans += [(m.start(), m.end()) for m in P_VALUE.finditer(text)]
    return spans


_BREAK = re.compile(
    r";\s|:\s|\)\s*,(?!\s*respectively)\s*(?:and\s+)?|\)\s+and\s+(?!\d|in\s+\d|in\s+the\b)|,\s+and\s+|\.\s+(?=[A-Z])"
)


def masked(text: str) -> str:
    """The text with what parentheses and brackets hold blanked out (offsets kept), so a clause's words can
    be read without the numbers and intervals inside them."""
    out, depth = [], 0
    for char in text:
        if char in "([":
            depth += 1
            out.append(char)
        elif char in ")]" and depth:
            depth -= 1
            out.append(char)
        else:
            out.append(" " if depth else char)
    return "".join(out)


def clause_start(text: str, position: int, floor: int = 0) -> int:
    """Where the clause of ``position`` begins: the opening parenthesis holding it is left first, then the
    last clause break before it ('; ', ': ', '), and', ', and ')."""
    hidden = masked(text)
    depth = 0
    for index in range(position - 1, floor - 1, -1):
        char = text[index]
        if char in ")]":
            depth += 1
        elif char in "([":
            if depth == 0:
                position = index
                break
            depth -= 1
    cut = floor
    for found in _BREAK.finditer(hidden, floor, position):
        cut = found.end()
    return cut


def extract_effects(ctx: Context) -> None:
    """Every effect estimate of the trial's passages."""
    if ctx.trial is None:
        return
    for passage in ctx.passages():
        previous_end = 0
        last: tuple[str | None, LexiconMatch | None] = (None, None)
        for match in _ESTIMATE.finditer(passage.text):
            kind = next(name for name in _KINDS if match.group(name))
            if kind in {"OddsRatio", "RiskRatio"} and match.group(kind) in {"OR", "RR"}:
                # Bare "OR"/"RR" only with an interval right after ("OR 1.5 (95% CI ...)").
                if _CI.match(passage.text, match.end()) is None:
                    continue
            if match.group("percent") and kind.endswith("Ratio"):
                continue  # "HR ... 45%": a ratio is not a percentage
            value = _number(match.group("value"))
            if value is None or (kind.endswith("Ratio") and not Decimal(0) < value < Decimal(50)):
                continue
            previous_end, last = _record(ctx, passage, match, kind, value, previous_end, last)
        for match in _RRR.finditer(passage.text):
            number = _number(match.group("value") or match.group("value2"))
            if number is not None:
                _record(ctx, passage, match, "RelativeRiskReduction", number, 0)


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace("\u2212", "-"))
    except ArithmeticError:
        return None


def _record(
    ctx: Context,
    passage: Passage,
    match: re.Match[str],
    kind: str,
    value: Decimal,
    previous_end: int,
    last: tuple[str | None, LexiconMatch | None] = (None, None),
) -> tuple[int, tuple[str | None, LexiconMatch | None]]:
    """Record one estimate; returns where its statement ends in the passage (after its interval and P)."""
    assert ctx.trial is not None
    text = passage.text
    start, end = passage.start + match.start(), passage.start + match.end()
    ci = _CI.match(text, match.end())
    tail_end = match.end()
    lower = upper = level = None
    if ci is not None:
        lower, upper = _number(ci.group("lo")), _number(ci.group("hi"))
        level = _number(ci.group("level")) if ci.group("level") else None
        if (
            lower is not None
            and upper is not None
            and lower <= value <= upper
            and (level or "[" in ci.group(0) or "(" in ci.group(0))
        ):
            tail_end = ci.end()
        else:
            lower = upper = level = None
    p_value = _p_after(text, tail_end)
    if p_value is not None:
        tail_end = p_value.end
    endpoint_text, endpoint = _endpoint(ctx, passage, match, previous_end)
    if endpoint_text is None and previous_end:
        endpoint_text, endpoint = last  # "..., and among those receiving oxygen (rate ratio, ...)": as before
    count = ctx.count("hasEffectEstimate") + 1  # as added: not a scan of every fact
    label = f"{MEASURE_LABELS[kind]} {decimal_value(value)}" + (
        f" for {endpoint_text}" if endpoint_text else ""
    )
    estimate = Entity("EffectEstimate", ctx.scoped_key("effect", str(count)), f"{label}, {ctx.trial_label}")
    span_end = passage.start + tail_end
    ctx.add(ctx.trial, "hasEffectEstimate", estimate, start, span_end)
    ctx.add(estimate, "effectMeasure", Entity("Concept", kind, MEASURE_LABELS[kind]), start, end)
    ctx.add_value(estimate, "estimate", decimal_value(value), "decimal", start, end)
    if lower is not None and upper is not None:
        ctx.add_value(estimate, "ciLower", decimal_value(lower), "decimal", start, span_end)
        ctx.add_value(estimate, "ciUpper", decimal_value(upper), "decimal", start, span_end)
        if level is not None:
            ctx.add_value(estimate, "confidenceLevel", decimal_value(level), "decimal", start, span_end)
    if p_value is not None:
        p_start, p_end = passage.start + p_value.start, passage.start + p_value.end
        ctx.add_value(estimate, "pValue", decimal_value(p_value.value), "decimal", p_start, p_end)
        ctx.add_value(estimate, "pValueRelation", p_value.relation, "string", p_start, p_end)
        ctx.add_value(estimate, "pValueText", p_value.text, "string", p_start, p_end)
    sentence_start = passage.start
    if endpoint_text:
        ctx.add_value(estimate, "endpointText", endpoint_text, "string", sentence_start, span_end)
    if endpoint is not None:
        ctx.add(estimate, "estimates", entity_for(endpoint.entry), sentence_start, span_end)
    days = list(_DAY.finditer(text, max(0, match.start() - 60), match.start()))
    day = days[-1] if days else None
    if day is not None:
        unit = {"day": "D", "week": "W", "month": "M"}[day.group("unit").lower()]
        ctx.add_value(
            estimate,
            "estimateTimePoint",
            f"P{day.group('n')}{unit}",
            "duration",
            passage.start + day.start(),
            span_end,
        )
    subgroup = SUBGROUP.search(text, max(previous_end, match.start() - 160), match.start())
    if subgroup is not None:
        phrase = subgroup.group("a") or subgroup.group("b")
        if phrase is None:  # "in whom": the people named before it
            before = re.search(
                r"\b(?:among|in)\s+((?:patients|participants)\s+who\b[^,;()]{3,80}?),?\s+in\s+whom", text
            )
            phrase = before.group(1) if before else None
        if phrase:
            ctx.add_value(
                estimate, "subgroup", phrase.strip(), "string", passage.start + subgroup.start(), span_end
            )
    _comparison(ctx, passage, estimate, match, start, span_end)
    return tail_end, (endpoint_text, endpoint)


MEASURE_LABELS = {
    "HazardRatio": "hazard ratio",
    "RateRatio": "rate ratio",
    "OddsRatio": "odds ratio",
    "RiskRatio": "risk ratio",
    "RiskDifference": "risk difference",
    "MeanDifference": "mean difference",
    "RelativeRiskReduction": "relative risk reduction",
}


def _p_after(text: str, position: int) -> PValue | None:
    """A P value right after an estimate or its interval, in the same parenthesis or clause."""
    window = text[position : position + 40]
    match = re.match(r"^\s*[;,]?\s*(?:\)\s*[;,(]?\s*)?", window)
    offset = position + (match.end() if match else 0)
    p = P_VALUE.match(text, offset)
    return parse_p(p) if p else None


def _endpoint(
    ctx: Context, passage: Passage, match: re.Match[str], previous_end: int
) -> tuple[str | None, LexiconMatch | None]:
    """What the estimate compares: its "for ..." phrase, else the primary outcome its clause names, else the
    clause's subject ("Death from any cause was lower ..."), with the lexicon endpoint inside it if any."""
    text = passage.text
    endpoints = [m for m in ctx.matches(passage, "Endpoint") if m.entry.key != "follow-up"]
    what = match.group("what") if "what" in match.groupdict() else None
    if what:
        phrase = what.strip(" ,")
        inside = [
            e
            for e in endpoints
            if passage.start + match.start("what") <= e.start < passage.start + match.end("what")
        ]
        # "a primary outcome event occurred in ... (hazard ratio for cardiovascular death or ...": the phrase
        # spells out the primary outcome, and a reader asking for "the primary outcome" means this estimate.
        clause = masked(text)[clause_start(text, match.start(), previous_end) : match.start()]
        if PRIMARY.search(clause) and not PRIMARY.search(phrase):
            phrase = f"{phrase} (primary outcome)"
        return phrase, (inside[0] if inside else None)
    begin = clause_start(text, match.start(), previous_end)
    clause = masked(text)[begin : match.start()]
    opening = clause.rfind("(")
    if opening >= 0 and ")" not in clause[opening:]:
        clause = clause[:opening]  # the words before the parenthesis the estimate is in
    named = _NAMED_POINT.search(clause)
    if named:
        phrase = named.group("what").strip()
        return phrase, _endpoint_in(
            endpoints, passage, begin + named.start("what"), begin + named.end("what")
        )
    if PRIMARY.search(clause):
        return "primary outcome", None
    died = _DIED.search(clause)
    if died:
        return ("death " + died.group("cause").strip()) if died.group("cause") else "death", None
    phrase, offset = _subject(clause)
    if phrase:
        found = _endpoint_in(endpoints, passage, begin + offset, begin + offset + len(phrase))
        return phrase, found
    before = [e for e in endpoints if passage.start + begin <= e.start < passage.start + match.start()]
    if before:
        return before[-1].entry.label, before[-1]
    if PRIMARY.search(masked(text)[previous_end : match.start()]):
        # "... because the primary composite outcome ... was less frequent: 1.65% versus 2.19% (HR ...)".
        return "primary outcome", None
    return None, None


def _endpoint_in(
    endpoints: list[LexiconMatch], passage: Passage, start: int, end: int
) -> LexiconMatch | None:
    inside = [e for e in endpoints if passage.start + start <= e.start and e.end <= passage.start + end]
    return inside[0] if inside else None


def _subject(clause: str) -> tuple[str | None, int]:
    """The noun phrase a clause opens with, up to its verb ("Death from any cause" of "Death from any cause
    was also lower ..."), without leading conjunctions and articles; lower case."""
    stripped = clause.lstrip(" ,")
    offset = len(clause) - len(stripped)
    among = re.match(
        r"(?:and\s+)?(?:overall|(?:among|in)\s+(?:patients|participants|those)\b[^,(]{0,80})(?:,\s*|\s*$)",
        stripped,
        re.I,
    )
    if among:  # "Among patients receiving X, deaths were lower ...": the subgroup leads, the endpoint follows
        stripped, offset = stripped[among.end() :], offset + among.end()
    while True:
        lead = _LEAD.match(stripped)
        if not lead:
            break
        stripped, offset = stripped[lead.end() :], offset + lead.end()
    rates = re.match(r"(?:rates?|estimates?|incidence)\s+of\s+", stripped, re.IGNORECASE)
    if rates:
        stripped, offset = stripped[rates.end() :], offset + rates.end()
    end = _SUBJECT_END.search(stripped)
    phrase = stripped[: end.start()] if end else ""
    phrase = phrase.strip()
    if re.match(r"(?i)(?:no\s+)?(?:benefit|difference|effect|improvement)\b", phrase):
        return None, 0
    if (
        not phrase
        or len(phrase.split()) > 10
        or re.search(r"\d", phrase)
        or re.match(r"(?i)(?:patients|participants|it|this|they|there)\b", phrase)
    ):
        return None, 0
    return phrase[0].lower() + phrase[1:] if not phrase[:2].isupper() else phrase, offset


def _comparison(
    ctx: Context, passage: Passage, estimate: Entity, match: re.Match[str], start: int, end: int
) -> None:
    """The arms compared: the experimental arm and the comparator of the trial, when it has exactly two
    arms with those roles (a third arm leaves the comparison unstated)."""
    roles = ctx.arm_roles
    experimental = [arm for arm, role in roles.items() if role == "ExperimentalArm"]
    comparators = [arm for arm, role in roles.items() if role != "ExperimentalArm"]
    if len(experimental) == 1 and len(comparators) == 1:
        ctx.add(estimate, "experimentalArm", experimental[0], start, end)
        ctx.add(estimate, "comparatorArm", comparators[0], start, end)
