"""Reading a SPARQL 1.1 Protocol query request (GET, form POST, direct POST) strictly, before anything runs.

https://www.w3.org/TR/sparql11-protocol/#query-operation. Everything the protocol calls malformed is a
`Problem` here: several ``query`` parameters, a missing or wrong content type (415), percent-encoding
that does not decode, text that is not UTF-8, bodies over the cap (413). Updates are refused (403): the
endpoint is read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from starlette.requests import Request

from kb.api.problems import Problem

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
READ_ONLY = "this endpoint is read-only: SPARQL updates are not accepted"


@dataclass(frozen=True)
class ProtocolRequest:
    """A query request as the protocol defines it; ``query`` is None for a service-description request."""

    query: str | None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    format: str | None = None

    @property
    def has_dataset(self) -> bool:
        return bool(self.default_graphs or self.named_graphs)


def decode_form(raw: bytes, where: str) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` pairs, refusing bad percent-escapes and non-UTF-8 text."""
    if _BAD_PERCENT.search(raw):
        raise Problem(400, f"malformed percent-encoding in the {where}", kind="bad-encoding")
    pairs = []
    for field in raw.split(b"&"):
        if not field:
            continue
        name, _, value = field.partition(b"=")
        try:
            pairs.append(
                (
                    unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8"),
                    unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8"),
                )
            )
        except UnicodeDecodeError:
            raise Problem(
                400, f"the {where} is not UTF-8 once percent-decoded", kind="bad-encoding"
            ) from None
    return pairs


def content_type(request: Request) -> tuple[str, dict[str, str]]:
    """The media type (lower case) and parameters of the request's Content-Type."""
    header = request.headers.get("content-type", "")
    media, *rest = header.split(";")
    parameters = {}
    for item in rest:
        name, _, value = item.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), parameters


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (chunked bodies too)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(
            413, f"request body is {declared} bytes; the limit is {limit}", kind="body-too-large", limit=limit
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(
                413, f"request body exceeds the limit of {limit} bytes", kind="body-too-large", limit=limit
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _check_charset(parameters: dict[str, str]) -> None:
    charset = parameters.get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise Problem(
            400, f"charset {charset!r} is not supported: send the query as UTF-8", kind="bad-encoding"
        )


def _from_pairs(pairs: list[tuple[str, str]], direct_query: str | None = None) -> ProtocolRequest:
    if any(name in {"update", "using-graph-uri", "using-named-graph-uri"} for name, _ in pairs):
        raise Problem(403, READ_ONLY, kind="read-only")
    queries = [value for name, value in pairs if name == "query"]
    if direct_query is not None:
        queries.append(direct_query)
    if len(queries) > 1:
        raise Problem(
            400, "a request carries exactly one query; this one has several", kind="multiple-queries"
        )
    formats = [value for name, value in pairs if name in {"format", "output"}]
    return ProtocolRequest(
        query=queries[0] if queries else None,
        default_graphs=tuple(value for name, value in pairs if name == "default-graph-uri"),
        named_graphs=tuple(value for name, value in pairs if name == "named-graph-uri"),
        format=formats[0] if formats else None,
    )


async def parse_query_request(request: Request, max_body_bytes: int) -> ProtocolRequest:
    """Read a GET or POST request to the endpoint into a `ProtocolRequest`, or raise the right `Problem`."""
    url_pairs = decode_form(request.scope.get("query_string", b""), "URL query string")
    if request.method == "GET":
        return _from_pairs(url_pairs)
    media, parameters = content_type(request)
    if media == SPARQL_UPDATE:
        raise Problem(403, READ_ONLY, kind="read-only")
    if media == FORM:
        _check_charset(parameters)
        body = await read_body(request, max_body_bytes)
        parsed = _from_pairs(url_pairs + decode_form(body, "form body"))
        if parsed.query is None:
            raise Problem(400, "the form carries no 'query' parameter", kind="missing-query")
        return parsed
    if media == SPARQL_QUERY:
        _check_charset(parameters)
        body = await read_body(request, max_body_bytes)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(400, "the query is not valid UTF-8", kind="bad-encoding") from None
        if any(name == "query" for name, _ in url_pairs):
            raise Problem(
                400,
                "a direct POST carries the query in its body, not also in the URL",
                kind="multiple-queries",
            )
        return _from_pairs(url_pairs, direct_query=text)
    shown = media or "no Content-Type"
    raise Problem(
        415,
        f"{shown} is not a query: POST {FORM} (query=...) or {SPARQL_QUERY} (the query as the body)",
        kind="unsupported-media-type",
        headers={"Accept-Post": f"{FORM}, {SPARQL_QUERY}"},
    )
