"""Where untrusted queries run: a process without a network (Linux network namespaces), and a forked child
with a deadline for callers that have no worker pool (the CLI), so that no query can crash or hang them.

The network sandbox is defence in depth behind `kb.sparql_guard`: should a ``SERVICE`` clause ever get past
the checks, Oxigraph in a sandboxed process finds no network to reach (not even loopback, which is down in
a fresh namespace). Pipes and socketpairs opened before it keep working.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import faulthandler
import logging
import os
import pickle
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kb.errors import QueryTimeout, TrialKBError

log = logging.getLogger("trialkb.sandbox")
T = TypeVar("T")

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_active = False


def network_sandbox_active() -> bool:
    """Whether this process has left the host's network (`isolate_network` succeeded here or in a parent)."""
    return _active


def _unshare(flags: int) -> int:
    """``unshare(2)`` through libc (Python 3.11 has no `os.unshare`); 0 or the errno."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.unshare(ctypes.c_int(flags)) == 0:
        return 0
    return ctypes.get_errno()


def _map_own_ids() -> None:
    """In a new user namespace, map our uid and gid to themselves, so files are still created as us."""
    uid, gid = os.getuid(), os.getgid()
    with open("/proc/self/setgroups", "w") as setgroups:
        setgroups.write("deny")
    with open("/proc/self/uid_map", "w") as uid_map:
        uid_map.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as gid_map:
        gid_map.write(f"{gid} {gid} 1")


def isolate_network() -> bool:
    """Move this process into a new, empty network namespace; False (with one warning) where the platform or
    the process's privileges do not allow it. Call it while the process has one thread: a user namespace,
    the fallback for unprivileged processes, cannot be entered by a multi-threaded one."""
    global _active
    if _active:
        return True
    if not sys.platform.startswith("linux"):
        log.warning("query processes keep network access: network namespaces need Linux")
        return False
    try:
        error = _unshare(_CLONE_NEWNET)
        if error == 0:
            _active = True
            return True
        error = _unshare(_CLONE_NEWUSER | _CLONE_NEWNET)  # without CAP_SYS_ADMIN: a user namespace first
        if error == 0:
            _active = True  # the network is gone from here on, whatever becomes of the id maps
            try:
                _map_own_ids()
            except OSError as failure:
                log.warning(
                    "query process ids not mapped in its user namespace (%s): it reads, not writes", failure
                )
            return True
        reason = os.strerror(error)
    except (OSError, AttributeError) as failure:  # no libc
        reason = str(failure)
    log.warning(
        "query processes keep network access (network namespace refused: %s); SERVICE stays refused by "
        "the query checks",
        reason,
    )
    return False


def _address_space() -> int:
    """This process's address-space size in bytes (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def limit_memory_growth(megabytes: int) -> None:
    """Cap this process's address space at what it maps now plus ``megabytes`` (0: no cap).

    A query process is forked from, or has just loaded, a whole KB (and a test process with torch maps well
    over 2 GiB), so the cap bounds what the query may add, not what is already there: an absolute cap below
    that would fail every allocation, as it did for query workers on a 4,500-document KB."""
    if megabytes > 0:
        limit = _address_space() + megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_isolated(
    function: Callable[[], T], *, timeout: float, memory_limit_mb: int = 0, what: str = "query"
) -> T:
    """``function()`` in a forked child without network, its result pickled back over a pipe.

    Past ``timeout`` seconds the child is killed and `QueryTimeout` raised; a child that dies (a stack
    overflow in Oxigraph, memory past ``memory_limit_mb``) becomes a `TrialKBError` with one line saying so;
    a `TrialKBError` raised in the child is raised again here. Fork is cheap once the KB is loaded: the
    child shares its pages.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            # A crash must end in the parent's one line, not in Rust's or faulthandler's report on stderr.
            faulthandler.disable()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            logging.disable(logging.WARNING)  # one warning per process is the parent's to give
            isolate_network()
            limit_memory_growth(memory_limit_mb)
            try:
                reply: tuple[str, Any] = ("ok", function())
            except TrialKBError as error:
                reply = ("error", (type(error), str(error)))
            except MemoryError:
                reply = ("error", (TrialKBError, f"the {what} needed more memory than a {what} may use"))
            except Exception as error:  # noqa: BLE001 - reported to the parent, which prints one line
                reply = ("error", (TrialKBError, f"the {what} failed: {type(error).__name__}: {error}"))
            payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view) :]
        except BaseException:  # noqa: BLE001 - whatever happens, the child must not run the parent's code on
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        payload = _read_until(read_end, time.monotonic() + timeout)
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise QueryTimeout(
            f"the {what} ran past its deadline of {timeout:g} s and was stopped (TRIALKB_QUERY_TIMEOUT)"
        ) from None
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if not payload:
        if os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            raise TrialKBError(f"the {what} crashed its process ({name}) and was not answered")
        raise TrialKBError(f"the {what} process ended without an answer (exit {os.WEXITSTATUS(status)})")
    kind, value = pickle.loads(payload)
    if kind == "error":
        error_type, message = value
        try:
            failure = error_type(message)
        except TypeError:  # a domain error whose constructor takes more than its message
            failure = TrialKBError(message)
        raise failure
    return value  # type: ignore[no-any-return]


def _read_until(descriptor: int, deadline: float) -> bytes:
    """Everything the child writes, until it closes the pipe; TimeoutError past ``deadline``."""
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        readable, _, _ = select.select([descriptor], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(descriptor, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
