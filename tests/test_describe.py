"""`/resource/...` with a path that makes no IRI: 400 problem+json, never a 500 or a traceback (issue 17 item 5)."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
from servers import server_process

from kb.api.describe import MAX_RESOURCE_PATH, resource_iri
from kb.api.problems import Problem

# The fault campaign's inputs, percent-encoded as a client sends them: each decodes to a character IRIs do not
# allow, bytes that are not UTF-8, or more than any KB IRI.
MALFORMED = {
    "space": b"a%20b",
    "quote": b"a%22b",
    "brace": b"a%7Bb",
    "closing brace": b"trial%7D",
    "backslash": b"a%5Cb",
    "not UTF-8": b"%FF%FE",
    "angle brackets": b"%3Cx%3E",
    "bar": b"a%7Cb",
    "caret": b"a%5Eb",
    "backquote": b"a%60b",
    "control character": b"a%01b",
    "delete": b"a%7Fb",
    "NUL": b"a%00b",
    "percent without hex digits": b"a%25zz",  # decodes to "a%zz"
    "two fragments": b"a%23b%23c",
    "too long": b"a" * (MAX_RESOURCE_PATH + 1),
}
UNKNOWN = [b"drug/no-such-drug", b"caf%C3%A9", b"trial/a041703%3Fx", b"x%23y", b"a%0Ab"]
"""Well-formed IRIs the KB says nothing about: 404. And a line break, which no route's path matches (Starlette's
``{path:path}`` stops at one), so it is the router's 404, as problem+json too."""
RAW = [b'a"b', b"a{b}", b"a\\b", b"a|b", b"a^b", b"a`b", b"<x>", b"a\xff\xfe", b"a\x01b"]
"""The same characters sent unencoded (not valid in an HTTP request target): refused by the server, never 5xx."""


@pytest.fixture(scope="module")
def served(sample_kb: Path) -> Iterator[tuple[str, Path]]:
    with server_process(sample_kb) as (base, _process, log):
        yield base, log


def raw_get(base: str, target: bytes) -> tuple[int, dict[str, str], bytes]:
    """GET ``target`` byte for byte (no client-side encoding): status, headers (lower-case names), body."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := connection.recv(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def assert_no_traceback(log: Path) -> None:
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "Exception in ASGI application" not in text, text[-3000:]


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_resource_path_is_400_problem(served: tuple[str, Path], name: str) -> None:
    base, log = served
    status, headers, body = raw_get(base, b"/resource/" + MALFORMED[name])
    assert status == 400, (status, body[:300])
    assert headers["content-type"].startswith("application/problem+json")
    problem = orjson.loads(body)
    assert problem["status"] == 400 and problem["detail"]
    assert_no_traceback(log)


@pytest.mark.parametrize("path", UNKNOWN)
def test_well_formed_unknown_resource_is_404_problem(served: tuple[str, Path], path: bytes) -> None:
    base, log = served
    status, headers, body = raw_get(base, b"/resource/" + path)
    assert status == 404, (status, body[:300])
    assert headers["content-type"].startswith("application/problem+json")
    assert orjson.loads(body)["status"] == 404
    assert_no_traceback(log)


def test_known_resource_still_served(served: tuple[str, Path]) -> None:
    base, _ = served
    status, headers, body = raw_get(base, b"/resource/trial/a041703")
    assert status == 200 and b"A041703" in body, status


@pytest.mark.parametrize("path", RAW)
def test_unencoded_characters_are_refused_not_500(served: tuple[str, Path], path: bytes) -> None:
    base, log = served
    status, _, body = raw_get(base, b"/resource/" + path)
    assert 400 <= status < 500, (status, body[:300])
    assert_no_traceback(log)


def test_random_byte_paths_never_5xx(served: tuple[str, Path]) -> None:
    """Generated paths: random bytes, percent-encoded or sent as they are, mixed with IRI-ish pieces."""
    base, log = served
    rng = random.Random(17)
    pieces = [
        b"trial/",
        b"drug/",
        b"%",
        b"%2",
        b"%25",
        b"%C3",
        b"%A9",
        b"%ED%A0%80",
        b"%F4%90%80%80",
        b"#",
        b"?",
    ]
    statuses: dict[int, int] = {}
    for _ in range(400):
        path = b""
        for _ in range(rng.randint(1, 12)):
            kind = rng.random()
            if kind < 0.4:
                path += b"".join(b"%%%02X" % rng.randrange(256) for _ in range(rng.randint(1, 4)))
            elif kind < 0.7:
                path += bytes(rng.randrange(33, 127) for _ in range(rng.randint(1, 4)))
            elif kind < 0.85:
                path += rng.choice(pieces)
            else:
                path += bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        try:
            status, _, body = raw_get(base, b"/resource/" + path)
        except (ConnectionError, IndexError, ValueError):
            continue  # a request line the server would not parse at all: it closed the connection
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (path, status, body[:300])
    print("statuses of 400 generated paths:", dict(sorted(statuses.items())))
    assert_no_traceback(log)


def test_resource_iri_checks() -> None:
    assert resource_iri("trial/a041703").endswith("/resource/trial/a041703")
    assert resource_iri("caf\u00e9").endswith("caf\u00e9")  # IRIs allow non-ASCII letters
    for path in ("a b", "a\ufffd", "%zz", "a#b#c", "\ue000", "x" * (MAX_RESOURCE_PATH + 1)):
        with pytest.raises(Problem) as raised:
            resource_iri(path)
        assert raised.value.status == 400
