"""Fallback: when the KB has no fact, a retrieved passage may answer, only if it states what was asked
(the endpoint or property words, the time point) and exactly one value of the asked type near them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kb.qa.answer import scope
from kb.qa.context import QAContext
from kb.qa.linking import fold
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.understand import Question

if TYPE_CHECKING:
    from kb.facade import KnowledgeBase

_PERCENT = r"(\d+(?:\.\d+)?)\s?%"
_DURATION = r"(\d+(?:\.\d+)?)\s(months?|years?)"
_PROPERTY_WORDS = {
    "median_age": (r"\bmedian age\b", r"(\d+(?:\.\d+)?)\s(years?)"),
    "dose": (
        r"\bdos(?:e|es|ing)\b|\bgiven at\b",
        r"(\d+(?:\.\d+)?)\s?(mg|µg|mcg|micrograms?)(?:/\S+|\sper\s\w+)?",
    ),
    "enrolled_count": (r"\benrol\w*", r"(\d+)\s(?:patients|participants|adults|people|subjects)"),
    "randomized_count": (
        r"\brandomi[sz]\w*|\brandomly assigned",
        r"(\d+)\s(?:patients|participants|adults|people)",
    ),
    "treated_count": (r"\btreated\b", r"(\d+)\s(?:patients|participants|adults|people)?\s?were treated"),
}


def answer_from_text(kb: KnowledgeBase, context: QAContext, q: Question, raw: str) -> Answer | None:
    trials, named = scope(context, q)
    if not named or len(trials) != 1:
        return None  # never pick one trial's sentence when the question could be about several
    if q.intent == "outcome":
        words = [re.escape(fold(w)) for w in q.endpoint_words]
        if not words:
            return None
        about = "|".join(words)
        value_pattern = _DURATION if q.statistic == "median" else _PERCENT
    elif q.prop is not None and q.prop.name in _PROPERTY_WORDS:
        about, value_pattern = _PROPERTY_WORDS[q.prop.name]
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
    try:
        hits = kb.search(q.text, k=3, trial=trial.name or trial.nct or trial.label)
    except Exception:  # noqa: BLE001 - no index: no text answer, the abstention stands
        return None
    for hit in hits[:1]:
        text = hit.text
        folded = fold(text)
        topic = re.search(about, folded)
        if topic is None:
            continue
        if q.time_point_text and not re.search(
            re.escape(fold(q.time_point_text)).replace(r"\-", "[- ]").replace(r"\ ", "[- ]"), folded
        ):
            continue
        values = [
            m for m in re.finditer(value_pattern, text, re.IGNORECASE) if abs(m.start() - topic.start()) < 80
        ]
        if len({m.group(0) for m in values}) != 1:
            continue
        match = values[0]
        start = int(hit.metadata.get("start", 0))
        span = EvidenceSpan(
            str(hit.metadata.get("document")), hit.id, start, int(hit.metadata.get("end", start)), text
        )
        value = AnswerValue(
            match.group(1),
            match.group(2) if match.lastindex and match.lastindex > 1 else None,
            q.prop.label if q.prop else "outcome",
            trial.display,
            span.document,
        )
        return Answer(raw, match.group(0), (value,), (span,), None, 0.35, source_kind="text", intent=q.intent)
    return None
