"""Ingestion: metadata parsing, passages with exact offsets, and clear errors for bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import CORPUS, SEED, run_cli

from kb.errors import IngestError
from kb.facade import KnowledgeBase
from kb.ingest import parse_document, read_document, split_sentences


@pytest.mark.parametrize("path", [SEED, *CORPUS], ids=lambda p: p.name)
def test_passages_point_into_the_original_text(path: Path) -> None:
    document = read_document(path)
    assert document.passages
    for passage in document.passages:
        assert document.text[passage.start : passage.end] == passage.text
        assert passage.id.startswith(document.id + "-p")
    assert len({p.id for p in document.passages}) == len(document.passages)


def test_seed_metadata_block_is_parsed() -> None:
    document = read_document(SEED)
    assert document.metadata["news publication date"] == "30-Sep-2025"
    assert document.metadata["image credits"] == "Wake Forest School of Medicine"
    assert "10.1200/JCO-25-00307" in document.metadata["references"]
    assert "Blinatumomab" in document.metadata["keywords"]
    assert any("NCT03739814" in r for r in document.references)


def test_title_line_and_inline_metadata_keys() -> None:
    text = (
        "A New Drug Helps Adults With Leukemia\n"
        "Background: Outcomes are poor. Methods: We enrolled 40 adults.\n"
        "Authors: Doe J, et al. Journal: Blood, 2024;1(2):3. DOI: 10.1000/xyz-1\n"
    )
    document = parse_document("x.txt", text)
    assert document.title == "A New Drug Helps Adults With Leukemia"
    assert document.metadata["journal"] == "Blood, 2024;1(2):3."
    assert document.metadata["doi"] == "10.1000/xyz-1"
    # Abstract section labels stay in the body.
    assert any(p.section == "body" and p.text.startswith("Background:") for p in document.passages)


def test_sentence_splitter_keeps_abbreviations_together() -> None:
    text = "Wieduwilt MJ, et al. reported it. Dr. Smith agreed. The rate was 70.9% overall."
    spans = split_sentences(text)
    sentences = [text[a:b] for a, b in spans]
    assert sentences == [
        "Wieduwilt MJ, et al. reported it.",
        "Dr. Smith agreed.",
        "The rate was 70.9% overall.",
    ]


def test_stable_ids(tmp_path: Path) -> None:
    first = read_document(SEED)
    copy = tmp_path / SEED.name
    copy.write_bytes(SEED.read_bytes())
    second = read_document(copy)
    assert [p.id for p in first.passages] == [p.id for p in second.passages]
    assert first.sha256 == second.sha256


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\x00\x01\x02binary\x00data" * 100, "binary"),
        (bytes(range(256)) * 40, "binary"),
        (b"12 34 56", "too little text"),
    ],
    ids=["empty", "blank", "nul-bytes", "all-bytes", "no-words"],
)
def test_bad_files_get_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        read_document(path)


def test_too_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with path.open("wb") as file:
        file.truncate(50 * 1024 * 1024)
    with pytest.raises(IngestError, match="MB"):
        read_document(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        read_document(tmp_path / "nope.txt")


def test_other_encodings_are_decoded(tmp_path: Path) -> None:
    text = "Café trial: the complete remission rate was 97% in 33 patients aged 60 to 84 years.\n"
    latin = tmp_path / "latin.txt"
    latin.write_bytes(text.encode("cp1252"))
    assert "Café" in read_document(latin).text
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(text.encode("utf-16"))
    assert "Café" in read_document(utf16).text


def test_an_ingest_where_every_file_fails_writes_nothing(tmp_path: Path, sample_kb: Path) -> None:
    """No new KB directory, an existing KB untouched, one line per failure and a non-zero exit."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    no_trial = tmp_path / "weather.txt"
    no_trial.write_text("The weather was mild all week. Rain is expected in the north on Sunday.\n")
    new_home = tmp_path / "new-kb"
    result = run_cli("ingest", str(empty), str(no_trial), home=new_home)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 2 and all(line.startswith("failed") for line in lines), result.stderr
    assert "Traceback" not in result.stderr
    assert not new_home.exists()

    existing = tmp_path / "existing"
    shutil.copytree(sample_kb, existing)
    before = {path: path.read_bytes() for path in existing.rglob("*") if path.is_file()}
    report = KnowledgeBase(existing).ingest([empty, no_trial])
    assert report.failed and {o.status for o in report.outcomes} == {"failed"}
    assert {path: path.read_bytes() for path in existing.rglob("*") if path.is_file()} == before
