"""The HTTP service: a read-only SPARQL 1.1 endpoint, the question and search API, dereferenceable IRIs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kb.facade import KnowledgeBase
    from kb.settings import Settings


def create_app(kb: KnowledgeBase | None = None, settings: Settings | None = None) -> FastAPI:
    """The FastAPI app over ``kb`` (see `kb.api.app.create_app`)."""
    from kb.api.app import create_app as factory

    return factory(kb, settings)


__all__ = ["create_app"]
