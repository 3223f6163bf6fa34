"""Property questions: a value of a trial, its groups, its publication, a regimen step or a drug."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kb.qa import execution, queries, registry
from kb.qa.answer import (
    NOT_STATED,
    Truncation,
    bound_trials,
    finish,
    scope,
    source_of,
    subject_label,
    trial_order,
)
from kb.qa.context import QAContext
from kb.qa.evidence import Check, find_passage, pick, statements, value_check
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.organisations import of_asked_kind
from kb.qa.render import json_number, plain_number, with_unit
from kb.qa.understand import Question

if TYPE_CHECKING:
    from kb.qa.port import QASource

Item = tuple[AnswerValue, EvidenceSpan | None, str]
_AGE_PROPERTIES = {"median_age", "age_range"}
_EACH_GROUP = re.compile(
    r"\b(?:each|every|per|both|all)\s+(?:of the\s+)?(?:groups?|arms?)\b|\bby (?:group|arm)\b", re.I
)


def _expand(p: str) -> str:
    prefix, local = p.split(":", 1)
    return queries.PREFIX_IRIS[prefix] + local


def _rows(
    kb: QASource, via: str, predicates: tuple[str, ...], trials: list[str], nodes: list[str]
) -> tuple[list[dict[str, Any]], str]:
    query = queries.property_query(via, predicates, trials, nodes)
    if trials:
        rows = execution.select_batched(
            kb,
            lambda batch: queries.property_query(via, predicates, batch, nodes),
            trials,
            execution.TRIALS_PER_QUERY,
        )
    else:
        rows = execution.select_batched(
            kb,
            lambda batch: queries.property_query(via, predicates, trials, batch),
            nodes,
            execution.TRIALS_PER_QUERY,
        )
    # In one order whatever the engine: a store's row order without ORDER BY is its own (Oxigraph embedded
    # and Oxigraph or Virtuoso over HTTP differ), and an answer's list must not change with it.
    rows.sort(key=lambda r: tuple(str(r.get(k) or "") for k in ("trial", "node", "p", "value", "g")))
    return rows, query


# A registry date's kind (ACTUAL or ESTIMATED) hangs off the trial next to it, by the date's name + "Type".
_DATE_WORDS = {"primaryCompletionDate": "primary completion", "completionDate": "study completion"}


def _with_date_kinds(kb: QASource, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Registry date rows with ``dateKind`` ("actual", "estimated") read from the record, where it says."""
    wanted = {(str(r["node"]), str(r["p"]), str(r["g"])) for r in rows if registry.is_registry(r["g"])}
    kinds: dict[tuple[str, str, str], str] = {}
    for node, predicate, graph in sorted(wanted):
        found = execution.select(  # under the question's deadline, like every QA query
            kb, f"SELECT ?kind WHERE {{ GRAPH <{graph}> {{ <{node}> <{predicate}Type> ?kind }} }} LIMIT 1"
        )
        if found:
            kinds[(node, predicate, graph)] = str(found[0]["kind"]).lower()
    return [{**r, "dateKind": kinds.get((str(r["node"]), str(r["p"]), str(r["g"])))} for r in rows]


