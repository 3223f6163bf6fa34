"""Import registry records into a KB: read (file, API or cache), validate, map, archive for rebuilds."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef

from kb.ctgov.cache import last_update_of, write_atomically
from kb.ctgov.client import CtgovClient
from kb.ctgov.errors import InvalidRecord, RegistryError
from kb.ctgov.links import normalize_nct_id
from kb.ctgov.mapping import record_to_graph
from kb.ctgov.record import RegistryRecord, load_json, parse_record
from kb.ctgov.resolve import MentionFinder, Resolver, lexicon_mentions, lexicon_resolver

log = logging.getLogger(__name__)

ARCHIVE = "registry"  # folder of a KB directory holding the imported records, for `trialkb build`


@dataclass(frozen=True)
class PreparedRecord:
    """A validated record, ready to become its registry graph."""

    requested_id: str
    record: RegistryRecord
    data: Mapping[str, Any]
    retrieved_at: dt.datetime
    source: str  # "file NAME", the API URL, or "cache"
    api_base: str | None = None

    @property
    def aliases(self) -> tuple[str, ...]:
        return (self.requested_id,) if self.requested_id != self.record.nct_id else ()

    def to_graph(
        self, resolve: Resolver = lexicon_resolver, mentions: MentionFinder = lexicon_mentions
    ) -> tuple[URIRef, Graph]:
        return record_to_graph(
            self.record,
            retrieved_at=self.retrieved_at,
            resolve=resolve,
            mentions=mentions,
            api_base=self.api_base,
            aliases=self.aliases,
        )


@dataclass(frozen=True)
class LinkOutcome:
    """What happened to one NCT id."""

    nct_id: str
    status: str  # linked | moved | failed
    message: str
    record_id: str | None = None
    graph: str | None = None
    triples: int = 0
    last_update: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LinkReport:
    outcomes: tuple[LinkOutcome, ...]
    triples: int  # the KB's size after the import

    @property
    def failed(self) -> bool:
        return any(outcome.status == "failed" for outcome in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {"triples": self.triples, "records": [outcome.to_dict() for outcome in self.outcomes]}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def prepare_from_file(path: Path, nct_id: str | None = None) -> PreparedRecord:
    """Read a saved API v2 record; ``nct_id`` (if given) must be the record's own id."""
    expected = normalize_nct_id(nct_id) if nct_id else None
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidRecord(f"cannot read {path}: {exc.strerror or exc}") from exc
    data = load_json(text)
    record = parse_record(data, expected)
    return PreparedRecord(expected or record.nct_id, record, data, now(), f"file {Path(path).name}")


def prepare_from_client(client: CtgovClient, nct_id: str) -> PreparedRecord:
    """Fetch (or read from the cache) and validate a record; a moved record keeps the id asked for."""
    fetched = client.fetch(nct_id)
    record = parse_record(fetched.data, fetched.nct_id)
    source = "cache" if fetched.from_cache else fetched.source_url
    return PreparedRecord(
        fetched.requested_id, record, fetched.data, fetched.retrieved_at, source, api_base=client.base_url
    )


def outcome_for(prepared: PreparedRecord, graph: URIRef, triples: int) -> LinkOutcome:
    record = prepared.record
    moved = bool(prepared.aliases)
    message = f"{triples} triples from {prepared.source}"
    if record.last_update_posted:
        message += f" (last updated {record.last_update_posted.text})"
    if moved:
        message = f"moved to {record.nct_id}; linked as the same trial; " + message
    return LinkOutcome(
        nct_id=prepared.requested_id,
        status="moved" if moved else "linked",
        message=message,
        record_id=record.nct_id,
        graph=str(graph),
        triples=triples,
        last_update=record.last_update_posted.text if record.last_update_posted else None,
        source=prepared.source,
    )


def failure(nct_id: str, error: RegistryError) -> LinkOutcome:
    return LinkOutcome(nct_id=nct_id, status="failed", message=str(error))


class RegistryArchive:
    """``<home>/registry/NCT….json``: each imported record with when and where it was read."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / ARCHIVE

    def save(self, prepared: PreparedRecord) -> Path:
        path = self.root / f"{prepared.record.nct_id}.json"
        entry = {
            "requestedId": prepared.requested_id,
            "retrievedAt": prepared.retrieved_at.isoformat(),
            "source": prepared.source,
            "apiBase": prepared.api_base,
            "lastUpdate": last_update_of(prepared.data),
            "record": prepared.data,
        }
        write_atomically(path, json.dumps(entry, indent=1, sort_keys=True, ensure_ascii=False))
        return path

    def load(self, nct_id: str) -> PreparedRecord:
        path = self.root / f"{normalize_nct_id(nct_id)}.json"
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            record = parse_record(entry["record"], nct_id)
            return PreparedRecord(
                entry.get("requestedId") or record.nct_id,
                record,
                entry["record"],
                dt.datetime.fromisoformat(entry["retrievedAt"]),
                entry.get("source") or "archive",
                entry.get("apiBase"),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidRecord(f"archived registry record {path} is unreadable ({exc})") from exc


def restore_registry_graphs(store: Any, home: Path, nct_ids: Sequence[str]) -> tuple[str, ...]:
    """Re-map archived records into ``store`` (a rebuild); returns the ids restored, skipping damaged ones."""
    archive, restored = RegistryArchive(home), []
    for nct_id in nct_ids:
        try:
            prepared = archive.load(nct_id)
        except RegistryError as exc:
            log.warning("registry record %s not restored: %s", nct_id, exc)
            continue
        _, graph = prepared.to_graph()
        store.replace_graph(graph)
        restored.append(prepared.record.nct_id)
    return tuple(sorted(set(restored)))
