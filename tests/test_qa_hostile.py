"""Hostile questions: SPARQL fragments, huge text, empty, other languages, control characters, emoji.

Each gets a clean answer or an abstention, never an exception; nothing from the question is executed:
the KB's triple count is unchanged and no generated query contains question text.
"""

from __future__ import annotations

import pytest
import support
from support import DATA

from kb.facade import KnowledgeBase
from kb.qa.evaluate import load_questions

HOSTILE = load_questions(DATA / "qa_hostile.jsonl")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return support.seed_kb(tmp_path_factory.mktemp("qa-hostile"))


def _query_is_clean(sparql: str | None, question: str) -> None:
    if not sparql:
        return
    for fragment in ("DROP", "INSERT", "SERVICE", "LOAD", "evil.example", "OR '1'"):
        if fragment in question:
            assert fragment not in sparql
    assert '"' not in sparql, "no literal from the question is ever injected"


@pytest.mark.parametrize("item", HOSTILE, ids=[i["id"] for i in HOSTILE])
def test_hostile_question(kb: KnowledgeBase, item: dict[str, str]) -> None:
    before = len(kb.store)
    answer = kb.ask(item["q"])
    data = answer.to_dict()
    assert data["abstained"] == (data["answer"] is None)
    if item["kind"] == "unanswerable":
        assert answer.abstained, data
        assert data["reason"]
    _query_is_clean(answer.sparql, item["q"])
    assert len(kb.store) == before


def test_ten_kilobytes(kb: KnowledgeBase) -> None:
    before = len(kb.store)
    text = ("What was the complete remission rate? " * 300)[:10_240]
    answer = kb.ask(text)
    assert answer.abstained or answer.answer
    assert len(kb.store) == before
    assert kb.ask("lorem ipsum " * 1000).abstained


def test_non_string_input(kb: KnowledgeBase) -> None:
    assert kb.ask(None).abstained  # type: ignore[arg-type]


def test_sparql_injection_attempt_does_not_change_the_answer(kb: KnowledgeBase) -> None:
    plain = kb.ask("What was the complete remission rate?")
    hostile = kb.ask('What was the complete remission rate?"} ; DROP ALL #')
    assert plain.answer == "97%"
    assert hostile.abstained or hostile.answer == plain.answer
