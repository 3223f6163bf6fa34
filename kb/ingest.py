"""Ingestion: a source file (plain text or Markdown) becomes a `Document` with metadata and passages (XML
sources are read by `kb.sources`, which composes their text and parses it here)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from kb.errors import IngestError
from kb.models import Document, Passage

MAX_BYTES = 5 * 1024 * 1024
"""Trial publications are a few kB; anything over 5 MB is not one, and would stall extraction."""

# Metadata keys seen in news releases and abstracts. A line "Key: value" is metadata only for these
# keys, so that abstract section labels ("Methods:", "Findings:") stay in the body.
METADATA_KEYS = (
    "article title",
    "title",
    "news publication date",
    "publication date",
    "date",
    "web references",
    "references",
    "reference",
    "image credits",
    "image credit",
    "keywords",
    "journal",
    "doi",
    "authors",
    "author",
    "subject of research",
    "method of research",
    "source",
    "funding",
    "trial registration",
    "registration",
    "citation",
    "original source",
    "contact",
    "url",
)
_KEY_ALTERNATION = "|".join(re.escape(k) for k in sorted(METADATA_KEYS, key=len, reverse=True))
_METADATA_LINE = re.compile(rf"^\s*(?:[#*_>\s]*)({_KEY_ALTERNATION})\s*[:：]\s*(.*)$", re.IGNORECASE)
# Several "Key: value" pairs on one line ("Authors: Shah BD, et al. Journal: The Lancet. DOI: ...").
_INLINE_KEY = re.compile(rf"(?:(?<=^)|(?<=[.;]\s))({_KEY_ALTERNATION})\s*:\s*", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*(?:[-–—*•]|\d+[.)])\s+(.*\S)\s*$")

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = {
    "al", "dr", "mr", "mrs", "ms", "prof", "vs", "e.g", "i.e", "etc", "no", "fig", "approx", "inc",
    "ltd", "co", "corp", "st", "jr", "sr", "vol", "ref", "dept", "univ", "mt", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "ph.d", "m.d",
}  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?](?:[\"”’')\]]*)\s+(?=[\"“(\[]?[A-Z0-9])")


def slugify(text: str, max_length: int = 80) -> str:
    """A lower-case ASCII slug: stable ids and IRI segments."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].strip("-") or "document"


def decode(path: str, data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM) or UTF-16 with BOM; Windows-1252 as a last resort.

    Returns the text and the encoding used. Raises `IngestError` for binary data.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as error:
            raise IngestError(path, f"not valid UTF-16 text ({error.reason})") from None
    if b"\x00" in data[:8192]:
        raise IngestError(path, "looks like a binary file (NUL bytes); expected plain text or Markdown")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise IngestError(path, "is neither UTF-8 nor Windows-1252 text; convert it to UTF-8") from None
    return text, "cp1252"


