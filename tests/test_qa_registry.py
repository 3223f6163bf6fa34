"""Registry questions: answered from an imported ClinicalTrials.gov record (source_kind "registry", the
record's field as evidence), article and registry values side by side, abstention when no record is imported."""

from __future__ import annotations

import json
import shutil

import pytest
import support
from support import DATA

from kb.facade import KnowledgeBase
from kb.qa.evaluate import evaluate, load_questions
from kb.qa.evidence import value_check

QUESTIONS = DATA / "qa_registry.jsonl"
RECORD_PAGE = "https://clinicaltrials.gov/study/NCT03739814"
# Questions the article answers by itself (results, and its own enrollment).
ARTICLE_ANSWERS = {"r08", "r09", "r19"}


@pytest.fixture(scope="module")
def articles_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return support.seed_kb(tmp_path_factory.mktemp("registry-qa") / "articles")


@pytest.fixture(scope="module")
def linked_kb(articles_kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return support.linked_copy(articles_kb, tmp_path_factory.mktemp("registry-qa") / "linked")


def test_registry_question_set(linked_kb: KnowledgeBase) -> None:
    report = evaluate(linked_kb, QUESTIONS)
    print()
    print(report.render())
    assert report.accuracy >= 0.95, report.render()
    assert report.abstention_recall == 1.0
    assert report.wrong_rate == 0.0


@pytest.mark.parametrize(
    ("question", "value", "evidence"),
    [
        ("What phase is the trial?", "Phase 2", "Phase: Phase 2"),
        ("What is its status?", "SUSPENDED", "Overall status: SUSPENDED (Other - FDA Partial Clinical Hold)"),
        ("Why was it stopped?", "Other - FDA Partial Clinical Hold", "Overall status: SUSPENDED"),
        ("Who sponsors it?", "National Cancer Institute", "Lead sponsor: National Cancer Institute (NCI)"),
        ("How many participants does the registry list?", 64, "Enrollment: 64 (ESTIMATED)"),
    ],
)
def test_registry_answers_cite_the_record(
    linked_kb: KnowledgeBase, question: str, value: object, evidence: str
) -> None:
    answer = linked_kb.ask(question)
    assert answer.source_kind == "registry", answer
    assert value in [v.value for v in answer.values], answer
    assert all(v.source == "registry/NCT03739814" for v in answer.values)
    assert answer.sparql and "GRAPH ?g" in answer.sparql
    span = answer.evidence[0]
    assert span.document == RECORD_PAGE and span.passage.startswith("protocolSection.")
    assert span.text.startswith(evidence) and span.end - span.start == len(span.text)
    kind = "number" if isinstance(value, int) else "name"
    assert value_check(value, kind, [str(value)])(span.text)
    data = answer.to_dict()
    assert data["evidence"][0]["document"] == RECORD_PAGE and data["source_kind"] == "registry"


def test_primary_outcomes_keep_the_registered_order(linked_kb: KnowledgeBase) -> None:
    answer = linked_kb.ask("What is the primary outcome?")
    labels = [v.value for v in answer.values]
    assert labels[0].startswith("Tolerability") and labels[1:] == [
        "Event-free survival (Cohort 1)",
        "Event-free survival (Cohort 2)",
    ]
    assert all("time frame" in span.text for span in answer.evidence)


def test_enrollment_gives_both_sources_and_why_they_differ(linked_kb: KnowledgeBase) -> None:
    answer = linked_kb.ask("How many patients were enrolled?")
    by_source = {v.source: v.value for v in answer.values}
    assert by_source == {"000-ddb5accd812ab49c": 33, "registry/NCT03739814": 64}
    text = answer.answer or ""
    assert "33 (article" in text and "64 (estimated) (ClinicalTrials.gov NCT03739814" in text
    assert "Cohort 1 only" in text
    documents = {span.document for span in answer.evidence}
    assert documents == {"000-ddb5accd812ab49c", RECORD_PAGE}


def test_results_stay_with_the_article(linked_kb: KnowledgeBase) -> None:
    answer = linked_kb.ask("What was the complete remission rate?")
    assert answer.answer == "97%" and answer.source_kind == "kb"
    assert [v.source for v in answer.values] == ["000-ddb5accd812ab49c"]


def test_yes_no_on_the_status(linked_kb: KnowledgeBase) -> None:
    assert (linked_kb.ask("Is the trial still recruiting?").answer or "").startswith("No:")
    assert (linked_kb.ask("Has the trial been suspended?").answer or "").startswith("Yes:")


def test_without_a_record_registry_questions_say_how_to_import_it(articles_kb: KnowledgeBase) -> None:
    for item in load_questions(QUESTIONS):
        answer = articles_kb.ask(item["q"])
        if item["kind"] == "unanswerable":
            assert answer.abstained, answer
        elif item["id"] in ARTICLE_ANSWERS:
            assert not answer.abstained and answer.source_kind == "kb", answer
        else:
            assert answer.abstained, answer
            assert answer.reason == "no registry record imported; run trialkb link NCT03739814", answer
    enrolled = articles_kb.ask("How many patients were enrolled?")
    assert enrolled.answer == "33"


def test_registry_dates_with_their_kind(linked_kb: KnowledgeBase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    started = linked_kb.ask("When did the trial start?")
    assert started.answer == "2018-11-16 (actual)" and started.source_kind == "registry"
    assert all(v.source == "registry/NCT03739814" for v in started.values)
    # The shared record states no completion date: a record that does (as estimates) is answered with both.
    record = json.loads(support.SHARED_RECORD.read_text(encoding="utf-8"))
    status = record.get("protocolSection", record)["statusModule"]
    status["primaryCompletionDateStruct"] = {"date": "2026-12-31", "type": "ESTIMATED"}
    status["completionDateStruct"] = {"date": "2027-06", "type": "ESTIMATED"}
    (tmp_path / "record.json").write_text(json.dumps(record), encoding="utf-8")
    relinked = KnowledgeBase(shutil.copytree(linked_kb.home, tmp_path / "kb"))
    relinked.link(["NCT03739814"], tmp_path / "record.json")
    completed = relinked.ask("When will the study be completed?")
    assert (
        completed.answer == "primary completion 2026-12-31 (estimated), study completion 2027-06 (estimated)"
    )
    assert completed.source_kind == "registry"


def test_registry_dates_without_a_record_say_how_to_import_it(articles_kb: KnowledgeBase) -> None:
    answer = articles_kb.ask("When did the trial start?")
    assert answer.abstained and "trialkb link" in (answer.reason or "")
