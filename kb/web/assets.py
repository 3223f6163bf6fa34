"""Where the page's files come from: its own static files, and the vendored YASGUI build from npm."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

# Files of `npm ci` (package.json at the repository root) the page may load, by the name it asks for.
# A fixed map: a request never names a path on disk.
VENDOR_FILES: dict[str, str] = {
    "yasgui/yasgui.min.js": "@zazuko/yasgui/build/yasgui.min.js",
    "yasgui/yasgui.min.css": "@zazuko/yasgui/build/yasgui.min.css",
}
SOURCE_MAPS: dict[str, str] = {"yasgui/yasgui.min.js.map": "@zazuko/yasgui/build/yasgui.min.js.map"}
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}


def default_node_modules() -> Path:
    """``node_modules`` beside ``pyproject.toml`` (an editable install from the repository)."""
    return Path(__file__).resolve().parents[2] / "node_modules"


@dataclass(frozen=True)
class StaticFile:
    """One file to send: its bytes and media type."""

    body: bytes
    media_type: str


def media_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class Assets:
    """The page's own static files (inside the package) and the vendored ones (from ``node_modules``)."""

    def __init__(self, node_modules: Path | None = None) -> None:
        self.node_modules = node_modules if node_modules is not None else default_node_modules()
        self._static: Traversable = resources.files(__package__).joinpath("static")

    def own(self, name: str) -> StaticFile | None:
        """A file of ``kb/web/static`` by its relative name; None for anything else (no ``..``, no folders)."""
        parts = name.split("/")
        if not name or any(part in {"", ".", ".."} or part.startswith(".") for part in parts):
            return None
        entry = self._static
        for part in parts:
            entry = entry.joinpath(part)
        if not entry.is_file():
            return None
        return StaticFile(entry.read_bytes(), media_type(name))

    def vendor_path(self, name: str) -> Path | None:
        relative = VENDOR_FILES.get(name) or SOURCE_MAPS.get(name)
        if relative is None:
            return None
        path = self.node_modules / relative
        return path if path.is_file() else None

    def vendor(self, name: str) -> StaticFile | None:
        """A vendored file by the name the page uses (``yasgui/yasgui.min.js``), if `npm ci` installed it."""
        path = self.vendor_path(name)
        return StaticFile(path.read_bytes(), media_type(name)) if path else None

    def has_yasgui(self) -> bool:
        """True when every YASGUI file the page needs is installed."""
        return all(self.vendor_path(name) for name in VENDOR_FILES)
