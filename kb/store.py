"""The on-disk knowledge base: an N-Quads snapshot and a manifest, committed atomically under a lock.

Layout of a KB directory (``--home``)::

    manifest.json      the commit point: snapshot name, its SHA-256, the documents and registry records
    kb-<hash>.nq       every named graph, as sorted N-Quads (deterministic, diff-able)
    sources/           the ingested source files, kept so that `trialkb build` can rebuild
    index/             the passage search index (see `search.PassageIndex`)

A commit writes the new snapshot under a new name, then replaces ``manifest.json`` by rename: a crash at
any point leaves the previous manifest and its snapshot in place, readable and valid.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import KBBusy, KBCorrupt, KBNotFound

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DocumentEntry:
    """A source document in the KB: where it came from and what it added."""

    id: str
    path: str
    sha256: str
    title: str | None
    graph: str
    triples: int
    trials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """What a KB directory holds; ``content_hash`` identifies its content (the index is keyed on it)."""

    snapshot: str
    sha256: str
    triples: int
    documents: tuple[DocumentEntry, ...] = ()
    registry_records: tuple[str, ...] = ()
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return self.sha256

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        documents = tuple(
            DocumentEntry(**{**entry, "trials": tuple(entry.get("trials", ()))})
            for entry in data.get("documents", [])
        )
        return cls(
            snapshot=data["snapshot"],
            sha256=data["sha256"],
            triples=int(data["triples"]),
            documents=documents,
            registry_records=tuple(data.get("registry_records", ())),
            format_version=int(data.get("format_version", FORMAT_VERSION)),
            extra=dict(data.get("extra", {})),
        )


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync, rename; readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class KBDirectory:
    """A KB directory on disk: read the manifest and snapshot (verified), commit new versions atomically."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)

    @property
    def sources(self) -> Path:
        return self.home / "sources"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    def exists(self) -> bool:
        return (self.home / MANIFEST).is_file()

    def read_manifest(self) -> Manifest:
        path = self.home / MANIFEST
        if not path.is_file():
            raise KBNotFound(
                f"{self.home} holds no knowledge base (no {MANIFEST}); run `trialkb ingest FILE` or `trialkb build`"
            )
        try:
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except (ValueError, KeyError, TypeError) as error:
            raise KBCorrupt(
                f"{path} is damaged ({error}); restore it or rebuild with `trialkb build`"
            ) from None

    def read_snapshot(self, manifest: Manifest) -> bytes:
        """The snapshot's bytes, after checking them against the manifest's checksum."""
        path = self.home / manifest.snapshot
        try:
            data = path.read_bytes()
        except OSError:
            raise KBCorrupt(f"{path} is missing; restore it or rebuild with `trialkb build`") from None
        if hashlib.sha256(data).hexdigest() != manifest.sha256:
            raise KBCorrupt(
                f"{path} does not match its checksum in {MANIFEST}; it is not served. Rebuild with `trialkb build`"
            )
        return data

    @contextmanager
    def write_lock(self, timeout: float) -> Iterator[None]:
        """Hold the KB's writer lock; concurrent writers wait up to ``timeout`` seconds, then fail cleanly."""
        from filelock import FileLock, Timeout

        self.home.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.home / ".lock"))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise KBBusy(
                f"another process is writing {self.home}; waited {timeout:.0f} s (TRIALKB_LOCK_TIMEOUT)"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def commit(self, nquads: bytes, manifest: Manifest) -> Manifest:
        """Write a new snapshot and then the manifest that points at it; remove superseded snapshots."""
        digest = hashlib.sha256(nquads).hexdigest()
        name = f"kb-{digest[:16]}.nq"
        write_atomic(self.home / name, nquads)
        final = Manifest(
            snapshot=name,
            sha256=digest,
            triples=manifest.triples,
            documents=manifest.documents,
            registry_records=manifest.registry_records,
            extra=manifest.extra,
        )
        write_atomic(self.home / MANIFEST, final.to_json().encode("utf-8"))
        for old in self.home.glob("kb-*.nq"):
            if old.name != name:
                old.unlink(missing_ok=True)
        return final

    def save_source(self, name: str, text: str) -> Path:
        path = self.sources / name
        write_atomic(path, text.encode("utf-8"))
        return path
