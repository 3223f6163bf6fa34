"""The web page at ``/``: ask, search, explore and query the KB in a browser (`web_router`)."""

from __future__ import annotations

from kb.web.router import web_router

__all__ = ["web_router"]
