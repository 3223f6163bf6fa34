"""Bulk loads: the files to ingest read as a stream of batches of documents (each batch is one commit), with
the progress of the whole run (articles, rate, time left)."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kb.models import Document
from kb.sources import SourceFailure, SourceFile

DEFAULT_BATCH_SIZE = 200
"""Articles per commit: each commit rewrites the snapshot and index once, so larger batches amortise it; an
interrupted load redoes at most one batch."""
TRIAL_CUE = re.compile(r"\btrials?\b|\bNCT\d{8}\b|\brandomi[sz]ed\b", re.IGNORECASE)
"""Words without which an article whose record claims no trial is skipped before extraction (most of a
MEDLINE baseline is no trial report, and extraction is the costly step)."""


@dataclass
class Batch:
    """Documents read from the files (with the file each came from), and the failures met on the way."""

    documents: list[tuple[str, Document]] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # bytes of the whole input read when each was read


@dataclass(frozen=True)
class IngestProgress:
    """How far a run has got: articles done, bytes of the input read up to the last of them, and the time."""

    articles: int
    position: int
    size: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.articles / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        if not self.position or not self.size or self.position >= self.size:
            return None
        return self.elapsed * (self.size - self.position) / self.position

    def line(self) -> str:
        """ "1,200 articles, 23.5/s, 41%, 2 min 5 s left" (on a terminal)."""
        text = f"{self.articles:,} article{'' if self.articles == 1 else 's'}, {self.rate:.1f}/s"
        if self.size:
            text += f", {100 * min(self.position, self.size) / self.size:.0f}%"
        left = self.seconds_left
        if left is not None:
            minutes, seconds = divmod(int(left), 60)
            text += f", {minutes} min {seconds} s left" if minutes else f", {seconds} s left"
        return text


class BatchReader:
    """Reads ``paths`` in order and yields `Batch`es of at most ``size`` documents; `progress` says how far."""

    def __init__(self, paths: Sequence[Path | str], size: int = DEFAULT_BATCH_SIZE) -> None:
        self.files = [SourceFile(path) for path in paths]
        self.size = max(1, size)
        self.total = sum(file.size for file in self.files)
        self.done = 0  # bytes of the files already read whole
        self.current: SourceFile | None = None
        self.articles = 0
        self.started = time.monotonic()

    def progress(self, articles: int, position: int) -> IngestProgress:
        """The run's progress once ``articles`` are done, the last of them read at ``position``."""
        return IngestProgress(articles, position, self.total, time.monotonic() - self.started)

    def __iter__(self) -> Iterator[Batch]:
        batch = Batch()
        for file in self.files:
            self.current = file
            for item in file.documents():
                if isinstance(item, SourceFailure):
                    batch.failures.append(item)
                    continue
                self.articles += 1
                batch.documents.append((file.name, item))
                batch.positions.append(self.done + file.position)
                if len(batch.documents) >= self.size:
                    yield batch
                    batch = Batch()
            self.current = None
            self.done += file.size
        if batch.documents or batch.failures:
            yield batch


def skip_reason(document: Document) -> str | None:
    """Why an XML article is skipped before extraction (its record claims no trial and its text has no trial
    word), or None to extract it."""
    record = document.record
    if record is None or record.reports_trial or TRIAL_CUE.search(document.text):
        return None
    types = ", ".join(label for _, label in record.publication_types) or "none"
    return f"reports no trial (publication types: {types}; no NCT id, no trial named); use --force to add it"


def default_workers() -> int:
    """The CPUs this process may run on (its affinity where the platform says, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


class Extraction(Protocol):
    """Where documents are extracted besides this process: local worker processes (`ExtractionPool`) or a
    Dask cluster (`kb.cluster.ClusterExtraction`). Both run `kb.ingest_task` and give back its results."""

    def extract(self, documents: Sequence[Document], force: bool) -> Iterator[Any | BaseException]:
        """Each document's `kb.ingest_task.ExtractedDocument` (or the exception it raised), in order."""
        ...

    def close(self) -> None: ...


_WORKER_KB: Any = None  # the knowledge base a worker process extracts with (its lexicon and settings)
_WORKER_EMBEDS = False  # whether this worker embeds the passages of what it extracts


def _start_worker(kb: Any, embed: bool) -> None:
    """Worker initialiser: remember the KB; Ctrl-C is the parent's to handle (it stops the pool cleanly), so
    the workers do not each print a traceback."""
    global _WORKER_KB, _WORKER_EMBEDS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _WORKER_KB = kb
    _WORKER_EMBEDS = embed


def _die_with_parent() -> None:
    """Have Linux kill this worker when the parent dies (``kill -9``, a crash): an orphan would otherwise wait
    for work forever, holding the parent's stdout and stderr open."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl: the worker lives until its queue closes
        return
    if os.getppid() == 1:  # the parent died before the call: nobody is left to send it work
        os._exit(1)


def _extract_in_worker(documents: list[Document], force: bool) -> Any:
    return _WORKER_KB._extract_chunk(documents, force, _WORKER_EMBEDS)


MAX_CHUNK = 25
"""Documents per task at most: a task embeds its documents' passages in one call (whole chunks embed faster
than one document at a time), and a batch still makes a few tasks per worker, so none waits on another."""


def chunks(documents: Sequence[Any], workers: int) -> list[list[Any]]:
    """``documents`` cut into tasks: about four per worker, at most `MAX_CHUNK` documents each."""
    size = max(1, min(MAX_CHUNK, -(-len(documents) // (4 * max(1, workers)))))
    return [list(documents[begin : begin + size]) for begin in range(0, len(documents), size)]


def each_document(chunk: Sequence[Any], result: Any) -> Iterator[Any]:
    """A task's results one per document; a task that raised (its worker died) is each document's failure."""
    if isinstance(result, BaseException):
        for _ in chunk:
            yield result
    else:
        yield from result


class ExtractionPool:
    """Extraction of documents in worker processes, the results in the order asked for.

    Workers are forked where the platform allows (they inherit the loaded lexicon and ``kb.extract``, so
    they start in milliseconds) and spawned elsewhere. A document whose extraction raises, or whose worker
    dies, comes back as the exception, for the caller to report as that document's failure. Results are
    plain data (`kb.ingest_task.ExtractedDocument`: the graph as N-Triples bytes), cheap to ship back; with
    ``embed`` the workers embed the passages too (the ONNX encoder loaded once per worker, one thread each).
    """

    def __init__(self, owner: Any, workers: int, embed: bool = False) -> None:
        import kb.extract  # noqa: F401 - loaded before the fork, so each worker has it already

        owner.lexicon  # noqa: B018 - loaded once here, shared by the forked workers
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            workers, context, initializer=_start_worker, initargs=(owner, embed)
        )

    def extract(self, documents: Sequence[Document], force: bool) -> Iterator[Any | BaseException]:
        """Each document's extraction (or the exception it raised), in the order of ``documents``."""
        tasks = chunks(documents, self.workers)
        # Submitted now, not on the first ``next``: the workers start while the caller does other work.
        futures = [self._executor.submit(_extract_in_worker, chunk, force) for chunk in tasks]
        return self._gather(tasks, futures)

    @staticmethod
    def _gather(tasks: list[list[Document]], futures: list[Any]) -> Iterator[Any | BaseException]:
        try:
            for chunk, future in zip(tasks, futures, strict=True):
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - these documents' failure, not the load's
                    result = error
                yield from each_document(chunk, result)
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        # Queued documents are dropped (Ctrl-C, an error in the parent); running ones finish in the workers.
        self._executor.shutdown(wait=True, cancel_futures=True)
