"""The publication (journal, date, volume, DOI, first author, title) and the source document itself."""

from __future__ import annotations

import datetime as dt
import re

from kb.extract.context import Context, entity_for
from kb.extract.organizations import CREDENTIALS, clean_name
from kb.ingest import slugify
from kb.models import Entity, Passage

DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+")
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_MONTH = r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_DATES = (
    re.compile(rf"\b(?P<year>(?:19|20)\d\d)\s+{_MONTH}\s+(?P<day>\d{{1,2}})\b"),
    re.compile(rf"\b(?P<day>\d{{1,2}})[\s-]{_MONTH}[\s-](?P<year>(?:19|20)\d\d)\b"),
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}}),?\s+(?P<year>(?:19|20)\d\d)\b"),
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<mnum>\d\d)-(?P<day>\d\d)\b"),
)
_CITATION = re.compile(
    r"\b(?P<year>(?:19|20)\d\d)\s*;\s*(?P<volume>\d+)\s*(?:\((?P<issue>[^)]+)\))?\s*(?::\s*(?P<pages>[\w]+(?:[-\u2013][\w]+)?))?"
)
_AUTHOR = re.compile(
    r"^\s*(?:[-\u2013\u2014*\u2022]\s*)?(?P<name>[A-Z][\w'\u2019-]+(?:\s[A-Z][\w'\u2019-]+)?\s[A-Z]{1,3})\b(?=,|\s+et\s+al|\.)"
)
# A person's name as news writes it: given name(s) or initials, particles, surname ("Leena Gandhi", "Jane M. van Roe").
_TITLE = r"(?:Dr|Prof|Professor)\.?\s+"
_NAME = (
    r"(?P<name>[A-Z][a-z]+(?:-[A-Z][a-z]+)?(?:\s+(?:[A-Z]\.|[A-Z][a-z]+(?:-[A-Z][a-z]+)?))?"
    r"(?:\s+(?:van|von|de|der|den|da|di|del|la|le|du))*\s+[A-Z][\w'\u2019-]*[a-z][\w'\u2019-]*)"
)
_PERSON = rf"(?:{_TITLE})?{_NAME}"
_AFTER_NAME = (
    r"(?=\s*(?:,|\(|\.|;|:|$)|\s+(?:said|says|and|of|from|at|who|noted|explained|added|told|reported)\b)"
)
_ROLE = r"(?i:lead|first)\s+author"
_STUDY = r"(?:study|trial|report|paper|article|publication|analysis)"
_LEAD_AUTHORS = (
    # "lead author Jane Roe, MD, of ...", "said first author Jane Roe", "the lead author of the study, Dr. Roe"
    re.compile(rf"\b{_ROLE}(?:\s+of\s+the\s+{_STUDY})?(?:\s*(?:is|was)\b|\s*,)?\s+{_PERSON}{_AFTER_NAME}"),
    # "Jane Roe, MD, PhD, the study's lead author", "Jane Roe, lead author of the report"
    re.compile(rf"{_PERSON}{CREDENTIALS}?,\s+(?:(?:the|a)\s+)?(?:{_STUDY}['\u2019]s\s+)?{_ROLE}\b"),
    # "Jane Roe, MD, a medical oncologist at Example Hospital and the study's first author"
    re.compile(
        rf"{_PERSON}{CREDENTIALS}?,\s+(?:a|an|the)\s+[a-z][^.;\"\u201c\u201d]{{0,150}}?,?\s+and\s+"
        rf"(?:(?:the|a)\s+)?(?:{_STUDY}['\u2019]s\s+)?{_ROLE}\b"
    ),
)
# "The study, led by Jane Roe, MD, ...": a person (credentials or a title) who led the study, when no author is named.
_LED_BY = re.compile(rf"\bled\s+by\s+(?P<title>{_TITLE})?{_NAME}(?P<credentials>{CREDENTIALS})?")
_PUBLISHED_IN = re.compile(
    r"\b(?:[Pp]ublished|[Rr]eported|[Aa]ppear(?:s|ed)?|[Pp]resented)\b[^.;]{0,30}?\bin\s+(?:the\s+)?$"
)
_SECTION_LABELS = re.compile(
    r"^(?:Background|Methods|Findings|Results|Conclusions?|Interpretation|Purpose|Objective)s?\s*:", re.M
)
_NEWS_CUES = re.compile(
    r"\b(?:according\s+to|said|lead\s+author|news|researchers\s+(?:from|at)|published\s+(?:recently\s+)?in)\b",
    re.I,
)


def _date(text: str) -> tuple[dt.date, int, int] | None:
    for pattern in _DATES:
        match = pattern.search(text)
        if match:
            groups = match.groupdict()
            month = int(groups["mnum"]) if groups.get("mnum") else _MONTHS[groups["month"][:3].lower()]
            try:
                return (
                    dt.date(int(match.group("year")), month, int(match.group("day"))),
                    match.start(),
                    match.end(),
                )
            except ValueError:
                continue
    return None


