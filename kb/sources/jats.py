"""PMC JATS XML full text (``<article>``): front matter, abstract, body sections, figure and table captions,
and simple tables as one sentence per row, read with lxml into a `Document`."""

from __future__ import annotations

import re

from lxml import etree

from kb.ingest import slugify
from kb.models import ArticleRecord, Document
from kb.sources.record import Section, clean, compose, heading_name

NCT = re.compile(r"\bNCT\d{8}\b")
# Inside a paragraph, these are separate items (read as their own sections) or not prose at all.
_NOT_PROSE = {"fig", "table-wrap", "disp-formula", "supplementary-material", "fn", "table-wrap-foot"}


def _text(element: etree._Element | None, skip: frozenset[str] | set[str] = frozenset()) -> str:
    """The words inside ``element``, leaving out the subtrees whose tag is in ``skip``."""
    if element is None:
        return ""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if isinstance(child.tag, str) and child.tag not in skip:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return clean("".join(parts))


def _strip_namespaces(root: etree._Element) -> None:
    """JATS elements have no namespace, but some publishers add one: tags are compared by local name."""
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = etree.QName(element).localname


def _date(meta: etree._Element) -> str | None:
    best: tuple[int, str] | None = None
    for date in meta.iterfind("pub-date"):
        year = clean(date.findtext("year"))
        if not year.isdigit():
            continue
        month, day = clean(date.findtext("month")), clean(date.findtext("day"))
        value = year
        if month.isdigit() and 1 <= int(month) <= 12:
            value += f"-{int(month):02d}"
            if day.isdigit() and 1 <= int(day) <= 31:
                value += f"-{int(day):02d}"
        kind = date.get("pub-type") or date.get("date-type") or ""
        rank = len(value) * 2 + (kind in {"epub", "pub", "ppub"})  # the fullest date, then a publication date
        if best is None or rank > best[0]:
            best = (rank, value)
    return best[1] if best else None


