"""A trial's randomised-trial evidence read from the KB for answering: effect estimates, per-arm values,
adverse-event counts, doses and arm sizes, each with the passage it was read from and the SPARQL used."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kb.qa.context import QAContext, document_id
from kb.qa.model import EvidenceSpan

if TYPE_CHECKING:
    from kb.qa.port import QASource

_PREFIXES = (
    "PREFIX tkb: <https://w3id.org/trialkb/ontology#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "PREFIX prov: <http://www.w3.org/ns/prov#>\n"
    "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
)
# Each query starts at the trial and keeps its required patterns before the OPTIONAL ones, and an OPTIONAL
# group of two patterns nests the second (FILTER(BOUND) keeps "both or neither"): Oxigraph joins a pattern
# written after an OPTIONAL, or the second pattern of an OPTIONAL group, by scanning it over the whole KB
# (every fact's passage: 1.5 s a query on a 1,000-document KB, against ~1 ms this way; same rows).
EFFECTS = """SELECT ?node ?measure ?value ?lo ?hi ?level ?p ?ptext ?what ?endpoint ?subgroup ?time ?experimental ?comparator
  ?passage ?doc WHERE {
  <TRIAL> tkb:hasEffectEstimate ?node . ?node tkb:effectMeasure ?measure ; tkb:estimate ?value .
  ?node prov:wasDerivedFrom ?passage . ?passage dcterms:isPartOf ?doc .
  OPTIONAL { ?node tkb:ciLower ?lo OPTIONAL { ?node tkb:ciUpper ?hi } FILTER(BOUND(?hi)) }
  OPTIONAL { ?node tkb:confidenceLevel ?level }
  OPTIONAL { ?node tkb:pValue ?p OPTIONAL { ?node tkb:pValueText ?ptext } FILTER(BOUND(?ptext)) }
  OPTIONAL { ?node tkb:endpointText ?what }
  OPTIONAL { ?node tkb:estimates/rdfs:label ?endpoint } OPTIONAL { ?node tkb:subgroup ?subgroup }
  OPTIONAL { ?node tkb:estimateTimePoint ?time }
  OPTIONAL { ?node tkb:experimentalArm/rdfs:label ?experimental
             OPTIONAL { ?node tkb:comparatorArm/rdfs:label ?comparator } FILTER(BOUND(?comparator)) } }"""
ARM_VALUES = """SELECT ?node ?arm ?armLabel ?value ?unit ?statistic ?what ?endpoint ?time ?ptext ?subgroup ?count ?passage ?doc
WHERE {
  <TRIAL> tkb:hasOutcome ?node . ?node tkb:population ?arm ; tkb:numericValue ?value ; tkb:measures ?m .
  ?arm a tkb:Arm ; rdfs:label ?armLabel . ?m rdfs:label ?endpoint .
  ?node prov:wasDerivedFrom ?passage . ?passage dcterms:isPartOf ?doc .
  OPTIONAL { ?node tkb:unitLabel ?unit } OPTIONAL { ?node tkb:statistic ?statistic }
  OPTIONAL { ?node tkb:endpointText ?what } OPTIONAL { ?node tkb:timePoint ?time }
  OPTIONAL { ?node tkb:pValueText ?ptext } OPTIONAL { ?node tkb:subgroup ?subgroup }
  OPTIONAL { ?node tkb:numerator ?count } }"""
ADVERSE_EVENTS = """SELECT ?node ?arm ?armLabel ?what ?value ?low ?high ?serious ?stopped ?count ?ptext ?passage ?doc WHERE {
  <TRIAL> tkb:hasAdverseEvent ?node . ?node tkb:adverseEventTerm ?what ; tkb:inArm ?arm ; tkb:percentage ?value .
  ?arm rdfs:label ?armLabel .
  ?node prov:wasDerivedFrom ?passage . ?passage dcterms:isPartOf ?doc .
  OPTIONAL { ?node tkb:minGrade ?low OPTIONAL { ?node tkb:maxGrade ?high } FILTER(BOUND(?high)) }
  OPTIONAL { ?node tkb:serious ?serious }
  OPTIONAL { ?node tkb:leadsToDiscontinuation ?stopped } OPTIONAL { ?node tkb:numerator ?count }
  OPTIONAL { ?node tkb:pValueText ?ptext } }"""
DOSES = """SELECT ?node ?owner ?ownerLabel ?drugNode ?drug ?amount ?unit ?frequency ?route ?duration ?passage ?doc WHERE {
  { <TRIAL> tkb:hasDose ?node . BIND(<TRIAL> AS ?owner) } UNION { <TRIAL> tkb:hasArm ?owner . ?owner tkb:hasDose ?node }
  ?owner rdfs:label ?ownerLabel . ?node tkb:doseOf ?drugNode . ?drugNode rdfs:label ?drug . ?node tkb:doseAmount ?amount ; tkb:doseUnit ?unit .
  ?node prov:wasDerivedFrom ?passage . ?passage dcterms:isPartOf ?doc .
  OPTIONAL { ?node tkb:doseFrequency ?frequency } OPTIONAL { ?node tkb:doseRoute ?route }
  OPTIONAL { ?node tkb:doseDuration ?duration } }"""
ARMS = """SELECT ?arm ?label ?role ?randomized ?analyzed ?drug WHERE {
  <TRIAL> tkb:hasArm ?arm . ?arm rdfs:label ?label .
  OPTIONAL { ?arm tkb:armRole ?role } OPTIONAL { ?arm tkb:randomizedCount ?randomized }
  OPTIONAL { ?arm tkb:analyzedCount ?analyzed } OPTIONAL { ?arm tkb:intervention/rdfs:label ?drug } }"""
ARM_COUNT_EVIDENCE = """SELECT ?arm ?predicate ?object ?quote ?passage ?doc ?start ?end WHERE {
  <TRIAL> tkb:hasArm ?arm .
  ?s a rdf:Statement ; rdf:subject ?arm ; rdf:predicate ?predicate ; rdf:object ?object ; tkb:quote ?quote ;
     tkb:startOffset ?start ; tkb:endOffset ?end ; prov:wasDerivedFrom ?passage . ?passage dcterms:isPartOf ?doc .
  FILTER(?predicate IN (tkb:randomizedCount, tkb:analyzedCount)) }"""


@dataclass
class Record:
    """One fact node with its fields, the arm it is about (if any) and the passages it was read from."""

    kind: str  # "effect", "arm value", "adverse event", "dose", "arm count"
    fields: dict[str, Any]
    arm: str | None = None
    arm_label: str | None = None
    spans: list[EvidenceSpan] = field(default_factory=list)


@dataclass
class TrialEvidence:
    """Everything of one trial, and the SPARQL that read it."""

    trial: str
    names: tuple[str, ...]  # the trial's names (aliases), for reading them out of a question
    records: list[Record]
    arms: dict[str, dict[str, Any]]  # arm IRI -> label, role, randomized, analyzed, drugs (set)
    sparql: dict[str, str]


def query_for(template: str, trial: str) -> str:
    return _PREFIXES + template.replace("<TRIAL>", f"<{trial}>")


def load(kb: QASource, context: QAContext, trial: str) -> TrialEvidence:
    """The trial's evidence nodes, read once per KB version (the context is rebuilt on each commit)."""
    cached = context.evidence.get(trial)
    if cached is None:
        cached = context.evidence[trial] = _read(kb, context, trial)
    return cached


