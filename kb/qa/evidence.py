"""Evidence: the passage a value was read from (the statement's passage), checked to state the value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kb.qa import execution, queries
from kb.qa.context import QAContext, document_id, passage_id
from kb.qa.model import EvidenceSpan
from kb.qa.render import name_matcher, states_date, states_number

if TYPE_CHECKING:
    from kb.qa.port import QASource

Check = Callable[[str], bool]
Statements = dict[tuple[str, str], list[tuple[Any, EvidenceSpan]]]


def statements(kb: QASource, pairs: Sequence[tuple[str, str]]) -> tuple[Statements, str | None]:
    """(subject, predicate) -> [(object, passage span)], and the query that found them."""
    unique = list(dict.fromkeys(pairs))
    if not unique:
        return {}, None
    query = queries.evidence_query(unique)
    found: Statements = {}
    for row in execution.select_batched(kb, queries.evidence_query, unique):
        span = EvidenceSpan(
            document_id(str(row["document"])),
            passage_id(str(row["passage"])),
            int(row["start"]),
            int(row["end"]),
            str(row["text"]),
        )
        found.setdefault((str(row["s"]), str(row["p"])), []).append((row["o"], span))
    return found, query


def value_check(value: Any, kind: str, names: Sequence[str] = ()) -> Check:
    """A test that a passage states the value: a number, a date, or one of an entity's names."""
    if kind == "number":
        return lambda text: states_number(text, value)
    if kind == "date":
        return lambda text: states_date(text, str(value))
    return name_matcher(list(names) or [str(value)])


def pick(
    candidates: Sequence[tuple[Any, EvidenceSpan]], check: Check, obj: Any | None = None
) -> EvidenceSpan | None:
    """The first passage (of the statement for ``obj``, when given) that states the value."""
    ordered = sorted(candidates, key=lambda c: (obj is not None and str(c[0]) != str(obj), c[1].start))
    for candidate_object, span in ordered:
        if obj is not None and str(candidate_object) != str(obj):
            continue
        if check(span.text):
            return span
    return None


def find_passage(
    context: QAContext, documents: Sequence[str], checks: Sequence[Check]
) -> EvidenceSpan | None:
    """The first passage of the documents that passes every check (for values without a statement)."""
    for document in documents:
        for row in context.passages.get(document, []):
            if all(check(row.text) for check in checks):
                return EvidenceSpan(row.document, row.id, row.start, row.end, row.text)
    return None


def span_of(row: Any) -> EvidenceSpan:
    return EvidenceSpan(row.document, row.id, row.start, row.end, row.text)