def _filter_funders(
    kb: QASource, q: Question, trials: list[str], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    funding, _ = _rows(kb, "funding", ("tkb:funder",), trials, [])
    if q.role_filter == "company":
        organisations = {str(r["value"]) for r in rows + funding}
        if organisations:
            typed = execution.select_batched(
                kb,
                lambda batch: queries.with_prefixes(
                    f"SELECT ?org ?type WHERE {{ {queries.values('org', batch)} ?org tkb:organizationType ?type }}"
                ),
                sorted(organisations),
            )
            companies = {
                str(r["org"])
                for r in typed
                if re.search(r"compan|industr|pharma|commercial", str(r["type"]), re.I)
            }
            if companies:
                return [r for r in funding + rows if str(r["value"]) in companies]
    if q.role_filter in {"grant", "company"}:
        granted = [r for r in funding if re.search(r"grant", str(r.get("role") or ""), re.I)]
        if granted:
            return granted
    return rows + funding


def answer_property(kb: QASource, context: QAContext, q: Question, raw: str) -> Answer:
    spec = q.prop
    assert spec is not None
    trials, named = scope(context, q)
    restrict = trials if (q.trials or (named and len(trials) < len(context.trials))) else []
    nodes: list[str] = []
    drugs = [d.iri for d in q.named("Drug") if d.iri]
    if spec.via == "drug":
        if not drugs:
            return Answer.abstain(raw, "the question names no drug the knowledge base knows", intent=q.intent)
        nodes, restrict = drugs, []
    elif spec.shape == "count" and drugs and q.trials and len(trials) == 1:
        # "How many patients in ACTT-1 received dexamethasone?": a count of a drug's patients in a trial that
        # did not give it is no count of that trial's patients.
        given = context.related.get(trials[0], set())
        foreign = [d for d in q.named("Drug") if d.iri and d.iri not in given]
        if foreign:
            name = context.trials[trials[0]].label if trials[0] in context.trials else trials[0]
            return Answer.abstain(
                raw, f"{foreign[0].label} is not a drug of {name} in the knowledge base", intent=q.intent
            )
    rows, query = _rows(kb, spec.via, spec.predicates, restrict, nodes)
    if spec.name == "enrolled_count":
        # A randomised trial's enrolment is the number it randomised, where it states no other count.
        stated = {str(r.get("trial")) for r in rows}
        randomized, _ = _rows(kb, spec.via, ("tkb:randomizedCount",), restrict, nodes)
        rows += [r for r in randomized if str(r.get("trial")) not in stated]
    arms = {a.iri for a in q.named("Arm") if a.iri}
    if spec.via == "group" and arms:  # a group's value, never the whole study's or another group's
        rows = [r for r in rows if str(r["node"]) in arms]
    elif spec.via == "group":
        every_arm = {a.iri for a in context.index.kb_entities("Arm")}
        if _EACH_GROUP.search(q.text):  # "in each group": the groups' values, where the trial has groups
            with_arms = {str(r.get("trial")) for r in rows if str(r["node"]) in every_arm}
            rows = [r for r in rows if str(r["node"]) in every_arm or str(r.get("trial")) not in with_arms]
        else:  # no group named: the whole study's value where a trial states one
            whole = {str(r.get("trial")) for r in rows if str(r["node"]) not in every_arm}
            rows = [r for r in rows if str(r["node"]) not in every_arm or str(r.get("trial")) not in whole]
    if spec.name == "funders":
        rows = _filter_funders(kb, q, restrict, rows)
    if spec.name in {"funders", "sponsor", "conducted_by"}:
        rows = of_asked_kind(kb, q.text, rows)
    if spec.name == "trial_name" and not rows:
        rows, query = _rows(kb, "trial", ("rdfs:label",), restrict, [])
    if spec.name == "date_published" and not rows:
        rows, query = _rows(kb, "document", ("schema:datePublished",), restrict, [])
    if spec.via == "step":
        if drugs:
            rows = [r for r in rows if str(r.get("drug")) in drugs]
        if q.treatment_phase and any(r.get("stepPhase") for r in rows):
            rows = [r for r in rows if str(r.get("stepPhase") or "").lower() == q.treatment_phase]
    if spec.shape == "marker":
        markers = [e.iri for e in q.named("Biomarker") + q.named("MolecularTarget")]
        rows = [r for r in rows if str(r["value"]) in markers] or ([] if markers else rows)
    rows = registry.choose_rows(q, rows)
    if spec.value == "date" and spec.name in registry.REGISTRY_ONLY:
        rows = _with_date_kinds(kb, rows)
    truncation: Truncation | None = None
    if spec.via != "drug":  # a drug's facts are not per trial
        rows, truncation = bound_trials(context, rows, named)
    if spec.shape == "status":
        return _status(kb, context, q, raw, rows, query, trials, truncation)
    items = _items(kb, context, q, rows, by_name=truncation is not None)
    if not items:
        return Answer.abstain(raw, _no_value_reason(kb, context, q, trials), sparql=query, intent=q.intent)
    multi = spec.via != "drug" and not named and len({str(r["trial"]) for r in rows if r.get("trial")}) > 1
    answer = finish(raw, q, items, query, 0.9, multi, truncation)
    if all((value.source or "").startswith("registry/") for value, _, _ in items):
        return replace(answer, source_kind="registry")
    if not multi and len(trials) == 1:
        display = context.trials[trials[0]].display if trials[0] in context.trials else None
        text = registry.side_by_side(items, display)
        if text is not None:
            return replace(answer, answer=text)
    return answer


def _no_value_reason(kb: QASource, context: QAContext, q: Question, trials: list[str]) -> str:
    """Why nothing was found. A question for the registry with no record imported says how to import it; one
    the articles should answer says they do not state it, with the registry as a suggestion where the record
    holds the property (an enrollment) and none is imported."""
    assert q.prop is not None
    asks_registry = (
        q.prop.name in registry.REGISTRY_ONLY
        or registry.mentions_registry(q)
        or q.prop.name in registry.SIDE_BY_SIDE - registry.ARTICLE_FIRST
    )
    if not asks_registry and (q.prop.name not in registry.ARTICLE_FIRST or q.named("Arm")):
        return NOT_STATED  # a record's counts are the whole study's, never an arm's
    imported = registry.records(kb, context)
    missing = [t for t in trials if t not in imported]
    if not missing:
        return NOT_STATED
    if asks_registry:
        return registry.not_imported(context, missing)
    return f"{NOT_STATED}; the registry record may state it: {registry.suggest_link(context, missing)}"


def _status(
    kb: QASource,
    context: QAContext,
    q: Question,
    raw: str,
    rows: list[dict[str, Any]],
    query: str,
    trials: list[str],
    truncation: Truncation | None = None,
) -> Answer:
    found = registry.status_answer(context, q, rows, trials, registry.records(kb, context))
    if found is None:
        return Answer.abstain(raw, _no_value_reason(kb, context, q, trials), sparql=query, intent=q.intent)
    text, pairs = found
    values = tuple(value for value, _ in pairs)
    evidence = tuple(dict.fromkeys(span for _, span in pairs))
    note = truncation.note if truncation is not None else None
    return Answer(
        raw,
        f"{text} ({note})" if note else text,
        values,
        evidence,
        query,
        0.9,
        source_kind="registry",
        intent=q.intent,
        note=note,
        truncated=truncation is not None,
    )


_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}


