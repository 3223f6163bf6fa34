"""Ingest extraction on a Dask ``distributed`` cluster (``trialkb ingest --cluster tcp://host:8786``).

The cluster's workers run the same task as local worker processes (`kb.ingest_task.extract_chunk`: a few
documents and the options in, their graphs as N-Triples bytes and their passages' vectors out); the lexicon and the ONNX encoder are loaded
once per worker process and kept there. This process commits each batch as with local workers, so what a
cluster changes is where extraction runs, never what is written. A worker that dies mid-batch has its
tasks run again on another (Dask's own rescheduling); a cluster that goes away stops the load with one
error, its committed batches kept, and a rerun carries on from there.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from kb.errors import TrialKBError

if TYPE_CHECKING:
    from kb.ingest_task import TaskOptions
    from kb.models import Document

CONNECT_TIMEOUT = "5s"
"""How long to wait for the scheduler before saying it cannot be reached."""


class ClusterUnavailable(TrialKBError):
    """The Dask scheduler cannot be reached, or the cluster was lost during the load."""

    status = 503


class ClusterExtraction:
    """Documents extracted on the Dask cluster at ``address``, results in the order asked for."""

    def __init__(self, address: str, options: TaskOptions) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - a declared dependency
            raise ClusterUnavailable("--cluster needs Dask: pip install distributed") from None
        self.address = address
        self.options = options
        _quiet_dask_logs()
        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as error:
            raise ClusterUnavailable(
                f"cannot reach the Dask scheduler at {address}: {_first_line(error)}"
            ) from None

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def extract(self, documents: Sequence[Document], force: bool) -> Iterator[Any | BaseException]:
        """Each document's `kb.ingest_task.ExtractedDocument` (or the exception its task raised), in order.

        A task that raised is that document's failure; a cluster lost (scheduler gone, connection closed)
        raises `ClusterUnavailable` for the whole load."""
        from kb.bulk import chunks
        from kb.ingest_task import extract_chunk

        options = dataclasses.replace(self.options, force=force)
        tasks = chunks(documents, max(1, self.workers))
        futures = self.client.map(extract_chunk, tasks, options=options, pure=False)  # submitted now
        return self._gather(tasks, futures)

    def _gather(self, tasks: list[list[Document]], futures: list[Any]) -> Iterator[Any | BaseException]:
        from kb.bulk import each_document

        try:
            for chunk, future in zip(tasks, futures, strict=True):
                yield from each_document(chunk, self._result(future))
        finally:
            self.client.cancel([future for future in futures if not future.done()])

    def _result(self, future: Any) -> Any:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as error:  # the task took down every worker it ran on: this document's fault
            return error
        except (OSError, TimeoutError) as error:
            raise ClusterUnavailable(
                f"lost the Dask cluster at {self.address}: {_first_line(error)}"
            ) from None
        except Exception as error:  # noqa: BLE001 - the task's own exception, or the cluster's
            if future.status == "error":
                return error
            # Cancelled without our asking: the scheduler dropped the task (it is gone, or restarted).
            raise ClusterUnavailable(
                f"lost the Dask cluster at {self.address} ({type(error).__name__}: {_first_line(error)}); "
                "committed batches are kept: run the same ingest again to finish"
            ) from None

    def close(self) -> None:
        try:
            self.client.close(timeout=5)
        except (OSError, TimeoutError):  # already gone: nothing to close
            pass


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _quiet_dask_logs() -> None:
    """Dask logs (with tracebacks) what `ClusterExtraction` reports itself in one line, as the CLI's error: a
    lost scheduler, cancelled tasks. Its loggers are silenced here (Dask's config gives some their own level,
    so each is set, not only the parent)."""
    names = [
        name for name in logging.root.manager.loggerDict if name.split(".")[0] in ("distributed", "tornado")
    ]
    for name in {"distributed", "tornado", "asyncio", *names}:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
