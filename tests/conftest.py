"""Shared fixtures: live TrialKB servers in subprocesses (`live_server`, shared across modules), a small KB
to serve (`sample_kb`), and the seed KB with its ClinicalTrials.gov record linked (`linked_seed_kb`)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from kb.facade import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_HOME = ROOT / "kb" / "data" / "kb"
SEED = BUNDLED_HOME / "sources" / "000_ddb5accd812ab49c.txt"
SEED_NCT = "NCT03739814"
SEED_RECORD = ROOT / "tests" / "data" / "ctgov" / f"{SEED_NCT}.json"
# One hardened server serves the security tests and the result-cap test: short deadline and queue wait,
# a small body cap, few results.
HARDENED = {
    "TRIALKB_QUERY_TIMEOUT": "2",
    "TRIALKB_QUEUE_TIMEOUT": "2",
    "TRIALKB_MAX_BODY_BYTES": "100000",
    "TRIALKB_MAX_RESULTS": "3",
}
R = "https://w3id.org/trialkb/resource/"
ONT = "https://w3id.org/trialkb/ontology#"
G = "https://w3id.org/trialkb/graph/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
PROV = "http://www.w3.org/ns/prov#"
DOC = "sample-doc"
# A small KB in TrialKB's vocabulary: a trial, a drug with identifiers, an outcome with its source passage.
SAMPLE_QUADS = f"""
<{R}trial/a041703> <{RDF}type> <{ONT}ClinicalTrial> <{G}{DOC}> .
<{R}trial/a041703> <{LABEL}> "A041703" <{G}{DOC}> .
<{R}trial/a041703> <{ONT}nctId> "NCT03739814" <{G}{DOC}> .
<{R}trial/a041703> <{ONT}hasOutcome> <{R}outcome/{DOC}-cr> <{G}{DOC}> .
<{R}trial/a041703> <{ONT}intervention> <{R}drug/inotuzumab-ozogamicin> <{G}{DOC}> .
<{R}trial/a041703> <http://www.w3.org/2004/02/skos/core#exactMatch> <http://identifiers.org/clinicaltrials:NCT03739814> <{G}{DOC}> .
<{R}outcome/{DOC}-cr> <{RDF}type> <{ONT}OutcomeMeasurement> <{G}{DOC}> .
<{R}outcome/{DOC}-cr> <{ONT}numericValue> "97"^^<http://www.w3.org/2001/XMLSchema#decimal> <{G}{DOC}> .
<{R}outcome/{DOC}-cr> <{ONT}unitLabel> "%" <{G}{DOC}> .
<{R}outcome/{DOC}-cr> <{PROV}wasDerivedFrom> <{R}passage/{DOC}-p3> <{G}{DOC}> .
<{R}passage/{DOC}-p3> <{RDF}type> <{ONT}Passage> <{G}{DOC}> .
<{R}passage/{DOC}-p3> <{PROV}value> "The complete remission rate was 97%." <{G}{DOC}> .
<{R}passage/{DOC}-p3> <http://purl.org/dc/terms/isPartOf> <{R}document/{DOC}> <{G}{DOC}> .
<{R}document/{DOC}> <{RDF}type> <{ONT}SourceDocument> <{G}{DOC}> .
<{R}document/{DOC}> <{LABEL}> "Sample news release" <{G}{DOC}> .
<{R}statement/s1> <{RDF}type> <{RDF}Statement> <{G}{DOC}> .
<{R}statement/s1> <{RDF}subject> <{R}outcome/{DOC}-cr> <{G}{DOC}> .
<{R}statement/s1> <{RDF}predicate> <{ONT}numericValue> <{G}{DOC}> .
<{R}statement/s1> <{RDF}object> "97"^^<http://www.w3.org/2001/XMLSchema#decimal> <{G}{DOC}> .
<{R}statement/s1> <{PROV}wasDerivedFrom> <{R}passage/{DOC}-p3> <{G}{DOC}> .
<{R}statement/s1> <{ONT}quote> "complete remission rate was 97%" <{G}{DOC}> .
<{R}drug/inotuzumab-ozogamicin> <{RDF}type> <{ONT}Drug> <{G}lexicon> .
<{R}drug/inotuzumab-ozogamicin> <{LABEL}> "inotuzumab ozogamicin" <{G}lexicon> .
<{R}drug/inotuzumab-ozogamicin> <http://www.w3.org/2004/02/skos/core#exactMatch> <http://www.wikidata.org/entity/Q3799041> <{G}lexicon> .
"""


def write_kb(home: Path, nquads: str) -> Path:
    """A KB directory holding exactly ``nquads`` (no extraction involved)."""
    from kb.store import KBDirectory, Manifest

    data = ("\n".join(sorted(line.strip() for line in nquads.splitlines() if line.strip())) + "\n").encode()
    KBDirectory(home).commit(data, Manifest(snapshot="", sha256="", triples=data.count(b"\n")))
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(home: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `trialkb serve` on a free port for ``home``; yield its base URL once it is ready; stop it."""
    from servers import server_process  # imported here: `servers` imports this module

    with server_process(home, **(env or {})) as (base, _process, _log):
        yield base


@pytest.fixture(scope="session")
def live_server() -> Iterator[Callable[..., str]]:
    """Factory: ``live_server(home, **env)`` returns the base URL of a server for ``home`` with ``env`` set.

    Servers are shared across the session (one per home and environment) and stopped at its end.
    """
    servers: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    with ExitStack() as stack:

        def start(home: Path, **env: str) -> str:
            key = (str(home), tuple(sorted(env.items())))
            if key not in servers:
                servers[key] = stack.enter_context(running_server(home, env))
            return servers[key]

        yield start


@pytest.fixture(scope="session")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small KB in TrialKB's vocabulary (`SAMPLE_QUADS`), independent of extraction."""
    return write_kb(tmp_path_factory.mktemp("sample-kb"), SAMPLE_QUADS)


@pytest.fixture(scope="session")
def linked_seed_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed article ingested, and its trial's registry record (tests/data/ctgov) linked; no search index
    (nothing served from this KB searches passages, and embedding them would take most of the time)."""
    from kb.facade import KnowledgeBase
    from kb.settings import Settings

    class WithoutIndex(KnowledgeBase):
        def _update_index(self, rebuild: bool = False) -> None:
            pass

    home = tmp_path_factory.mktemp("linked-seed") / "kb"
    kb = WithoutIndex(home, Settings(cache_dir=home.parent / "cache"))
    kb.ingest([SEED])
    kb.link([SEED_NCT], record=SEED_RECORD)
    return home


@pytest.fixture(scope="session")
def keynote_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The unseen KEYNOTE-189 article ingested (`tests/data/unseen/`), shared by the extraction tests."""
    import support

    return support.ingested_kb(tmp_path_factory.mktemp("keynote") / "kb", [support.UNSEEN / "keynote.txt"])
