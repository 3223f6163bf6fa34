"""The query worker process: opens the KB once, then answers checked queries and questions read from a pipe.

A worker may be killed (SIGKILL) at any moment, which is how deadlines are enforced: neither a Python
thread nor Oxigraph can interrupt a running query. Messages are pickled tuples over a
`multiprocessing.Connection`, one request and one reply at a time. A worker reads each query with the full
SPARQL grammar before running it (the server's event loop only lexes it: a hostile parse may take seconds,
and here the deadline stops it), and runs without network where the platform allows it
(`kb.sandbox.isolate_network`).
"""

from __future__ import annotations

import os
import pickle
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson

from kb.errors import TrialKBError
from kb.facade import KnowledgeBase
from kb.sandbox import isolate_network, limit_memory_growth
from kb.settings import Settings
from kb.sparql import check_graph_parameters, check_query, execute

Reply = tuple[Any, ...]
"""For a query ("ok", form, media type, body, truncated, count), for a question ("ok", JSON bytes of the
answer); ("error", status, problem kind, message) for either. At start the worker sends ("ready",
generation, {"network_sandbox": bool}) or ("failed", message)."""


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to open the KB and run queries like the server would."""

    home: str
    max_results: int
    memory_limit_mb: int = 0
    settings: Settings | None = (
        None  # the server's (a remote store, a vector database); None: from the environment
    )


@dataclass(frozen=True)
class QueryJob:
    """A query already checked by the server (`kb.sparql.check_query`), with its protocol dataset."""

    text: str
    form: str
    from_graphs: tuple[str, ...]
    from_named_graphs: tuple[str, ...]
    result_format: str
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    base_iri: str
    generation: str
    prefixes: tuple[str, ...] | None = None  # `QueryPlan.prefixes`


@dataclass(frozen=True)
class AskJob:
    """A plain-English question for `KnowledgeBase.ask`: its SPARQL may be as slow as any query, so it runs
    where a deadline can stop it."""

    question: str
    generation: str


def run_ask(kb: KnowledgeBase, job: AskJob) -> Reply:
    """Answer one question on the worker's KB: the answer object of the design, as JSON bytes."""
    if job.generation and job.generation != kb.manifest.sha256:
        kb.reload()
    try:
        answer = kb.ask(job.question)
    except TrialKBError as error:
        return ("error", error.status, type(error).__name__, str(error))
    return ("ok", orjson.dumps(answer.to_dict()))


def run_job(kb: KnowledgeBase, job: QueryJob, max_results: int) -> Reply:
    """Execute one job on the worker's KB, reloading first if the server has seen a newer commit."""
    if job.generation and job.generation != kb.manifest.sha256:
        kb.reload()
    try:
        known = kb.graph_names()
        plan = check_query(
            job.text,
            known_graphs=known,
            max_length=kb.settings.max_query_length,
            max_nesting=kb.settings.max_query_nesting,
        )
        if plan.form != job.form or (plan.from_graphs, plan.from_named_graphs) != (
            job.from_graphs,
            job.from_named_graphs,
        ):
            # The server's lexer and the grammar read the query differently: run neither reading.
            return ("error", 400, "QueryRejected", "the query reads differently to its checks: refused")
        check_graph_parameters(list(job.default_graphs), list(job.named_graphs), known)
        output = execute(
            kb.store.native,
            plan,
            job.result_format,
            default_graphs=list(job.default_graphs),
            named_graphs=list(job.named_graphs),
            max_results=max_results,
            base_iri=job.base_iri or None,  # the protocol's base IRI: the endpoint's URL
        )
    except TrialKBError as error:
        return ("error", error.status, type(error).__name__, str(error))
    except MemoryError:
        return ("error", 503, "QueryTooLarge", "the query needed more memory than a query may use")
    return ("ok", output.form, output.media_type, output.body, output.truncated, output.count)


def main(connection: Connection, config: WorkerConfig) -> None:
    """Worker entry point: load the KB, say ready, then serve jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server shuts workers down; Ctrl-C is its business
    settings = config.settings or Settings()
    # First, while the process has one thread (see `isolate_network`). With a remote store the worker must
    # reach it over the network, and the store, not this process, runs the query: the checks that refuse
    # SERVICE are what keeps it from fetching anything.
    sandboxed = isolate_network() if not settings.store else False
    os.nice(5)  # a runaway query must not starve the server process that answers health checks and kills it
    kb = KnowledgeBase(config.home, settings)
    try:
        generation = kb.manifest.sha256
        kb.store  # noqa: B018 - load the snapshot now, not during the first query's deadline
    except TrialKBError as error:
        connection.send_bytes(pickle.dumps(("failed", str(error))))
        return
    limit_memory_growth(config.memory_limit_mb)  # after loading: the cap bounds what a query adds
    connection.send_bytes(pickle.dumps(("ready", generation, {"network_sandbox": sandboxed})))
    while True:
        try:
            job = pickle.loads(connection.recv_bytes())
        except (EOFError, OSError):
            return  # the server went away
        try:
            reply = run_ask(kb, job) if isinstance(job, AskJob) else run_job(kb, job, config.max_results)
        except Exception as error:  # noqa: BLE001 - any failure is the client's answer, not the worker's death
            reply = ("error", 500, "WorkerError", f"the query failed: {type(error).__name__}: {error}")
        connection.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
