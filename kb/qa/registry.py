"""Registry facts in answers: which values come from a ClinicalTrials.gov record, the record field as their
evidence, article and registry values side by side, and the abstention when no record is imported."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kb.qa import queries
from kb.qa.context import GRAPH_PREFIX, QAContext
from kb.qa.model import AnswerValue, EvidenceSpan

if TYPE_CHECKING:
    from kb.qa.port import QASource
    from kb.qa.understand import Question

REGISTRY_GRAPH_PREFIX = GRAPH_PREFIX + "registry/"

# Where each fact sits in an API v2 record (the evidence's passage id) and how the registry names the field.
_FIELDS: dict[str, tuple[str, str]] = {
    "phase": ("protocolSection.designModule.phases", "Phase"),
    "overallStatus": ("protocolSection.statusModule.overallStatus", "Overall status"),
    "whyStopped": ("protocolSection.statusModule.whyStopped", "Why stopped"),
    "sponsor": ("protocolSection.sponsorCollaboratorsModule.leadSponsor", "Lead sponsor"),
    "collaborator": ("protocolSection.sponsorCollaboratorsModule.collaborators", "Collaborator"),
    "primaryEndpoint": ("protocolSection.outcomesModule.primaryOutcomes", "Primary outcome"),
    "secondaryEndpoint": ("protocolSection.outcomesModule.secondaryOutcomes", "Secondary outcome"),
    "enrolledCount": ("protocolSection.designModule.enrollmentInfo", "Enrollment"),
    "condition": ("protocolSection.conditionsModule.conditions", "Condition"),
    "intervention": ("protocolSection.armsInterventionsModule.interventions", "Intervention"),
    "minimumAge": ("protocolSection.eligibilityModule.minimumAge", "Minimum age"),
    "maximumAge": ("protocolSection.eligibilityModule.maximumAge", "Maximum age"),
    "nctId": ("protocolSection.identificationModule.nctId", "NCT number"),
    "trialName": ("protocolSection.identificationModule.acronym", "Acronym"),
    "label": ("protocolSection.identificationModule", "Study"),
}

# Properties the registry states as well as articles: both sources are given side by side.
SIDE_BY_SIDE = frozenset({"phase", "sponsor", "primary_endpoint", "enrolled_count"})
# Of those, the ones an article is expected to state itself: without it, the registry is only a suggestion.
ARTICLE_FIRST = frozenset({"enrolled_count"})
# Properties only a registry record states.
REGISTRY_ONLY = frozenset({"registry_status", "start_date", "completion_date"})

_MENTIONS_REGISTRY = re.compile(
    r"\bregist(?:ry|ered|ration)\b|clinical ?trials(?:\.gov| gov)?\b|\bct\.gov\b", re.IGNORECASE
)
_MENTIONS_ARTICLE = re.compile(
    r"\b(?:article|paper|publication|abstract|news|press release|authors?|report(?:ed)? in)\b", re.IGNORECASE
)

RECORDS = queries.with_prefixes(
    """SELECT ?trial ?record ?g ?updated WHERE {
  GRAPH ?g { ?record a tkb:RegistryRecord ; schema:about ?trial . OPTIONAL { ?record tkb:lastUpdatePosted ?updated } }
}"""
)


@dataclass(frozen=True)
class RegistryRecord:
    """An imported record: its page (the evidence's document), its graph, when it was last updated."""

    trial: str
    url: str
    graph: str
    updated: str | None

    @property
    def nct(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


def records(kb: QASource, context: QAContext) -> dict[str, RegistryRecord]:
    """Trial IRI -> its imported registry record (cached with the context)."""
    if context.registry_records is not None:
        return context.registry_records
    found: dict[str, RegistryRecord] = {}
    for row in kb.select(RECORDS):
        if str(row["g"]).startswith(REGISTRY_GRAPH_PREFIX):
            updated = str(row["updated"]) if row.get("updated") is not None else None
            found[str(row["trial"])] = RegistryRecord(
                str(row["trial"]), str(row["record"]), str(row["g"]), updated
            )
    context.registry_records = found
    return found


def is_registry(graph: Any) -> bool:
    return str(graph).startswith(REGISTRY_GRAPH_PREFIX)


def mentions_registry(q: Question) -> bool:
    """Whether the question asks what the registry says ("the ClinicalTrials.gov identifier" does not)."""
    if q.prop is not None and q.prop.name == "nct_id":
        return False
    return _MENTIONS_REGISTRY.search(q.text) is not None


def mentions_article(q: Question) -> bool:
    return _MENTIONS_ARTICLE.search(q.text) is not None


def choose_rows(q: Question, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Which sources answer: the one the question names; both for properties the two state alike;
    the registry alone for its own; otherwise the articles first, the registry when they say nothing."""
    assert q.prop is not None
    registry = [r for r in rows if is_registry(r["g"])]
    others = [r for r in rows if not is_registry(r["g"])]
    if mentions_registry(q) and not mentions_article(q):
        return registry
    if mentions_article(q) and not mentions_registry(q):
        return others
    if q.prop.name in REGISTRY_ONLY:
        return registry
    if q.prop.name in SIDE_BY_SIDE:
        return rows
    return others or registry


def field_name(predicate: str) -> tuple[str, str]:
    """(passage id, field name) of a KB predicate in a registry record."""
    local = re.split(r"[#/]", predicate)[-1]
    if local in _FIELDS:
        return _FIELDS[local]
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).lower()
    return f"protocolSection.{local}", words[:1].upper() + words[1:]


def span(record: RegistryRecord | None, graph: str, predicate: str, text: str) -> EvidenceSpan:
    """The registry field as evidence: document = the record's page, passage = the field's path in the
    record, text = "Field: value" as the registry states it."""
    path, name = field_name(predicate)
    document = record.url if record is not None else str(graph)
    body = f"{name}: {text}"
    return EvidenceSpan(document, path, 0, len(body), body)


def details(kb: QASource, graph: str, nodes: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    """The registry graph's own wording for nodes: names, time frames, enrollment type (node -> local -> values)."""
    if not nodes:
        return {}
    query = queries.with_prefixes(
        "SELECT ?node ?p ?o WHERE {\n"
        f"  {queries.values('node', list(dict.fromkeys(nodes)))}\n"
        "  VALUES ?p { rdfs:label skos:altLabel tkb:timeFrame tkb:enrollmentType }\n"
        f"  GRAPH {queries.iri(graph)} {{ ?node ?p ?o }}\n}}"
    )
    found: dict[str, dict[str, list[Any]]] = {}
    for row in kb.select(query):
        local = re.split(r"[#/]", str(row["p"]))[-1]
        found.setdefault(str(row["node"]), {}).setdefault(local, []).append(row["o"])
    return found


def suggest_link(context: QAContext, trials: Sequence[str]) -> str:
    """ "run trialkb link NCT…" for the trials whose records are not imported."""
    ids = [context.trials[t].nct for t in trials if t in context.trials and context.trials[t].nct]
    target = " ".join(str(i) for i in ids) if ids else "NCT…"
    return f"run trialkb link {target}"


def not_imported(context: QAContext, trials: Sequence[str]) -> str:
    """The abstention reason when a question needs a registry record that is not imported."""
    return f"no registry record imported; {suggest_link(context, trials)}"


def source_name(value: AnswerValue) -> str:
    """ "registry NCT03739814" or "article <document id>" for showing values side by side."""
    source = value.source or ""
    if source.startswith("registry/"):
        return f"ClinicalTrials.gov {source.removeprefix('registry/')}"
    return "article"


_OPEN = {"RECRUITING", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING"}
_ACTIVE = _OPEN | {"ACTIVE_NOT_RECRUITING"}
_STOPPED = {"SUSPENDED", "TERMINATED", "WITHDRAWN"}
_YES_NO_CUES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(r"recruit|enrol|accru|\bopen\b", re.I), frozenset({"RECRUITING", "ENROLLING_BY_INVITATION"})),
    (re.compile(r"ongoing|active|running|going", re.I), frozenset(_ACTIVE)),
    (re.compile(r"suspend|on hold|paused|clinical hold", re.I), frozenset({"SUSPENDED"})),
    (re.compile(r"terminat", re.I), frozenset({"TERMINATED"})),
    (re.compile(r"withdrawn", re.I), frozenset({"WITHDRAWN"})),
    (re.compile(r"stopped|halt|ended early", re.I), frozenset(_STOPPED)),
    (re.compile(r"complet|finish|closed|over\b", re.I), frozenset({"COMPLETED"})),
)


def status_answer(
    context: QAContext, q: Question, rows: list[dict[str, Any]], trials: Sequence[str], found: dict[str, Any]
) -> tuple[str, list[tuple[AnswerValue, EvidenceSpan]]] | None:
    """The registry's overall status (and why stopped) of each trial: answer text and (value, evidence)
    pairs; for a yes/no question ("still recruiting?") the text starts with Yes or No."""
    by_trial: dict[str, dict[str, str]] = {}
    for row in rows:
        local = re.split(r"[#/]", str(row["p"]))[-1]
        by_trial.setdefault(str(row["trial"]), {})[local] = str(row["value"])
    if not by_trial:
        return None
    texts: list[str] = []
    pairs: list[tuple[AnswerValue, EvidenceSpan]] = []
    for trial, fields in sorted(by_trial.items()):
        status = fields.get("overallStatus")
        if status is None:
            continue
        record = found.get(trial)
        why = fields.get("whyStopped")
        stated = f"{status} ({why})" if why else status
        graph = record.graph if record else ""
        evidence = span(record, graph, "overallStatus", stated)
        source = "registry/" + (record.nct if record else "")
        display = context.trials[trial].display if trial in context.trials else trial
        pairs.append((AnswerValue(status, None, "overall status", display, source), evidence))
        if why:
            pairs.append((AnswerValue(why, None, "why stopped", display, source), evidence))
        shown = f"{status}" + (f" (why stopped: {why})" if why else "")
        when = f", as of the record's last update ({record.updated})" if record and record.updated else ""
        prefix = f"{display}: " if len(by_trial) > 1 else ""
        if q.yes_no:
            verdict = _yes_no(q.text, status)
            if verdict is None:
                return None
            texts.append(f"{prefix}{verdict}: the registry lists the trial as {shown}{when}")
        else:
            texts.append(f"{prefix}{shown}{when}")
    if not pairs:
        return None
    return "; ".join(texts), pairs


def _yes_no(question: str, status: str) -> str | None:
    for cue, statuses in _YES_NO_CUES:
        if cue.search(question):
            return "Yes" if status in statuses else "No"
    return None


def _comparable(text: str) -> str:
    folded = re.sub(r"\([^)]*\)|\[[^]]*\]", " ", text.lower())
    folded = re.sub(r"\bphase\b|[^a-z0-9/ ]", " ", folded)
    folded = re.sub(r"\biii\b", "3", re.sub(r"\bii\b", "2", re.sub(r"\biv\b", "4", folded)))
    return re.sub(r"\bi\b", "1", " ".join(folded.split()))


def side_by_side(items: Sequence[tuple[AnswerValue, Any, str]], trial_display: str | None) -> str | None:
    """The answer text when article and registry both give values for one trial: every value with its
    source, and a note when they differ (the article may report one cohort, the registry the whole study)."""
    sources = {v.source is not None and v.source.startswith("registry/") for v, _, _ in items}
    if len(sources) < 2:
        return None
    distinct = {_comparable(shown) for _, _, shown in items}
    registries = ", ".join(
        dict.fromkeys(source_name(v) for v, _, _ in items if (v.source or "").startswith("registry/"))
    )
    if len(distinct) == 1:
        return f"{items[0][2]} (the article and {registries} agree)"
    parts = []
    for value, _, shown in items:
        subject = value.subject or ""
        if trial_display and subject.startswith(trial_display):
            subject = subject[len(trial_display) :].lstrip(", ")
        parts.append(f"{shown} ({source_name(value)}{'; ' + subject if subject else ''})")
    text = "; ".join(dict.fromkeys(parts))
    groups = [
        v.subject
        for v, _, _ in items
        if not (v.source or "").startswith("registry/") and v.subject and v.subject != trial_display
    ]
    if groups:
        note = f"the article reports {', '.join(dict.fromkeys(groups))} only, the registry record the whole study"
        return f"{text}. The sources differ: {note}"
    return f"{text}. The sources differ"


def registry_item(
    row: dict[str, Any],
    spec_name: str,
    shown: str,
    record: RegistryRecord | None,
    wording: dict[str, list[Any]],
) -> tuple[str, EvidenceSpan]:
    """(display text, evidence) of one registry value, in the record's own wording."""
    predicate = str(row["p"])
    names = [str(n) for n in wording.get("altLabel", []) + wording.get("label", [])]
    stated = next((n for n in names if shown.lower() in n.lower()), shown)
    if spec_name == "primary_endpoint" or predicate.endswith("Endpoint"):
        frame = next((str(f) for f in wording.get("timeFrame", [])), None)
        if frame:
            shown = f"{shown} (time frame: {frame})"
            stated = f"{stated} [time frame: {frame}]"
    if predicate.endswith("enrolledCount"):
        kind = next((str(k) for k in wording.get("enrollmentType", [])), None)
        if kind:
            shown = f"{shown} ({kind.lower()})"
            stated = f"{stated} ({kind})"
    return shown, span(record, str(row["g"]), predicate, stated)
