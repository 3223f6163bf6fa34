"""MEDLINE/PubMed XML: records parse into documents with sections, and their fields land in the KB (SPARQL);
the trial links by its DataBankList NCT id; questions answer like for the text version; search hits say the
section; re-ingesting is unchanged; a non-trial record is skipped; malformed XML fails alone, in one line."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from support import DATA, UNSEEN, run_cli

from kb.facade import KnowledgeBase
from kb.models import Document
from kb.sources import SourceFailure, SourceFile

MEDLINE = DATA / "medline"
KEYNOTE = MEDLINE / "keynote189.xml"
SEVERAL = MEDLINE / "several.xml.gz"
REVIEW = MEDLINE / "nontrial-review.xml"
MALFORMED = MEDLINE / "malformed.xml"
CORPUS_ZUMA3 = DATA / "corpus" / "zuma3-abstract.txt"


def documents(path: Path) -> list[Document]:
    items = list(SourceFile(path).documents())
    assert all(isinstance(item, Document) for item in items), items
    return [item for item in items if isinstance(item, Document)]


def test_record_fields_and_sections() -> None:
    (document,) = documents(KEYNOTE)
    record = document.record
    assert record is not None
    assert document.id == "pmid-29658856"
    assert (record.pmid, record.doi) == ("29658856", "10.1056/NEJMoa1801005")
    assert record.journal_abbreviation == "N Engl J Med" and record.issns == ("1533-4406",)
    assert record.published == "2018-05-31"
    assert record.authors[:2] == ("Gandhi L", "Rodríguez-Abreu D")
    assert record.affiliations == ("Perlmutter Cancer Center, NYU Langone Health, New York.",)
    assert ("D016449", "Randomized Controlled Trial") in record.publication_types
    assert ("D002289", "Carcinoma, Non-Small-Cell Lung") in record.mesh_headings
    assert ("D000068437", "Pemetrexed") in record.substances
    assert record.registry_ids == ("NCT02578680",) and record.reports_trial
    headings = [p.heading for p in document.passages if p.section == "body"]
    assert list(dict.fromkeys(headings)) == ["Background", "Methods", "Results", "Conclusions"]
    # Inline markup (<i>EGFR</i>) is read as its words; the title loses MEDLINE's closing full stop.
    assert "without sensitizing EGFR or ALK mutations" in document.text
    assert document.title == "Pembrolizumab plus Chemotherapy in Metastatic Non-Small-Cell Lung Cancer"
    for passage in document.passages:
        assert document.text[passage.start : passage.end] == passage.text


def test_gzip_file_with_several_articles() -> None:
    found = documents(SEVERAL)
    assert [d.id for d in found] == ["pmid-34097852", "pmid-32786187", "pmid-31825192"]
    assert [d.record.registry_ids for d in found if d.record] == [
        ("NCT02614066",),
        ("NCT02993523",),
        ("NCT03248492",),
    ]
    # A label MEDLINE maps to another category keeps the label the article printed.
    assert "Findings" in {p.heading for p in found[0].passages}


def test_malformed_xml_is_one_failure_naming_the_line() -> None:
    (failure,) = list(SourceFile(MALFORMED).documents())
    assert isinstance(failure, SourceFailure)
    assert "not well-formed XML: line 8" in failure.reason and "\n" not in failure.reason


def _baseline(path: Path, articles: int) -> None:
    """A baseline-sized file: the KEYNOTE-189 record repeated with distinct PMIDs."""
    record = KEYNOTE.read_text(encoding="utf-8")
    article = record[record.index("<PubmedArticle>") : record.index("</PubmedArticleSet>")]
    with path.open("w", encoding="utf-8") as file:
        file.write("<?xml version='1.0'?>\n<PubmedArticleSet>\n")
        for number in range(articles):
            file.write(article.replace("29658856", str(40_000_000 + number)))
        file.write("</PubmedArticleSet>\n")


def _peak_parsing(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    count = sum(1 for item in SourceFile(path).documents() if isinstance(item, Document))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak


def test_streaming_memory_stays_flat(tmp_path: Path) -> None:
    """Parsing (without extraction) keeps the memory of one article: 5,000 articles peak like 500 do."""
    small, large = tmp_path / "small.xml", tmp_path / "large.xml"
    _baseline(small, 500)
    _baseline(large, 5_000)
    count_small, peak_small = _peak_parsing(small)
    count_large, peak_large = _peak_parsing(large)
    assert (count_small, count_large) == (500, 5_000)
    print(
        f"\nparse peak: 500 articles {peak_small / 2**20:.2f} MiB, 5,000 articles {peak_large / 2**20:.2f} MiB"
    )
    assert peak_large < 2 * peak_small + 2**20  # not ten times: nothing of the read articles is kept
    assert peak_large < 16 * 2**20


@pytest.fixture(scope="module")
def medline_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("medline") / "kb")
    # The text versions of KEYNOTE-189 and ZUMA-3 too (ZUMA-3's cites the same DOI, dated by year only).
    report = kb.ingest([KEYNOTE, SEVERAL, REVIEW, MALFORMED, UNSEEN / "keynote.txt", CORPUS_ZUMA3])
    statuses = {(o.path, o.status) for o in report.outcomes}
    assert ("pmid-21376230.xml", "skipped") in statuses
    assert (str(MALFORMED), "failed") in statuses
    assert {o.document_id for o in report.outcomes if o.status == "added"} == {
        "pmid-29658856",
        "pmid-34097852",
        "pmid-32786187",
        "pmid-31825192",
        "keynote",
        "zuma3-abstract",
    }
    return kb


def test_fields_in_the_kb(medline_kb: KnowledgeBase) -> None:
    rows = medline_kb.select(
        """SELECT ?doi ?pubmed ?mesh ?type ?journal ?issn WHERE {
             ?publication tkb:pmid "29658856" ; tkb:doi ?doi ; schema:sameAs ?pubmed ;
                          tkb:meshHeading ?mesh ; tkb:publicationType ?type ; tkb:journal ?j .
             ?j rdfs:label ?journal . OPTIONAL { ?j tkb:issn ?issn }
             FILTER(STRSTARTS(STR(?pubmed), "https://pubmed."))
           }"""
    )
    assert {str(r["doi"]) for r in rows} == {"10.1056/NEJMoa1801005"}
    assert {str(r["pubmed"]) for r in rows} == {"https://pubmed.ncbi.nlm.nih.gov/29658856/"}
    assert "http://id.nlm.nih.gov/mesh/D002289" in {str(r["mesh"]) for r in rows}
    assert "http://id.nlm.nih.gov/mesh/D016449" in {str(r["type"]) for r in rows}
    same = medline_kb.select('SELECT ?iri WHERE { ?p tkb:pmid "29658856" ; schema:sameAs ?iri }')
    assert "https://doi.org/10.1056/NEJMoa1801005" in {str(r["iri"]) for r in same}
    label = medline_kb.select("SELECT ?l WHERE { <http://id.nlm.nih.gov/mesh/D016449> rdfs:label ?l }")
    assert [str(r["l"]) for r in label] == ["Randomized Controlled Trial"]
    sections = medline_kb.select(
        """SELECT DISTINCT ?heading WHERE { ?p a tkb:Passage ; tkb:sectionHeading ?heading ;
             dcterms:isPartOf <https://w3id.org/trialkb/resource/document/pmid-29658856> }"""
    )
    assert {str(r["heading"]) for r in sections} == {"Background", "Methods", "Results", "Conclusions"}
    assert medline_kb.validate().conforms


