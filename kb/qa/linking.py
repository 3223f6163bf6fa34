"""Entity linking: finds the KB's trials, drugs, targets, organisations, diseases and endpoints in a question.

Names come from the KB (labels, ``skos:altLabel`` synonyms, trial names, NCT ids) and the curated lexicon
(abbreviations such as InO, blina, OS, CR). Matching is on normalised token n-grams (case-insensitive,
hyphen- and space-tolerant), with difflib for small typos against the KB's own names. Lexicon entities the
KB does not hold are recognised too, so a question about them abstains instead of being misread.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from kb.lexicon import KINDS
from kb.qa.vocabulary import COMMON_WORDS

LINKED_KINDS = ("ClinicalTrial", "Arm", *KINDS)
_ARM_KIND = re.compile(r"\s+(?:group|arm)$", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\u024F\u0370-\u03FF]+(?:(?:::|[.'’/+])[A-Za-z0-9\u00C0-\u024F]+)*")
_MAX_NGRAM = 8


def fold(text: str) -> str:
    """Lower case without accents: the form names are compared in."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Word tokens with their offsets; a possessive "'s" is dropped."""
    found = []
    for match in _TOKEN.finditer(text):
        word, start, end = match.group(0), match.start(), match.end()
        if word.lower().endswith(("'s", "’s")):
            word, end = word[:-2], end - 2
        found.append((word, start, end))
    return found


def name_key(name: str) -> str:
    return " ".join(fold(word) for word, _, _ in tokens(name))


def compact_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(name))


def is_case_sensitive(name: str) -> bool:
    """Short abbreviations that are also English words ("ALL", "AS") only match with their case."""
    return len(name) <= 5 and fold(name) in COMMON_WORDS and name != name.lower()


@dataclass(frozen=True)
class LinkedEntity:
    """An entity a question can name: its IRI (None for lexicon entities absent from the KB), kind, label."""

    iri: str | None
    kind: str
    label: str
    names: tuple[str, ...] = ()

    @property
    def in_kb(self) -> bool:
        return self.iri is not None


@dataclass(frozen=True)
class Mention:
    """Where an entity is named in the question (character offsets into the normalised question)."""

    entity: LinkedEntity
    start: int
    end: int
    surface: str
    fuzzy: bool = False


