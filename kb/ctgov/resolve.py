"""Resolve registry names (drugs, conditions, organisations) to the KB's shared entity nodes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from rdflib import URIRef

from ontology import RES

Resolver = Callable[[str, str], str | None]
"""``resolve(kind, name)`` -> the entity key within ``kind`` ("Drug", "Disease", "Organization"), or None."""
MentionFinder = Callable[[str, str], list[str]]
"""``mentions(kind, text)`` -> keys of broader entities of ``kind`` that a registry term names."""

# Registry condition terms qualify a disease ("Recurrent B Acute Lymphoblastic Leukemia"); without the
# qualifiers and the comma-separated subtype the rest often names a lexicon disease.
_QUALIFIERS = re.compile(
    r"^(?:(?:recurrent|refractory|relapsed|newly diagnosed|untreated|previously treated|advanced|"
    r"metastatic|adult|childhood|de novo)\s+)+",
    re.IGNORECASE,
)

# The path segment of each kind's node: RES["drug/<key>"], RES["disease/<key>"], ...
SEGMENTS = {"Drug": "drug", "Disease": "disease", "Organization": "organization", "Endpoint": "endpoint"}


def slugify(text: str) -> str:
    """A lower-case ASCII slug: "Inotuzumab Ozogamicin" -> "inotuzumab-ozogamicin"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "unnamed"


def no_resolver(kind: str, name: str) -> None:
    """A resolver that knows nothing: every name falls back to its slug."""
    return None


def no_mentions(kind: str, text: str) -> list[str]:
    """A mention finder that finds nothing."""
    return []


@lru_cache(maxsize=1)
def _lexicon() -> Any | None:
    try:
        from kb.lexicon import load_lexicon  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the lexicon module is optional for the registry importer
        return None
    return load_lexicon()


def lexicon_resolver(kind: str, name: str) -> str | None:
    """Resolve through the curated lexicon (``kb.lexicon``), or None when it has no entry."""
    lexicon = _lexicon()
    if lexicon is None:
        return None
    try:
        entry = lexicon.match_name(kind, name)
    except (KeyError, ValueError):  # a kind the lexicon does not hold
        return None
    key = getattr(entry, "key", None) if entry is not None else None
    return str(key) if key else None


def entity_node(kind: str, names: Iterable[str], resolve: Resolver) -> tuple[URIRef, bool]:
    """The node for the first name the resolver knows, else the slug of the first name.

    Returns the node and whether it came from the resolver (a shared, curated entity).
    """
    candidates = [name for name in names if name]
    for name in candidates:
        key = resolve(kind, name)
        if key:
            return RES[f"{SEGMENTS[kind]}/{key}"], True
    return RES[f"{SEGMENTS[kind]}/{slugify(candidates[0] if candidates else '')}"], False


def lexicon_mentions(kind: str, text: str) -> list[str]:
    """Lexicon entities of ``kind`` that a registry term is about: the term without qualifiers
    (exactly, then with small spelling differences), else every entity mentioned in it."""
    lexicon = _lexicon()
    if lexicon is None:
        return []
    core = _QUALIFIERS.sub("", re.sub(r"\s*\(.*?\)", "", text.split(",")[0])).strip()
    if core:
        entry = lexicon.match_name(kind, core) or lexicon.fuzzy(core, kind)
        if entry is not None:
            return [str(entry.key)]
    keys: list[str] = []
    for match in lexicon.find_all(text):
        if match.entry.kind == kind and match.entry.key not in keys:
            keys.append(str(match.entry.key))
    return keys


def lexicon_ancestors(iri: str) -> set[str]:
    """IRIs of the broader entries of a lexicon entity (B-ALL -> acute lymphoblastic leukemia -> ...)."""
    lexicon = _lexicon()
    prefix = str(RES)
    if lexicon is None or not iri.startswith(prefix) or "/" not in iri[len(prefix) :]:
        return set()
    segment, key = iri[len(prefix) :].split("/", 1)
    kind = {segment_name: kind for kind, segment_name in SEGMENTS.items()}.get(segment)
    found: set[str] = set()
    entry = lexicon.get(kind, key) if kind else None
    while entry is not None and getattr(entry, "broader", None) and len(found) < 20:
        parent = f"{prefix}{segment}/{entry.broader}"
        if parent in found:
            break
        found.add(parent)
        entry = lexicon.get(kind, entry.broader)
    return found
