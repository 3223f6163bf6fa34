"""Evaluation: score a question file (id, q, kind, gold[, doc]) by accuracy per kind, abstention
precision and recall, and the rate of wrong answers given; `EvalReport.render` prints the table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.qa.model import Answer

if TYPE_CHECKING:
    from kb.qa.port import QASource


@dataclass(frozen=True)
class EvalRow:
    """One question: what was asked, the gold answers, what came back, and the verdict."""

    id: str
    question: str
    kind: str
    gold: tuple[str, ...]
    answer: str | None
    correct: bool
    abstained: bool
    reason: str | None = None


@dataclass(frozen=True)
class EvalReport:
    rows: tuple[EvalRow, ...]
    path: str = ""
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def accuracy(self) -> float:
        return sum(r.correct for r in self.rows) / self.total if self.rows else 0.0

    @property
    def abstention_precision(self) -> float:
        """Of the questions abstained on, the share that had no answer in the sources."""
        abstained = [r for r in self.rows if r.abstained]
        return sum(r.kind == "unanswerable" for r in abstained) / len(abstained) if abstained else 1.0

    @property
    def abstention_recall(self) -> float:
        """Of the unanswerable questions, the share abstained on."""
        unanswerable = [r for r in self.rows if r.kind == "unanswerable"]
        return sum(r.abstained for r in unanswerable) / len(unanswerable) if unanswerable else 1.0

    @property
    def wrong_rate(self) -> float:
        """Share of all questions given an answer that is wrong (the worst outcome)."""
        return sum((not r.abstained) and not r.correct for r in self.rows) / self.total if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "questions": self.total,
            "accuracy": round(self.accuracy, 4),
            "by_kind": {k: {"correct": c, "total": t} for k, (c, t) in sorted(self.by_kind.items())},
            "abstention_precision": round(self.abstention_precision, 4),
            "abstention_recall": round(self.abstention_recall, 4),
            "wrong_rate": round(self.wrong_rate, 4),
            "rows": [r.__dict__ | {"gold": list(r.gold)} for r in self.rows],
        }

    def render(self) -> str:
        lines = [f"evaluation of {self.path}: {self.total} questions"]
        lines.append(f"{'id':6} {'kind':13} {'ok':3} {'answer':50} question")
        for r in self.rows:
            shown = (r.answer if r.answer is not None else f"(abstained: {r.reason})")[:50]
            lines.append(
                f"{r.id:6} {r.kind:13} {'yes' if r.correct else 'NO':3} {shown:50} {r.question[:70]}"
            )
        lines.append("")
        lines.append(f"{'kind':14} {'correct':>8} {'total':>6} {'accuracy':>9}")
        for kind, (correct, total) in sorted(self.by_kind.items()):
            lines.append(f"{kind:14} {correct:8} {total:6} {correct / total:9.1%}")
        lines.append(f"{'all':14} {sum(r.correct for r in self.rows):8} {self.total:6} {self.accuracy:9.1%}")
        lines.append(
            f"abstention precision {self.abstention_precision:.1%}, recall {self.abstention_recall:.1%}; "
            f"wrong answers given {self.wrong_rate:.1%}"
        )
        return "\n".join(lines)


def is_correct(answer: Answer, kind: str, gold: Sequence[str], refused: Sequence[str] = ()) -> bool:
    """The project's rule: case-insensitive substring of a gold alias (every item for lists) in the
    answer text or structured values; for unanswerable, an abstention. An answer holding a ``refused``
    text is wrong ("which drug came first?" answered with both drugs)."""
    if kind == "unanswerable":
        return answer.abstained
    if answer.abstained:
        return False
    haystack = " ".join(
        [answer.answer or ""] + [json.dumps(v.value, default=str) for v in answer.values]
    ).lower()
    if any(item.lower() in haystack for item in refused):
        return False
    if kind == "list":
        return all(item.lower() in haystack for item in gold)
    return any(item.lower() in haystack for item in gold)


def load_questions(path: Path | str) -> list[dict[str, Any]]:
    items = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            items.append(json.loads(line))
    return items


def evaluate(kb: QASource, path: Path | str) -> EvalReport:
    """Ask every question of the file and score the answers."""
    rows: list[EvalRow] = []
    by_kind: dict[str, tuple[int, int]] = {}
    for item in load_questions(path):
        kind, gold = str(item.get("kind", "entity")), tuple(str(g) for g in item.get("gold", []))
        answer = kb.ask(str(item["q"]))
        correct = is_correct(answer, kind, gold, tuple(str(g) for g in item.get("not", [])))
        rows.append(
            EvalRow(
                str(item.get("id", len(rows))),
                str(item["q"]),
                kind,
                gold,
                answer.answer,
                correct,
                answer.abstained,
                answer.reason,
            )
        )
        right, total = by_kind.get(kind, (0, 0))
        by_kind[kind] = (right + int(correct), total + 1)
    return EvalReport(tuple(rows), str(path), by_kind)
