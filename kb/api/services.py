"""What the app's routes share: the facade, the KB's current generation, the worker pool, the admission cap."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from kb.api.limits import Admission
from kb.api.models import AskAnswer
from kb.api.pool import WorkerPool
from kb.api.problems import Problem
from kb.api.result_cache import CachedAnswer, CacheKey, ResultCache
from kb.api.worker import AskJob, WorkerConfig
from kb.facade import KnowledgeBase
from kb.settings import Settings
from kb.store import MANIFEST


@dataclass(frozen=True)
class Generation:
    """One committed version of the KB as the server sees it."""

    content_hash: str
    graphs: frozenset[str]
    documents: int
    triples: int


class KBWatcher:
    """Notices a new commit of the KB cheaply (one ``stat`` of the manifest per request) and reloads."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.path = kb.home / MANIFEST
        self._stamp: tuple[int, int, int] | None = None
        self._current: Generation | None = None
        self._lock = asyncio.Lock()

    def _load(self) -> Generation:
        manifest = self.kb.directory.read_manifest()
        if self._current is None or manifest.sha256 != self._current.content_hash:
            self.kb.reload()
            graphs = frozenset(self.kb.graph_names())
            return Generation(manifest.sha256, graphs, len(manifest.documents), manifest.triples)
        return self._current

    async def current(self) -> Generation:
        """The KB generation to serve now; a changed manifest is read (off the event loop) and loaded."""
        try:
            status = os.stat(self.path)
            stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
        except OSError:
            stamp = None
        if self._current is not None and stamp == self._stamp:
            return self._current
        async with self._lock:
            if self._current is None or stamp != self._stamp:
                self._current = await run_in_threadpool(self._load)
                self._stamp = stamp
        assert self._current is not None
        return self._current


class Services:
    """Created by `create_app`; started and stopped by the app's lifespan."""

    def __init__(self, kb: KnowledgeBase, settings: Settings) -> None:
        self.kb = kb
        self.settings = settings
        self.watcher = KBWatcher(kb)
        self.admission = Admission(
            settings.max_concurrent_queries,
            settings.max_queued_queries,
            settings.queue_timeout,
            retry_after=min(settings.query_timeout, 5.0),
        )
        # Workers read the KB's own settings when its graphs are in a remote store (they must reach it).
        remote = kb.settings if kb.settings.store else None
        config = WorkerConfig(str(kb.home), settings.max_results, settings.query_memory_limit_mb, remote)
        self.pool = WorkerPool(config, settings.query_workers)
        self.results = ResultCache(settings.result_cache_mb * 1024 * 1024)
        self.answers = ResultCache(settings.result_cache_mb * 1024 * 1024 // 4)
        self.started = False

    async def start(self) -> None:
        await self.watcher.current()
        await self.pool.start(wait=False)
        self.started = True

    async def stop(self) -> None:
        await self.pool.close()

    async def ask(self, question: str) -> tuple[bytes, bool]:
        """The answer to ``question`` as JSON bytes, and whether it came from the cache.

        Answered by a worker process under the query deadline: a question is turned into SPARQL that may
        run as long as any query, so it must be stoppable; answers are kept until the next commit.
        """
        generation = await self.watcher.current()
        key: CacheKey = (generation.content_hash, question, (), (), "answer", "")
        cached = self.answers.get(key)
        if cached is not None:
            return cached.body, True
        async with self.admission.slot():
            reply = await self.pool.run(
                AskJob(question, generation.content_hash),
                deadline=self.settings.query_timeout,
                wait=self.settings.queue_timeout,
            )
        if reply[0] != "ok":
            _, status, kind, message = reply
            raise Problem(status, message, kind="question-failed" if status >= 500 else "bad-question")
        # Shaped by the API's model (the design's JSON contract) once, when made; a cached answer is as made.
        model = AskAnswer.model_validate_json(reply[1])
        partial_only = {name for name in ("truncated", "note") if getattr(model, name) is None}
        body = model.model_dump_json(exclude=partial_only).encode()
        self.answers.put(key, CachedAnswer("application/json", body, False, 1))
        return body, False

    def base_url(self, request: Request) -> str:
        """The service's public base URL (TRIALKB_PUBLIC_BASE_URL, or the one the request came to)."""
        if self.settings.public_base_url:
            return self.settings.public_base_url.rstrip("/")
        return str(request.base_url).rstrip("/")


def services(request: Request) -> Services:
    """FastAPI dependency: the app's `Services`."""
    return request.app.state.services  # type: ignore[no-any-return]
