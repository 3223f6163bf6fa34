"""Domain exceptions of the search package: a missing, stale or damaged index is reported, never used."""

from __future__ import annotations


class SearchIndexError(Exception):
    """Base class of every error about a saved passage index."""


class IndexNotFound(SearchIndexError):
    """No saved index exists at the given directory (nothing to verify yet: build one)."""


class StaleIndex(SearchIndexError):
    """The index is intact but was built from other content (KB content hash) or another embedding model."""


class CorruptIndex(SearchIndexError):
    """A file of the index is missing, truncated or altered, or the manifest is unreadable."""


class EmbedderUnavailable(SearchIndexError):
    """An embedding backend cannot be loaded (missing package, missing or invalid model files)."""