@dataclass
class EntityIndex:
    """Names of every linkable entity, keyed by normalised form; built once per KB version."""

    entities: list[LinkedEntity] = field(default_factory=list)
    by_key: dict[str, list[LinkedEntity]] = field(default_factory=dict)
    by_compact: dict[str, list[LinkedEntity]] = field(default_factory=dict)
    sensitive: dict[str, set[str]] = field(default_factory=dict)  # key -> surface forms that must match case
    fuzzy_names: list[tuple[str, LinkedEntity]] = field(default_factory=list)
    in_kb_by_kind: dict[str, list[LinkedEntity]] = field(default_factory=dict)
    _typos: _TypoMatcher | None = field(default=None, repr=False, compare=False)

    def add(self, entity: LinkedEntity) -> None:
        self.entities.append(entity)
        if entity.in_kb:
            self.in_kb_by_kind.setdefault(entity.kind, []).append(entity)
        for name in entity.names:
            key = name_key(name)
            if not key:
                continue
            bucket = self.by_key.setdefault(key, [])
            if entity not in bucket:
                bucket.append(entity)
            if is_case_sensitive(name):
                self.sensitive.setdefault(key, set()).add(name)
            elif key in self.sensitive and fold(name) == key:
                self.sensitive[key].discard(name)
            if any(ch.isdigit() for ch in name):
                compact = compact_key(name)
                if len(compact) >= 4:
                    bucket = self.by_compact.setdefault(compact, [])
                    if entity not in bucket:
                        bucket.append(entity)
            if entity.in_kb and len(key) >= 6 and not any(ch.isdigit() for ch in key):
                self.fuzzy_names.append((key, entity))

    def kb_entities(self, kind: str) -> list[LinkedEntity]:
        return list(self.in_kb_by_kind.get(kind, ()))

    def find(self, text: str) -> list[Mention]:
        """Mentions in ``text``: longest n-gram first, non-overlapping; typos matched against KB names."""
        words = tokens(text)
        folded = [fold(w) for w, _, _ in words]
        taken = [False] * len(words)
        mentions: list[Mention] = []
        for size in range(min(_MAX_NGRAM, len(words)), 0, -1):
            for i in range(len(words) - size + 1):
                if any(taken[i : i + size]):
                    continue
                found = self._lookup(words, folded, i, size)
                if not found:
                    continue
                start, end = words[i][1], words[i + size - 1][2]
                for entity in found:
                    mentions.append(Mention(entity, start, end, text[start:end]))
                for j in range(i, i + size):
                    taken[j] = True
        mentions.extend(self._fuzzy(words, folded, taken, text))
        return sorted(mentions, key=lambda m: (m.start, m.entity.kind))

    def _lookup(
        self, words: list[tuple[str, int, int]], folded: list[str], i: int, size: int
    ) -> list[LinkedEntity]:
        key = " ".join(folded[i : i + size])
        surface = " ".join(w for w, _, _ in words[i : i + size])
        found = list(self.by_key.get(key, []))
        if found and key in self.sensitive and self.sensitive[key]:
            exact_case = any(surface.replace("-", " ") == s.replace("-", " ") for s in self.sensitive[key])
            lower_ok = key not in COMMON_WORDS
            if not exact_case and not lower_ok:
                found = []
        if not found and size <= 3:
            compact = "".join(folded[i : i + size])
            if len(compact) >= 4 and any(ch.isdigit() for ch in compact):
                found = list(self.by_compact.get(compact, []))
        if not found and folded[i + size - 1].endswith("s") and len(folded[i + size - 1]) > 3:
            singular = " ".join([*folded[i : i + size - 1], folded[i + size - 1][:-1]])
            found = list(self.by_key.get(singular, []))
        if found and size == 1 and key in COMMON_WORDS and surface == surface.lower():
            # "all", "blood", "cancer": English words first, names only when written as names.
            found = [e for e in found if e.kind in {"Disease", "Endpoint"} and key not in {"all", "cancer"}]
        return found

    def _fuzzy(
        self, words: list[tuple[str, int, int]], folded: list[str], taken: list[bool], text: str
    ) -> Iterable[Mention]:
        if not self.fuzzy_names:
            return []
        if self._typos is None or self._typos.size != len(self.fuzzy_names):
            self._typos = _TypoMatcher(self.fuzzy_names)
        found: list[Mention] = []
        for size in (2, 1):
            for i in range(len(words) - size + 1):
                if any(taken[i : i + size]):
                    continue
                candidate = " ".join(folded[i : i + size])
                if len(candidate) < 6 or any(f in COMMON_WORDS for f in folded[i : i + size]):
                    continue
                best_entity = self._typos.best(candidate, size)
                if best_entity is not None:
                    start, end = words[i][1], words[i + size - 1][2]
                    found.append(Mention(best_entity, start, end, text[start:end], fuzzy=True))
                    for j in range(i, i + size):
                        taken[j] = True
        return found


class _TypoMatcher:
    """The KB name a word (or two) is a small typo of: difflib's ratio >= 0.85, the first best in the index's
    order, as trying every name with `difflib.SequenceMatcher` gives, but with names filed by word count and
    length, difflib's two upper bounds computed from counts kept per name, and each word's answer kept (a
    passage's words recur across passages: linking them once per KB version was most of a question's time)."""

    _MEMO_LIMIT = 200_000

    def __init__(self, names: list[tuple[str, LinkedEntity]]) -> None:
        self.size = len(names)
        # (spaces, length) -> [(order, key, letter counts, entity)]
        self._filed: dict[tuple[int, int], list[tuple[int, str, Counter[str], LinkedEntity]]] = {}
        for order, (key, entity) in enumerate(names):
            self._filed.setdefault((key.count(" "), len(key)), []).append((order, key, Counter(key), entity))
        self._memo: dict[tuple[str, int], LinkedEntity | None] = {}

    def best(self, candidate: str, size: int) -> LinkedEntity | None:
        remembered = self._memo.get((candidate, size), _UNSEEN)
        if remembered is not _UNSEEN:
            return remembered  # type: ignore[return-value]
        length = len(candidate)
        near = [
            item for other in range(length - 3, length + 4) for item in self._filed.get((size - 1, other), ())
        ]
        near.sort(key=lambda item: item[0])  # the index's order: the first of equal ratios wins
        letters = Counter(candidate)
        best, best_entity = 0.0, None
        for _order, key, key_letters, entity in near:
            total = length + len(key)
            # difflib's real_quick_ratio and quick_ratio, as SequenceMatcher(None, candidate, key) computes them
            if 2.0 * min(length, len(key)) / total < 0.85:
                continue
            if 2.0 * sum((letters & key_letters).values()) / total < 0.85:
                continue
            ratio = difflib.SequenceMatcher(None, candidate, key).ratio()
            if ratio > best:
                best, best_entity = ratio, entity
        chosen = best_entity if best_entity is not None and best >= 0.85 else None
        if len(self._memo) >= self._MEMO_LIMIT:
            self._memo.clear()
        self._memo[(candidate, size)] = chosen
        return chosen


