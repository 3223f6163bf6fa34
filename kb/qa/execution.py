"""Running the answering queries: IRI lists bound in small VALUES batches, within the question's deadline.

Oxigraph (0.5) picks its join order from estimates, and once a VALUES block holds more than ten rows it
starts from a triple pattern instead (``?st rdf:subject ?s`` over every statement of the KB): on the
1,000-document benchmark KB one evidence query with 11 pairs took 2.6 s against 1 ms with 10, and for
some patterns two rows are already too many. So lists of IRIs are bound a few at a time (`BATCH`, and one
trial a query: `TRIALS_PER_QUERY`), one query per batch, the rows concatenated. The query an answer
shows is the same template over the whole list: the batches are only how it is run.

A question also runs within a deadline (the ``query_timeout`` setting), checked before each query; past
it, `QueryTimeout` is raised and the question abstains saying so, instead of running on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from kb.errors import QueryTimeout

if TYPE_CHECKING:
    from kb.qa.port import QASource

BATCH = 8
"""Rows of one VALUES block (Oxigraph 0.5 keeps the bound variable first up to ten)."""
TRIALS_PER_QUERY = 1
"""Trials (and other nodes answers start from) are bound one a query: a single-row VALUES is joined first whatever the pattern, while two rows
already let some plans start elsewhere (the publication of two trials: 2.7 s, against 1 ms for one)."""

Item = TypeVar("Item")
Rows = list[dict[str, Any]]

_DEADLINE: ContextVar[float | None] = ContextVar("qa_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Queries run inside this block must start within ``seconds`` of entering it."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline() -> None:
    """Raise `QueryTimeout` when the current question has run past its deadline."""
    until = _DEADLINE.get()
    if until is not None and time.monotonic() > until:
        raise QueryTimeout("answering the question took longer than its deadline")


def select(kb: QASource, query: str) -> Rows:
    """`QASource.select`, within the question's deadline."""
    check_deadline()
    return kb.select(query)


def select_batched(
    kb: QASource, build: Callable[[Sequence[Item]], str], items: Sequence[Item], size: int = BATCH
) -> Rows:
    """The rows of ``build(items)``, run ``size`` items at a time (``build`` binds them with VALUES)."""
    if len(items) <= size:
        return select(kb, build(items))
    rows: Rows = []
    for start in range(0, len(items), size):
        rows.extend(select(kb, build(items[start : start + size])))
    return rows
