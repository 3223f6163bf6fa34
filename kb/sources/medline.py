"""MEDLINE/PubMed XML (``PubmedArticleSet``): each ``PubmedArticle`` streamed by lxml's iterparse and cleared
once read, so a baseline file of 30,000 articles is read in the memory of one article."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from lxml import etree

from kb.models import ArticleRecord, Document
from kb.sources.record import Section, clean, compose, heading_name

ARTICLE = "PubmedArticle"
_MONTHS = {m: n for n, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
# NlmCategory values that name no section (an unlabelled paragraph of a structured abstract).
_NO_CATEGORY = {"", "UNASSIGNED"}


class ArticleProblem(ValueError):
    """One article of a file cannot be read (no PMID); the rest of the file still can."""


def _text(element: etree._Element | None) -> str:
    """All the text inside ``element`` (inline markup such as <i> and <sup> kept as its words)."""
    return clean("".join(element.itertext())) if element is not None else ""


def _date(element: etree._Element | None) -> tuple[str | None, bool]:
    """An ISO date (or year-month, or year) from a Year/Month/Day or MedlineDate element; and whether it
    has a day."""
    if element is None:
        return None, False
    year = clean(element.findtext("Year"))
    if not year:
        medline = clean(element.findtext("MedlineDate"))  # "2018 May-Jun", "2017-2018"
        return (medline[:4], False) if medline[:4].isdigit() else (None, False)
    month_text = clean(element.findtext("Month"))
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text[:3].lower(), 0)
    day_text = clean(element.findtext("Day"))
    if not 1 <= month <= 12:
        return year, False
    if day_text.isdigit() and 1 <= int(day_text) <= 31:
        return f"{year}-{month:02d}-{int(day_text):02d}", True
    return f"{year}-{month:02d}", False


def _authors(article: etree._Element) -> tuple[tuple[str, ...], tuple[str, ...]]:
    authors: list[str] = []
    affiliations: dict[str, None] = {}
    for author in article.iterfind("AuthorList/Author"):
        last = clean(author.findtext("LastName"))
        if last:
            initials = clean(author.findtext("Initials"))
            authors.append(f"{last} {initials}".strip())
        elif collective := clean(author.findtext("CollectiveName")):
            authors.append(collective)
        for affiliation in author.iterfind("AffiliationInfo/Affiliation"):
            if text := _text(affiliation):
                affiliations.setdefault(text)
    return tuple(authors), tuple(affiliations)


def _abstract(article: etree._Element) -> list[Section]:
    sections = []
    for part in article.iterfind("Abstract/AbstractText"):
        label = part.get("Label") or (
            "" if part.get("NlmCategory", "") in _NO_CATEGORY else part.get("NlmCategory")
        )
        text = _text(part)
        if label:
            sections.append(Section(heading_name(label), (text,), inline=True))
        else:
            sections.append(Section("Abstract", (text,), shown=False))
    return sections


def parse_article(element: etree._Element) -> tuple[ArticleRecord, list[Section]]:
    """The record and the sections (title excluded) of one ``PubmedArticle`` element."""
    citation = element.find("MedlineCitation")
    if citation is None:
        raise ArticleProblem("a PubmedArticle without MedlineCitation")
    pmid = clean(citation.findtext("PMID"))
    if not pmid.isdigit():
        raise ArticleProblem("a PubmedArticle without a PMID")
    article = citation.find("Article")
    if article is None:
        raise ArticleProblem(f"PMID {pmid} has no Article element")
    ids = {
        (item.get("IdType") or "").lower(): clean(item.text)
        for item in element.iterfind("PubmedData/ArticleIdList/ArticleId")
    }
    doi = ids.get("doi") or next(
        (clean(e.text) for e in article.iterfind("ELocationID") if e.get("EIdType") == "doi"), None
    )
    pmcid = ids.get("pmc") or None
    journal = article.find("Journal")
    issue_date, full = _date(journal.find("JournalIssue/PubDate") if journal is not None else None)
    electronic, _ = _date(article.find("ArticleDate"))
    published = issue_date if full or electronic is None else electronic
    authors, affiliations = _authors(article)
    registry = [
        clean(number.text)
        for bank in article.iterfind("DataBankList/DataBank")
        if clean(bank.findtext("DataBankName")).lower() == "clinicaltrials.gov"
        for number in bank.iterfind("AccessionNumberList/AccessionNumber")
        if clean(number.text).upper().startswith("NCT")
    ]
    record = ArticleRecord(
        format="medline",
        pmid=pmid,
        pmcid=pmcid if pmcid and pmcid.upper().startswith("PMC") else None,
        doi=doi or None,
        title=_text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle")),
        journal_title=clean(journal.findtext("Title")) or None if journal is not None else None,
        journal_abbreviation=clean(journal.findtext("ISOAbbreviation")) or None
        if journal is not None
        else None,
        issns=tuple(clean(issn.text) for issn in journal.iterfind("ISSN") if clean(issn.text))
        if journal is not None
        else (),
        published=published,
        authors=authors,
        affiliations=affiliations,
        publication_types=tuple(
            (t.get("UI", ""), clean(t.text)) for t in article.iterfind("PublicationTypeList/PublicationType")
        ),
        mesh_headings=tuple(
            (d.get("UI", ""), clean(d.text))
            for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")
        ),
        substances=tuple(
            (s.get("UI", ""), clean(s.text))
            for s in citation.iterfind("ChemicalList/Chemical/NameOfSubstance")
        ),
        registry_ids=tuple(dict.fromkeys(n.upper() for n in registry)),
        keywords=tuple(clean(k.text) for k in citation.iterfind("KeywordList/Keyword") if clean(k.text)),
    )
    return record, _abstract(article)


def article_document(element: etree._Element) -> Document:
    """One ``PubmedArticle`` as a `Document`; its own XML (serialised alone) is its stored source."""
    record, sections = parse_article(element)
    source = etree.tostring(element, encoding="utf-8", with_tail=False)
    return compose(record, sections, document_id=f"pmid-{record.pmid}", source=source)


def iter_articles(stream: IO[bytes]) -> Iterator[Document | ArticleProblem]:
    """Each article of a ``PubmedArticleSet`` (or a lone ``PubmedArticle``), in file order; an article that
    cannot be read is yielded as its `ArticleProblem`. Raises ``etree.XMLSyntaxError`` for malformed XML."""
    events = etree.iterparse(
        stream, events=("end",), tag=ARTICLE, resolve_entities=False, no_network=True, load_dtd=False
    )
    for _event, element in events:
        try:
            yield article_document(element)
        except ArticleProblem as problem:
            yield problem
        # Read: drop it and everything before it, so memory stays that of one article.
        element.clear(keep_tail=False)
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