def _check_text(path: str, text: str) -> None:
    if not text.strip():
        raise IngestError(path, "is empty; nothing to ingest")
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > max(8, len(text) // 100):
        raise IngestError(
            path, "looks like a binary file (control characters); expected plain text or Markdown"
        )
    letters = sum(1 for ch in text if ch.isalpha())
    if letters < 20:
        raise IngestError(path, "has too little text to be a publication")


MAX_SENTENCE = 2000
"""Longest passage, in characters: a longer "sentence" (a text without full stops) is cut at whitespace.

Real sentences stay far below it (the longest in the test articles is about 400 characters); past it, the
extractors' per-mention windows would still be bounded, but every passage-wide scan per value would grow
with the text, and one embedding or keyword passage of a megabyte is of no use to search either."""
_WHITESPACE_RUN = re.compile(r"\s*")
_ABBREVIATION_WINDOW = 64
"""How far before a full stop the word it ends is looked for (abbreviations and initials are short)."""


def _after_space(text: str, position: int, end: int | None = None) -> int:
    """The first position at or after ``position`` (and before ``end``) that is not whitespace."""
    run = _WHITESPACE_RUN.match(text, position, len(text) if end is None else end)
    return run.end() if run else position


def _cut(start: int, end: int, text: str, limit: int = MAX_SENTENCE) -> list[tuple[int, int]]:
    """``text[start:end]`` as pieces of at most ``limit`` characters, cut at the last whitespace before it."""
    pieces: list[tuple[int, int]] = []
    while end - start > limit:
        cut = max(text.rfind(" ", start, start + limit), text.rfind("\t", start, start + limit))
        if cut <= start:
            cut = start + limit  # one unbroken run of characters: cut it anyway
        piece_end = len(text[start:cut].rstrip()) + start
        if piece_end > start:
            pieces.append((start, piece_end))
        start = _after_space(text, cut)
    if end > start:
        pieces.append((start, end))
    return pieces


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in ``text``, shifted by ``offset``; keeps abbreviations together, and cuts a
    sentence longer than `MAX_SENTENCE` at whitespace. Linear in the text: each full stop's word is read
    in a window before it, never from the start of the sentence."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + 1
        word = re.search(r"([A-Za-z][A-Za-z.]*)\.$", text[max(start, end - _ABBREVIATION_WINDOW) : end])
        if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1):
            continue  # "et al." or an initial ("Litzow M.") does not end the sentence
        lead = _after_space(text, start, end)
        chunk_end = len(text[lead : match.end()].rstrip()) + lead
        if chunk_end > lead:
            spans.extend(_cut(lead, chunk_end, text))
        start = match.end()
    lead = _after_space(text, start)
    tail_end = len(text[lead:].rstrip()) + lead
    if tail_end > lead:
        spans.extend(_cut(lead, tail_end, text))
    return [(offset + s, offset + e) for s, e in spans]


def _lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    position = 0
    for line in text.splitlines(keepends=True):
        out.append((position, line.rstrip("\r\n")))
        position += len(line)
    return out


def _metadata_start(lines: list[tuple[int, str]]) -> int:
    """Index of the first line of the trailing metadata block (len(lines) when there is none)."""
    index = len(lines)
    seen_key = False
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i][1]
        if not line.strip():
            continue
        if _METADATA_LINE.match(line):
            seen_key = True
            index = i
        elif _LIST_ITEM.match(line) or (
            seen_key and len(line) < 200 and i > index - 3 and not line.endswith(".")
        ):
            index = i
        else:
            break
    return index if seen_key else len(lines)


def _header_end(lines: list[tuple[int, str]], until: int) -> int:
    """Index after a leading "Key: value" header block ("Title: ...", "Journal: ...", "Authors: ..."), or 0.

    A header is two or more metadata lines at the very top, ended by a blank line or the end of the lines."""
    index = 0
    while index < until and not lines[index][1].strip():
        index += 1
    keys = 0
    while index < until and lines[index][1].strip():
        if not _METADATA_LINE.match(lines[index][1]):
            return 0
        keys += 1
        index += 1
    return index if keys >= 2 else 0


def _is_title(line: str, rest: str) -> bool:
    stripped = line.strip().lstrip("#").strip()
    return bool(stripped) and len(stripped) < 250 and not stripped.endswith((".", ":")) and bool(rest.strip())


