"""Query results kept by the server: a byte-bounded LRU of serialised answers, and their ETags.

The KB changes only by commits, and every answer is a function of the commit (its content hash), the query
text, the protocol dataset, the result format and the base IRI. So an answer can be served again without
a worker until the next commit, and an ETag naming those inputs lets a client or a proxy revalidate with
``If-None-Match`` and get ``304 Not Modified`` without the query running at all (RFC 9110 §13.1.2).

Entries of an older commit are dropped as soon as a newer commit is seen, so memory never holds two
versions of the KB's answers; only successful answers are kept (an error or a timeout always runs again).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

CacheKey = tuple[str, str, tuple[str, ...], tuple[str, ...], str, str]
"""(commit content hash, query text, default graphs, named graphs, result format, base IRI)."""

# Bytes charged per entry beyond its body and query: the key tuple, the record, the links.
_ENTRY_OVERHEAD = 256


@dataclass(frozen=True)
class CachedAnswer:
    """A successful query answer as the worker sent it."""

    media_type: str
    body: bytes
    truncated: bool
    count: int


def etag_for(key: CacheKey) -> str:
    """A strong entity tag for the answer ``key`` names: equal inputs give byte-equal answers."""
    digest = hashlib.blake2b(repr(key).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    return f'"{digest}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (``*`` matches anything; weak tags compare weakly)."""
    candidates = (tag.strip() for tag in if_none_match.split(","))
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in candidates)


class ResultCache:
    """Least recently used answers up to ``max_bytes`` in all; an answer over ``max_entry_bytes`` is not kept.

    Lives on the event loop's thread, so it needs no lock. ``max_bytes`` of 0 turns it off.
    """

    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max(0, max_bytes)
        self.max_entry_bytes = self.max_bytes // 8 if max_entry_bytes is None else max_entry_bytes
        self._entries: OrderedDict[CacheKey, CachedAnswer] = OrderedDict()
        self._sizes: dict[CacheKey, int] = {}
        self._generation = ""
        self.size = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> CachedAnswer | None:
        if not self.enabled:
            return None
        answer = self._entries.get(key)
        if answer is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return answer

    def put(self, key: CacheKey, answer: CachedAnswer) -> None:
        if not self.enabled:
            return
        generation = key[0]
        if generation != self._generation:  # a new commit: the old answers can never be asked for again
            self.clear()
            self._generation = generation
        size = len(answer.body) + len(key[1]) + _ENTRY_OVERHEAD
        if size > self.max_entry_bytes or key in self._entries:
            return
        self._entries[key] = answer
        self._sizes[key] = size
        self.size += size
        while self.size > self.max_bytes:
            oldest, _ = self._entries.popitem(last=False)
            self.size -= self._sizes.pop(oldest)

    def clear(self) -> None:
        self._entries.clear()
        self._sizes.clear()
        self.size = 0
