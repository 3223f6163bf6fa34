"""Answering: each intent runs a parametrised SPARQL template; values come back typed, with subject,
source document and the evidence passage (checked to state the value); otherwise an honest abstention."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kb.errors import QueryTimeout
from kb.qa import execution, queries
from kb.qa.context import QAContext, document_id, load_context
from kb.qa.evidence import find_passage, pick, statements, value_check
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.render import duration_months, duration_text, json_number, plain_number, with_unit
from kb.qa.understand import EMPTY, Question, understand

if TYPE_CHECKING:
    from kb.qa.port import QASource

TKB = queries.PREFIX_IRIS["tkb"]
NOT_STATED = "not stated in the sources"
MAX_TRIALS = 20
"""Most trials one answer gives values for (or lists) when the question names none; past it the answer
gives the first by name and says how many more there are."""


def answer_question(kb: QASource, question: str) -> Answer:
    """Answer from the KB (or a passage, saying so), or abstain with a reason; never raises."""
    raw = question if isinstance(question, str) else str(question)
    try:
        context = load_context(kb)
        parsed = understand(raw, context.index, kb.settings.max_question_length)
        with execution.deadline(kb.settings.query_timeout):
            # Effect estimates, per-arm values, adverse events and doses of a named trial (issue 14).
            from kb.qa.evidence_answer import NO_INTERVAL, answer_evidence_question

            evidence_answer = answer_evidence_question(kb, context, raw)
            if evidence_answer is not None and (
                not evidence_answer.abstained or evidence_answer.reason == NO_INTERVAL
            ):
                return evidence_answer
            general = _dispatch(kb, context, parsed, raw)
            # The evidence reader's abstention ("not stated for this arm") stands against a value read from
            # a passage, which may be another endpoint's, but not against a fact the KB itself holds.
            if evidence_answer is not None and (general.abstained or general.source_kind != "kb"):
                return evidence_answer
            return general
    except QueryTimeout:
        seconds = kb.settings.query_timeout
        return Answer.abstain(
            raw, f"answering took longer than {seconds:g} s; name a trial to narrow the question"
        )
    except Exception as error:  # noqa: BLE001 - a question must never crash the caller; say what failed
        print(f"note: question answering failed: {type(error).__name__}: {error}", file=sys.stderr)
        return Answer.abstain(raw, f"could not answer ({type(error).__name__})")


def _dispatch(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer:
    if q.intent == "none" and not q.mentions and q.reason == EMPTY:
        return Answer.abstain(raw, q.reason, intent=q.intent)
    if q.unknown_names and not q.trials:
        names = ", ".join(q.unknown_names)
        return Answer.abstain(raw, f"the knowledge base holds no trial named {names}", intent=q.intent)
    outside = [
        m.entity
        for m in q.mentions
        if not m.entity.in_kb
        and (m.entity.kind not in {"Journal"} or q.intent == "property")
        # "cancers" is not the journal Cancer: a journal is named with its capitals
        and not (m.entity.kind == "Journal" and m.surface.islower())
    ]
    if outside:
        return Answer.abstain(
            raw, f"{outside[0].label} is not in the knowledge base; {NOT_STATED}", intent=q.intent
        )
    from kb.qa.interpret import interpret

    reading = interpret(kb, q)
    if reading.question is None:
        answer = Answer.abstain(raw, reading.reason or NOT_STATED, intent=q.intent)
    else:
        q = reading.question
        answer = _handle(kb, context, q, raw)
    if answer.abstained and reading.read_text and not _asks_registry(q):
        kind = reading.answer_type
        if q.statistic in {"p value", "confidence interval"}:
            return answer  # no span type reads a test's P or an interval: the abstention stands
        if q.endpoints and kind not in {"share", "number", "count"}:
            kind = "share" if q.statistic in {None, "rate"} else "number"  # an endpoint's value is a number
        text_answer = _read(kb, context, q, raw, kind)
        if text_answer is not None:
            return text_answer
    return answer


def _handle(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer:
    from kb.qa import lists, outcomes, properties

    handlers = {
        "outcome": outcomes.answer_outcome,
        "property": properties.answer_property,
        "list_drugs": lists.answer_list_drugs,
        "list_trials": lists.answer_list_trials,
        "count_trials": lists.answer_list_trials,
        "yesno": lists.answer_yes_no,
    }
    answer: Answer = handlers[q.intent](kb, context, q, raw)
    if answer.abstained and q.intent in {"outcome", "property"} and not _asks_registry(q):
        from kb.qa.fallback import answer_from_text

        text_answer = answer_from_text(kb, context, q, raw)
        if text_answer is not None:
            return text_answer
    return answer


def _read(kb: QASource, context: QAContext, q: Question, raw: str, kind: str) -> Answer | None:
    """The typed reader, for a question about one trial (named, or the only one)."""
    from kb.qa.reader import answer_from_reading, read

    trials, named = scope(context, q)
    if not named or len(trials) != 1:
        return None
    found = read(kb, context, q, trials, kind)
    if found is None:
        return None
    return answer_from_reading(raw, q, context, trials[0], found)


def _asks_registry(q: Question) -> bool:
    """A question about what the registry says: an article's sentence cannot answer it."""
    from kb.qa import registry

    return registry.mentions_registry(q) or (q.prop is not None and q.prop.name in registry.REGISTRY_ONLY)


