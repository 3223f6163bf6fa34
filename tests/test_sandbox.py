"""Defence in depth behind the query checks: query processes have no network (a listening canary on
127.0.0.1 is never reached, even by a SERVICE the checks were told to let through), and the CLI's query
child turns a deadline or a crash into one clean error."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from support import canary_listener

from kb.errors import QueryTimeout, TrialKBError
from kb.facade import KnowledgeBase
from kb.sandbox import network_sandbox_active, run_isolated
from kb.settings import Settings

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="network namespaces are Linux's")
CARTESIAN = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r }"
)


@pytest.fixture()
def canary() -> Iterator[tuple[int, list[str]]]:
    """A listening TCP socket on 127.0.0.1 whose thread records every connection made to it."""
    with canary_listener() as listening:
        yield listening


def _connect(port: int) -> tuple[bool, str]:
    """(whether this process is sandboxed, how a connection to the canary ended)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
    except OSError as error:
        return network_sandbox_active(), f"refused: {error}"
    return network_sandbox_active(), "connected"


def _require_sandbox() -> None:
    """As root on Linux the sandbox must work; elsewhere the platform may refuse it (the README says what
    stands then), and these tests have nothing to test."""
    if not run_isolated(network_sandbox_active, timeout=30):
        assert os.geteuid() != 0, "root on Linux, yet no network namespace: the sandbox is broken"
        pytest.skip("this platform refuses network namespaces: the checks alone stand (see README)")


def test_isolated_child_cannot_connect(canary: tuple[int, list[str]]) -> None:
    port, connections = canary
    _require_sandbox()
    sandboxed, outcome = run_isolated(lambda: _connect(port), timeout=30)
    assert sandboxed and outcome.startswith("refused"), outcome
    assert connections == []
    assert _connect(port)[1] == "connected"  # the canary itself works: this process still has the network


def test_service_past_the_checks_reaches_nothing(canary: tuple[int, list[str]]) -> None:
    """Oxigraph federates when asked (the control, in a child with network), but not from a sandboxed one."""
    port, connections = canary
    _require_sandbox()
    query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
    store = ox.Store()

    def federate() -> str:
        try:
            return f"answered {len(list(store.query(query)))}"
        except OSError as error:
            return f"failed: {error}"

    outcome = run_isolated(federate, timeout=30)
    assert outcome.startswith("failed"), outcome
    assert connections == []
    control = multiprocessing.get_context("fork").Process(target=federate)  # no sandbox: it connects
    control.start()
    control.join(30)
    assert any("sparql" in request for request in connections), connections


def _setns_and_connect(pid: int, port: int, reply: multiprocessing.connection.Connection) -> None:
    """Join the network namespace of process ``pid`` and try the canary from there."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/proc/{pid}/ns/net") as namespace:
        if libc.setns(namespace.fileno(), 0x40000000) != 0:
            reply.send(("setns failed", os.strerror(ctypes.get_errno())))
            return
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
    except OSError as error:
        reply.send(("refused", str(error)))
        return
    reply.send(("connected", ""))


def test_query_worker_has_no_network(canary: tuple[int, list[str]], sample_kb: Path) -> None:
    """A real query worker says it is sandboxed, lives in a network namespace of its own, and from inside that
    namespace the canary cannot be reached; it still answers queries over its pipe."""
    from kb.api.worker import QueryJob, WorkerConfig, main

    port, connections = canary
    _require_sandbox()
    context = multiprocessing.get_context("forkserver")
    parent, child = context.Pipe(duplex=True)
    worker = context.Process(
        target=main, args=(child, WorkerConfig(str(sample_kb), max_results=10)), daemon=True
    )
    worker.start()
    child.close()
    try:
        assert parent.poll(120), "the worker did not start"
        kind, generation, status = pickle.loads(parent.recv_bytes())
        assert kind == "ready" and status == {"network_sandbox": True}
        assert os.readlink(f"/proc/{worker.pid}/ns/net") != os.readlink("/proc/self/ns/net")
        receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
        probe = multiprocessing.get_context("fork").Process(
            target=_setns_and_connect, args=(worker.pid, port, sender)
        )
        probe.start()
        probe.join(30)
        assert receiver.poll(5)
        outcome, detail = receiver.recv()
        if outcome == "setns failed":  # joining another user namespace's network needs privileges we lack
            assert os.geteuid() != 0, detail
        else:
            assert outcome == "refused", (outcome, detail)
        job = QueryJob("ASK { ?s ?p ?o }", "ASK", (), (), "json", (), (), "", generation)
        parent.send_bytes(pickle.dumps(job))
        assert parent.poll(60)
        assert pickle.loads(parent.recv_bytes())[:2] == ("ok", "ASK")
        service = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
        parent.send_bytes(pickle.dumps(QueryJob(service, "SELECT", (), (), "json", (), (), "", generation)))
        assert parent.poll(60)
        reply = pickle.loads(parent.recv_bytes())
        assert reply[0] == "error" and reply[1] == 400 and "SERVICE" in reply[3]
    finally:
        worker.kill()
        worker.join(5)
        parent.close()
    assert connections == []


def test_isolated_query_answers_like_the_in_process_one(sample_kb: Path) -> None:
    kb = KnowledgeBase(sample_kb)
    query = "SELECT ?s ?o WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o } ORDER BY ?s"
    assert kb.query(query, "csv", isolated=True).body == kb.query(query, "csv").body


def test_isolated_query_keeps_its_deadline(sample_kb: Path) -> None:
    kb = KnowledgeBase(sample_kb, Settings(query_timeout=0.5))
    with pytest.raises(QueryTimeout, match="deadline of 0.5 s"):
        kb.query(CARTESIAN, isolated=True)
    assert kb.query("ASK { ?s ?p ?o }", isolated=True).body == b'{"head":{},"boolean":true}'


def test_isolated_errors_come_back_as_domain_errors(sample_kb: Path) -> None:
    kb = KnowledgeBase(sample_kb)
    with pytest.raises(TrialKBError, match="read-only"):
        kb.query("PREFIX add: <http://example.org/> CLEAR ALL", isolated=True)

    def crash() -> None:
        os.abort()

    with pytest.raises(TrialKBError, match=r"crashed its process \(SIGABRT\)"):
        run_isolated(crash, timeout=30)


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another, unprivileged user needs root")
def test_unprivileged_process_falls_back_to_a_user_namespace(canary: tuple[int, list[str]]) -> None:
    """Without CAP_SYS_ADMIN a plain network namespace is refused; a user namespace with one is not (where
    the kernel allows unprivileged user namespaces), and the process keeps its own uid inside it."""
    import encodings.idna  # noqa: F401 - imported now: 'nobody' cannot read the standard library

    from kb import sandbox

    port, connections = canary
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(65534)
            os.setuid(65534)
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE, as for a process that never was root
            active = sandbox.isolate_network()
            outcome = _connect(port)[1]
            os.write(write_end, pickle.dumps((active, outcome, os.getuid())))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        payload = reader.read()
    os.waitpid(pid, 0)
    active, outcome, uid = pickle.loads(payload)
    if not active:
        pytest.skip("this kernel refuses unprivileged user namespaces")
    assert outcome.startswith("refused") and uid == 65534, (outcome, uid)
    assert connections == []
