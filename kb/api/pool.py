"""A pool of long-lived query worker processes, awaited without blocking the event loop.

Each worker holds the KB open and answers over a pipe; the server watches each pipe's file descriptor
with one `loop.add_reader`, registered when the worker starts (no thread per query, no registration per
query), and a query waits on a future that the reader resolves. Past the deadline the worker is killed with SIGKILL and a
fresh one is forked from a forkserver that has the KB's modules preloaded, so replacing one is quick.

A worker that dies while idle (killed by the OOM killer or an operator) is replaced at once: its pipe's end
of file says so, and a sweep once a second checks every idle worker's process as a backstop. Otherwise it
would only be noticed when picked for a query, and `/readyz` would report no workers until one came, which
an orchestrator that routes only to ready instances never sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from kb.api.problems import Problem
from kb.api.worker import AskJob, QueryJob, Reply, WorkerConfig
from kb.errors import QueryTimeout

log = logging.getLogger("trialkb.api.pool")


_LENGTH = struct.Struct("!i")  # multiprocessing.Connection's framing: a 4-byte length, or -1 then 8 bytes
_LONG_LENGTH = struct.Struct("!Q")
SWEEP_INTERVAL = 1.0
"""Seconds between checks that every idle worker's process is alive (a backstop for a missed end of file)."""


