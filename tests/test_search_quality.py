"""Retrieval quality through the KB's search path: recall@1, recall@5 and MRR for dense, BM25 and fused.

A KB of the seed and the other-trial corpus is ingested into a temporary home, and every labelled
question goes through ``kb.search`` (the code path of ``trialkb search`` and ``/api/search``: trial
detection, lexicon expansion, fusion). A passage is relevant to a question when it comes from the
question's document and contains every one of its ``answer_substrings`` (case-insensitive): labels are
answer text, not passage ids, so they hold whatever the passage splitter does.

Labels ``d``/``e``/``z``/``g`` are the issue's set (built from the shared eval and corpus questions);
``p`` labels are paraphrases written for robustness (other wordings, abbreviations, other facts).

The table also shows ``rrf``: the fused ranking with reciprocal rank fusion (k 60), what the search used
before score fusion (see search/fusion.py), kept so the choice can be re-checked on new labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kb import KnowledgeBase
from kb.passage_search import load_index
from search.passage_index import SearchHit

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "retrieval_labels.jsonl"
SEED = ROOT / "kb" / "data" / "kb" / "sources" / "000_ddb5accd812ab49c.txt"
CORPUS = ROOT / "tests" / "data" / "corpus"
# The labels are about the seed and the three B-ALL documents; the randomised-trial documents added later
# (issue 14) have no retrieval labels, so they stay out of this measurement to keep it comparable.
DOCUMENTS = [
    SEED,
    *(CORPUS / name for name in ("e1910-news.txt", "lal2317-abstract.txt", "zuma3-abstract.txt")),
]
MODES = ("dense", "bm25", "fused", "rrf")
SETTINGS = ("mixed", "open", "scoped")
DEPTH = 10


@dataclass(frozen=True)
class Label:
    id: str
    question: str
    document: str
    answer_substrings: tuple[str, ...]


@dataclass(frozen=True)
class Scores:
    recall_at_1: float
    recall_at_5: float
    mrr: float
    misses: tuple[str, ...] = ()  # ids of questions with no relevant passage in the top 5


# Floors for fused search on every label, a little under the figures measured with score fusion (see
# the printed table), so that a regression fails while noise from a changed splitter or model build does
# not. "open" asks the seed's questions ("How many patients were enrolled?") of every document, where
# another trial's passage is a fair answer the labels count as wrong, so its figures are lower.
FLOORS = {
    "mixed": Scores(recall_at_1=0.72, recall_at_5=0.95, mrr=0.82),
    "open": Scores(recall_at_1=0.58, recall_at_5=0.90, mrr=0.72),
    "scoped": Scores(recall_at_1=0.72, recall_at_5=0.95, mrr=0.82),
}
# Where fused must be at least as good as each retriever on every metric (issue 3): every setting but
# "open", where seed questions without their trial's name are ambiguous (above).
TARGET_SETTINGS = ("mixed", "scoped")


def load_labels() -> list[Label]:
    with LABELS.open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return [Label(item["id"], item["q"], item["doc"], tuple(item["answer_substrings"])) for item in items]


def is_relevant(text: str, document: str, label: Label, document_ids: dict[str, str]) -> bool:
    lowered = text.lower()
    return document_ids.get(label.document) == document and all(
        part.lower() in lowered for part in label.answer_substrings
    )


def document_ids(kb: KnowledgeBase) -> dict[str, str]:
    """Source file name -> the KB's document id."""
    return {Path(entry.path).name: entry.id for entry in kb.documents()}


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("search-quality"))
    report = kb.ingest(DOCUMENTS)
    assert not report.failed, report
    return kb


def first_relevant_ranks(
    kb: KnowledgeBase, labels: list[Label], mode: str, setting: str
) -> dict[str, int | None]:
    """Question id -> rank (from 1) of its first relevant passage in the top ``DEPTH``, or None.

    ``setting`` says which passages each question is searched among. "open": all documents. "scoped":
    the question's own document only. "mixed": seed questions in the seed only (they were written for a
    KB of the seed alone and say "the study", see tests/data/eval/README.md), other questions, which
    name their trial, over all documents.
    """
    ids = document_ids(kb)
    ranks: dict[str, int | None] = {}
    for label in labels:
        scoped = setting == "scoped" or (setting == "mixed" and label.document == SEED.name)
        document = ids[label.document] if scoped else None
        if mode == "rrf":
            hits = rank_fused_search(kb, label.question, document)
        else:
            hits = kb.search(label.question, DEPTH, document=document, mode=mode)
        relevant = [
            rank
            for rank, hit in enumerate(hits, 1)
            if is_relevant(hit.text, hit.metadata["document"], label, ids)
        ]
        ranks[label.id] = relevant[0] if relevant else None
    return ranks


def rank_fused_search(kb: KnowledgeBase, question: str, document: str | None) -> list[SearchHit]:
    """``kb.search`` in fused mode with reciprocal rank fusion instead of score fusion (for comparison)."""
    index = load_index(kb)
    index.fusion = "rank"
    try:
        return kb.search(question, DEPTH, document=document, mode="fused")
    finally:
        index.fusion = "score"


