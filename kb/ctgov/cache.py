"""On-disk cache of registry records, keyed by NCT id and the record's last update date."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.ctgov.links import normalize_nct_id
from search.storage import file_mode

log = logging.getLogger(__name__)

POINTER = "latest.json"
_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")


@dataclass(frozen=True)
class CachedRecord:
    nct_id: str
    data: Mapping[str, Any]
    last_update: str  # the record's lastUpdatePostDate, or "unknown"
    retrieved_at: dt.datetime  # when it was read from the registry
    checked_at: dt.datetime  # when the registry last confirmed it was current
    path: Path


def last_update_of(data: Mapping[str, Any]) -> str:
    """The record's lastUpdatePostDate (``2023-04-04``), or "unknown" when it has none."""
    try:
        date = data["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    except (KeyError, TypeError):
        return "unknown"
    return date if isinstance(date, str) and _DATE.fullmatch(date) else "unknown"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes the file 0600, which would hide the record from a server run as another user.
        os.chmod(temporary, file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class RecordCache:
    """``<root>/NCT…/<lastUpdatePostDate>.json`` holds each version; ``latest.json`` points at the newest."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, nct_id: str) -> Path:
        return self.root / normalize_nct_id(nct_id)

    def get(self, nct_id: str) -> CachedRecord | None:
        """The newest cached version, or None (a damaged entry counts as a miss and is logged)."""
        folder = self._dir(nct_id)
        pointer_path = folder / POINTER
        if not pointer_path.is_file():
            return None
        try:
            pointer = json.loads(pointer_path.read_text(encoding="utf-8"))
            path = folder / Path(pointer["file"]).name
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return CachedRecord(
                nct_id=normalize_nct_id(nct_id),
                data=data,
                last_update=str(pointer["lastUpdate"]),
                retrieved_at=dt.datetime.fromisoformat(pointer["retrievedAt"]),
                checked_at=dt.datetime.fromisoformat(pointer.get("checkedAt", pointer["retrievedAt"])),
                path=path,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring damaged registry cache entry %s: %s", folder, exc)
            return None

    def put(self, nct_id: str, data: Mapping[str, Any], retrieved_at: dt.datetime) -> CachedRecord:
        """Store a version (its file, then the pointer) and return it as cached."""
        folder = self._dir(nct_id)
        last_update = last_update_of(data)
        path = folder / f"{last_update}.json"
        write_atomically(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False))
        self._point(folder, last_update, path, retrieved_at, retrieved_at)
        return CachedRecord(normalize_nct_id(nct_id), data, last_update, retrieved_at, retrieved_at, path)

    def touch(self, cached: CachedRecord, checked_at: dt.datetime) -> CachedRecord:
        """Record that the registry confirmed the cached version is still current."""
        self._point(cached.path.parent, cached.last_update, cached.path, cached.retrieved_at, checked_at)
        return CachedRecord(
            cached.nct_id, cached.data, cached.last_update, cached.retrieved_at, checked_at, cached.path
        )

    @staticmethod
    def _point(
        folder: Path, last_update: str, path: Path, retrieved_at: dt.datetime, checked_at: dt.datetime
    ) -> None:
        pointer = {
            "file": path.name,
            "lastUpdate": last_update,
            "retrievedAt": retrieved_at.isoformat(),
            "checkedAt": checked_at.isoformat(),
        }
        write_atomically(folder / POINTER, json.dumps(pointer, indent=1, sort_keys=True))
