"""The curated lexicon: general domain knowledge (names, synonyms, identifiers) that extraction links to."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

KINDS = (
    "Drug",
    "DrugClass",
    "MolecularTarget",
    "Biomarker",
    "Disease",
    "Organization",
    "Endpoint",
    "Journal",
)
"""Entry kinds: ontology class local names of the shared, document-independent entities."""

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SEPARATOR = re.compile(rf"[\s\-{_DASHES}]+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalize(name: str) -> str:
    """Case-, quote-, hyphen- and space-insensitive form of a name ("B-Cell  ALL" -> "b cell all")."""
    text = name.translate(_QUOTES).strip().lower()
    text = _SEPARATOR.sub(" ", text)
    return text.strip(" .,;:")


def _is_case_sensitive(synonym: str) -> bool:
    """Abbreviations ("ALL", "CR", "BiTE", "CRi") are matched with their case, so "all" is not ALL."""
    letters = [ch for ch in synonym if ch.isalpha()]
    upper = sum(1 for ch in letters if ch.isupper())
    return upper >= 2 or (len(synonym) <= 4 and upper >= 1)


def _pattern(synonym: str) -> str:
    """A regex for a synonym: hyphens and spaces interchangeable (or absent between word parts)."""
    parts = [p for p in _SEPARATOR.split(synonym.translate(_QUOTES)) if p]
    escaped = []
    for part in parts:
        escaped.append(re.escape(part).replace("'", "['\u2019]"))
    return rf"[\s\-{_DASHES}]?".join(escaped) if len(parts) > 1 else escaped[0]


@dataclass(frozen=True)
class LexiconEntry:
    """One curated entity: its kind, stable key, label, synonyms, identifiers and kind-specific fields."""

    kind: str
    key: str
    label: str
    synonyms: tuple[str, ...] = ()
    xrefs: tuple[str, ...] = ()
    exact_match: tuple[str, ...] = ()
    drug_class: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    gene_symbol: str | None = None
    organization_type: str | None = None
    issn: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    statistic: str | None = None
    broader: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The label, then synonyms and abbreviations."""
        return (self.label, *self.synonyms, *self.abbreviations)


@dataclass(frozen=True)
class LexiconMatch:
    """A mention of a lexicon entry in a text: ``text[start:end] == surface``."""

    entry: LexiconEntry
    start: int
    end: int
    surface: str


_KNOWN_FIELDS = {
    "kind",
    "key",
    "label",
    "synonyms",
    "xrefs",
    "exact_match",
    "drug_class",
    "targets",
    "gene_symbol",
    "organization_type",
    "issn",
    "abbreviations",
    "statistic",
    "broader",
}


def _entry(raw: dict[str, Any]) -> LexiconEntry:
    if raw.get("kind") not in KINDS:
        raise ValueError(f"lexicon entry {raw.get('key')!r}: unknown kind {raw.get('kind')!r}")
    return LexiconEntry(
        kind=raw["kind"],
        key=raw["key"],
        label=raw["label"],
        synonyms=tuple(raw.get("synonyms", ())),
        xrefs=tuple(raw.get("xrefs", ())),
        exact_match=tuple(raw.get("exact_match", ())),
        drug_class=tuple(raw.get("drug_class", ())),
        targets=tuple(raw.get("targets", ())),
        gene_symbol=raw.get("gene_symbol") or None,
        organization_type=raw.get("organization_type"),
        issn=tuple(raw.get("issn", ())),
        abbreviations=tuple(raw.get("abbreviations", ())),
        statistic=raw.get("statistic"),
        broader=raw.get("broader"),
        extra={k: v for k, v in raw.items() if k not in _KNOWN_FIELDS},
    )


