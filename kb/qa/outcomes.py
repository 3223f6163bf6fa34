"""Outcome questions: an endpoint's value (rate, median, hazard ratio, count) for a trial, arm or time point."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kb.qa import execution, queries
from kb.qa.answer import (
    NOT_STATED,
    TKB,
    bound_trials,
    finish,
    scope,
    source_of,
    subject_label,
    time_matches,
)
from kb.qa.context import QAContext
from kb.qa.evidence import pick, statements, value_check
from kb.qa.linking import fold
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.render import duration_text, json_number, plain_number, with_unit
from kb.qa.understand import Question

if TYPE_CHECKING:
    from kb.qa.port import QASource


def _statistic_ok(q: Question, row: dict[str, Any]) -> bool:
    statistic = fold(str(row.get("statistic") or ""))
    unit = str(row.get("unit") or "")
    if q.statistic == "hazard ratio":
        return "hazard" in statistic
    if q.statistic == "odds ratio":
        return "odds" in statistic
    if q.statistic in {"p value", "confidence interval"}:
        return False  # stored outcomes are values, not their tests: never a value for its P or interval
    if q.statistic == "median":
        return "median" in statistic or (not statistic and unit not in {"%", "percent"})
    if q.statistic == "rate":
        return "ratio" not in statistic and "median" not in statistic
    return True


def _population_scorer(q: Question) -> Callable[[dict[str, Any]], int]:
    """How many of the question's words (over three letters) a row's group label has."""
    words = {w for w in re.findall(r"[a-z0-9]+", fold(q.text)) if len(w) > 3}
    patterns = [re.compile(rf"\b{re.escape(w)}") for w in words]

    def score(row: dict[str, Any]) -> int:
        label = fold(str(row.get("populationLabel") or ""))
        if not label:
            return 0
        return sum(1 for pattern in patterns if pattern.search(label))

    return score


def _comparators(kb: QASource, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The group each comparative value (a hazard ratio) is against, by outcome IRI."""
    outcomes = [str(r["outcome"]) for r in rows if "ratio" in fold(str(r.get("statistic") or ""))]
    if not outcomes:
        return {}
    values = " ".join(f"<{iri}>" for iri in dict.fromkeys(outcomes) if ">" not in iri)
    query = queries.with_prefixes(
        f"SELECT ?outcome ?label WHERE {{ VALUES ?outcome {{ {values} }} "
        "?outcome tkb:comparator ?group . ?group rdfs:label ?label }"
    )
    return {str(r["outcome"]): str(r["label"]) for r in execution.select(kb, query)}


def _comparison(group: str, comparator: str) -> str:
    """ "T1 drug group" against "T1 placebo group": "T1 drug group vs placebo group" (one comparison, not an arm)."""
    words, other = group.split(), comparator.split()
    shared = 0
    while shared < min(len(words), len(other)) - 1 and words[shared] == other[shared]:
        shared += 1
    return f"{group} vs {' '.join(other[shared:])}"


def _position(text: str, value: Any) -> int:
    """Where a number is written in a sentence (its first occurrence as a whole number), else past the end."""
    found = re.search(rf"(?<![\d.]){re.escape(plain_number(value))}(?![\d])", text)
    return found.start() if found else len(text)


