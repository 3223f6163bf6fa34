"""Questions on two articles the project was not built on (a structured abstract and a news story): a value
answers only when tied to what was asked, abstentions say why, and longer endpoint names win."""

from __future__ import annotations

import re

import pytest
import support

from kb.facade import KnowledgeBase
from kb.qa import design
from kb.qa.fallback import DOSE_PATTERN as DOSE
from kb.qa.fallback import attached, clause_bounds, read_value
from kb.qa.linking import EntityIndex, LinkedEntity
from kb.qa.understand import understand

ARTICLES = support.UNSEEN


@pytest.fixture(scope="module")
def abstract_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return support.ingested_kb(tmp_path_factory.mktemp("unseen-qa") / "abstract", [ARTICLES / "viale_a.txt"])


@pytest.fixture(scope="module")
def news_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return support.ingested_kb(tmp_path_factory.mktemp("unseen-qa") / "news", [ARTICLES / "destiny.txt"])


# Units


def _doses(text: str) -> list[str]:
    return [read_value(m, "dose").shown for m in re.finditer(DOSE, text, re.IGNORECASE)]


def test_a_dose_is_read_with_its_whole_unit() -> None:
    assert _doses("azacitidine (75 mg per square meter of body-surface area subcutaneously)") == ["75 mg/m²"]
    assert _doses("at 5.4 mg per kilogram of body weight every 3 weeks") == ["5.4 mg/kg"]
    assert _doses("at 3.6 mg/kg") == ["3.6 mg/kg"]
    assert _doses("(target dose, 400 mg) or matching placebo") == ["400 mg"]


def test_a_value_belongs_to_the_closest_name_in_its_clause() -> None:
    text = "a dose of drug-a (75 mg per square meter); drug-b (target dose, 400 mg) was given"
    first, second = (read_value(m, "dose") for m in re.finditer(DOSE, text))
    drug_a = (text.index("drug-a"), text.index("drug-a") + 6)
    drug_b = (text.index("drug-b"), text.index("drug-b") + 6)
    assert attached(text, first, [drug_a], [drug_b])
    assert not attached(text, second, [drug_a], [drug_b])  # another clause, and drug-b is closer
    assert attached(text, second, [drug_b], [drug_a])
    assert not attached(text, first, [drug_b], [drug_a])
    assert clause_bounds(text, first.start) == (0, text.index(";"))


def test_design_questions_are_only_those_about_the_design() -> None:
    assert design.asks_design("Is the trial randomized?")
    assert design.asks_design("Was it a single-arm study?")
    assert not design.asks_design("Were the randomized patients older than 60?")
    assert not design.asks_design("Did the trial use placebo to treat anemia?")


# End to end: the structured abstract


def test_a_dose_is_the_named_drugs_own(abstract_kb: KnowledgeBase) -> None:
    venetoclax = abstract_kb.ask("What dose of venetoclax was given?")
    assert venetoclax.answer == "400 mg", venetoclax
    azacitidine = abstract_kb.ask("What dose of azacitidine was given?")
    assert azacitidine.answer == "75 mg/m²", azacitidine
    # Two drugs, two doses, no drug named: which one is meant is not known.
    assert abstract_kb.ask("What dose was given?").abstained


def test_counts_the_article_should_state_are_not_registry_questions(abstract_kb: KnowledgeBase) -> None:
    arm = abstract_kb.ask("How many patients were in the venetoclax group?")
    if not arm.abstained:  # once the arm's count is read from the article
        assert arm.answer is not None and "286" in arm.answer and "145" not in arm.answer, arm
    else:
        assert arm.reason == "not stated in the sources", arm
    enrolled = abstract_kb.ask("How many patients were enrolled?")
    if enrolled.abstained:
        assert (enrolled.reason or "").startswith("not stated in the sources"), enrolled
        assert "no registry record imported" not in (enrolled.reason or "")
    else:  # the whole study's count, not its groups' beside it
        assert enrolled.answer == "431", enrolled
    each = abstract_kb.ask("How many patients were in each group?")
    if not each.abstained:
        assert "431" not in (each.answer or ""), each
    registry = abstract_kb.ask("How many participants does the registry list?")
    assert (
        registry.abstained and registry.reason == "no registry record imported; run trialkb link NCT02993523"
    )


def test_a_complete_remission_question_never_gets_the_composite_value(abstract_kb: KnowledgeBase) -> None:
    plain = abstract_kb.ask("What was the complete remission rate?")
    assert not plain.abstained, plain
    assert "66.4" not in (plain.answer or "") and "28.3" not in (plain.answer or ""), plain
    assert "36.7" in (plain.answer or ""), plain


