"""Fallback: when the KB has no fact, a retrieved passage may answer, only if it states what was asked
(the endpoint or property words, the time point) and exactly one value of the asked type tied to them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.qa.answer import scope
from kb.qa.context import QAContext
from kb.qa.linking import fold
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.understand import Question

if TYPE_CHECKING:
    from kb.qa.port import QASource

_PERCENT = r"(\d+(?:\.\d+)?)\s?%"
_DURATION = r"(\d+(?:\.\d+)?)\s(months?|years?)"
# A dose with its whole unit: "75 mg per square meter of body-surface area" is 75 mg/m², not 75 mg.
DOSE_PATTERN = (
    r"(\d+(?:\.\d+)?)\s?(mg|µg|mcg|micrograms?)\b"
    r"(?:\s?/\s?(m2|m²|kg)\b|\sper\s(square\smet(?:er|re)s?|m2|m²|kilograms?|kg)\b)?"
    r"(?:\sof\sbody[- ](?:surface[- ]area|weight))?"
)
_PER = {"kilogram": "kg", "kilograms": "kg", "kg": "kg", "m2": "m²", "m²": "m²"}
_PROPERTY_WORDS = {
    "median_age": (r"\bmedian age\b", r"(\d+(?:\.\d+)?)\s(years?)"),
    "dose": (r"\bdos(?:e|es|ing)\b|\bgiven at\b", DOSE_PATTERN),
    "enrolled_count": (r"\benrol\w*", r"(\d+)\s(?:patients|participants|adults|people|subjects)"),
    "randomized_count": (
        r"\brandomi[sz]\w*|\brandomly assigned",
        r"(\d+)\s(?:patients|participants|adults|people)",
    ),
    "treated_count": (r"\btreated\b", r"(\d+)\s(?:patients|participants|adults|people)?\s?were treated"),
}
# Where one statement ends: a value is tied to what its own clause names, never to the next clause's subject.
_CLAUSE_END = re.compile(r";|(?<!\d)\.(?=\s|$)|[!?](?=\s|$)")
# The entity kind a value must be attached to, by what is asked.
_ATTACHED_KIND = {"dose": "Drug"}


@dataclass(frozen=True)
class TextValue:
    """A value read from a passage: its number, its unit as shown, and where it is."""

    number: str
    unit: str | None
    start: int
    end: int

    @property
    def shown(self) -> str:
        return f"{self.number} {self.unit}" if self.unit else self.number


def read_value(match: re.Match[str], property_name: str | None) -> TextValue:
    """The value a pattern matched, with a dose's unit written in full ("mg per kilogram" → "mg/kg")."""
    number = match.group(1)
    unit = match.group(2) if match.lastindex and match.lastindex > 1 else None
    if property_name == "dose" and unit is not None:
        per = match.group(3) or match.group(4)
        if per:
            per = fold(per)
            unit = f"{unit}/{'m²' if per.startswith('square') else _PER.get(per, per)}"
    if unit == "%":
        unit = None
    return TextValue(number, unit, match.start(), match.end())


def clause_bounds(text: str, position: int) -> tuple[int, int]:
    """(start, end) of the clause of ``text`` that holds ``position``."""
    start, end = 0, len(text)
    for boundary in _CLAUSE_END.finditer(text):
        if boundary.end() <= position:
            start = boundary.end()
        elif boundary.start() >= position:
            end = boundary.start()
            break
    return start, end


def _distance(span: tuple[int, int], value: TextValue) -> int:
    if span[1] <= value.start:
        return value.start - span[1]
    if span[0] >= value.end:
        return span[0] - value.end + 1  # a name before its value wins a tie
    return 0


def attached(
    text: str, value: TextValue, asked: list[tuple[int, int]], others: list[tuple[int, int]]
) -> bool:
    """Whether ``value`` belongs to what was asked: an asked mention in its clause, and closer than any other."""
    start, end = clause_bounds(text, value.start)
    mine = [s for s in asked if s[0] >= start and s[1] <= end]
    if not mine:
        return False
    nearest = min(_distance(s, value) for s in mine)
    rivals = [s for s in others if s[0] >= start and s[1] <= end]
    return all(_distance(s, value) > nearest for s in rivals)


