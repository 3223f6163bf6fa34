"""Question understanding: normalisation, entity linking (synonyms, abbreviations, typos, ids) and intents;
answers on a KB of many trials: bounded, and saying so."""

from __future__ import annotations

import pytest
import support  # noqa: F401 - puts bench/ on the path, for synthetic_docs
from synthetic_docs import write_corpus

import kb.qa.answer as answer_module
from kb.errors import QueryRejected
from kb.facade import KnowledgeBase
from kb.qa import execution
from kb.qa.linking import EntityIndex, build_index
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.queries import iri, property_query, values
from kb.qa.render import states_date, states_number, with_unit
from kb.qa.understand import normalise, understand
from kb.settings import Settings

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
        ("When did the trial start?", "property", "start_date"),
        ("What date did the study begin?", "property", "start_date"),
        ("When will the study be completed?", "property", "completion_date"),
        ("When was the study published?", "property", "date_published"),
    ],
)
def test_intents(index: EntityIndex, text: str, intent: str, detail: str | None) -> None:
    question = understand(text, index)
    assert question.intent == intent, question
    if detail is not None:
        assert question.prop is not None and question.prop.name == detail


def test_registry_dates_are_not_read_into_drug_timing(index: EntityIndex) -> None:
    question = understand("When did patients start blinatumomab?", index)
    assert question.prop is None or question.prop.name not in {"start_date", "completion_date"}


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


# ---------------------------------------------------------------- a KB of many trials


@pytest.fixture(scope="module")
def many_trials_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """Five synthetic trials (S10000-S10004), each reporting a complete remission rate."""
    home = tmp_path_factory.mktemp("qa-many")
    kb = KnowledgeBase(home / "kb")
    report = kb.ingest(write_corpus(home / "sources", 5))
    assert not report.failed, report
    return kb


@pytest.fixture
def two_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers over many trials give two at most (20 by default; five trials stand in for a large KB)."""
    monkeypatch.setattr(answer_module, "MAX_TRIALS", 2)


@pytest.mark.usefixtures("two_at_most")
def test_a_question_naming_no_trial_is_bounded_and_says_so(many_trials_kb: KnowledgeBase) -> None:
    answer = many_trials_kb.ask("What was the complete remission rate?")
    assert not answer.abstained and answer.truncated
    assert answer.note is not None and "first 2 of 5 trials" in answer.note
    assert answer.note in (answer.answer or "")  # in the text too: never silently partial
    assert {value.subject.split()[0] for value in answer.values if value.subject} == {"S10000", "S10001"}
    data = answer.to_dict()
    assert data["truncated"] is True and data["note"] == answer.note


@pytest.mark.usefixtures("two_at_most")
def test_a_property_of_every_trial_is_bounded(many_trials_kb: KnowledgeBase) -> None:
    answer = many_trials_kb.ask("What is the ClinicalTrials.gov identifier?")
    assert answer.truncated and [value.value for value in answer.values] == ["NCT90000000", "NCT90000001"]


@pytest.mark.usefixtures("two_at_most")
def test_a_count_counts_every_trial_but_lists_the_first(many_trials_kb: KnowledgeBase) -> None:
    answer = many_trials_kb.ask("How many trials are there?")
    assert answer.truncated and (answer.answer or "").startswith("5 (")
    assert len(answer.values) == 2 and "trials that match" in (answer.note or "")


@pytest.mark.usefixtures("two_at_most")
def test_a_question_naming_a_trial_is_not_cut(many_trials_kb: KnowledgeBase) -> None:
    answer = many_trials_kb.ask("What was the complete remission rate of S10003?")
    assert not answer.abstained and not answer.truncated and answer.note is None
    assert "truncated" not in answer.to_dict()
    assert all((value.subject or "").startswith("S10003") for value in answer.values)


def test_a_question_past_its_deadline_abstains(many_trials_kb: KnowledgeBase) -> None:
    late = KnowledgeBase(many_trials_kb.home, settings=Settings(query_timeout=-1.0))
    answer = late.ask("What was the complete remission rate?")
    assert answer.abstained and "longer than" in (answer.reason or "")


def test_long_iri_lists_are_bound_in_batches() -> None:
    """Oxigraph's join order flips past ten VALUES rows: lists are run a few at a time, rows kept in order."""
    seen: list[str] = []

    class Recorder:
        def select(self, query: str) -> list[dict[str, object]]:
            seen.append(query)
            return [{"n": query.count("<")}]

    items = [f"{RES}trial/T{n}" for n in range(20)]
    rows = execution.select_batched(Recorder(), lambda batch: values("trial", batch), items)  # type: ignore[arg-type]
    assert len(seen) == 3 and [row["n"] for row in rows] == [8, 8, 4]
    assert execution.select_batched(Recorder(), lambda batch: values("trial", batch), items[:3])  # type: ignore[arg-type]
    assert len(seen) == 4


def test_a_phase_written_in_roman_numerals_is_evidence_for_its_value() -> None:
    from kb.qa.properties import _phase_names

    assert _phase_names("Phase 3") == ["Phase 3", "Phase III"]
    assert _phase_names("Phase 1b/2") == ["Phase 1b/2", "Phase Ib/II"]
    assert _phase_names("Phase unknown") == ["Phase unknown"]