def _phase_names(value: str) -> list[str]:
    """ "Phase 1b/2" as articles write it too: "Phase Ib/II"."""
    roman = re.sub(r"[1-4]", lambda digit: _ROMAN[digit.group(0)], value.removeprefix("Phase "))
    return [value, f"Phase {roman}"] if roman != value.removeprefix("Phase ") else [value]


def _display(q: Question, context: QAContext, row: dict[str, Any]) -> tuple[Any, str, list[str], str]:
    """(JSON value, display text, names for evidence, evidence kind) of one row's value."""
    spec = q.prop
    assert spec is not None
    value = row["value"]
    if spec.value == "entity":
        label = str(row.get("valueLabel") or str(value).rsplit("/", 1)[-1])
        return label, label, list(context.names_of(str(value), label)), "name"
    if spec.value == "number":
        unit = "years" if spec.name in _AGE_PROPERTIES else None
        return json_number(value), with_unit(value, unit), [], "number"
    if spec.value == "date":
        shown = str(value)
        if row.get("dateKind"):
            shown = f"{shown} ({row['dateKind']})"
        word = (
            _DATE_WORDS.get(str(row.get("p") or "").rsplit("#", 1)[-1]) if len(spec.predicates) > 1 else None
        )
        return str(value), f"{word} {shown}" if word else shown, [], "date"
    if spec.name == "phase":  # stored as "Phase 3"; articles also write "Phase III"
        return str(value), str(value), _phase_names(str(value)), "name"
    return str(value), str(value), [str(value)], "name"


