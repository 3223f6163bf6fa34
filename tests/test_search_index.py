"""PassageIndex, BM25, fusion, vector indexes and persistence, with a fast stand-in embedder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_search_support import HashingEmbedder

from search import (
    CorruptIndex,
    IndexNotFound,
    PassageIndex,
    PassageRecord,
    StaleIndex,
    reciprocal_rank_fusion,
    score_fusion,
    verify_index,
)
from search.keyword import KeywordIndex, s_stem, tokenize
from search.vector_index import FlatIndex, HNSWIndex, load_vector_index, make_vector_index

ROOT = Path(__file__).resolve().parents[1]

PASSAGES = [
    ("a-p0", "The trial enrolled 33 patients aged 60 to 84 years.", "a", "A041703"),
    ("a-p1", "Remarkably, the study demonstrated a complete remission rate of 97%.", "a", "A041703"),
    ("a-p2", "Inotuzumab ozogamicin is a CD22-directed antibody-drug conjugate.", "a", "A041703"),
    (
        "a-p3",
        "Alliance A041703 clinical trial: https://www.clinicaltrials.gov/study/NCT03739814",
        "a",
        "A041703",
    ),
    ("a-p4", "J Clin Oncol. 2025 Sep 30; DOI: 10.1200/JCO-25-00307.", "a", "A041703"),
    ("b-p0", "Blinatumomab binds CD19 on B cells and CD3 on T cells.", "b", "E1910"),
    ("b-p1", "Three-year overall survival was 85% in the blinatumomab group.", "b", "E1910"),
    ("b-p2", "The randomized phase 3 trial (NCT02003222) enrolled 488 adults.", "b", "E1910"),
]


def records(items: list[tuple[str, str, str, str]] = PASSAGES) -> list[PassageRecord]:
    return [PassageRecord(i, text, {"document": doc, "trial": trial}) for i, text, doc, trial in items]


@pytest.fixture()
def index() -> PassageIndex:
    return PassageIndex.build(records(), HashingEmbedder())


# -- tokeniser and BM25 -------------------------------------------------------------------------


def test_tokenizer_keeps_identifiers_and_their_parts() -> None:
    tokens = tokenize("NCT03739814, DOI 10.1200/JCO-25-00307; CD22-positive B-ALL in A041703 (BCR::ABL1)")
    for token in ["nct03739814", "10.1200/jco-25-00307", "jco", "00307", "cd22-positive", "cd22", "a041703"]:
        assert token in tokens
    assert "bcr::abl1" in tokens and "abl1" in tokens
    assert "in" not in tokens  # stopword


def test_tokenizer_folds_plurals_and_keeps_decimals() -> None:
    assert tokenize("Studies of cycles; 70.9% of patients") == ["study", "cycle", "70.9", "patient"]
    assert s_stem("status") == "status" and s_stem("class") == "class"


def test_bm25_finds_exact_identifiers() -> None:
    keyword = KeywordIndex.build([text for _, text, _, _ in PASSAGES])
    assert keyword.search("NCT03739814", 3)[0].position == 3
    assert keyword.search("10.1200/JCO-25-00307", 3)[0].position == 4
    assert keyword.search("CD22", 3)[0].position == 2
    assert keyword.search("no such words zzz", 3) == []


def test_bm25_tolerates_a_typo_in_a_drug_name() -> None:
    keyword = KeywordIndex.build([text for _, text, _, _ in PASSAGES])
    assert "blinatumumab" not in keyword.vocabulary
    assert keyword.close_tokens("blinatumumab")[0][0] == "blinatumomab"
    assert {hit.position for hit in keyword.search("blinatumumab", 5)} == {5, 6}
    assert keyword.close_tokens("cd99") == []  # short tokens and identifiers are never guessed


def test_bm25_save_and_load(tmp_path: Path) -> None:
    keyword = KeywordIndex.build([text for _, text, _, _ in PASSAGES])
    keyword.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path)
    assert np.allclose(loaded.scores("complete remission"), keyword.scores("complete remission"))


# -- fusion -------------------------------------------------------------------------------------


def test_reciprocal_rank_fusion_rewards_agreement_and_reports_ranks() -> None:
    fused = reciprocal_rank_fusion({"dense": ["x", "y", "z"], "bm25": ["y", "w"]}, k=60)
    assert [hit.key for hit in fused] == ["y", "x", "w", "z"]
    assert fused[0].ranks == {"dense": 2, "bm25": 1}
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].ranks == {"dense": 1}


def test_weighted_fusion_and_limit() -> None:
    fused = reciprocal_rank_fusion({"a": ["x"], "b": ["y"]}, weights={"a": 0.5}, limit=1)
    assert [hit.key for hit in fused] == ["y"]


def test_score_fusion_weighs_each_retrievers_confidence() -> None:
    # BM25's first is far ahead of its second; the dense cosines are close together. Rank fusion would
    # tie x and y (each first in one list); score fusion keeps BM25's margin.
    ranked = {"dense": [("y", 0.60), ("x", 0.55)], "bm25": [("x", 8.0), ("y", 2.0)]}
    fused = score_fusion(ranked)
    assert [hit.key for hit in fused] == ["x", "y"]
    assert fused[0].score == pytest.approx((0.55 / 0.60 + 1.0) / 2)
    assert fused[0].ranks == {"dense": 2, "bm25": 1}
    assert [hit.key for hit in reciprocal_rank_fusion({n: [k for k, _ in p] for n, p in ranked.items()})] == [
        "y",
        "x",
    ]


def test_score_fusion_scores_every_candidate_by_every_retriever() -> None:
    ranked = {"dense": [("a", 0.5)], "bm25": [("b", 3.0)]}
    alone = score_fusion(ranked)
    assert {hit.key: hit.score for hit in alone} == {"a": pytest.approx(0.5), "b": pytest.approx(0.5)}
    completed = score_fusion(ranked, other_scores={"dense": {"b": 0.4}, "bm25": {"a": -1.0}})
    assert [hit.key for hit in completed] == ["b", "a"]
    assert completed[0].score == pytest.approx((0.4 / 0.5 + 1.0) / 2)
    assert completed[0].ranks == {"bm25": 1}  # ranks stay those of the lists that returned it
    assert completed[1].score == pytest.approx(0.5)  # a negative score counts as 0


def test_score_fusion_weights_limit_and_empty_retrievers() -> None:
    ranked = {"dense": [("a", 0.9), ("b", 0.8)], "bm25": [("b", 1.0)]}
    assert [hit.key for hit in score_fusion(ranked, {"dense": 1.0, "bm25": 0.2})] == ["b", "a"]
    assert [hit.key for hit in score_fusion(ranked, {"dense": 1.0, "bm25": 0.0})] == ["a", "b"]
    assert [hit.key for hit in score_fusion(ranked, limit=1)] == ["b"]
    # BM25 found nothing: the dense order stands, and ties keep the order of first appearance.
    only_dense = score_fusion({"dense": [("a", 0.5), ("b", 0.5)], "bm25": []})
    assert [hit.key for hit in only_dense] == ["a", "b"] and only_dense[0].score == pytest.approx(0.5)


def test_fused_search_reports_both_retrievers_scores(index: PassageIndex) -> None:
    fused = index.search("complete remission rate", k=3)
    assert all(set(hit.retriever_scores) == {"dense", "bm25"} for hit in fused)
    assert all(0.0 <= hit.score <= 1.0 for hit in fused)
    assert [hit.score for hit in fused] == sorted((hit.score for hit in fused), reverse=True)
    rank_index = PassageIndex(index.embedder, fusion="rank")
    rank_index.add(index.records)
    assert rank_index.search("complete remission rate", k=1)[0].id == fused[0].id
    with pytest.raises(ValueError, match="unknown fusion"):
        PassageIndex(index.embedder, fusion="max")  # type: ignore[arg-type]


# -- vector indexes -----------------------------------------------------------------------------


def unit_vectors(count: int, seed: int = 0, dimension: int = 64) -> np.ndarray:
    matrix = np.random.default_rng(seed).normal(size=(count, dimension)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_make_vector_index_chooses_by_size() -> None:
    assert make_vector_index(100, 1000).kind == "flat"
    assert make_vector_index(1000, 1000).kind == "hnsw"


def test_hnsw_recall_against_flat(tmp_path: Path) -> None:
    data, queries = unit_vectors(2000, 1), unit_vectors(50, 2)
    flat, hnsw = FlatIndex(64), HNSWIndex(64)
    flat.add(data)
    hnsw.add(data)
    _, exact = flat.search(queries, 10)
    _, approximate = hnsw.search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approximate, exact, strict=True)])
    assert recall >= 0.95
    hnsw.save(tmp_path / "h.faiss")
    reloaded = load_vector_index(tmp_path / "h.faiss")
    assert reloaded.kind == "hnsw" and np.array_equal(reloaded.search(queries, 10)[1], approximate)


def test_filtered_hnsw_search_is_exact_on_small_subsets() -> None:
    data = unit_vectors(1000)
    hnsw = HNSWIndex(64)
    hnsw.add(data)
    _, positions = hnsw.search(data[:1], 5, allowed=[7, 8, 1])
    assert sorted(positions[0][:3].tolist()) == [1, 7, 8] and positions[0][3] == -1


# -- PassageIndex -------------------------------------------------------------------------------


def test_search_modes_report_their_retrievers(index: PassageIndex) -> None:
    dense = index.search("complete remission rate", k=3, mode="dense")
    assert dense[0].id == "a-p1" and set(dense[0].retrievers) == {"dense"}
    bm25 = index.search("complete remission rate", k=3, mode="bm25")
    assert bm25[0].id == "a-p1" and set(bm25[0].retrievers) == {"bm25"}
    fused = index.search("complete remission rate", k=3)
    assert fused[0].id == "a-p1" and fused[0].retrievers == {"dense": 1, "bm25": 1}
    assert fused[0].metadata["document"] == "a" and fused[0].text.startswith("Remarkably")
    assert json.loads(json.dumps(fused[0].to_dict()))["retrievers"] == {"dense": 1, "bm25": 1}


def test_filters_by_one_or_several_values(index: PassageIndex) -> None:
    hits = index.search("trial enrolled", k=10, filters={"trial": "E1910"})
    assert hits and {hit.metadata["trial"] for hit in hits} == {"E1910"}
    both = index.search("trial", k=10, mode="dense", filters={"document": ["a", "b"]})
    assert len(both) == len(PASSAGES)
    assert index.search("trial", filters={"trial": "nope"}) == []
    assert index.search("trial", filters={"document": "a", "trial": "E1910"}) == []


def test_search_many_matches_search(index: PassageIndex) -> None:
    queries = ["CD19", "overall survival"]
    assert [[hit.id for hit in hits] for hits in index.search_many(queries, 3)] == [
        [hit.id for hit in index.search(query, 3)] for query in queries
    ]
    with pytest.raises(ValueError):
        index.search("x", mode="sparse")  # type: ignore[arg-type]


def test_incremental_add_embeds_only_new_passages() -> None:
    embedder = HashingEmbedder()
    index = PassageIndex.build(records(PASSAGES[:5]), embedder)
    assert len(embedder.encoded) == 5
    embedder.encoded.clear()
    assert index.add(records(PASSAGES[5:])) == 3
    assert embedder.encoded == [text for _, text, _, _ in PASSAGES[5:]]
    embedder.encoded.clear()
    # Same id, same text: replaced without embedding; same id, new text: embedded again.
    index.add([PassageRecord("a-p0", PASSAGES[0][1], {"document": "a", "trial": "X"})])
    assert embedder.encoded == [] and index.get("a-p0").metadata["trial"] == "X"
    index.add([PassageRecord("a-p1", "The complete remission rate was 90%.", {"document": "a"})])
    assert embedder.encoded == ["The complete remission rate was 90%."]
    assert len(index) == len(PASSAGES)
    assert index.search("remission rate 90%", k=1, mode="bm25")[0].id == "a-p1"


def test_remove_by_id_and_by_predicate(index: PassageIndex) -> None:
    assert index.remove(["a-p0", "missing"]) == 1
    assert "a-p0" not in index
    assert index.remove(lambda record: record.metadata["document"] == "b") == 3
    assert len(index) == 4
    assert {hit.metadata["document"] for hit in index.search("blinatumomab CD19", k=10)} == {"a"}


def test_growing_past_the_threshold_switches_to_hnsw() -> None:
    index = PassageIndex.build(records(), HashingEmbedder(), exact_threshold=6)
    assert index.index_kind == "hnsw"
    assert index.search("NCT02003222", k=1)[0].id == "b-p2"


# -- persistence --------------------------------------------------------------------------------


def test_save_and_load_round_trip(index: PassageIndex, tmp_path: Path) -> None:
    manifest = index.save(tmp_path / "index", content_hash="kb-1")
    assert manifest.count == len(PASSAGES) and manifest.index_kind == "flat" and manifest.dimension == 384
    assert set(manifest.files) == {
        "records.jsonl",
        "vectors.faiss",
        "keyword/keyword_vocabulary.json",
        "keyword/keyword_matrix.npz",
    }
    loaded = PassageIndex.load(tmp_path / "index", HashingEmbedder(), "kb-1")
    assert [hit.id for hit in loaded.search("CD22 conjugate", 3)] == [
        hit.id for hit in index.search("CD22 conjugate", 3)
    ]
    assert loaded.get("a-p3").metadata == {"document": "a", "trial": "A041703"}
    assert not list(tmp_path.glob(".index*"))  # no staging directory left behind


def test_save_replaces_an_existing_index(index: PassageIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "index", "kb-1")
    index.remove(["a-p0"])
    index.save(tmp_path / "index", "kb-2")
    assert len(PassageIndex.load(tmp_path / "index", HashingEmbedder(), "kb-2")) == len(PASSAGES) - 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["index"]


def test_failed_save_keeps_the_last_good_index(
    index: PassageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index.save(tmp_path / "index", "kb-1")

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("search.passage_index.KeywordIndex.save", crash)
    with pytest.raises(OSError):
        index.save(tmp_path / "index", "kb-2")
    assert PassageIndex.load(tmp_path / "index", HashingEmbedder(), "kb-1")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["index"]


def test_stale_content_hash_is_reported(index: PassageIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "index", "kb-1")
    with pytest.raises(StaleIndex, match="KB content kb-1"):
        PassageIndex.load(tmp_path / "index", HashingEmbedder(), "kb-2")


def test_another_model_is_reported_as_stale(index: PassageIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "index", "kb-1")
    with pytest.raises(StaleIndex, match="other-model"):
        PassageIndex.load(tmp_path / "index", HashingEmbedder(name="other-model"), "kb-1")


def test_missing_index_is_reported(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound):
        PassageIndex.load(tmp_path / "nothing", HashingEmbedder(), "kb-1")


@pytest.mark.parametrize("name", ["records.jsonl", "vectors.faiss", "keyword/keyword_matrix.npz"])
def test_truncated_file_is_detected(index: PassageIndex, tmp_path: Path, name: str) -> None:
    index.save(tmp_path / "index", "kb-1")
    path = tmp_path / "index" / name
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CorruptIndex, match="truncated"):
        PassageIndex.load(tmp_path / "index", HashingEmbedder(), "kb-1")


def test_altered_file_is_detected(index: PassageIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "index", "kb-1")
    path = tmp_path / "index" / "records.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("97%", "98%"), encoding="utf-8")  # same size
    with pytest.raises(CorruptIndex, match="altered"):
        PassageIndex.load(tmp_path / "index", HashingEmbedder(), "kb-1")


def test_missing_file_and_bad_manifest_are_detected(index: PassageIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "index", "kb-1")
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["content_hash"] = "kb-2"  # edited by hand to pass a stale index off as current
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CorruptIndex, match="checksum"):
        PassageIndex.load(tmp_path / "index", HashingEmbedder(), "kb-2")
    manifest_path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptIndex, match="not a valid index manifest"):
        verify_index(tmp_path / "index")
    manifest_path.unlink()
    with pytest.raises(CorruptIndex, match="no manifest.json"):
        verify_index(tmp_path / "index")
    index.save(tmp_path / "index", "kb-1")
    (tmp_path / "index" / "vectors.faiss").unlink()
    with pytest.raises(CorruptIndex, match="missing vectors.faiss"):
        PassageIndex.load(tmp_path / "index", HashingEmbedder(), "kb-1")


def test_search_package_imports_nothing_heavy_or_foreign() -> None:
    code = (
        "import sys, search, search.passage_index, search.keyword, search.vector_index, search.embedder;"
        "bad = [m for m in ('torch', 'sentence_transformers', 'transformers', 'faiss', 'bm25s', 'onnxruntime',"
        " 'rdflib', 'kb', 'ontology') if m in sys.modules]; print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""


def test_single_queries_run_on_one_thread_and_match_batched_results() -> None:
    """One query is searched on one OpenMP thread (spin-waiting threads cost more than they save on busy
    cores); the answers are the batch's, and the process's thread count is restored afterwards."""
    import faiss

    from search.vector_index import FlatIndex

    rng = np.random.default_rng(7)
    data = rng.standard_normal((2_000, 384)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = FlatIndex(384)
    index.add(data)
    before = faiss.omp_get_max_threads()
    queries = data[:20] + 0.01
    batched_scores, batched_positions = index.search(queries, 5)
    for row in range(len(queries)):
        scores, positions = index.search(queries[row : row + 1], 5)
        assert positions[0].tolist() == batched_positions[row].tolist()
        assert np.allclose(scores[0], batched_scores[row], atol=1e-5)
    assert faiss.omp_get_max_threads() == before
