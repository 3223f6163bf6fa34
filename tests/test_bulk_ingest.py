"""Resumable bulk loads through the real CLI: a MEDLINE file ingested in batches, killed (SIGKILL at a commit
phase, SIGKILL from outside after the first batch, Ctrl-C) and run again, ends exactly as one uninterrupted
run does: committed batches `unchanged`, the interrupted one redone, nothing doubled or half-written,
`trialkb validate` passing."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import DATA, ROOT

SEVERAL = DATA / "medline" / "several.xml.gz"
ARTICLES = 9
BATCH = 3
COUNT_GRAPHS = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?d a tkb:SourceDocument } }"


def trialkb(home: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRIALKB_FAULT_POINT"}
    env["HF_HUB_OFFLINE"] = "1"
    if fault:
        env["TRIALKB_FAULT_POINT"] = fault
    command = [sys.executable, "-m", "kb", "-q", "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nine trial reports in one .xml.gz: the three real records, each three times under distinct PMIDs."""
    text = gzip.decompress(SEVERAL.read_bytes()).decode("utf-8")
    head, rest = text.split("<PubmedArticle>", 1)
    articles = ["<PubmedArticle>" + part for part in ("<PubmedArticle>" + rest).split("<PubmedArticle>")[1:]]
    articles[-1] = articles[-1].replace("</PubmedArticleSet>", "")
    out = [head]
    for copy in range(ARTICLES // len(articles)):
        for number, article in enumerate(articles):
            pmid = article.split('<PMID Version="1">', 1)[1].split("<", 1)[0]
            out.append(article.replace(pmid, str(50_000_000 + 10 * copy + number)))
    out.append("</PubmedArticleSet>\n")
    path = tmp_path_factory.mktemp("baseline") / "baseline.xml.gz"
    path.write_bytes(gzip.compress("".join(out).encode("utf-8"), mtime=0))
    return path


def state(home: Path) -> tuple[dict[str, tuple[str, int]], int, list[str]]:
    """What a user sees: documents (sha256, triples) by id, named document graphs, and stray files."""
    manifest = json.loads((home / "manifest.json").read_text())
    documents = {entry["id"]: (entry["sha256"], entry["triples"]) for entry in manifest["documents"]}
    result = trialkb(home, "sparql", COUNT_GRAPHS, "--format", "csv")
    assert result.returncode == 0, result.stderr
    stray = sorted(p.name for p in (home / "sources").iterdir() if p.name.startswith("."))
    stray += sorted(p.name for p in home.glob("kb-*.nq"))[1:]
    return documents, int(result.stdout.split()[-1]), stray


@pytest.fixture(scope="module")
def uninterrupted(
    baseline: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, tuple[str, int]], int]:
    home = tmp_path_factory.mktemp("whole") / "kb"
    result = trialkb(home, "ingest", str(baseline), "--batch-size", str(BATCH), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ingested"] == ARTICLES and report["unchanged"] == 0 and not report["failed"]
    documents, graphs, stray = state(home)
    assert len(documents) == ARTICLES and graphs == ARTICLES and not stray
    return documents, graphs


def resume_and_check(
    home: Path, committed: int, uninterrupted: tuple[dict[str, tuple[str, int]], int]
) -> None:
    """Run again: the ``committed`` documents are unchanged, the rest added, the KB as if never stopped."""
    result = trialkb(
        home, "ingest", str(home.parent / "baseline.xml.gz"), "--batch-size", str(BATCH), "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["unchanged"], report["ingested"]) == (committed, ARTICLES - committed), report
    documents, graphs, stray = state(home)
    assert (documents, graphs) == uninterrupted
    assert not stray, stray
    check = trialkb(home, "validate")
    assert check.returncode == 0 and "Conforms: True" in check.stdout, check.stdout


def prepare(tmp_path: Path, baseline: Path) -> Path:
    (tmp_path / "baseline.xml.gz").write_bytes(baseline.read_bytes())
    return tmp_path / "kb"


@pytest.mark.parametrize(("fault", "committed"), [("ingest-batch-2", BATCH), ("after-manifest", BATCH)])
def test_killed_at_a_commit_phase_resumes(
    tmp_path: Path,
    baseline: Path,
    uninterrupted: tuple[dict[str, tuple[str, int]], int],
    fault: str,
    committed: int,
) -> None:
    """SIGKILL while batch 2 is extracted but uncommitted, and right after batch 1's commit point."""
    home = prepare(tmp_path, baseline)
    killed = trialkb(
        home, "ingest", str(tmp_path / "baseline.xml.gz"), "--batch-size", str(BATCH), fault=fault
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    documents, _graphs, _stray = state(home)
    assert len(documents) == committed
    resume_and_check(home, committed, uninterrupted)


def _stop_after_first_batch(tmp_path: Path, baseline: Path, how: signal.Signals) -> tuple[Path, int]:
    home = prepare(tmp_path, baseline)
    env = {k: v for k, v in os.environ.items() if k != "TRIALKB_FAULT_POINT"} | {"HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "kb",
        "-q",
        "--home",
        str(home),
        "ingest",
        str(tmp_path / "baseline.xml.gz"),
    ]
    process = subprocess.Popen(
        [*command, "--batch-size", str(BATCH)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    manifest = home / "manifest.json"
    while time.monotonic() < deadline and process.poll() is None and not manifest.exists():
        time.sleep(0.05)
    process.send_signal(how)
    process.communicate(timeout=120)
    committed = len(json.loads(manifest.read_text())["documents"]) if manifest.exists() else 0
    assert committed % BATCH == 0 and committed < ARTICLES  # whole batches, and stopped before the end
    print(f"stopped by {how.name} with {committed} of {ARTICLES} committed")
    return home, committed


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_stopped_from_outside_resumes(
    tmp_path: Path, baseline: Path, uninterrupted: tuple[dict[str, tuple[str, int]], int], how: signal.Signals
) -> None:
    """kill -9 or Ctrl-C at whatever point the load has reached once its first batch is committed."""
    home, committed = _stop_after_first_batch(tmp_path, baseline, how)
    resume_and_check(home, committed, uninterrupted)


def test_progress_line() -> None:
    """Articles, rate and time left, from the share of the input read (a .gz file: compressed bytes)."""
    from kb.bulk import IngestProgress

    assert IngestProgress(1_200, 40, 100, 60.0).line() == "1,200 articles, 20.0/s, 40%, 1 min 30 s left"
    assert IngestProgress(1, 100, 100, 2.0).line() == "1 article, 0.5/s, 100%"