def scope(context: QAContext, q: Question) -> tuple[list[str], bool]:
    """The trials a question is about, and whether it named them (or there is only one)."""
    if q.trials:
        return [t.iri for t in q.trials if t.iri], True
    everything = list(context.trials)
    # A drug or organisation named beside the question's subject picks the trials it belongs to
    # ("the CR rate with brexucabtagene autoleucel", "the Alliance study").
    asks_about = q.prop.name if q.prop is not None else ""
    if asks_about not in {"funders", "sponsor", "conducted_by"} and not (
        q.prop is not None and q.prop.via == "drug"
    ):
        named = [e.iri for e in q.named("Drug") + q.named("Organization") if e.iri]
        if named:
            chosen = [t for t in everything if all(n in context.related.get(t, set()) for n in named)]
            if chosen:
                return chosen, len(chosen) == 1
    return everything, len(everything) == 1


@dataclass(frozen=True)
class Truncation:
    """An answer over many trials cut to the first `MAX_TRIALS` (by name): how many it gives of how many."""

    shown: int
    total: int
    what: str = "with a value"

    @property
    def note(self) -> str:
        return f"the first {self.shown} of {self.total} trials {self.what}, by name; name a trial to ask about one"


def trial_order(context: QAContext, trial: str) -> tuple[str, str]:
    """How trials are ordered in answers and cut: by their label, then IRI."""
    info = context.trials.get(trial)
    return (info.label if info else "", trial)


def first_trials(
    context: QAContext, trials: set[str], what: str = "with a value"
) -> tuple[set[str], Truncation | None]:
    """At most `MAX_TRIALS` of the trials, the first by name, and the truncation when that cut any."""
    if len(trials) <= MAX_TRIALS:
        return trials, None
    kept = set(sorted(trials, key=lambda t: trial_order(context, t))[:MAX_TRIALS])
    return kept, Truncation(len(kept), len(trials), what)


def bound_trials(
    context: QAContext, rows: list[dict[str, Any]], named: bool
) -> tuple[list[dict[str, Any]], Truncation | None]:
    """The rows of at most `MAX_TRIALS` trials (the first by name) when the question named none."""
    if named:
        return rows, None
    kept, truncation = first_trials(context, {str(r["trial"]) for r in rows if r.get("trial") is not None})
    if truncation is None:
        return rows, None
    return [r for r in rows if r.get("trial") is None or str(r["trial"]) in kept], truncation


def subject_label(context: QAContext, trial: str | None, group_label: str | None = None) -> str | None:
    display = context.trials[trial].display if trial and trial in context.trials else None
    if group_label and display:
        names = [context.trials[trial].label, context.trials[trial].name or ""] if trial else []
        if any(n and n.lower() in group_label.lower() for n in names):
            return group_label
        return f"{display}, {group_label}"
    return group_label or display


def source_of(graph: Any) -> str:
    return document_id(str(graph))


def join_by_subject(parts: Sequence[tuple[str | None, str]], multi: bool) -> str:
    """ "97%" for one subject; "E1910: 85%; ZUMA-3: 70.9%" across trials."""
    if not multi:
        return ", ".join(dict.fromkeys(text for _, text in parts))
    grouped: dict[str, list[str]] = {}
    for subject, text in parts:
        grouped.setdefault(subject or "", []).append(text)
    return "; ".join(
        f"{subject}: {', '.join(dict.fromkeys(texts))}" if subject else ", ".join(dict.fromkeys(texts))
        for subject, texts in grouped.items()
    )


def finish(
    raw: str,
    q: Question,
    items: Sequence[tuple[AnswerValue, EvidenceSpan | tuple[EvidenceSpan, ...] | None, str]],
    sparql: str,
    confidence: float,
    multi: bool,
    truncation: Truncation | None = None,
) -> Answer:
    """An answer from (value, evidence, display text) items; abstains when there are none. A truncated
    answer says so in its text and its ``note``."""
    if not items:
        return Answer.abstain(raw, NOT_STATED, sparql=sparql, intent=q.intent)
    text = join_by_subject([(value.subject, shown) for value, _, shown in items], multi)
    note = truncation.note if truncation is not None else None
    if note:
        text = f"{text} ({note})"
    spans: list[EvidenceSpan] = []
    for _, span, _ in items:
        if isinstance(span, tuple):
            spans.extend(span)
        elif span is not None:
            spans.append(span)
    evidence = tuple(dict.fromkeys(spans))
    return Answer(
        raw,
        text,
        tuple(value for value, _, _ in items),
        evidence,
        sparql,
        confidence * (0.75 if multi else 1.0),
        intent=q.intent,
        note=note,
        truncated=truncation is not None,
    )


def time_matches(q: Question, time_point: Any, evidence_text: str | None) -> bool:
    """No time point asked: any. Asked: the outcome's, or (when it has none) its sentence must say it."""
    if q.time_point_months is None:
        return True
    months = duration_months(str(time_point)) if time_point else None
    if months is not None:
        return abs(months - q.time_point_months) < 0.5
    if evidence_text is None or q.time_point_text is None:
        return False
    wanted = q.time_point_months
    pattern = _time_pattern(wanted)
    return re.search(pattern, evidence_text, re.IGNORECASE) is not None


def _time_pattern(months: float) -> str:
    from kb.qa.vocabulary import WORDS_FOR_NUMBERS

    forms: list[str] = []
    if months % 12 == 0:
        years = int(months // 12)
        forms = [str(years), *WORDS_FOR_NUMBERS.get(years, ())]
        unit = r"[- ]?years?"
    else:
        forms = [plain_number(months), *WORDS_FOR_NUMBERS.get(int(months), ())]
        unit = r"[- ]?months?"
    return r"\b(?:" + "|".join(re.escape(f) for f in forms) + r")" + unit + r"\b"


__all__ = [
    "answer_question",
    "with_unit",
    "duration_text",
    "json_number",
    "find_passage",
    "pick",
    "statements",
]
_ = value_check
