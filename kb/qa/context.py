"""What answering needs from one KB version, loaded once: the entity index, trials, passages, names."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from kb.qa import queries
from kb.qa.linking import EntityIndex, build_index
from kb.qa.trial_names import TrialNameIndex

if TYPE_CHECKING:
    from kb.qa.port import QASource

DOCUMENT_PREFIX = "https://w3id.org/trialkb/resource/document/"
GRAPH_PREFIX = "https://w3id.org/trialkb/graph/"


@dataclass(frozen=True)
class PassageRow:
    id: str
    document: str
    start: int
    end: int
    text: str
    trial: str | None = None  # the one trial the passage speaks of, in a source reporting several


@dataclass(frozen=True)
class Trial:
    iri: str
    label: str
    name: str | None
    nct: str | None
    documents: tuple[str, ...]

    @property
    def display(self) -> str:
        """The label, with the short name added when the label lacks it."""
        if self.name and self.name.lower() not in self.label.lower():
            return f"{self.name} ({self.label})"
        return self.label


@dataclass
class QAContext:
    """Per-version caches; rebuilt when the KB's content hash changes."""

    version: str
    index: EntityIndex
    trials: dict[str, Trial]
    passages: dict[str, list[PassageRow]]
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    related: dict[str, set[str]] = field(default_factory=dict)  # trial -> its drugs and organisations
    registry_records: dict[str, Any] | None = None  # trial -> `kb.qa.registry.RegistryRecord`, on first use
    linked: dict[str, tuple[tuple[str, int], ...]] = field(
        default_factory=dict
    )  # passage text -> (IRI, start)
    evidence: dict[str, Any] = field(default_factory=dict)  # trial -> `kb.qa.evidence_facts.TrialEvidence`
    _trial_names: TrialNameIndex | None = None
    _passage_trials: dict[str, str] | None = None  # passage id -> its trial (sources of several trials)

    def trial_named_in(self, question: str) -> str | None:
        """The trial the question names (its longest name found), or the KB's only trial, or None."""
        if self._trial_names is None:
            self._trial_names = TrialNameIndex(
                (iri, self.names_of(iri, trial.label)) for iri, trial in self.trials.items()
            )
        return self._trial_names.named_in(question)

    def linked_in(self, text: str) -> tuple[tuple[str, int], ...]:
        """The KB entities a passage names, with where (cached: the reader asks of the same passages)."""
        found = self.linked.get(text)
        if found is None:
            found = tuple((m.entity.iri, m.start) for m in self.index.find(text) if m.entity.iri)
            self.linked[text] = found
        return found

    def passage_trial(self, passage: str) -> str | None:
        """The trial a passage is about when its source reports several trials, else None."""
        if self._passage_trials is None:
            self._passage_trials = {
                row.id: row.trial for rows in self.passages.values() for row in rows if row.trial is not None
            }
        return self._passage_trials.get(passage)

    def trial_documents(self, trials: list[str]) -> list[str]:
        docs: list[str] = []
        for iri in trials:
            if iri in self.trials:
                docs.extend(self.trials[iri].documents)
        return list(dict.fromkeys(docs))

    def names_of(self, iri: str, fallback: str) -> tuple[str, ...]:
        return self.names.get(iri, (fallback,))


def document_id(value: str) -> str:
    """A document id from a document IRI or a named-graph IRI ("lexicon" for the lexicon graph)."""
    text = str(value)
    if text.startswith(DOCUMENT_PREFIX):
        return text[len(DOCUMENT_PREFIX) :]
    if text.startswith(GRAPH_PREFIX):
        return text[len(GRAPH_PREFIX) :]
    return text.rsplit("/", 1)[-1]


def passage_id(value: str) -> str:
    return str(value).rsplit("/", 1)[-1]


@dataclass(frozen=True)
class _Entry:
    kind: str
    key: str
    label: str
    names: tuple[str, ...]


def _lexicon_entries(kb: QASource) -> list[Any]:
    """The lexicon's names. Read from its JSON directly unless already loaded: building `Lexicon` compiles
    its mention regexes (a quarter of a second), which linking a question does not need."""
    loaded = getattr(kb, "_lexicon", None)
    if loaded is not None:
        return list(loaded.entries())
    try:
        data = json.loads(resources.files("kb").joinpath("data/lexicon.json").read_text(encoding="utf-8"))
        return [
            _Entry(
                str(raw["kind"]),
                str(raw["key"]),
                str(raw["label"]),
                (
                    str(raw["label"]),
                    *map(str, raw.get("synonyms", ())),
                    *map(str, raw.get("abbreviations", ())),
                ),
            )
            for raw in data.get("entries", [])
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # the KB's own names still link without the lexicon


def load_context(kb: QASource) -> QAContext:
    """The context of the KB's current version (cached on the KB object)."""
    version = kb.manifest.sha256
    cached: QAContext | None = getattr(kb, "_qa_context", None)
    if cached is not None and cached.version == version:
        return cached
    rows = kb.select(queries.ENTITY_NAMES)
    entries = _lexicon_entries(kb)
    index = build_index(rows, entries)
    names: dict[str, tuple[str, ...]] = {e.iri: e.names for e in index.entities if e.iri}
    documents: dict[str, list[str]] = {}
    for row in kb.select(queries.DOCUMENT_TRIALS):
        documents.setdefault(str(row["trial"]), []).append(document_id(str(row["document"])))
    trials: dict[str, Trial] = {}
    for row in kb.select(queries.TRIALS):
        iri = str(row["trial"])
        previous = trials.get(iri)
        label = str(row.get("label") or (previous.label if previous else iri.rsplit("/", 1)[-1]))
        trials[iri] = Trial(
            iri,
            label,
            str(row["name"]) if row.get("name") else (previous.name if previous else None),
            str(row["nct"]) if row.get("nct") else (previous.nct if previous else None),
            tuple(sorted(set(documents.get(iri, [])))),
        )
    passages: dict[str, list[PassageRow]] = {}
    for row in kb.select(queries.PASSAGES):
        document = document_id(str(row["document"]))
        passages.setdefault(document, []).append(
            PassageRow(
                passage_id(str(row["passage"])),
                document,
                int(row["start"]),
                int(row["end"]),
                str(row["text"]),
                str(row["trial"]) if row.get("trial") else None,
            )
        )
    for rows_of in passages.values():
        rows_of.sort(key=lambda p: p.start)
    related: dict[str, set[str]] = {}
    for row in kb.select(queries.TRIAL_RELATED):
        related.setdefault(str(row["trial"]), set()).add(str(row["entity"]))
    context = QAContext(version, index, trials, passages, names, related)
    kb._qa_context = context  # type: ignore[attr-defined]
    return context