def _mentions(
    context: QAContext, text: str, kind: str, asked_iris: set[str], topic: str | None
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(asked, other) spans of ``kind`` in ``text``: the asked entities' names (and ``topic``'s words)."""
    found = [m for m in context.index.find(text) if m.entity.kind == kind]
    others = [(m.start, m.end) for m in found if m.entity.iri is None or m.entity.iri not in asked_iris]
    asked = [(m.start, m.end) for m in found if m.entity.iri in asked_iris]
    # The asked words themselves, unless they are part of a longer name of something else
    # ("complete remission" inside "composite complete remission").
    for match in re.finditer(topic, fold(text)) if topic else ():
        span = (match.start(), match.end())
        if not any(o[0] <= span[0] and span[1] <= o[1] and o != span for o in others):
            asked.append(span)
    return asked, others


_ALL_GROUPS = re.compile(r"\b(?:both|all|each|the two) (?:groups|arms|cohorts)\b")


def _names_group(folded: str, value: TextValue, arms: list[str]) -> bool:
    start, end = clause_bounds(folded, value.start)
    clause = folded[start:end]
    return bool(_ALL_GROUPS.search(clause)) or any(arm in clause for arm in arms)


def answer_from_text(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer | None:
    trials, named = scope(context, q)
    if not named or len(trials) != 1:
        return None  # never pick one trial's sentence when the question could be about several
    property_name = q.prop.name if q.prop is not None else None
    asked_iris: set[str] = set()
    kind: str | None = None
    if q.intent == "outcome":
        if q.statistic in {"hazard ratio", "odds ratio"}:
            return None  # a ratio is never a percentage read from a sentence
        words = [re.escape(fold(w)) for w in q.endpoint_words]
        if not words:
            return None
        about = "|".join(words)
        value_pattern = _DURATION if q.statistic == "median" else _PERCENT
        kind, asked_iris = "Endpoint", set(q.endpoints)
    elif property_name in _PROPERTY_WORDS:
        about, value_pattern = _PROPERTY_WORDS[property_name]
        kind = _ATTACHED_KIND.get(property_name)
        if kind is not None:
            asked_iris = {e.iri for e in q.named(kind) if e.iri}
    else:
        return None
    documents = context.trial_documents(trials)
    if not documents:
        return None
    # A passage can only support the answer if it names what was asked: when none of the trial's passages
    # does, skip retrieval (and the cost of loading the index and the encoder).
    if not any(
        re.search(about, fold(row.text)) and re.search(value_pattern, row.text, re.IGNORECASE)
        for document in documents
        for row in context.passages.get(document, [])
    ):
        return None
    trial = context.trials[trials[0]]
    from kb.qa.reader import passages

    try:
        hits = passages(kb, q, 3, trial.name or trial.nct or trial.label)
    except Exception:  # noqa: BLE001 - no index: no text answer, the abstention stands
        return None
    for hit in hits[:1]:
        text = hit.text
        folded = fold(text)
        if re.search(about, folded) is None:
            continue
        if q.time_point_text and not re.search(
            re.escape(fold(q.time_point_text)).replace(r"\-", "[- ]").replace(r"\ ", "[- ]"), folded
        ):
            continue
        values = [read_value(m, property_name) for m in re.finditer(value_pattern, text, re.IGNORECASE)]
        if kind is not None and (asked_iris or q.intent == "outcome"):
            spans = _mentions(context, text, kind, asked_iris, about if q.intent == "outcome" else None)
            values = [v for v in values if attached(text, v, *spans)]
        elif kind is None:  # (nothing of the kind named: every value the passage states must agree)
            topics = [(m.start(), m.end()) for m in re.finditer(about, folded)]
            values = [v for v in values if attached(text, v, topics, [])]
        arms = [fold(m.surface) for m in q.mentions if m.entity.kind == "Arm"]
        if arms:  # a group's value only where its clause names that group (or all groups)
            values = [v for v in values if _names_group(folded, v, arms)]
        if len({v.shown for v in values}) != 1:
            continue
        value = values[0]
        start = int(hit.metadata.get("start", 0))
        span = EvidenceSpan(
            str(hit.metadata.get("document")), hit.id, start, int(hit.metadata.get("end", start)), text
        )
        answer_value = AnswerValue(
            value.number,
            value.unit,
            q.prop.label if q.prop else "outcome",
            trial.display,
            span.document,
        )
        shown = f"{value.number}%" if value_pattern == _PERCENT else value.shown
        return Answer(raw, shown, (answer_value,), (span,), None, 0.35, source_kind="text", intent=q.intent)
    return None
