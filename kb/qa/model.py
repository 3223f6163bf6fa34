"""The answer to a question: its values with units and subjects, evidence passages, the SPARQL behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOURCE_KINDS = ("kb", "registry", "text")


@dataclass(frozen=True)
class AnswerValue:
    """One value of an answer: what was found, its unit, what it measures, whom it is about, where from."""

    value: Any
    unit: str | None = None
    label: str | None = None
    subject: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "label": self.label,
            "subject": self.subject,
            "source": self.source,
        }


@dataclass(frozen=True)
class EvidenceSpan:
    """The passage a value was read from: document id, passage id, offsets into the document, its text."""

    document: str
    passage: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "passage": self.passage,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass(frozen=True)
class Answer:
    """What `KnowledgeBase.ask` returns; ``to_dict`` gives the JSON of the design."""

    question: str
    answer: str | None
    values: tuple[AnswerValue, ...] = ()
    evidence: tuple[EvidenceSpan, ...] = ()
    sparql: str | None = None
    confidence: float = 0.0
    reason: str | None = None
    source_kind: str = "kb"
    intent: str | None = field(default=None, compare=False)
    note: str | None = None  # e.g. that an answer over many trials gives only the first of them
    truncated: bool = False  # the answer covers only some of the trials that have a value

    @property
    def abstained(self) -> bool:
        return self.answer is None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "values": [value.to_dict() for value in self.values],
            "evidence": [span.to_dict() for span in self.evidence],
            "sparql": self.sparql,
            "confidence": round(self.confidence, 3),
        }
        if self.abstained:
            data["reason"] = self.reason or "not stated in the sources"
        data["source_kind"] = self.source_kind
        if self.truncated:
            data["truncated"] = True
        if self.note:
            data["note"] = self.note
        return data

    @classmethod
    def abstain(
        cls, question: str, reason: str, *, sparql: str | None = None, intent: str | None = None
    ) -> Answer:
        """No supported answer: say why."""
        return cls(question, None, sparql=sparql, confidence=0.0, reason=reason, intent=intent)
