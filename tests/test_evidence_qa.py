"""Questions on randomised-trial evidence answered from the KB (issue 14): effect estimates with their
intervals and P values, per-arm values, arm sizes, adverse events, doses, "which arm had more", and the
trial named in a question picked when a document holds two. Scores of the evidence question set are
printed; every answer comes from the KB with its sentence and SPARQL."""

from __future__ import annotations

import pytest
import support
from support import DATA

from kb.facade import KnowledgeBase
from kb.qa.evaluate import evaluate

EVIDENCE = DATA / "evidence"


@pytest.fixture(scope="module")
def evidence_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    paths = sorted(EVIDENCE.glob("*.txt")) + [DATA / "corpus" / "sprint-accordbp-news.txt"]
    return support.ingested_kb(tmp_path_factory.mktemp("evidence-qa"), paths)


def test_evidence_question_set(evidence_kb: KnowledgeBase) -> None:
    report = evaluate(evidence_kb, EVIDENCE / "evidence_qa.jsonl")
    print()
    print(report.render())
    assert report.accuracy >= 0.75
    assert report.wrong_rate <= 0.05
    assert report.abstention_recall == 1.0


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        (
            "What was the hazard ratio for the primary outcome in DAPA-HF?",
            ["0.74", "0.65", "0.85", "P<0.001"],
        ),
        ("What was the 95% CI of the hazard ratio for death from any cause in DAPA-HF?", ["0.71", "0.97"]),
        ("What was the P value for the primary outcome in ACCORD-BP?", ["P=0.20"]),
        ("What was the hazard ratio for the primary outcome in SPRINT?", ["0.75"]),
        ("What was the hazard ratio for stroke in ACCORD-BP?", ["0.59"]),
    ],
)
def test_effect_estimates_come_from_the_kb_with_sentence_and_sparql(
    evidence_kb: KnowledgeBase, question: str, wanted: list[str]
) -> None:
    answer = evidence_kb.ask(question)
    assert not answer.abstained, answer
    assert answer.source_kind == "kb" and answer.sparql and "hasEffectEstimate" in answer.sparql
    for text in wanted:
        assert text in (answer.answer or ""), answer
    assert answer.evidence and wanted[0] in answer.evidence[0].text


def test_the_trial_named_is_the_one_answered(evidence_kb: KnowledgeBase) -> None:
    sprint = evidence_kb.ask("What was the hazard ratio for death from any cause in SPRINT?")
    accord = evidence_kb.ask("What was the hazard ratio for death from any cause in ACCORD-BP?")
    assert "0.73" in (sprint.answer or "") and "1.07" in (accord.answer or "")
    assert evidence_kb.ask("What was the hazard ratio for stroke in SPRINT?").abstained


def test_per_arm_values_adverse_events_and_sizes(evidence_kb: KnowledgeBase) -> None:
    placebo = evidence_kb.ask("What percentage of the placebo group had the primary outcome in DAPA-HF?")
    assert placebo.answer == "21.2%", placebo
    ae = evidence_kb.ask(
        "What percentage of intensive-therapy participants in ACCORD-BP had serious adverse events?"
    )
    assert ae.answer == "3.3%", ae
    size = evidence_kb.ask("How many participants were assigned to the standard group in SPRINT?")
    assert size.answer == "4683", size


def test_which_arm_had_more(evidence_kb: KnowledgeBase) -> None:
    answer = evidence_kb.ask("Which arm had more adverse events related to volume depletion in DAPA-HF?")
    assert answer.answer is not None and answer.answer.startswith("DAPA-HF dapagliflozin group"), answer
    assert {v.value for v in answer.values} == {7.5, 6.8}


def test_doses_of_the_named_drug(evidence_kb: KnowledgeBase) -> None:
    answer = evidence_kb.ask("What dose of dexamethasone was given in RECOVERY?")
    assert answer.answer == "6 mg", answer
    both = evidence_kb.ask("What doses of evolocumab were given in FOURIER?")
    assert "140 mg" in (both.answer or "") and "420 mg" in (both.answer or "")


def test_an_interval_asked_of_an_estimate_reported_without_one_is_not_answered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import support

    from kb import KnowledgeBase

    source = tmp_path / "gamma.txt"
    source.write_text(
        "Drug Z in Breast Cancer\n\nIn the GAMMA-7 trial (NCT07777777), 500 patients were randomly assigned in a "
        "2:1 ratio to drug Z or chemotherapy. Median overall survival was 23.4 months with drug Z and 16.8 months "
        "with chemotherapy (hazard ratio for death, 0.64; P=0.001).\n",
        encoding="utf-8",
    )
    kb = support.ingested_kb(tmp_path / "kb", [source])
    assert isinstance(kb, KnowledgeBase)
    assert kb.ask("What was the hazard ratio for death in GAMMA-7?").answer.startswith("hazard ratio 0.64")
    interval = kb.ask("What was the 95% CI of the hazard ratio for death in GAMMA-7?")
    assert interval.abstained and "without a confidence interval" in (interval.reason or "")


def test_arms_named_alike_in_two_documents_of_one_trial_are_one_arm() -> None:
    from kb.qa.evidence_facts import Record, _one_node_per_arm

    arms = {
        "a:news-placebo": {"label": "T-1 placebo group", "drugs": set(), "randomized": 100},
        "a:abstract-placebo": {"label": "T-1 placebo group", "drugs": set(), "analyzed": 98},
        "a:abstract-drug": {"label": "T-1 drug X group", "drugs": {"drug x"}},
    }
    records = [Record("arm value", {}, "a:news-placebo"), Record("adverse event", {}, "a:abstract-placebo")]
    merged, records = _one_node_per_arm(arms, records)
    assert len(merged) == 2
    assert {r.arm for r in records} == {"a:abstract-placebo"}
    assert (
        merged["a:abstract-placebo"]["randomized"] == 100 and merged["a:abstract-placebo"]["analyzed"] == 98
    )
