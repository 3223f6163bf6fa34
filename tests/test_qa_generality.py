"""General behaviours of question answering and extraction, on documents written for these tests (a trial
the project never saw, in the forms trial reports use) and in wordings unlike those of the failures that
led to them: a role question gets a person, one arm's size is never the trial's, a value per unit keeps its
unit, a value comes from the clause that names what is asked, organisation names with commas stay whole,
"stopped early" answers yes/no and list questions, a report "published today" takes the item's date.
"""

from __future__ import annotations

import pytest
import support

from kb.facade import KnowledgeBase
from kb.lexicon import load_lexicon
from kb.qa.meaning import answer_type

NEWS = """Ponatinib Beats Imatinib in Newly Diagnosed CML in the HELIOS-4 Trial
March 3, 2023
Takeda announced that results of the phase 3 HELIOS-4 trial were published today in The Lancet.
HELIOS-4 (NCT05550001) is a multicenter, open-label, randomized study in which 612 patients were randomized 1:1 to receive ponatinib 30 mg orally once daily (n=305) or imatinib 400 mg once daily (n=307).
The trial was stopped early after an interim analysis showed a clear benefit.
At 12 months, the major molecular response rate was 71.0% with ponatinib compared with 52.3% with imatinib.
Hepatotoxicity was reported in 11.2% of patients and resulted in death in 0.4%.
"These findings change practice," said Maria Lopez, MD, of Hospital Clinic de Barcelona, the principal investigator of the trial.
The study was funded by the Northern Heart, Kidney, and Vascular Foundation (NHKVF).
"""

ABSTRACT = """Title: A Single Infusion of an Anti-CD19 CAR T-Cell Product in Relapsed Leukaemia: ORION-2
Methods: ORION-2 (NCT05550002) is a single-arm phase 2 study. Adults aged 18 years or older received a single infusion of 2 x 10^6 CAR T cells per kilogram after lymphodepletion.
Findings: Ninety patients were enrolled and 82 were infused. The median follow-up was 14.1 months.
"""

BREAKDOWN = """Title: Dapagliflozin Versus Placebo in Chronic Heart Failure: the ZEPHYR Trial
Methods: ZEPHYR (NCT05550003) was a double-blind, placebo-controlled trial. The intention-to-treat population included 412 patients (210 in the dapagliflozin group and 202 in the placebo group).
"""


@pytest.fixture(scope="module")
def kbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KnowledgeBase]:
    root = tmp_path_factory.mktemp("generality")
    found = {}
    for name, text in (("news", NEWS), ("abstract", ABSTRACT), ("breakdown", BREAKDOWN)):
        path = root / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        found[name] = support.ingested_kb(root / f"kb-{name}", [path])
    return found


def _answer(kb: KnowledgeBase, question: str) -> str:
    answer = kb.ask(question)
    assert answer.answer is not None, (question, answer.reason)
    return answer.answer


def test_a_question_about_a_persons_role_is_answered_with_the_person(kbs: dict[str, KnowledgeBase]) -> None:
    answer = _answer(kbs["news"], "who was the principal investigator?")
    assert "Maria Lopez" in answer and "Hospital" not in answer


def test_one_arms_size_is_never_the_whole_trials(kbs: dict[str, KnowledgeBase]) -> None:
    assert _answer(kbs["news"], "how many patients got ponatinib?") == "305"
    assert _answer(kbs["news"], "How many were given imatinib") == "307"
    # A total broken down by group: each group its part.
    assert _answer(kbs["breakdown"], "how many patients were in the placebo group?") == "202"


def test_a_value_per_unit_keeps_the_unit_asked(kbs: dict[str, KnowledgeBase]) -> None:
    answer = _answer(kbs["abstract"], "how many cells per kilogram did each patient get?")
    assert "10^6" in answer and "kilogram" in answer
    assert _answer(kbs["abstract"], "how many patients were infused?") == "82"  # a count stays a count
    assert answer_type("how many mg per square metre were given?") == "number"
    assert answer_type("how many patients were enrolled per site?") == "count"


def test_a_value_comes_from_the_clause_that_names_what_is_asked(kbs: dict[str, KnowledgeBase]) -> None:
    assert _answer(kbs["news"], "what share of patients died of hepatotoxicity?") == "0.4%"
    assert _answer(kbs["news"], "how often was hepatotoxicity reported?") == "11.2%"
    assert "52.3" in _answer(kbs["news"], "major molecular response rate with imatinib in HELIOS-4")


def test_an_organisation_name_with_commas_stays_whole(kbs: dict[str, KnowledgeBase]) -> None:
    answer = _answer(kbs["news"], "Which foundation funded the study?")
    assert answer == "Northern Heart, Kidney, and Vascular Foundation"


def test_stopped_early_answers_yes_no_and_lists(kbs: dict[str, KnowledgeBase]) -> None:
    assert _answer(kbs["news"], "Did HELIOS-4 stop early?").startswith("Yes")
    assert "HELIOS-4" in _answer(kbs["news"], "which studies were terminated early?")
    # Never "no" from silence: a trial that states nothing about stopping is not said to have run its course.
    assert kbs["abstract"].ask("Was ORION-2 stopped early?").answer is None


def test_a_report_published_today_takes_the_items_date(kbs: dict[str, KnowledgeBase]) -> None:
    assert _answer(kbs["news"], "When was the HELIOS-4 article published?") == "2023-03-03"


def test_type_2_diabetes_is_in_the_lexicon_with_its_identifiers() -> None:
    entry = load_lexicon().match_name("Disease", "T2DM")
    assert entry is not None and entry.label == "type 2 diabetes mellitus"
    assert {"MONDO:0005148", "MESH:D003924", "NCIT:C26747", "DOID:9352"} <= set(entry.xrefs)


def test_generic_words_of_a_question_do_not_decide_the_sentence(kbs: dict[str, KnowledgeBase]) -> None:
    # "the findings", "the results" say nothing a sentence must contain; the verb and the answer type do.
    assert _answer(kbs["news"], "which company announced the findings?") == "Takeda"
    assert answer_type("number randomised in the trial") == "count"
    assert _answer(kbs["breakdown"], "number randomized to placebo in ZEPHYR") == "202"


def test_how_a_drug_was_given_is_its_doses_route(kbs: dict[str, KnowledgeBase]) -> None:
    assert _answer(kbs["news"], "How was ponatinib administered?") == "oral"
