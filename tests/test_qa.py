"""Question understanding: normalisation, entity linking (synonyms, abbreviations, typos, ids) and intents."""

from __future__ import annotations

import pytest

from kb.errors import QueryRejected
from kb.qa.linking import EntityIndex, build_index
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.queries import iri, property_query
from kb.qa.render import states_date, states_number, with_unit
from kb.qa.understand import normalise, understand

RES = "https://w3id.org/trialkb/resource/"
TKB = "https://w3id.org/trialkb/ontology#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
ALT = "http://www.w3.org/2004/02/skos/core#altLabel"


class Entry:
    def __init__(self, kind: str, key: str, label: str, *synonyms: str) -> None:
        self.kind, self.key, self.label = kind, key, label
        self.names = (label, *synonyms)


def _row(segment: str, kind: str, name: str, predicate: str = RDFS_LABEL) -> dict[str, object]:
    return {"entity": RES + segment, "type": TKB + kind, "name": name, "predicate": predicate}


@pytest.fixture(scope="module")
def index() -> EntityIndex:
    rows = [
        _row("trial/NCT03739814", "ClinicalTrial", "A041703"),
        _row("trial/NCT03739814", "ClinicalTrial", "NCT03739814", TKB + "nctId"),
        _row("trial/NCT02614066", "ClinicalTrial", "ZUMA-3"),
        _row("drug/blinatumomab", "Drug", "blinatumomab"),
        _row("drug/inotuzumab-ozogamicin", "Drug", "inotuzumab ozogamicin"),
        _row("target/cd19", "MolecularTarget", "CD19"),
        _row("drug-class/antibody-drug-conjugate", "DrugClass", "antibody-drug conjugate"),
        _row("endpoint/complete-remission", "Endpoint", "complete remission"),
        _row("endpoint/overall-survival", "Endpoint", "overall survival"),
        _row("endpoint/event-free-survival", "Endpoint", "event-free survival"),
        _row("disease/b-cell-acute-lymphoblastic-leukemia", "Disease", "B-cell acute lymphoblastic leukemia"),
        _row("organization/pfizer", "Organization", "Pfizer"),
    ]
    lexicon = [
        Entry("Drug", "blinatumomab", "blinatumomab", "blina", "Blincyto"),
        Entry("Drug", "inotuzumab-ozogamicin", "inotuzumab ozogamicin", "InO", "inotuzumab"),
        Entry(
            "Endpoint", "complete-remission", "complete remission", "CR", "CR rate", "complete remission rate"
        ),
        Entry("Endpoint", "overall-survival", "overall survival", "OS"),
        Entry("Endpoint", "event-free-survival", "event-free survival", "EFS"),
        Entry(
            "Disease",
            "b-cell-acute-lymphoblastic-leukemia",
            "B-cell acute lymphoblastic leukemia",
            "B-ALL",
            "ALL",
        ),
        Entry("Drug", "rituximab", "rituximab", "Rituxan"),
    ]
    return build_index(rows, lexicon)


def _linked(index: EntityIndex, text: str) -> set[str]:
    return {str(m.entity.iri).rsplit("/", 1)[-1] for m in index.find(text) if m.entity.in_kb}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What does InO target?", "inotuzumab-ozogamicin"),
        ("what does ino target", "inotuzumab-ozogamicin"),
        ("cycles of blina", "blinatumomab"),
        ("What is the target of blinatumumab?", "blinatumomab"),  # typo
        ("BLINATUMOMAB", "blinatumomab"),
        ("the CR rate", "complete-remission"),
        ("3-year OS", "overall-survival"),
        ("results of zuma3", "NCT02614066"),
        ("NCT03739814", "NCT03739814"),
        ("inotuzumab's target", "inotuzumab-ozogamicin"),
    ],
)
def test_entity_linking(index: EntityIndex, text: str, expected: str) -> None:
    assert expected in _linked(index, text)


def test_english_words_are_not_abbreviations(index: EntityIndex) -> None:
    assert "b-cell-acute-lymphoblastic-leukemia" not in _linked(index, "did all patients respond")
    assert "b-cell-acute-lymphoblastic-leukemia" in _linked(index, "older adults with ALL")


def test_lexicon_entities_outside_the_kb_are_recognised(index: EntityIndex) -> None:
    question = understand("Which trials used rituximab?", index)
    assert [e.label for e in question.outside()] == ["rituximab"]


