"""An article read from XML becomes a `Document` whose text the extractors read like a structured abstract.

The text is composed, not copied: the title on its own line, then each section (an abstract's labelled
parts as "Results: ...", a full text's sections under their titles, figure and table captions, simple
tables as one sentence per row), then a trailing metadata block ("Journal:", "Publication Date:",
"Authors:", "Trial Registration:") in the keys `kb.ingest` knows; the DOI is left to `kb.sources.rdf`.
Offsets refer to that text; each body passage keeps the heading of the section it came from.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, replace

from kb.ingest import parse_document
from kb.models import ArticleRecord, Document

MAX_AUTHORS = 10
"""Authors named in the text's metadata line (the record keeps all): trials list hundreds at times."""
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Section:
    """One part of an article's text: its heading and paragraphs.

    ``inline`` puts the heading before the first paragraph as a label ("Results: ..."), as structured
    abstracts are printed; otherwise the heading is a line of its own."""

    heading: str | None
    paragraphs: tuple[str, ...]
    inline: bool = False
    shown: bool = True  # False: the passages carry the heading, the text does not print it


def clean(text: str | None) -> str:
    """Whitespace runs (XML indentation, line breaks inside a paragraph) as single spaces."""
    return _SPACE.sub(" ", text or "").strip()


def heading_name(label: str) -> str:
    """ "BACKGROUND" -> "Background"; a heading already in mixed case is kept."""
    label = clean(label).rstrip(":").strip()
    return label.capitalize() if label.isupper() else label


def _metadata_lines(record: ArticleRecord) -> list[str]:
    lines = []
    journal = record.journal_title or record.journal_abbreviation
    if journal:
        lines.append(f"Journal: {journal}")
    if record.published:
        lines.append(f"Publication Date: {record.published}")
    # No "DOI:" line: the extractors would key the publication by its DOI, one node shared with any text
    # that cites the same DOI, and the two dates (an issue date here, a year there) would be two values of
    # schema:datePublished on one node. The record's publication is its own node; `kb.sources.rdf` gives
    # it the DOI and the https://doi.org/ IRI (schema:sameAs) through which the two join.
    if record.authors:
        named = ", ".join(record.authors[:MAX_AUTHORS])
        lines.append(f"Authors: {named}" + (", et al." if len(record.authors) > MAX_AUTHORS else ""))
    if record.registry_ids:
        lines.append(f"Trial Registration: ClinicalTrials.gov {', '.join(record.registry_ids)}")
    return lines


def compose(record: ArticleRecord, sections: list[Section], *, document_id: str, source: bytes) -> Document:
    """The `Document` of one article: composed text, passages with their section headings, the record, and
    ``source`` (the bytes stored for `trialkb build`, whose SHA-256 decides whether a re-ingest is unchanged)."""
    title = clean(record.title)
    # A MEDLINE title ends with a full stop; `kb.ingest` takes a first line for the title only without one.
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1]
    text = (title or document_id) + "\n\n"
    starts: list[int] = []
    headings: list[str | None] = []
    for section in sections:
        paragraphs = [p for p in (clean(p) for p in section.paragraphs) if p]
        if not paragraphs and not section.heading:
            continue
        starts.append(len(text))
        headings.append(section.heading)
        if not section.shown:
            pass
        elif section.heading and section.inline and paragraphs:
            paragraphs[0] = f"{section.heading}: {paragraphs[0]}"
        elif section.heading:
            paragraphs.insert(0, section.heading)
        text += "\n".join(paragraphs) + "\n\n"
    text += "\n".join(_metadata_lines(record)) + "\n"
    document = parse_document(f"{document_id}.xml", text)
    passages = []
    for passage in document.passages:
        index = bisect.bisect_right(starts, passage.start) - 1
        if passage.section == "body" and index >= 0:
            passage = replace(passage, heading=headings[index])
        passages.append(passage)
    return replace(
        document,
        title=title or document.title,
        sha256=hashlib.sha256(source).hexdigest(),
        passages=tuple(passages),
        record=record,
        source=source,
    )