def test_the_longer_endpoint_name_is_linked(abstract_kb: KnowledgeBase) -> None:
    composite = abstract_kb.ask("What was the composite complete remission rate?")
    assert not composite.abstained, composite
    assert "66.4" in (composite.answer or "") and "36.7" not in (composite.answer or ""), composite


def test_a_randomized_trial_is_randomized(abstract_kb: KnowledgeBase) -> None:
    answer = abstract_kb.ask("Is the trial randomized?")
    assert (answer.answer or "").startswith("Yes"), answer
    assert answer.evidence and "randomized" in answer.evidence[0].text
    assert (abstract_kb.ask("Was the trial double-blind?").answer or "").startswith("Yes")
    assert (abstract_kb.ask("Is the trial single-blind?").answer or "").startswith("No")
    assert (abstract_kb.ask("Is the trial open-label?").answer or "").startswith("No")


# End to end: the news story


def test_the_only_dose_is_read_whole(news_kb: KnowledgeBase) -> None:
    answer = news_kb.ask("What dose was given?")
    assert answer.answer == "5.4 mg/kg", answer


def test_how_many_responded_is_the_stated_numerator(news_kb: KnowledgeBase) -> None:
    answer = news_kb.ask("How many patients responded?")
    assert answer.answer == "112", answer
    assert news_kb.ask("What was the objective response rate?").answer == "60.9%"
    assert news_kb.ask("What proportion of patients responded?").answer == "60.9%"


def test_a_count_of_something_else_is_not_the_enrollment(news_kb: KnowledgeBase) -> None:
    # "patients" is in the question, but what is counted is treatments.
    answer = news_kb.ask("How many previous treatments had patients received?")
    assert answer.abstained or "184" not in (answer.answer or ""), answer
    assert news_kb.ask("How many adult patients were in the study?").answer == "184"


def test_disease_control_rate(news_kb: KnowledgeBase) -> None:
    answer = news_kb.ask("What was the disease control rate?")
    assert answer.answer == "97.3%", answer


def test_a_single_group_trial_is_not_randomized(news_kb: KnowledgeBase) -> None:
    features = {
        str(r["f"])
        for r in news_kb.select(
            "SELECT ?f WHERE { GRAPH ?g { ?t <https://w3id.org/trialkb/ontology#designFeature> ?f } }"
        )
    }
    assert "single-arm" in features  # "single-group" is stored under the feature's one name
    answer = news_kb.ask("Is the trial randomized?")
    assert (answer.answer or "").startswith("No"), answer
    assert answer.evidence


def test_a_single_arm_trial_is_not_randomized(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The news story as it would read with the wording extraction already knows ("single-arm").
    text = (ARTICLES / "destiny.txt").read_text(encoding="utf-8").replace("single-group", "single-arm")
    (tmp_path / "single_arm.txt").write_text(text, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    assert not kb.ingest([tmp_path / "single_arm.txt"]).failed
    answer = kb.ask("Is the trial randomized?")
    assert answer.answer == "No: single-arm", answer
    assert answer.evidence and "single-arm" in answer.evidence[0].text
    assert (kb.ask("Is it a single-arm study?").answer or "").startswith("Yes")
    assert kb.ask("Is the trial blinded?").answer == "No: open-label"
    assert kb.ask("Was the trial double-blind?").answer == "No: open-label"


def test_a_qualified_endpoint_is_not_a_kind_of_the_one_it_names() -> None:
    index = EntityIndex()
    base = "https://w3id.org/trialkb/resource/endpoint/"
    for key, label in (
        ("complete-remission", "complete remission"),
        ("composite-complete-remission", "composite complete remission"),
        ("cr-cri", "complete remission or complete remission with incomplete hematologic recovery"),
    ):
        index.add(LinkedEntity(base + key, "Endpoint", label, (label,)))
    plain = understand("What was the complete remission rate?", index)
    assert plain.endpoints == (base + "complete-remission", base + "cr-cri")
    composite = understand("What was the composite complete remission rate?", index)
    assert composite.endpoints == (base + "composite-complete-remission",)


def test_a_passage_value_of_one_group_is_not_another_groups(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (ARTICLES / "viale_a.txt").read_text(encoding="utf-8")
    text = text.replace(
        "The median age in both groups was 76 years.", "The median age was 76 years in the venetoclax group."
    )
    (tmp_path / "one_group.txt").write_text(text, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    assert not kb.ingest([tmp_path / "one_group.txt"]).failed
    assert kb.ask("What was the median age in the control group?").abstained
    assert kb.ask("What was the median age in the venetoclax group?").answer == "76 years"
