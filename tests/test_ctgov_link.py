"""`KnowledgeBase.link` / `reconcile` and `trialkb link` / `trialkb reconcile` on a KB built from the seed."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from support import DATA, SEED, run_cli

from kb.ctgov import InvalidRecord, RecordMismatch, RecordNotCached, RegistryUnavailable
from kb.facade import KnowledgeBase
from kb.settings import Settings

RECORD = DATA / "ctgov" / "NCT03739814.json"
REGISTRY_GRAPH = "https://w3id.org/trialkb/graph/registry/NCT03739814"
PAGE = "https://clinicaltrials.gov/study/NCT03739814"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ctgov") / "kb"
    KnowledgeBase(home, Settings(cache_dir=home.parent / "cache")).ingest([SEED])
    return home


@pytest.fixture()
def home(seeded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "kb"
    shutil.copytree(seeded, copy)
    return copy


def open_kb(home: Path, **settings: object) -> KnowledgeBase:
    return KnowledgeBase(home, Settings(cache_dir=home.parent / "cache", **settings))  # type: ignore[arg-type]


def test_link_a_saved_record_then_reconcile(home: Path) -> None:
    kb = open_kb(home)
    report = kb.link(["NCT03739814"], record=RECORD)
    (outcome,) = report.outcomes
    assert (
        outcome.status == "linked" and outcome.graph == REGISTRY_GRAPH and outcome.last_update == "2023-04-04"
    )
    assert "file NCT03739814.json" in outcome.message and not report.failed
    assert REGISTRY_GRAPH in kb.graph_names()
    assert kb.manifest.registry_records == ("NCT03739814",)
    assert (home / "registry" / "NCT03739814.json").is_file()
    trial = "https://w3id.org/trialkb/resource/trial/NCT03739814"
    query = f"SELECT ?type WHERE {{ GRAPH <{REGISTRY_GRAPH}> {{ <{trial}> tkb:hasCohort ?c . ?c tkb:enrollmentType ?type }} }}"
    rows = kb.select(query)
    assert rows == [{"type": "ESTIMATED"}]

    result = kb.reconcile("NCT03739814")
    enrollment = result.item("enrollment")
    assert enrollment.status == "differ" and "Cohort 1 only" in enrollment.note
    assert [(v.value, v.source) for v in enrollment.article] == [(33, result.documents[0])]
    assert [(v.value, v.source, v.detail) for v in enrollment.registry] == [(64, PAGE, "ESTIMATED")]
    primary = result.item("primary_endpoint")
    assert len(primary.registry) == 3 and any("complete remission" in v.label for v in primary.article)
    assert result.item("interventions").status == "agree"


def test_rebuild_keeps_the_registry_graph(home: Path) -> None:
    kb = open_kb(home)
    kb.link(["NCT03739814"], record=RECORD)
    before = len(kb.store.graph(REGISTRY_GRAPH))
    kb.build()
    assert len(kb.store.graph(REGISTRY_GRAPH)) == before
    assert kb.manifest.registry_records == ("NCT03739814",)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ('{"protocolSection": ', InvalidRecord, "malformed JSON"),
        (
            RECORD.read_text().replace('"count": 64', '"count": "sixty"'),
            InvalidRecord,
            "protocolSection.designModule.enrollmentInfo.count",
        ),
    ],
)
def test_bad_records_leave_the_kb_unchanged(
    home: Path, tmp_path: Path, content: str, error: type[Exception], message: str
) -> None:
    manifest = (home / "manifest.json").read_bytes()
    path = tmp_path / "record.json"
    path.write_text(content)
    with pytest.raises(error, match=message):
        open_kb(home).link(["NCT03739814"], record=path)
    assert (home / "manifest.json").read_bytes() == manifest


def test_record_for_another_trial_is_refused(home: Path) -> None:
    manifest = (home / "manifest.json").read_bytes()
    with pytest.raises(RecordMismatch, match="is for NCT03739814, not NCT02003222"):
        open_kb(home).link(["NCT02003222"], record=RECORD)
    assert (home / "manifest.json").read_bytes() == manifest


def test_offline_by_default_and_no_network(home: Path) -> None:
    manifest = (home / "manifest.json").read_bytes()
    with pytest.raises(RecordNotCached, match="--online"):
        open_kb(home).link(["NCT03739814"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kb = open_kb(home, online=True, ctgov_base_url=f"http://127.0.0.1:{port}/api/v2")
    with pytest.raises(RegistryUnavailable, match="no network"):
        kb.link(["NCT03739814"])
    report = kb.link(["NCT03739814", "NCT02003222"])  # several ids: failures are reported, not raised
    assert [o.status for o in report.outcomes] == ["failed", "failed"] and report.failed
    assert (home / "manifest.json").read_bytes() == manifest


def test_cli_link_and_reconcile(home: Path) -> None:
    linked = run_cli("link", "NCT03739814", "--record", str(RECORD), home=home)
    assert linked.returncode == 0, linked.stderr
    assert "linked  NCT03739814" in linked.stdout
    text = run_cli("reconcile", "NCT03739814", home=home)
    assert text.returncode == 0, text.stderr
    assert (
        "enrollment: DIFFER" in text.stdout and f"64 enrolled, all arms (estimated)  [{PAGE}]" in text.stdout
    )
    as_json = run_cli("reconcile", "NCT03739814", "--json", home=home)
    data = json.loads(as_json.stdout)
    assert data["items"][0]["topic"] == "enrollment" and data["items"][0]["registry"][0]["value"] == 64
    wrong = run_cli("link", "NCT02003222", "--record", str(RECORD), home=home)
    assert wrong.returncode == 1 and "error:" in wrong.stderr and "Traceback" not in wrong.stderr
    unknown = run_cli("reconcile", "NCT00000001", home=home)
    assert unknown.returncode == 1 and "not in the knowledge base" in unknown.stderr
