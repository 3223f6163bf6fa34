"""Errors as problem+json (RFC 9457): one exception type for the HTTP layer, one translation at the edge."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import TrialKBError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://w3id.org/trialkb/problems/"
log = logging.getLogger("trialkb.api")

_TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    501: "Not Implemented",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Domain exceptions get a stable problem type; the class name is the fallback.
_DOMAIN_TYPES = {
    "QueryRejected": "query-rejected",
    "QueryTimeout": "query-deadline",
    "KBNotFound": "kb-not-found",
    "KBCorrupt": "kb-corrupt",
    "KBBusy": "kb-busy",
    "NotFound": "not-found",
    "InvalidNctId": "invalid-nct-id",
}


class ProblemDetails(BaseModel):
    """The RFC 9457 body; extension members (``deadline``, ``limit``, ``available``...) are allowed."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="A URI identifying the kind of problem.")
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field("", description="What went wrong with this request, and what to do about it.")
    instance: str | None = Field(None, description="The request path the problem occurred at.")


class Problem(Exception):
    """An HTTP problem raised by the API layer; rendered once, as problem+json, by the app's handler."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    body = ProblemDetails(
        type=PROBLEM_BASE + kind if kind else "about:blank",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=instance,
        **extensions,
    )
    return Response(
        body.model_dump_json(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def domain_problem_response(error: TrialKBError, instance: str | None) -> Response:
    """A domain exception as problem+json: its ``status``, and a stable problem type."""
    kind = _DOMAIN_TYPES.get(type(error).__name__, type(error).__name__.lower())
    return problem_response(error.status, str(error), kind=kind, instance=instance)


def render_problem(error: Problem, instance: str | None) -> Response:
    return problem_response(
        error.status,
        error.detail,
        kind=error.kind,
        instance=instance,
        headers=error.headers,
        **error.extensions,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Translate every error the app can raise into problem+json, in one place."""

    async def on_problem(request: Request, error: Exception) -> Response:
        assert isinstance(error, Problem)
        return render_problem(error, request.url.path)

    async def on_domain(request: Request, error: Exception) -> Response:
        assert isinstance(error, TrialKBError)
        return domain_problem_response(error, request.url.path)

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        detail = error.detail if isinstance(error.detail, str) else _TITLES.get(error.status_code, "Error")
        return problem_response(
            error.status_code, detail, instance=request.url.path, headers=dict(error.headers or {})
        )

    async def on_validation(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"location": ".".join(str(part) for part in item.get("loc", ())), "message": item.get("msg", "")}
            for item in error.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid request"
        return problem_response(
            400, detail, kind="invalid-parameters", instance=request.url.path, errors=errors
        )

    async def on_missing_part(request: Request, error: Exception) -> Response:
        # An optional part of TrialKB (question answering, search) is not installed or not built yet.
        log.warning("%s on %s: %s", type(error).__name__, request.url.path, error)
        return problem_response(
            501, f"this feature is not available on this server: {error}", kind="not-available",
            instance=request.url.path,
        )  # fmt: skip

    async def on_unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(
            500, "an unexpected error occurred; it has been logged", instance=request.url.path
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(TrialKBError, on_domain)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ImportError, on_missing_part)
    app.add_exception_handler(NotImplementedError, on_missing_part)
    app.add_exception_handler(Exception, on_unexpected)