def test_same_article_from_record_and_text_joins_by_doi(medline_kb: KnowledgeBase) -> None:
    """The record's publication is its own node (its issue date beside the text's year would be two dates
    of one node); both carry the DOI and its https://doi.org/ IRI, which joins them."""
    rows = medline_kb.select(
        """SELECT ?p ?date WHERE { ?p tkb:doi "10.1016/S0140-6736(21)01222-8" ; schema:datePublished ?date }"""
    )
    assert sorted(str(r["date"]) for r in rows) == ["2021", "2021-08-07"]
    joined = medline_kb.select(
        """SELECT ?pmid WHERE { ?p schema:sameAs <https://doi.org/10.1016/S0140-6736(21)01222-8> ; tkb:pmid ?pmid }"""
    )
    assert [str(r["pmid"]) for r in joined] == ["34097852"]
    assert medline_kb.validate().conforms


def test_trial_links_by_databank_nct_id(medline_kb: KnowledgeBase) -> None:
    """The KEYNOTE-189 abstract here never names the trial nor its NCT id: DataBankList does, and the text
    version (which names both) is about the same trial node."""
    rows = medline_kb.select(
        """SELECT DISTINCT ?g WHERE { GRAPH ?g { <https://w3id.org/trialkb/resource/trial/NCT02578680>
             a tkb:ClinicalTrial } }"""
    )
    graphs = {str(r["g"]).rsplit("/", 1)[-1] for r in rows}
    assert {"pmid-29658856", "keynote"} <= graphs
    reported = medline_kb.select(
        """SELECT ?pmid WHERE { <https://w3id.org/trialkb/resource/trial/NCT02614066> tkb:reportedIn ?p .
             ?p tkb:pmid ?pmid }"""
    )
    assert {str(r["pmid"]) for r in reported} == {"34097852"}


