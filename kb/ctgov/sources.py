"""Read a trial's values from the KB's named graphs over SPARQL, each with its source (article or registry)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from kb.ctgov.links import record_url, registry_graph, trial_node
from kb.ctgov.reconciliation import ReconciliationItem, SourcedValue, Status
from ontology import GRAPH, sparql_prefixes

Select = Callable[[str], list[dict[str, Any]]]
Row = dict[str, Any]

_LABELS = """SELECT ?s ?label ?alt WHERE { VALUES ?s { NODES }
  { GRAPH ?g { ?s rdfs:label ?label } } UNION { GRAPH ?g { ?s skos:altLabel ?alt } } }"""


def text_of(value: Any) -> str | None:
    return None if value is None else str(value)


def number_of(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def show(number: Decimal | None) -> str:
    if number is None:
        return "?"
    return str(int(number)) if number == number.to_integral_value() else f"{number.normalize():f}"


def _words(text: str) -> set[str]:
    return {
        w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in {"of", "the", "and", "rate", "with"}
    }


def similar(a: str, b: str) -> bool:
    """Names that share most of their words ("Overall survival (OS)" and "overall survival")."""
    left, right = _words(re.sub(r"\(.*?\)", "", a)), _words(re.sub(r"\(.*?\)", "", b))
    return bool(left and right) and len(left & right) / min(len(left), len(right)) >= 0.8


class KBSources:
    """Query plumbing shared by the reconciliation topics: sides, sources, labels, verdict scaffolding."""

    def __init__(self, select: Select, nct: str) -> None:
        self.select = select
        self.nct = nct
        self.trial = str(trial_node(nct))
        self.graph = str(registry_graph(nct))
        self.record = str(record_url(nct))
        self.documents: set[str] = set()
        self.registry_seen = False
        self._labels: dict[str, str] = {}

    # ------------------------------------------------------------------ plumbing

    def rows(self, template: str) -> list[Row]:
        rows = self.select(sparql_prefixes() + template.replace("<T>", f"<{self.trial}>"))
        return [row for row in rows if self._side(row) is not None]

    def _side(self, row: Row) -> str | None:
        """ "registry", "article", or None for graphs that are neither (lexicon, default)."""
        graph = text_of(row.get("g")) or ""
        if graph == self.graph:
            self.registry_seen = True
            return "registry"
        if graph.startswith(str(GRAPH)) and not graph.startswith(str(GRAPH) + "registry/"):
            if graph != str(GRAPH["lexicon"]):
                self.documents.add(graph.removeprefix(str(GRAPH)))
                return "article"
        return None

    def split(self, rows: Iterable[Row]) -> tuple[list[Row], list[Row]]:
        rows = list(rows)
        return [r for r in rows if self._side(r) == "article"], [
            r for r in rows if self._side(r) == "registry"
        ]

    def value(
        self, row: Row, value: Any, label: str, node: Any = None, detail: str | None = None
    ) -> SourcedValue:
        graph = text_of(row.get("g")) or ""
        registry = graph == self.graph
        return SourcedValue(
            value=value,
            label=label,
            graph=graph,
            document=None if registry else graph.removeprefix(str(GRAPH)),
            record=self.record if registry else None,
            node=text_of(node),
            detail=detail,
        )

    def label(self, node: Any) -> str:
        iri = text_of(node) or ""
        if iri not in self._labels:
            self._load_labels([iri])
        return self._labels.get(iri) or iri.rsplit("/", 1)[-1]

    def _load_labels(self, iris: Iterable[str]) -> None:
        wanted = sorted({i for i in iris if i and i not in self._labels})
        if not wanted:
            return
        nodes = " ".join(f"<{iri}>" for iri in wanted)
        labels: dict[str, list[str]] = {}
        alternatives: dict[str, list[str]] = {}
        for row in self.select(sparql_prefixes() + _LABELS.replace("NODES", nodes)):
            subject = text_of(row.get("s")) or ""
            if row.get("label") is not None:
                labels.setdefault(subject, []).append(str(row["label"]))
            if row.get("alt") is not None:
                alternatives.setdefault(subject, []).append(str(row["alt"]))
        for iri in wanted:
            names = sorted(labels.get(iri, [])) or sorted(alternatives.get(iri, []))
            self._labels[iri] = names[0] if names else iri.rsplit("/", 1)[-1]

    @staticmethod
    def item(
        topic: str,
        article: list[SourcedValue],
        registry: list[SourcedValue],
        agree: Callable[[], tuple[Status, str, bool]],
        *,
        what: str,
        keep_registry_order: bool = False,
    ) -> ReconciliationItem:
        """Decide the status: one side only, neither, or ``agree()``'s verdict when both have values.

        Values are deduplicated and sorted by source then label (stable output), except registry
        values when their order means something (primary outcomes as registered).
        """
        order = sorted(set(article), key=lambda v: (v.source, v.label))
        if keep_registry_order:
            registry_order = list(dict.fromkeys(registry))
        else:
            registry_order = sorted(set(registry), key=lambda v: (v.source, v.label))
        if not article and not registry:
            return ReconciliationItem(
                topic, "neither", (), (), f"neither the articles nor the registry give {what}"
            )
        if not registry:
            note = f"only the articles give {what}"
            return ReconciliationItem(topic, "only_article", tuple(order), (), note)
        if not article:
            note = f"only the registry gives {what}"
            return ReconciliationItem(topic, "only_registry", (), tuple(registry_order), note)
        status, note, conflict = agree()
        return ReconciliationItem(topic, status, tuple(order), tuple(registry_order), note, conflict)

    # ------------------------------------------------------------------ topics
