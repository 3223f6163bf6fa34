"""Adherence: how many of the cohort completed the whole planned treatment, and how many stopped it early.

A share is kept as the source words it ("over half", "two-thirds", "72%"), since a fraction phrase is vaguer
than any number it could be turned into; counts are integers. Statements that compare arms ("vs", "than")
are left to the arm-level extractors.
"""

from __future__ import annotations

import re

from kb.extract.context import Context
from kb.extract.numbers import FRACTIONS, NUMBER, parse_int
from kb.models import Passage

_PEOPLE = (
    r"(?:(?:adult|older|elderly|eligible|evaluable|enrolled|treated)\s+)?"
    r"(?:patients|participants|adults|subjects|people|individuals|children|persons)"
)
_HEDGE = (
    r"(?:(?:just\s+|well\s+)?(?:over|under|above|below)|more\s+than|less\s+than|fewer\s+than|nearly|almost|"
    r"about|approximately|roughly|around|only|exactly|at\s+least)"
)
_FRACTION = "|".join(sorted((re.escape(f) for f in FRACTIONS), key=len, reverse=True))
_SHARE = rf"(?:{_HEDGE}\s+)?(?:{_FRACTION}|\d+(?:\.\d+)?\s*(?:%|percent\b))"
# What was completed: the whole course, all cycles, the planned treatment ("the entire treatment course").
_COURSE = (
    r"(?:the|all|their|its)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:course|courses|cycles|treatment|therapy|regimen|doses|protocol)(?:\s+(?:course|cycles|period))?\b"
)
_COMPLETE = (
    r"(?:(?:were|was)\s+able\s+to\s+|went\s+on\s+to\s+|managed\s+to\s+)?"
    r"(?:completed?|finished|finish|received)\s+"
)
_SHARE_COMPLETED = re.compile(
    rf"(?<![\w-])(?P<share>{_SHARE})\s+(?:of\s+)?(?:the\s+|all\s+|these\s+)?(?:{_PEOPLE}\s+)?"
    rf"(?:\([^)]*\)\s+)?{_COMPLETE}(?P<course>{_COURSE})",
    re.IGNORECASE,
)
_COUNT_COMPLETED = re.compile(
    rf"(?<![\w.,-])(?P<n>{NUMBER})\s+(?:\([^)]*\)\s+)?(?:of\s+(?:the\s+)?{NUMBER}\s+)?(?:{_PEOPLE}\s+)?"
    rf"(?:\([^)]*\)\s+)?{_COMPLETE}(?P<course>{_COURSE})",
    re.IGNORECASE,
)
_COUNT_DISCONTINUED = re.compile(
    rf"(?<![\w.,-])(?P<n>{NUMBER})\s+(?:\([^)]*\)\s+)?(?:(?:{_PEOPLE}\s+(?:\([^)]*\)\s+)?(?:had\s+)?"
    r"(?:permanently\s+)?discontinued)|(?:permanent\s+)?(?:treatment\s+)?discontinuations)\b",
    re.IGNORECASE,
)
# A comparison between arms: the figure belongs to one arm, not to the cohort.
_COMPARISON = re.compile(r"\b(?:vs\.?|versus|compared|than|whereas)\b", re.IGNORECASE)


def extract_adherence(ctx: Context) -> None:
    """Completion share or count, and discontinuation count, of the trial's cohort."""
    cohort = ctx.cohort
    if cohort is None:
        return
    for passage in ctx.passages():
        for sentence_start, sentence in _sentences(passage):
            if _COMPARISON.search(sentence):
                continue
            offset = passage.start + sentence_start
            for match in _SHARE_COMPLETED.finditer(sentence):
                share = re.sub(r"\s+", " ", match.group("share")).strip()
                ctx.add_value(
                    cohort,
                    "completedTreatmentShare",
                    share,
                    "string",
                    offset + match.start(),
                    offset + match.end(),
                )
            for match in _COUNT_COMPLETED.finditer(sentence):
                count = parse_int(match.group("n"))
                if count:
                    start, end = offset + match.start(), offset + match.end()
                    ctx.add_value(cohort, "completedTreatmentCount", count, "integer", start, end)
            for match in _COUNT_DISCONTINUED.finditer(sentence):
                count = parse_int(match.group("n"))
                if count:
                    start, end = offset + match.start(), offset + match.end()
                    ctx.add_value(cohort, "discontinuedCount", count, "integer", start, end)


def _sentences(passage: Passage) -> list[tuple[int, str]]:
    """The passage's sentences with their offsets in it (a period before a space and a capital ends one)."""
    found, start = [], 0
    for end in re.finditer(r"[.!?](?=\s+[A-Z(\"\u201c]|\s*$)", passage.text):
        found.append((start, passage.text[start : end.end()]))
        start = end.end()
    if start < len(passage.text):
        found.append((start, passage.text[start:]))
    return found