class Lexicon:
    """Curated entries with exact, longest-match and fuzzy lookup."""

    def __init__(self, entries: list[LexiconEntry]) -> None:
        self._entries = list(entries)
        self._by_key: dict[tuple[str, str], LexiconEntry] = {}
        self._by_name: dict[str, list[LexiconEntry]] = {}
        for entry in self._entries:
            if (entry.kind, entry.key) in self._by_key:
                raise ValueError(f"duplicate lexicon entry {entry.kind}/{entry.key}")
            self._by_key[(entry.kind, entry.key)] = entry
            for name in entry.names:
                bucket = self._by_name.setdefault(normalize(name), [])
                if entry not in bucket:
                    bucket.append(entry)
        self._compiled: list[re.Pattern[str] | None] | None = None

    @property
    def _matchers(self) -> list[re.Pattern[str] | None]:
        """The mention regexes, compiled on first use: lookups by name never pay for them."""
        if self._compiled is None:
            sensitive: set[str] = set()
            insensitive: set[str] = set()
            for entry in self._entries:
                for name in entry.names:
                    (sensitive if _is_case_sensitive(name) else insensitive).add(name)
            self._compiled = [
                self._compile(sorted(sensitive, key=len, reverse=True), 0),
                self._compile(sorted(insensitive, key=len, reverse=True), re.IGNORECASE),
            ]
        return self._compiled

    @staticmethod
    def _compile(names: list[str], flags: int) -> re.Pattern[str] | None:
        if not names:
            return None
        alternation = "|".join(_pattern(name) for name in names)
        return re.compile(rf"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])", flags)

    def get(self, kind: str, key: str) -> LexiconEntry | None:
        """The entry of ``kind`` with ``key``, or None."""
        return self._by_key.get((kind, key))

    def entries(self, kind: str | None = None) -> list[LexiconEntry]:
        """All entries, or those of one kind, in file order."""
        return [e for e in self._entries if kind is None or e.kind == kind]

    def match_name(self, kind: str, name: str) -> LexiconEntry | None:
        """The entry of ``kind`` whose label or a synonym equals ``name`` once normalised, or None."""
        key = normalize(name)
        candidates = [key]
        if key.startswith("the "):
            candidates.append(key[4:])
        for candidate in candidates:
            for entry in self._by_name.get(candidate, []):
                if entry.kind == kind:
                    return entry
        return None

    def find_all(self, text: str) -> list[LexiconMatch]:
        """Mentions of entries in ``text``: longest match first, non-overlapping, ordered by position.

        When one span names entries of several kinds (BCR::ABL1 is a target and a marker), each is returned.
        """
        spans: list[tuple[int, int]] = []
        for matcher in self._matchers:
            if matcher is not None:
                spans.extend((m.start(), m.end()) for m in matcher.finditer(text))
        spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
        taken: list[tuple[int, int]] = []
        for start, end in spans:
            if all(end <= a or start >= b for a, b in taken):
                taken.append((start, end))
        matches: list[LexiconMatch] = []
        for start, end in sorted(taken):
            surface = text[start:end]
            for entry in self._by_name.get(normalize(surface), []):
                matches.append(LexiconMatch(entry, start, end, surface))
        return matches

    def fuzzy(self, name: str, kind: str | None = None) -> LexiconEntry | None:
        """The entry whose name is closest to ``name`` (difflib ratio at least 0.85), for small typos."""
        exact = [e for e in self._by_name.get(normalize(name), []) if kind is None or e.kind == kind]
        if exact:
            return exact[0]
        target = normalize(name)
        best: tuple[float, LexiconEntry | None] = (0.0, None)
        for entry in self._entries:
            if kind is not None and entry.kind != kind:
                continue
            for candidate in entry.names:
                ratio = difflib.SequenceMatcher(None, target, normalize(candidate)).ratio()
                if ratio > best[0]:
                    best = (ratio, entry)
        return best[1] if best[0] >= 0.85 else None


def lexicon_from_json(text: str) -> Lexicon:
    """A lexicon from the JSON document format of ``kb/data/lexicon.json``."""
    data = json.loads(text)
    return Lexicon([_entry(raw) for raw in data["entries"]])


@cache
def load_lexicon() -> Lexicon:
    """The bundled lexicon (read once, then cached)."""
    text = resources.files("kb").joinpath("data/lexicon.json").read_text(encoding="utf-8")
    return lexicon_from_json(text)
