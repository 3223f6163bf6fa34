"""The cohort: how many were enrolled, randomized and treated, their ages, and their disease setting."""

from __future__ import annotations

import re
from decimal import Decimal

from kb.extract.context import Context
from kb.extract.numbers import NUMBER, parse_int, parse_number
from kb.extract.outcomes import arm_for
from kb.models import Passage

_PEOPLE = (
    r"(?:(?:adult|older|elderly|pediatric|paediatric|eligible|evaluable|consecutive|young)\s+)?"
    r"(?:patients|participants|adults|subjects|people|individuals|children|men|women|persons)"
)
_VERBS = {
    "enrolledCount": r"enrolled|accrued|registered|recruited|included",
    "randomizedCount": r"randomi[sz]ed|randomly\s+assigned|randomly\s+allocated",
    "treatedCount": r"treated|infused|dosed",
}
_VERB = "|".join(f"(?P<{p}>{v})" for p, v in _VERBS.items())
_COUNT_PATTERNS = (
    re.compile(
        rf"\b(?:enrolled|enrolling|accrued|recruited)\s+(?:a\s+total\s+of\s+)?(?P<n>{NUMBER})\s+(?:[a-z][\w-]*\s+){{0,2}}?{_PEOPLE}\b"
    ),
    re.compile(
        rf"\b(?:randomi[sz]ed|randomly\s+assigned)\s+(?P<n>{NUMBER})\s+(?:[a-z][\w-]*\s+){{0,2}}?{_PEOPLE}\b(?P<rand>)"
    ),
    re.compile(
        rf"(?<![\w.,])(?<!\d\sof\s)(?P<n>{NUMBER})\s+{_PEOPLE}\b[^.;]{{0,160}}?\b(?:were|was|had\s+been)\s+(?:{_VERB})\b"
    ),
    re.compile(rf"\band\s+(?P<n>{NUMBER})\s+(?:were|had\s+been)\s+(?:{_VERB})\b"),
    re.compile(rf"(?<![\w.,])(?<!\d\sof\s)(?P<n>{NUMBER})\s+{_PEOPLE}\s+(?:received|underwent)\b(?P<treat>)"),
)
_GROUP = r"the\s+(?P<{0}>[\w-]+(?:\s+[\w-]+){{0,2}}?)\s+(?P<k{0}>group|arm)\b"
_ARM_COUNTS = (
    # "The population included 431 patients (286 in the drug group and 145 in the control group)"
    re.compile(
        rf"\b(?:included|enrolled|comprised)\s+(?P<n>{NUMBER})\s+{_PEOPLE}\s*\(\s*(?P<a>{NUMBER})\s+in\s+"
        + _GROUP.format("x")
        + rf"\s*,?\s+and\s+(?P<b>{NUMBER})\s+in\s+"
        + _GROUP.format("y")
        + r"\s*\)"
    ),
    # "A total of 410 patients were assigned to the drug group and 206 to the placebo group"
    re.compile(
        rf"(?P<a>{NUMBER})\s+{_PEOPLE}\s+were\s+(?:randomly\s+)?(?P<rand>assigned|allocated|randomi[sz]ed)\s+to\s+"
        + _GROUP.format("x")
        + rf"\s*,?\s+and\s+(?P<b>{NUMBER})\s+to\s+"
        + _GROUP.format("y")
    ),
)
"""Counts of each arm, and of the cohort as their sum (checked against a stated total)."""
_AGE_RANGE = re.compile(
    rf"\b(?:aged|ages?|ranging\s+(?:in\s+age\s+)?from|ranged\s+from|between\s+the\s+ages\s+of|range,?)\s+(?P<lo>{NUMBER})\s*"
    rf"(?:to|-|\u2013|and|through)\s*(?P<hi>{NUMBER})(?:\s+|\s*\)\s*)?(?:years|yrs|y\b)?"
)
_AGE_MIN = re.compile(
    rf"\b(?:aged|age[sd]?|adults)\s+(?P<lo>{NUMBER})\s+(?:years\s+)?(?:of\s+age\s+)?(?:or|and)\s+(?:older|over|above)\b"
)
_AGE_MAX = re.compile(
    rf"\b(?:aged|age[sd]?)\s+(?P<hi>{NUMBER})\s+(?:years\s+)?(?:of\s+age\s+)?(?:or|and)\s+(?:younger|under|below)\b"
)
_MEDIAN_AGE = re.compile(
    rf"\bmedian\s+age(?:\s+of\s+(?:the\s+)?[\w\s-]{{0,40}}?)?\s*(?:was|of|,|:|=|\()\s*(?P<n>{NUMBER})(?:\s*years)?"
)
_STATUS = (
    (
        "newly diagnosed",
        re.compile(r"\bnewly[\s-]diagnosed\b|\bpreviously\s+untreated\b|\btreatment[\s-]na[iï]ve\b", re.I),
    ),
    ("relapsed or refractory", re.compile(r"\brelapsed\s*(?:or|/|and)\s*refractory\b|\bR/R\b", re.I)),
    (
        "MRD-negative remission",
        re.compile(
            r"\b(?:MRD|measurable\s+residual\s+disease|minimal\s+residual\s+disease)(?:\s*\(MRD\))?[\s-]negative\s+"
            r"(?:complete\s+)?remission\b",
            re.I,
        ),
    ),
    ("first complete remission", re.compile(r"\bin\s+first\s+complete\s+remission\b|\bin\s+CR1\b", re.I)),
)


