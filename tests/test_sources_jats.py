"""PMC JATS XML full text: front matter, structured abstract, body sections with titles, a figure caption and
a simple table read as rows; the article's DOI and its trial's NCT id (a clintrialgov link) in the KB."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import DATA

from kb.facade import KnowledgeBase
from kb.models import Document
from kb.sources import SourceFailure, SourceFile

ARTICLE = DATA / "jats" / "a041703.xml"


def read(path: Path) -> Document:
    (document,) = list(SourceFile(path).documents())
    assert isinstance(document, Document), document
    return document


def test_front_matter() -> None:
    document = read(ARTICLE)
    record = document.record
    assert record is not None and record.format == "jats"
    assert document.id == "doi-10-1200-jco-25-00307"  # no PMCID here: the DOI names it
    assert record.doi == "10.1200/JCO-25-00307" and record.pmid is None and record.pmcid is None
    assert record.journal_title == "Journal of Clinical Oncology"
    assert record.issns == ("0732-183X", "1527-7755")
    assert record.published == "2025-09-30"
    assert record.authors == ("Wieduwilt MJ",)
    assert record.affiliations == ("Wake Forest University School of Medicine, Winston-Salem, NC",)
    assert record.registry_ids == ("NCT03739814",)
    assert record.publication_types == (("", "Research article"),)


def test_sections_figures_and_tables() -> None:
    document = read(ARTICLE)
    body = [p.heading for p in document.passages if p.section == "body"]
    headings = [h for n, h in enumerate(body) if n == 0 or body[n - 1] != h]  # each run of passages once
    assert headings == [
        "Purpose", "Methods", "Results", "Conclusion", "Introduction", "Methods", "Results", "Figure 1",
        "Table 1", "Discussion",
    ]  # fmt: skip
    by_heading: dict[str | None, list[str]] = {}
    for passage in document.passages:
        by_heading.setdefault(passage.heading, []).append(passage.text)
    assert (
        "Kaplan-Meier estimates of event-free survival and overall survival for the 33 patients of Cohort 1."
        in (by_heading["Figure 1"])
    )
    assert "Complete remission: Rate 97%." in by_heading["Table 1"]
    assert "One-year overall survival: Rate 85%." in by_heading["Table 1"]
    # A subsection's title is a line inside its top-level section; references are not read.
    assert "Treatment" in by_heading["Methods"]
    assert "A reference that is not read" not in document.text
    # The body's section headings follow the abstract's: the text holds both, in order.
    assert document.text.index("Purpose: Older adults") < document.text.index("\nIntroduction\n")


def test_merged_cells_leave_the_caption_only(tmp_path: Path) -> None:
    text = ARTICLE.read_text(encoding="utf-8").replace("<th>Rate</th>", '<th colspan="2">Rate</th>')
    path = tmp_path / "merged.nxml"
    path.write_text(text, encoding="utf-8")
    table = [p.text for p in read(path).passages if p.heading == "Table 1"]
    assert table == ["Table 1", "Outcomes at a median follow-up of one year."]


def test_not_jats_nor_medline(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<?xml version='1.0'?><rss><channel/></rss>", encoding="utf-8")
    (failure,) = list(SourceFile(path).documents())
    assert isinstance(failure, SourceFailure) and "root <rss>" in failure.reason


@pytest.fixture(scope="module")
def jats_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("jats") / "kb")
    report = kb.ingest([ARTICLE])
    assert [o.status for o in report.outcomes] == ["added"], report
    return kb


def test_in_the_kb(jats_kb: KnowledgeBase) -> None:
    rows = jats_kb.select(
        """SELECT ?iri WHERE { ?p a tkb:Publication ; tkb:doi "10.1200/JCO-25-00307" ; schema:sameAs ?iri }"""
    )
    assert {str(r["iri"]) for r in rows} == {"https://doi.org/10.1200/JCO-25-00307"}
    trial = jats_kb.select(
        """SELECT ?name WHERE { <https://w3id.org/trialkb/resource/trial/NCT03739814> a tkb:ClinicalTrial ;
             tkb:trialName ?name }"""
    )
    assert "A041703" in {str(r["name"]) for r in trial}
    assert jats_kb.validate().conforms


def test_answer_and_search_name_the_section(jats_kb: KnowledgeBase) -> None:
    answer = jats_kb.ask("What was the complete remission rate?").to_dict()
    assert not answer["abstained"] and 97.0 in {float(v["value"]) for v in answer["values"]}, answer
    hits = jats_kb.search("Kaplan-Meier estimates of event-free survival", k=3)
    assert hits[0].metadata["heading"] == "Figure 1"