def _items(
    kb: QASource, context: QAContext, q: Question, rows: list[dict[str, Any]], by_name: bool = False
) -> list[Item]:
    spec = q.prop
    assert spec is not None
    found, _ = statements(
        kb, [(str(r["node"]), str(r["p"])) for r in rows if not registry.is_registry(r["g"])]
    )
    records = registry.records(kb, context) if any(registry.is_registry(r["g"]) for r in rows) else {}
    wording: dict[str, dict[str, list[Any]]] = {}
    for record in records.values():
        nodes = [str(r[key]) for r in rows if str(r["g"]) == record.graph for key in ("node", "value")]
        wording.update(registry.details(kb, record.graph, [n for n in nodes if n.startswith("http")]))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    # Facts read from a document before the registry's, and both before the lexicon's general knowledge;
    # a registry's values in the record's order.
    for row in sorted(
        rows,
        key=lambda r: (
            str(r["g"]).endswith("/lexicon"),
            registry.is_registry(r["g"]),
            str(r["value"]) if registry.is_registry(r["g"]) else "",
        ),
    ):
        trial_key = (
            "" if spec.via == "drug" else str(row.get("trial") or "")
        )  # a drug's facts are not per trial
        groups.setdefault((trial_key, str(row["node"])), []).append(row)
    items: list[Item] = []
    seen: set[tuple[str, str, bool]] = set()
    ordered = list(groups.items())
    if by_name:  # a cut answer lists its trials in the order it chose them
        ordered.sort(key=lambda item: trial_order(context, item[0][0]))
    for (trial, node), group in ordered:
        subject = subject_label(
            context, trial or None, str(group[0].get("nodeLabel") or "") if spec.via == "group" else None
        )
        documents = (
            context.trial_documents([trial])
            if trial
            else [d for t in context.trials.values() for d in t.documents]
        )
        if spec.shape in {"range", "cycles"}:
            item = _range_item(context, q, group, found, documents, subject)
            if item is not None:
                items.append(item)
            continue
        for row in group:
            value, shown, names, kind = _display(q, context, row)
            key = (subject or "", shown.lower(), registry.is_registry(row["g"]))
            if key in seen:
                continue
            if registry.is_registry(row["g"]):
                items.append(_registry_item(context, q, row, value, shown, records, wording))
                seen.add(key)
                continue
            # The passage that writes the value as shown (its label) first, then one with a synonym.
            span = None
            for candidate_names in ([shown], names) if kind == "name" else (names,):
                check: Check = value_check(row["value"], kind, candidate_names)
                span = pick(found.get((node, str(row["p"])), []), check, row["value"])
                if span is None:
                    extra = [check]
                    if spec.via == "drug":
                        label = str(group[0].get("nodeLabel") or "")
                        extra.append(value_check(None, "name", context.names_of(node, label)))
                    span = find_passage(context, documents, extra)
                if span is not None:
                    break
            source = source_of(row["g"])
            if span is None and (spec.via == "drug" or spec.name == "arms") and source != "lexicon":
                # A class or target read from the drug's INN stem ("ertugliflozin": an SGLT2 inhibitor) is traced
                # to the sentence naming the drug, which does not write the class out; an arm, to the sentence
                # that assigns patients to it, which names it in its own words ("or matching placebo").
                span = next(
                    (s for o, s in found.get((node, str(row["p"])), []) if str(o) == str(row["value"])), None
                )
            if span is None and source != "lexicon":
                continue
            if spec.shape == "marker":
                polarity = "negative" if str(row["p"]).endswith("negativeFor") else "positive"
                shown = f"{shown}-{polarity}"
            seen.add(key)
            items.append(
                (
                    AnswerValue(
                        value, "years" if spec.name in _AGE_PROPERTIES else None, spec.label, subject, source
                    ),
                    span,
                    shown,
                )
            )
    if spec.shape == "single" and len(items) > 1:
        items.sort(key=lambda item: len(item[2]))
    return items


