"""The search package with the real all-MiniLM-L6-v2: ONNX = sentence-transformers, exact terms, ranking."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_search_support import onnx_embedder, onnx_export_dir, sentence_transformer_embedder

from search import (
    PassageIndex,
    PassageRecord,
    SentenceTransformerEmbedder,
    compare_embedders,
    default_embedder,
)
from search.embedder import OnnxEmbedder, onnx_export_problem

ROOT = Path(__file__).resolve().parents[1]

# Sentences shaped like the sources, with distractors that share meaning but not the exact term.
PASSAGES = {
    "p-cr": "Remarkably, the study demonstrated a complete remission rate of 97% in older adults.",
    "p-os": "At a median follow-up of one year, the overall survival rate was 85%.",
    "p-nct": "Alliance A041703 clinical trial: https://www.clinicaltrials.gov/study/NCT03739814",
    "p-nct2": "The randomized phase 3 trial (NCT02003222) was run by the ECOG-ACRIN Cancer Research Group.",
    "p-reg": "The study was registered with the national clinical trials registry before enrolment.",
    "p-doi": "Wieduwilt MJ, et al. J Clin Oncol. 2025 Sep 30; DOI: 10.1200/JCO-25-00307.",
    "p-doi2": "Shah BD, et al. The Lancet, 2021;398(10299):491-502. DOI: 10.1016/S0140-6736(21)01222-8",
    "p-cd22": "Inotuzumab ozogamicin, a CD22-directed antibody-drug conjugate, was given for two cycles.",
    "p-cd19": "Brexucabtagene autoleucel is a CAR T-cell therapy directed against CD19.",
    "p-blina": "Patients then received four or five cycles of blinatumomab, a bispecific T-cell engager.",
    "p-fund": "This research was supported by the National Cancer Institute and grants from Pfizer and Amgen.",
    "p-tox": "The regimen exhibited a manageable safety profile with adverse events consistent with known toxicities.",
}


@pytest.fixture(scope="module", autouse=True)
def onnx_dir(pytestconfig: pytest.Config) -> Path:
    return onnx_export_dir(pytestconfig)


@pytest.fixture(scope="module")
def model_index() -> PassageIndex:
    records = [PassageRecord(key, text, {"document": key.split("-")[1]}) for key, text in PASSAGES.items()]
    return PassageIndex.build(records, onnx_embedder())


def test_onnx_vectors_equal_sentence_transformers_vectors() -> None:
    texts = [*PASSAGES.values(), "What was the complete remission rate?", "CD22", "x " * 400]
    agreement = compare_embedders(onnx_embedder(), sentence_transformer_embedder(), texts)
    assert agreement.agrees(0.999), agreement


def test_onnx_query_path_imports_no_torch() -> None:
    code = (
        "import sys; from pathlib import Path; from search.embedder import OnnxEmbedder;"
        f"v = OnnxEmbedder(Path({str(onnx_export_dir())!r})).encode(['complete remission']);"
        "assert v.shape == (1, 384);"
        "print(','.join(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""


def test_default_embedder_prefers_a_valid_onnx_export(tmp_path: Path) -> None:
    assert isinstance(default_embedder(onnx_export_dir()), OnnxEmbedder)
    assert isinstance(default_embedder(None), SentenceTransformerEmbedder)
    assert isinstance(default_embedder(tmp_path / "absent"), SentenceTransformerEmbedder)
    broken = tmp_path / "broken"
    shutil.copytree(onnx_export_dir(), broken)
    (broken / "model.onnx.data").write_bytes(b"truncated")
    assert "wrong size" in (onnx_export_problem(broken) or "")
    assert isinstance(default_embedder(broken), SentenceTransformerEmbedder)


def test_vectors_are_unit_length_float32() -> None:
    vectors = onnx_embedder().encode(["one", "two words", ""])
    assert vectors.dtype.name == "float32" and vectors.shape == (3, 384)
    assert abs(float((vectors**2).sum(axis=1).min()) - 1.0) < 1e-4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What was the complete remission rate?", "p-cr"),
        ("Which drug was given for two cycles?", "p-cd22"),
        ("How safe was the treatment?", "p-tox"),
    ],
)
def test_every_mode_ranks_paraphrases(model_index: PassageIndex, query: str, expected: str) -> None:
    assert model_index.search(query, k=1, mode="dense")[0].id == expected
    assert model_index.search(query, k=1)[0].id == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("NCT03739814", "p-nct"),
        ("10.1200/JCO-25-00307", "p-doi"),
        ("CD22", "p-cd22"),
        ("blinatumumab", "p-blina"),  # typo
    ],
)
def test_exact_terms_are_found_by_bm25_and_kept_by_fusion(
    model_index: PassageIndex, query: str, expected: str
) -> None:
    bm25 = model_index.search(query, k=1, mode="bm25")
    assert bm25[0].id == expected
    fused = model_index.search(query, k=3)
    assert fused[0].id == expected and "bm25" in fused[0].retrievers


@pytest.mark.parametrize(
    ("query", "expected"),
    [("NCT03739814", "p-nct"), ("10.1016/S0140-6736(21)01222-8", "p-doi2"), ("CD22", "p-cd22")],
)
def test_meaning_alone_misses_exact_terms_that_fusion_finds(
    model_index: PassageIndex, query: str, expected: str
) -> None:
    # Why BM25 is there: to the embedding model one registry id, DOI or CD number looks like another.
    assert model_index.search(query, k=1, mode="dense")[0].id != expected
    assert model_index.search(query, k=1, mode="bm25")[0].id == expected
    assert model_index.search(query, k=1)[0].id == expected
