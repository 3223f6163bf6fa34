"""The result of reconciling a trial's registry record with its publications: values, sources, verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

Status = Literal["agree", "differ", "only_article", "only_registry", "neither"]
TOPICS = (
    "enrollment",
    "phase",
    "sponsor",
    "interventions",
    "conditions",
    "eligible_ages",
    "primary_endpoint",
    "arms",
    "effect_estimates",
    "adverse_events",
)
"""Topics in report order; the last three have an item per arm, estimate or event (its ``subject``)."""


@dataclass(frozen=True)
class SourcedValue:
    """One value as one source states it: an article's named graph or the registry record."""

    value: str | int | Decimal | None
    label: str  # what the value is, readably: "33 enrolled (A041703 Cohort 1)"
    graph: str  # the named graph it was read from
    document: str | None = None  # the article's document id (None for the registry)
    record: str | None = None  # the registry record's page (None for articles)
    node: str | None = None  # the KB node the value is about, when it is an entity
    detail: str | None = None  # ESTIMATED, funder, primary endpoint, time frame...

    @property
    def source(self) -> str:
        return self.record or self.document or self.graph

    def to_dict(self) -> dict[str, Any]:
        value: Any = self.value
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        return {
            "value": value,
            "label": self.label,
            "detail": self.detail,
            "node": self.node,
            "source": self.source,
            "graph": self.graph,
            "document": self.document,
            "record": self.record,
        }


@dataclass(frozen=True)
class ReconciliationItem:
    """One topic: both sides' values, the verdict, and a note that explains it.

    ``conflict`` is True only when the values cannot both be right (a phase 2 against a phase 3);
    an explained difference (one cohort against the whole study) is ``differ`` without conflict.
    """

    topic: str
    status: Status
    article: tuple[SourcedValue, ...]
    registry: tuple[SourcedValue, ...]
    note: str
    conflict: bool = False
    subject: str | None = None  # the arm, estimate or event of a per-arm or per-estimate item

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "subject": self.subject,
            "status": self.status,
            "conflict": self.conflict,
            "note": self.note,
            "article": [value.to_dict() for value in self.article],
            "registry": [value.to_dict() for value in self.registry],
        }


@dataclass(frozen=True)
class Reconciliation:
    """Where a trial's publications and its ClinicalTrials.gov record agree or differ."""

    nct_id: str
    trial: str
    record: str
    registry_graph: str | None  # None when the record has not been imported
    documents: tuple[str, ...]  # ids of the articles that report the trial
    items: tuple[ReconciliationItem, ...]

    def item(self, topic: str) -> ReconciliationItem:
        for item in self.items:
            if item.topic == topic:
                return item
        raise KeyError(topic)

    def items_of(self, topic: str) -> tuple[ReconciliationItem, ...]:
        """Every item of a topic: one per arm, estimate or event for the per-subject topics."""
        return tuple(item for item in self.items if item.topic == topic)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON: fixed keys, topics in a fixed order, values sorted by source then label."""
        return {
            "nct_id": self.nct_id,
            "trial": self.trial,
            "record": self.record,
            "registry_graph": self.registry_graph,
            "documents": list(self.documents),
            "items": [item.to_dict() for item in self.items],
        }

    def render_text(self) -> str:
        """A plain-text report for the CLI."""
        lines = [f"{self.nct_id}  {self.trial}", f"  registry record: {self.record}"]
        if self.registry_graph is None:
            lines.append(f"  registry record not imported: run `trialkb link {self.nct_id}` first")
        lines.append(f"  articles: {', '.join(self.documents) if self.documents else 'none'}")
        for item in self.items:
            flag = "  (conflict)" if item.conflict else ""
            about = f" \u2014 {item.subject}" if item.subject else ""
            lines += [
                "",
                f"{item.topic.replace('_', ' ')}{about}: {item.status.replace('_', ' ').upper()}{flag}",
            ]
            lines.append(f"  {item.note}")
            for side, values in (("article ", item.article), ("registry", item.registry)):
                for value in values:
                    lines.append(f"  {side}  {value.label}  [{value.source}]")
        return "\n".join(lines) + "\n"
