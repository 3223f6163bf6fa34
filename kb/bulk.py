"""Bulk loads: the files to ingest read as a stream of batches of documents (each batch is one commit), with
the progress of the whole run (articles, rate, time left)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