def test_question_answers_like_the_text_version(medline_kb: KnowledgeBase) -> None:
    """The per-arm values the text version gives (tests/test_extract_arms.py), read from the MEDLINE record."""
    answer = medline_kb.ask("What was the objective response rate in NCT02578680?").to_dict()
    assert not answer["abstained"], answer
    values = {(float(v["value"]), v["subject"].split(" ", 1)[1]) for v in answer["values"]}
    assert values == {(47.6, "pembrolizumab-combination group"), (18.9, "placebo-combination group")}
    assert answer["evidence"] and "47.6%" in answer["evidence"][0]["text"]


def test_search_hit_says_the_section(medline_kb: KnowledgeBase) -> None:
    hits = medline_kb.search(
        "objective response rate pembrolizumab combination", k=5, document="pmid-29658856"
    )
    assert hits and hits[0].metadata["heading"] == "Results"


def test_reingest_is_unchanged_and_cli_json_report(medline_kb: KnowledgeBase) -> None:
    result = run_cli("ingest", str(KEYNOTE), str(SEVERAL), str(REVIEW), "--json", home=medline_kb.home)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ingested"] == 0 and report["unchanged"] == 4 and report["failed"] == []
    assert [item["document"] for item in report["skipped"]] == ["pmid-21376230"]
    assert "use --force" in report["skipped"][0]["reason"]


def test_build_reads_the_stored_articles(medline_kb: KnowledgeBase, tmp_path: Path) -> None:
    """`trialkb build` rebuilds from the stored sources: each article's own XML."""
    import shutil

    home = tmp_path / "copy"
    shutil.copytree(medline_kb.home / "sources", home / "sources")
    shutil.copy(medline_kb.home / "manifest.json", home / "manifest.json")
    for snapshot in medline_kb.home.glob("kb-*.nq"):
        shutil.copy(snapshot, home / snapshot.name)
    rebuilt = KnowledgeBase(home)
    report = rebuilt.build()
    assert not report.failed and report.documents == 6
    assert rebuilt.manifest.documents == medline_kb.manifest.documents


def test_cli_search_names_the_section(medline_kb: KnowledgeBase) -> None:
    result = run_cli(
        "search", "objective response rate", "--document", "pmid-29658856", "-k", "1", home=medline_kb.home
    )
    assert result.returncode == 0, result.stderr
    assert "Results section" in result.stdout.splitlines()[0]


def test_force_adds_a_record_that_reports_no_trial(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    refused = kb.ingest([REVIEW])
    assert [o.status for o in refused.outcomes] == ["skipped"] and not kb.exists()
    forced = kb.ingest([REVIEW], force=True)
    assert [o.status for o in forced.outcomes] == ["added"]
    rows = kb.select('SELECT ?g WHERE { ?p tkb:pmid "21376230" ; schema:genre "Review" }')
    assert len(rows) == 1 and kb.validate().conforms