_PUBLISHED_TODAY = re.compile(r"\bpublished\s+(?:online\s+)?(?:today|this\s+morning)\b", re.I)
"""A news item saying that the article it reports came out on the item's own date."""


def _dateline(ctx: Context) -> tuple[dt.date, int, int] | None:
    """The date of the document itself: its "Date:" metadata, else a date on a line of its own near the top
    (a news release's dateline), with its span."""
    news = _metadata(ctx, "News Publication Date", "Publication Date", "Date")
    if news:
        found = _date(news[2])
        if found:
            return found[0], news[1] + found[1], news[1] + found[2]
    for passage in ctx.document.passages[:3]:
        found = _date(passage.text)
        if found and len(passage.text.strip()) <= found[2] - found[1] + 1:
            return found[0], passage.start + found[1], passage.start + found[2]
    return None


def _metadata(ctx: Context, *keys: str) -> tuple[Passage, int, str] | None:
    """The metadata value for one of ``keys`` (first line): its passage, its offset and the value."""
    for key in keys:
        value = ctx.document.metadata.get(key.lower(), "").split("\n")[0].strip()
        if not value:
            continue
        for passage in ctx.passages(("metadata",)):
            label = re.search(rf"{re.escape(key)}\s*:\s*", passage.text, re.IGNORECASE)
            position = passage.text.find(value, label.end() if label else 0)
            if label and position >= 0:
                return passage, passage.start + position, value
    return None


def document_type(ctx: Context) -> tuple[str, int, int]:
    """ "news release" or "abstract", from structure; with the span of the cue that decided it."""
    text = ctx.document.text
    news = _metadata(ctx, "News Publication Date")
    if news:
        return "news release", news[1], news[1] + len(news[2])
    labels = list(_SECTION_LABELS.finditer(text))
    cues = list(_NEWS_CUES.finditer(text))
    if len(labels) >= 2 or (labels and not cues):
        return "abstract", labels[0].start(), labels[0].end()
    if len(cues) >= 2:
        return "news release", cues[0].start(), cues[0].end()
    first = ctx.document.passages[0]
    return "abstract", first.start, first.end


def extract_publication(ctx: Context) -> None:
    source = ctx.source
    kind, start, end = document_type(ctx)
    ctx.add_value(source, "documentType", kind, "string", start, end)
    _source_metadata(ctx, source, kind)
    doi = _doi(ctx)
    journal = _journal(ctx)
    title = _metadata(ctx, "Article Title")
    first_author = _first_author(ctx)
    citation = _citation_parts(ctx, kind)
    if not (doi or journal or title or first_author or citation):
        return
    title_text = title[2] if title else (ctx.document.title if kind == "abstract" else None)
    key = slugify(doi[0], 120) if doi else ctx.scoped_key("publication")
    label = title_text or (
        f"{journal[0].label} article" if journal else f"publication reported in {ctx.document.id}"
    )
    publication = Entity("Publication", key, label)
    ctx.publication = publication
    anchor = (
        journal[1:]
        if journal
        else doi[1:]
        if doi
        else (title[1], title[1] + len(title[2]))
        if title
        else (0, 0)
    )
    if not journal and not doi and not title and first_author:
        anchor = first_author[1:]
    ctx.add(source, "reports", publication, *anchor)
    if ctx.trial is not None:
        ctx.add(ctx.trial, "reportedIn", publication, *anchor)
    if doi:
        ctx.add_value(publication, "doi", doi[0], "string", doi[1], doi[2])
    if journal:
        ctx.add(publication, "journal", journal[0], journal[1], journal[2])
    if title:
        ctx.add_value(publication, "schema:headline", title[2], "string", title[1], title[1] + len(title[2]))
    elif title_text:
        first = ctx.document.passages[0]
        ctx.add_value(publication, "schema:headline", title_text, "string", first.start, first.end)
    if first_author:
        ctx.add_value(
            publication, "firstAuthor", *first_author[:1], "string", first_author[1], first_author[2]
        )
    dateline = _dateline(ctx)
    today = next((m for p in ctx.passages() for m in _PUBLISHED_TODAY.finditer(p.text)), None)
    if dateline is not None and today is not None and kind == "news release":
        # "... the final report, published today in the journal": the article's date is the item's.
        citation["schema:datePublished"] = (dateline[0], "date", dateline[1:])
    for predicate, (value, datatype, span) in citation.items():
        ctx.add_value(publication, predicate, value, datatype, *span)


