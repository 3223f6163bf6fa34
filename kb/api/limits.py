"""Admission control and request-size limits: what keeps the server answering under load and abuse."""

from __future__ import annotations

import asyncio
import math

from starlette.types import ASGIApp, Receive, Scope, Send

from kb.api.problems import Problem, problem_response


class Admission:
    """At most ``running`` requests at work and ``queued`` waiting; anyone beyond gets 503 with Retry-After.

    Counters live on the event loop's thread, so no lock is needed; waiting is bounded by ``queue_timeout``.
    """

    def __init__(self, running: int, queued: int, queue_timeout: float, retry_after: float = 1.0) -> None:
        self.running = max(1, running)
        self.queued = max(0, queued)
        self.queue_timeout = queue_timeout
        self.retry_after = str(max(1, math.ceil(retry_after)))
        self.active = 0
        self.rejected = 0
        self._slots = asyncio.Semaphore(self.running)

    def _busy(self, detail: str) -> Problem:
        self.rejected += 1
        return Problem(503, detail, kind="overloaded", headers={"Retry-After": self.retry_after})

    def slot(self) -> _Slot:
        """``async with admission.slot():`` holds one of the running slots (a class, not a generator-based
        context manager: it is entered on every query, and costs a tenth as much)."""
        return _Slot(self)

    async def _enter(self) -> None:
        if self.active >= self.running + self.queued:
            raise self._busy(
                f"the server is at capacity ({self.running} running, {self.queued} waiting); retry shortly"
            )
        self.active += 1
        if not self._slots.locked():
            await self._slots.acquire()  # free: returns at once
            return
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self._slots.acquire()
        except BaseException as error:
            self.active -= 1
            if isinstance(error, TimeoutError):
                raise self._busy(
                    f"no query slot became free within {self.queue_timeout:g} s; retry shortly"
                ) from None
            raise

    def _exit(self) -> None:
        self._slots.release()
        self.active -= 1


class _Slot:
    __slots__ = ("admission",)

    def __init__(self, admission: Admission) -> None:
        self.admission = admission

    async def __aenter__(self) -> None:
        await self.admission._enter()

    async def __aexit__(self, *_: object) -> None:
        self.admission._exit()


class BodyLimitMiddleware:
    """Refuse a request whose declared Content-Length passes the cap before reading any of it (413)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                    response = problem_response(
                        413,
                        f"request body is {int(value)} bytes; the limit is {self.limit} (TRIALKB_MAX_BODY_BYTES)",
                        kind="body-too-large",
                        instance=scope.get("path"),
                        limit=self.limit,
                    )
                    response.headers["Connection"] = "close"
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
