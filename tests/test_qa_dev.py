"""Issue 13's development questions (tests/data/qa_dev/dev.jsonl, 156 questions in several people's
styles over the seed, the corpus and the unseen articles): scores printed per group, floors a little under
what the code reaches so that a regression fails; the locked fifth (locked.jsonl) is only scored by hand.

Also the parts on their own: the answer type of a wording, delexicalised questions, the description
vectors cached on disk, and that a passage answer is a span of its sentence, never the sentence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import qa_dev_harness as harness

from kb.facade import KnowledgeBase
from kb.qa.context import load_context
from kb.qa.meaning import DescriptionBank, answer_type, delexicalise
from kb.qa.understand import understand

FLOORS = {"seed": 0.94, "other": 0.90}
MAX_WRONG = 0.03


@pytest.fixture(scope="module")
def kbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KnowledgeBase]:
    return harness.open_kbs(tmp_path_factory.mktemp("qa-dev"))


@pytest.fixture(scope="module")
def scored(kbs: dict[str, KnowledgeBase]) -> list[harness.Scored]:
    return harness.score(harness.load("dev.jsonl"), kbs)


def test_dev_questions_score_above_their_floors(scored: list[harness.Scored]) -> None:
    table = harness.table(scored, "dev.jsonl")
    print(harness.failures(scored))
    for group, floor in FLOORS.items():
        correct, _, _, total = table[group]
        assert correct / total >= floor, (group, correct, total)
    _, wrong, _, total = table["all"]
    assert wrong / total <= MAX_WRONG


def test_unanswerable_dev_questions_are_abstained(scored: list[harness.Scored]) -> None:
    answered = [r for r in scored if r.item["kind"] == "unanswerable" and not r.abstained]
    assert len(answered) <= 1, [(r.item["q"], r.answer) for r in answered]


def test_a_passage_answer_is_a_span_never_the_sentence(kbs: dict[str, KnowledgeBase]) -> None:
    seed = kbs[harness.SEED.name]
    # (the completed share is a KB fact now: this share is still read from the sentence)
    answer = seed.ask("share of people still in remission and alive a year on")
    assert answer.source_kind == "text" and answer.answer is not None
    assert "75%" in answer.answer
    sentence = answer.evidence[0].text
    assert answer.answer in sentence and len(answer.answer) < len(sentence) / 3
    assert answer.confidence < 0.9  # lower than a stored fact's


def test_the_order_of_drugs_is_read_from_the_text(kbs: dict[str, KnowledgeBase]) -> None:
    answer = kbs[harness.SEED.name].ask("which drug was given first?")
    assert answer.answer is not None and "inotuzumab" in answer.answer.lower()
    assert "blinatumomab" not in answer.answer.lower()


def test_organisations_are_told_apart_by_kind(kbs: dict[str, KnowledgeBase]) -> None:
    seed = kbs[harness.SEED.name]
    agency = seed.ask("which government agency supported the research")
    assert agency.answer is not None and "National Cancer Institute" in agency.answer
    assert "Pfizer" not in agency.answer
    firms = seed.ask("Which companies besides the government funded the work?")
    assert firms.answer is not None and "Pfizer" in firms.answer and "National Cancer" not in firms.answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("How many patients were enrolled?", "count"),
        ("what share of patients were alive", "share"),
        ("When was it published?", "date"),
        ("Which pharmaceutical companies gave grants?", "organisation"),
        ("Who wrote the paper?", "person"),
        ("Did the regimen include chemotherapy?", "yesno"),
        ("What kind of drug is blinatumomab?", "kind"),
        ("What dose was given?", "number"),
    ],
)
def test_the_answer_type_follows_the_wording(text: str, expected: str) -> None:
    assert answer_type(text) == expected


def test_names_are_replaced_by_their_kind(kbs: dict[str, KnowledgeBase]) -> None:
    context = load_context(kbs["all"])
    q = understand("What does blinatumomab target in E1910?", context.index)
    assert delexicalise(q) == "What does the drug target in?"


def test_description_vectors_are_cached_on_disk(tmp_path: Path) -> None:
    calls: list[int] = []

    def encode(texts: object) -> np.ndarray:
        items = list(texts)  # type: ignore[call-overload]
        calls.append(len(items))
        return np.ones((len(items), 4), dtype=np.float32)

    first = DescriptionBank(encode, tmp_path)
    second = DescriptionBank(encode, tmp_path)
    assert len(calls) == 1 and first.vectors is not None and second.vectors is not None
    assert np.array_equal(first.vectors, second.vectors)
    assert list(tmp_path.glob("qa-readings-*.npy"))


TRIAL_FORMS = ("CheckMate 227", "IMpower150", "SURMOUNT-1", "SUSTAIN Program", "ACCORD-BP")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("what was OS in checkmate-227", "CheckMate 227"),
        ("Checkmate227 results", "CheckMate 227"),
        ("IMpower 150 enrollment", "IMpower150"),
        ("surmount 1 weight loss", "SURMOUNT-1"),
        ("the sustain program", "SUSTAIN Program"),
        ("Accord BP trial", "ACCORD-BP"),
    ],
)
def test_trial_names_in_real_forms_link_from_the_kbs_labels(text: str, label: str) -> None:
    from kb.qa.linking import build_index

    rows = [
        {
            "entity": f"https://w3id.org/trialkb/resource/trial/t{i}",
            "type": "https://w3id.org/trialkb/ontology#ClinicalTrial",
            "name": name,
            "predicate": "http://www.w3.org/2000/01/rdf-schema#label",
        }
        for i, name in enumerate(TRIAL_FORMS)
    ]
    assert [m.entity.label for m in build_index(rows, []).find(text)] == [label]


@pytest.mark.parametrize("name", TRIAL_FORMS + ("KEYNOTE 189",))
def test_a_trial_the_kb_lacks_is_never_answered_for(kbs: dict[str, KnowledgeBase], name: str) -> None:
    answer = kbs[harness.SEED.name].ask(f"What was the complete remission rate in {name}?")
    assert answer.abstained and name in (answer.reason or "")


def test_question_answering_does_not_import_the_facade() -> None:
    """kb.qa and kb.passage_search are typed against kb.qa.port (the facade satisfies it), no import circle."""
    import ast

    from kb.qa.port import QASource

    root = harness.ROOT / "kb"
    for path in [*sorted((root / "qa").glob("*.py")), root / "passage_search.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        assert "kb.facade" not in imported, path
    source: QASource = KnowledgeBase(harness.ROOT / "kb" / "data" / "kb")  # the facade fits the protocol
    assert callable(source.select) and callable(source.search)


@pytest.mark.parametrize(
    "question",
    [
        "how many patients were over 75",  # a subgroup, not the 33 enrolled
        "how many patients had breast cancer",  # a prior condition's patients are a subgroup
        "what was the response rate in patients with prior malignancies",  # a rate, not the malignancies
        "what did inotuzumab do to leukemic cells",  # no name near the drug is the answer
        "what was the rate of grade 3 neutropenia",
    ],
)
def test_questions_the_seed_does_not_answer_abstain(kbs: dict[str, KnowledgeBase], question: str) -> None:
    assert kbs[harness.SEED.name].ask(question).abstained


def test_an_identifiers_number_is_no_count(kbs: dict[str, KnowledgeBase]) -> None:
    assert answer_type("What is the NCT number of E1910?") != "count"
    assert answer_type("the number of patients enrolled") == "count"
    assert kbs["all"].ask("What is the NCT number of E1910?").answer == "NCT02003222"