def _source_metadata(ctx: Context, source: Entity, kind: str) -> None:
    dateline = _dateline(ctx)
    if dateline:
        date, start, end = dateline
        ctx.add_value(source, "schema:datePublished", date, "date", start, end)
    keywords = _metadata(ctx, "Keywords")
    if keywords:
        _, offset, value = keywords
        for match in re.finditer(r"[^,;]+", value):
            word = match.group(0).strip()
            if word:
                start = offset + match.start() + (len(match.group(0)) - len(match.group(0).lstrip()))
                ctx.add_value(source, "schema:keywords", word, "string", start, start + len(word))
    subject = _metadata(ctx, "Subject of Research")
    if subject:
        ctx.add_value(
            source, "subjectOfResearch", subject[2], "string", subject[1], subject[1] + len(subject[2])
        )
    if ctx.trial is not None and ctx.trial_mentions:
        ctx.add(source, "about", ctx.trial, *ctx.trial_mentions[0])
    if kind == "news release" and ctx.document.title:
        first = ctx.document.passages[0]
        if first.section == "title":
            ctx.add_value(source, "schema:headline", ctx.document.title, "string", first.start, first.end)


def _doi(ctx: Context) -> tuple[str, int, int] | None:
    for match in DOI.finditer(ctx.document.text):
        doi = match.group(0).rstrip(".,;")
        while doi.endswith(")") and doi.count(")") > doi.count("("):
            doi = doi[:-1]
        return doi, match.start(), match.start() + len(doi)
    return None


def _journal(ctx: Context) -> tuple[Entity, int, int] | None:
    """The journal: the "Journal:" line, a reference's abbreviation, or "published in the <journal>"."""
    line = _metadata(ctx, "Journal")
    if line:
        _, offset, value = line
        name = re.split(r",|\s(?=(?:19|20)\d\d\b)", value)[0].strip().rstrip(".")
        entry = ctx.lexicon.match_name("Journal", name)
        entity = entity_for(entry) if entry else Entity("Journal", slugify(name), name)
        return entity, offset, offset + len(name)
    for passage in ctx.passages(("metadata",)):
        for match in ctx.matches(passage, "Journal"):
            if re.match(r"\s*[.,;]?\s*(?:19|20)\d\d", ctx.document.text[match.end : match.end + 8]):
                return entity_for(match.entry), match.start, match.end
    for passage in ctx.passages():
        for match in ctx.matches(passage, "Journal"):
            if _PUBLISHED_IN.search(ctx.document.text[passage.start : match.start]):
                return entity_for(match.entry), match.start, match.end
    return None


def _first_author(ctx: Context) -> tuple[str, int, int] | None:
    authors = _metadata(ctx, "Authors", "Author")
    if authors:
        _, offset, value = authors
        name = clean_name(re.split(r",|\s+et\s+al|;", value)[0])
        return name, offset, offset + len(name)
    for passage in ctx.passages(("metadata",)):
        match = _AUTHOR.match(passage.text)
        if match and re.search(r"et\s+al|\bDOI\b|(?:19|20)\d\d", passage.text):
            return match.group("name"), passage.start + match.start("name"), passage.start + match.end("name")
    for pattern in _LEAD_AUTHORS:
        for passage in ctx.passages():
            lead = pattern.search(passage.text)
            if lead:
                return _name_span(passage, lead)
    for passage in ctx.passages():
        for led in _LED_BY.finditer(passage.text):
            if led.group("title") or led.group("credentials"):
                return _name_span(passage, led)
    return None


def _name_span(passage: Passage, match: re.Match[str]) -> tuple[str, int, int]:
    """The person's name from a match, without credentials or sentence punctuation, and its span."""
    name = clean_name(re.sub(rf"{CREDENTIALS}$", "", match.group("name")))
    start = passage.start + match.start("name")
    return name, start, start + len(name)


def _citation_parts(ctx: Context, kind: str) -> dict[str, tuple[str | dt.date, str, tuple[int, int]]]:
    """Date, volume, issue and pages from "Blood, 2025;145(21):2447" or "J Clin Oncol. 2025 Sep 30"."""
    parts: dict[str, tuple[str | dt.date, str, tuple[int, int]]] = {}
    for passage in ctx.passages(("metadata",)):
        if re.match(r"\s*(?:Image|Keywords|News|Subject|Web|Article\s+Title)", passage.text, re.I):
            continue
        if kind == "news release" and re.match(r"\s*(?:Date|Source)\s*:", passage.text, re.I):
            continue  # a news release's own date, not the date of the article it reports
        citation = _CITATION.search(passage.text)
        if citation and "volume" not in parts:
            span = (passage.start + citation.start(), passage.start + citation.end())
            parts["volume"] = (citation.group("volume"), "string", span)
            if citation.group("issue"):
                parts["issue"] = (citation.group("issue"), "string", span)
            if citation.group("pages"):
                parts["pages"] = (citation.group("pages"), "string", span)
            parts.setdefault("schema:datePublished", (citation.group("year"), "gYear", span))
        found = _date(passage.text)
        if found and not re.match(r"\s*News", passage.text):
            date, start, end = found
            parts["schema:datePublished"] = (date, "date", (passage.start + start, passage.start + end))
    return parts
