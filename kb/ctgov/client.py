"""HTTP client for the ClinicalTrials.gov API v2: retries, polite rate, on-disk cache, offline mode.

Moved records: the API answers 301 for a record that was moved or merged into another id. The
client follows such a redirect once when it points at a study of the same API, logs a warning and
returns the new record with ``requested_id`` set to the id asked for (``FetchedRecord.moved``);
the importer links the old trial node ``owl:sameAs`` the new one. A redirect elsewhere, or a
second redirect, raises :class:`RecordMoved`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from kb.ctgov.cache import CachedRecord, RecordCache, last_update_of
from kb.ctgov.errors import (
    InvalidNctId,
    InvalidRecord,
    RecordMoved,
    RecordNotCached,
    RecordNotFound,
    RegistryUnavailable,
)
from kb.ctgov.links import API_BASE, NCT_ID, normalize_nct_id
from kb.ctgov.ratelimit import TokenBucket

log = logging.getLogger(__name__)

USER_AGENT = "trialkb/0.1 (+https://w3id.org/trialkb)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LAST_UPDATE_FIELD = "protocolSection.statusModule.lastUpdatePostDateStruct"


@dataclass(frozen=True)
class FetchedRecord:
    """A record as read from the registry or the cache."""

    nct_id: str  # the record's id (differs from requested_id when the record moved)
    requested_id: str
    data: Mapping[str, Any]
    retrieved_at: dt.datetime
    source_url: str
    from_cache: bool
    last_update: str

    @property
    def moved(self) -> bool:
        return self.nct_id != self.requested_id


class CtgovClient:
    """Read study records from ClinicalTrials.gov, politely, with a cache; usable as a context manager."""

    def __init__(
        self,
        base_url: str = API_BASE,
        cache_dir: Path | None = None,
        offline: bool = False,
        timeout: float = 10.0,
        max_retries: int = 4,
        rate_per_minute: float = 50,
        transport: httpx.BaseTransport | None = None,
        *,
        refresh_after: dt.timedelta = dt.timedelta(hours=24),
        backoff_base: float = 1.0,
        max_backoff: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache = RecordCache(cache_dir) if cache_dir is not None else None
        self.offline = offline
        self.timeout = timeout
        self.max_retries = max_retries
        self.refresh_after = refresh_after
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._now = now
        self._jitter = jitter
        self._bucket = TokenBucket(rate_per_minute, clock=clock, sleep=sleep)
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CtgovClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ public

    def fetch(self, nct_id: str) -> FetchedRecord:
        """The record of ``nct_id``: from the cache while fresh (or offline), else from the registry."""
        nct = normalize_nct_id(nct_id)
        cached = self.cache.get(nct) if self.cache else None
        if self.offline:
            if cached is None:
                raise RecordNotCached(nct, str(self.cache.root if self.cache else "no cache directory"))
            return self._from_cache(cached, nct)
        if cached is not None:
            if self._now() - cached.checked_at < self.refresh_after:
                return self._from_cache(cached, nct)
            try:
                remote = last_update_of(self._get_study(nct, {"fields": _LAST_UPDATE_FIELD})[0])
            except RegistryUnavailable as exc:
                log.warning(
                    "registry unavailable (%s); using the cached %s of %s", exc, nct, cached.last_update
                )
                return self._from_cache(cached, nct)
            if remote == cached.last_update and remote != "unknown":
                assert self.cache is not None
                return self._from_cache(self.cache.touch(cached, self._now()), nct)
        data, record_id, url = self._get_study(nct)
        retrieved_at = self._now()
        if self.cache is not None:
            self.cache.put(record_id, data, retrieved_at)
        return FetchedRecord(record_id, nct, data, retrieved_at, url, False, last_update_of(data))

    def _from_cache(self, cached: CachedRecord, requested: str) -> FetchedRecord:
        url = f"{self.base_url}/studies/{cached.nct_id}"
        return FetchedRecord(
            cached.nct_id, requested, cached.data, cached.retrieved_at, url, True, cached.last_update
        )

    # ------------------------------------------------------------------ HTTP

    def _get_study(
        self, nct: str, params: Mapping[str, str] | None = None
    ) -> tuple[Mapping[str, Any], str, str]:
        """GET one study; returns its JSON, its id (after a followed move) and the URL read."""
        url = f"{self.base_url}/studies/{nct}"
        response = self._request(url, params)
        record_id = nct
        if response.status_code in _REDIRECTS:
            location = response.headers.get("location", "")
            target = urljoin(url, location)
            record_id = self._study_id(target) or ""
            if not record_id:
                raise RecordMoved(nct, None, location)
            log.warning("ClinicalTrials.gov record %s has moved to %s; using %s", nct, record_id, record_id)
            url = f"{self.base_url}/studies/{record_id}"
            response = self._request(url, params)
            if response.status_code in _REDIRECTS:
                raise RecordMoved(nct, record_id, response.headers.get("location", ""))
        if response.status_code == 404:
            raise RecordNotFound(record_id)
        if response.status_code == 400:
            raise InvalidNctId(record_id, f"the registry rejected it ({_message(response)})")
        if response.status_code != 200:
            raise RegistryUnavailable(
                f"ClinicalTrials.gov answered {response.status_code} for {record_id}: {_message(response)}",
                502,
            )
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidRecord(f"the registry sent malformed JSON for {record_id} ({exc})") from exc
        if not isinstance(data, dict):
            raise InvalidRecord(f"the registry sent {type(data).__name__} for {record_id}, not an object")
        return data, record_id, url

    def _study_id(self, url: str) -> str | None:
        """The NCT id of a study URL of this API, or None for any other URL."""
        path = urlsplit(url)._replace(query="", fragment="").geturl()
        prefix = f"{self.base_url}/studies/"
        if not path.startswith(prefix):
            return None
        candidate = path.removeprefix(prefix)
        return candidate if NCT_ID.fullmatch(candidate) else None

    def _request(self, url: str, params: Mapping[str, str] | None) -> httpx.Response:
        """One GET with retries: backoff with jitter on 429, 5xx and timeouts, honouring Retry-After."""
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            self._bucket.acquire()
            try:
                response = self._http.get(url, params=dict(params or {}))
            except httpx.TimeoutException as exc:
                if last:
                    raise RegistryUnavailable(
                        f"ClinicalTrials.gov did not answer within {self.timeout:g} s "
                        f"({attempts} attempts); try later, or use --record FILE or the cache (--offline)",
                        504,
                    ) from exc
                self._sleep(self._backoff(attempt))
                continue
            except httpx.TransportError as exc:
                raise RegistryUnavailable(
                    f"no network: cannot reach {urlsplit(self.base_url).netloc} ({exc.__class__.__name__}: {exc}); "
                    "use --record FILE with a saved API v2 record, or the cache (--offline)",
                    503,
                ) from exc
            if response.status_code != 429 and response.status_code < 500:
                return response
            wait = self._retry_after(response)
            if last or (wait is not None and wait > self.max_backoff):
                what = (
                    "rate-limited the client"
                    if response.status_code == 429
                    else f"answered {response.status_code}"
                )
                after = f"; it asks to retry after {wait:.0f} s" if wait else ""
                raise RegistryUnavailable(
                    f"ClinicalTrials.gov {what} ({attempt + 1} attempts){after}",
                    503 if response.status_code in (429, 503) else 502,
                )
            self._sleep(wait if wait is not None else self._backoff(attempt))
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter (up to half again), capped at ``max_backoff``."""
        return min(self.max_backoff, self.backoff_base * 2**attempt * (1 + self._jitter() / 2))

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds a 429/503 asks to wait: ``Retry-After`` in seconds or as an HTTP date."""
        value = response.headers.get("retry-after", "").strip()
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - self._now()).total_seconds())


def _message(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200] or response.reason_phrase
