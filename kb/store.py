"""The on-disk knowledge base: an N-Quads snapshot, its sources and a manifest, committed atomically under a lock.

Layout of a KB directory (``--home``)::

    manifest.json      the commit point: snapshot name, its SHA-256, the documents and registry records
    kb-<hash>.nq       every named graph, as sorted N-Quads (deterministic, diff-able)
    sources/           the source files of the documents the manifest lists (what `trialkb build` reads)
    registry/          the imported ClinicalTrials.gov records of the manifest's registry ids
    index/             the passage search index (see `search.PassageIndex`), keyed on the content hash

The commit protocol: nothing a reader or `trialkb build` uses changes before the manifest does.

1. New source files are written as ``sources/.<name>.<sha256[:16]>.staged`` (fsynced); then
2. the new snapshot under its own name ``kb-<hash>.nq``; then
3. the search index for the new content (a caller's ``before_manifest`` step; swapped in whole);
4. ``manifest.json`` is replaced by rename: the commit point. It lists each document with its SHA-256;
5. staged sources are renamed to their names, superseded snapshots removed.

A crash before step 4 leaves the previous manifest, its snapshot and its sources as they were (an index
built for the new content is stale, detected and rebuilt). A crash after it leaves staged files whose
names carry the checksum the manifest expects: the next open rolls them forward. Every other leftover of
an interrupted write (staged sources the manifest does not want, ``.*.tmp`` files, unreferenced
snapshots, index staging folders) is removed at the next commit, or at the next open when the directory
is writable and no writer holds the lock (`KBDirectory.recover`).

Files are created with the process's normal permissions (0666 less the umask). Test hook: set
``TRIALKB_FAULT_POINT`` to ``after-sources``, ``after-snapshot``, ``during-index``, ``before-manifest``
or ``after-manifest`` and a committing process kills itself there (`search.storage.fault_point`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import KBBusy, KBCorrupt, KBNotFound, KBWriteError
from search.storage import fault_point, file_mode, fsync_path, sha256_file

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
LOCK = ".lock"
SOURCES = "sources"
INDEX = "index"
REGISTRY = "registry"
SNAPSHOT_NAME = re.compile(r"kb-[0-9a-f]{16}\.nq")
# A source written by a commit that may not have happened: its name and the first 16 hex digits of its
# SHA-256, which the manifest's entry must match for the file to be rolled forward.
STAGED_SOURCE = re.compile(r"\.(?P<name>.+)\.(?P<digest>[0-9a-f]{16})\.staged")
# Leftovers of interrupted writes: write_atomic's temporaries, search.storage's index staging folders.
TEMPORARY = re.compile(r"\..+\.tmp")
INDEX_STAGING = re.compile(rf"\.{INDEX}\.(?:tmp|old)-.+")


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
        manifest = cls(
            snapshot=data["snapshot"],
            sha256=data["sha256"],
            triples=int(data["triples"]),
            documents=documents,
            registry_records=tuple(data.get("registry_records", ())),
            format_version=int(data.get("format_version", FORMAT_VERSION)),
            extra=dict(data.get("extra", {})),
        )
        # Names are joined to the KB directory: a manifest must not point outside it.
        for name in (manifest.snapshot, *(entry.path for entry in documents)):
            if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in {".", ".."}:
                raise ValueError(f"{name!r} is not a file name")
        return manifest


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync, rename; readers never see half a file.

    The file gets the mode a plain ``open()`` would give it (``mkstemp`` makes it 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, file_mode())
        os.replace(temporary, path)
        fsync_path(path.parent)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:  # a failed write names no file: name it
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


def staged_name(name: str, sha256: str) -> str:
    """The name under which a commit writes the source ``name`` before its manifest is in place."""
    return f".{name}.{sha256[:16]}.staged"


class KBDirectory:
    """A KB directory on disk: read the manifest and snapshot (verified), commit new versions atomically."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self._recovered = False  # leftovers are looked for once per instance (at the first open)

    @property
    def sources(self) -> Path:
        return self.home / SOURCES

    @property
    def index_dir(self) -> Path:
        return self.home / INDEX

    def exists(self) -> bool:
        return (self.home / MANIFEST).is_file()

    def _fix(self) -> str:
        return f"`trialkb --home {self.home} build`"

    def _parse_manifest(self) -> Manifest:
        path = self.home / MANIFEST
        if not path.is_file():
            raise KBNotFound(
                f"{self.home} holds no knowledge base (no {MANIFEST}); run `trialkb ingest FILE` or `trialkb build`"
            )
        try:
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise KBCorrupt(
                f"{path} is damaged ({type(error).__name__}: {error}); restore it or rebuild the KB with {self._fix()}"
            ) from None
        except OSError as error:
            raise KBCorrupt(f"{path} cannot be read ({error.strerror}); {self._fix()} rebuilds it") from None

    def read_manifest(self) -> Manifest:
        """The committed manifest; the first read also clears leftovers of an interrupted write."""
        manifest = self._parse_manifest()
        if not self._recovered:
            self._recovered = True
            if self._leftovers(manifest):
                self._try_recover()
        return manifest

    def read_snapshot(self, manifest: Manifest) -> bytes:
        """The snapshot's bytes, after checking them against the manifest's checksum."""
        path = self.home / manifest.snapshot
        try:
            data = path.read_bytes()
        except OSError as error:
            raise KBCorrupt(
                f"the snapshot {path} cannot be read ({error.strerror}); restore it or rebuild the KB with {self._fix()}"
            ) from None
        if hashlib.sha256(data).hexdigest() != manifest.sha256:
            raise KBCorrupt(
                f"the snapshot {path} does not match its checksum in {MANIFEST} (damaged or edited) and is not "
                f"served; rebuild the KB with {self._fix()}"
            )
        return data

    @contextmanager
    def write_lock(self, timeout: float) -> Iterator[None]:
        """Hold the KB's writer lock; concurrent writers wait up to ``timeout`` seconds, then fail cleanly.

        Leftovers of an interrupted write are cleared first, so every commit starts from a clean directory.
        """
        from filelock import FileLock, Timeout

        try:
            self.home.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.home / LOCK))
            lock.acquire(timeout=timeout)
        except Timeout:
            raise KBBusy(
                f"another process is writing {self.home}; waited {timeout:.0f} s (TRIALKB_LOCK_TIMEOUT)"
            ) from None
        except OSError as error:
            raise KBWriteError.from_os_error(error, self.home) from None
        try:
            self._recovered = True
            self.recover()
            yield
        finally:
            lock.release()

    # ------------------------------------------------------------------ commit

    def commit(
        self,
        nquads: bytes,
        manifest: Manifest,
        sources: Mapping[str, bytes] | None = None,
        before_manifest: Callable[[str], None] | None = None,
    ) -> Manifest:
        """Commit a new version: ``sources`` (file name -> bytes), the snapshot, then the manifest.

        ``before_manifest(content_hash)`` runs after the snapshot is written and before the commit point
        (the facade writes the search index there, so that a failure leaves the KB at its previous
        version). Call under `write_lock`. A failed write raises `KBWriteError` with nothing committed.
        """
        digest = hashlib.sha256(nquads).hexdigest()
        name = f"kb-{digest[:16]}.nq"
        current = self._committed_snapshot()
        staged: list[tuple[Path, Path]] = []
        try:
            for source_name, data in (sources or {}).items():
                target = self.sources / source_name
                path = self.sources / staged_name(source_name, hashlib.sha256(data).hexdigest())
                write_atomic(path, data)
                staged.append((path, target))
            fault_point("after-sources")
            write_atomic(self.home / name, nquads)
            fault_point("after-snapshot")
            if before_manifest is not None:
                before_manifest(digest)
            fault_point("before-manifest")
            final = Manifest(
                snapshot=name,
                sha256=digest,
                triples=manifest.triples,
                documents=manifest.documents,
                registry_records=manifest.registry_records,
                extra=manifest.extra,
            )
            self._write_manifest(final)
        except BaseException as error:
            for path, _ in staged:
                path.unlink(missing_ok=True)
            if name != current:
                (self.home / name).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise KBWriteError.from_os_error(error, self.home) from None
            raise
        fault_point("after-manifest")
        # Committed. What follows only tidies up; if it fails, the next open finishes it.
        try:
            for path, target in staged:
                os.replace(path, target)
            if staged:
                fsync_path(self.sources)
            for old in self.home.glob("kb-*.nq"):
                if old.name != name:
                    old.unlink(missing_ok=True)
        except OSError:
            pass
        return final

    def _write_manifest(self, manifest: Manifest) -> None:
        try:
            write_atomic(self.home / MANIFEST, manifest.to_json().encode("utf-8"))
        except OSError:
            # The rename may have happened and only the directory's sync failed: then the commit stands.
            try:
                if self._parse_manifest() == manifest:
                    return
            except (KBNotFound, KBCorrupt):
                pass
            raise

    def _committed_snapshot(self) -> str | None:
        try:
            return self._parse_manifest().snapshot
        except (KBNotFound, KBCorrupt):
            return None

    # ------------------------------------------------------------------ recovery

    def _leftovers(self, manifest: Manifest | None) -> bool:
        """Whether anything of an interrupted write lies in the directory (a cheap listing, no reads)."""
        for folder in (self.home, self.sources, self.home / REGISTRY):
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for entry in names:
                if TEMPORARY.fullmatch(entry) or STAGED_SOURCE.fullmatch(entry):
                    return True
                if folder == self.home and INDEX_STAGING.fullmatch(entry):
                    return True
                if folder == self.home and SNAPSHOT_NAME.fullmatch(entry):
                    if manifest is None or entry != manifest.snapshot:
                        return True
        return False

    def _try_recover(self) -> None:
        """Recover as a reader: only when the directory is writable and no writer holds the lock."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.home / LOCK))
        try:
            lock.acquire(timeout=0)
        except (Timeout, OSError):
            return  # a writer is at work (its files are not leftovers) or the directory is read-only
        try:
            self.recover()
        except OSError:
            pass  # a reader never fails because tidying up could not be done
        finally:
            lock.release()

    def recover(self) -> list[str]:
        """Finish or undo an interrupted commit; call only while holding the lock. Returns what it did.

        Staged sources the manifest lists with the same checksum are renamed into place (the commit
        happened); other staged sources, temporary files, snapshots the manifest does not name and index
        staging folders are removed. With a damaged manifest, snapshots and staged sources are kept (they
        may be what a restore needs) and only temporary files go.
        """
        done: list[str] = []
        try:
            manifest: Manifest | None = self._parse_manifest()
            damaged = False
        except KBNotFound:
            manifest, damaged = None, False
        except KBCorrupt:
            manifest, damaged = None, True
        wanted = {entry.path: entry.sha256 for entry in manifest.documents} if manifest else {}
        for folder in (self.sources, self.home / REGISTRY):
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                continue
            for entry in names:
                path = folder / entry
                staged = STAGED_SOURCE.fullmatch(entry) if folder == self.sources else None
                if TEMPORARY.fullmatch(entry):
                    path.unlink(missing_ok=True)
                    done.append(f"removed {path}")
                elif staged and not damaged:
                    target, expected = staged.group("name"), wanted.get(staged.group("name"), "")
                    if expected.startswith(staged.group("digest")) and sha256_file(path) == expected:
                        os.replace(path, folder / target)
                        done.append(f"completed {folder / target}")
                    else:
                        path.unlink(missing_ok=True)
                        done.append(f"removed {path}")
        for entry in sorted(os.listdir(self.home)) if self.home.is_dir() else ():
            path = self.home / entry
            if TEMPORARY.fullmatch(entry):
                path.unlink(missing_ok=True)
            elif INDEX_STAGING.fullmatch(entry) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif SNAPSHOT_NAME.fullmatch(entry) and not damaged:
                if manifest is not None and entry == manifest.snapshot:
                    continue
                path.unlink(missing_ok=True)
            else:
                continue
            done.append(f"removed {path}")
        if done:
            fsync_path(self.sources)
            fsync_path(self.home)
        return done

    def listed_sources(self) -> list[Path] | None:
        """The source files of the committed manifest's documents, or None when it cannot be read."""
        try:
            manifest = self._parse_manifest()
        except (KBNotFound, KBCorrupt):
            return None
        return [self.sources / entry.path for entry in manifest.documents]