@dataclass(eq=False)
class Worker:
    """A worker process and the server's end of its pipe.

    Replies are read by the event loop as they arrive (the pipe is non-blocking on this side: uvloop makes
    watched descriptors so anyway, and a blocking read of a large reply would stall every other request).
    """

    process: BaseProcess
    connection: Connection
    generation: str = ""
    jobs: int = field(default=0)
    pending: asyncio.Future[bytes] | None = None  # the reply to the job in flight: its pickled bytes
    watched: bool = False
    retired: bool = False  # replaced (or being replaced): never replaced twice, never handed a job
    on_death: Callable[[Worker], None] | None = None  # called when the worker dies (or misbehaves) while idle
    _buffer: bytearray = field(default_factory=bytearray)

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        descriptor = self.connection.fileno()
        os.set_blocking(descriptor, False)
        loop.add_reader(descriptor, self._readable, loop)
        self.watched = True

    def _readable(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            chunk = os.read(self.connection.fileno(), 1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk or self.pending is None:  # EOF (the worker died), or talk out of turn: stop listening
            self.unwatch(loop)
            if self.pending is not None:  # a query is waiting: `WorkerPool.run` replaces the worker
                if not self.pending.done():
                    self.pending.set_exception(EOFError("the worker closed its pipe"))
            elif self.on_death is not None:  # idle: nobody would notice until a query picks it
                self.on_death(self)
            return
        self._buffer += chunk
        message = self._message()
        if message is not None and not self.pending.done():
            self.pending.set_result(message)

    def _message(self) -> bytes | None:
        """The first complete message in the buffer (removed from it), or None while it is incomplete."""
        buffer = self._buffer
        if len(buffer) < 4:
            return None
        (size,), start = _LENGTH.unpack_from(buffer), 4
        if size == -1:
            if len(buffer) < 12:
                return None
            (size,), start = _LONG_LENGTH.unpack_from(buffer, 4), 12
        if len(buffer) < start + size:
            return None
        message = bytes(buffer[start : start + size])
        del buffer[: start + size]
        return message

    def send(self, payload: bytes) -> None:
        """Write a job (the worker is idle, so its pipe is empty and a job under the pipe's buffer size
        goes in one write; anything larger waits for the worker to read, as a blocking write would)."""
        descriptor = self.connection.fileno()
        os.set_blocking(descriptor, True)
        try:
            self.connection.send_bytes(payload)
        finally:
            os.set_blocking(descriptor, False)

    def unwatch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.watched:
            self.watched = False
            with contextlib.suppress(OSError, ValueError):
                loop.remove_reader(self.connection.fileno())

    def kill(self) -> None:
        if self.watched:
            with contextlib.suppress(RuntimeError):
                self.unwatch(asyncio.get_running_loop())
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
        with contextlib.suppress(OSError):
            self.connection.close()


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def _readable(connection: Connection, timeout: float) -> None:
    """Wait until ``connection`` has data (or EOF), at most ``timeout`` seconds (TimeoutError past it)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    descriptor = connection.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(descriptor, wake)
    try:
        async with asyncio.timeout(timeout):
            await ready
    finally:
        loop.remove_reader(descriptor)


class WorkerPool:
    """``size`` worker processes; `run` sends a job to an idle one and enforces the deadline."""

    def __init__(self, config: WorkerConfig, size: int, startup_timeout: float = 120.0) -> None:
        self.config = config
        self.size = max(1, size)
        self.startup_timeout = startup_timeout
        self._context = multiprocessing.get_context("forkserver")
        # Preloaded once in the forkserver, so a replacement worker starts with them imported.
        self._context.set_forkserver_preload(["kb.api.worker", "kb.qa.answer", "kb.passage_search"])
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._workers: set[Worker] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._sweeper: asyncio.Task[None] | None = None
        self.replaced = 0

    @property
    def ready(self) -> int:
        return sum(1 for worker in self._workers if worker.process.is_alive())

    async def start(self, wait: bool = True) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.ensure_future(self._sweep())
        spawns = [self._spawn() for _ in range(self.size)]
        if wait:
            await asyncio.gather(*spawns)
        else:
            for spawn in spawns:
                self._background(spawn)

    async def close(self) -> None:
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for task in list(self._tasks):
            task.cancel()
        for worker in list(self._workers):
            worker.kill()
        await asyncio.gather(
            *(asyncio.to_thread(w.process.join, 2) for w in self._workers), return_exceptions=True
        )
        self._workers.clear()

    async def run(self, job: QueryJob | AskJob, deadline: float, wait: float) -> Reply:
        """The worker's reply to ``job``; `QueryTimeout` past ``deadline`` (the worker is killed and replaced)."""
        worker = await self._idle_worker(wait)
        loop = asyncio.get_running_loop()
        worker.pending = loop.create_future()
        timer = loop.call_later(deadline, _expire, worker.pending)
        try:
            worker.send(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            reply: Reply = pickle.loads(await worker.pending)
        except TimeoutError:
            self._replace(worker)
            what = "question" if isinstance(job, AskJob) else "query"
            raise QueryTimeout(
                f"the {what} ran past its deadline of {deadline:g} s and was stopped (TRIALKB_QUERY_TIMEOUT)"
            ) from None
        except (EOFError, OSError, pickle.UnpicklingError):
            self._replace(worker)
            raise Problem(
                503, "the query stopped its worker (it may have used too much memory); it was not answered",
                kind="worker-died", headers={"Retry-After": "1"},
            ) from None  # fmt: skip
        except BaseException:  # cancelled mid-query: the worker's state is unknown, so it is replaced
            self._replace(worker)
            raise
        finally:
            timer.cancel()
            worker.pending = None
        worker.jobs += 1
        self._idle.put_nowait(worker)
        return reply

    async def _idle_worker(self, wait: float) -> Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except asyncio.QueueEmpty:
                try:
                    async with asyncio.timeout(wait):
                        worker = await self._idle.get()
                except TimeoutError:
                    raise Problem(
                        503, f"no query worker became free within {wait:g} s; try again shortly",
                        kind="overloaded", headers={"Retry-After": "2"},
                    ) from None  # fmt: skip
            if worker.watched and not worker.retired and worker.process.is_alive():
                return worker
            self._replace(worker)  # it died while idle (a no-op when that was noticed already)

    async def _sweep(self) -> None:
        """Every `SWEEP_INTERVAL`, replace idle workers whose process is gone (the end of file on their pipe
        does so at once; this catches whatever it misses, such as a worker that closed its pipe's end late)."""
        while not self._closing:
            await asyncio.sleep(SWEEP_INTERVAL)
            for worker in list(self._workers):
                if worker.pending is None and not worker.retired and not worker.process.is_alive():
                    log.warning("query worker %s died while idle; replacing it", worker.process.pid)
                    self._replace(worker)

    def _died(self, worker: Worker) -> None:
        if not worker.retired and not self._closing:
            log.warning("query worker %s closed its pipe while idle; replacing it", worker.process.pid)
            self._replace(worker)

    def _replace(self, worker: Worker) -> None:
        """Kill ``worker`` and start another in its place, once per worker: its end of file, the sweep, the
        query that picked it and the query that it failed may all notice the same death."""
        if worker.retired:
            return
        worker.retired = True
        worker.kill()
        self._workers.discard(worker)
        self.replaced += 1
        self._background(asyncio.to_thread(worker.process.join, 5))
        if not self._closing:
            self._background(self._spawn())

    def _background(self, awaitable: object) -> None:
        task = asyncio.ensure_future(awaitable)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_process(self) -> Worker:
        from kb.api.worker import main

        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=main, args=(child, self.config), daemon=True, name="trialkb-query"
        )
        process.start()
        child.close()
        return Worker(process, parent)

    async def _spawn(self) -> None:
        while not self._closing:
            worker = await asyncio.to_thread(self._start_process)
            try:
                await _readable(worker.connection, self.startup_timeout)
                message = pickle.loads(worker.connection.recv_bytes())
            except (TimeoutError, EOFError, OSError, pickle.UnpicklingError) as error:
                message = ("failed", f"{type(error).__name__}")
            if message[0] == "ready":
                worker.generation = message[1]
                worker.on_death = self._died
                worker.watch(asyncio.get_running_loop())
                self._workers.add(worker)
                self._idle.put_nowait(worker)
                return
            worker.kill()
            log.error("query worker failed to start: %s; retrying in 2 s", message[1])
            await asyncio.sleep(2)
