"""Content negotiation (RFC 9110 §12.5.1): q-values, wildcards, most specific range wins."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from kb.api.problems import Problem

# Offers: (media type served, format name understood by kb.sparql, extra media types accepted as aliases).
RESULT_OFFERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("application/sparql-results+json", "json", ("application/json",)),
    ("application/sparql-results+xml", "xml", ("application/xml", "text/xml")),
    ("text/csv", "csv", ()),
    ("text/tab-separated-values", "tsv", ()),
)
GRAPH_OFFERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("text/turtle", "turtle", ("application/x-turtle",)),
    ("application/n-triples", "ntriples", ("text/plain",)),
    ("application/rdf+xml", "rdfxml", ("application/xml", "text/xml")),
    ("application/ld+json", "jsonld", ("application/json",)),
)
FORMAT_PARAMETER_ALIASES = {
    "json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
    "turtle": "turtle", "ttl": "turtle", "ntriples": "ntriples", "nt": "ntriples", "n-triples": "ntriples",
    "rdfxml": "rdfxml", "rdf": "rdfxml", "rdf+xml": "rdfxml", "jsonld": "jsonld", "json-ld": "jsonld",
    "trig": "trig", "nquads": "nquads", "nq": "nquads", "n-quads": "nquads",
}  # fmt: skip


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    quality: float

    def specificity(self, media_type: str) -> int:
        """How precisely this range names ``media_type``: 2 exact, 1 ``type/*``, 0 ``*/*``, -1 no match."""
        kind, _, sub = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 0
        if self.type == kind and self.subtype == "*":
            return 1
        if self.type == kind and self.subtype == sub:
            return 2
        return -1


def parse_accept(header: str | None) -> list[MediaRange]:
    """The ranges of an Accept header; a missing or empty header accepts anything."""
    if not header or not header.strip():
        return [MediaRange("*", "*", 1.0)]
    ranges = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        if media == "*":  # seen from some clients; means */*
            media = "*/*"
        kind, slash, sub = media.partition("/")
        if not slash or not kind or not sub:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append(MediaRange(kind, sub, quality))
    return ranges


def _quality(ranges: list[MediaRange], media_type: str) -> tuple[float, int]:
    """The quality the client gives ``media_type`` (from its most specific matching range) and that specificity."""
    best = (-1, 0.0)
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity > best[0]:
            best = (specificity, media_range.quality)
    return (best[1], best[0]) if best[0] >= 0 else (0.0, -1)


Offers = tuple[tuple[str, str, tuple[str, ...]], ...]


def negotiate(accept: str | None, offers: Offers) -> tuple[str, str]:
    """(media type, format name) for the best offer; ties go to the more specific range, then the first offer.

    Raises a 406 `Problem` listing what is available when the client accepts none of the offers. Clients
    send the same few Accept headers over and over: the answers for short ones are remembered.
    """
    if accept is not None and len(accept) > 512:
        return _negotiate(accept, offers)
    return _negotiate_remembered(accept, offers)


@lru_cache(maxsize=512)
def _negotiate_remembered(accept: str | None, offers: Offers) -> tuple[str, str]:
    return _negotiate(accept, offers)


def _negotiate(accept: str | None, offers: Offers) -> tuple[str, str]:
    ranges = parse_accept(accept)
    best: tuple[float, int, int] | None = None
    chosen: tuple[str, str] | None = None
    for position, (media_type, name, aliases) in enumerate(offers):
        for candidate in (media_type, *aliases):
            quality, specificity = _quality(ranges, candidate)
            if quality <= 0 or (candidate != media_type and specificity < 2):
                continue  # an alias counts only when named exactly: text/* means CSV, not text/xml
            key = (quality, specificity, -position)
            if best is None or key > best:
                best, chosen = key, (media_type, name)
    if chosen is None:
        available = [media_type for media_type, _, _ in offers]
        raise Problem(
            406,
            f"none of the media types in Accept ({accept}) can be produced here; available: {', '.join(available)}",
            kind="not-acceptable",
            available=available,
        )
    return chosen


def format_parameter(
    value: str, offers: tuple[tuple[str, str, tuple[str, ...]], ...]
) -> tuple[str, str] | None:
    """The offer named by a ``format=`` parameter (short name or media type), as SPARQL clients send; None if
    it names none (the caller then negotiates by Accept). ``xml`` and ``json`` mean RDF/XML and JSON-LD for graphs."""
    wanted = value.strip().lower()
    name = FORMAT_PARAMETER_ALIASES.get(wanted)
    names = {offer_name for _, offer_name, _ in offers}
    if name not in names:
        name = {"xml": "rdfxml", "json": "jsonld", "rdfxml": "xml", "jsonld": "json"}.get(name or "", name)
    for media_type, offer_name, aliases in offers:
        if offer_name == name or wanted == media_type or wanted in aliases:
            return media_type, offer_name
    return None