def parse_document(path: str, text: str) -> Document:
    """Split ``text`` into title, body sentences and metadata lines, each a passage with offsets."""
    # os.path, not pathlib: pathlib interns every name it parses, which grows with each article of a bulk load.
    name = os.path.basename(path)
    document_id = slugify(os.path.splitext(name)[0])
    lines = _lines(text)
    meta_from = _metadata_start(lines)
    passages: list[Passage] = []
    metadata: dict[str, str] = {}
    references: list[str] = []

    def add(start: int, end: int, section: str) -> None:
        # A title or metadata line is capped like a sentence: extractors work passage by passage.
        for piece_start, piece_end in (
            _cut(start, end, text) if end - start > MAX_SENTENCE else [(start, end)]
        ):
            passages.append(
                Passage(
                    id=f"{document_id}-p{len(passages):03d}",
                    document_id=document_id,
                    ordinal=len(passages),
                    start=piece_start,
                    end=piece_end,
                    text=text[piece_start:piece_end],
                    section=section,
                )
            )

    title: str | None = None
    header_end = _header_end(lines, meta_from)
    first_body = header_end
    current_key: str | None = None
    for position, line in lines[:header_end]:
        if not line.strip():
            continue
        match = _METADATA_LINE.match(line)
        assert match is not None
        key, value = match.group(1).lower(), match.group(2).strip()
        lead = len(line) - len(line.lstrip())
        if key in ("title", "article title") and title is None and value:
            # The headline is the title passage, without its "Title:" label.
            title = value
            add(position + match.start(2), position + match.start(2) + len(value), "title")
        else:
            add(position + lead, position + len(line.rstrip()), "metadata")
        metadata[key] = value if key not in metadata else metadata[key] + "\n" + value
    nonblank = [i for i, (_, line) in enumerate(lines[:meta_from]) if line.strip()]
    if nonblank and not header_end:
        i = nonblank[0]
        position, line = lines[i]
        rest = "".join(line for _, line in lines[i + 1 : meta_from])
        if _is_title(line, rest):
            lead = len(line) - len(line.lstrip(" #"))
            title = line.strip().lstrip("#").strip()
            add(position + lead, position + len(line.rstrip()), "title")
            first_body = i + 1
    for position, line in lines[first_body:meta_from]:
        if line.strip():
            for start, end in split_sentences(line, position):
                add(start, end, "body")
    for position, line in lines[meta_from:]:
        if not line.strip():
            continue
        lead = len(line) - len(line.lstrip())
        add(position + lead, position + len(line.rstrip()), "metadata")
        item = _LIST_ITEM.match(line)
        if item and current_key is not None:
            references.append(item.group(1))
            metadata[current_key] = (metadata.get(current_key, "") + "\n" + item.group(1)).strip()
            continue
        pieces = list(_INLINE_KEY.finditer(line))
        for n, match in enumerate(pieces):
            value_end = pieces[n + 1].start() if n + 1 < len(pieces) else len(line)
            key = match.group(1).lower()
            value = line[match.end() : value_end].strip()
            metadata[key] = value if key not in metadata else metadata[key] + "\n" + value
            current_key = key
    if title is None:
        title = metadata.get("title") or metadata.get("article title")
    return Document(
        id=document_id,
        path=name,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        title=title,
        metadata=metadata,
        references=tuple(references),
        passages=tuple(passages),
    )


def read_document(path: str | Path, max_bytes: int = MAX_BYTES) -> Document:
    """Read and parse one source file, with a clear `IngestError` for anything that is not a publication.

    An XML file (MEDLINE/PubMed or PMC JATS, as `trialkb build` reads a stored article) must hold one article;
    `kb.sources.SourceFile` streams files of many."""
    shown = str(path)
    file = Path(path)
    from kb.sources import is_xml

    if is_xml(file):
        from kb.sources import read_single

        return read_single(file)
    if not file.exists():
        raise IngestError(shown, "no such file")
    if not file.is_file():
        raise IngestError(shown, "is not a regular file")
    size = file.stat().st_size
    if size == 0:
        raise IngestError(shown, "is empty; nothing to ingest")
    if size > max_bytes:
        raise IngestError(
            shown, f"is {size / 1e6:.1f} MB; the limit for one publication is {max_bytes / 1e6:.0f} MB"
        )
    try:
        data = file.read_bytes()
    except OSError as error:
        raise IngestError(shown, f"cannot be read ({error.strerror})") from None
    text, _encoding = decode(shown, data)
    _check_text(shown, text)
    return parse_document(shown, text)
