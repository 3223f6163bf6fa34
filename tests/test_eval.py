"""The evaluation harness on the dev sets: scores printed, targets asserted, every answer's evidence checked.

Targets: >= 95% on the seed set (bundled KB), >= 85% on the corpus set (seed + corpus), every
unanswerable question abstained, wrong answers <= 3%. Own paraphrases (tests/data/qa_paraphrases.jsonl,
items with ``doc`` run on the corpus KB): >= 85%, wrong answers <= 5%. Each set runs twice: on the
articles alone and with their ClinicalTrials.gov records linked (registry facts must not displace them).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import support
from support import DATA

from kb.facade import KnowledgeBase
from kb.qa.evaluate import EvalReport, evaluate, load_questions
from kb.qa.evidence import value_check
from kb.qa.model import Answer


@pytest.fixture(scope="module")
def seed_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return support.seed_kb(tmp_path_factory.mktemp("qa-seed"))


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return support.corpus_kb(tmp_path_factory.mktemp("qa-corpus"))


@pytest.fixture(scope="module")
def seed_registry_kb(seed_kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The seed KB with the shared registry record linked (its own named graph)."""
    return support.linked_copy(seed_kb, tmp_path_factory.mktemp("qa-seed-registry") / "kb")


@pytest.fixture(scope="module")
def corpus_registry_kb(corpus_kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The corpus KB with the registry records of A041703 and E1910 linked."""
    home = tmp_path_factory.mktemp("qa-corpus-registry") / "kb"
    shutil.copytree(corpus_kb.home, home)
    kb = KnowledgeBase(home)
    for nct in ("NCT03739814", "NCT02003222"):
        kb.link([nct], DATA / "ctgov" / f"{nct}.json")
    return kb


REGISTRY = pytest.mark.parametrize("registry", [False, True], ids=["articles", "with-registry"])


def _kbs(request: pytest.FixtureRequest, registry: bool) -> tuple[KnowledgeBase, KnowledgeBase]:
    """(seed KB, corpus KB), with or without registry records linked."""
    suffix = "_registry_kb" if registry else "_kb"
    return request.getfixturevalue("seed" + suffix), request.getfixturevalue("corpus" + suffix)


def _check_targets(report: EvalReport, accuracy: float, wrong: float) -> None:
    print()
    print(report.render())
    assert report.accuracy >= accuracy, report.render()
    assert report.abstention_recall == 1.0, "an unanswerable question was answered"
    assert report.wrong_rate <= wrong


def _names(kb: KnowledgeBase, label: str) -> list[str]:
    """The value's names: its label, and the synonyms of the KB entity with that label."""
    from kb.qa.context import load_context

    names = [label]
    for entity in load_context(kb).index.entities:
        if entity.label == label:
            names.extend(entity.names)
    return names


def _evidence_states_values(kb: KnowledgeBase, answer: Answer) -> None:
    """Every value read from a document has an evidence passage that states it (by its label or a synonym)."""
    if answer.abstained or answer.source_kind == "text":
        return
    for value in answer.values:
        if value.source in {None, "lexicon"} or isinstance(value.value, (bool, dict)):
            continue
        kind = "number" if isinstance(value.value, (int, float)) else "name"
        if kind == "name" and len(str(value.value)) == 10 and str(value.value)[4] == "-":
            kind = "date"
        checks = [value_check(value.value, kind, _names(kb, str(value.value)))]
        assert any(checks[0](span.text) for span in answer.evidence), (
            answer.question,
            value,
            answer.evidence,
        )


@REGISTRY
def test_seed_dev_set(request: pytest.FixtureRequest, registry: bool) -> None:
    seed_kb, _ = _kbs(request, registry)
    _check_targets(evaluate(seed_kb, DATA / "eval" / "seed_dev_qa.jsonl"), 0.95, 0.03)


RCT_DOCUMENTS = frozenset(
    {"paradigmhf-abstract.txt", "actt1-news.txt", "monaleesa2-summary.txt", "sprint-accordbp-news.txt"}
)
"""The randomised-trial documents of issue 14 (their questions have their own target)."""


def _corpus_subset(directory: Path, rct: bool) -> Path:
    """The corpus questions about the randomised-trial documents (``rct``), or all the others."""
    items = load_questions(DATA / "corpus" / "corpus_dev_qa.jsonl")
    chosen = [i for i in items if (i.get("doc") in RCT_DOCUMENTS) == rct]
    path = directory / ("corpus_rct_qa.jsonl" if rct else "corpus_other_qa.jsonl")
    path.write_text("\n".join(json.dumps(i) for i in chosen), encoding="utf-8")
    return path


@REGISTRY
def test_corpus_dev_set(request: pytest.FixtureRequest, registry: bool, tmp_path: Path) -> None:
    _, corpus_kb = _kbs(request, registry)
    _check_targets(evaluate(corpus_kb, _corpus_subset(tmp_path, rct=False)), 0.90, 0.03)


@REGISTRY
def test_corpus_randomised_trial_questions(
    request: pytest.FixtureRequest, registry: bool, tmp_path: Path
) -> None:
    """Questions on the randomised-trial documents: >= 90% correct, wrong answers <= 5%."""
    _, corpus_kb = _kbs(request, registry)
    _check_targets(evaluate(corpus_kb, _corpus_subset(tmp_path, rct=True)), 0.90, 0.05)


@REGISTRY
def test_paraphrases(request: pytest.FixtureRequest, registry: bool, tmp_path: Path) -> None:
    seed_kb, corpus_kb = _kbs(request, registry)
    items = load_questions(DATA / "qa_paraphrases.jsonl")
    assert len(items) >= 25
    single = tmp_path / "single.jsonl"
    multi = tmp_path / "multi.jsonl"
    single.write_text("\n".join(json.dumps(i) for i in items if "doc" not in i), encoding="utf-8")
    multi.write_text("\n".join(json.dumps(i) for i in items if "doc" in i), encoding="utf-8")
    reports = [evaluate(seed_kb, single), evaluate(corpus_kb, multi)]
    rows = tuple(row for report in reports for row in report.rows)
    combined = EvalReport(rows, "qa_paraphrases.jsonl", _by_kind(rows))
    _check_targets(combined, 0.85, 0.05)


def _by_kind(rows: tuple) -> dict[str, tuple[int, int]]:  # type: ignore[type-arg]
    kinds: dict[str, tuple[int, int]] = {}
    for row in rows:
        right, total = kinds.get(row.kind, (0, 0))
        kinds[row.kind] = (right + int(row.correct), total + 1)
    return kinds


@REGISTRY
def test_every_answer_has_evidence_stating_its_value(request: pytest.FixtureRequest, registry: bool) -> None:
    seed_kb, corpus_kb = _kbs(request, registry)
    for kb, path in (
        (seed_kb, DATA / "eval" / "seed_dev_qa.jsonl"),
        (corpus_kb, DATA / "corpus" / "corpus_dev_qa.jsonl"),
        (seed_kb, DATA / "qa_registry.jsonl"),
    ):
        for item in load_questions(path):
            answer = kb.ask(item["q"])
            if not answer.abstained:
                assert answer.evidence, answer
                assert answer.sparql or answer.source_kind == "text"
            _evidence_states_values(kb, answer)


def test_multi_trial_outcome_names_each_trial(corpus_kb: KnowledgeBase) -> None:
    answer = corpus_kb.ask("What was the complete remission rate?")
    assert answer.abstained or len({v.subject for v in answer.values}) > 1
    if not answer.abstained:
        assert "97" in (answer.answer or "") and "70.9" in (answer.answer or "")


def test_ask_jsonl_and_eval_cli(corpus_kb: KnowledgeBase, tmp_path: Path) -> None:
    from support import run_cli

    result = run_cli(
        "ask",
        "--jsonl",
        "-",
        home=corpus_kb.home,
        input_text="What does InO target?\n\nWho sponsored ZUMA-3?\n",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["answer"] == "CD22" and "Kite" in lines[1]["answer"]
    result = run_cli("eval", str(_corpus_subset(tmp_path, rct=False)), "--json", home=corpus_kb.home)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accuracy"] >= 0.85
