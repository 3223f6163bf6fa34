"""The manifest of a saved passage index, and its verification (stale content, damaged files)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from search.errors import CorruptIndex, IndexNotFound, StaleIndex
from search.storage import sha256_file

MANIFEST_FILE = "manifest.json"
FORMAT_NAME = "trialkb-passage-index"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FileEntry:
    """A file of the index: its size in bytes and its sha256."""

    size: int
    sha256: str


@dataclass(frozen=True)
class IndexManifest:
    """What an index directory holds and what it was built from."""

    model: str
    dimension: int
    count: int
    index_kind: str
    content_hash: str
    created: str
    files: Mapping[str, FileEntry] = field(default_factory=dict)
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        body = asdict(self)
        body["manifest_sha256"] = _digest(body)
        return json.dumps(body, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: Path) -> IndexManifest:
        try:
            body = json.loads(text)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            recorded = body.pop("manifest_sha256", None)
            if body.get("format") != FORMAT_NAME:
                raise ValueError(f"format is {body.get('format')!r}, not {FORMAT_NAME!r}")
            if body.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format version {body.get('format_version')!r} is not {FORMAT_VERSION}")
            if recorded != _digest(body):
                raise ValueError("its checksum does not match its content (edited or damaged)")
            files = {
                str(name): FileEntry(int(entry["size"]), str(entry["sha256"]))
                for name, entry in body.pop("files").items()
            }
            return cls(files=files, **body)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CorruptIndex(f"{where} is not a valid index manifest: {error}") from error


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def describe_files(directory: Path) -> dict[str, FileEntry]:
    """Size and sha256 of every file under ``directory`` (except the manifest), by relative path."""
    entries: dict[str, FileEntry] = {}
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file() and path.name != MANIFEST_FILE:
            entries[path.relative_to(directory).as_posix()] = FileEntry(
                path.stat().st_size, sha256_file(path)
            )
    return entries


def read_manifest(directory: Path) -> IndexManifest:
    """The manifest of the index in ``directory``; ``IndexNotFound`` or ``CorruptIndex`` if there is none."""
    directory = Path(directory)
    if not directory.is_dir():
        raise IndexNotFound(f"no search index at {directory}: build it first")
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise CorruptIndex(f"the search index at {directory} has no {MANIFEST_FILE}: rebuild it")
    return IndexManifest.from_json(path.read_text(encoding="utf-8"), path)


def verify_index(
    directory: Path,
    expected_content_hash: str | None = None,
    model: str | None = None,
    dimension: int | None = None,
    check_checksums: bool = True,
) -> IndexManifest:
    """Check an index directory without loading it, and return its manifest.

    Raises ``StaleIndex`` when it was built from other KB content or with another model, and
    ``CorruptIndex`` when a file is missing, has another size (truncated) or another sha256 (altered).
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    if expected_content_hash is not None and manifest.content_hash != expected_content_hash:
        raise StaleIndex(
            f"the search index at {directory} was built from KB content {manifest.content_hash[:16]}, "
            f"but the KB is now {expected_content_hash[:16]}: rebuild the index"
        )
    if model is not None and manifest.model != model:
        raise StaleIndex(
            f"the search index at {directory} was built with {manifest.model}, not {model}: rebuild it"
        )
    if dimension is not None and manifest.dimension != dimension:
        raise StaleIndex(
            f"the search index at {directory} holds {manifest.dimension}-dimensional vectors, "
            f"the embedder gives {dimension}: rebuild it"
        )
    for name, entry in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise CorruptIndex(f"the search index at {directory} is missing {name}: rebuild it")
        size = path.stat().st_size
        if size != entry.size:
            raise CorruptIndex(
                f"{path} is {size} bytes, the manifest says {entry.size} (truncated or replaced): rebuild the index"
            )
        if check_checksums and sha256_file(path) != entry.sha256:
            raise CorruptIndex(
                f"{path} does not match its sha256 in the manifest (altered): rebuild the index"
            )
    return manifest