def _authors(meta: etree._Element) -> tuple[tuple[str, ...], tuple[str, ...]]:
    authors = []
    for contrib in meta.iterfind(".//contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        surname = clean(contrib.findtext("name/surname"))
        if surname:
            given = clean(contrib.findtext("name/given-names"))
            initials = "".join(word[0] for word in re.split(r"[\s.-]+", given) if word)
            authors.append(f"{surname} {initials}".strip())
        elif collab := _text(contrib.find("collab")):
            authors.append(collab)
    affiliations = dict.fromkeys(t for aff in meta.iterfind(".//aff") if (t := _text(aff, {"label"})))
    return tuple(authors), tuple(affiliations)


def _table_rows(wrap: etree._Element) -> list[str]:
    """A simple table (no merged cells) as sentences, one per body row: "Label: header value; header value."."""
    table = wrap.find(".//table")
    if table is None:
        return []
    cells = table.iterfind(".//td"), table.iterfind(".//th")
    if any(
        int(c.get("rowspan", "1") or 1) > 1 or int(c.get("colspan", "1") or 1) > 1
        for group in cells
        for c in group
    ):
        return []  # merged cells: rows cannot be read without the layout; the caption stands alone
    header_rows = table.findall("thead/tr")
    header = [_text(cell) for cell in header_rows[-1]] if header_rows else []
    body_rows = table.findall("tbody/tr") or [
        row for row in table.iterfind(".//tr") if row.getparent().tag != "thead"
    ]
    sentences = []
    for row in body_rows:
        values = [_text(cell) for cell in row]
        if not any(values):
            continue
        label, rest = values[0], values[1:]
        names = header[1:] if len(header) == len(values) else [""] * len(rest)
        pairs = "; ".join(f"{name} {value}".strip() for name, value in zip(names, rest, strict=True) if value)
        sentences.append(f"{label}: {pairs}." if label and pairs else f"{label or pairs}.")
    return sentences


def _item(element: etree._Element, kind: str) -> Section:
    """A figure or table: its label ("Figure 1") is its heading; the caption, then a simple table's rows."""
    label = _text(element.find("label")) or kind
    caption = element.find("caption")
    paragraphs = [label]
    if caption is not None:
        paragraphs += [_text(caption.find("title")), *(_text(p) for p in caption.iterfind("p"))]
    if kind == "Table":
        paragraphs += _table_rows(element)
    return Section(heading_name(label), tuple(p for p in paragraphs if p))


def _body(body: etree._Element | None) -> list[Section]:
    """Top-level sections under their titles (a subsection's title is a line inside its section), with each
    figure and table as its own section where it appears."""
    sections: list[Section] = []
    if body is None:
        return sections

    def walk(node: etree._Element, heading: str | None, lines: list[str]) -> list[str]:
        for child in node:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "title":
                continue
            if tag in ("fig", "table-wrap"):
                if lines:
                    sections.append(Section(heading, tuple(lines)))
                    lines = []
                sections.append(_item(child, "Figure" if tag == "fig" else "Table"))
            elif tag == "sec":
                title = _text(child.find("title"))
                if heading is None:  # a top-level section: its own heading
                    if lines:
                        sections.append(Section(None, tuple(lines)))
                    inner = walk(child, heading_name(title) if title else None, [title] if title else [])
                    if inner:
                        sections.append(Section(heading_name(title) if title else None, tuple(inner)))
                    lines = []
                else:
                    lines = walk(child, heading, [*lines, title] if title else lines)
            elif tag in ("p", "list", "disp-quote", "boxed-text"):
                if text := _text(child, _NOT_PROSE):
                    lines.append(text)
                for nested in child.iter("fig", "table-wrap"):
                    if lines:
                        sections.append(Section(heading, tuple(lines)))
                        lines = []
                    sections.append(_item(nested, "Figure" if nested.tag == "fig" else "Table"))
        return lines

    rest = walk(body, None, [])
    if rest:
        sections.append(Section(None, tuple(rest)))
    # A top-level section's title is printed as its first line; passages carry it as their heading.
    return [Section(s.heading, s.paragraphs, shown=False) for s in sections]


def _abstract(meta: etree._Element) -> list[Section]:
    abstract = next(
        (a for a in meta.iterfind("abstract") if a.get("abstract-type") in (None, "structured")), None
    )
    if abstract is None:
        return []
    parts = abstract.findall("sec")
    if not parts:
        return [Section("Abstract", tuple(_text(p) for p in abstract.iterfind(".//p")), shown=False)]
    return [
        Section(
            heading_name(_text(sec.find("title")) or "Abstract"),
            (" ".join(_text(p) for p in sec.iterfind(".//p")),),
            inline=True,
        )
        for sec in parts
    ]


def article_document(root: etree._Element, source: bytes, fallback_id: str) -> Document:
    """A JATS ``<article>`` as a `Document`, ``source`` (the file's bytes) its stored source."""
    _strip_namespaces(root)
    front = root.find("front")
    meta = front.find("article-meta") if front is not None else None
    if meta is None:
        raise ValueError("a JATS article without front/article-meta")
    journal = front.find("journal-meta") if front is not None else None
    ids = {(i.get("pub-id-type") or "").lower(): clean(i.text) for i in meta.iterfind("article-id")}
    pmcid = ids.get("pmcid") or ids.get("pmc") or ""
    if pmcid.isdigit():
        pmcid = f"PMC{pmcid}"
    registry = [
        *(clean(link.text) for link in root.iter("ext-link") if link.get("ext-link-type") == "clintrialgov"),
        *NCT.findall(_text(meta)),
    ]
    authors, affiliations = _authors(meta)
    abbreviation = None
    if journal is not None:
        abbreviation = clean(journal.findtext("journal-id[@journal-id-type='iso-abbrev']")) or clean(
            journal.findtext("journal-id[@journal-id-type='nlm-ta']")
        )
    record = ArticleRecord(
        format="jats",
        pmid=ids.get("pmid") if ids.get("pmid", "").isdigit() else None,
        pmcid=pmcid if re.fullmatch(r"PMC\d+", pmcid) else None,
        doi=ids.get("doi") or None,
        title=_text(meta.find("title-group/article-title")),
        journal_title=_text(journal.find(".//journal-title")) or None if journal is not None else None,
        journal_abbreviation=abbreviation or None,
        issns=tuple(clean(i.text) for i in journal.iterfind("issn") if clean(i.text))
        if journal is not None
        else (),
        published=_date(meta),
        authors=authors,
        affiliations=affiliations,
        publication_types=(
            (("", root.get("article-type", "").replace("-", " ").capitalize()),)
            if root.get("article-type")
            else ()
        ),
        registry_ids=tuple(dict.fromkeys(n.upper() for n in registry if NCT.fullmatch(n.upper()))),
        keywords=tuple(_text(k) for k in meta.iterfind("kwd-group/kwd") if _text(k)),
    )
    if record.pmcid:
        document_id = record.pmcid.lower()
    elif record.doi:
        document_id = "doi-" + slugify(record.doi, 100)
    else:
        document_id = slugify(fallback_id)
    sections = _abstract(meta) + _body(root.find("body"))
    return compose(record, sections, document_id=document_id, source=source)
