"""Reconcile a trial's registry graph with the article graphs of the KB, topic by topic, over SPARQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from kb.ctgov.links import normalize_nct_id
from kb.ctgov.reconcile_evidence import EvidenceTopics
from kb.ctgov.reconciliation import Reconciliation, ReconciliationItem, SourcedValue, Status
from kb.ctgov.resolve import lexicon_ancestors
from kb.ctgov.sources import KBSources, Row, Select, number_of, show, similar, text_of

_ENROLLMENT = """SELECT ?g ?group ?prop ?count ?etype WHERE { GRAPH ?g {
  { <T> tkb:hasCohort ?group } UNION { <T> tkb:hasArm ?group } UNION { VALUES ?group { <T> } }
  VALUES ?prop { tkb:enrolledCount tkb:randomizedCount tkb:treatedCount }
  ?group ?prop ?count . OPTIONAL { ?group tkb:enrollmentType ?etype } } }"""
_PHASE = "SELECT ?g ?phase WHERE { GRAPH ?g { <T> tkb:phase ?phase } }"
_ORGS = """SELECT ?g ?node ?role WHERE { GRAPH ?g {
  { VALUES (?p ?role) { (tkb:sponsor "sponsor") (tkb:fundedBy "funder") (tkb:conductedBy "conducted by")
                        (tkb:collaborator "collaborator") }
    <T> ?p ?node }
  UNION { <T> tkb:hasFunding ?funding . ?funding tkb:funder ?node BIND("funder" AS ?role) } } }"""
_INTERVENTIONS = """SELECT ?g ?node ?kind WHERE { GRAPH ?g {
  { <T> tkb:intervention ?node BIND("drug" AS ?kind) }
  UNION { <T> tkb:hasRegimen/tkb:hasStep/tkb:drug ?node BIND("drug" AS ?kind) }
  UNION { <T> tkb:hasArm/tkb:intervention ?node BIND("drug" AS ?kind) }
  UNION { <T> tkb:otherIntervention ?node BIND("other" AS ?kind) } } }"""
_CONDITIONS = """SELECT ?g ?node ?broad WHERE { GRAPH ?g {
  { <T> tkb:condition ?node } UNION { <T> tkb:hasCohort/tkb:condition ?node }
  OPTIONAL { ?node skos:broadMatch ?broad } } }"""
_AGES = """SELECT ?g ?group ?min ?max ?minText ?maxText ?median WHERE { GRAPH ?g {
  <T> tkb:hasCohort ?group .
  OPTIONAL { ?group tkb:minimumAge ?min } OPTIONAL { ?group tkb:maximumAge ?max }
  OPTIONAL { ?group tkb:minimumAgeText ?minText } OPTIONAL { ?group tkb:maximumAgeText ?maxText }
  OPTIONAL { ?group tkb:medianAge ?median }
  FILTER(BOUND(?min) || BOUND(?max) || BOUND(?median)) } }"""
_PRIMARY = """SELECT ?g ?node ?timeFrame ?broad WHERE { GRAPH ?g {
  <T> tkb:primaryEndpoint ?node .
  OPTIONAL { ?node tkb:timeFrame ?timeFrame } OPTIONAL { ?node skos:broadMatch ?broad } } }"""
_OUTCOMES = """SELECT ?g ?node ?endpoint ?value ?unit WHERE { GRAPH ?g {
  <T> tkb:hasOutcome ?node . ?node tkb:measures ?endpoint ; tkb:numericValue ?value .
  OPTIONAL { ?node tkb:unitLabel ?unit } } }"""


def reconcile(
    select: Select, nct_id: str, *, ancestors: Callable[[str], set[str]] = lexicon_ancestors
) -> Reconciliation:
    """Compare the registry graph of ``nct_id`` with every article graph about the same trial node.

    ``select(sparql)`` runs a SELECT over all named graphs and returns rows of Python values keyed by
    variable name. ``ancestors(iri)`` gives the broader entities of a disease (from the lexicon).
    """
    return _Reconciler(select, normalize_nct_id(nct_id), ancestors).run()


class _Reconciler(KBSources):
    def __init__(self, select: Select, nct: str, ancestors: Callable[[str], set[str]]) -> None:
        super().__init__(select, nct)
        self.ancestors = ancestors

    def run(self) -> Reconciliation:
        items: tuple[ReconciliationItem, ...] = (
            self.enrollment(),
            self.phase(),
            self.sponsor(),
            self.interventions(),
            self.conditions(),
            self.ages(),
            self.primary_endpoint(),
        )
        evidence = EvidenceTopics(self)
        items += (*evidence.arms(), *evidence.effect_estimates(), *evidence.adverse_events())
        return Reconciliation(
            nct_id=self.nct,
            trial=self.trial,
            record=self.record,
            registry_graph=self.graph if self.registry_seen else None,
            documents=tuple(sorted(self.documents)),
            items=items,
        )

    def enrollment(self) -> ReconciliationItem:
        article_rows, registry_rows = self.split(self.rows(_ENROLLMENT))
        kinds = {"enrolledCount": "enrolled", "randomizedCount": "randomized", "treatedCount": "treated"}
        article = []
        for row in article_rows:
            kind = kinds[str(row["prop"]).rsplit("#", 1)[-1]]
            group = self.label(row["group"])
            count = number_of(row["count"])
            article.append(self.value(row, count, f"{show(count)} {kind} ({group})", row["group"], kind))
        registry = []
        for row in registry_rows:
            if str(row["prop"]).endswith("#enrolledCount"):
                count, kind = number_of(row["count"]), (text_of(row.get("etype")) or "").lower()
                label = f"{show(count)} enrolled, all arms" + (f" ({kind})" if kind else "")
                registry.append(self.value(row, count, label, row["group"], kind.upper() or None))

        def verdict() -> tuple[Status, str, bool]:
            total = registry[0]
            enrolled = [v for v in article if v.detail == "enrolled"] or article
            if any(v.value == total.value for v in enrolled):
                return (
                    "agree",
                    f"the articles and the registry both count {show(number_of(total.value))}",
                    False,
                )
            kind = (total.detail or "").lower()
            notes, conflict = [], False
            for value in enrolled:
                group = re.search(r"\bcohort\s*[\w-]+", value.label, re.IGNORECASE)
                count, whole = number_of(value.value), number_of(total.value)
                if count is not None and whole is not None and count < whole:
                    scope = f"{group.group(0).capitalize()} only" if group else f"{value.label}"
                    notes.append(
                        f"article reports {scope} ({show(count)} {value.detail}); registry counts all "
                        f"cohorts ({show(whole)}{', ' + kind if kind else ''})"
                        if group
                        else f"article reports {scope}; registry counts {show(whole)} across all arms"
                        + (f" ({kind})" if kind else "")
                    )
                else:
                    conflict = kind == "actual"
                    notes.append(
                        f"article reports {show(count)} {value.detail}, more than the registry's "
                        f"{show(whole)} ({kind or 'type not given'})"
                        + ("; the registry estimate may be out of date" if kind == "estimated" else "")
                    )
            return "differ", "; ".join(dict.fromkeys(notes)), conflict

        return self.item("enrollment", article, registry, verdict, what="an enrollment count")

    @staticmethod
    def _phases(text: str) -> tuple[str, ...]:
        roman = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
        tail = text.lower().split("phase", 1)[-1]
        found = re.findall(r"\b(iv|iii|ii|i|[1-4])[ab]?\b", tail)
        return tuple(sorted({roman.get(token, token) for token in found}))

    def phase(self) -> ReconciliationItem:
        article_rows, registry_rows = self.split(self.rows(_PHASE))
        article = [self.value(r, str(r["phase"]), str(r["phase"])) for r in article_rows]
        registry = [self.value(r, str(r["phase"]), str(r["phase"])) for r in registry_rows]

        def verdict() -> tuple[Status, str, bool]:
            registered = set(self._phases(str(registry[0].value)))
            stated = {value.label: set(self._phases(str(value.value))) for value in article}
            if all(phases == registered for phases in stated.values()):
                return "agree", f"both give {registry[0].label}", False
            if all(phases and phases <= registered for phases in stated.values()):
                parts = ", ".join(sorted(stated))
                return "agree", f"the articles report part ({parts}) of a {registry[0].label} trial", False
            return (
                "differ",
                f"the articles give {', '.join(sorted(stated))}; the registry {registry[0].label}",
                True,
            )

        return self.item("phase", article, registry, verdict, what="a phase")

    def sponsor(self) -> ReconciliationItem:
        article_rows, registry_rows = self.split(self.rows(_ORGS))
        self._load_labels(text_of(r["node"]) or "" for r in article_rows + registry_rows)
        article = [
            self.value(
                r, self.label(r["node"]), f"{self.label(r['node'])} ({r['role']})", r["node"], str(r["role"])
            )
            for r in article_rows
        ]
        registry = []
        for r in registry_rows:
            role = "lead sponsor" if r["role"] == "sponsor" else str(r["role"])
            registry.append(
                self.value(r, self.label(r["node"]), f"{self.label(r['node'])} ({role})", r["node"], role)
            )

        def verdict() -> tuple[Status, str, bool]:
            named: dict[str | None, list[str]] = {}
            for value in article:
                named.setdefault(value.node, []).append(value.detail or "")
            matched = [v for v in registry if v.node in named]
            if not matched:
                return "differ", "no organisation the registry lists is named by the articles", True
            said = [
                f"registry {v.detail} {v.value} is the articles' {' and '.join(sorted(set(named[v.node])))}"
                for v in matched
            ]
            extra = sorted({v.label for v in article if v.node not in {r.node for r in registry}})
            if extra:
                said.append("the articles also name " + ", ".join(extra))
            return "agree", "; ".join(said), False

        return self.item("sponsor", article, registry, verdict, what="a sponsor or funder")

    def interventions(self) -> ReconciliationItem:
        article_rows, registry_rows = self.split(self.rows(_INTERVENTIONS))
        self._load_labels(text_of(r["node"]) or "" for r in article_rows + registry_rows)

        def values(rows: list[Row]) -> list[SourcedValue]:
            return [
                self.value(
                    r,
                    self.label(r["node"]),
                    self.label(r["node"]),
                    r["node"],
                    "non-drug intervention" if r["kind"] == "other" else "drug",
                )
                for r in rows
            ]

        article, registry = values(article_rows), values(registry_rows)

        def verdict() -> tuple[Status, str, bool]:
            drugs = {v.node for v in registry if v.detail == "drug"}
            reported = {v.node for v in article}
            names = {v.node: v.label for v in article + registry}
            if drugs == reported:
                return "agree", "the same drugs: " + ", ".join(sorted(names[n] for n in drugs if n)), False
            only_registry = sorted(names[n] for n in drugs - reported if n)
            only_article = sorted(names[n] for n in reported - drugs if n)
            parts = []
            if only_registry:
                parts.append("only in the registry: " + ", ".join(only_registry))
            if only_article:
                parts.append("only in the articles: " + ", ".join(only_article))
            return "differ", "; ".join(parts), not (drugs & reported)

        return self.item("interventions", article, registry, verdict, what="interventions")

    def conditions(self) -> ReconciliationItem:
        article_rows, registry_rows = self.split(self.rows(_CONDITIONS))
        self._load_labels(text_of(r["node"]) or "" for r in article_rows + registry_rows)
        broad: dict[str, set[str]] = {}
        for r in registry_rows:
            broad.setdefault(str(r["node"]), set()).update({str(r["broad"])} if r.get("broad") else set())
        article = [
            self.value(r, self.label(r["node"]), self.label(r["node"]), r["node"]) for r in article_rows
        ]
        registry = [
            self.value(r, self.label(r["node"]), self.label(r["node"]), r["node"]) for r in registry_rows
        ]

        def verdict() -> tuple[Status, str, bool]:
            notes = []
            for reported in sorted({v.node or "" for v in article}):
                lineage = {reported} | self.ancestors(reported)
                same = [t for t in sorted(broad) if t == reported]
                related = [t for t in sorted(broad) if t != reported and lineage & ({t} | broad[t])]
                alike = [
                    t
                    for t in sorted(broad)
                    if t not in same + related and similar(self.label(t), self.label(reported))
                ]
                name = self.label(reported)
                if same:
                    notes.append(f"both name {name}")
                if related:
                    terms = "; ".join(self.label(t) for t in related)
                    notes.append(
                        f"the registry's {terms} and the articles' {name} are one disease at different detail"
                    )
                if alike:
                    notes.append(
                        f"the registry's {'; '.join(self.label(t) for t in alike)} resemble the articles' {name}"
                    )
            if notes:
                return "agree", "; ".join(notes), False
            return "differ", "no registry condition matches a disease the articles name", True

        return self.item("conditions", article, registry, verdict, what="conditions")

    def ages(self) -> ReconciliationItem:
        article_rows, registry_rows = self.split(self.rows(_AGES))
        bounds: dict[SourcedValue, tuple[Decimal | None, Decimal | None]] = {}
        article, registry = [], []
        for r in article_rows:
            low, high, median = number_of(r.get("min")), number_of(r.get("max")), number_of(r.get("median"))
            parts = []
            if low is not None or high is not None:
                parts.append(
                    f"{show(low) if low is not None else ''}{'–' + show(high) if high is not None else '+'} years"
                )
            if median is not None:
                parts.append(f"median {show(median)}")
            text = "; ".join(parts)
            value = self.value(r, text, f"{text} ({self.label(r['group'])})", r["group"])
            bounds[value] = (low, high)
            article.append(value)
        for r in registry_rows:
            low, high = number_of(r.get("min")), number_of(r.get("max"))
            written = " to ".join(filter(None, [text_of(r.get("minText")), text_of(r.get("maxText"))]))
            if low is not None and high is None:
                written += " and over"
            value = self.value(r, written, f"eligible: {written}", r["group"])
            bounds[value] = (low, high)
            registry.append(value)

        def verdict() -> tuple[Status, str, bool]:
            rule = registry[0]
            lo, hi = bounds[rule]
            notes, conflict = [], False
            reported = [v for v in article if bounds[v] != (None, None)]
            if not reported:
                return "differ", "the articles give a median age only; the registry " + str(rule.label), False
            if all(bounds[v] == (lo, hi) for v in reported):
                return "agree", f"both give {rule.value}", False
            for value in reported:
                a_lo, a_hi = bounds[value]
                inside = (lo is None or (a_lo is not None and a_lo >= lo)) and (
                    hi is None or (a_hi is not None and a_hi <= hi)
                )
                if inside:
                    notes.append(
                        f"the articles' ages, {value.label}, lie within the registry's eligibility "
                        f"({rule.value}, all cohorts)"
                    )
                else:
                    conflict = True
                    notes.append(
                        f"the articles' ages, {value.label}, fall outside the registry's eligibility ({rule.value})"
                    )
            return "differ", "; ".join(notes), conflict

        return self.item("eligible_ages", article, registry, verdict, what="ages")

    def primary_endpoint(self) -> ReconciliationItem:
        article_rows, registry_rows = self.split(self.rows(_PRIMARY))
        outcome_rows = [r for r in self.rows(_OUTCOMES) if self._side(r) == "article"]
        self._load_labels(
            text_of(r[k]) or ""
            for r in article_rows + registry_rows + outcome_rows
            for k in ("node", "endpoint")
            if k in r
        )
        registry: list[SourcedValue] = []
        broad: dict[str, set[str]] = {}
        for r in sorted(registry_rows, key=lambda row: _natural(str(row["node"]))):
            frame = text_of(r.get("timeFrame"))
            label = self.label(r["node"]) + (f" ({frame})" if frame else "")
            registry.append(self.value(r, self.label(r["node"]), label, r["node"], frame))
            broad.setdefault(str(r["node"]), set()).update({str(r["broad"])} if r.get("broad") else set())
        article = [
            self.value(
                r,
                self.label(r["node"]),
                f"{self.label(r['node'])} (primary endpoint)",
                r["node"],
                "primary endpoint",
            )
            for r in article_rows
        ]
        headline = []
        for r in outcome_rows:
            value, unit = number_of(r["value"]), text_of(r.get("unit")) or ""
            text = f"{self.label(r['node'])}: {show(value)}{'' if unit == '%' else ' '}{unit}".rstrip()
            headline.append(self.value(r, value, text, r["endpoint"], "reported result"))
        registered = {node for nodes in broad.values() for node in nodes} | set(broad)

        def matches(value: SourcedValue) -> bool:
            if value.node in registered:
                return True
            return any(
                similar(value.value if isinstance(value.value, str) else value.label, r.value or "")
                for r in registry
                if isinstance(r.value, str)
            )

        def verdict() -> tuple[Status, str, bool]:
            stated = [v for v in article if v.detail == "primary endpoint"]
            if stated:
                if any(matches(v) for v in stated):
                    return "agree", "the articles' primary endpoint is a registry primary outcome", False
                return (
                    "differ",
                    "the articles' primary endpoint is not among the registry's primary outcomes",
                    True,
                )
            hits = sorted({self.label(v.node) for v in headline if matches(v)})
            if hits:
                return (
                    "agree",
                    (
                        f"the articles report {', '.join(hits)}, a registry primary outcome, "
                        "without calling it primary"
                    ),
                    False,
                )
            return (
                "only_registry",
                (
                    "the articles state no primary endpoint and none of their headline results "
                    "is a registry primary outcome; both are listed"
                ),
                False,
            )

        item = self.item(
            "primary_endpoint",
            article + headline,
            registry,
            verdict,
            what="a primary endpoint",
            keep_registry_order=True,
        )
        if item.status == "only_article" and not article:
            return ReconciliationItem(
                item.topic,
                item.status,
                item.article,
                item.registry,
                "only the articles report endpoints; the registry record is not imported",
            )
        return item


def _natural(text: str) -> tuple[str | int, ...]:
    """Sort key that puts primary-2 before primary-10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))
