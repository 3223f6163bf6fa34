"""Map a ``RegistryRecord`` to RDF in the ontology's terms, in the record's own named graph with provenance."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, PROV, RDF, RDFS, SKOS, XSD

from kb.ctgov.evidence import EvidenceMapper, arm_node
from kb.ctgov.links import api_url, record_url, registry_graph, trial_link_triples, trial_node
from kb.ctgov.record import Age, Intervention, Organization, Outcome, RegistryDate, RegistryRecord
from kb.ctgov.resolve import MentionFinder, Resolver, entity_node, lexicon_mentions, lexicon_resolver, slugify
from ontology import PREFIXES, RES, SCHEMA, TKB

# Interventions of these registry types are drugs even when the lexicon does not know them.
DRUG_TYPES = frozenset({"DRUG", "BIOLOGICAL", "GENETIC", "COMBINATION_PRODUCT"})
_PHASES = {"EARLY_PHASE1": "Early Phase 1", "PHASE1": "1", "PHASE2": "2", "PHASE3": "3", "PHASE4": "4"}


def phase_label(phases: Sequence[str]) -> str | None:
    """``["PHASE2"]`` -> "Phase 2", ``["PHASE1", "PHASE2"]`` -> "Phase 1/2"; None for NA or nothing."""
    known = [_PHASES[p] for p in phases if p in _PHASES]
    if not known:
        return None
    if known == ["Early Phase 1"]:
        return known[0]
    return "Phase " + "/".join(k.removeprefix("Early Phase ") for k in known)


def date_literal(date: RegistryDate) -> Literal:
    """``2023-04-04`` as xsd:date, ``2023-04`` as xsd:gYearMonth."""
    if date.month_only:
        return Literal(date.text, datatype=XSD.gYearMonth)
    return Literal(dt.date.fromisoformat(date.text), datatype=XSD.date)


def registry_cohort(nct_id: str) -> URIRef:
    """The node for the population the registry describes (all arms): its enrollment and eligibility."""
    return RES[f"cohort/{nct_id}-registry"]


def record_to_graph(
    record: RegistryRecord,
    *,
    retrieved_at: dt.datetime,
    resolve: Resolver = lexicon_resolver,
    mentions: MentionFinder = lexicon_mentions,
    api_base: str | None = None,
    aliases: Sequence[str] = (),
) -> tuple[URIRef, Graph]:
    """The registry graph of a record: its IRI and its triples (graph-level provenance included).

    ``aliases`` are ids the record was asked for under and moved from: their trial nodes are
    declared ``owl:sameAs`` the record's trial, so article facts stay joined. ``resolve`` finds the
    KB's shared node for a name; ``mentions`` the broader lexicon entities a registry condition or
    outcome is about (linked with ``skos:broadMatch``).
    """
    return _Mapper(record, resolve, mentions).build(retrieved_at, api_base, aliases)


class _Mapper:
    def __init__(self, record: RegistryRecord, resolve: Resolver, mentions: MentionFinder) -> None:
        self.record = record
        self.resolve = resolve
        self.mentions = mentions
        self.nct = record.nct_id
        self.trial = trial_node(self.nct)
        self.graph = Graph(identifier=registry_graph(self.nct))
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace)

    def add(self, subject: URIRef | BNode, predicate: URIRef, value: URIRef | Literal | str | None) -> None:
        if value is None:
            return
        term = value if isinstance(value, URIRef | Literal) else Literal(value)
        self.graph.add((subject, predicate, term))

    def build(
        self, retrieved_at: dt.datetime, api_base: str | None, aliases: Sequence[str]
    ) -> tuple[URIRef, Graph]:
        if retrieved_at.tzinfo is None:
            retrieved_at = retrieved_at.replace(tzinfo=dt.UTC)
        graph_iri = registry_graph(self.nct)
        self._provenance(graph_iri, retrieved_at, api_base)
        self._trial(aliases)
        self._population()
        self._organizations()
        drugs = self._interventions()
        self._arms(drugs)
        self._outcomes("primary", TKB.primaryEndpoint, self.record.primary_outcomes)
        self._outcomes("secondary", TKB.secondaryEndpoint, self.record.secondary_outcomes)
        # Arm roles and the posted results, in the terms of the article evidence.
        EvidenceMapper(
            self.graph, self.record, self.trial, record_url(self.nct), self.mentions, self._outcome_nodes()
        ).map()
        return graph_iri, self.graph

    def _provenance(self, graph_iri: URIRef, retrieved_at: dt.datetime, api_base: str | None) -> None:
        r, page = self.record, record_url(self.nct)
        when = Literal(retrieved_at.isoformat(), datatype=XSD.dateTime)
        self.add(page, RDF.type, TKB.RegistryRecord)
        self.add(page, RDFS.label, f"ClinicalTrials.gov record {self.nct}")
        self.add(page, SCHEMA.about, self.trial)
        self.add(page, SCHEMA.url, page)
        self.add(page, PROV.wasDerivedFrom, api_url(self.nct, api_base) if api_base else api_url(self.nct))
        self.add(page, PROV.generatedAtTime, when)
        self.add(page, TKB.retrievedAt, when)
        self.add(page, TKB.hasResults, Literal(r.has_results))
        for measure in r.result_measures:
            self.add(page, TKB.resultMeasure, measure)
        if r.last_update_posted:
            self.add(page, TKB.lastUpdatePosted, date_literal(r.last_update_posted))
        if r.first_posted:
            self.add(page, TKB.firstPosted, date_literal(r.first_posted))
        if r.status_verified:
            self.add(page, TKB.statusVerifiedDate, date_literal(r.status_verified))
        # The named graph is the provenance unit: every triple in it derives from the record.
        self.add(graph_iri, RDF.type, PROV.Entity)
        self.add(graph_iri, RDFS.label, f"Registry facts of {self.nct} (ClinicalTrials.gov)")
        self.add(graph_iri, PROV.wasDerivedFrom, page)
        self.add(graph_iri, PROV.generatedAtTime, when)

    def _trial(self, aliases: Sequence[str]) -> None:
        r, t = self.record, self.trial
        self.add(t, RDF.type, TKB.ClinicalTrial)
        for triple in trial_link_triples(self.nct):
            self.graph.add(triple)
        self.add(t, RDFS.label, r.acronym or r.org_study_id or r.brief_title or self.nct)
        self.add(t, SCHEMA.name, r.brief_title)
        self.add(t, SCHEMA.alternateName, r.official_title)
        self.add(t, TKB.trialName, r.acronym)
        self.add(t, TKB.orgStudyId, r.org_study_id)
        self.add(t, TKB.overallStatus, r.overall_status)
        self.add(t, TKB.whyStopped, r.why_stopped)
        for date, prop, kind in (
            (r.start_date, TKB.startDate, TKB.startDateType),
            (r.primary_completion_date, TKB.primaryCompletionDate, TKB.primaryCompletionDateType),
            (r.completion_date, TKB.completionDate, TKB.completionDateType),
        ):
            if date:
                self.add(t, prop, date_literal(date))
                self.add(t, kind, date.type)
        self.add(t, TKB.phase, phase_label(r.design.phases))
        self.add(t, TKB.studyType, r.design.study_type)
        self.add(t, TKB.allocation, r.design.allocation)
        self.add(t, TKB.interventionModel, r.design.intervention_model)
        self.add(t, TKB.primaryPurpose, r.design.primary_purpose)
        self.add(t, TKB.masking, r.design.masking)
        for keyword in r.keywords:
            self.add(t, SCHEMA.keywords, keyword)
        for condition in r.conditions:
            node, shared = entity_node("Disease", [condition], self.resolve)
            self.add(node, RDF.type, TKB.Disease)
            self.add(node, SKOS.altLabel if shared else RDFS.label, condition)
            if not shared:
                for key in self.mentions("Disease", condition):
                    self.add(node, SKOS.broadMatch, RES[f"disease/{key}"])
            self.add(t, TKB.condition, node)
        for alias in aliases:
            if alias != self.nct:
                self.add(t, OWL.sameAs, trial_node(alias))

    def _population(self) -> None:
        r, cohort = self.record, registry_cohort(self.nct)
        e = r.eligibility
        if not (r.enrollment or e.minimum_age or e.maximum_age or e.sex or e.std_ages):
            return
        self.add(self.trial, TKB.hasCohort, cohort)
        self.add(cohort, RDF.type, TKB.Cohort)
        self.add(cohort, RDFS.label, f"{self.nct} registered population (all arms)")
        if r.enrollment:
            self.add(cohort, TKB.enrolledCount, Literal(r.enrollment.count, datatype=XSD.integer))
            self.add(cohort, TKB.enrollmentType, r.enrollment.type)
        self._age(cohort, e.minimum_age, TKB.minimumAge, TKB.minimumAgeText)
        self._age(cohort, e.maximum_age, TKB.maximumAge, TKB.maximumAgeText)
        self.add(cohort, TKB.sex, e.sex)
        for group in e.std_ages:
            self.add(cohort, TKB.stdAge, group)
        if e.healthy_volunteers is not None:
            self.add(cohort, TKB.healthyVolunteers, Literal(e.healthy_volunteers))

    def _age(self, cohort: URIRef, age: Age | None, years: URIRef, text: URIRef) -> None:
        if age is None:
            return
        self.add(cohort, text, age.text)
        if age.years is not None:
            self.add(cohort, years, Literal(age.years, datatype=XSD.decimal))

    def _organization(self, org: Organization) -> URIRef:
        names = [org.name]
        match = re.fullmatch(r"(.+?)\s*\((.+)\)", org.name)
        if match:  # "National Cancer Institute (NCI)": try the name, then the acronym
            names += [match.group(1), match.group(2)]
        node, shared = entity_node("Organization", names, self.resolve)
        self.add(node, RDF.type, TKB.Organization)
        self.add(node, SKOS.altLabel if shared else RDFS.label, org.name)
        self.add(node, TKB.agencyClass, org.agency_class)
        return node

    def _organizations(self) -> None:
        r = self.record
        if r.lead_sponsor:
            self.add(self.trial, TKB.sponsor, self._organization(r.lead_sponsor))
        for collaborator in r.collaborators:
            self.add(self.trial, TKB.collaborator, self._organization(collaborator))
        for official in r.officials:
            node = RES[f"official/{self.nct}-{slugify(official.name)}"]
            self.add(self.trial, TKB.hasOfficial, node)
            self.add(node, RDF.type, TKB.StudyOfficial)
            self.add(node, RDFS.label, official.name)
            self.add(node, SCHEMA.name, official.name)
            self.add(node, TKB.officialRole, official.role)
            if official.affiliation:
                self.add(node, SCHEMA.affiliation, self._organization(Organization(official.affiliation)))

    def _interventions(self) -> dict[str, tuple[URIRef, URIRef]]:
        """Map each intervention; returns name (lower case) -> (node, the property that links it)."""
        found: dict[str, tuple[URIRef, URIRef]] = {}
        for item in self.record.interventions:
            node, prop = self._intervention(item)
            self.add(self.trial, prop, node)
            found[item.name.lower()] = (node, prop)
        return found

    def _intervention(self, item: Intervention) -> tuple[URIRef, URIRef]:
        node, shared = entity_node("Drug", [item.name, *item.other_names], self.resolve)
        if shared or (item.type or "").upper() in DRUG_TYPES:
            self.add(node, RDF.type, TKB.Drug)
            prop = TKB.intervention
        else:
            node, shared = RES[f"intervention/{slugify(item.name)}"], False
            self.add(node, RDF.type, TKB.Intervention)
            prop = TKB.otherIntervention
        self.add(node, SKOS.altLabel if shared else RDFS.label, item.name)
        for other in item.other_names:
            self.add(node, SKOS.altLabel, other)
        self.add(node, TKB.interventionType, item.type)
        self.add(node, SCHEMA.description, item.description)
        return node, prop

    def _arms(self, interventions: dict[str, tuple[URIRef, URIRef]]) -> None:
        for arm in self.record.arms:
            node = arm_node(self.nct, arm.label)
            self.add(self.trial, TKB.hasArm, node)
            self.add(node, RDF.type, TKB.Arm)
            self.add(node, RDFS.label, arm.label)
            self.add(node, TKB.armType, arm.type)
            self.add(node, SCHEMA.description, arm.description)
            # "Biological: Blinatumomab" names an intervention by type and name; so do its arm labels.
            names = {name.split(":", 1)[-1].strip().lower() for name in arm.intervention_names}
            names |= {i.name.lower() for i in self.record.interventions if arm.label in i.arm_labels}
            for name in sorted(names):
                if name in interventions:
                    target, prop = interventions[name]
                    self.add(node, prop, target)

    def _outcome_nodes(self) -> dict[str, URIRef]:
        """Registered outcome measures by title (normalised), for the results that report them."""
        nodes: dict[str, URIRef] = {}
        for kind, outcomes in (
            ("primary", self.record.primary_outcomes),
            ("secondary", self.record.secondary_outcomes),
        ):
            for index, outcome in enumerate(outcomes, start=1):
                key = re.sub(r"[^a-z0-9]+", " ", outcome.measure.lower()).strip()
                nodes.setdefault(key, RES[f"outcome-measure/{self.nct}-{kind}-{index}"])
        return nodes

    def _outcomes(self, kind: str, prop: URIRef, outcomes: Sequence[Outcome]) -> None:
        for index, outcome in enumerate(outcomes, start=1):
            node = RES[f"outcome-measure/{self.nct}-{kind}-{index}"]
            self.add(self.trial, prop, node)
            self.add(node, RDF.type, TKB.RegistryOutcome)
            self.add(node, RDFS.label, outcome.measure)
            self.add(node, TKB.timeFrame, outcome.time_frame)
            self.add(node, SCHEMA.description, outcome.description)
            # "Event-free survival (Cohort 1)" is narrower than the KB's event-free survival.
            for key in self.mentions("Endpoint", outcome.measure):
                self.add(node, SKOS.broadMatch, RES[f"endpoint/{key}"])
