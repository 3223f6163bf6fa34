"""Question answering over the KB: typed answers with evidence and the SPARQL behind them, or abstention."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kb.qa.model import Answer, AnswerValue, EvidenceSpan

if TYPE_CHECKING:
    from kb.qa.port import QASource

__all__ = ["Answer", "AnswerValue", "EvidenceSpan", "answer_question", "evaluate"]


def answer_question(kb: QASource, question: str) -> Answer:
    """Answer ``question`` from ``kb`` (see `kb.qa.answer.answer_question`)."""
    from kb.qa.answer import answer_question as run

    return run(kb, question)


def evaluate(kb: QASource, path: Any) -> Any:
    """Score a question file (see `kb.qa.evaluate.evaluate`)."""
    from kb.qa.evaluate import evaluate as run

    return run(kb, path)
