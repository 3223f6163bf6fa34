"""Retrieval quality on labelled questions: recall@1, recall@5 and MRR for dense, BM25 and fused search.

The documents (the seed and the other-trial corpus) are split into passages and indexed together.
A passage is relevant to a question when it comes from the question's document and contains every one
of its ``answer_substrings`` (case-insensitive): labels are answer text, not passage ids, so they hold
whatever the passage splitter does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_search_support import sentence_transformer_embedder

from search import PassageIndex, PassageRecord

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "retrieval_labels.jsonl"
SEED = ROOT / "kb" / "data" / "kb" / "sources" / "000_ddb5accd812ab49c.txt"
DOCUMENTS = [SEED, *sorted((ROOT / "tests" / "data" / "corpus").glob("*.txt"))]
MODES = ("dense", "bm25", "fused")
SETTINGS = ("open", "mixed", "scoped")
FLOORS = {"open": 0.8, "mixed": 0.85, "scoped": 0.85}
TOLERANCE = 0.02  # one question in fifty


@dataclass(frozen=True)
class Label:
    question: str
    document: str
    answer_substrings: tuple[str, ...]


@dataclass(frozen=True)
class Scores:
    recall_at_1: float
    recall_at_5: float
    mrr: float


def split_passages(path: Path) -> list[PassageRecord]:
    """Sentences with offsets: the project's ingestion when it is there, else a simple splitter."""
    try:
        from kb.ingest import read_document
    except ImportError:
        read_document = None
    if read_document is not None:
        document = read_document(path)
        return [
            PassageRecord(p.id, p.text, {"document": path.name, "start": str(p.start), "end": str(p.end)})
            for p in document.passages
        ]
    text = path.read_text(encoding="utf-8")
    records = []
    for number, match in enumerate(re.finditer(r"[^\n]+?(?:[.!?](?=\s)|$)", text, flags=re.MULTILINE)):
        if match.group().strip():
            metadata = {"document": path.name, "start": str(match.start()), "end": str(match.end())}
            records.append(PassageRecord(f"{path.stem}-p{number}", match.group().strip(), metadata))
    return records


def load_labels() -> list[Label]:
    with LABELS.open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return [Label(item["q"], item["doc"], tuple(item["answer_substrings"])) for item in items]


def is_relevant(record_text: str, document: str, label: Label) -> bool:
    text = record_text.lower()
    return document == label.document and all(part.lower() in text for part in label.answer_substrings)


@pytest.fixture(scope="module")
def corpus_index() -> PassageIndex:
    records = [record for path in DOCUMENTS for record in split_passages(path)]
    return PassageIndex.build(records, sentence_transformer_embedder())


def evaluate(index: PassageIndex, labels: list[Label], mode: str, setting: str) -> Scores:
    """Scores of one search mode; ``setting`` says which passages each question is searched among.

    "open": all documents. "scoped": the question's own document only. "mixed": seed questions in the
    seed only (they were written for a KB of the seed alone and say "the study", see
    tests/data/eval/README.md), other questions, which name their trial, over all documents.
    """
    at_1 = at_5 = reciprocal = 0.0
    for label in labels:
        scoped = setting == "scoped" or (setting == "mixed" and label.document == SEED.name)
        filters = {"document": label.document} if scoped else None
        hits = index.search(label.question, 10, mode, filters)  # type: ignore[arg-type]
        ranks = [
            rank for rank, hit in enumerate(hits, 1) if is_relevant(hit.text, hit.metadata["document"], label)
        ]
        first = ranks[0] if ranks else None
        at_1 += first == 1
        at_5 += first is not None and first <= 5
        reciprocal += 1 / first if first else 0.0
    count = len(labels)
    return Scores(at_1 / count, at_5 / count, reciprocal / count)


@pytest.fixture(scope="module")
def quality_table(corpus_index: PassageIndex) -> dict[tuple[str, str], Scores]:
    labels = load_labels()
    table = {
        (setting, mode): evaluate(corpus_index, labels, mode, setting)
        for setting in SETTINGS
        for mode in MODES
    }
    return table


def test_every_label_has_a_relevant_passage(corpus_index: PassageIndex) -> None:
    for label in load_labels():
        assert any(is_relevant(r.text, r.metadata["document"], label) for r in corpus_index.records), label


def print_table(table: dict[tuple[str, str], Scores], corpus_index: PassageIndex) -> None:
    labels = load_labels()
    print(
        f"\nretrieval quality: {len(labels)} questions, {len(corpus_index)} passages, {len(DOCUMENTS)} documents"
    )
    print(f"{'setting':<8}{'mode':<8}{'recall@1':>10}{'recall@5':>10}{'MRR':>8}")
    for (setting, mode), scores in table.items():
        print(
            f"{setting:<8}{mode:<8}{scores.recall_at_1:>10.3f}{scores.recall_at_5:>10.3f}{scores.mrr:>8.3f}"
        )


def test_retrieval_quality_does_not_regress(
    quality_table: dict[tuple[str, str], Scores],
    corpus_index: PassageIndex,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with capsys.disabled():  # the table is the point of this harness: always show it
        print_table(quality_table, corpus_index)
    # Floors a little under the figures measured when this harness was written (see the printed table).
    for setting, floor in FLOORS.items():
        assert quality_table[(setting, "fused")].recall_at_5 >= floor, (setting, quality_table)
    for setting in SETTINGS:
        fused, bm25 = quality_table[(setting, "fused")], quality_table[(setting, "bm25")]
        assert fused.recall_at_5 >= bm25.recall_at_5 - TOLERANCE
        assert fused.mrr >= bm25.mrr - TOLERANCE


@pytest.mark.xfail(
    reason="issue 3 targets not met yet on sentence passages; see the printed table", strict=False
)
def test_retrieval_quality_meets_the_issue_targets(quality_table: dict[tuple[str, str], Scores]) -> None:
    fused = quality_table[("mixed", "fused")]
    assert fused.recall_at_5 >= 0.95
    for metric in ("recall_at_1", "recall_at_5", "mrr"):
        best_single = max(getattr(quality_table[("mixed", m)], metric) for m in ("dense", "bm25"))
        assert getattr(fused, metric) >= best_single - TOLERANCE, metric