def scores(ranks: dict[str, int | None], labels: Iterable[Label]) -> Scores:
    firsts = [(label.id, ranks[label.id]) for label in labels]
    count = len(firsts)
    return Scores(
        sum(first == 1 for _, first in firsts) / count,
        sum(first is not None and first <= 5 for _, first in firsts) / count,
        sum(1 / first for _, first in firsts if first) / count,
        tuple(label_id for label_id, first in firsts if first is None or first > 5),
    )


GROUPS = {
    "all": lambda label: True,
    "issue": lambda label: not label.id.startswith("p"),
    "paraphrase": lambda label: label.id.startswith("p"),
}


@pytest.fixture(scope="module")
def quality_table(corpus_kb: KnowledgeBase) -> dict[tuple[str, str, str], Scores]:
    labels = load_labels()
    ranks = {
        (setting, mode): first_relevant_ranks(corpus_kb, labels, mode, setting)
        for setting in SETTINGS
        for mode in MODES
    }
    return {
        (group, setting, mode): scores(ranks[(setting, mode)], filter(keep, labels))
        for group, keep in GROUPS.items()
        for setting in SETTINGS
        for mode in MODES
    }


def render(table: dict[tuple[str, str, str], Scores], kb: KnowledgeBase) -> str:
    labels = load_labels()
    passages = len(load_index(kb))
    counts = {group: sum(map(keep, labels)) for group, keep in GROUPS.items()}
    lines = [
        f"retrieval quality via kb.search: {len(DOCUMENTS)} documents, {passages} passages, questions "
        + ", ".join(f"{group} {count}" for group, count in counts.items()),
        f"{'labels':<11}{'setting':<8}{'mode':<7}{'recall@1':>9}{'recall@5':>9}{'MRR':>7}  missed@5",
    ]
    for (group, setting, mode), scores in table.items():
        lines.append(
            f"{group:<11}{setting:<8}{mode:<7}{scores.recall_at_1:>9.3f}{scores.recall_at_5:>9.3f}"
            f"{scores.mrr:>7.3f}  {' '.join(scores.misses)}"
        )
    return "\n".join(lines)


def test_every_label_has_a_relevant_passage(corpus_kb: KnowledgeBase) -> None:
    ids = document_ids(corpus_kb)
    for label in load_labels():
        document = ids[label.document]
        texts = [hit.text for hit in corpus_kb.search(" ".join(label.answer_substrings), 100, mode="bm25")]
        texts += [hit.text for hit in corpus_kb.search(label.question, 100, document=document, mode="bm25")]
        assert any(is_relevant(text, document, label, ids) for text in texts), label


def check_targets(
    table: dict[tuple[str, str, str], Scores], group: str, setting: str = "mixed", *, floor: bool = True
) -> list[str]:
    """Issue 3's targets on one group of labels in one setting: the ones missed, with the figures.

    ``floor=False`` leaves out the recall@5 >= 0.95 target and checks only that fused is at least as
    good as each retriever.
    """
    fused = table[(group, setting, "fused")]
    missed = []
    if floor and fused.recall_at_5 < 0.95:
        missed.append(f"{setting} fused recall@5 {fused.recall_at_5:.3f} < 0.95")
    for metric in ("recall_at_1", "recall_at_5", "mrr"):
        best_mode = max(("dense", "bm25"), key=lambda m: getattr(table[(group, setting, m)], metric))
        best = getattr(table[(group, setting, best_mode)], metric)
        if getattr(fused, metric) < best:
            missed.append(f"{setting} fused {metric} {getattr(fused, metric):.3f} < {best_mode} {best:.3f}")
    return missed


def test_retrieval_quality_meets_the_issue_targets(
    quality_table: dict[tuple[str, str, str], Scores],
    corpus_kb: KnowledgeBase,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 3 on every labelled question: fused recall@5 >= 0.95, fused >= dense and BM25 on each metric."""
    report = render(quality_table, corpus_kb)
    with capsys.disabled():  # the table is the point of this harness: always show it
        print("\n" + report)
    assert not [
        miss for setting in TARGET_SETTINGS for miss in check_targets(quality_table, "all", setting)
    ], report


def test_fused_beats_each_retriever_on_the_issue_questions(
    quality_table: dict[tuple[str, str, str], Scores],
) -> None:
    assert not [
        miss for setting in TARGET_SETTINGS for miss in check_targets(quality_table, "issue", setting)
    ]


def test_fused_beats_each_retriever_on_the_paraphrases(
    quality_table: dict[tuple[str, str, str], Scores],
) -> None:
    """The held-out paraphrases: fused at least as good as each retriever (two of the 24 are missed by
    every mode, so recall@5 is under 0.95 whatever the fusion)."""
    assert not [
        miss
        for setting in TARGET_SETTINGS
        for miss in check_targets(quality_table, "paraphrase", setting, floor=False)
    ]


def test_retrieval_quality_does_not_regress(quality_table: dict[tuple[str, str, str], Scores]) -> None:
    for setting, floor in FLOORS.items():
        fused = quality_table[("all", setting, "fused")]
        for metric in ("recall_at_1", "recall_at_5", "mrr"):
            assert getattr(fused, metric) >= getattr(floor, metric), (setting, metric)
