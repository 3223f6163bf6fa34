"""The development question set of issue 13 (tests/data/qa_dev): the KBs it is asked on and its scores.

Each question names its document (``doc``) and where it is asked (``kb``): ``doc`` on a KB of that document
alone (questions that name no trial), ``all`` on one KB of every document (questions that name theirs, so
linking must pick the right trial among eight). Scores are kept per group: ``seed`` (the bundled article)
and ``other`` (news items and abstracts about other trials).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kb.facade import KnowledgeBase
from kb.qa.evaluate import is_correct

ROOT = Path(__file__).resolve().parents[1]
QA_DEV = ROOT / "tests" / "data" / "qa_dev"
SEED = ROOT / "kb" / "data" / "kb" / "sources" / "000_ddb5accd812ab49c.txt"
DOCUMENTS = {
    SEED.name: SEED,
    **{
        name: ROOT / "tests" / "data" / "corpus" / name
        for name in ("e1910-news.txt", "lal2317-abstract.txt", "zuma3-abstract.txt")
    },
    **{
        name: ROOT / "tests" / "data" / "unseen" / name
        for name in ("asc4first.txt", "destiny.txt", "keynote.txt", "viale_a.txt")
    },
}


def load(name: str) -> list[dict[str, object]]:
    path = QA_DEV / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def open_kbs(root: Path, documents: Iterable[str] | None = None) -> dict[str, KnowledgeBase]:
    """KBs under ``root`` (built when missing): one per document, keyed by its file name, and ``all``."""
    kbs: dict[str, KnowledgeBase] = {}
    wanted = list(documents) if documents is not None else list(DOCUMENTS)
    for key, paths in [*((d, [DOCUMENTS[d]]) for d in wanted), ("all", list(DOCUMENTS.values()))]:
        home = root / key.replace(".txt", "")
        kb = KnowledgeBase(home)
        if not kb.exists():
            report = kb.ingest(paths)
            assert not report.failed, report
        kbs[key] = kb
    return kbs


@dataclass(frozen=True)
class Scored:
    """One question's outcome."""

    item: dict[str, object]
    answer: str | None
    reason: str | None
    source_kind: str
    correct: bool

    @property
    def abstained(self) -> bool:
        return self.answer is None

    @property
    def wrong(self) -> bool:
        return not self.abstained and not self.correct


def score(items: list[dict[str, object]], kbs: dict[str, KnowledgeBase]) -> list[Scored]:
    scored = []
    for item in items:
        kb = kbs["all"] if item["kb"] == "all" else kbs[str(item["doc"])]
        answer = kb.ask(str(item["q"]))
        gold = [str(g) for g in item["gold"]]  # type: ignore[attr-defined]
        refused = [str(g) for g in item.get("not", [])]  # type: ignore[attr-defined]
        correct = is_correct(answer, str(item["kind"]), gold, refused)
        scored.append(Scored(item, answer.answer, answer.reason, answer.source_kind, correct))
    return scored


def table(scored: list[Scored], title: str) -> dict[str, tuple[int, int, int, int]]:
    """Per group (and all): (correct, wrong, abstained on an answerable question, total); printed."""
    groups: dict[str, list[Scored]] = {}
    for row in scored:
        groups.setdefault(str(row.item["group"]), []).append(row)
    groups["all"] = scored
    result = {}
    print(f"\n{title}: {'group':6} {'correct':>8} {'wrong':>6} {'missed':>8} {'total':>6}")
    for name, rows in groups.items():
        counts = (
            sum(r.correct for r in rows),
            sum(r.wrong for r in rows),
            sum(r.abstained and r.item["kind"] != "unanswerable" for r in rows),
            len(rows),
        )
        result[name] = counts
        c, w, a, t = counts
        print(f"{'':{len(title) + 2}}{name:6} {c / t:8.3f} {w / t:6.3f} {a / t:8.3f} {t:6}")
    return result


def failures(scored: list[Scored]) -> str:
    lines = []
    for row in scored:
        if not row.correct:
            shown = row.answer if row.answer is not None else f"(abstained: {row.reason})"
            lines.append(f"{row.item['id']} {row.item['q']!r} gold={row.item['gold']} -> {shown[:90]}")
    return "\n".join(lines)
