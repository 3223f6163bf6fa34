"""Map a record's arm groups and posted results to the randomised-trial evidence terms the article extractor
uses (``ontology/evidence.ttl``): arm roles and per-arm counts, per-arm results (``tkb:OutcomeMeasurement``),
effect estimates of the statistical analyses (``tkb:EffectEstimate``) and adverse-event counts
(``tkb:AdverseEventCount``), so the competency queries and the reconciliation read both sources alike.

Result groups are matched to arm groups by title (the registry's group titles usually are the arm labels);
a group no arm matches becomes an arm of its own, named by its title. Evidence nodes derive from the record
(``prov:wasDerivedFrom`` its page), as article evidence derives from its passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS, XSD

from kb.ctgov.record import RegistryRecord
from kb.ctgov.resolve import slugify
from kb.ctgov.results import Analysis, OutcomeResult, ResultGroup, parse_p_value
from kb.extract.effects import MEASURE_LABELS
from ontology import RES, TKB

ROLES = {
    "EXPERIMENTAL": "ExperimentalArm",
    "ACTIVE_COMPARATOR": "ActiveComparatorArm",
    "PLACEBO_COMPARATOR": "PlaceboComparatorArm",
    "SHAM_COMPARATOR": "PlaceboComparatorArm",  # a sham is the placebo of a procedure or device
    "NO_INTERVENTION": "UsualCareArm",
}
"""ClinicalTrials.gov arm group types and the arm roles of the ontology (OTHER has none)."""
COMPARATOR_ROLES = frozenset({"ActiveComparatorArm", "PlaceboComparatorArm", "UsualCareArm"})
# Each kind by its words (any case) or its abbreviation (upper case only: "or" is a word).
_KINDS = (
    (r"hazard\s+ratio", r"\bHR\b", "HazardRatio"),
    (r"odds\s+ratio", r"\bOR\b", "OddsRatio"),
    (r"rate\s+ratio", r"\bIRR\b", "RateRatio"),
    (r"risk\s+ratio|relative\s+risk", r"\bRR\b", "RiskRatio"),
    (r"risk\s+difference", r"\bRD\b", "RiskDifference"),
    (r"mean\s+difference", r"\bMD\b", "MeanDifference"),
)
_STATISTICS = {
    "COUNT_OF_PARTICIPANTS": "count",
    "COUNT_OF_UNITS": "count",
    "MEAN": "mean",
    "MEDIAN": "median",
    "GEOMETRIC_MEAN": "geometric mean",
    "LEAST_SQUARES_MEAN": "least-squares mean",
    "GEOMETRIC_LEAST_SQUARES_MEAN": "geometric least-squares mean",
    "NUMBER": "value",
}
_TOTAL = re.compile(r"^\s*(?:total|overall|all\s+(?:participants|patients|groups|arms))\s*$", re.IGNORECASE)
_TIME_POINT = re.compile(r"\b(day|week|month)\s+(\d+)\s*$", re.IGNORECASE)

Mentions = Callable[[str, str], list[str]]


def effect_kind(param_type: str | None, comment: str | None = None) -> str | None:
    """The effect measure of an analysis: "Hazard Ratio (HR)" -> HazardRatio; an "Other" estimate by its
    comment ("Recovery rate ratio" -> RateRatio); None for log scales, slopes and what cannot be told."""
    text = param_type or ""
    if text.strip().lower() in {"", "other"}:
        text = comment or ""
    if re.search(r"\blog\b", text, re.IGNORECASE):
        return None  # a log hazard ratio is not the ratio
    for words, abbreviation, kind in _KINDS:
        if re.search(words, text, re.IGNORECASE) or re.search(abbreviation, text):
            return kind
    return None


def decimal(value: Decimal | int) -> Literal:
    """An xsd:decimal written as the article builder writes it ("0.7", not "0.70")."""
    return Literal(format(Decimal(value).normalize(), "f"), datatype=XSD.decimal)


def percentage(affected: int, at_risk: int) -> Decimal:
    """Share affected in percent, to two places (as the registry's tables show it)."""
    return (Decimal(affected) * 100 / Decimal(at_risk)).quantize(Decimal("0.01"))


def _key(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def arm_node(nct_id: str, label: str) -> URIRef:
    return RES[f"arm/{nct_id}-{slugify(label)}"]


class EvidenceMapper:
    """Adds the evidence of one record to its registry graph."""

    def __init__(
        self,
        graph: Graph,
        record: RegistryRecord,
        trial: URIRef,
        page: URIRef,
        mentions: Mentions,
        outcome_nodes: dict[str, URIRef],
    ) -> None:
        self.graph = graph
        self.record = record
        self.nct = record.nct_id
        self.trial = trial
        self.page = page
        self.mentions = mentions
        self.trial_label = record.acronym or record.org_study_id or record.brief_title or self.nct
        self.outcome_nodes = outcome_nodes  # registered outcome measure (normalised title) -> node
        self.arms = {_key(arm.label): arm_node(self.nct, arm.label) for arm in record.arms}
        self.arm_labels = {arm_node(self.nct, arm.label): arm.label for arm in record.arms}
        self.roles = {
            arm_node(self.nct, arm.label): ROLES[(arm.type or "").upper()]
            for arm in record.arms
            if (arm.type or "").upper() in ROLES
        }

    def add(self, subject: URIRef, predicate: URIRef, value: URIRef | Literal | str | None) -> None:
        if value is not None:
            self.graph.add(
                (subject, predicate, value if isinstance(value, URIRef | Literal) else Literal(value))
            )

    def map(self) -> None:
        for node, role in self.roles.items():
            self.add(node, TKB.armRole, TKB[role])
        results = self.record.results
        self._counts()
        for index, outcome in enumerate(results.outcomes, start=1):
            endpoint = self._endpoint(index, outcome)
            self._measurements(index, outcome, endpoint)
            for number, analysis in enumerate(outcome.analyses, start=1):
                self._estimate(f"{index}-{number}", outcome, analysis, endpoint)
        self._adverse_events()

    # ------------------------------------------------------------------ arms

    def arm_for(self, group: ResultGroup) -> URIRef | None:
        """The arm a result group reports: the arm of the same title, else the one arm whose label's words the
        title contains (or are contained in it: "Placebo" and "Placebo + standard care"); a group no arm matches
        is an arm of its own. "Total" is no arm."""
        if _TOTAL.match(group.title):
            return None
        key = _key(group.title)
        if key in self.arms:
            return self.arms[key]
        words = set(key.split())
        near = {
            node
            for label, node in self.arms.items()
            if label and words and (set(label.split()) <= words or words <= set(label.split()))
        }
        if len(near) == 1:
            return near.pop()
        node = arm_node(self.nct, group.title)
        self.arms[key] = node
        self.arm_labels[node] = group.title
        self.add(self.trial, TKB.hasArm, node)
        self.add(node, RDF.type, TKB.Arm)
        self.add(node, RDFS.label, group.title)
        return node

    def _group_arms(self, groups: tuple[ResultGroup, ...]) -> dict[str, URIRef]:
        found = {}
        for group in groups:
            node = self.arm_for(group)
            if node is not None:
                found[group.id] = node
        return found

    def _counts(self) -> None:
        """Randomised per arm (participants who started, in a randomised trial) and analysed per arm (the
        participants analysed for the first primary outcome)."""
        results = self.record.results
        if (self.record.design.allocation or "").upper() == "RANDOMIZED":
            arms = self._group_arms(results.flow.groups)
            for count in results.flow.started:
                if count.group_id in arms:
                    self.add(
                        arms[count.group_id], TKB.randomizedCount, Literal(count.count, datatype=XSD.integer)
                    )
        primary = [o for o in results.outcomes if o.type == "PRIMARY" and o.analysed]
        if primary:
            arms = self._group_arms(primary[0].groups)
            for count in primary[0].analysed:
                if count.group_id in arms:
                    self.add(
                        arms[count.group_id], TKB.analyzedCount, Literal(count.count, datatype=XSD.integer)
                    )

    # ------------------------------------------------------------------ outcomes

    def _endpoint(self, index: int, outcome: OutcomeResult) -> URIRef:
        """The registered outcome measure of a result (same title), or a node of its own."""
        known = self.outcome_nodes.get(_key(outcome.title))
        if known is not None:
            return known
        node = RES[f"outcome-measure/{self.nct}-result-{index}"]
        self.add(node, RDF.type, TKB.RegistryOutcome)
        self.add(node, RDFS.label, outcome.title)
        self.add(node, TKB.timeFrame, outcome.time_frame)
        for key in self.mentions("Endpoint", outcome.title):
            self.add(node, SKOS.broadMatch, RES[f"endpoint/{key}"])
        return node

    def _measurements(self, index: int, outcome: OutcomeResult, endpoint: URIRef) -> None:
        if not outcome.unit:
            return  # a value without its unit cannot be read
        arms = self._group_arms(outcome.groups)
        analysed = {count.group_id: count.count for count in outcome.analysed}
        percent = "percent" in outcome.unit.lower() or outcome.unit.strip() == "%"
        statistic = _STATISTICS.get((outcome.param_type or "").upper(), "value")
        if percent and statistic == "value":
            statistic = "rate"
        counted = (outcome.param_type or "").upper() == "COUNT_OF_PARTICIPANTS"
        for number, value in enumerate(outcome.measurements, start=1):
            arm = arms.get(value.group_id)
            if arm is None or value.value is None:
                continue
            node = RES[f"outcome/{self.nct}-registry-{index}-{number}"]
            row = f" ({value.category})" if value.category else ""
            self.add(self.trial, TKB.hasOutcome, node)
            self.add(node, RDF.type, TKB.OutcomeMeasurement)
            self.add(node, RDFS.label, f"{outcome.title}{row} {statistic}, {self.arm_labels[arm]}")
            self.add(node, TKB.measures, endpoint)
            self.add(node, TKB.numericValue, decimal(value.value))
            self.add(node, TKB.unitLabel, "%" if percent else outcome.unit)
            self.add(node, TKB.statistic, statistic)
            self.add(node, TKB.population, arm)
            self.add(node, TKB.endpointText, outcome.title)
            if counted and value.value == value.value.to_integral_value():
                self.add(node, TKB.numerator, Literal(int(value.value), datatype=XSD.integer))
                if value.group_id in analysed:
                    self.add(node, TKB.denominator, Literal(analysed[value.group_id], datatype=XSD.integer))
            self.add(node, PROV.wasDerivedFrom, self.page)

    def _estimate(self, key: str, outcome: OutcomeResult, analysis: Analysis, endpoint: URIRef) -> None:
        kind = effect_kind(analysis.param_type, analysis.comment)
        if kind is None or analysis.value is None:
            return
        node = RES[f"effect-estimate/{self.nct}-registry-{key}"]
        label = f"{MEASURE_LABELS[kind]} {decimal(analysis.value)} for {outcome.title}, {self.trial_label}"
        self.add(self.trial, TKB.hasEffectEstimate, node)
        self.add(node, RDF.type, TKB.EffectEstimate)
        self.add(node, RDFS.label, label)
        self.add(node, TKB.effectMeasure, TKB[kind])
        self.add(node, TKB.estimate, decimal(analysis.value))
        lower, upper = analysis.ci_lower, analysis.ci_upper
        if lower is not None and upper is not None and lower > upper:
            lower = upper = None  # an inconsistent interval is left out rather than stored
        if lower is not None:
            self.add(node, TKB.ciLower, decimal(lower))
        if upper is not None:
            self.add(node, TKB.ciUpper, decimal(upper))
        if (lower is not None or upper is not None) and analysis.ci_percent is not None:
            if Decimal(0) < analysis.ci_percent < Decimal(100):
                self.add(node, TKB.confidenceLevel, decimal(analysis.ci_percent))
        parsed = parse_p_value(analysis.p_value) if analysis.p_value else None
        if parsed is not None:
            relation, p = parsed
            self.add(node, TKB.pValue, decimal(p))
            self.add(node, TKB.pValueRelation, relation)
            # Written as articles write it, so both sources read alike: "<0.001" -> "P<0.001".
            self.add(node, TKB.pValueText, f"P{relation}{decimal(p)}")
        self.add(node, TKB.endpointText, outcome.title)
        self.add(node, TKB.estimates, endpoint)
        time_point = _TIME_POINT.search(outcome.time_frame or "")
        if time_point:
            unit = time_point.group(1)[0].upper()
            self.add(
                node, TKB.estimateTimePoint, Literal(f"P{time_point.group(2)}{unit}", datatype=XSD.duration)
            )
        experimental, comparator = self._comparison(outcome, analysis)
        self.add(node, TKB.experimentalArm, experimental)
        self.add(node, TKB.comparatorArm, comparator)
        self.add(node, PROV.wasDerivedFrom, self.page)

    def _comparison(self, outcome: OutcomeResult, analysis: Analysis) -> tuple[URIRef | None, URIRef | None]:
        """The experimental and comparator arm of a two-group analysis, when the arms' roles tell them apart
        (two experimental arms, or roles the record does not give, leave the comparison unstated)."""
        arms = self._group_arms(outcome.groups)
        compared = [arms[group_id] for group_id in analysis.group_ids if group_id in arms]
        if len(compared) != 2 or len(analysis.group_ids) != 2:
            return None, None
        first, second = compared
        roles = self.roles.get(first), self.roles.get(second)
        if roles[0] == "ExperimentalArm" and roles[1] in COMPARATOR_ROLES:
            return first, second
        if roles[1] == "ExperimentalArm" and roles[0] in COMPARATOR_ROLES:
            return second, first
        return None, None

    # ------------------------------------------------------------------ adverse events

    def _adverse_event(
        self, key: str, term: str, arm: URIRef, affected: int, at_risk: int | None, serious: bool | None
    ) -> None:
        node = RES[f"adverse-event/{self.nct}-registry-{key}"]
        self.add(self.trial, TKB.hasAdverseEvent, node)
        self.add(node, RDF.type, TKB.AdverseEventCount)
        self.add(node, RDFS.label, f"{term}, {self.arm_labels[arm]}")
        self.add(node, TKB.adverseEventTerm, term)
        self.add(node, TKB.inArm, arm)
        self.add(node, TKB.numerator, Literal(affected, datatype=XSD.integer))
        if at_risk:
            self.add(node, TKB.denominator, Literal(at_risk, datatype=XSD.integer))
            if affected <= at_risk:
                self.add(node, TKB.percentage, decimal(percentage(affected, at_risk)))
        if serious is not None:
            self.add(node, TKB.serious, Literal(serious))
        self.add(node, PROV.wasDerivedFrom, self.page)

    def _adverse_events(self) -> None:
        module = self.record.results.adverse_events
        arms = self._group_arms(tuple(ResultGroup(g.id, g.title, g.description) for g in module.groups))
        at_risk: dict[tuple[str, bool], int | None] = {}
        for group in module.groups:
            at_risk[(group.id, True)] = group.serious_at_risk
            at_risk[(group.id, False)] = group.other_at_risk
            if group.id in arms and group.serious_affected is not None:
                self._adverse_event(
                    f"serious-{group.id}",
                    "serious adverse events",
                    arms[group.id],
                    group.serious_affected,
                    group.serious_at_risk,
                    True,
                )
        for index, event in enumerate(module.events, start=1):
            term = re.sub(r"\s+", " ", event.term).strip().lower()
            # The registry's "other" table holds the non-serious events above its frequency threshold.
            for stat in event.stats:
                if stat.group_id not in arms or stat.affected is None:
                    continue
                risk = (
                    stat.at_risk if stat.at_risk is not None else at_risk.get((stat.group_id, event.serious))
                )
                kind = "serious" if event.serious else "other"
                self._adverse_event(
                    f"{kind}-{index}-{stat.group_id}",
                    term,
                    arms[stat.group_id],
                    stat.affected,
                    risk,
                    event.serious,
                )