@pytest.mark.parametrize(
    ("text", "intent", "detail"),
    [
        ("What was the complete remission rate?", "outcome", None),
        ("What was the 3-year OS?", "outcome", None),
        ("What was the hazard ratio for death?", "outcome", None),
        ("How many patients were enrolled?", "property", "enrolled_count"),
        ("How many patients were randomized?", "property", "randomized_count"),
        ("What was the age range?", "property", "age_range"),
        ("What was the median age?", "property", "median_age"),
        ("What does blinatumomab target?", "property", "target"),
        ("What kind of drug is blinatumomab?", "property", "drug_class"),
        ("What is the NCT number?", "property", "nct_id"),
        ("Who is the lead author?", "property", "first_author"),
        ("Which journal published it?", "property", "journal"),
        ("When was the paper published?", "property", "date_published"),
        ("Who funded the study?", "property", "funders"),
        ("Who sponsored ZUMA-3?", "property", "sponsor"),
        ("Which group ran the trial?", "property", "conducted_by"),
        ("How many cycles of blinatumomab were given?", "property", "cycles"),
        ("What dose of blinatumomab was used?", "property", "dose"),
        ("What type of leukemia was studied?", "property", "disease"),
        ("Which drugs target CD19?", "list_drugs", None),
        ("Which drug is an antibody-drug conjugate?", "list_drugs", None),
        ("Which trials used a drug targeting CD19?", "list_trials", None),
        ("How many trials used blinatumomab?", "count_trials", None),
        ("Which trials had a complete remission rate above 90%?", "list_trials", None),
        ("Did the regimen include chemotherapy?", "yesno", None),
        ("Who won the 2018 World Cup?", "none", None),
    ],
)
def test_intents(index: EntityIndex, text: str, intent: str, detail: str | None) -> None:
    question = understand(text, index)
    assert question.intent == intent, question
    if detail is not None:
        assert question.prop is not None and question.prop.name == detail


def test_outcome_details(index: EntityIndex) -> None:
    question = understand("What was three-year overall survival in ZUMA-3?", index)
    assert question.time_point_months == 36
    assert [t.label for t in question.trials] == ["ZUMA-3"]
    assert question.endpoints[0].endswith("endpoint/overall-survival")
    median = understand("What was median OS?", index)
    assert median.statistic == "median"
    threshold = understand("Which trials had complete remission above 90%?", index)
    assert threshold.comparison == ("above", 90.0)


def test_unknown_trials_and_unexplained_words(index: EntityIndex) -> None:
    assert understand("What was the CR rate in the ALCANTARA trial?", index).unknown_names == ("ALCANTARA",)
    assert "occlusive" in understand("How many patients had veno-occlusive disease?", index).unexplained


def test_normalise_strips_controls_and_caps_length() -> None:
    assert normalise("What\x00 was\x1b the\u200b rate?\n", 100) == "What was the rate?"
    assert len(normalise("x" * 10_000, 2000)) == 2000


def test_values_render_and_are_found_in_text() -> None:
    assert with_unit(97, "%") == "97%"
    assert with_unit(1, "year") == "1 year"
    assert with_unit("18.2", "months") == "18.2 months"
    assert states_number("a median follow-up of one year", 1)
    assert not states_number("in 197 patients", 97)
    assert states_date("News Publication Date: 30-Sep-2025", "2025-09-30")


def test_queries_take_only_iris() -> None:
    with pytest.raises(QueryRejected):
        iri("http://x> } ; DROP ALL #")
    query = property_query("trial", ("tkb:nctId",), [RES + "trial/NCT03739814"], [])
    assert "<https://w3id.org/trialkb/resource/trial/NCT03739814>" in query


def test_answer_json_shape() -> None:
    answer = Answer(
        "q?",
        "97%",
        (AnswerValue(97, "%", "complete remission rate", "A041703 Cohort 1", "doc"),),
        (EvidenceSpan("doc", "doc-p1", 0, 10, "text"),),
        "SELECT ...",
        0.9,
    )
    data = answer.to_dict()
    assert list(data) == [
        "question",
        "answer",
        "abstained",
        "values",
        "evidence",
        "sparql",
        "confidence",
        "source_kind",
    ]
    abstained = Answer.abstain("q?", "not stated in the sources").to_dict()
    assert abstained["abstained"] is True and abstained["answer"] is None and abstained["reason"]