def answer_outcome(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer:
    if not q.endpoints:
        return Answer.abstain(raw, f"the knowledge base has no such outcome; {NOT_STATED}", intent=q.intent)
    trials, named = scope(context, q)
    restrict = trials if (q.trials or named) else []
    query = queries.outcome_query(q.endpoints, restrict)
    if restrict:
        found_rows = execution.select_batched(
            kb,
            lambda batch: queries.outcome_query(q.endpoints, batch),
            restrict,
            execution.TRIALS_PER_QUERY,
        )
    else:
        found_rows = execution.select(kb, query)
    rows = [row for row in found_rows if _statistic_ok(q, row)]
    if q.statistic is None and any("ratio" not in fold(str(r.get("statistic") or "")) for r in rows):
        rows = [r for r in rows if "ratio" not in fold(str(r.get("statistic") or ""))]
    # The most specific endpoint each trial reports (CR before CR/CRi).
    rank = {iri: i for i, iri in enumerate(q.endpoints)}
    best: dict[str, int] = {}
    for row in rows:
        trial = str(row["trial"])
        best[trial] = min(best.get(trial, 99), rank.get(str(row["endpoint"]), 99))
    rows = [r for r in rows if rank.get(str(r["endpoint"]), 99) == best[str(r["trial"])]]
    # Within a trial, the groups the question names (by words of the group's label), when it names any.
    population_score = _population_scorer(q)
    scores = {id(r): population_score(r) for r in rows}
    top: dict[str, int] = {}
    for row in rows:
        top[str(row["trial"])] = max(top.get(str(row["trial"]), 0), scores[id(row)])
    rows = [r for r in rows if scores[id(r)] == top[str(r["trial"])]]
    # A question naming no trial, on a KB of many: the values of the first trials, saying so.
    rows, truncation = bound_trials(context, rows, named)
    # "How many patients responded?" is answered by the count where the article states one ("112 of 184"),
    # else by the rate; a question asking for a rate or percentage always by the rate.
    wants_count = (
        q.count
        and not re.search(r"\bpercent|%|\brates?\b|\bproportion\b|\bshare\b|\bfraction\b", q.text, re.I)
        and any(r.get("numerator") is not None for r in rows)
    )
    found, _ = statements(kb, [(str(r["outcome"]), TKB + "numericValue") for r in rows])
    numerators, _ = (
        statements(kb, [(str(r["outcome"]), TKB + "numerator") for r in rows]) if wants_count else ({}, None)
    )
    comparators = _comparators(kb, rows)
    ordered: list[tuple[tuple[Any, ...], tuple[AnswerValue, EvidenceSpan | None, str]]] = []
    for row in rows:
        value, unit = row["value"], row.get("unit")
        pair = (str(row["outcome"]), TKB + "numericValue")
        if wants_count:
            if row.get("numerator") is None:
                continue
            value, unit = row["numerator"], None
            pair = (str(row["outcome"]), TKB + "numerator")
            span = pick((numerators or {}).get(pair, []), value_check(value, "number"))
        else:
            span = pick(found.get(pair, []), value_check(value, "number"))
        if span is None or not time_matches(q, row.get("timePoint"), span.text):
            continue
        label = str(row.get("endpointLabel") or "outcome")
        statistic = str(row.get("statistic") or "")
        when = duration_text(str(row["timePoint"])) if row.get("timePoint") else None
        full_label = " ".join(x for x in (label, statistic if statistic not in label else "") if x)
        if when:
            full_label += f" at {when}"
        group = str(row.get("populationLabel") or "") or None
        if group and str(row["outcome"]) in comparators:
            group = _comparison(group, comparators[str(row["outcome"])])
        subject = subject_label(context, str(row["trial"]), group)
        shown = with_unit(value, str(unit) if unit else None)
        qualifier = row.get("qualifier")
        if qualifier:
            shown = f"{qualifier} {shown}"
        # By trial and group; values of one group in the order their sentences state them.
        order = (
            str(row.get("trialLabel") or ""),
            str(row.get("populationLabel") or ""),
            span.document,
            span.start,
            _position(span.text, value),
            str(row["outcome"]),
        )
        ordered.append(
            (
                order,
                (
                    AnswerValue(
                        json_number(value),
                        str(unit) if unit else None,
                        full_label,
                        subject,
                        source_of(row["g"]),
                    ),
                    span,
                    shown,
                ),
            )
        )
    items = [item for _, item in sorted(ordered, key=lambda pair: pair[0])]
    trials_answered = {v.subject for v, _, _ in items}
    multi = not named and len({str(r["trial"]) for r in rows}) > 1
    confidence = 0.9 if best and min(best.values()) == 0 else 0.75
    if len(trials_answered) > 1 and not multi:
        multi = True
    return finish(raw, q, items, query, confidence, multi, truncation)
