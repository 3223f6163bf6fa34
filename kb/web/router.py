"""`web_router(kb, settings)`: the page at ``/``, its static files, and the passage context it shows."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from kb.facade import KnowledgeBase
from kb.settings import Settings
from kb.web.assets import Assets
from kb.web.context import paragraph_context
from ontology import sparql_prefixes

log = logging.getLogger(__name__)

# Everything the page loads comes from this server: the browser refuses anything else.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
NCT_ID = re.compile(r"\bNCT\d{8}\b")
STATIC_CACHE = "public, max-age=300"
VENDOR_CACHE = "public, max-age=86400"


def templates() -> Environment:
    """The Jinja environment of ``kb/web/templates`` (autoescaped)."""
    environment = Environment(
        loader=PackageLoader("kb.web", "templates"), autoescape=select_autoescape(["html"])
    )
    environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": True}
    return environment


def competency_examples() -> list[dict[str, str]]:
    """The shipped competency queries, for the editor's examples: name, description and text."""
    from kb import queries

    examples = []
    for name in queries.names():
        examples.append({"name": name, "description": queries.description(name), "text": queries.load(name)})
    return examples


def answer_dict(answer: Any) -> dict[str, Any]:
    """An answer from `KnowledgeBase.ask` as the JSON object of the design, whatever its Python type."""
    if isinstance(answer, dict):
        return answer
    for method in ("to_dict", "model_dump"):
        if hasattr(answer, method):
            return dict(getattr(answer, method)())
    raise TypeError(f"cannot read an answer of type {type(answer).__name__}")


def evidence_context(kb: KnowledgeBase, span: dict[str, Any]) -> dict[str, Any] | None:
    """The paragraph around one evidence span of an answer, or None when it cannot be read."""
    try:
        source = kb.source_text(str(span.get("document")))
        found = paragraph_context(source, int(span.get("start") or 0), int(span.get("end") or 0))
    except (KeyError, OSError, TypeError, ValueError):
        return None
    return found.to_dict() if found else None


def web_router(
    kb: KnowledgeBase, settings: Settings | None = None, *, node_modules: Path | None = None
) -> APIRouter:
    """The routes of the web page; ``node_modules`` is where `npm ci` put YASGUI (default: the repo's)."""
    settings = settings or kb.settings
    assets = Assets(node_modules)
    environment = templates()
    router = APIRouter(include_in_schema=False)

    async def server_answer(request: Request, question: str) -> dict[str, Any] | None:
        """The answer rendered into the page for ``/?q=`` (so it shows without JavaScript), or None.

        Asked like `/api/ask` (in a worker, under the deadline) when the app has its services; in process
        otherwise (the page's router mounted on its own)."""
        hub = getattr(request.app.state, "services", None)
        try:
            if hub is not None:
                answer = orjson.loads((await hub.ask(question))[0])
            else:
                answer = answer_dict(
                    await run_in_threadpool(kb.ask, question[: settings.max_question_length])
                )
        except Exception as error:  # the page still works: its script asks /api/ask
            log.warning("server-side answer for %r failed: %s", question, error)
            return None
        return await run_in_threadpool(with_context, answer)

    def with_context(answer: dict[str, Any]) -> dict[str, Any]:
        for span in answer.get("evidence") or []:
            span["context"] = evidence_context(kb, span)
        answer["nct_ids"] = sorted(set(NCT_ID.findall(repr(answer))))
        return answer

    @router.get("/")
    async def index(request: Request, q: str | None = Query(None, max_length=10_000)) -> HTMLResponse:
        question = (q or "").strip()
        answer = await server_answer(request, question) if question else None
        page = environment.get_template("index.html").render(
            question=question,
            answer=answer,
            examples=competency_examples(),
            prefixes=sparql_prefixes(),
            yasgui=assets.has_yasgui(),
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})

    @router.get("/static/vendor/{name:path}")
    async def vendor_file(name: str) -> Response:
        found = assets.vendor(name)
        if found is None:
            return Response("not installed: run `make web-deps`", status_code=404, media_type="text/plain")
        return Response(found.body, media_type=found.media_type, headers={"Cache-Control": VENDOR_CACHE})

    @router.get("/static/{name:path}")
    async def static_file(name: str) -> Response:
        found = assets.own(name)
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(found.body, media_type=found.media_type, headers={"Cache-Control": STATIC_CACHE})

    @router.get("/web/context")
    async def context(
        document: str = Query(..., max_length=200),
        start: int = Query(..., ge=0),
        end: int = Query(..., ge=0),
    ) -> JSONResponse:
        """The paragraph around an evidence span of one of the KB's documents."""

        def read() -> dict[str, Any] | None:
            try:
                source = kb.source_text(document)  # looked up by id in the manifest, never as a path
            except (KeyError, OSError):
                return None
            found = paragraph_context(source, start, end, document)
            return found.to_dict() if found else None

        found = await run_in_threadpool(read)
        if found is None:
            return JSONResponse({"detail": "no such document or span"}, status_code=404)
        return JSONResponse(found)

    return router