def extract_population(ctx: Context) -> None:
    """Counts, ages and diagnosis status of the cohort."""
    cohort = ctx.cohort
    if cohort is None:
        return
    for passage in ctx.passages():
        text, offset = passage.text, passage.start
        for pattern in _COUNT_PATTERNS:
            for match in pattern.finditer(text):
                count = parse_int(match.group("n"))
                if count is None or count == 0:
                    continue
                predicate = _predicate(match)
                ctx.add_value(
                    cohort, predicate, count, "integer", offset + match.start(), offset + match.end()
                )
        _arm_counts(ctx, passage)
        for match in _AGE_RANGE.finditer(text):
            if not re.search(r"years|yrs|\by\b|age", text[max(0, match.start() - 20) : match.end() + 6]):
                continue
            lo, hi = parse_number(match.group("lo")), parse_number(match.group("hi"))
            if lo is None or hi is None or not (0 <= lo < hi <= 120):
                continue
            start, end = offset + match.start(), offset + match.end()
            ctx.add_value(cohort, "minimumAge", lo, "decimal", start, end, "year")
            ctx.add_value(cohort, "maximumAge", hi, "decimal", start, end, "year")
        for match in _AGE_MIN.finditer(text):
            value = parse_number(match.group("lo"))
            if value is not None:
                ctx.add_value(
                    cohort,
                    "minimumAge",
                    value,
                    "decimal",
                    offset + match.start(),
                    offset + match.end(),
                    "year",
                )
        for match in _AGE_MAX.finditer(text):
            value = parse_number(match.group("hi"))
            if value is not None:
                ctx.add_value(
                    cohort,
                    "maximumAge",
                    value,
                    "decimal",
                    offset + match.start(),
                    offset + match.end(),
                    "year",
                )
        for match in _MEDIAN_AGE.finditer(text):
            value = parse_number(match.group("n"))
            if value is not None and Decimal(0) < value <= Decimal(120):
                ctx.add_value(
                    cohort,
                    "medianAge",
                    value,
                    "decimal",
                    offset + match.start(),
                    offset + match.end(),
                    "year",
                )
        for label, pattern in _STATUS:
            for match in pattern.finditer(text):
                ctx.add_value(
                    cohort, "diagnosisStatus", label, "string", offset + match.start(), offset + match.end()
                )


def _arm_counts(ctx: Context, passage: Passage) -> None:
    assert ctx.cohort is not None
    text, offset = passage.text, passage.start
    for pattern in _ARM_COUNTS:
        for match in pattern.finditer(text):
            first, second = parse_int(match.group("a")), parse_int(match.group("b"))
            if not first or not second:
                continue
            stated = match.groupdict().get("n")
            total = parse_int(stated) if stated else first + second
            if total != first + second:
                continue  # other groups, or a count of something else: no arm counts
            predicate = "randomizedCount" if match.groupdict().get("rand") else "enrolledCount"
            start, end = offset + match.start(), offset + match.end()
            ctx.add_value(ctx.cohort, predicate, total, "integer", start, end)
            for side, count in (("x", first), ("y", second)):
                arm = arm_for(ctx, match.group(side).lower(), match.group(f"k{side}"), start, end, passage)
                ctx.add_value(arm, predicate, count, "integer", start, end)


def _predicate(match: re.Match[str]) -> str:
    groups = match.groupdict()
    if "rand" in groups and groups["rand"] is not None:
        return "randomizedCount"
    if "treat" in groups and groups["treat"] is not None:
        return "treatedCount"
    for predicate in _VERBS:
        if groups.get(predicate):
            return predicate
    return "enrolledCount"
