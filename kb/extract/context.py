"""Shared state of one extraction run: the document, the lexicon, the entities found so far, the facts."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from kb.ingest import slugify
from kb.lexicon import Lexicon, LexiconEntry, LexiconMatch
from kb.models import Document, Entity, Evidence, Fact, Passage, Scalar, Value

TEXT_SECTIONS = ("title", "body")


@dataclass(frozen=True)
class Mention:
    """An entity mentioned at a span of the document text."""

    entity: Entity
    start: int
    end: int


@dataclass
class Context:
    """What extractors share: they read the document and earlier findings, and append facts."""

    document: Document
    lexicon: Lexicon
    facts: list[Fact] = field(default_factory=list)
    trial: Entity | None = None
    trial_name: str | None = None
    trial_mentions: list[tuple[int, int]] = field(default_factory=list)
    cohort: Entity | None = None
    arms: dict[str, Entity] = field(default_factory=dict)
    drug_mentions: list[Mention] = field(default_factory=list)
    publication: Entity | None = None
    _seen: set[tuple[Entity, str, Entity | Value]] = field(default_factory=set)
    _matches: dict[str, list[LexiconMatch]] = field(default_factory=dict)
    _unknown_drugs: dict[str, LexiconEntry] | None = None
    named_groups: dict[str, str] | None = None  # the groups the document names, by name (see outcomes)
    arm_roles: dict[Entity, str] = field(default_factory=dict)  # arms of the randomisation, with their roles
    claimed: set[tuple[int, int]] | None = field(default_factory=set)  # value spans read as per-arm values
    dose_spans: set[int] = field(default_factory=set)  # where doses were read (amount offsets)
    scope: frozenset[str] | None = None  # the passages of this context's trial, when a document has several
    key_scope: str | None = None  # added to document-scoped keys then, so each trial's nodes stay apart
    _starts: list[int] | None = None
    _added: dict[tuple[str, Entity | Value | None], int] = field(default_factory=dict)

    @property
    def source(self) -> Entity:
        """The source document as an entity."""
        return Entity("SourceDocument", self.document.id, self.document.title or self.document.path)

    def passages(self, sections: tuple[str, ...] = TEXT_SECTIONS) -> Iterator[Passage]:
        """Passages of the given sections (of this context's trial, when it has a scope), in order."""
        scope = self.scope
        return (
            p for p in self.document.passages if p.section in sections and (scope is None or p.id in scope)
        )

    def matches(self, passage: Passage, kind: str | None = None) -> list[LexiconMatch]:
        """Lexicon mentions in a passage (offsets into the document text), optionally of one kind.

        Drugs the lexicon lacks but whose names carry an INN stem count as lexicon mentions too, so every
        extractor treats them alike.
        """
        if passage.id not in self._matches:
            # Imported here: the drug extractor itself builds on this module.
            from kb.extract.drugs import unknown_drug_matches, unknown_drugs

            if self._unknown_drugs is None:
                text = "\n".join(p.text for p in self.passages())
                self._unknown_drugs = unknown_drugs(self.lexicon, text)
            found = self.lexicon.find_all(passage.text)
            taken = [(m.start, m.end) for m in found]
            found += [
                m
                for m in unknown_drug_matches(self._unknown_drugs, passage.text)
                if all(m.end <= start or m.start >= end for start, end in taken)
            ]
            found.sort(key=lambda m: m.start)
            self._matches[passage.id] = [
                LexiconMatch(m.entry, m.start + passage.start, m.end + passage.start, m.surface)
                for m in found
            ]
        return [m for m in self._matches[passage.id] if kind is None or m.entry.kind == kind]

    def _passage_starts(self) -> list[int] | None:
        """Passage starts for a binary search, or None when the passages are not in text order."""
        if self._starts is None:
            passages = self.document.passages
            ordered = all(a.end <= b.start for a, b in zip(passages, passages[1:], strict=False))
            self._starts = [p.start for p in passages] if ordered else []
        return self._starts or None

    def passage_at(self, offset: int) -> Passage | None:
        """The passage (of any section) holding the character at ``offset``, found by bisection."""
        passages = self.document.passages
        starts = self._passage_starts()
        if starts is None:
            return next((p for p in passages if p.start <= offset < p.end), None)
        index = bisect.bisect_right(starts, offset) - 1
        if index >= 0 and offset < passages[index].end:
            return passages[index]
        return None

    def count(self, predicate: str, obj: Entity | Value | None = None) -> int:
        """How many facts with ``predicate`` (and ``obj``, unless None) were added: counted as they are added,
        since counting them in `facts` for each new fact made extraction quadratic in the number of facts."""
        return self._added.get((predicate, obj), 0)

    def evidence(self, start: int, end: int) -> Evidence:
        """Evidence for a span, clamped to the passage that contains its start (or ends where it starts)."""
        passages = self.document.passages
        starts = self._passage_starts()
        if starts is not None:  # found by bisection: a scan of every passage per fact was quadratic
            index = bisect.bisect_right(starts, start) - 1
            candidates = passages[max(0, index - 1) : index + 1]
        else:
            candidates = passages
        for passage in candidates:
            if passage.start <= start < passage.end or (start == end == passage.end):
                end = min(max(end, start), passage.end)
                return Evidence(passage.id, start, end, self.document.text[start:end])
        raise ValueError(f"span {start}-{end} is in no passage of {self.document.id}")

    def add(self, subject: Entity, predicate: str, obj: Entity | Value, start: int, end: int) -> None:
        """Record a fact once (the first evidence wins)."""
        key = (subject, predicate, obj)
        if key in self._seen:
            return
        self._seen.add(key)
        self.facts.append(Fact(subject, predicate, obj, self.evidence(start, end)))
        for counted in ((predicate, obj), (predicate, None)):
            self._added[counted] = self._added.get(counted, 0) + 1

    def add_value(
        self,
        subject: Entity,
        predicate: str,
        value: Scalar,
        datatype: str,
        start: int,
        end: int,
        unit: str | None = None,
    ) -> None:
        self.add(subject, predicate, Value(value, datatype, unit), start, end)

    def scoped_key(self, *parts: str) -> str:
        """A key for a document-scoped entity: the document id, then slugs of the parts."""
        scope = [self.key_scope] if self.key_scope else []
        return "-".join([self.document.id, *scope, *(slugify(p) for p in parts)])

    @property
    def trial_label(self) -> str:
        return self.trial.label if self.trial is not None else self.document.id


def entity_for(entry: LexiconEntry) -> Entity:
    """The entity of a lexicon entry."""
    return Entity(entry.kind, entry.key, entry.label)


def find(pattern: str | re.Pattern[str], passage: Passage, flags: int = 0) -> Iterator[re.Match[str]]:
    """Regex matches in a passage's text (add ``passage.start`` for document offsets)."""
    compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
    return compiled.finditer(passage.text)