def _read(kb: QASource, context: QAContext, trial: str) -> TrialEvidence:
    """Read the trial's evidence nodes (one query per kind), grouping rows by node."""
    sparql: dict[str, str] = {}
    records: list[Record] = []
    for kind, template in (
        ("effect", EFFECTS),
        ("arm value", ARM_VALUES),
        ("adverse event", ADVERSE_EVENTS),
        ("dose", DOSES),
    ):
        query = query_for(template, trial)
        sparql[kind] = query
        by_node: dict[str, Record] = {}
        for row in kb.select(query):
            node = str(row["node"])
            record = by_node.get(node)
            if record is None:
                arm = row.get("arm") or row.get("owner")
                label = row.get("armLabel") or row.get("ownerLabel")
                record = Record(kind, {}, str(arm) if arm else None, str(label) if label else None)
                by_node[node] = record
            for key, value in row.items():
                if value is not None and key not in {"node", "passage", "doc"}:
                    record.fields.setdefault(key, value)
            if "measure" in record.fields and "kind" not in record.fields:
                # tkb:HazardRatio -> "hazard ratio" (the measures are described in the ontology, not the KB)
                local = str(record.fields["measure"]).rsplit("#", 1)[-1]
                record.fields["kind"] = re.sub(r"(?<!^)(?=[A-Z])", " ", local).lower()
            span = _span(context, row.get("passage"), row.get("doc"))
            if span is not None and span not in record.spans:
                record.spans.append(span)
        if kind == "dose":
            for record in by_node.values():
                # Every name of the drug (its lexicon synonyms: "LCZ696" for sacubitril-valsartan), so that a
                # question naming it in any of them finds the dose.
                node, label = str(record.fields.get("drugNode", "")), str(record.fields.get("drug", ""))
                record.fields["drugNames"] = tuple(context.names_of(node, label)) if node else (label,)
        # In the order the text gives them (then by node): the same on every engine, whatever its row order.
        records.extend(
            sorted(
                by_node.values(),
                key=lambda r: (
                    (r.spans[0].document, r.spans[0].start) if r.spans else ("", 0),
                    str(r.fields.get("drug") or r.arm_label or ""),
                    str(r.fields.get("value") or r.fields.get("amount") or ""),
                ),
            )
        )
    arms: dict[str, dict[str, Any]] = {}
    query = query_for(ARMS, trial)
    sparql["arms"] = query
    for row in kb.select(query):
        info = arms.setdefault(str(row["arm"]), {"label": str(row["label"]), "drugs": set()})
        for key in ("role", "randomized", "analyzed"):
            if row.get(key) is not None:
                info.setdefault(key, row[key])
        if row.get("drug"):
            info["drugs"].add(str(row["drug"]).lower())
    query = query_for(ARM_COUNT_EVIDENCE, trial).replace(
        "PREFIX tkb:", "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\nPREFIX tkb:"
    )
    sparql["arm count"] = query
    for row in kb.select(query):
        predicate = "randomized" if str(row["predicate"]).endswith("randomizedCount") else "analyzed"
        span = _span(context, row.get("passage"), row.get("doc"))
        record = Record("arm count", {"count": row["object"], "which": predicate}, str(row["arm"]))
        record.arm_label = arms.get(str(row["arm"]), {}).get("label")
        if span is not None:
            record.spans.append(span)
        records.append(record)
    arms, records = _one_node_per_arm(arms, records)
    names = context.names_of(trial, context.trials[trial].label if trial in context.trials else trial)
    return TrialEvidence(trial, tuple(names), records, arms, sparql)


