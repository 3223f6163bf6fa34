"""Questions over many entities: drugs by target or class, trials by drug, target, class, disease,
organisation or outcome threshold (listed or counted), and yes/no questions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kb.qa import design, execution, queries
from kb.qa.answer import NOT_STATED, TKB, finish, first_trials, scope, source_of
from kb.qa.context import QAContext
from kb.qa.evidence import find_passage, pick, statements, value_check
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.understand import Question

if TYPE_CHECKING:
    from kb.qa.port import QASource

_RELATIONS = (("Drug", "drug"), ("MolecularTarget", "target"), ("DrugClass", "class"), ("Disease", "disease"))
_COMPARE = {
    "at least": lambda a, b: a >= b,
    "no less than": lambda a, b: a >= b,
    ">=": lambda a, b: a >= b,
    "≥": lambda a, b: a >= b,
    "at most": lambda a, b: a <= b,
    "no more than": lambda a, b: a <= b,
    "<=": lambda a, b: a <= b,
    "≤": lambda a, b: a <= b,
}


def _compare(op: str, value: float, threshold: float) -> bool:
    if op in _COMPARE:
        return bool(_COMPARE[op](value, threshold))
    if op in {"less than", "lower than", "below", "under", "<"}:
        return value < threshold
    return value > threshold


def answer_list_drugs(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer:
    entities = [(e, "target") for e in q.named("MolecularTarget")] + [
        (e, "class") for e in q.named("DrugClass")
    ]
    if not entities:
        return Answer.abstain(raw, NOT_STATED, intent=q.intent)
    drugs: dict[str, tuple[str, str]] | None = None
    query = ""
    for entity, relation in entities:
        query = queries.drugs_with_query(relation, [str(entity.iri)])
        found = {
            str(r["drug"]): (str(r.get("drugLabel") or r["drug"]), str(r["g"]))
            for r in execution.select(kb, query)
        }
        drugs = found if drugs is None else {k: v for k, v in drugs.items() if k in found}
    items: list[tuple[AnswerValue, EvidenceSpan | None, str]] = []
    everything = [d for t in context.trials.values() for d in t.documents]
    for drug, (label, graph) in sorted((drugs or {}).items(), key=lambda kv: kv[1][0]):
        checks = [value_check(None, "name", context.names_of(drug, label))]
        checks += [value_check(None, "name", context.names_of(str(e.iri), e.label)) for e, _ in entities]
        span = find_passage(context, everything, checks)
        items.append((AnswerValue(label, None, "drug", None, source_of(graph)), span, label))
    return finish(raw, q, items, query, 0.85, False)


def _trials_by_outcome(kb: QASource, q: Question) -> tuple[dict[str, str], str]:
    assert q.comparison is not None
    op, threshold = q.comparison
    query = queries.outcome_query(q.endpoints, [])
    matched: dict[str, str] = {}
    for row in execution.select(kb, query):
        if row.get("unit") in {"%", None} and _compare(op, float(row["value"]), threshold):
            matched[str(row["trial"])] = str(row["outcome"])
    return matched, query


def answer_list_trials(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer:
    selected: set[str] | None = None
    via: dict[str, tuple[str, str]] = {}  # trial -> (subject, predicate) of the statement to show
    query = queries.TRIALS
    for kind, relation in _RELATIONS:
        for entity in q.named(kind):
            query = queries.trials_with_query(relation, [str(entity.iri)])
            rows = execution.select(kb, query)
            trials = {str(r["trial"]) for r in rows}
            for row in rows:
                via.setdefault(str(row["trial"]), (str(row["trial"]), TKB + "intervention"))
            selected = trials if selected is None else selected & trials
    organisations = [e for e in q.named("Organization")]
    for entity in organisations:
        query = queries.trials_with_query("organization", [str(entity.iri)])
        trials = {str(r["trial"]) for r in execution.select(kb, query)}
        selected = trials if selected is None else selected & trials
    named_trials = [(m.start, m.end) for m in q.mentions if m.entity.kind == "ClinicalTrial"]
    featured = design.trials_with_features(
        kb, _without(q.text, named_trials), set(context.trials) if selected is None else selected
    )
    if featured is not None:  # "Which trials were stopped early?": by their stated design features
        selected, query = featured
        for trial in selected:
            via.setdefault(trial, (trial, TKB + "designFeature"))
    if q.comparison is not None and q.endpoints:
        matched, query = _trials_by_outcome(kb, q)
        for trial, outcome in matched.items():
            via[trial] = (outcome, TKB + "numericValue")
        selected = set(matched) if selected is None else selected & set(matched)
    elif q.comparison is not None or (q.endpoints and selected is None):
        return Answer.abstain(raw, NOT_STATED, intent=q.intent)
    if selected is None:
        selected = set(context.trials)
    kept, truncation = first_trials(context, selected, "that match")  # a count still counts them all
    listed = sorted(kept, key=lambda t: context.trials[t].display if t in context.trials else t)
    found, _ = statements(kb, [via[t] for t in listed if t in via])
    items: list[tuple[AnswerValue, EvidenceSpan | tuple[EvidenceSpan, ...] | None, str]] = []
    for trial in listed:
        info = context.trials.get(trial)
        label = info.display if info else trial.rsplit("/", 1)[-1]
        span = None
        if trial in via:
            candidates = found.get(via[trial], [])
            span = candidates[0][1] if candidates else None
        spans: tuple[EvidenceSpan, ...] = (span,) if span is not None else ()
        if info is not None:
            names = [n for n in (info.name, info.label, info.nct) if n]
            if span is None or not value_check(None, "name", names)(span.text):
                naming = find_passage(context, list(info.documents), [value_check(None, "name", names)])
                spans = (*spans, naming) if naming is not None else spans
        source = info.documents[0] if info and info.documents else None
        items.append((AnswerValue(info.label if info else label, None, "trial", label, source), spans, label))
    if q.intent == "count_trials" and items:
        answer = finish(raw, q, items, query, 0.85, False)
        note = truncation.note if truncation is not None else None
        text = f"{len(selected)} ({answer.answer})" + (f" ({note})" if note else "")
        return Answer(
            raw,
            text,
            answer.values,
            answer.evidence,
            answer.sparql,
            0.85,
            intent=q.intent,
            note=note,
            truncated=truncation is not None,
        )
    return finish(raw, q, items, query, 0.85, False, truncation)


def answer_yes_no(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer:
    """Yes/no from facts that decide it both ways (chemotherapy-free, marker polarity, thresholds);
    "yes" when the KB states what is asked; otherwise abstain rather than guess "no"."""
    trials, named = scope(context, q)
    if not named:
        return Answer.abstain(raw, "the question does not say which trial", intent=q.intent)
    text = q.text.lower()
    named_trials = [(m.start, m.end) for m in q.mentions if m.entity.kind == "ClinicalTrial"]
    if design.asks_design(_without(q.text, named_trials)):
        decided = design.answer_design(kb, trials, text, raw, q.intent)
        if decided is not None:
            return decided
    if re.search(r"chemo", text):
        query = queries.property_query("regimen", ("tkb:chemotherapyFree",), trials, [])
        rows = execution.select(kb, query)
        if rows:
            free = bool(rows[0]["value"])
            found, _ = statements(kb, [(str(rows[0]["node"]), str(rows[0]["p"]))])
            span = next((s for _, s in found.get((str(rows[0]["node"]), str(rows[0]["p"])), [])), None)
            asks_free = bool(re.search(r"chemo\w*[- ]free|without chemo|no chemo|avoid|eschew", text))
            yes = free if asks_free else not free
            value = AnswerValue(
                yes,
                None,
                "chemotherapy-free" if asks_free else "includes chemotherapy",
                None,
                source_of(rows[0]["g"]),
            )
            return Answer(
                raw, "Yes" if yes else "No", (value,), (span,) if span else (), query, 0.8, intent=q.intent
            )
    markers = q.named("Biomarker") + q.named("MolecularTarget")
    polarity = (
        "negative" if re.search(r"negativ", text) else "positive" if re.search(r"positiv", text) else None
    )
    if markers and polarity:
        query = queries.property_query("group", ("tkb:positiveFor", "tkb:negativeFor"), trials, [])
        for row in execution.select(kb, query):
            if str(row["value"]) in {m.iri for m in markers}:
                actual = "negative" if str(row["p"]).endswith("negativeFor") else "positive"
                found, _ = statements(kb, [(str(row["node"]), str(row["p"]))])
                span = pick(found.get((str(row["node"]), str(row["p"])), []), lambda _t: True)
                value = AnswerValue(actual, None, "marker status", None, source_of(row["g"]))
                yes = actual == polarity
                return Answer(
                    raw,
                    "Yes" if yes else "No",
                    (value,),
                    (span,) if span else (),
                    query,
                    0.8,
                    intent=q.intent,
                )
    drugs = q.named("Drug")
    if drugs and not q.endpoints:
        query = queries.property_query("trial", ("tkb:intervention",), trials, [])
        rows = [r for r in execution.select(kb, query) if str(r["value"]) in {d.iri for d in drugs}]
        if len({str(r["value"]) for r in rows}) == len(drugs):
            found, _ = statements(kb, [(str(r["node"]), str(r["p"])) for r in rows])
            spans = [
                s
                for r in rows
                for o, s in found.get((str(r["node"]), str(r["p"])), [])
                if str(o) == str(r["value"])
            ]
            values = tuple(
                AnswerValue(str(r.get("valueLabel")), None, "intervention", None, source_of(r["g"]))
                for r in rows
            )
            return Answer(raw, "Yes", values, tuple(spans[:1]), query, 0.75, intent=q.intent)
    if q.prop is not None and q.prop.value == "entity" and q.prop.via != "drug":
        return _yes_from_property(kb, context, q, raw)
    return Answer.abstain(raw, NOT_STATED, intent=q.intent)


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the given spans blanked."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


def _yes_from_property(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer:
    """ "Did any patients have prior cancers?": yes, with the values, when the KB states some; a named
    value must be among them. Never "no" from absence."""
    from kb.qa.properties import answer_property

    found = answer_property(kb, context, q, raw)
    if found.abstained:
        return found
    named = {e.label.lower() for e in (m.entity for m in q.mentions) if e.in_kb and e.kind != "ClinicalTrial"}
    given = {str(v.value).lower() for v in found.values}
    if named and not named & given:
        return Answer.abstain(raw, NOT_STATED, sparql=found.sparql, intent=q.intent)
    return Answer(
        raw,
        f"Yes: {found.answer}",
        found.values,
        found.evidence,
        found.sparql,
        found.confidence * 0.9,
        intent=q.intent,
    )
