"""Names and entities on unseen phrasings: organizations without sentence punctuation, lead authors as news
writes them, drug targets from verbs, and an unseen news article ingested end to end."""

from __future__ import annotations

import pytest
import support
from support import objects

from kb.extract import extract
from kb.facade import KnowledgeBase
from kb.ingest import parse_document
from kb.models import Extraction

HEADER = "Study Update\nThe phase 2 KRYPTO-4 trial (NCT01234567) is described here.\n"
UNSEEN = support.UNSEEN / "keynote.txt"


def run(body: str) -> Extraction:
    return extract(parse_document("synthetic.txt", HEADER + body + "\n"))


@pytest.mark.parametrize(
    ("sentence", "sponsor"),
    [
        ("The trial was sponsored by Merck Sharp & Dohme.", "Merck Sharp & Dohme"),
        ("The study was sponsored by Acme Biotherapeutics, and results are pending.", "Acme Biotherapeutics"),
        ("It was sponsored by Northwind Oncology; enrollment is complete.", "Northwind Oncology"),
        ("The trial was sponsored by Contoso Pharma Inc.", "Contoso Pharma Inc"),
    ],
)
def test_sponsor_name_never_ends_with_sentence_punctuation(sentence: str, sponsor: str) -> None:
    assert objects(run(sentence), "sponsor") == {sponsor}


def test_funder_name_without_trailing_period() -> None:
    assert objects(run("The work was funded by the Fabrikam Cancer Foundation."), "funder") == {
        "Fabrikam Cancer Foundation"
    }


def test_a_person_who_led_the_study_is_not_an_organization() -> None:
    extraction = run("The trial, led by Jane Roe, MD, enrolled patients at 12 centers.")
    assert objects(extraction, "conductedBy") == set()
    assert objects(extraction, "firstAuthor") == {"Jane Roe"}


@pytest.mark.parametrize(
    "sentence",
    [
        '"This is a new standard," said lead author Maria Okafor, MD, PhD, of Example University.',
        "Lead author Maria Okafor, MD, of Example University, presented the data.",
        "First author Maria Okafor said the benefit was consistent.",
        "Maria Okafor, MD, PhD, the study's lead author, called the results practice changing.",
        "The lead author of the study, Dr. Maria Okafor, noted the low toxicity.",
        "Maria Okafor, MPH, FRCP, lead author of the report, said more work is needed.",
    ],
)
def test_lead_author_phrasings_without_credentials(sentence: str) -> None:
    assert objects(run(sentence), "firstAuthor") == {"Maria Okafor"}


@pytest.mark.parametrize(
    "sentence",
    [
        "Senior author Maria Okafor said the benefit was consistent.",
        "The lead author of the study said the benefit was consistent.",
        "The study was led by the Example Oncology Group across 40 sites.",
        "The analysis was led by Maria Okafor at Example University.",
    ],
)
def test_no_lead_author_without_a_named_person_in_that_role(sentence: str) -> None:
    assert objects(run(sentence), "firstAuthor") == set()


@pytest.mark.parametrize(
    "sentence",
    [
        "Nivolumab blocks PD-1 on T cells.",
        "Nivolumab, which binds to PD-1, was given every 2 weeks.",
        "Nivolumab selectively inhibits PD-1 signalling.",
        "Nivolumab is directed against PD-1.",
        "Nivolumab is a humanized monoclonal antibody that blocks PD-1.",
        "Nivolumab, a monoclonal antibody targeting PD-1, was given every 2 weeks.",
        "Patients received the anti-PD-1 antibody nivolumab every 2 weeks.",
    ],
)
def test_target_from_verbs_and_class_phrases(sentence: str) -> None:
    assert objects(run(sentence), "target", "nivolumab") == {"PD-1"}


def test_a_class_phrase_before_another_drug_is_not_this_drugs() -> None:
    extraction = run("Adding the anti-PD-1 antibody nivolumab to docetaxel improved survival.")
    assert objects(extraction, "drugClass", "docetaxel") == set()
    assert objects(extraction, "target", "docetaxel") == set()
    assert "PD-1 inhibitor" in objects(extraction, "drugClass", "nivolumab")


def test_common_chemotherapy_agents_are_interventions() -> None:
    extraction = run("Patients received carboplatin and paclitaxel or cisplatin plus pemetrexed with 5-FU.")
    assert {"carboplatin", "paclitaxel", "cisplatin", "pemetrexed", "fluorouracil"} <= objects(
        extraction, "intervention"
    )


def test_unseen_article_entities(keynote_kb: KnowledgeBase) -> None:
    rows = keynote_kb.select(
        "SELECT ?sponsor ?author WHERE { ?t a tkb:ClinicalTrial ; tkb:sponsor/rdfs:label ?sponsor ; "
        "tkb:reportedIn/tkb:firstAuthor ?author }"
    )
    assert [(str(r["sponsor"]), str(r["author"])) for r in rows] == [("Merck Sharp & Dohme", "Leena Gandhi")]
    drugs = {str(r["l"]) for r in keynote_kb.select("SELECT ?l WHERE { ?t tkb:intervention/rdfs:label ?l }")}
    assert drugs == {"pembrolizumab", "pemetrexed", "cisplatin", "carboplatin"}
    extraction = extract(parse_document(UNSEEN.name, UNSEEN.read_text()))
    assert objects(extraction, "target", "pembrolizumab") == {"PD-1"}
    assert objects(extraction, "drugClass", "pemetrexed") == set()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who sponsored the trial?", "Merck Sharp & Dohme"),
        ("Who was the lead author?", "Leena Gandhi"),
        ("What does pembrolizumab target?", "PD-1"),
    ],
)
def test_unseen_article_questions(keynote_kb: KnowledgeBase, question: str, expected: str) -> None:
    answer = keynote_kb.ask(question)
    assert answer.answer == expected, answer


def test_unseen_article_drugs_question(keynote_kb: KnowledgeBase) -> None:
    answer = keynote_kb.ask("Which drugs were used?")
    for drug in ("pembrolizumab", "pemetrexed", "cisplatin", "carboplatin"):
        assert drug in answer.answer