_UNSEEN = object()


def build_index(rows: Iterable[dict[str, object]], lexicon_entries: Iterable[object]) -> EntityIndex:
    """An index from KB rows (``entity``, ``type``, ``name``, ``predicate``) and lexicon entries."""
    names: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    labels: dict[str, str] = {}
    for row in rows:
        iri, kind, name = str(row["entity"]), str(row["type"]).rsplit("#", 1)[-1], str(row["name"])
        if kind not in LINKED_KINDS:
            continue
        kinds[iri] = kind
        names.setdefault(iri, [])
        if name not in names[iri]:
            names[iri].append(name)
        if str(row.get("predicate", "")).endswith("label") and not str(row["predicate"]).endswith("altLabel"):
            labels.setdefault(iri, name)
    index = EntityIndex()
    in_kb_keys: dict[tuple[str, str], str] = {}
    for iri, kind in kinds.items():
        in_kb_keys[(kind, iri.rstrip("/").rsplit("/", 1)[-1])] = iri
    extra: dict[str, list[str]] = {}
    outside: list[LinkedEntity] = []
    for entry in lexicon_entries:
        kind, key = entry.kind, entry.key  # type: ignore[attr-defined]
        all_names = tuple(entry.names)  # type: ignore[attr-defined]
        known = in_kb_keys.get((kind, key))
        if known is not None:
            extra.setdefault(known, []).extend(all_names)
        else:
            outside.append(LinkedEntity(None, kind, entry.label, all_names))  # type: ignore[attr-defined]
    trial_names = _longest_by_lower(
        {n for iri, kind in kinds.items() if kind == "ClinicalTrial" for n in names[iri]}
    )
    for iri, kind in kinds.items():
        if kind == "Arm":
            continue
        merged = list(dict.fromkeys([*names[iri], *extra.get(iri, [])]))
        index.add(LinkedEntity(iri, kind, labels.get(iri, merged[0]), tuple(merged)))
    for entity in outside:
        index.add(entity)
    # Arms last, by the names no other entity has: "the blinatumomab group" names an arm, "blinatumomab" the drug.
    for iri, kind in kinds.items():
        if kind == "Arm":
            own = [n for n in _arm_names(names[iri], trial_names) if name_key(n) not in index.by_key]
            if own:
                index.add(LinkedEntity(iri, kind, labels.get(iri, own[0]), tuple(own)))
    return index


def _longest_by_lower(trial_names: set[str]) -> dict[str, int]:
    """Each trial name in lower case, with the length of the longest name written so."""
    longest: dict[str, int] = {}
    for name in trial_names:
        key = name.lower()
        longest[key] = max(longest.get(key, 0), len(name))
    return longest


def _arm_names(labels: list[str], trial_names: dict[str, int]) -> list[str]:
    """An arm's names as questions say them: "KRYPTO-7 placebo group" is "placebo group" and "placebo" (the
    trial's name is left to link the trial itself).

    The longest trial name the label starts with (before a space) is found by looking up each of the label's
    prefixes that end at a space, not by trying every trial of the KB on every arm (quadratic in the KB)."""
    found: list[str] = []
    for label in labels:
        lowered = label.lower()
        longest = -1
        for position, character in enumerate(lowered):
            if character == " " and lowered[:position] in trial_names:
                longest = max(longest, trial_names[lowered[:position]])
        if longest >= 0:
            label = label[longest + 1 :]
        bare = _ARM_KIND.sub("", label).strip()
        found.extend(name for name in (label, bare) if name and name not in found)
    return found
