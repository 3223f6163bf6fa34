"""The command line as users run it: clear messages, non-zero exits, and a KB that is never half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import CORPUS, SEED, run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "kb"
    result = run_cli("-q", "ingest", str(SEED), home=path)
    assert result.returncode == 0, result.stderr
    return path


def _manifest(home: Path) -> str:
    return (home / "manifest.json").read_text()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("binary.bin", b"\x7fELF\x00\x00\x00" * 200, "binary"),
        (
            "notrial.txt",
            b"The weather was sunny and warm all week, and the markets rose slightly on Friday.\n",
            "no clinical trial",
        ),
    ],
)
def test_bad_input_is_refused_and_kb_unchanged(
    home: Path, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    before = _manifest(home)
    path = tmp_path / name
    path.write_bytes(content)
    result = run_cli("ingest", str(path), home=home)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert _manifest(home) == before


def test_fifty_megabyte_file_is_refused(home: Path, tmp_path: Path) -> None:
    before = _manifest(home)
    path = tmp_path / "huge.txt"
    path.write_bytes(b"Trial NCT01234567 enrolled patients. " * (50 * 1024 * 1024 // 37))
    result = run_cli("ingest", str(path), home=home)
    assert result.returncode == 1 and "MB" in result.stderr and "Traceback" not in result.stderr
    assert _manifest(home) == before


def test_unexpected_encoding_is_decoded(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1-news.txt"
    text = CORPUS[0].read_text(encoding="utf-8").replace("adults", "adultes âgés")
    path.write_bytes(text.encode("cp1252", errors="replace"))
    result = run_cli("--home", str(tmp_path / "other"), "ingest", str(path))
    assert result.returncode == 0, result.stderr


def test_ingesting_twice_reports_unchanged(home: Path) -> None:
    result = run_cli("ingest", "--json", str(SEED), home=home)
    assert result.returncode == 0
    assert json.loads(result.stdout)["files"][0]["status"] == "unchanged"


def test_sparql_formats(home: Path) -> None:
    query = "SELECT ?t WHERE { ?t a tkb:ClinicalTrial }"
    as_json = run_cli("sparql", query, home=home)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["results"]["bindings"]
    for fmt, marker in (("csv", "t\n"), ("tsv", "?t"), ("xml", "<sparql")):
        out = run_cli("sparql", query, "--format", fmt, home=home)
        assert out.returncode == 0 and marker in out.stdout
    graph = run_cli(
        "sparql", "CONSTRUCT { ?t a tkb:ClinicalTrial } WHERE { ?t a tkb:ClinicalTrial }", home=home
    )
    assert graph.returncode == 0 and "ClinicalTrial" in graph.stdout
    jsonld = run_cli(
        "sparql", "DESCRIBE ?t WHERE { ?t a tkb:ClinicalTrial }", "--format", "jsonld", home=home
    )
    assert jsonld.returncode == 0 and json.loads(jsonld.stdout)


def test_sparql_refuses_updates_and_bad_syntax(home: Path) -> None:
    update = run_cli("sparql", "INSERT DATA { <http://a> <http://b> <http://c> }", home=home)
    assert update.returncode == 1 and "read-only" in update.stderr
    broken = run_cli("sparql", "SELECT ?x WHERE { ?x ", home=home)
    assert broken.returncode == 1 and "syntax" in broken.stderr.lower() and "Traceback" not in broken.stderr
    service = run_cli("sparql", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", home=home)
    assert service.returncode == 1 and "SERVICE" in service.stderr


def test_export_and_validate(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "kb.trig"
    assert run_cli("export", "--format", "trig", "-o", str(out), home=home).returncode == 0
    assert "GRAPH" in out.read_text() or "{" in out.read_text()
    for fmt in ("ttl", "nq", "jsonld"):
        result = run_cli("export", "--format", fmt, home=home)
        assert result.returncode == 0 and result.stdout
    validation = run_cli("validate", home=home)
    assert validation.returncode == 0, validation.stdout


def test_missing_home_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("sparql", "ASK {}", home=tmp_path / "nothing")
    assert result.returncode == 1 and "no knowledge base" in result.stderr