def _range_item(
    context: QAContext,
    q: Question,
    group: list[dict[str, Any]],
    found: dict[tuple[str, str], list[tuple[Any, EvidenceSpan]]],
    documents: list[str],
    subject: str | None,
) -> Item | None:
    spec = q.prop
    assert spec is not None
    low = next((r for r in group if str(r["p"]).endswith(("minimumAge", "minCycles", "StartYear"))), None)
    high = next((r for r in group if str(r["p"]).endswith(("maximumAge", "maxCycles", "EndYear"))), None)
    parts = [r for r in (low, high) if r is not None]
    if not parts:
        return None
    checks = [value_check(r["value"], "number") for r in parts]
    span = None
    for row in parts:
        candidates = found.get((str(row["node"]), str(row["p"])), [])
        span = pick(candidates, lambda text: all(c(text) for c in checks), row["value"])
        if span is not None:
            break
    if span is None:
        span = find_passage(context, documents, checks)
    if span is None:
        return None
    unit = "years" if spec.name == "age_range" else ("cycles" if spec.name == "cycles" else None)
    lo = plain_number(low["value"]) if low else None
    hi = plain_number(high["value"]) if high else None
    if lo and hi and lo != hi:
        shown = f"{lo} to {hi}"
    elif hi and not lo:
        shown = f"up to {hi}"
    elif lo and not hi:
        shown = f"{lo} or more"
    else:
        shown = lo or hi or ""
    if unit == "cycles":
        shown += " cycle" if shown.endswith(" 1") or shown == "1" else " cycles"
        drug = group[0].get("drug")
        if drug and not q.named("Drug"):
            shown = f"{context.names_of(str(drug), str(drug).rsplit('/', 1)[-1])[0]}: {shown}"
    elif unit:
        shown += f" {unit}"
    value = {
        "min": json_number(low["value"]) if low else None,
        "max": json_number(high["value"]) if high else None,
    }
    source = source_of(parts[0]["g"])
    return AnswerValue(value, unit, spec.label, subject, source), span, shown


def _registry_item(
    context: QAContext,
    q: Question,
    row: dict[str, Any],
    value: Any,
    shown: str,
    records: dict[str, registry.RegistryRecord],
    wording: dict[str, dict[str, list[Any]]],
) -> Item:
    """A value from a registry record, with the record's field as its evidence."""
    spec = q.prop
    assert spec is not None
    trial = str(row.get("trial") or "")
    record = records.get(trial)
    words = dict(wording.get(str(row["value"]), {})) if spec.value == "entity" else {}
    words["enrollmentType"] = wording.get(str(row["node"]), {}).get("enrollmentType", [])
    shown, span = registry.registry_item(row, spec.name, shown, record, words)
    display = context.trials[trial].display if trial in context.trials else None
    subject: str | None
    if (
        spec.via == "group"
        and record is not None
        and str(row["node"]).endswith(f"/cohort/{record.nct}-registry")
    ):
        subject = f"{display}, whole study as registered" if display else "whole study as registered"
    elif spec.via == "group":
        subject = subject_label(context, trial or None, str(row.get("nodeLabel") or "") or None)
    else:
        subject = display
    unit = "years" if spec.name in _AGE_PROPERTIES else None
    source = source_of(row["g"])
    return AnswerValue(value, unit, spec.label, subject, source), span, shown