def _one_node_per_arm(
    arms: dict[str, dict[str, Any]], records: list[Record]
) -> tuple[dict[str, dict[str, Any]], list[Record]]:
    """Arms of one trial named alike in two documents ("KEYNOTE-189 placebo-combination group" of an abstract
    and of a news item) are one arm: their facts are answered together, the first node standing for both."""
    first: dict[str, str] = {}
    canonical: dict[str, str] = {}
    merged: dict[str, dict[str, Any]] = {}
    for iri in sorted(arms):
        info = arms[iri]
        key = info["label"].lower()
        target = first.setdefault(key, iri)
        canonical[iri] = target
        if target == iri:
            merged[iri] = {**info, "drugs": set(info["drugs"])}
        else:
            merged[target]["drugs"] |= info["drugs"]
            for field in ("role", "randomized", "analyzed"):
                if field in info:
                    merged[target].setdefault(field, info[field])
    for record in records:
        if record.arm in canonical:
            record.arm = canonical[record.arm]
    return merged, records


def _span(context: QAContext, passage: Any, document: Any) -> EvidenceSpan | None:
    if passage is None or document is None:
        return None
    doc = document_id(str(document))
    passage_id = str(passage).rsplit("/", 1)[-1]
    for row in context.passages.get(doc, []):
        if row.id == passage_id:
            return EvidenceSpan(row.document, row.id, row.start, row.end, row.text)
    return None


def number_text(value: Any, ratio: bool = False) -> str:
    """A decimal as people write it; ratios and interval bounds with at least two decimals (0.80)."""
    number = Decimal(str(value))
    text = format(number.normalize(), "f")
    if ratio and abs(number) < 100:
        places = max(2, -number.normalize().as_tuple().exponent)  # type: ignore[operator]
        text = f"{number:.{places}f}"
    return text


def words(text: str) -> set[str]:
    """Content words of a phrase, lower case, hyphenated words split, plurals folded."""
    out = set()
    lowered = re.sub(r"\bend[\s-]?points?\b", "outcome", text.lower())  # an end point is an outcome
    for word in re.findall(r"[a-z0-9]+", lowered.replace("-", " ")):
        if word in _STOP:
            continue
        word = _LEMMAS.get(word, word)
        plural = len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is"))
        out.add(word[:-1] if plural else word)
    return out


_LEMMAS = {"died": "death", "die": "death", "dead": "death", "recovered": "recovery", "responded": "response"}
_STOP = frozenset(
    """a an the of in on at by for with and or to from was were is are what which who how many much did do does
    had has have patients patient participants participant people group arm trial study value percentage percent rate
    rates proportion share number given receiving received treated recipients than compared versus vs when after
    its their this that those there""".split()
)
